import NeuralNet
import TensorEngine

/// Every hyper-parameter of an S2AFormer backbone (spec/s2aformer.md §1.3–1.4). Only depths and
/// widths are stated in the paper (Table II); the rest is the reconstruction that reproduces its
/// parameter and FLOP counts (heads [1, 2, 4, 8], reductions [8, 4, 2, 1], IRFFN ratio 4, stem
/// widths 16, 16, 32 — spec §6 rows 4, 5, 8, 9).
public struct S2AFormerArchitecture: Equatable, Codable {
    public var depths: [Int]
    public var widths: [Int]
    public var heads: [Int] = [1, 2, 4, 8]
    /// k of the k×k/stride-k spatial reduction of keys and values, per stage.
    public var srRatios: [Int] = [8, 4, 2, 1]
    public var mlpRatio = 4
    /// Output widths of the three stem convs.
    public var stem: [Int] = [16, 16, 32]
    /// Table VII: the local interaction module in every block (false: the "without LIM" rows).
    public var lim = true

    public init(depths: [Int], widths: [Int], lim: Bool = true) {
        self.depths = depths; self.widths = widths; self.lim = lim
    }

    /// Stage strides against the input: the stem halves, each 2×2 patch embedding halves again.
    public var strides: [Int] { widths.indices.map { 4 << $0 } }

    /// Stage map sizes of an H×W input: the stride-2 stem conv gives ⌈X/2⌉ (k 3, p 1), each 2×2
    /// stride-2 patch embedding floors (⌊X/2⌋).
    public func stageSizes(height: Int, width: Int) -> [(Int, Int)] {
        var h = (height + 1) / 2, w = (width + 1) / 2
        return widths.map { _ in h /= 2; w /= 2; return (h, w) }
    }

    /// The stages' attention shapes: width C, h heads with C/h-wide values (keyDim C/h for the
    /// types that use full-width heads), the stage's reduction and stride, GELU (the network's activation).
    public var attentionShapes: [AttentionShape] {
        widths.indices.map { i in
            AttentionShape(dim: widths[i], keyDim: widths[i] / Swift.max(heads[i], 1), heads: heads[i], attnRatio: 1,
                           activation: .gelu, spatialReduction: srRatios[i], stride: strides[i])
        }
    }
}

/// The S2AFormer sizes (`variant:` of `type: s2aformer`; Table II).
public enum S2AFormerVariant: String, CaseIterable, Codable {
    case mini, t, xs, s, m

    public var architecture: S2AFormerArchitecture {
        let narrow = [48, 64, 128, 256]
        switch self {
        case .mini: return S2AFormerArchitecture(depths: [2, 2, 2, 2], widths: [32, 64, 128, 256])
        case .t: return S2AFormerArchitecture(depths: [2, 2, 6, 2], widths: narrow)
        case .xs: return S2AFormerArchitecture(depths: [2, 2, 10, 2], widths: narrow)
        case .s: return S2AFormerArchitecture(depths: [2, 4, 24, 4], widths: narrow)
        case .m: return S2AFormerArchitecture(depths: [2, 4, 20, 2], widths: [96, 128, 256, 512])
        }
    }

    /// Stochastic depth at the last block when the config does not say (the paper does not; spec
    /// §1.4 suggests these EdgeNeXt-like rates).
    public var defaultDropPath: Float {
        switch self {
        case .mini, .t: return 0
        case .xs: return 0.05
        case .s: return 0.1
        case .m: return 0.2
        }
    }
}

/// Conv → GELU → BN, CMT's stem unit (the activation before the norm is CMT's order; spec §6
/// row 9 notes the order cannot be told from the counts). State paths `conv`, `bn`.
public final class ConvGELUBN: Layer {
    public let conv: Conv2d
    public let bn: BatchNorm
    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, generator: RandomGenerator = .global) {
        conv = Conv2d(inChannels, outChannels, kernel: 3, stride: stride, padding: 1, generator: generator)
        bn = BatchNorm(outChannels)
    }
    override public var children: [(String, Module)] { [("conv", conv), ("bn", bn)] }
    override public func forward(_ x: Tensor) -> Tensor { bn(conv(x).gelu()) }
}

/// CMT's patch embedding: 2×2 stride-2 conv (bias) then LayerNorm (PyTorch default eps 1e-5,
/// as CMT's `nn.LayerNorm(embed_dim)`). 3×3 stride-2 embeddings would add ≈0.22 M to mini
/// (spec §6 row 10). State paths `proj`, `norm`.
public final class S2AFormerPatchEmbed: Layer {
    public let proj: Conv2d
    public let norm: LayerNorm
    public init(_ inChannels: Int, _ outChannels: Int, generator: RandomGenerator = .global) {
        proj = Conv2d(inChannels, outChannels, kernel: 2, stride: 2, generator: generator)
        norm = LayerNorm(outChannels)
    }
    override public var children: [(String, Module)] { [("proj", proj), ("norm", norm)] }
    override public func forward(_ x: Tensor) -> Tensor { norm(proj(x)) }
}

/// The S2AFormer backbone (spec §1.3): `stem` (three 3×3 Conv–GELU–BN units, the first stride
/// 2), then four stages of `patch_embed{i}` (2×2/s2 conv + LN) and `block{i}` (L_i hybrid
/// perception blocks whose attention slot holds SSA unless the config says otherwise). Returns
/// the four stage maps F1–F4, NHWC, strides 4, 8, 16, 32 — what dense heads read; the
/// classification head lives in `S2AFormerClassifier`. No output norms (the counts have none).
/// Stochastic depth rates are `linspace(0, drop_path, Σ depths)` over all blocks in order.
///
/// State paths (ours; spec §1 reconstruction, CMT-like): `stem.{0,1,2}.conv|bn`,
/// `patch_embed{i}.proj|norm`, `block{i}.{j}.lpu`, `.norm1`, `.attn.q|k|v|sr|norm|proj`,
/// `.norm2`, `.lim.pw1|dw|se.fc1|se.fc2|pw2`, `.norm3`, `.mlp.conv1|bn1|dw|bn2|conv2|bn3`.
/// The PyTorch reference (tools/reference/s2aformer_ref.py) uses the same keys.
public final class S2AFormerBackbone: Module, Backbone {
    public let architecture: S2AFormerArchitecture
    public let stem: Sequential
    public let patchEmbeds: [S2AFormerPatchEmbed]
    public let blocks: [Sequential]
    public let featureInfo: [FeatureInfo]

    public init(architecture a: S2AFormerArchitecture, attention: any AttentionConfig = SSAConfig(), dropPath: Float = 0,
                generator: RandomGenerator = .global) {
        let stages = a.widths.count
        precondition(stages >= 1 && [a.depths.count, a.heads.count, a.srRatios.count].allSatisfy { $0 == stages } && a.stem.count == 3,
                     "S2AFormerArchitecture: every per-stage table needs \(stages) entries and the stem 3 widths")
        architecture = a
        stem = Sequential([ConvGELUBN(3, a.stem[0], stride: 2, generator: generator),
                           ConvGELUBN(a.stem[0], a.stem[1], stride: 1, generator: generator),
                           ConvGELUBN(a.stem[1], a.stem[2], stride: 1, generator: generator)])
        let total = a.depths.reduce(0, +)
        let rates: [Float] = (0..<total).map { total > 1 ? dropPath * Float($0) / Float(total - 1) : 0 }
        let shapes = a.attentionShapes
        var embeds: [S2AFormerPatchEmbed] = [], stageBlocks: [Sequential] = []
        var cin = a.stem[2], cursor = 0
        for i in 0..<stages {
            let c = a.widths[i]
            embeds.append(S2AFormerPatchEmbed(cin, c, generator: generator))
            stageBlocks.append(Sequential((0..<a.depths[i]).map { j in
                HybridPerceptionBlock(dim: c, attention: attention.build(shapes[i]), lim: a.lim, mlpRatio: a.mlpRatio,
                                      dropPath: rates[cursor + j], generator: generator)
            }))
            cursor += a.depths[i]
            cin = c
        }
        patchEmbeds = embeds
        blocks = stageBlocks
        featureInfo = (0..<stages).map { FeatureInfo(channels: a.widths[$0], stride: a.strides[$0], module: "block\($0 + 1)") }
        super.init()
        applyTransformerInit(to: self, generator: generator)
    }

    public convenience init(variant: S2AFormerVariant, lim: Bool = true, attention: any AttentionConfig = SSAConfig(),
                            dropPath: Float? = nil, generator: RandomGenerator = .global) {
        var a = variant.architecture
        a.lim = lim
        self.init(architecture: a, attention: attention, dropPath: dropPath ?? variant.defaultDropPath, generator: generator)
    }

    override public var children: [(String, Module)] {
        [("stem", stem)] + patchEmbeds.indices.flatMap { i in
            [("patch_embed\(i + 1)", patchEmbeds[i] as Module), ("block\(i + 1)", blocks[i])]
        }
    }

    /// The four stage maps of an NHWC image batch, finest first.
    public func forward(_ x: Tensor) -> [Tensor] {
        precondition(x.rank == 4 && x.shape[3] == 3, "S2AFormerBackbone: expected [B, H, W, 3] images, got \(x.shape)")
        var y = stem(x)
        var features: [Tensor] = []
        for i in patchEmbeds.indices {
            y = blocks[i](patchEmbeds[i](y))
            features.append(y)
        }
        return features
    }

    public func callAsFunction(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
}
