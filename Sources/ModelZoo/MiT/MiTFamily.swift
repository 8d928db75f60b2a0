import NeuralNet
import TensorEngine

/// SegFormer's Mix Transformer (MiT-B0…B5): registers the `mit` backbone and its attention type
/// `mit_sra` (spatial-reduction attention, usable by every family whose stages it fits). The
/// all-MLP head (`segformer_head`) is shared by every family and registered with the heads.
public enum MiTFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.attentions.register("mit_sra", summary: "SegFormer/PVTv2 efficient self-attention: keys/values from a k=R, s=R conv + LN (sr_ratio R)") {
            try SpatialReductionAttentionConfig(from: $0)
        }
        r.backbones.register("mit", summary: "SegFormer's Mix Transformer B0–B5: overlapping patch embeds, SR attention, Mix-FFN (TransKD)") { d, ctx in
            let config = try MiTBackboneConfig(from: d, attentions: r.attentions)
            return MixVisionTransformer(architecture: config.variant.architecture, attention: config.attention, dropPath: config.dropPath,
                                        generator: ctx.generator)
        }
    }
}

/// `backbone: {type: mit, variant: b0, attention: {type: mit_sra}, drop_path: 0.1}`: MiT-B0 with
/// SegFormer's own attention and stochastic depth 0.1 by default.
public typealias MiTBackboneConfig = BackboneConfig<MiTVariant>

extension BackboneConfig where Variant == MiTVariant {
    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        try self.init(from: decoder, attentions: attentions, variant: .b0, attention: SpatialReductionAttentionConfig(), dropPath: 0.1,
                      attentionShapes: { $0.architecture.attentionShapes })
    }
}

extension MiTVariant {
    /// SegFormer-B{n} (MiT encoder + all-MLP head of width `architecture.decoderDim`) as the
    /// registry builds it, for code that builds models without a config. TransKD: K = 20 on
    /// Cityscapes/ACDC (19 classes + void), 41 on NYUv2 (40 + void).
    public func segmentor(numClasses: Int, attention: any AttentionConfig = SpatialReductionAttentionConfig(), dropPath: Float = 0.1,
                          dropout: Float = 0.1, generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = MixVisionTransformer(architecture: architecture, attention: attention, dropPath: dropPath, generator: generator)
        let head = AllMLPHead(inChannels: backbone.outChannels, embedDim: architecture.decoderDim ?? 256, numClasses: numClasses,
                              dropout: dropout, generator: generator)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: numClasses)
    }
}
