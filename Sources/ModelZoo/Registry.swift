import Foundation
import TensorEngine

/// One registry per kind of part (backbone, head, model, …): a config's `type:` string → a
/// builder. Builders read their own typed config from a `Decoder`, so any config source that
/// provides one (the YAML experiment loader, JSON, tests) builds the same parts.
public final class Registry<Product> {
    /// What this registry builds, for messages ("backbone", "head", "model").
    public let kind: String
    private var builders: [String: (Decoder) throws -> Product] = [:]

    public init(kind: String) { self.kind = kind }

    public func register(_ name: String, _ builder: @escaping (Decoder) throws -> Product) {
        precondition(builders[name] == nil, "\(kind) '\(name)' is registered twice")
        builders[name] = builder
    }

    /// Registered `type:` names, sorted.
    public var names: [String] { builders.keys.sorted() }

    /// The node's `type:` value, checked against the registered names.
    public func typeName(in decoder: Decoder) throws -> String {
        let c = try decoder.container(keyedBy: TypeKey.self)
        guard c.contains(.type) else {
            throw RegistryError(kind: kind, name: nil, path: decoder.codingPath, known: names)
        }
        let name = try c.decode(String.self, forKey: .type)
        guard builders[name] != nil else {
            throw RegistryError(kind: kind, name: name, path: decoder.codingPath, known: names)
        }
        return name
    }

    /// Builds the part named by the node's `type:` key.
    public func build(from decoder: Decoder) throws -> Product {
        try builders[try typeName(in: decoder)]!(decoder)
    }

    private enum TypeKey: String, CodingKey { case type }
}

/// A config names a part that is not registered (or names none).
public struct RegistryError: Error, CustomStringConvertible, Equatable {
    public let kind: String
    /// The unknown `type:` value; nil when the node has no `type:` key.
    public let name: String?
    /// Where in the config the node is (e.g. `model.backbone`).
    public let keyPath: String
    public let known: [String]

    init(kind: String, name: String?, path: [CodingKey], known: [String]) {
        self.kind = kind
        self.name = name
        self.keyPath = path.map(\.stringValue).joined(separator: ".")
        self.known = known
    }

    /// The registered name closest to the unknown one, if any is close.
    public var suggestion: String? { name.flatMap { nearestName(to: $0, in: known) } }

    public var description: String {
        let at = keyPath.isEmpty ? "" : " (\(keyPath).type)"
        guard let name else {
            return "\(kind) config\(at.isEmpty ? "" : " at \(keyPath)") has no 'type:' key; known \(kind)s: \(known.joined(separator: ", "))"
        }
        let hint = suggestion.map { "; did you mean '\($0)'?" } ?? "; known \(kind)s: \(known.joined(separator: ", "))"
        return "unknown \(kind) '\(name)'\(at)\(hint)"
    }
}
