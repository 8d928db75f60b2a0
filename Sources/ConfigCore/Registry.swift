/// One registry per kind of part (backbone, head, attention, model, transform, dataset,
/// optimizer, schedule, metric, …): a config node's `type:` string → a builder. Builders read
/// their own typed config from a `Decoder` (so each type owns its keys, defaults and checks)
/// plus a `Context` that the caller knows and the config does not: a head gets the features of
/// the backbone it sits on, an attention the shape of its stage. Any config source that provides
/// a `Decoder` (the YAML experiment loader, JSON, tests) builds the same parts.
public final class Registry<Context, Product> {
    public typealias Builder = (_ config: Decoder, _ context: Context) throws -> Product

    /// What this registry builds, for messages ("backbone", "head", "attention").
    public let kind: String
    private var builders: [String: Builder] = [:]
    private var summaries: [String: String] = [:]
    private var order: [String] = []

    public init(kind: String) { self.kind = kind }

    /// Adds `name`. Registering a name twice is a programmer error (two families claiming one name).
    public func register(_ name: String, summary: String = "", _ builder: @escaping Builder) {
        precondition(builders[name] == nil, "\(kind) '\(name)' is registered twice")
        builders[name] = builder
        summaries[name] = summary
        order.append(name)
    }

    /// Registered `type:` names in registration order (families first-come, as they list them).
    public var names: [String] { order }

    /// The one-line description given at registration (for `runexp list`).
    public func summary(of name: String) -> String? { summaries[name] }

    public func contains(_ name: String) -> Bool { builders[name] != nil }

    /// The node's `type:` value, checked against the registered names; `defaultType` when the
    /// node has no `type:` (nil: the key is required).
    public func typeName(in decoder: Decoder, defaultType: String? = nil) throws -> String {
        let c = try decoder.container(keyedBy: AnyConfigKey.self)
        guard c.contains(.type) else {
            if let defaultType { return defaultType }
            throw RegistryError(kind: kind, name: nil, path: decoder.codingPath, known: names)
        }
        let name = try c.decode(String.self, forKey: .type)
        guard builders[name] != nil else {
            throw RegistryError(kind: kind, name: name, path: decoder.codingPath, known: names)
        }
        return name
    }

    /// Builds the part named by the node's `type:` key (or `defaultType`).
    public func build(from decoder: Decoder, _ context: Context, defaultType: String? = nil) throws -> Product {
        try builders[try typeName(in: decoder, defaultType: defaultType)]!(decoder, context)
    }

    /// Builds `name` directly (no `type:` lookup), e.g. a family's default part.
    public func build(_ name: String, from decoder: Decoder, _ context: Context) throws -> Product {
        guard let b = builders[name] else { throw RegistryError(kind: kind, name: name, path: decoder.codingPath, known: names) }
        return try b(decoder, context)
    }
}

extension Registry where Context == Void {
    public func register(_ name: String, summary: String = "", _ builder: @escaping (Decoder) throws -> Product) {
        register(name, summary: summary) { d, _ in try builder(d) }
    }

    public func build(from decoder: Decoder, defaultType: String? = nil) throws -> Product {
        try build(from: decoder, (), defaultType: defaultType)
    }
}

/// A config names a part that is not registered (or names none).
public struct RegistryError: Error, CustomStringConvertible, Equatable {
    public let kind: String
    /// The unknown `type:` value; nil when the node has no `type:` key.
    public let name: String?
    /// Where in the config the node is (e.g. `model.backbone`).
    public let keyPath: String
    public let known: [String]

    public init(kind: String, name: String?, path: [CodingKey], known: [String]) {
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
