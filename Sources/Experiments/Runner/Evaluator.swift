import DataPipeline
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// The metrics of one pass over the validation split.
public struct EvaluationResult {
    /// Segmentation: aAcc, mIoU, mAcc; classification: top1, top5 (fractions in [0, 1]).
    public var metrics: [String: Double]
    /// Segmentation only; NaN for classes absent from both predictions and labels (excluded
    /// from the means, as in mmseg).
    public var perClassIoU: [Double]?
    public var perClassAccuracy: [Double]?
    public var classNames: [String]
    public var images: Int
    public var seconds: Double

    /// `mIoU 41.23  mAcc 52.10  aAcc 78.00` in percent, in the order of `names` (all when nil).
    public func summary(_ names: [String]? = nil) -> String {
        let order = names ?? (metrics["mIoU"] != nil ? MetricsLog.segmentationMetrics : MetricsLog.classificationMetrics)
        return order.compactMap { n in metrics[n].map { String(format: "%@ %.2f", n, $0 * 100) } }.joined(separator: "  ")
    }

    /// mmseg's per-class table (IoU and Acc in percent; "nan" for excluded classes) and the totals.
    public func table() -> String {
        guard let iou = perClassIoU, let acc = perClassAccuracy else { return summary() }
        let width = max(5, classNames.map(\.count).max() ?? 0)
        func pct(_ v: Double) -> String { v.isNaN ? "nan" : String(format: "%.2f", v * 100) }
        var lines = ["class".padding(toLength: width, withPad: " ", startingAt: 0) + "     IoU     Acc"]
        for (i, name) in classNames.enumerated() {
            lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0) + pct(iou[i]).leftPadded(8) + pct(acc[i]).leftPadded(8))
        }
        lines.append(String(repeating: "-", count: width + 16))
        lines.append(summary() + String(format: "   (%d images, %.1f s)", images, seconds))
        return lines.joined(separator: "\n")
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

/// Runs a model over the validation split with the experiment's `eval` settings: whole or
/// sliding-window inference, predictions resized to the label size, mmseg IoU or top-1/top-5.
public final class Evaluator {
    let dataset: Dataset
    let pipeline: Pipeline
    let batchSize: Int
    let workers: Int
    let mode: InferenceMode

    public init(experiment: Experiment) throws {
        guard let val = experiment.config.data.val else {
            throw ConfigError(.missingKey, at: experiment.root["data"]?.location, keyPath: "data.val",
                              message: "there is no 'val' data section to evaluate on", remedy: "add data.val (see docs/config-reference.md)")
        }
        dataset = try experiment.dataset("val")
        pipeline = try experiment.pipeline("val")
        batchSize = val.batchSize ?? 1
        workers = val.workers
        let e = experiment.config.eval
        if e.mode == .slide, let crop = e.crop, let stride = e.stride {
            mode = .slide(crop: (crop.height, crop.width), stride: (stride.height, stride.width))
        } else {
            mode = .whole
        }
    }

    public var classNames: [String] { dataset.classNames }
    public var imageCount: Int { dataset.count }

    /// Evaluates `model` (switched to eval mode for the pass and restored after). With
    /// `savePredictions > 0`, the first that many examples are written to `predictionDirectory`
    /// as `NNNN_image.png`, `NNNN_pred.png` and `NNNN_label.png` (palette PNGs in the dataset's
    /// colours). `progress` is called after each batch with (images done, total).
    public func evaluate(_ model: Module, savePredictions: Int = 0, predictionDirectory: URL? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let start = Date()
        let loader = try DataLoader(dataset: dataset, transform: pipeline, options: .evaluation(batchSize: batchSize, workers: workers))
        defer { loader.shutdown() }
        if savePredictions > 0, let dir = predictionDirectory {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        var segmentation: SegmentationMetric?
        var classification: ClassificationMetric?
        var done = 0
        while let batch = try loader.next() {
            guard let labels = batch.labels else {
                throw RunError.incompatibleCheckpoint(file: batch.sources.first ?? "?", reason: "the validation samples carry no labels to score against")
            }
            switch model {
            case let segmentor as EncoderDecoder:
                let prediction = segmentor.predict(batch.images, mode: mode, outputSize: (labels.shape[1], labels.shape[2]))
                if segmentation == nil { segmentation = SegmentationMetric(numClasses: segmentor.numClasses) }
                segmentation!.update(prediction: prediction, label: labels)
                if done < savePredictions, let dir = predictionDirectory {
                    try savePredictionImages(batch: batch, prediction: prediction, labels: labels, first: done,
                                             count: min(savePredictions - done, batch.indices.count), to: dir)
                }
            case let classifier as ImageClassifier:
                let scores = withNoGrad { classifier(batch.images) }
                if classification == nil { classification = ClassificationMetric() }
                classification!.update(scores: scores, labels: labels)
            default:
                throw RunError.incompatibleCheckpoint(file: "model", reason: "\(type(of: model)) is neither a segmentor nor a classifier; there is no evaluation for it")
            }
            done += batch.indices.count
            progress?(done, dataset.count)
        }
        let seconds = Date().timeIntervalSince(start)
        if let m = segmentation {
            return EvaluationResult(metrics: ["aAcc": m.aAcc, "mIoU": m.mIoU, "mAcc": m.mAcc], perClassIoU: m.perClassIoU,
                                    perClassAccuracy: m.perClassAccuracy, classNames: dataset.classNames, images: done, seconds: seconds)
        }
        let m = classification ?? ClassificationMetric()
        return EvaluationResult(metrics: ["top1": m.top1, "top5": m.top5], perClassIoU: nil, perClassAccuracy: nil,
                                classNames: dataset.classNames, images: done, seconds: seconds)
    }

    /// The dataset's palette, or a fixed colour per class when it defines none.
    var palette: [[UInt8]] {
        if let p = (dataset as? SegmentationDataset)?.palette { return p }
        return (0..<max(dataset.classNames.count, 1)).map { defaultColour($0) }
    }

    private func savePredictionImages(batch: Batch, prediction: Tensor, labels: Tensor, first: Int, count: Int, to dir: URL) throws {
        let H = labels.shape[1], W = labels.shape[2]
        let pred = prediction.toArray(), gt = labels.toArray()
        for b in 0..<count {
            let stem = String(format: "%04d", first + b)
            let plane = H * W
            let p = LabelMap(height: H, width: W, values: pred[(b * plane)..<((b + 1) * plane)].map { UInt8(clamping: Int($0)) })
            let l = LabelMap(height: H, width: W, values: gt[(b * plane)..<((b + 1) * plane)].map { UInt8(clamping: Int($0)) })
            try writeLabelMap(p, to: dir.appendingPathComponent("\(stem)_pred.png"), palette: palette)
            try writeLabelMap(l, to: dir.appendingPathComponent("\(stem)_label.png"), palette: palette)
            // The untransformed image, so predictions can be looked at beside what was seen.
            let original = try dataset.load(batch.indices[b]).image
            try writeImage(original, to: dir.appendingPathComponent("\(stem)_image.png"))
        }
    }
}

/// A distinct, stable colour for class `i`: the VOC palette (class 0 black), bit-interleaved.
func defaultColour(_ i: Int) -> [UInt8] {
    var r = 0, g = 0, b = 0, c = i
    for shift in stride(from: 7, through: 0, by: -1) {
        r |= (c & 1) << shift; g |= ((c >> 1) & 1) << shift; b |= ((c >> 2) & 1) << shift
        c >>= 3
    }
    return [UInt8(r), UInt8(g), UInt8(b)]
}
