import Foundation
import HDF5Store

/// The results of `runexp eval`, kept in the run directory so tables and scripts read them
/// instead of parsing stdout: `eval/<checkpoint>.h5` (HDF5, docs/hdf5-layout.md), the same
/// values as `eval/<checkpoint>.json`, and the per-class table as `eval/<checkpoint>_per_class.csv`.
public struct EvaluationFiles {
    public let directory: URL
    public let stem: String

    public var h5: URL { directory.appendingPathComponent("\(stem).h5") }
    public var json: URL { directory.appendingPathComponent("\(stem).json") }
    public var perClassCSV: URL { directory.appendingPathComponent("\(stem)_per_class.csv") }

    /// `<run>/eval/<checkpoint file stem>` (`iter_160000`, `best`).
    public init(run: RunDirectory, checkpoint: URL) {
        directory = run.url.appendingPathComponent("eval", isDirectory: true)
        stem = checkpoint.deletingPathExtension().lastPathComponent
    }

    /// Writes all three files (each atomically).
    public func write(_ r: EvaluationResult, checkpoint: URL, iteration: Int?) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let perClassNames = r.perClass.keys.sorted()
        try HDF5File.writeAtomically(to: h5) { f in
            try f.setAttribute("checkpoint", checkpoint.path)
            try f.setAttribute("images", Int64(r.images))
            try f.setAttribute("seconds", r.seconds)
            if let iteration { try f.setAttribute("iteration", Int64(iteration)) }
            for name in r.metricOrder { try f.write(r.metrics[name] ?? .nan, at: "metrics/\(name)") }
            if !r.classNames.isEmpty { try f.write(r.classNames, shape: [r.classNames.count], at: "per_class/class_names") }
            for name in perClassNames { try f.write(r.perClass[name]!, shape: [r.perClass[name]!.count], at: "per_class/\(name)") }
        }
        func finite(_ v: Double) -> Any { v.isFinite ? v : NSNull() }
        var root: [String: Any] = ["checkpoint": checkpoint.path, "images": r.images, "seconds": r.seconds,
                                   "metrics": Dictionary(uniqueKeysWithValues: r.metricOrder.map { ($0, finite(r.metrics[$0] ?? .nan)) }),
                                   "metric_order": r.metricOrder, "class_names": r.classNames,
                                   "per_class": r.perClass.mapValues { $0.map(finite) }]
        if let iteration { root["iteration"] = iteration }
        let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: json, options: .atomic)
        var csv = (["class"] + perClassNames).joined(separator: ",") + "\n"
        for (i, name) in r.classNames.enumerated() {
            let fields = perClassNames.map { n -> String in
                let v = i < r.perClass[n]!.count ? r.perClass[n]![i] : .nan
                return v.isFinite ? String(format: "%.6f", v) : ""
            }
            let label = name.contains(",") ? "\"\(name)\"" : name
            csv += ([label] + fields).joined(separator: ",") + "\n"
        }
        try Data(csv.utf8).write(to: perClassCSV, options: .atomic)
    }

    /// Reads the metrics back from the HDF5 file (what a table collector uses).
    public static func readMetrics(_ url: URL) throws -> (metrics: [String: Double], perClass: [String: [Double]], classNames: [String]) {
        let f = try HDF5File.open(url, mode: .readOnly)
        defer { try? f.close() }
        var metrics: [String: Double] = [:], perClass: [String: [Double]] = [:], names: [String] = []
        if try f.exists("metrics") { for n in try f.children("metrics") { metrics[n] = try f.readScalar(Double.self, at: "metrics/\(n)") } }
        if try f.exists("per_class") {
            for n in try f.children("per_class") {
                if n == "class_names" { names = try f.readStrings(at: "per_class/class_names") } else { perClass[n] = try f.read(Double.self, at: "per_class/\(n)") }
            }
        }
        return (metrics, perClass, names)
    }
}
