import NeuralNet
import TensorEngine

/// PVTv2 (B0–B2) as TransKD's Table 4 uses it (spec/transkd.md §1.4): the encoder is
/// structurally SegFormer's MiT (overlapping patch embeddings 7/4 then 3/2, spatial-reduction
/// attention with a k=R, s=R **conv** + LayerNorm — PVTv2's `linear=False` form, which is what
/// TransKD's `train/models/pvtv2` builds and what reproduces its 7.53 M / 47.45 G — Mix-FFN with
/// the 3×3 depthwise conv, GELU, LN eps 1e-6), with PVTv2's MLP ratios 8, 8, 4, 4. The same
/// module classes give the same official state paths (`patch_embed1.proj`, `block1.0.attn.sr`,
/// `block1.0.mlp.dwconv.dwconv`, `norm1`, …). Its decoder in TransKD is FPN + Semantic FPN
/// (`head: {type: fpn_head}`).
public enum PVTFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.backbones.register("pvt_v2", summary: "PVTv2 B0–B2 (conv spatial reduction, as TransKD): MiT structure with MLP ratios 8,8,4,4") { d, ctx in
            let config = try PVTv2BackboneConfig(from: d, attentions: r.attentions)
            return MixVisionTransformer(architecture: config.variant.architecture, attention: config.attention, dropPath: config.dropPath,
                                        generator: ctx.generator)
        }
    }
}

/// The PVTv2 sizes (`variant:` of `type: pvt_v2`).
public enum PVTv2Variant: String, CaseIterable, Codable {
    case b0, b1, b2

    public var architecture: MiTArchitecture {
        let mlp = [8, 8, 4, 4], heads = [1, 2, 5, 8]
        switch self {
        case .b0: return MiTArchitecture(embedDims: [32, 64, 160, 256], depths: [2, 2, 2, 2], heads: heads, mlpRatios: mlp)
        case .b1: return MiTArchitecture(embedDims: [64, 128, 320, 512], depths: [2, 2, 2, 2], heads: heads, mlpRatios: mlp)
        case .b2: return MiTArchitecture(embedDims: [64, 128, 320, 512], depths: [3, 4, 6, 3], heads: heads, mlpRatios: mlp)
        }
    }

    /// PVTv2 + FPN neck + Semantic FPN head (TransKD Table 4), as the registry builds it.
    public func segmentor(numClasses: Int, attention: any AttentionConfig = SpatialReductionAttentionConfig(), dropPath: Float = 0.1,
                          dropout: Float = 0.1, generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = MixVisionTransformer(architecture: architecture, attention: attention, dropPath: dropPath, generator: generator)
        let head = SemanticFPNHead(features: backbone.featureInfo, numClasses: numClasses, dropout: dropout, generator: generator)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: numClasses)
    }
}

/// `backbone: {type: pvt_v2, variant: b0, attention: {type: mit_sra}, drop_path: 0.1}`.
public typealias PVTv2BackboneConfig = BackboneConfig<PVTv2Variant>

extension BackboneConfig where Variant == PVTv2Variant {
    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        try self.init(from: decoder, attentions: attentions, variant: .b0, attention: SpatialReductionAttentionConfig(), dropPath: 0.1,
                      attentionShapes: { $0.architecture.attentionShapes })
    }
}
