import NeuralNet
import TensorEngine

/// LVT's MLP (`Mlp`, spec §1.5): without the depthwise conv (stage 1) `fc1`/`fc2` are Linear
/// layers around GELU; with it (stages 2–4) they are 1×1 convolutions with bias and a 3×3
/// depthwise `depconv` (bias) sits before the GELU. State paths: `fc1`, `depconv`, `fc2`.
public final class LVTMlp: Layer {
    public let fc1: Layer, fc2: Layer
    public let depconv: Conv2d?

    public init(dim: Int, hidden: Int, depthwise: Bool, generator: RandomGenerator = .global) {
        if depthwise {
            fc1 = Conv2d(dim, hidden, kernel: 1, generator: generator)
            depconv = Conv2d(hidden, hidden, kernel: 3, padding: 1, groups: hidden, generator: generator)
            fc2 = Conv2d(hidden, dim, kernel: 1, generator: generator)
        } else {
            fc1 = Linear(dim, hidden, generator: generator)
            depconv = nil
            fc2 = Linear(hidden, dim, generator: generator)
        }
    }

    override public var children: [(String, Module)] {
        [("fc1", fc1)] + (depconv.map { [("depconv", $0 as Module)] } ?? []) + [("fc2", fc2)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var y = fc1(x)
        if let depconv { y = depconv(y) }
        return fc2(y.gelu())
    }
}

/// One LVT stage as the official `nn.Sequential(patch_embed, blocks)`: children `0` (the
/// overlapping patch embedding) and `1` (the blocks).
public final class LVTStage: Layer {
    public let patchEmbed: OverlapPatchEmbed
    public let blocks: Sequential
    init(patchEmbed: OverlapPatchEmbed, blocks: Sequential) { self.patchEmbed = patchEmbed; self.blocks = blocks }
    override public var children: [(String, Module)] { [("0", patchEmbed), ("1", blocks)] }
    override public func forward(_ x: Tensor) -> Tensor { blocks(patchEmbed(x)) }
}

/// LVT (`lite_vision_transformer` with `with_cls_head=False`, TransKD Table 4's student; spec
/// §1.5): layers [2, 2, 2, 2], dims [64, 64, 160, 256], heads [2, 2, 5, 8], MLP ratios [4, 8, 4, 4]
/// (depthwise-conv MLP in stages 2–4), SR [8, 4, 2, 1]; stage 1 CSA, stages 2–4 RASA; no q/kv bias;
/// block LayerNorms eps 1e-5; no stage-final norms; drop path 0. Returns the four stage maps, NHWC.
///
/// State paths are the official `backbone.{stage}.0.proj.weight` (patch embed), `backbone.0.1.0.attn.attn.weight`
/// (CSA), `backbone.1.1.0.attn.ds.weight` (RASA), `backbone.1.1.0.mlp.depconv.weight`; the official
/// model's head sits at the top level (`linear_c1.proj`, `linear_fuse`, `linear_pred`), i.e. under
/// `decode_head.` here. TransKD distils LVT's patch embeddings **before** the patch-embed LayerNorm:
/// tap `backbone.{i}.0.proj`.
public final class LiteVisionTransformer: Module, Backbone {
    public static let embedDims = [64, 64, 160, 256], depths = [2, 2, 2, 2], heads = [2, 2, 5, 8], mlpRatios = [4, 8, 4, 4]
    public static let srRatios = [8, 4, 2, 1], depthwiseMLP = [false, true, true, true]

    public let stages: [LVTStage]
    public let featureInfo: [FeatureInfo]
    public var decoderWidths: [Int]? { [256] }

    /// The stages' attention shapes.
    public static var attentionShapes: [AttentionShape] {
        (0..<4).map { i in
            AttentionShape(dim: embedDims[i], keyDim: embedDims[i] / heads[i], heads: heads[i], attnRatio: 1, activation: .gelu,
                           spatialReduction: srRatios[i], stride: 4 << i)
        }
    }

    /// `attention`: nil gives LVT's own mix (CSA in stage 1, RASA in 2–4); any other type is used in every stage.
    public init(attention: (any AttentionConfig)? = nil, dropPath: Float = 0, generator: RandomGenerator = .global) {
        let total = Self.depths.reduce(0, +)
        var cin = 3, cursor = 0
        var stages: [LVTStage] = []
        for i in 0..<4 {
            let c = Self.embedDims[i], shape = Self.attentionShapes[i]
            let config: any AttentionConfig = attention ?? (i == 0 ? CSAConfig() : RASAConfig())
            let embed = OverlapPatchEmbed(inChannels: cin, embedDim: c, kernel: i == 0 ? 7 : 3, stride: i == 0 ? 4 : 2, generator: generator)
            let blocks = Sequential((0..<Self.depths[i]).map { j in
                MiTBlock(dim: c, attention: config.build(shape),
                         mlp: LVTMlp(dim: c, hidden: c * Self.mlpRatios[i], depthwise: Self.depthwiseMLP[i], generator: generator),
                         dropPath: dropPath * Float(cursor + j) / Float(total - 1), eps: 1e-5)
            })
            stages.append(LVTStage(patchEmbed: embed, blocks: blocks))
            cursor += Self.depths[i]
            cin = c
        }
        self.stages = stages
        featureInfo = (0..<4).map { FeatureInfo(channels: Self.embedDims[$0], stride: 4 << $0, module: "\($0).1") }
        super.init()
        initializeWeights(generator: generator)
    }

    override public var children: [(String, Module)] { stages.enumerated().map { (String($0.offset), $0.element as Module) } }

    public func forward(_ x: Tensor) -> [Tensor] {
        precondition(x.rank == 4 && x.shape[3] == 3, "LiteVisionTransformer: expected [B, H, W, 3] images, got \(x.shape)")
        var y = x
        return stages.map { y = $0.blocks($0.patchEmbed(y)); return y }
    }

    public func callAsFunction(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }

    /// The official inits: every Linear trunc_normal(0.02) with bias 0 and LayerNorm 1/0 (the
    /// model-level `apply`); patch-embed and SR convs N(0, √(2/fan_out)), bias 0 (their modules'
    /// `_init_weights`); CSA's `weight` conv N(0, √(2/(9·C))); MLP convs keep PyTorch defaults;
    /// `ds.weight` kaiming-uniform.
    public func initializeWeights(generator: RandomGenerator = .global) {
        func convNormal(_ conv: Conv2d) {
            conv.weight.assign(from: Init.convNormal(conv.weight.shape, kernel: conv.kernel, outChannels: conv.outChannels,
                                                     groups: conv.groups, generator: generator))
            conv.bias?.assign(from: Tensor.zeros(conv.bias!.shape))
        }
        for (_, module) in namedModules() {
            switch module {
            case let linear as Linear:
                linear.weight.assign(from: Init.truncatedNormal(linear.weight.shape, std: 0.02, generator: generator))
                linear.bias?.assign(from: Tensor.zeros(linear.bias!.shape))
            case let norm as LayerNorm:
                norm.weight.assign(from: Tensor.ones(norm.weight.shape))
                norm.bias.assign(from: Tensor.zeros(norm.bias.shape))
            case let embed as OverlapPatchEmbed:
                convNormal(embed.proj)
            case let rasa as RecursiveAtrousAttention:
                if let sr = rasa.sr { convNormal(sr) }
            default:
                break
            }
        }
    }
}

/// LVT: registers the `lvt` backbone and its attention types `lvt_csa` and `lvt_rasa`.
public enum LVTFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.attentions.register("lvt_csa", summary: "LVT's convolutional self-attention: 3×3 windows (stride 2) mixed by pooled-token weights, folded back") {
            try CSAConfig(from: $0)
        }
        r.attentions.register("lvt_rasa", summary: "LVT's recursive atrous self-attention: dilated depthwise q-conv, SR attention applied r_num times") {
            try RASAConfig(from: $0)
        }
        r.backbones.register("lvt", summary: "LVT (TransKD Table 4 student): CSA stage + 3 RASA stages, dims 64,64,160,256") { d, ctx in
            let config = try LVTBackboneConfig(from: d, attentions: r.attentions)
            return LiteVisionTransformer(attention: config.attention, dropPath: config.dropPath, generator: ctx.generator)
        }
    }
}

/// `backbone: {type: lvt, drop_path: 0}`; `attention: {type: …}` replaces LVT's own mix (CSA in
/// stage 1, RASA in stages 2–4) in every stage.
public struct LVTBackboneConfig {
    public var attention: (any AttentionConfig)?
    public var dropPath: Float = 0

    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        let c = try decoder.container(keyedBy: BackboneConfigKeys.self)
        attention = try c.decodeAttention(attentions, defaultType: "lvt_rasa", shapes: LiteVisionTransformer.attentionShapes)
        dropPath = try c.decodeDropPath(default: dropPath)
    }
}

/// LVT + SegFormer's all-MLP head (D = 256, no dropout since drop path is 0), as TransKD builds it.
public enum LVT {
    public static func segmentor(numClasses: Int, attention: (any AttentionConfig)? = nil, generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = LiteVisionTransformer(attention: attention, generator: generator)
        let head = AllMLPHead(inChannels: backbone.outChannels, embedDim: 256, numClasses: numClasses, dropout: 0, generator: generator)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: numClasses)
    }
}
