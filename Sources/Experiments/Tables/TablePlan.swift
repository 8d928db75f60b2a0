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

    /// Decodes every reproducible row's experiment at this profile (no model is built).
    public func validate() throws {
        for row in spec.rows where row.reproducible { _ = try experiment(of: row) }
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

    public var description: String {
        switch self {
        case let .row(id, loc, underlying): return "\(loc) (row \(id)): \(underlying)"
        case let .metricsUnreadable(path, reason): return "\(path): cannot read the run's results: \(reason)"
        }
    }
}
