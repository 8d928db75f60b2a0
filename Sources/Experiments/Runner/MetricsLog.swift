import Foundation
import HDF5Store

/// The run's `metrics.h5`, kept in memory and rewritten atomically after every change.
///
/// Rewriting (a few kB, temporary file + rename) instead of appending in place means a crash or
/// a kill in the middle of a write can never leave a torn file: libhdf5's serial build has no
/// crash-safe append. On resume the rows logged after the checkpoint are dropped, because the
/// resumed run logs those iterations again.
public struct MetricsLog: Equatable {
    public struct TrainRow: Equatable {
        public var iteration: Int
        /// Mean training loss over the iterations since the previous row.
        public var loss: Float
        /// Learning rate of the row's last iteration (base rate, before parameter multipliers).
        public var lr: Double
        /// Training images per second over the same window (wall time, data loading included).
        public var throughput: Float
    }

    public struct ValRow: Equatable {
        public var iteration: Int
        /// Segmentation: aAcc, mIoU, mAcc; classification: top1, top5 (fractions in [0, 1]).
        public var metrics: [String: Double]
        /// Segmentation only; NaN for classes absent from both predictions and labels.
        public var perClassIoU: [Float]?
        public var perClassAccuracy: [Float]?
    }

    public var runName: String
    public var train: [TrainRow] = []
    public var val: [ValRow] = []
    /// Class names of the evaluated dataset, in label order.
    public var classNames: [String] = []

    public init(runName: String) { self.runName = runName }

    /// Drops every row logged after `iteration` (the iteration a resumed run restarts from).
    public mutating func drop(after iteration: Int) {
        train.removeAll { $0.iteration > iteration }
        val.removeAll { $0.iteration > iteration }
    }

    static let segmentationMetrics = ["aAcc", "mIoU", "mAcc"]
    static let classificationMetrics = ["top1", "top5"]

    /// Writes the whole log to `url` atomically.
    public func write(to url: URL) throws {
        try HDF5File.writeAtomically(to: url) { f in
            try f.setAttribute("name", runName)
            try f.series(Int64.self, at: "train/iter").append(contentsOf: train.map { Int64($0.iteration) })
            try f.series(Float.self, at: "train/loss").append(contentsOf: train.map(\.loss))
            try f.series(Double.self, at: "train/lr").append(contentsOf: train.map(\.lr))
            try f.series(Float.self, at: "train/throughput").append(contentsOf: train.map(\.throughput))
            guard !val.isEmpty else { return }
            try f.series(Int64.self, at: "val/iter").append(contentsOf: val.map { Int64($0.iteration) })
            let names = val[0].metrics.keys.contains("mIoU") ? Self.segmentationMetrics : Self.classificationMetrics
            for name in names {
                try f.series(Float.self, at: "val/" + name).append(contentsOf: val.map { Float($0.metrics[name] ?? .nan) })
            }
            if !classNames.isEmpty {
                try f.write(classNames, shape: [classNames.count], at: "val/class_names")
                let width = classNames.count
                for (path, column) in [("val/per_class_iou", \ValRow.perClassIoU), ("val/per_class_acc", \ValRow.perClassAccuracy)] {
                    let rows = try f.rowSeries(Float.self, at: path, width: width)
                    for row in val { try rows.append(row[keyPath: column] ?? [Float](repeating: .nan, count: width)) }
                }
            }
        }
    }

    /// Reads a log written by `write(to:)`.
    public static func read(from url: URL) throws -> MetricsLog {
        let f = try HDF5File.open(url, mode: .readOnly)
        defer { try? f.close() }
        var log = MetricsLog(runName: try f.hasAttribute("name") ? f.stringAttribute("name") : "")
        if try f.exists("train/iter") {
            let iters = try f.read(Int64.self, at: "train/iter"), loss = try f.read(Float.self, at: "train/loss")
            let lr = try f.read(Double.self, at: "train/lr"), tp = try f.read(Float.self, at: "train/throughput")
            log.train = iters.indices.map { TrainRow(iteration: Int(iters[$0]), loss: loss[$0], lr: lr[$0], throughput: tp[$0]) }
        }
        if try f.exists("val/iter") {
            let iters = try f.read(Int64.self, at: "val/iter")
            let names = try f.exists("val/mIoU") ? segmentationMetrics : classificationMetrics
            var columns: [String: [Float]] = [:]
            for name in names { columns[name] = try f.read(Float.self, at: "val/" + name) }
            if try f.exists("val/class_names") { log.classNames = try f.readStrings(at: "val/class_names") }
            let iou = try f.exists("val/per_class_iou") ? f.rowSeries(Float.self, at: "val/per_class_iou", width: log.classNames.count).rows() : nil
            let acc = try f.exists("val/per_class_acc") ? f.rowSeries(Float.self, at: "val/per_class_acc", width: log.classNames.count).rows() : nil
            log.val = iters.indices.map { i in
                ValRow(iteration: Int(iters[i]), metrics: Dictionary(uniqueKeysWithValues: names.map { ($0, Double(columns[$0]![i])) }),
                       perClassIoU: iou?[i], perClassAccuracy: acc?[i])
            }
        }
        return log
    }
}
