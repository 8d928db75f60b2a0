import NeuralNet
import TensorEngine

/// SeaFormer (T/S/B/L): registers the `seaformer` backbone. Its heads (LightHead, the simple
/// head of Table 13) and its attention types are shared by every family and registered there.
public enum SeaFormerFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.backbones.register("seaformer", summary: "SeaFormer T/S/B/L: MobileNetV2 stages + SEA stages (spec §1)") { d, ctx in
            let config = try SeaFormerBackboneConfig(from: d, attentions: r.attentions)
            let backbone = SeaFormerBackbone(variant: config.variant, attention: config.attention, dropPath: config.dropPath)
            if ctx.task == .segmentation { backbone.initializeSegmentationWeights(generator: ctx.generator) }
            return backbone
        }
    }
}

/// `backbone: {type: seaformer, variant: tiny, attention: {type: sea, ...}, drop_path: 0.1}`.
public typealias SeaFormerBackboneConfig = BackboneConfig<SeaFormerVariant>

extension BackboneConfig where Variant == SeaFormerVariant {
    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        try self.init(from: decoder, attentions: attentions, variant: .tiny, attention: SeaAttentionConfig(), dropPath: 0.1,
                      attentionShapes: { SeaFormerBackbone.attentionShapes($0.architecture) })
    }
}

extension SeaFormerVariant {
    /// LightHead fusion widths of the official configs (`embed_dims`; spec §1.2).
    public var headEmbedDims: [Int] {
        switch self {
        case .tiny: return [64, 96]
        case .small: return [96, 128]
        case .base: return [128, 160]
        case .large: return [128, 160, 192]
        }
    }

    /// The segmentation model of the official configs (backbone + LightHead in mmseg's
    /// EncoderDecoder, with the segmentation init of §1.4), for code that builds models without
    /// a config. `headEmbedDims` overrides the fusion widths (Table 12); the head's `channels`
    /// is the last. Built in the registry's order, so the same seed gives the same weights.
    public func segmentor(numClasses: Int, attention: any AttentionConfig = SeaAttentionConfig(), headEmbedDims: [Int]? = nil,
                          fusion: FusionMode = .sigmoidMul, dropPath: Float = 0.1, dropout: Float = 0.1,
                          generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = SeaFormerBackbone(variant: self, attention: attention, dropPath: dropPath)
        backbone.initializeSegmentationWeights(generator: generator)
        let dims = headEmbedDims ?? self.headEmbedDims
        let head = LightHead(inChannels: backbone.outChannels, embedDims: dims, channels: dims.last!, numClasses: numClasses,
                             dropout: dropout, fusion: fusion, generator: generator)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: numClasses)
    }

    /// The ImageNet classifier (GAP + Linear over the last feature), with the classification init.
    public func classifier(numClasses: Int = 1000, attention: any AttentionConfig = SeaAttentionConfig(), dropPath: Float = 0.1,
                           generator: RandomGenerator = .global) -> ImageClassifier {
        ImageClassifier(backbone: SeaFormerBackbone(variant: self, attention: attention, dropPath: dropPath), numClasses: numClasses,
                        generator: generator)
    }
}
