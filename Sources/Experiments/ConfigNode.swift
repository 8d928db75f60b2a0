import Foundation
import Yams

/// Where a config value was written: a file position, or the `--set` override that supplied it.
/// Every error about a value names this, so a bad value can be fixed without searching the
/// `_base_` chain for the file that actually set it.
public struct SourceLocation: Equatable, CustomStringConvertible, Sendable {
    /// The file as it should be shown (relative to the working directory when below it), or
    /// `--set a.b=v` for command-line overrides.
    public var file: String
    /// 1-based; 0 when unknown.
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }

    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// A YAML tree whose every node remembers where it was written. Mappings keep their key order
/// (so the resolved config reads like the files it came from) and the position of each key
/// (an unknown key is reported where the key is, not where its value is).
public struct ConfigNode: CustomStringConvertible {
    public enum Value {
        case mapping([Entry])
        case sequence([ConfigNode])
        /// `quoted` scalars are always strings: `'10'` must not decode as an integer.
        case scalar(String, quoted: Bool)
    }

    public struct Entry {
        public var key: String
        public var keyLocation: SourceLocation
        public var value: ConfigNode
    }

    public var value: Value
    public var location: SourceLocation
    /// Written in flow style (`[64, 96]`, `{type: sea}`); kept only so the resolved YAML looks
    /// like the input. Not part of equality.
    public var flow: Bool

    public init(_ value: Value, at location: SourceLocation, flow: Bool = false) {
        self.value = value; self.location = location; self.flow = flow
    }

    // MARK: Access

    public var entries: [Entry]? { if case .mapping(let e) = value { return e } else { return nil } }
    public var elements: [ConfigNode]? { if case .sequence(let e) = value { return e } else { return nil } }
    public var scalar: String? { if case .scalar(let s, _) = value { return s } else { return nil } }

    /// YAML null: `~`, `null` or an empty plain value.
    public var isNull: Bool {
        if case .scalar(let s, let quoted) = value { return !quoted && ["", "~", "null", "Null", "NULL"].contains(s) }
        return false
    }

    public subscript(key: String) -> ConfigNode? {
        entries?.first { $0.key == key }?.value
    }

    /// The node at a dotted path (`model.backbone.type`; sequence elements by index), if any.
    public func node(at path: [String]) -> ConfigNode? {
        var n = self
        for part in path {
            if let e = n.entries, let v = e.first(where: { $0.key == part }) { n = v.value; continue }
            if let items = n.elements, let i = Int(part), items.indices.contains(i) { n = items[i]; continue }
            return nil
        }
        return n
    }

    /// Where the KEY `path.last` is written (falls back to the value's position).
    func keyLocation(at path: [String]) -> SourceLocation? {
        guard let last = path.last else { return location }
        guard let parent = node(at: Array(path.dropLast())) else { return nil }
        if let e = parent.entries?.first(where: { $0.key == last }) { return e.keyLocation }
        return parent.node(at: [last])?.location
    }

    /// A human-readable kind, for type-mismatch messages.
    var kindName: String {
        switch value {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar(let s, _): return isNull ? "null" : "'\(s)'"
        }
    }

    public var description: String { (try? yaml()) ?? "<unserialisable config>" }
}

/// Structural equality: same keys in the same order, same scalars, same quoting. Locations and
/// flow style are presentation, so a config re-read from its resolved YAML equals the original.
extension ConfigNode: Equatable {
    public static func == (a: ConfigNode, b: ConfigNode) -> Bool {
        switch (a.value, b.value) {
        case let (.mapping(x), .mapping(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.sequence(x), .sequence(y)):
            return x == y
        case let (.scalar(s, q), .scalar(t, r)):
            // A plain and a quoted scalar are the same value only when the plain one would
            // resolve to a string anyway; comparing the quoting flag is the simple safe rule.
            return s == t && (q == r || (!scalarLooksTyped(s) && !scalarLooksTyped(t)))
        default:
            return false
        }
    }
}

/// Plain scalars that YAML would read as null, bool or number; the emitter must quote such
/// strings, and such strings only equal their quoted form when both are quoted.
func scalarLooksTyped(_ s: String) -> Bool {
    if ["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
        "yes", "Yes", "no", "No", "on", "On", "off", "Off", ".inf", "-.inf", ".nan"].contains(s) { return true }
    return Double(s) != nil || Int(s) != nil
}

// MARK: - Yams conversion

extension ConfigNode {
    /// Converts a composed Yams tree; `file` is the name shown in locations. Yams resolves an
    /// alias to the node it names, so the tree it returns is a DAG whose unfolding can be
    /// exponential in the file size (the "billion laughs" alias bomb); `budget` bounds the
    /// number of nodes the conversion may create, so such a file is an error, not a hang.
    init(yams node: Node, file: String, lines: [[Unicode.Scalar]] = [], budget: ConfigNodeBudget = ConfigNodeBudget()) throws {
        // Yams 6.2.2 takes a collection's style from its END event, so every parsed collection
        // reports `.any`; the source character at the node's mark tells flow (`[`, `{`) apart.
        func startsFlow(_ m: Mark?) -> Bool {
            guard let m, m.line >= 1, m.line <= lines.count, m.column >= 1, m.column <= lines[m.line - 1].count else { return false }
            let c = lines[m.line - 1][m.column - 1]
            return c == "[" || c == "{"
        }
        func loc(_ m: Mark?) -> SourceLocation { SourceLocation(file: file, line: m?.line ?? 0, column: m?.column ?? 0) }
        try budget.spend(at: loc(node.mark))
        switch node {
        case .scalar(let s):
            self.init(.scalar(s.string, quoted: s.style == .singleQuoted || s.style == .doubleQuoted), at: loc(s.mark))
        case .sequence(let s):
            self.init(.sequence(try s.map { try ConfigNode(yams: $0, file: file, lines: lines, budget: budget) }), at: loc(s.mark),
                      flow: s.style == .flow || startsFlow(s.mark))
        case .mapping(let m):
            var entries: [Entry] = []
            // A set, not a scan of `entries`: a scan makes a mapping of n keys cost n²/2
            // comparisons (200,000 keys would take hours).
            var seen = Set<String>()
            for (k, v) in m {
                guard let key = k.scalar?.string else {
                    throw ConfigError(.syntax, at: loc(k.mark), keyPath: "", message: "mapping keys must be plain scalars")
                }
                guard seen.insert(key).inserted else {
                    throw ConfigError(.syntax, at: loc(k.mark), keyPath: key, message: "duplicate key '\(key)' in one mapping",
                                      remedy: "keep one of them")
                }
                entries.append(Entry(key: key, keyLocation: loc(k.mark), value: try ConfigNode(yams: v, file: file, lines: lines, budget: budget)))
            }
            self.init(.mapping(entries), at: loc(m.mark), flow: m.style == .flow || startsFlow(m.mark))
        case .alias(let a):
            throw ConfigError(.syntax, at: loc(a.mark), keyPath: "", message: "YAML aliases are not supported in experiment configs",
                              remedy: "use _base_ inheritance or write the value out")
        }
    }

    /// Parses one YAML document (an empty document is an empty mapping).
    static func parse(yaml text: String, file: String) throws -> ConfigNode {
        let composed: Node?
        do {
            composed = try Yams.compose(yaml: text)
        } catch let e as YamlError {
            throw yamlSyntaxError(e, file: file)
        }
        guard let composed else { return ConfigNode(.mapping([]), at: SourceLocation(file: file, line: 1, column: 1)) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        return try ConfigNode(yams: composed, file: file, lines: lines)
    }

    /// The Yams tree, with quoting and flow style kept so the output reads like the input and
    /// re-parses to an equal tree.
    func yamsNode() -> Node {
        switch value {
        case .scalar(let s, let quoted):
            let needsQuotes = quoted && scalarLooksTyped(s)
            return .scalar(Node.Scalar(s, .implicit, needsQuotes ? .singleQuoted : (quoted ? .singleQuoted : .plain)))
        case .sequence(let items):
            return .sequence(Node.Sequence(items.map { $0.yamsNode() }, .implicit, flow ? .flow : .block))
        case .mapping(let entries):
            return .mapping(Node.Mapping(entries.map { (Node($0.key), $0.value.yamsNode()) }, .implicit, flow ? .flow : .block))
        }
    }

    /// The tree as YAML text.
    public func yaml() throws -> String {
        try Yams.serialize(node: yamsNode(), indent: 2, width: -1, allowUnicode: true)
    }
}

/// A Yams error as a located `ConfigError`. Yams' own description quotes the whole document as
/// "context" (megabytes for a large generated file), so only the problem and its position
/// are kept.
func yamlSyntaxError(_ e: YamlError, file: String) -> ConfigError {
    func located(_ problem: String, _ mark: Mark?) -> ConfigError {
        ConfigError(.syntax, at: SourceLocation(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0), keyPath: "",
                    message: "YAML syntax error: \(problem)")
    }
    switch e {
    case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
        return located((context.map { "\($0.text) " } ?? "") + problem, mark)
    case let .duplicatedKeysInMapping(duplicates, context):
        return located("duplicate key\(duplicates.count == 1 ? "" : "s") \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping; keep one of each", context.mark)
    default:
        let text = "\(e)"
        let head = text.components(separatedBy: "\nContext:").first ?? text
        return located(head.count > 300 ? String(head.prefix(300)) + "…" : head, nil)
    }
}
