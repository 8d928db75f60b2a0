import ConfigCore
import Foundation

/// One row of a paper table: an experiment file (optionally with `set:` overrides, like a sweep
/// point), the paper's printed value for each column, or a row ViTLab cannot build
/// (`reproducible: false` with the reason), which is listed rather than silently dropped.
public struct TableRow {
    /// Stable identifier: the row's run directory name (`<table dir>/<profile>/<id>/s<seed>`).
    public var id: String
    /// What the table prints in its first column.
    public var label: String
    /// The experiment file, absolute; nil for a non-reproducible row.
    public var experiment: URL?
    /// `--set` overrides of this row on top of its experiment (before the profile).
    public var overrides: [String]
    /// Column id → the paper's printed value (missing when the paper printed `-`).
    public var paper: [String: Double]
    /// Column id → decimals the paper printed (`1.7` → 1): the precision "equals the paper" is judged at.
    public var paperDigits: [String: Int]
    /// H, W of this row's params/FLOPs trace when it differs from the table's (Cityscapes h/f rows).
    public var inputSize: [Int]
    public var reproducible: Bool
    public var reason: String?
    public var location: SourceLocation
}

/// A paper table, decoded strictly from `experiments/<paper>/tables/<table>.yaml`:
///
/// ```yaml
/// name: seaformer_table11                    # results go to <output_dir>/<name>/<profile>/
/// title: "Table 11 — Fusion method (ADE20K val; SeaFormer-T)"
/// output_dir: runs/tables                    # default runs/tables
/// seeds: [0]                                 # every row once per seed (mean ± std over them)
/// select: best                               # best | last evaluation of each run
/// input_size: [512, 512]                     # H, W of the params/FLOPs trace (paper convention); rows may override
/// profiles: {proxy: ../../_base_/profiles/proxy.yaml}   # `paper` is the experiments as written
/// columns: [params, flops, miou]
/// rows:
///   - {id: mul, label: Mul, experiment: ../seaformer_tiny_512x512_160k_2x8_ade20k.yaml,
///      paper: {params: 1.7, flops: 0.6, miou: 35.8}}
///   - {id: other, label: "X", reproducible: false, reason: "needs model Y", paper: {miou: 30.1}}
/// ```
public struct TableSpec {
    public enum Selection: String, CaseIterable { case best, last }

    public let file: String
    public let name: String
    public let title: String
    public let outputDir: String
    public let seeds: [Int]
    public let select: Selection
    public let inputSize: [Int]
    /// Profile name → override file (absolute). `paper` is always present and means no overrides.
    public let profiles: [String: URL?]
    public let columns: [TableColumn]
    public let rows: [TableRow]

    static let keys = ["name", "title", "output_dir", "seeds", "select", "input_size", "profiles", "columns", "rows"]
    static let rowKeys = ["id", "label", "experiment", "set", "paper", "input_size", "reproducible", "reason"]

    public static func load(file: String) throws -> TableSpec {
        let root = try ConfigLoader.load(file: file)
        return try TableSpec(root: root, file: file)
    }

    public init(root: ConfigNode, file: String) throws {
        self.file = file
        let r = SpecReader(root: root)
        try r.checkKeys(root, allowed: Self.keys, keyPath: "")
        let anchor = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent()
        name = try r.string(root, "name", keyPath: "name") ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        try checkFileName(name, what: "table name", at: root["name"]?.location ?? root.location, keyPath: "name")
        title = try r.string(root, "title", keyPath: "title") ?? name
        outputDir = try r.string(root, "output_dir", keyPath: "output_dir") ?? "runs/tables"
        seeds = try r.intList(root, "seeds", keyPath: "seeds") ?? [0]
        if seeds.isEmpty { throw ConfigError(.invalidValue, at: root["seeds"]?.location, keyPath: "seeds", message: "seeds must list at least one seed") }
        if let s = try r.string(root, "select", keyPath: "select") {
            guard let sel = Selection(rawValue: s) else {
                throw ConfigError(.invalidValue, at: root["select"]?.location, keyPath: "select", message: "select must be best or last, got '\(s)'",
                                  suggestion: nearestName(to: s, in: Selection.allCases.map(\.rawValue)))
            }
            select = sel
        } else { select = .best }
        inputSize = try r.intList(root, "input_size", keyPath: "input_size") ?? [512, 512]
        guard inputSize.count == 2, inputSize.allSatisfy({ $0 > 0 }) else {
            throw ConfigError(.invalidValue, at: root["input_size"]?.location, keyPath: "input_size", message: "input_size must be [H, W] with positive integers")
        }

        var profiles: [String: URL?] = ["paper": nil]
        if let p = root["profiles"] {
            guard let entries = p.entries else { throw r.mismatch(p, "profiles", "a mapping of profile name → override file") }
            for e in entries {
                guard let path = e.value.scalar, !e.value.isNull else { throw r.mismatch(e.value, "profiles.\(e.key)", "a file path") }
                if e.key == "paper" {
                    throw ConfigError(.invalidValue, at: e.keyLocation, keyPath: "profiles.paper", message: "the paper profile is the experiments as written and takes no file")
                }
                let url = URL(fileURLWithPath: path, relativeTo: anchor).standardizedFileURL
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ConfigError(.file, at: e.value.location, keyPath: "profiles.\(e.key)", message: "the profile file \(url.path) does not exist",
                                      remedy: "profile paths are relative to the table file")
                }
                profiles[e.key] = url
            }
        }
        self.profiles = profiles

        guard let colNode = root["columns"] else { throw ConfigError(.missingKey, at: root.location, keyPath: "columns", message: "a table needs columns") }
        guard let colItems = colNode.elements, !colItems.isEmpty else { throw r.mismatch(colNode, "columns", "a non-empty list of column types") }
        var columns: [TableColumn] = []
        for (i, item) in colItems.enumerated() {
            let column = try TableColumns.decode(item, keyPath: "columns.\(i)")
            if columns.contains(where: { $0.id == column.id }) {
                throw ConfigError(.invalidValue, at: item.location, keyPath: "columns.\(i)", message: "column '\(column.id)' is listed twice")
            }
            columns.append(column)
        }
        self.columns = columns

        guard let rowNode = root["rows"] else { throw ConfigError(.missingKey, at: root.location, keyPath: "rows", message: "a table needs rows") }
        guard let rowItems = rowNode.elements, !rowItems.isEmpty else { throw r.mismatch(rowNode, "rows", "a non-empty list of rows") }
        var rows: [TableRow] = []
        for (i, item) in rowItems.enumerated() {
            let kp = "rows.\(i)"
            try r.checkKeys(item, allowed: Self.rowKeys, keyPath: kp)
            guard let id = try r.string(item, "id", keyPath: "\(kp).id") else {
                throw ConfigError(.missingKey, at: item.location, keyPath: "\(kp).id", message: "every row needs an id (its run directory name)")
            }
            try checkFileName(id, what: "row id", at: item["id"]!.location, keyPath: "\(kp).id")
            if let first = rows.first(where: { $0.id == id }) {
                throw ConfigError(.invalidValue, at: item["id"]!.location, keyPath: "\(kp).id", message: "row id '\(id)' is already used at \(first.location)")
            }
            let reproducible = try r.bool(item, "reproducible", keyPath: "\(kp).reproducible") ?? true
            let reason = try r.string(item, "reason", keyPath: "\(kp).reason")
            var experiment: URL?
            if let path = try r.string(item, "experiment", keyPath: "\(kp).experiment") {
                let url = URL(fileURLWithPath: path, relativeTo: anchor).standardizedFileURL
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ConfigError(.file, at: item["experiment"]!.location, keyPath: "\(kp).experiment",
                                      message: "the experiment file \(url.path) does not exist", remedy: "experiment paths are relative to the table file")
                }
                experiment = url
            }
            if reproducible && experiment == nil {
                throw ConfigError(.missingKey, at: item.location, keyPath: "\(kp).experiment",
                                  message: "a reproducible row needs an experiment file", remedy: "or mark it reproducible: false with a reason")
            }
            if !reproducible && (reason ?? "").isEmpty {
                throw ConfigError(.missingKey, at: item.location, keyPath: "\(kp).reason", message: "a row with reproducible: false needs the reason")
            }
            var overrides: [String] = []
            if let set = item["set"] {
                guard let entries = set.entries else { throw r.mismatch(set, "\(kp).set", "a mapping of key path → value") }
                // Each value replaces the experiment's whole value at that key, exactly as `--set`.
                overrides = entries.map { "\($0.key)=\(overrideValueText($0.value))" }
            }
            var paper: [String: Double] = [:]
            var paperDigits: [String: Int] = [:]
            if let p = item["paper"] {
                guard let entries = p.entries else { throw r.mismatch(p, "\(kp).paper", "a mapping of column → the paper's value") }
                for e in entries {
                    guard columns.contains(where: { $0.id == e.key }) else {
                        throw ConfigError(.unknownKey, at: e.keyLocation, keyPath: "\(kp).paper.\(e.key)", message: "'\(e.key)' is not a column of this table",
                                          suggestion: nearestName(to: e.key, in: columns.map(\.id)),
                                          remedy: "columns: \(columns.map(\.id).joined(separator: ", "))")
                    }
                    if e.value.isNull { continue }
                    guard let s = e.value.scalar, let v = Double(s) else { throw r.mismatch(e.value, "\(kp).paper.\(e.key)", "a number or null") }
                    paper[e.key] = v
                    paperDigits[e.key] = s.firstIndex(of: ".").map { s.distance(from: s.index(after: $0), to: s.endIndex) } ?? 0
                }
            }
            let label = try r.string(item, "label", keyPath: "\(kp).label") ?? id
            let rowInput = try r.intList(item, "input_size", keyPath: "\(kp).input_size") ?? inputSize
            guard rowInput.count == 2, rowInput.allSatisfy({ $0 > 0 }) else {
                throw ConfigError(.invalidValue, at: item["input_size"]?.location, keyPath: "\(kp).input_size", message: "input_size must be [H, W] with positive integers")
            }
            rows.append(TableRow(id: id, label: label, experiment: experiment, overrides: overrides, paper: paper, paperDigits: paperDigits,
                                 inputSize: rowInput, reproducible: reproducible, reason: reason, location: item.location))
        }
        self.rows = rows
    }

    /// The override file of `profile`, nil for `paper`; an unknown profile is an error naming the known ones.
    public func profileFile(_ profile: String) throws -> URL? {
        guard let entry = profiles[profile] else {
            let known = profiles.keys.sorted()
            throw ConfigError(.unknownName, at: SourceLocation(file: file, line: 0, column: 0), keyPath: "profiles",
                              message: "the table has no profile '\(profile)'", suggestion: nearestName(to: profile, in: known),
                              remedy: "profiles: \(known.joined(separator: ", "))")
        }
        return entry
    }

    /// `<output_dir>/<name>/<profile>`, absolute.
    public func directory(profile: String) -> URL {
        URL(fileURLWithPath: outputDir).appendingPathComponent(name).appendingPathComponent(profile, isDirectory: true).standardizedFileURL
    }
}

/// Small typed readers over a config node that report the file position and key path.
struct SpecReader {
    let root: ConfigNode

    func mismatch(_ node: ConfigNode, _ keyPath: String, _ expected: String) -> ConfigError {
        ConfigError(.typeMismatch, at: node.location, keyPath: keyPath, message: "expected \(expected), got \(node.kindName)")
    }

    func checkKeys(_ node: ConfigNode, allowed: [String], keyPath: String) throws {
        guard let entries = node.entries else { throw mismatch(node, keyPath, "a mapping") }
        for e in entries where !allowed.contains(e.key) {
            throw ConfigError(.unknownKey, at: e.keyLocation, keyPath: keyPath.isEmpty ? e.key : "\(keyPath).\(e.key)", message: "unknown key",
                              suggestion: nearestName(to: e.key, in: allowed), remedy: "allowed keys: \(allowed.joined(separator: ", "))")
        }
    }

    func string(_ node: ConfigNode, _ key: String, keyPath: String) throws -> String? {
        guard let v = node[key], !v.isNull else { return nil }
        guard let s = v.scalar else { throw mismatch(v, keyPath, "a string") }
        return s
    }

    func bool(_ node: ConfigNode, _ key: String, keyPath: String) throws -> Bool? {
        guard let s = try string(node, key, keyPath: keyPath) else { return nil }
        switch s { case "true", "True": return true; case "false", "False": return false
        default: throw mismatch(node[key]!, keyPath, "true or false") }
    }

    func intList(_ node: ConfigNode, _ key: String, keyPath: String) throws -> [Int]? {
        guard let v = node[key], !v.isNull else { return nil }
        guard let items = v.elements else { throw mismatch(v, keyPath, "a list of integers") }
        return try items.enumerated().map { i, item in
            guard let s = item.scalar, let n = Int(s) else { throw mismatch(item, "\(keyPath).\(i)", "an integer") }
            return n
        }
    }
}
