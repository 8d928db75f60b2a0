import Foundation

/// A table at one profile turned into runs: each reproducible row becomes a one-point sweep
/// (its experiment, the row's `set:` and then the profile's overrides, once per seed) whose
/// directory is `<output_dir>/<table>/<profile>/<row id>/s<seed>`. Going through `SweepPlan`
/// gives tables the sweep machinery for free: manifests, resuming, `--jobs`, `--retry-failed`.
public struct TablePlan {
    public let spec: TableSpec
    public let profile: String
    /// The profile's `--set` overrides, applied after each row's own.
    public let profileOverrides: [String]

    public init(spec: TableSpec, profile: String) throws {
        self.spec = spec
        self.profile = profile
        profileOverrides = try Self.overrides(ofProfile: try spec.profileFile(profile))
    }

    /// A profile file is a mapping of dotted key path → value; each value replaces the
    /// experiment's value at that key wholesale, exactly like `--set key=value`, so one file
    /// switches any row (its dataset, schedule, crop) without a second copy of the experiment.
    public static func overrides(ofProfile file: URL?) throws -> [String] {
        guard let file else { return [] }
        let root = try ConfigLoader.load(file: file.path)
        guard let entries = root.entries else {
            throw ConfigError(.typeMismatch, at: root.location, keyPath: "", message: "a profile must be a mapping of key path → value, got \(root.kindName)")
        }
        return entries.map { "\($0.key)=\(overrideValueText($0.value))" }
    }

    /// The row's overrides at this profile, later keys winning, each key once (in first-seen order).
    public func overrides(of row: TableRow) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for o in row.overrides + profileOverrides {
            guard let eq = o.firstIndex(of: "=") else { continue }
            let key = String(o[..<eq])
            if values[key] == nil { order.append(key) }
            values[key] = String(o[o.index(after: eq)...])
        }
        return order.map { "\($0)=\(values[$0]!)" }
    }

    public func runDirectory(row: TableRow, seed: Int) -> URL {
        spec.directory(profile: profile).appendingPathComponent(row.id).appendingPathComponent("s\(seed)", isDirectory: true)
    }

    /// The experiment a row runs at this profile (decoded, not built: cheap).
    public func experiment(of row: TableRow, seed: Int? = nil) throws -> Experiment {
        guard let file = row.experiment else {
            throw ConfigError(.invalidValue, at: row.location, keyPath: "rows", message: "row '\(row.id)' is not reproducible: \(row.reason ?? "")")
        }
        var o = overrides(of: row)
        if let seed { o.append("seed=\(seed)") }
        do { return try Experiment.load(file: file.path, overrides: o) } catch {
            throw TableError.row(id: row.id, location: row.location, underlying: "\(error)")
        }
    }

    /// The row's model alone as an experiment (its `model:` node at this profile with a stub
    /// schedule), for params/FLOPs: the model is built by the same builders a run uses, but the
    /// dataset is not opened (a classifier's epoch schedule needs ImageNet's size otherwise),
    /// so costs are available on a machine without the paper's data.
    public func modelExperiment(of row: TableRow) throws -> Experiment {
        guard let file = row.experiment else {
            throw TableError.row(id: row.id, location: row.location, underlying: "not reproducible: \(row.reason ?? "")")
        }
        do {
            let root = try ConfigLoader.load(file: file.path, overrides: overrides(of: row))
            guard let model = root["model"] else {
                throw ConfigError(.missingKey, at: root.location, keyPath: "model", message: "the experiment has no model")
            }
            let stub = try ConfigLoader.load(yaml: "name: table_cost\ndata: {train: {dataset: {type: synthetic}}}\ntrain: {iterations: 1, optimizer: {type: adamw, lr: 1.0e-3}}\n", name: "<table cost stub>")
            var entries = [ConfigNode.Entry(key: "model", keyLocation: model.location, value: model)]
            entries += stub.entries ?? []
            if let seed = root["seed"] { entries.append(ConfigNode.Entry(key: "seed", keyLocation: seed.location, value: seed)) }
            return try Experiment(root: ConfigNode(.mapping(entries), at: root.location))
        } catch {
            throw TableError.row(id: row.id, location: row.location, underlying: "\(error)")
        }
    }

    /// Checks every reproducible row cheaply (no model is built): with `full`, the whole
    /// experiment decodes at this profile (what a run needs: data included); otherwise the
    /// configs merge and each row's model section decodes (what collecting needs).
    public func validate(full: Bool = true) throws {
        for row in spec.rows where row.reproducible {
            if full { _ = try experiment(of: row) } else { _ = try modelExperiment(of: row) }
        }
    }

    /// The one-point-per-seed sweep of a row.
    public func sweep(of row: TableRow) throws -> SweepPlan {
        guard let file = row.experiment else { throw TableError.row(id: row.id, location: row.location, underlying: "not reproducible") }
        var lines = ["base: \(quotedYAML(file.path))", "name: \(row.id)", "output_dir: \(quotedYAML(spec.directory(profile: profile).path))"]
        let o = overrides(of: row)
        if !o.isEmpty {
            // Single-valued axes, not `set:`: an axis value replaces the whole value at its key
            // (a profile's `data.train.dataset: {type: synthetic}` must not merge into ADE20K's).
            lines.append("axes:")
            for item in o {
                let eq = item.firstIndex(of: "=")!
                lines.append("  \(item[..<eq]): [\(item[item.index(after: eq)...])]")
            }
        }
        lines.append("seeds: [\(spec.seeds.map(String.init).joined(separator: ", "))]")
        lines.append("run_name: \"s{seed}\"")
        let root = try ConfigLoader.load(yaml: lines.joined(separator: "\n") + "\n", name: spec.file)
        return try SweepPlan(try SweepFile(root: root, file: spec.file))
    }
}

func quotedYAML(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "''") + "'" }

/// Failures of a table that are not config decoding errors.
public enum TableError: Error, CustomStringConvertible, Equatable {
    /// A row's experiment does not load at this profile (the row's position, then the cause).
    case row(id: String, location: SourceLocation, underlying: String)
    case metricsUnreadable(path: String, reason: String)
    /// A row whose model's task produces none of the table's metric columns (a classifier in
    /// an mIoU table): a spec mistake, not a missing run.
    case metricNotProduced(id: String, location: SourceLocation, task: String, columns: [String])

    public var description: String {
        switch self {
        case let .row(id, loc, underlying): return "\(loc) (row \(id)): \(underlying)"
        case let .metricsUnreadable(path, reason): return "\(path): cannot read the run's results: \(reason)"
        case let .metricNotProduced(id, loc, task, columns):
            return "\(loc) (row \(id)): the row's model is a \(task) model, which produces none of the table's metric columns (\(columns.joined(separator: ", ")))"
        }
    }
}
