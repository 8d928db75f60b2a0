import Foundation
import HDF5Store

/// The run's `metrics.h5`, kept in memory and rewritten atomically after every change.
///
/// Every series is named by its key: `/train/<name>` for the total `loss` and each loss term a
/// model returns (`loss_ce`, later `loss_kd_*`), `/val/<name>` for each metric, so a new loss
/// term or metric needs no schema change. Rewriting (a few kB, temporary file + rename) instead
/// of appending in place means a crash or a kill in the middle of a write can never leave a torn
/// file: libhdf5's serial build has no crash-safe append. On resume the rows logged after the
/// checkpoint are dropped, because the resumed run logs those iterations again.
public struct MetricsLog: Equatable {
    public struct TrainRow: Equatable {
        public var iteration: Int
        /// Mean over the iterations since the previous row of the total loss (`loss`) and of
        /// each weighted loss term, by name.
        public var losses: [String: Float]
        /// Learning rate of the row's last iteration (base rate, before parameter multipliers).
        public var lr: Double
        /// Training images per second over the same window (wall time, data loading included).
        public var throughput: Float

        public init(iteration: Int, losses: [String: Float], lr: Double, throughput: Float) {
            self.iteration = iteration; self.losses = losses; self.lr = lr; self.throughput = throughput
        }

        /// The total loss (Σ of the weighted terms).
        public var loss: Float { losses[MetricsLog.totalLoss] ?? .nan }
    }

    public struct ValRow: Equatable {
        public var iteration: Int
        /// Metric values by registered name (fractions in [0, 1]: aAcc, mIoU, top1, …).
        public var metrics: [String: Double]
        /// Per-class tables by name (`iou`, `acc`), in class order; NaN for classes absent from
        /// both predictions and labels.
        public var perClass: [String: [Float]]

        public init(iteration: Int, metrics: [String: Double], perClass: [String: [Float]] = [:]) {
            self.iteration = iteration; self.metrics = metrics; self.perClass = perClass
        }
    }

    /// Metrics of the EMA weights are stored as `ema_<metric>`.
    public static let emaPrefix = "ema_"
    /// The series name of the total loss.
    public static let totalLoss = "loss"
    static let trainFixed = ["iter", "lr", "throughput"]
    static let valFixed = ["iter", "class_names"]
    static let perClassPrefix = "per_class_"

    public var runName: String
    public var train: [TrainRow] = []
    public var val: [ValRow] = []
    /// Class names of the evaluated dataset, in label order.
    public var classNames: [String] = []
    /// What the run's `init` sections loaded and left out, one line per section (the same lines
    /// log.txt gets), so a table or a script can tell a fine-tune from a run from scratch
    /// without parsing text logs. Empty for a run without `init`.
    public var initReport: [String] = []

    public init(runName: String) { self.runName = runName }

    /// Drops every row logged after `iteration` (the iteration a resumed run restarts from).
    public mutating func drop(after iteration: Int) {
        train.removeAll { $0.iteration > iteration }
        val.removeAll { $0.iteration > iteration }
    }

    /// Loss series names: the total first, then the terms in sorted order.
    public var lossNames: [String] {
        let names = Set(train.flatMap(\.losses.keys)).subtracting([Self.totalLoss]).sorted()
        return (train.isEmpty ? [] : [Self.totalLoss]) + names
    }

    /// Metric series names, sorted.
    public var metricNames: [String] { Set(val.flatMap(\.metrics.keys)).sorted() }

    var perClassNames: [String] { Set(val.flatMap(\.perClass.keys)).sorted() }

    /// Writes the whole log to `url` atomically.
    public func write(to url: URL) throws {
        try HDF5File.writeAtomically(to: url) { f in
            try f.setAttribute("name", runName)
            if !initReport.isEmpty { try f.setAttribute("init_report", initReport.joined(separator: "\n")) }
            try f.series(Int64.self, at: "train/iter").append(contentsOf: train.map { Int64($0.iteration) })
            for name in lossNames {
                try f.series(Float.self, at: "train/" + name).append(contentsOf: train.map { $0.losses[name] ?? .nan })
            }
            try f.series(Double.self, at: "train/lr").append(contentsOf: train.map(\.lr))
            try f.series(Float.self, at: "train/throughput").append(contentsOf: train.map(\.throughput))
            guard !val.isEmpty else { return }
            try f.series(Int64.self, at: "val/iter").append(contentsOf: val.map { Int64($0.iteration) })
            for name in metricNames {
                try f.series(Float.self, at: "val/" + name).append(contentsOf: val.map { Float($0.metrics[name] ?? .nan) })
            }
            if !classNames.isEmpty {
                try f.write(classNames, shape: [classNames.count], at: "val/class_names")
                let width = classNames.count
                for table in perClassNames {
                    let rows = try f.rowSeries(Float.self, at: "val/" + Self.perClassPrefix + table, width: width)
                    for row in val { try rows.append(row.perClass[table] ?? [Float](repeating: .nan, count: width)) }
                }
            }
        }
    }

    /// Reads a log written by `write(to:)`: every series under `/train` and `/val` by name.
    public static func read(from url: URL) throws -> MetricsLog {
        let f = try HDF5File.open(url, mode: .readOnly)
        defer { try? f.close() }
        var log = MetricsLog(runName: try f.hasAttribute("name") ? f.stringAttribute("name") : "")
        if try f.hasAttribute("init_report") {
            log.initReport = try f.stringAttribute("init_report").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        }
        if try f.exists("train/iter") {
            let iters = try f.read(Int64.self, at: "train/iter")
            let lr = try f.read(Double.self, at: "train/lr"), tp = try f.read(Float.self, at: "train/throughput")
            var columns: [String: [Float]] = [:]
            for name in try f.children("train") where !trainFixed.contains(name) { columns[name] = try f.read(Float.self, at: "train/" + name) }
            log.train = iters.indices.map { i in
                TrainRow(iteration: Int(iters[i]), losses: columns.compactMapValues { i < $0.count && !$0[i].isNaN ? $0[i] : nil },
                         lr: lr[i], throughput: tp[i])
            }
        }
        if try f.exists("val/iter") {
            let iters = try f.read(Int64.self, at: "val/iter")
            if try f.exists("val/class_names") { log.classNames = try f.readStrings(at: "val/class_names") }
            var columns: [String: [Float]] = [:], tables: [String: [[Float]]] = [:]
            for name in try f.children("val") where !valFixed.contains(name) {
                if name.hasPrefix(perClassPrefix) {
                    tables[String(name.dropFirst(perClassPrefix.count))] = try f.rowSeries(Float.self, at: "val/" + name, width: log.classNames.count).rows()
                } else {
                    columns[name] = try f.read(Float.self, at: "val/" + name)
                }
            }
            log.val = iters.indices.map { i in
                ValRow(iteration: Int(iters[i]), metrics: columns.mapValues { Double($0[i]) }, perClass: tables.mapValues { $0[i] })
            }
        }
        return log
    }
}
