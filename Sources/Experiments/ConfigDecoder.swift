import DataPipeline
import Foundation
import TensorEngine
import ModelZoo
import NeuralNet

/// Decodes `Decodable` config structs from a `ConfigNode`, with two things `JSONDecoder` and
/// Yams' decoder do not give:
/// - every failure names the file, line and column of the offending node and its key path;
/// - STRICT keys: the decoder records which keys each mapping was asked for (`contains`,
///   `decode`, `decodeIfPresent`, `nestedContainer`, `superDecoder`; `allKeys` counts as asking
///   for all), and after decoding any key nobody asked for is an error, with the nearest key
///   that WAS asked for. A misspelt `drop_pth` would otherwise silently keep its default.
///
/// Errors that builders throw themselves (ConfigCore's `RegistryError` and `ConfigValueError`,
/// `DecodingError`) carry the absolute key path of the node that failed; they are mapped back
/// to that node's file, line and column and rethrown as `ConfigError`.
public struct ConfigDecoder {
    let root: ConfigNode
    let rootPath: [String]
    let usage = KeyUsage()

    /// `root` sits at `rootPath` in the whole config (e.g. `["model"]`), so messages show full paths.
    public init(_ root: ConfigNode, at rootPath: [String] = []) {
        self.root = root; self.rootPath = rootPath
    }

    /// Decodes `T` and then checks for unknown keys.
    public func decode<T: Decodable>(_ type: T.Type = T.self, strict: Bool = true) throws -> T {
        let value = try run { try T(from: $0) }
        if strict { try checkUnknownKeys() }
        return value
    }

    /// Runs `body` with a `Decoder` over the root (for registry builders: `models.build(from:)`),
    /// then checks for unknown keys.
    public func with<R>(strict: Bool = true, _ body: (Decoder) throws -> R) throws -> R {
        let value = try run(body)
        if strict { try checkUnknownKeys() }
        return value
    }

    private func run<R>(_ body: (Decoder) throws -> R) throws -> R {
        do {
            return try body(NodeDecoder(node: root, codingPath: rootPath.map(ConfigKey.init(stringValue:)), usage: usage))
        } catch {
            throw locate(error)
        }
    }

    // MARK: Unknown keys

    /// Throws for the first key (in document order) that no decoder asked for.
    public func checkUnknownKeys() throws {
        try walk(root, path: rootPath)
    }

    private func walk(_ node: ConfigNode, path: [String]) throws {
        let p = path.joined(separator: ".")
        if usage.deferred.contains(p) { return }
        switch node.value {
        case .scalar: return
        case .sequence(let items):
            for (i, item) in items.enumerated() { try walk(item, path: path + ["\(i)"]) }
        case .mapping(let entries):
            // A mapping nobody opened was either reported by its parent (unknown key) or is
            // opaque to the schema (read through `ConfigNode`); nothing to check in it.
            guard usage.opened.contains(p) else { return }
            let asked = usage.asked[p] ?? []
            for e in entries where !asked.contains(e.key) {
                let valid = asked.sorted()
                throw ConfigError(.unknownKey, at: e.keyLocation, keyPath: (path + [e.key]).joined(separator: "."), message: "unknown key",
                                  suggestion: nearestName(to: e.key, in: valid),
                                  remedy: nearestName(to: e.key, in: valid) == nil ? "valid keys here: \(valid.joined(separator: ", "))" : nil)
            }
            for e in entries { try walk(e.value, path: path + [e.key]) }
        }
    }

    // MARK: Locating foreign errors

    /// The node at an absolute key path, or its deepest existing ancestor.
    func nodeLocation(_ keyPath: [String], key: Bool = false) -> SourceLocation {
        var rel = Array(keyPath.dropFirst(min(rootPath.count, keyPath.starts(with: rootPath) ? rootPath.count : 0)))
        while !rel.isEmpty {
            if key, let l = root.keyLocation(at: rel) { return l }
            if let n = root.node(at: rel) { return n.location }
            rel.removeLast()
        }
        return root.location
    }

    private func split(_ path: String) -> [String] { path.isEmpty ? [] : path.split(separator: ".").map(String.init) }

    func locate(_ error: Error) -> Error {
        switch error {
        case let e as ConfigError:
            return e
        case let e as RegistryError:
            let path = split(e.keyPath)
            if e.name == nil {
                return ConfigError(.missingKey, at: nodeLocation(path), keyPath: e.keyPath,
                                   message: "\(e.kind) config has no 'type:' key", remedy: "known \(e.kind)s: \(e.known.joined(separator: ", "))")
            }
            return ConfigError(.unknownName, at: nodeLocation(path + ["type"]), keyPath: (path + ["type"]).joined(separator: "."),
                               message: "unknown \(e.kind) '\(e.name!)'", suggestion: e.suggestion,
                               remedy: e.suggestion == nil ? "known \(e.kind)s: \(e.known.joined(separator: ", "))" : nil)
        case let e as ConfigValueError:
            // Builders raise these at the absolute path of the node they read (their decoder's
            // codingPath), so the location is exact.
            let path = split(e.keyPath)
            let isKeyError = e.message.hasPrefix("unknown key")
            return ConfigError(e.suggestion == nil ? .invalidValue : .unknownName,
                               at: nodeLocation(path, key: isKeyError), keyPath: e.keyPath, message: e.message, suggestion: e.suggestion)
        case let e as StateLoadError:
            return ConfigError(.invalidValue, at: root.location, keyPath: rootPath.joined(separator: "."), message: e.description)
        case let e as DecodingError:
            return decodingError(e)
        default:
            return error
        }
    }

    private func decodingError(_ e: DecodingError) -> ConfigError {
        switch e {
        case let .keyNotFound(key, ctx):
            let path = ctx.codingPath.map(\.stringValue)
            return ConfigError(.missingKey, at: nodeLocation(path), keyPath: (path + [key.stringValue]).joined(separator: "."),
                               message: "required key '\(key.stringValue)' is missing")
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            let path = ctx.codingPath.map(\.stringValue)
            return ConfigError(.typeMismatch, at: nodeLocation(path), keyPath: path.joined(separator: "."), message: ctx.debugDescription)
        @unknown default:
            return ConfigError(.typeMismatch, at: root.location, keyPath: rootPath.joined(separator: "."), message: "\(e)")
        }
    }
}

/// What the decoders asked for, by mapping path (`a.b`, root = "").
final class KeyUsage {
    var opened: Set<String> = []
    var asked: [String: Set<String>] = [:]
    /// Subtrees captured whole as `ConfigNode` (checked by whoever decodes them later).
    var deferred: Set<String> = []

    func ask(_ path: [CodingKey], _ key: String) {
        asked[pathString(path), default: []].insert(key)
    }
}

func pathString(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }

struct ConfigKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
}

/// A `ConfigNode` inside a config struct stays a tree: `ExperimentConfig.model` is built later
/// by `ModelRegistry.models`, which needs a `Decoder`, not a fixed struct.
extension ConfigNode: Decodable {
    public init(from decoder: Decoder) throws {
        guard let d = decoder as? NodeDecoder else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a ConfigNode can only be read by ConfigDecoder"))
        }
        d.usage.deferred.insert(pathString(d.codingPath))
        self = d.node
    }
}

// MARK: - Decoder

struct NodeDecoder: Decoder {
    let node: ConfigNode
    let codingPath: [CodingKey]
    let usage: KeyUsage
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    var keyPath: String { pathString(codingPath) }

    func mismatch(_ expected: String) -> ConfigError {
        ConfigError(.typeMismatch, at: node.location, keyPath: keyPath, message: "expected \(expected), got \(node.kindName)")
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard let entries = node.entries else { throw mismatch("a mapping") }
        usage.opened.insert(keyPath)
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, entries: entries))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard let items = node.elements else { throw mismatch("a list") }
        return UnkeyedNodeContainer(decoder: self, items: items)
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer { SingleNodeContainer(decoder: self) }

    func child(_ node: ConfigNode, _ key: CodingKey) -> NodeDecoder {
        NodeDecoder(node: node, codingPath: codingPath + [key], usage: usage)
    }

    // MARK: Scalars

    func scalarText(_ expected: String) throws -> String {
        guard case .scalar(let s, _) = node.value, !node.isNull else { throw mismatch(expected) }
        return s
    }

    var quoted: Bool { if case .scalar(_, let q) = node.value { return q } else { return false } }

    func decodeBool() throws -> Bool {
        let s = try scalarText("true or false")
        if !quoted, ["true", "True", "TRUE"].contains(s) { return true }
        if !quoted, ["false", "False", "FALSE"].contains(s) { return false }
        throw mismatch("true or false")
    }

    func decodeInteger<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let what = T.isSigned ? "an integer" : "a non-negative integer"
        let s = try scalarText(what)
        guard !quoted, let v = T(s.replacingOccurrences(of: "_", with: "")) else {
            if !quoted, let d = Double(s), d == d.rounded(), let v = T(exactly: d) { return v }  // 1e3, 100.0
            throw mismatch(what)
        }
        return v
    }

    func decodeDouble() throws -> Double {
        let s = try scalarText("a number")
        guard !quoted else { throw mismatch("a number") }
        switch s {
        case ".inf", ".Inf", "+.inf": return .infinity
        case "-.inf", "-.Inf": return -.infinity
        case ".nan", ".NaN": return .nan
        default:
            guard let v = Double(s.replacingOccurrences(of: "_", with: "")) else { throw mismatch("a number") }
            return v
        }
    }

    func decodeString() throws -> String {
        guard case .scalar(let s, _) = node.value, !node.isNull else { throw mismatch("a string") }
        return s
    }

    /// Generic values: `ConfigNode`s are captured, string enums get a "did you mean" check with
    /// the location, everything else decodes itself.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let choices = stringChoices(T.self), case .scalar(let s, _) = node.value, !node.isNull, !choices.contains(s) {
            let hint = nearestName(to: s, in: choices)
            throw ConfigError(.unknownName, at: node.location, keyPath: keyPath, message: "unknown value '\(s)'", suggestion: hint,
                              remedy: hint == nil ? "valid values: \(choices.joined(separator: ", "))" : nil)
        }
        switch T.self {
        case is Bool.Type: return try decodeBool() as! T
        case is String.Type: return try decodeString() as! T
        case is Double.Type: return try decodeDouble() as! T
        case is Float.Type: return Float(try decodeDouble()) as! T
        case is Int.Type: return try decodeInteger(Int.self) as! T
        case is UInt64.Type: return try decodeInteger(UInt64.self) as! T
        default: return try T(from: self)
        }
    }
}

/// The raw values of a `String`-backed `CaseIterable` enum, if `T` is one.
private func stringChoices<T>(_: T.Type) -> [String]? {
    guard let c = T.self as? any CaseIterable.Type else { return nil }
    func all<C: CaseIterable>(_ c: C.Type) -> [String] {
        c.allCases.compactMap { ($0 as? any RawRepresentable).flatMap { $0.rawValue as? String } }
    }
    let names = all(c)
    return names.isEmpty ? nil : names
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    let entries: [ConfigNode.Entry]
    var codingPath: [CodingKey] { decoder.codingPath }

    var allKeys: [Key] {
        for e in entries { decoder.usage.ask(codingPath, e.key) }
        return entries.compactMap { Key(stringValue: $0.key) }
    }

    func contains(_ key: Key) -> Bool {
        decoder.usage.ask(codingPath, key.stringValue)
        return entries.contains { $0.key == key.stringValue }
    }

    private func child(_ key: Key) throws -> NodeDecoder {
        decoder.usage.ask(codingPath, key.stringValue)
        guard let e = entries.first(where: { $0.key == key.stringValue }) else {
            throw ConfigError(.missingKey, at: decoder.node.location, keyPath: pathString(codingPath + [key]),
                              message: "required key '\(key.stringValue)' is missing")
        }
        return decoder.child(e.value, key)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).node.isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try child(key).decodeBool() }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try child(key).decodeString() }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try child(key).decodeDouble() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try child(key).decodeDouble()) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try child(key).decodeInteger(Int.self) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try child(key).decodeInteger(Int8.self) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try child(key).decodeInteger(Int16.self) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try child(key).decodeInteger(Int32.self) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try child(key).decodeInteger(Int64.self) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try child(key).decodeInteger(UInt.self) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try child(key).decodeInteger(UInt8.self) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try child(key).decodeInteger(UInt16.self) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try child(key).decodeInteger(UInt32.self) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try child(key).decodeInteger(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(T.self) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { try child(key).unkeyedContainer() }
    func superDecoder() throws -> Decoder { try child(Key(stringValue: "super")!) }
    func superDecoder(forKey key: Key) throws -> Decoder { try child(key) }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let items: [ConfigNode]
    var currentIndex = 0
    var codingPath: [CodingKey] { decoder.codingPath }
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> NodeDecoder {
        guard !isAtEnd else {
            throw ConfigError(.typeMismatch, at: decoder.node.location, keyPath: decoder.keyPath, message: "the list has too few items (\(items.count))")
        }
        defer { currentIndex += 1 }
        return decoder.child(items[currentIndex], ConfigKey(intValue: currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex].isNull else { return false }
        currentIndex += 1
        return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try next().decodeBool() }
    mutating func decode(_ type: String.Type) throws -> String { try next().decodeString() }
    mutating func decode(_ type: Double.Type) throws -> Double { try next().decodeDouble() }
    mutating func decode(_ type: Float.Type) throws -> Float { Float(try next().decodeDouble()) }
    mutating func decode(_ type: Int.Type) throws -> Int { try next().decodeInteger(Int.self) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next().decodeInteger(Int8.self) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next().decodeInteger(Int16.self) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next().decodeInteger(Int32.self) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next().decodeInteger(Int64.self) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next().decodeInteger(UInt.self) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next().decodeInteger(UInt8.self) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next().decodeInteger(UInt16.self) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next().decodeInteger(UInt32.self) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next().decodeInteger(UInt64.self) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(T.self) }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }
    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer { try next().unkeyedContainer() }
    mutating func superDecoder() throws -> Decoder { try next() }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.node.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool() }
    func decode(_ type: String.Type) throws -> String { try decoder.decodeString() }
    func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble() }
    func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble()) }
    func decode(_ type: Int.Type) throws -> Int { try decoder.decodeInteger(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decoder.decodeInteger(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decoder.decodeInteger(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decoder.decodeInteger(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decoder.decodeInteger(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try decoder.decodeInteger(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decoder.decodeInteger(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decoder.decodeInteger(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decoder.decodeInteger(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decoder.decodeInteger(UInt64.self) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(T.self) }
}
