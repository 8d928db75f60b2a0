import DataPipeline
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// The metrics of one pass over the validation split.
public struct EvaluationResult {
    /// Every metric of the model's task by registered name (fractions in [0, 1]).
    public var metrics: [String: Double]
    /// The task's metric names in table order (`MetricRegistry.names(for:)`).
    public var metricOrder: [String]
    /// Per-class tables by name (segmentation: `iou`, `acc`); NaN for classes absent from both
    /// predictions and labels (excluded from the means, as in mmseg).
    public var perClass: [String: [Double]]
    public var classNames: [String]
    public var images: Int
    public var seconds: Double

    public var perClassIoU: [Double]? { perClass["iou"] }
    public var perClassAccuracy: [Double]? { perClass["acc"] }

    /// `aAcc 78.00  mIoU 41.23  mAcc 52.10` in percent, in the order of `names` (all when nil).
    public func summary(_ names: [String]? = nil) -> String {
        (names ?? metricOrder).compactMap { n in metrics[n].map { String(format: "%@ %.2f", n, $0 * 100) } }.joined(separator: "  ")
    }

    /// mmseg's per-class table (one column per per-class table, in percent; "nan" for excluded
    /// classes) and the totals.
    public func table() -> String {
        let columns = ["iou", "acc"].filter { perClass[$0] != nil } + perClass.keys.filter { $0 != "iou" && $0 != "acc" }.sorted()
        guard !columns.isEmpty else { return summary() }
        let width = max(5, classNames.map(\.count).max() ?? 0)
        func pct(_ v: Double) -> String { v.isNaN ? "nan" : String(format: "%.2f", v * 100) }
        let title = ["iou": "IoU", "acc": "Acc"]
        var lines = ["class".padding(toLength: width, withPad: " ", startingAt: 0) + columns.map { (title[$0] ?? $0).leftPadded(8) }.joined()]
        for (i, name) in classNames.enumerated() {
            lines.append(name.padding(toLength: width, withPad: " ", startingAt: 0)
                         + columns.map { pct(i < perClass[$0]!.count ? perClass[$0]![i] : .nan).leftPadded(8) }.joined())
        }
        lines.append(String(repeating: "-", count: width + 8 * columns.count))
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
    public func evaluate(_ model: any TaskModel, savePredictions: Int = 0, predictionDirectory: URL? = nil,
                         progress: ((Int, Int) -> Void)? = nil) throws -> EvaluationResult {
        let task = model.task
        if task == .segmentation && dataset.classNames.count != model.numClasses {
            throw ConfigError(.invalidValue, at: nil, keyPath: "model.num_classes",
                              message: "the model predicts \(model.numClasses) classes but the validation dataset has \(dataset.classNames.count)",
                              remedy: "set model.num_classes to \(dataset.classNames.count)")
        }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let start = Date()
        let loader = try DataLoader(dataset: dataset, transform: pipeline, options: .evaluation(batchSize: batchSize, workers: workers))
        defer { loader.shutdown() }
        if savePredictions > 0, let dir = predictionDirectory {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let scoring = MetricRegistry.scoring(task)
        var accumulator = scoring.makeAccumulator(model.numClasses, (dataset as? VoidChannelDataset)?.scoredClassCount ?? model.numClasses)
        var done = 0
        while let batch = try loader.next() {
            guard let labels = batch.labels else {
                throw RunError.incompatibleCheckpoint(file: batch.sources.first ?? "?", reason: "the validation samples carry no labels to score against")
            }
            // Segmentation is scored at the label's size (mmseg resizes to the original image).
            let outputSize = task == .segmentation ? (labels.shape[1], labels.shape[2]) : nil
            let prediction = model.predict(batch.images, mode: mode, outputSize: outputSize)
            accumulator.update(prediction: prediction, labels: labels)
            if task == .segmentation, done < savePredictions, let dir = predictionDirectory {
                try savePredictionImages(batch: batch, prediction: prediction, labels: labels, first: done,
                                         count: min(savePredictions - done, batch.indices.count), to: dir)
            }
            done += batch.indices.count
            progress?(done, dataset.count)
        }
        let names = MetricRegistry.names(for: task)
        let values = Dictionary(uniqueKeysWithValues: names.map { ($0, MetricRegistry.definition($0)!.compute(accumulator)) })
        return EvaluationResult(metrics: values, metricOrder: names, perClass: accumulator.perClassTables, classNames: dataset.classNames,
                                images: done, seconds: Date().timeIntervalSince(start))
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
