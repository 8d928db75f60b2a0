import NeuralNet
import TensorEngine

/// S2AFormer (mini/T/XS/S/M, spec/s2aformer.md): registers the `s2aformer` backbone, its
/// attention type `ssa` (usable by every family whose stages it fits) and the
/// `s2aformer_classifier` model (the paper's 1×1-conv-1280 head with its optional second
/// classifier). Its dense head, Semantic FPN, is the shared `fpn_head` with `norm: bn`.
public enum S2AFormerFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.attentions.register("ssa", summary: "S2AFormer's strip self-attention: q/k one channel per head, k/v from a k×k/stride-k DW conv + BN") {
            try SSAConfig(from: $0)
        }
        r.backbones.register("s2aformer", summary: "S2AFormer mini/T/XS/S/M: conv stem, 2×2 patch embeds, hybrid perception blocks (SSA + LIM + IRFFN)") { d, ctx in
            let config = try S2AFormerBackboneConfig(from: d, attentions: r.attentions)
            return S2AFormerBackbone(variant: config.variant, lim: config.lim, attention: config.attention, dropPath: config.dropPath,
                                     generator: ctx.generator)
        }
        r.models.register("s2aformer_classifier", summary: "any backbone + S2AFormer's head: 1×1 conv 1280, BN, SiLU, pool, (two averaged) Linear") { d, ctx in
            try S2AFormerClassifierConfig.build(from: d, context: ctx, backbones: r.backbones)
        }
    }
}

/// `backbone: {type: s2aformer, variant: mini, attention: {type: ssa}, drop_path: 0, lim: true}`:
/// the shared keys (`BackboneConfig`) plus `lim` (Table VII: false removes the local interaction
/// module from every block). Without `drop_path` the variant's own rate applies
/// (`S2AFormerVariant.defaultDropPath`).
public struct S2AFormerBackboneConfig {
    public var variant: S2AFormerVariant
    public var attention: any AttentionConfig
    public var dropPath: Float
    public var lim: Bool

    enum Keys: String, CodingKey { case lim, dropPath = "drop_path" }

    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        let shared = try BackboneConfig<S2AFormerVariant>(from: decoder, attentions: attentions, variant: .mini, attention: SSAConfig(),
                                                          dropPath: 0, attentionShapes: { $0.architecture.attentionShapes })
        let c = try decoder.container(keyedBy: Keys.self)
        variant = shared.variant
        attention = shared.attention
        dropPath = c.contains(.dropPath) ? shared.dropPath : shared.variant.defaultDropPath
        lim = try c.decode(.lim, default: true)
    }
}

extension S2AFormerVariant {
    /// The paper's classifier (two averaged 1280 → K heads unless `distHead` is false).
    public func classifier(numClasses: Int = 1000, distHead: Bool = true, lim: Bool = true, attention: any AttentionConfig = SSAConfig(),
                           dropPath: Float? = nil, generator: RandomGenerator = .global) -> S2AFormerClassifier {
        S2AFormerClassifier(backbone: S2AFormerBackbone(variant: self, lim: lim, attention: attention, dropPath: dropPath, generator: generator),
                            numClasses: numClasses, distHead: distHead, generator: generator)
    }

    /// S2AFormer + FPN neck + Semantic FPN head with BN (spec §2.2: mmseg's `fpn_r50` with the
    /// backbone swapped; 150 classes on ADE20K), as the registry builds it.
    public func segmentor(numClasses: Int = 150, lim: Bool = true, attention: any AttentionConfig = SSAConfig(), dropPath: Float? = nil,
                          dropout: Float = 0.1, generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = S2AFormerBackbone(variant: self, lim: lim, attention: attention, dropPath: dropPath, generator: generator)
        let head = SemanticFPNHead(features: backbone.featureInfo, numClasses: numClasses, norm: .bn, dropout: dropout, generator: generator)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: numClasses)
    }
}
