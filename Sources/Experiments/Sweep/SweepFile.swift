import ConfigCore
import Foundation

/// One setting of a point: `key.path = value`, with where the sweep file wrote the value (so an
/// experiment error caused by it is reported at that line, not at an anonymous `--set`).
public struct SweepAssignment: Equatable {
    public var key: String
    public var value: ConfigNode
    public var location: SourceLocation

    /// The value as `runexp run --set` reads it back (YAML on one line).
    public var valueText: String { overrideValueText(value) }
    /// The `--set` argument.
    public var override: String { "\(key)=\(valueText)" }
}

/// A sweep file, decoded and checked, before expansion. Loaded with `ConfigLoader` (so `_base_`
/// and `--set` work as for experiments) and decoded strictly with `ConfigDecoder`:
///
/// ```yaml
/// base: ../quickstart.yaml              # the experiment, relative to the file that names it
/// name: quickstart_attention            # sweep directory <output_dir>/<name>; default: file stem
/// output_dir: runs                      # default runs (relative to the working directory)
/// set: {train.iterations: 300}          # applied to every point, before the swept values
/// axes:                                 # the grid: cartesian product, last axis fastest
///   model.backbone.attention.type: [sea, global, axial]
/// zip:                                  # groups whose lists move together (equal lengths)
///   - {train.optimizer.lr: [1e-3, 5e-4], train.iterations: [300, 600]}
/// runs:                                 # explicit points, after the grid
///   - {model.backbone.variant: small}
/// seeds: [0, 1]                         # every point once per seed (outermost), sets `seed`
/// exclude:                              # drop points matching all pairs of an entry
///   - {model.backbone.attention.type: axial, seed: 1}
/// run_name: "{type}_s{seed}"           # config key paths or unique suffixes of swept keys
/// short_names: true                     # generated names use key suffixes (default true)
/// ```
public struct SweepFile {
    /// The merged sweep tree (after `_base_` and `--set`).
    public let root: ConfigNode
    /// The sweep file as given.
    public let file: String
    public let name: String
    /// The experiment file, absolute.
    public let base: URL
    public let outputDir: String
    /// `set:` flattened to leaf key paths.
    public let fixed: [SweepAssignment]
    /// Grid dimensions in order: axes, then zip groups. Each dimension is a list of choices, each
    /// choice the assignments it makes (one for an axis, one per key for a zip group).
    public let dimensions: [[[SweepAssignment]]]
    public let runs: [[SweepAssignment]]
    public let seeds: [SweepAssignment]
    public let exclude: [[SweepAssignment]]
    public let runName: (template: String, location: SourceLocation)?
    public let shortNames: Bool
    /// Every key a point can vary, in order of first appearance (for names and tables).
    public let sweptKeys: [String]

    struct Schema: Decodable {
        var name: String?
        var base: String
        var outputDir: String?
        var set: ConfigNode?
        var axes: ConfigNode?
        var zip: ConfigNode?
        var runs: ConfigNode?
        var seeds: ConfigNode?
        var exclude: ConfigNode?
        var runName: String?
        var shortNames: Bool?

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, base, outputDir = "output_dir", set, axes, zip, runs, seeds, exclude, runName = "run_name", shortNames = "short_names"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            base = try c.decode(String.self, forKey: .base)
            outputDir = try c.decodeIfPresent(String.self, forKey: .outputDir)
            set = try c.decodeIfPresent(ConfigNode.self, forKey: .set)
            axes = try c.decodeIfPresent(ConfigNode.self, forKey: .axes)
            zip = try c.decodeIfPresent(ConfigNode.self, forKey: .zip)
            runs = try c.decodeIfPresent(ConfigNode.self, forKey: .runs)
            seeds = try c.decodeIfPresent(ConfigNode.self, forKey: .seeds)
            exclude = try c.decodeIfPresent(ConfigNode.self, forKey: .exclude)
            runName = try c.decodeIfPresent(String.self, forKey: .runName)
            shortNames = try c.decodeIfPresent(Bool.self, forKey: .shortNames)
        }
    }

    /// Loads and checks `file` (its `_base_` chain, then `overrides` on the sweep's own keys).
    public static func load(file: String, overrides: [String] = []) throws -> SweepFile {
        let root = try ConfigLoader.load(file: file, overrides: overrides)
        return try SweepFile(root: root, file: file)
    }

    init(root: ConfigNode, file: String) throws {
        self.root = root
        self.file = file
        guard root.entries != nil else {
            throw ConfigError(.typeMismatch, at: root.location, keyPath: "", message: "a sweep file must be a mapping, got \(root.kindName)")
        }
        let s = try ConfigDecoder(root).decode(Schema.self)
        name = s.name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        try checkFileName(name, what: "sweep name", at: root["name"]?.location ?? root.location, keyPath: "name")
        outputDir = s.outputDir ?? "runs"

        // `base:` is relative to the file that wrote it (a `_base_` sweep may name it), or to the
        // working directory when it came from --set.
        let baseNode = root["base"]!
        let writtenIn = baseNode.location.file
        let anchor = writtenIn.hasPrefix("--set") ? URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
            : URL(fileURLWithPath: writtenIn).deletingLastPathComponent()
        base = URL(fileURLWithPath: s.base, relativeTo: anchor).standardizedFileURL
        guard FileManager.default.fileExists(atPath: base.path) else {
            throw ConfigError(.file, at: baseNode.location, keyPath: "base", message: "the experiment file \(base.path) does not exist",
                              remedy: "base: is relative to the sweep file that names it")
        }

        fixed = try s.set.map { try Self.flatten($0, path: [], keyPath: "set") } ?? []

        var dimensions: [[[SweepAssignment]]] = []
        var seen: [String: SourceLocation] = [:]
        func claim(_ key: String, at loc: SourceLocation, in section: String) throws {
            try Self.checkKey(key, at: loc, keyPath: section)
            if let first = seen[key] {
                throw ConfigError(.invalidValue, at: loc, keyPath: "\(section).\(key)", message: "'\(key)' is already swept at \(first)",
                                  remedy: "sweep each key in one place: one axis, or one zip group")
            }
            seen[key] = loc
        }
        if let axes = s.axes {
            guard let entries = axes.entries else { throw Self.mismatch(axes, "axes", "a mapping of key path → list of values") }
            for e in entries {
                try claim(e.key, at: e.keyLocation, in: "axes")
                let values = try Self.valueList(e.value, keyPath: "axes.\(e.key)")
                dimensions.append(values.map { [SweepAssignment(key: e.key, value: $0, location: $0.location)] })
            }
        }
        if let zip = s.zip {
            guard let groups = zip.elements else { throw Self.mismatch(zip, "zip", "a list of mappings (key path → list of values)") }
            for (g, group) in groups.enumerated() {
                guard let entries = group.entries, !entries.isEmpty else { throw Self.mismatch(group, "zip.\(g)", "a non-empty mapping of key path → list of values") }
                var lists: [(ConfigNode.Entry, [ConfigNode])] = []
                for e in entries {
                    try claim(e.key, at: e.keyLocation, in: "zip.\(g)")
                    lists.append((e, try Self.valueList(e.value, keyPath: "zip.\(g).\(e.key)")))
                }
                let counts = Set(lists.map { $0.1.count })
                if counts.count > 1 {
                    let detail = lists.map { "\($0.0.key) has \($0.1.count) (\($0.0.keyLocation))" }.joined(separator: ", ")
                    throw ConfigError(.invalidValue, at: group.location, keyPath: "zip.\(g)",
                                      message: "the lists of a zip group move together and must have equal lengths: \(detail)",
                                      remedy: "give every key the same number of values, or make the unequal one an axis")
                }
                dimensions.append((0..<lists[0].1.count).map { i in
                    lists.map { SweepAssignment(key: $0.0.key, value: $0.1[i], location: $0.1[i].location) }
                })
            }
        }
        self.dimensions = dimensions

        var runs: [[SweepAssignment]] = []
        if let r = s.runs {
            guard let items = r.elements else { throw Self.mismatch(r, "runs", "a list of mappings (key path → value)") }
            for (i, item) in items.enumerated() {
                guard let entries = item.entries else { throw Self.mismatch(item, "runs.\(i)", "a mapping of key path → value") }
                runs.append(try entries.map { e in
                    try Self.checkKey(e.key, at: e.keyLocation, keyPath: "runs.\(i)")
                    if seen[e.key] == nil { seen[e.key] = e.keyLocation }
                    return SweepAssignment(key: e.key, value: e.value, location: e.value.location)
                })
            }
        }
        self.runs = runs

        var seeds: [SweepAssignment] = []
        if let sn = s.seeds {
            guard let items = sn.elements, !items.isEmpty else { throw Self.mismatch(sn, "seeds", "a non-empty list of non-negative integers") }
            if let first = seen["seed"] {
                throw ConfigError(.invalidValue, at: sn.location, keyPath: "seeds", message: "'seed' is already swept at \(first)",
                                  remedy: "use either seeds: or a seed axis")
            }
            for (i, item) in items.enumerated() {
                guard let text = item.scalar, !item.isNull, UInt64(text) != nil else {
                    throw Self.mismatch(item, "seeds.\(i)", "a non-negative integer")
                }
                seeds.append(SweepAssignment(key: "seed", value: item, location: item.location))
            }
            seen["seed"] = sn.location
        }
        self.seeds = seeds

        // Swept keys in the order they were first written.
        sweptKeys = seen.sorted { ($0.value.file, $0.value.line, $0.value.column) < ($1.value.file, $1.value.line, $1.value.column) }.map(\.key)
        let swept = sweptKeys

        var exclude: [[SweepAssignment]] = []
        if let x = s.exclude {
            guard let items = x.elements else { throw Self.mismatch(x, "exclude", "a list of mappings (key path → value)") }
            for (i, item) in items.enumerated() {
                guard let entries = item.entries, !entries.isEmpty else { throw Self.mismatch(item, "exclude.\(i)", "a non-empty mapping of swept key → value") }
                exclude.append(try entries.map { e in
                    guard swept.contains(e.key) else {
                        let hint = nearestName(to: e.key, in: swept)
                        throw ConfigError(.unknownKey, at: e.keyLocation, keyPath: "exclude.\(i).\(e.key)", message: "'\(e.key)' is not swept, so this entry would never match",
                                          suggestion: hint, remedy: hint == nil ? "swept keys: \(swept.joined(separator: ", "))" : nil)
                    }
                    return SweepAssignment(key: e.key, value: e.value, location: e.value.location)
                })
            }
        }
        self.exclude = exclude

        runName = s.runName.map { ($0, root["run_name"]!.location) }
        shortNames = s.shortNames ?? true
    }

    // MARK: Checks

    static func mismatch(_ node: ConfigNode, _ keyPath: String, _ expected: String) -> ConfigError {
        ConfigError(.typeMismatch, at: node.location, keyPath: keyPath, message: "expected \(expected), got \(node.kindName)")
    }

    /// Swept keys are dotted key paths of the experiment. `name` and `output_dir` belong to the
    /// sweep (the run name and directory come from it), so sweeping them is refused here rather
    /// than silently overridden.
    static func checkKey(_ key: String, at loc: SourceLocation, keyPath: String) throws {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.contains(where: { $0.isEmpty || $0.contains(" ") || $0.contains("=") }) else {
            throw ConfigError(.invalidValue, at: loc, keyPath: "\(keyPath).\(key)", message: "'\(key)' is not a key path",
                              remedy: "write dotted experiment keys without spaces, e.g. model.backbone.attention.type")
        }
        if key == "name" || key == "output_dir" {
            throw ConfigError(.invalidValue, at: loc, keyPath: "\(keyPath).\(key)", message: "a sweep sets '\(key)' of every run itself",
                              remedy: key == "name" ? "name runs with run_name: \"…\"" : "set output_dir: at the top of the sweep file")
        }
    }

    static func valueList(_ node: ConfigNode, keyPath: String) throws -> [ConfigNode] {
        guard let items = node.elements, !items.isEmpty else { throw mismatch(node, keyPath, "a non-empty list of values") }
        return items
    }

    /// `set: {train: {iterations: 6}, eval.interval: 3}` → `train.iterations`, `eval.interval`.
    /// Nested mappings are followed (they merge, like `_base_`); lists and scalars are values.
    static func flatten(_ node: ConfigNode, path: [String], keyPath: String) throws -> [SweepAssignment] {
        guard let entries = node.entries else {
            if path.isEmpty { throw mismatch(node, keyPath, "a mapping of key path → value") }
            return [SweepAssignment(key: path.joined(separator: "."), value: node, location: node.location)]
        }
        if !path.isEmpty && entries.isEmpty {
            return [SweepAssignment(key: path.joined(separator: "."), value: node, location: node.location)]
        }
        return try entries.flatMap { e -> [SweepAssignment] in
            let key = (path + [e.key]).joined(separator: ".")
            try checkKey(key, at: e.keyLocation, keyPath: keyPath)
            return try flatten(e.value, path: path + [e.key], keyPath: keyPath)
        }
    }
}

/// Sweep and run names become directory names: letters, digits and `._=+-`, not hidden, not one
/// of the sweep directory's own entries.
func checkFileName(_ name: String, what: String, at loc: SourceLocation, keyPath: String) throws {
    let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._=+-"))
    let bad = name.unicodeScalars.first { !allowed.contains($0) }
    if name.isEmpty || name.hasPrefix(".") || bad != nil || ["logs", "slurm", "manifest.json"].contains(name) {
        let why = name.isEmpty ? "it is empty" : name.hasPrefix(".") ? "it starts with '.'" :
            bad.map { "it contains '\($0)'" } ?? "it is reserved for the sweep directory's own files"
        throw ConfigError(.invalidValue, at: loc, keyPath: keyPath, message: "\(what) '\(name)' cannot be a directory name: \(why)",
                          remedy: "use letters, digits and . _ = + -")
    }
}

/// A value as one line of YAML that `ConfigLoader.applyOverride` parses back to an equal node:
/// plain scalars as written, quoted ones quoted, collections in flow style.
func overrideValueText(_ node: ConfigNode, nested: Bool = false) -> String {
    switch node.value {
    case .scalar(let s, let quoted):
        if node.isNull { return "null" }
        // Inside a flow collection a plain `a,b` would split; such scalars are strings anyway.
        let needsQuotes = quoted || (nested && s.contains(where: { ",[]{}#:".contains($0) }))
        guard needsQuotes else { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    case .sequence(let items):
        return "[" + items.map { overrideValueText($0, nested: true) }.joined(separator: ", ") + "]"
    case .mapping(let entries):
        return "{" + entries.map { "\($0.key): \(overrideValueText($0.value, nested: true))" }.joined(separator: ", ") + "}"
    }
}

/// A value as it appears in a run name: scalars as written, lists joined by `x` (`64x96`).
func nameText(_ node: ConfigNode) -> String? {
    switch node.value {
    case .scalar(let s, _): return node.isNull ? "null" : s
    case .sequence(let items):
        let parts = items.compactMap(nameText)
        return parts.count == items.count ? parts.joined(separator: "x") : nil
    case .mapping: return nil
    }
}
