import NeuralNet

/// One attention type's decoded config (`attention: {type: local, window_size: 4}`): it owns
/// its keys and defaults (a key of another type is an unknown key, reported with the keys this
/// type takes) and builds the module for any stage. Decoding happens once per backbone; `build`
/// runs once per attention block.
public protocol AttentionConfig {
    /// The `type:` name.
    var typeName: String { get }
    /// Throws a config error when this type cannot serve a stage of `shape` (located at the
    /// attention node); the backbone builder calls it for every stage before building any.
    func check(_ shape: AttentionShape) throws
    /// The token mixer for one block of a stage of `shape`.
    func build(_ shape: AttentionShape) -> Layer
}

extension AttentionConfig {
    public func check(_ shape: AttentionShape) throws {}
}

/// The attention types every backbone with attention blocks accepts. A family's own type (MiT's
/// spatial reduction, XFormer's cross feature attention) registers with its family.
enum StandardAttentions {
    static func register(into r: ModelRegistries) {
        r.attentions.register("sea", summary: "SeaFormer's squeeze-enhanced axial attention (Tables 6, 7, 12)") { try SeaAttentionConfig(from: $0, adaptive: false) }
        r.attentions.register("sea_adaptive", summary: "SeaFormer++ adaptive squeeze and expand (spec §1.7)") { try SeaAttentionConfig(from: $0, adaptive: true) }
        r.attentions.register("global", summary: "full multi-head self-attention over all tokens (Table 9)") { try GlobalAttentionConfig(from: $0) }
        r.attentions.register("axial", summary: "row then column attention at full resolution (Table 9)") { try AxialAttentionConfig(from: $0) }
        r.attentions.register("local", summary: "attention inside non-overlapping windows (Table 9)") { try LocalAttentionConfig(from: $0) }
        r.attentions.register("conv", summary: "the convolution-only token mixer (Table 9)") { try ConvAttentionConfig(from: $0) }
    }
}

/// Reads a node that holds only `type:` (the types with no switches of their own), so that any
/// other key is reported as unknown for that type.
func decodeTypeOnly(_ decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: AnyConfigKey.self)
    _ = c.contains(.type)
}
