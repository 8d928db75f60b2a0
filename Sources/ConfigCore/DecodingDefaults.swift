// Defaults and range checks for config structs. A range check lives here, at decode time, and
// never in a `precondition`: release builds compile preconditions out (-Ounchecked), so a
// `dropout: 1.5` guarded only by one would train a dead head without a word.

extension KeyedDecodingContainer {
    /// The value at `key`, or `value` when the key is absent (config defaults).
    public func decode<T: Decodable>(_ key: Key, default value: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? value
    }

    /// The value at `key` (or `value` when absent), which must lie in `range`.
    public func decode<T: Decodable & Comparable>(_ key: Key, default value: T, in range: ClosedRange<T>) throws -> T {
        let v = try decode(key, default: value)
        guard range.contains(v) else { throw error(key, "must be in [\(text(range.lowerBound)), \(text(range.upperBound))], got \(text(v))") }
        return v
    }

    /// The value at `key` (or `value` when absent), which must lie in `range` (upper bound excluded).
    public func decode<T: Decodable & Comparable>(_ key: Key, default value: T, in range: Range<T>) throws -> T {
        let v = try decode(key, default: value)
        guard range.contains(v) else { throw error(key, "must be in [\(text(range.lowerBound)), \(text(range.upperBound))), got \(text(v))") }
        return v
    }

    /// The value at `key` (or `value` when absent), at least `minimum`.
    public func decode<T: Decodable & Comparable>(_ key: Key, default value: T, atLeast minimum: T) throws -> T {
        let v = try decode(key, default: value)
        guard v >= minimum else { throw error(key, "must be at least \(text(minimum)), got \(text(v))") }
        return v
    }

    /// A config error located at `key`.
    public func error(_ key: Key, _ message: String, suggestion: String? = nil) -> ConfigValueError {
        ConfigValueError(path: codingPath + [key], message: message, suggestion: suggestion)
    }
}

/// Any string key: to read a node's keys without a fixed schema (its `type:` first).
public struct AnyConfigKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
    public static let type = AnyConfigKey(stringValue: "type")
}

/// A config value as a person wrote it: `1` rather than Swift's `1.0` for whole floats.
func text<T>(_ value: T) -> String {
    if let f = value as? Float, f == f.rounded(), abs(f) < 1e9 { return String(Int(f)) }
    if let d = value as? Double, d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
    return "\(value)"
}
