import NeuralNet

/// Which token mixer fills the attention slot of a SeaFormer-style stage. Every variant maps
/// B×H×W×dim to B×H×W×dim, so any backbone with attention blocks takes any of them.
public enum AttentionType: String, CaseIterable, Codable {
    /// SeaFormer v1 squeeze-enhanced axial attention with detail enhancement (the default).
    case sea
    /// SeaFormer++ adaptive squeeze and expand (spec §1.7).
    case seaAdaptive = "sea_adaptive"
    /// Full multi-head self-attention over all H·W tokens.
    case global
    /// Multi-head attention along rows, then along columns, without squeezing.
    case axial
    /// Multi-head attention inside non-overlapping windows.
    case local
    /// The convolution-only baseline of Table 9.
    case conv
}

/// Input of SEA's detail-enhancement branch (Table 6).
public enum EnhanceInput: String, CaseIterable, Codable {
    /// Point-wise conv of x, C→C.
    case conv
    /// Point-wise conv of x, C→C_q+C_k+C_v.
    case upconv
    /// The concatenation of q, k and v (the official code).
    case concatQKV = "concat_qkv"
}

/// How the attention branch combines with the detail branch (Table 6).
public enum EnhanceMode: String, CaseIterable, Codable {
    /// `h_sigmoid(attention) · detail` (the official code).
    case mul
    /// `attention + detail`.
    case add
}

/// How SEA squeezes an axis (Table 7).
public enum SqueezeKind: String, CaseIterable, Codable {
    case mean, max, adaptive
}

/// Width of SeaFormer++'s adaptive squeeze/expand masks (spec §1.7 leaves it open).
public enum MaskWidth: String, CaseIterable, Codable {
    /// One mask channel shared by all channels and heads.
    case one = "1"
    /// One mask channel per head.
    case heads
    /// One mask channel per query/key channel.
    case nhKd = "nh_kd"
}

/// The `attention:` config node: a type plus the switches of the paper's ablations.
/// Switches that a variant does not use are ignored by it (and listed as such in the docs).
public struct AttentionSpec: Equatable, Codable {
    public var type: AttentionType = .sea
    /// Table 6: the detail-enhancement branch on/off (SEA variants).
    public var detailEnhancement: Bool = true
    /// Table 6: the squeeze-axial attention branch on/off (SEA variants).
    public var attentionBranch: Bool = true
    /// Table 6: input of the detail-enhancement branch.
    public var enhanceInput: EnhanceInput = .concatQKV
    /// Table 6: how the two branches combine.
    public var enhanceMode: EnhanceMode = .mul
    /// Table 7: squeeze method (`adaptive` is what `sea_adaptive` uses).
    public var squeeze: SqueezeKind = .mean
    /// Table 12: squeeze-axial positional embeddings on/off.
    public var positionalEmbedding: Bool = true
    /// `local`: window side in tokens (Table 9 uses 4).
    public var windowSize: Int = 4
    /// `sea_adaptive`: mask channels.
    public var maskWidth: MaskWidth = .one

    public init(type: AttentionType = .sea) { self.type = type }

    /// Config keys (snake_case, as in the YAML experiments); absent keys keep the defaults above.
    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, detailEnhancement = "detail_enhancement", attentionBranch = "attention_branch"
        case enhanceInput = "enhance_input", enhanceMode = "enhance_mode", squeeze
        case positionalEmbedding = "positional_embedding", windowSize = "window_size", maskWidth = "mask_width"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = AttentionSpec()
        type = try c.decode(.type, default: d.type)
        detailEnhancement = try c.decode(.detailEnhancement, default: d.detailEnhancement)
        attentionBranch = try c.decode(.attentionBranch, default: d.attentionBranch)
        enhanceInput = try c.decode(.enhanceInput, default: d.enhanceInput)
        enhanceMode = try c.decode(.enhanceMode, default: d.enhanceMode)
        squeeze = try c.decode(.squeeze, default: d.squeeze)
        positionalEmbedding = try c.decode(.positionalEmbedding, default: d.positionalEmbedding)
        windowSize = try c.decode(.windowSize, default: d.windowSize)
        maskWidth = try c.decode(.maskWidth, default: d.maskWidth)
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `value` when the key is absent (config defaults).
    func decode<T: Decodable>(_ key: Key, default value: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? value
    }
}

/// What a stage tells its attention module: the embedding width and the head layout.
public struct AttentionShape: Equatable {
    public var dim: Int
    public var keyDim: Int
    public var heads: Int
    /// Value dim per head = attnRatio · keyDim (SeaFormer: 2).
    public var attnRatio: Int
    public var activation: ActivationKind

    public init(dim: Int, keyDim: Int, heads: Int, attnRatio: Int = 2, activation: ActivationKind = .relu6) {
        self.dim = dim; self.keyDim = keyDim; self.heads = heads; self.attnRatio = attnRatio; self.activation = activation
    }
}
