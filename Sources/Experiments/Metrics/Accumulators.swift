import Foundation
import TensorEngine

/// mmseg's IoU metric, accumulated over an evaluation: per class, the areas of intersection,
/// union, prediction and label, counted over pixels whose label is not the ignore index.
/// aAcc = Σ intersection / Σ label; IoU_c = intersection_c / union_c; Acc_c = intersection_c /
/// label_c. Classes with an empty union (absent from both prediction and label) have IoU NaN
/// and are left out of mIoU, as mmseg's nanmean does; likewise classes absent from the labels
/// for mAcc. Classes from `scoredClasses` on are output channels that are not dataset classes
/// (TransKD's void channel): predicting one is a miss for the pixel's true class, and their
/// own IoU and accuracy are NaN, so the means are over the dataset's classes only.
public struct SegmentationMetric: MetricAccumulator {
    public let numClasses: Int
    /// The leading classes that are scored; default all.
    public let scoredClasses: Int
    public let ignoreIndex: Int
    public private(set) var intersection: [Double]
    public private(set) var union: [Double]
    public private(set) var predicted: [Double]
    public private(set) var labelled: [Double]

    public init(numClasses: Int, scoredClasses: Int? = nil, ignoreIndex: Int = 255) {
        precondition(numClasses > 0, "SegmentationMetric: numClasses must be positive")
        self.numClasses = numClasses
        self.scoredClasses = min(scoredClasses ?? numClasses, numClasses)
        self.ignoreIndex = ignoreIndex
        intersection = Array(repeating: 0, count: numClasses)
        union = intersection; predicted = intersection; labelled = intersection
    }

    /// Adds a batch: `prediction` and `label` hold class indices (as Float) of the same shape.
    public mutating func update(prediction: Tensor, label: Tensor) {
        precondition(prediction.shape == label.shape, "SegmentationMetric: prediction \(prediction.shape) and label \(label.shape) differ")
        let k = numClasses, ignore = Float(ignoreIndex)
        var inter = [Int](repeating: 0, count: k), pred = inter, lab = inter
        prediction.withUnsafeBufferPointer { p in
            label.withUnsafeBufferPointer { l in
                for i in 0..<p.count {
                    let y = l[i]
                    if y == ignore { continue }
                    let t = Int(y), q = Int(p[i])
                    precondition(t >= 0 && t < k, "SegmentationMetric: label value \(y) outside [0, \(k)) and not the ignore index \(ignoreIndex)")
                    lab[t] += 1
                    if q >= 0 && q < k { pred[q] += 1 }
                    if q == t { inter[t] += 1 }
                }
            }
        }
        for c in 0..<k {
            intersection[c] += Double(inter[c]); predicted[c] += Double(pred[c]); labelled[c] += Double(lab[c])
            union[c] += Double(pred[c] + lab[c] - inter[c])
        }
    }

    /// Per-class IoU (NaN where the class is absent from both prediction and label).
    public var perClassIoU: [Double] { (0..<numClasses).map { isScored($0) && union[$0] > 0 ? intersection[$0] / union[$0] : .nan } }
    /// Per-class accuracy (NaN where the class is absent from the labels).
    public var perClassAccuracy: [Double] { (0..<numClasses).map { isScored($0) && labelled[$0] > 0 ? intersection[$0] / labelled[$0] : .nan } }
    /// False for the output-only classes past `scoredClasses`.
    public func isScored(_ c: Int) -> Bool { c < scoredClasses }
    public var aAcc: Double { let l = labelled.reduce(0, +); return l > 0 ? intersection.reduce(0, +) / l : .nan }
    public var mIoU: Double { nanMean(perClassIoU) }
    public var mAcc: Double { nanMean(perClassAccuracy) }

    public mutating func update(prediction: Tensor, labels: Tensor) { update(prediction: prediction, label: labels) }
    /// mmseg's per-class table: `iou` and `acc`.
    public var perClassTables: [String: [Double]] { ["iou": perClassIoU, "acc": perClassAccuracy] }
}

/// Top-k accuracy of classification scores [N, K] against class indices [N].
public struct ClassificationMetric: MetricAccumulator {
    public private(set) var count = 0
    public private(set) var top1Hits = 0
    public private(set) var top5Hits = 0

    public init() {}

    public mutating func update(scores: Tensor, labels: Tensor) {
        precondition(scores.rank == 2 && labels.shape == [scores.shape[0]], "ClassificationMetric: scores [N, K] and labels [N], got \(scores.shape) and \(labels.shape)")
        let n = scores.shape[0], k = scores.shape[1]
        scores.withUnsafeBufferPointer { s in
            labels.withUnsafeBufferPointer { l in
                for i in 0..<n {
                    let row = s.baseAddress! + i * k, target = Int(l[i]), t = row[target]
                    // Rank = number of classes scoring strictly higher (ties favour the target, as torch.topk's stable order does for lower indices).
                    var higher = 0
                    for c in 0..<k where row[c] > t || (row[c] == t && c < target) { higher += 1 }
                    if higher < 1 { top1Hits += 1 }
                    if higher < 5 { top5Hits += 1 }
                }
            }
        }
        count += n
    }

    public mutating func update(prediction: Tensor, labels: Tensor) { update(scores: prediction, labels: labels) }
    public var perClassTables: [String: [Double]] { [:] }

    public var top1: Double { count > 0 ? Double(top1Hits) / Double(count) : .nan }
    public var top5: Double { count > 0 ? Double(top5Hits) / Double(count) : .nan }
}

func nanMean(_ xs: [Double]) -> Double {
    let v = xs.filter { !$0.isNaN }
    return v.isEmpty ? .nan : v.reduce(0, +) / Double(v.count)
}
