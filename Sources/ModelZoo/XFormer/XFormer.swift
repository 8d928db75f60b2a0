import NeuralNet
import TensorEngine

/// Every hyper-parameter of XFormer (spec/xformer.md §1.6; MobileViT-S with MV3 blocks, depths
/// (2, 3, 4), MLP ratios (2, 2, 3), q-k-v width 96 and XFA).
public struct XFormerArchitecture: Equatable {
    public var stem = 16
    /// Output widths of stages 1–5 (stages 3–5 end in an XF stage).
    public var widths = [32, 64, 96, 128, 160]
    /// MV3 blocks of stages 1 and 2 (stage 2's first has stride 2).
    public var mv3Repeats = [1, 3]
    public var embedDims = [144, 192, 240]
    public var depths = [2, 3, 4]
    public var mlpRatios: [Float] = [2, 2, 3]
    /// The q-k-v width D of every XF stage, heads × keyDim for the attention slot (MHSA: 4 × 24).
    public var qkvDim = 96
    public var slotHeads = 4
    public var expansion = 4
    public var squeeze: SqueezeWidth = .cinQuarter
    public var outChannels = 640
    /// Transformer residual dropout (spec §1.3, A11).
    public var dropout: Float = 0.1

    public init() {}

    /// The map sizes of stages 3, 4, 5 for an H×W input: every stride-2 3×3 conv (padding 1) gives ⌈X/2⌉.
    public func xfStageSizes(height: Int, width: Int) -> [(Int, Int)] {
        var h = (height + 1) / 2, w = (width + 1) / 2      // stem
        h = (h + 1) / 2; w = (w + 1) / 2                    // stage 2
        return (0..<3).map { _ in h = (h + 1) / 2; w = (w + 1) / 2; return (h, w) }
    }

    /// The attention shape of stages 3–5 at the reference input (`imageSize`): width E, the slot's
    /// 4 × 24 heads (what MHSA reads; XFA reads only their product, the q-k-v width), GELU, and the
    /// token grid of the unfolded maps, ⌈h/2⌉ × ⌈w/2⌉ (XFA's w_c length).
    public func attentionShapes(imageSize: (Int, Int)) -> [AttentionShape] {
        let sizes = xfStageSizes(height: imageSize.0, width: imageSize.1)
        return (0..<3).map { i in
            let grid = PatchUnfold.grid(height: sizes[i].0, width: sizes[i].1)
            return AttentionShape(dim: embedDims[i], keyDim: qkvDim / slotHeads, heads: slotHeads, attnRatio: 1, activation: .gelu,
                                  spatialReduction: 1, stride: 8 << i, tokenGrid: [grid.0, grid.1])
        }
    }
}

/// The XFormer backbone (spec §1.6): `conv_1` (3×3/s2 conv/BN/SiLU, 3 → 16), `layer_1` (MV3
/// 16 → 32), `layer_2` (MV3 ↓2 32 → 64, two MV3 64 → 64), `layer_3..5` (MV3 ↓2, then an XF
/// stage with 2/3/4 transformer layers), `conv_1x1_exp` (1×1 conv/BN/SiLU 160 → 640).
/// Features (spec §2.1, A16): `layer_2` (64, 1/4), `layer_3` (96, 1/8), `layer_4` (128, 1/16)
/// and `conv_1x1_exp` (640, 1/32): what the SegFormer head reads, and the last is what the
/// classifier pools. State paths are ml-cvnets' MobileViT names (`conv_1`, `layer_i.j`,
/// `conv_1x1_exp`); the reference `tools/reference/xformer_ref.py` uses the same keys.
///
/// `imageSize` is the reference input: XFA's learned context kernels have one weight per token
/// of that grid (224 → 196/49/16), and other inputs resample them on the fly (spec §1.2 w_c).
public final class XFormerBackbone: Module, Backbone {
    public let architecture: XFormerArchitecture
    public let imageSize: (Int, Int)
    public let stem: ConvBN
    public let layers: [Sequential]
    public let expand: ConvBN
    public let featureInfo: [FeatureInfo]

    public init(architecture a: XFormerArchitecture = XFormerArchitecture(), attention: any AttentionConfig = XFAConfig(),
                imageSize: (Int, Int) = (224, 224), generator: RandomGenerator = .global) {
        precondition(a.widths.count == 5 && a.mv3Repeats.count == 2 && [a.embedDims.count, a.depths.count, a.mlpRatios.count].allSatisfy { $0 == 3 },
                     "XFormerArchitecture: 5 widths, 2 MV3 repeats and 3 entries per XF stage")
        architecture = a
        self.imageSize = imageSize
        stem = ConvBN(3, a.stem, kernel: 3, stride: 2, padding: 1, activation: .silu, convName: "conv", generator: generator)
        func mv3(_ cin: Int, _ cout: Int, _ stride: Int) -> Layer {
            MV3Block(cin, cout, stride: stride, expansion: a.expansion, squeeze: a.squeeze, generator: generator)
        }
        var stages: [Sequential] = [Sequential((0..<a.mv3Repeats[0]).map { j in mv3(j == 0 ? a.stem : a.widths[0], a.widths[0], 1) })]
        stages.append(Sequential((0..<a.mv3Repeats[1]).map { j in mv3(j == 0 ? a.widths[0] : a.widths[1], a.widths[1], j == 0 ? 2 : 1) }))
        let shapes = a.attentionShapes(imageSize: imageSize)
        for i in 0..<3 {
            let c = a.widths[i + 2], e = a.embedDims[i]
            let hidden = Int((Float(e) * a.mlpRatios[i]).rounded())
            let transformerLayers: [Layer] = (0..<a.depths[i]).map { _ in
                XFTransformerLayer(dim: e, attention: attention.build(shapes[i]), mlpHidden: hidden, dropout: a.dropout, generator: generator)
            }
            stages.append(Sequential([mv3(a.widths[i + 1], c, 2), XFStage(channels: c, embedDim: e, layers: transformerLayers, generator: generator)]))
        }
        layers = stages
        expand = ConvBN(a.widths[4], a.outChannels, kernel: 1, activation: .silu, convName: "conv", generator: generator)
        featureInfo = [FeatureInfo(channels: a.widths[1], stride: 4, module: "layer_2"),
                       FeatureInfo(channels: a.widths[2], stride: 8, module: "layer_3"),
                       FeatureInfo(channels: a.widths[3], stride: 16, module: "layer_4"),
                       FeatureInfo(channels: a.outChannels, stride: 32, module: "conv_1x1_exp")]
        super.init()
        applyTransformerInit(to: self, generator: generator)
    }

    override public var children: [(String, Module)] {
        [("conv_1", stem)] + layers.indices.map { ("layer_\($0 + 1)", layers[$0] as Module) } + [("conv_1x1_exp", expand)]
    }

    /// The four feature maps of an NHWC image batch, finest first.
    public func forward(_ x: Tensor) -> [Tensor] {
        precondition(x.rank == 4 && x.shape[3] == 3, "XFormerBackbone: expected [B, H, W, 3] images, got \(x.shape)")
        var y = layers[1](layers[0](stem(x)))
        var features = [y]
        for i in 2..<5 {
            y = layers[i](y)
            if i < 4 { features.append(y) }
        }
        features.append(expand(y))
        return features
    }

    public func callAsFunction(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
}
