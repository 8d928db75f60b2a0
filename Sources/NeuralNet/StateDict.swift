import ConfigCore
import Foundation
import TensorEngine

// State dicts in the open: what checkpoints, initialising from another model's weights
// (`model.init`), converted official checkpoints and distillation teachers all go through.

/// Rewrites checkpoint keys before they are matched to the model's (mmengine's `revise_keys`):
/// every match of `pattern` (a regular expression) is replaced by `replacement`, which may
/// use `$1`… for groups (Python's `re.sub`). Rules apply in order, each to the result of the previous one.
public struct KeyMapRule: Equatable, CustomStringConvertible {
    public let pattern: String
    public let replacement: String
    let regex: NSRegularExpression

    /// Throws `ConfigValueError` for a pattern that is not a valid regular expression.
    public init(pattern: String, replacement: String) throws {
        self.pattern = pattern; self.replacement = replacement
        do { regex = try NSRegularExpression(pattern: pattern) } catch {
            throw ConfigValueError(keyPath: "map", message: "'\(pattern)' is not a valid regular expression")
        }
    }

    public func apply(_ key: String) -> String {
        regex.stringByReplacingMatches(in: key, range: NSRange(key.startIndex..., in: key), withTemplate: replacement)
    }

    public var description: String { "s/\(pattern)/\(replacement)/" }
    public static func == (a: Self, b: Self) -> Bool { a.pattern == b.pattern && a.replacement == b.replacement }
}

/// What a state load did: every model key is either loaded, missing or shape-mismatched; every
/// (mapped) state key that matches no model key is unexpected; `excluded` lists model keys left
/// as they were on purpose.
public struct StateLoadReport: Equatable, CustomStringConvertible {
    public var loaded: [String] = []
    /// In the model, not in the state.
    public var missing: [String] = []
    /// In the state (after the prefix and the key map), not in the model.
    public var unexpected: [String] = []
    /// `key: checkpoint [shape] vs model [shape]`.
    public var mismatched: [String] = []
    public var excluded: [String] = []
    /// Loaded through their module's `resampledState` (a grid-tied parameter of another grid):
    /// `key: checkpoint [shape] → model [shape]`. Also counted in `loaded`.
    public var resampled: [String] = []

    public var isComplete: Bool { missing.isEmpty && unexpected.isEmpty && mismatched.isEmpty }

    public var description: String {
        var lines = ["loaded \(loaded.count) tensors" + (excluded.isEmpty ? "" : ", excluded \(excluded.count)")]
        if !missing.isEmpty { lines.append("missing keys (in the model, not in the state): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("unexpected keys (in the state, not in the model): " + unexpected.joined(separator: ", ")) }
        if !mismatched.isEmpty { lines.append("shape mismatches: " + mismatched.joined(separator: "; ")) }
        if !resampled.isEmpty { lines.append("resampled to the model's grid: " + resampled.joined(separator: "; ")) }
        return lines.joined(separator: "\n")
    }
}

/// A strict state load found keys that do not line up; nothing was changed.
public struct StateLoadError: Error, CustomStringConvertible, Equatable {
    public let report: StateLoadReport
    public var missing: [String] { report.missing }
    public var unexpected: [String] { report.unexpected }
    public var mismatched: [String] { report.mismatched }

    public var description: String {
        var lines = ["state does not match the model:"]
        if !missing.isEmpty { lines.append("  missing keys (in the model, not in the state): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("  unexpected keys (in the state, not in the model): " + unexpected.joined(separator: ", ")) }
        if !mismatched.isEmpty { lines.append("  shape mismatches: " + mismatched.joined(separator: "; ")) }
        lines.append("  check that the checkpoint was made for this model and variant (num_classes, variant, head), or load with a prefix, key map or strict: false")
        return lines.joined(separator: "\n")
    }
}

extension Module {
    /// Parameters and buffers by dotted path (the checkpoint content), each key prefixed with `prefix`.
    public func stateDict(prefix: String = "") -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, v) in namedParameters(prefix: prefix) { d[k] = v }
        for (k, v) in namedBuffers(prefix: prefix) { d[k] = v }
        return d
    }

    /// Ordered keys of `stateDict()`: parameters then buffers, tree order.
    public var stateKeys: [String] { namedParameters().map(\.0) + namedBuffers().map(\.0) }

    /// Copies `state` into this module's tensors and reports what matched.
    ///
    /// - `map`: rules applied to every state key first (e.g. `^module\.` → `` for DataParallel
    ///   checkpoints);
    /// - `prefix`: then only state keys that start with it are used, with it removed (load a
    ///   segmentor's `backbone.` into a backbone; the classifier's keys into a segmentor's backbone
    ///   go the other way, with a map rule);
    /// - `exclude`: model keys matching any of these regular expressions are left as they are
    ///   (a new class count's `decode_head.conv_seg`);
    /// - `strict` (default): any missing, unexpected or shape-mismatched key is a `StateLoadError`
    ///   listing all of them, and nothing is changed. Non-strict loads copy what matches and
    ///   return the report for the caller to log.
    @discardableResult
    public func load(state: [String: Tensor], prefix: String = "", strict: Bool = true, map: [KeyMapRule] = [],
                     exclude: [String] = []) throws -> StateLoadReport {
        var source: [String: Tensor] = [:]
        for (key, tensor) in state {
            let mapped = map.reduce(key) { $1.apply($0) }
            guard prefix.isEmpty || mapped.hasPrefix(prefix) else { continue }
            source[String(mapped.dropFirst(prefix.count))] = tensor
        }
        let excludes = try exclude.map { p -> NSRegularExpression in
            do { return try NSRegularExpression(pattern: p) } catch {
                throw ConfigValueError(keyPath: "exclude", message: "'\(p)' is not a valid regular expression")
            }
        }
        func isExcluded(_ k: String) -> Bool {
            excludes.contains { $0.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) != nil }
        }
        var report = StateLoadReport()
        var assignments: [(Tensor, Tensor)] = []
        let targets = stateDict()
        let modules = Dictionary(namedModules().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        for key in stateKeys {
            let target = targets[key]!
            if isExcluded(key) { report.excluded.append(key); continue }
            guard var s = source[key] else { report.missing.append(key); continue }
            // A parameter tied to the input grid (XFA's w_c) may come from a model of another grid:
            // its module resamples it (as ViT position embeddings are) instead of a mismatch.
            if s.shape != target.shape, let dot = key.lastIndex(of: "."),
               let owner = modules[String(key[..<dot])],
               let adapted = owner.resampledState(String(key[key.index(after: dot)...]), from: s), adapted.shape == target.shape {
                report.resampled.append("\(key): checkpoint \(s.shape) → model \(target.shape)")
                s = adapted
            }
            guard s.shape == target.shape else {
                report.mismatched.append("\(key): checkpoint \(s.shape) vs model \(target.shape)")
                continue
            }
            report.loaded.append(key)
            assignments.append((target, s))
        }
        let own = Set(stateKeys)
        report.unexpected = source.keys.filter { !own.contains($0) && !isExcluded($0) }.sorted()
        report.missing.sort(); report.mismatched.sort(); report.resampled.sort()
        if strict && !report.isComplete { throw StateLoadError(report: report) }
        for (target, s) in assignments { target.assign(from: s) }
        return report
    }
}
