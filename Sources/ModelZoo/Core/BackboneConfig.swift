import NeuralNet

/// The keys every backbone with attention blocks shares, read once here so each family's
/// builder only names its defaults: `variant:` (the family's size enum), `attention:` (any
/// registered type; the family's own when the key or its `type:` is absent) and `drop_path:`
/// (stochastic depth at the last block, in [0, 1)). Any other key is an unknown-key error.
///
/// `backbone: {type: mit, variant: b2, attention: {type: global}, drop_path: 0.1}`.
public struct BackboneConfig<Variant: Decodable> {
    public var variant: Variant
    public var attention: any AttentionConfig
    public var dropPath: Float

    /// `attentionShapes` lists the shape of every stage's attention for a variant; the chosen
    /// attention is checked against each before anything is built, so a type that cannot serve
    /// a stage is a located config error rather than a failure inside a forward pass.
    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>, variant defaultVariant: Variant,
                attention defaultAttention: any AttentionConfig, dropPath defaultDropPath: Float,
                attentionShapes: (Variant) -> [AttentionShape]) throws {
        let c = try decoder.container(keyedBy: BackboneConfigKeys.self)
        variant = try c.decode(.variant, default: defaultVariant)
        attention = try c.decodeAttention(attentions, defaultType: defaultAttention.typeName, shapes: attentionShapes(variant))
            ?? defaultAttention
        dropPath = try c.decodeDropPath(default: defaultDropPath)
    }
}

/// The shared backbone keys, for families whose config has no `variant:` (LVT) and decodes
/// them directly.
public enum BackboneConfigKeys: String, CodingKey { case type, variant, attention, dropPath = "drop_path" }

extension KeyedDecodingContainer where Key == BackboneConfigKeys {
    /// The `attention:` node built by its type (`defaultType` when `type:` is absent) and
    /// checked against every stage shape; nil when the key is absent.
    public func decodeAttention(_ attentions: Registry<Void, any AttentionConfig>, defaultType: String,
                                shapes: [AttentionShape]) throws -> (any AttentionConfig)? {
        guard contains(.attention) else { return nil }
        let attention = try attentions.build(from: superDecoder(forKey: .attention), defaultType: defaultType)
        for shape in shapes { try attention.check(shape) }
        return attention
    }

    public func decodeDropPath(default value: Float) throws -> Float {
        try decode(.dropPath, default: value, in: Float(0)..<Float(1))
    }
}
