import NeuralNet

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

/// `attention: {type: sea | sea_adaptive, ...}`: the switches of SeaFormer's ablations
/// (Tables 6, 7, 12) and SeaFormer++'s adaptive squeeze/expand. `squeeze` belongs to `sea` only
/// (`sea_adaptive` always squeezes adaptively) and `mask_width` to `sea_adaptive` only; any
/// other key is an unknown key for the type, reported with the keys it takes.
public struct SeaAttentionConfig: AttentionConfig {
    /// `sea_adaptive` (spec §1.7) rather than v1 `sea`.
    public var adaptive: Bool
    /// Table 6: the detail-enhancement branch on/off.
    public var detailEnhancement = true
    /// Table 6: the squeeze-axial attention branch on/off.
    public var attentionBranch = true
    /// Table 6: input of the detail-enhancement branch.
    public var enhanceInput: EnhanceInput = .concatQKV
    /// Table 6: how the two branches combine.
    public var enhanceMode: EnhanceMode = .mul
    /// Table 7: squeeze method (`sea` only; `sea_adaptive` is adaptive by definition).
    public var squeeze: SqueezeKind = .mean
    /// Table 12: squeeze-axial positional embeddings on/off.
    public var positionalEmbedding = true
    /// `sea_adaptive` only: mask channels.
    public var maskWidth: MaskWidth = .one
    /// Where the node sits in the config, for errors raised after decoding.
    var keyPath: [String] = []

    public init(adaptive: Bool = false) { self.adaptive = adaptive }

    public var typeName: String { adaptive ? "sea_adaptive" : "sea" }

    enum CodingKeys: String, CodingKey {
        case type, detailEnhancement = "detail_enhancement", attentionBranch = "attention_branch"
        case enhanceInput = "enhance_input", enhanceMode = "enhance_mode", squeeze
        case positionalEmbedding = "positional_embedding", maskWidth = "mask_width"
    }

    public init(from decoder: Decoder, adaptive: Bool) throws {
        self.adaptive = adaptive
        keyPath = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = c.contains(.type)
        detailEnhancement = try c.decode(.detailEnhancement, default: detailEnhancement)
        attentionBranch = try c.decode(.attentionBranch, default: attentionBranch)
        enhanceInput = try c.decode(.enhanceInput, default: enhanceInput)
        enhanceMode = try c.decode(.enhanceMode, default: enhanceMode)
        positionalEmbedding = try c.decode(.positionalEmbedding, default: positionalEmbedding)
        if adaptive {
            maskWidth = try c.decode(.maskWidth, default: maskWidth)
            squeeze = .adaptive
        } else {
            squeeze = try c.decode(.squeeze, default: squeeze)
        }
        guard detailEnhancement || attentionBranch else {
            throw ConfigValueError(keyPath: (keyPath + ["detail_enhancement"]).joined(separator: "."),
                                   message: "\(typeName) needs at least one of its two branches (Table 6), but detail_enhancement and attention_branch are both false; set one of them to true")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer { SeaAttention(self, shape) }
}
