import NeuralNet
import TensorEngine

/// The hyper-parameters of a four-stage Mix Transformer encoder (SegFormer's MiT, and PVTv2,
/// which shares its structure; spec/transkd.md §1.1, §1.4).
public struct MiTArchitecture: Equatable, Codable {
    public var embedDims: [Int]
    public var depths: [Int]
    public var heads: [Int]
    /// Spatial reduction of keys/values per stage (`sr_ratios`).
    public var srRatios: [Int]
    /// Mix-FFN hidden width / stage width (MiT 4,4,4,4; PVTv2 8,8,4,4).
    public var mlpRatios: [Int]
    /// Patch-embedding (kernel, stride) per stage: 7/4 then 3/2.
    public var patchKernels: [Int] = [7, 3, 3, 3]
    public var patchStrides: [Int] = [4, 2, 2, 2]
    /// Width D of the all-MLP decode head of the official config of this size (B0/B1 256,
    /// B2+ 768); nil for PVTv2, whose head is the Semantic FPN.
    public var decoderDim: Int?

    public init(embedDims: [Int], depths: [Int], heads: [Int], srRatios: [Int] = [8, 4, 2, 1], mlpRatios: [Int] = [4, 4, 4, 4],
                decoderDim: Int? = nil) {
        self.embedDims = embedDims; self.depths = depths; self.heads = heads; self.srRatios = srRatios
        self.mlpRatios = mlpRatios; self.decoderDim = decoderDim
    }

    /// Stride of each stage's map against the input.
    public var strides: [Int] {
        var s = 1
        return patchStrides.map { s *= $0; return s }
    }

    /// Stage map sizes of an H×W input: each patch embedding maps X to ⌊(X + 2⌊k/2⌋ − k)/s⌋ + 1
    /// (spec §1.2; 512×1024 → 128×256, 64×128, 32×64, 16×32).
    public func stageSizes(height: Int, width: Int) -> [(Int, Int)] {
        var h = height, w = width
        return zip(patchKernels, patchStrides).map { k, s in
            h = (h + 2 * (k / 2) - k) / s + 1
            w = (w + 2 * (k / 2) - k) / s + 1
            return (h, w)
        }
    }

    /// The stages' attention shapes, what an attention config is checked against.
    public var attentionShapes: [AttentionShape] {
        embedDims.indices.map { i in
            AttentionShape(dim: embedDims[i], keyDim: embedDims[i] / Swift.max(heads[i], 1), heads: heads[i], attnRatio: 1,
                           activation: .gelu, spatialReduction: srRatios[i], stride: strides[i])
        }
    }
}

/// The SegFormer Mix Transformer sizes (`variant:` of `type: mit`).
public enum MiTVariant: String, CaseIterable, Codable {
    case b0, b1, b2, b3, b4, b5

    public var architecture: MiTArchitecture {
        let small = [32, 64, 160, 256], wide = [64, 128, 320, 512], heads = [1, 2, 5, 8]
        switch self {
        case .b0: return MiTArchitecture(embedDims: small, depths: [2, 2, 2, 2], heads: heads, decoderDim: 256)
        case .b1: return MiTArchitecture(embedDims: wide, depths: [2, 2, 2, 2], heads: heads, decoderDim: 256)
        case .b2: return MiTArchitecture(embedDims: wide, depths: [3, 4, 6, 3], heads: heads, decoderDim: 768)
        case .b3: return MiTArchitecture(embedDims: wide, depths: [3, 4, 18, 3], heads: heads, decoderDim: 768)
        case .b4: return MiTArchitecture(embedDims: wide, depths: [3, 8, 27, 3], heads: heads, decoderDim: 768)
        case .b5: return MiTArchitecture(embedDims: wide, depths: [3, 6, 40, 3], heads: heads, decoderDim: 768)
        }
    }
}

/// The Mix Transformer encoder of SegFormer (`MixVisionTransformer`, spec/transkd.md §1.3), and,
/// with PVTv2's tables, PVTv2's encoder (`PyramidVisionTransformerV2`, the same modules under the
/// same names). Four stages: `patch_embed{i}` (overlapping strided conv + LayerNorm 1e-5),
/// `block{i}` (transformer blocks with the attention slot's token mixer and Mix-FFN), `norm{i}`
/// (LayerNorm 1e-6). Returns the four post-norm stage maps, NHWC, strides 4, 8, 16, 32.
/// Stochastic depth rates are `linspace(0, drop_path, Σ depths)` over all blocks in order.
///
/// State paths are the official ones: `patch_embed1.proj.weight`, `block1.0.attn.q.weight`,
/// `block1.0.attn.kv`, `.sr`, `.norm`, `block1.0.mlp.fc1`, `block1.0.mlp.dwconv.dwconv`,
/// `block1.0.mlp.fc2`, `block1.0.norm1`, `norm1.weight`, … (conv weights OHWI, see docs).
public final class MixVisionTransformer: Module, Backbone {
    public let architecture: MiTArchitecture
    public let patchEmbeds: [OverlapPatchEmbed]
    public let blocks: [Sequential]
    public let norms: [LayerNorm]
    public let featureInfo: [FeatureInfo]
    public let decoderWidths: [Int]?

    public init(architecture a: MiTArchitecture, attention: any AttentionConfig = SpatialReductionAttentionConfig(),
                dropPath: Float = 0.1, generator: RandomGenerator = .global) {
        let stages = a.embedDims.count
        precondition(stages >= 1 && [a.depths.count, a.heads.count, a.srRatios.count, a.mlpRatios.count, a.patchKernels.count,
                                     a.patchStrides.count].allSatisfy { $0 == stages },
                     "MiTArchitecture: every per-stage table needs \(stages) entries")
        architecture = a
        let total = a.depths.reduce(0, +)
        let rates: [Float] = (0..<total).map { total > 1 ? dropPath * Float($0) / Float(total - 1) : 0 }
        var embeds: [OverlapPatchEmbed] = [], stageBlocks: [Sequential] = [], norms: [LayerNorm] = []
        var cin = 3, cursor = 0
        let shapes = a.attentionShapes
        for i in 0..<stages {
            let c = a.embedDims[i]
            embeds.append(OverlapPatchEmbed(inChannels: cin, embedDim: c, kernel: a.patchKernels[i], stride: a.patchStrides[i],
                                            generator: generator))
            stageBlocks.append(Sequential((0..<a.depths[i]).map { j in
                MiTBlock(dim: c, attention: attention.build(shapes[i]), mlp: MixFFN(dim: c, hidden: c * a.mlpRatios[i], generator: generator),
                         dropPath: rates[cursor + j])
            }))
            norms.append(LayerNorm(c, eps: 1e-6))
            cursor += a.depths[i]
            cin = c
        }
        patchEmbeds = embeds
        blocks = stageBlocks
        self.norms = norms
        featureInfo = (0..<stages).map { FeatureInfo(channels: a.embedDims[$0], stride: a.strides[$0], module: "norm\($0 + 1)") }
        decoderWidths = a.decoderDim.map { [$0] }
        super.init()
        initializeWeights(generator: generator)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = []
        for i in patchEmbeds.indices {
            c += [("patch_embed\(i + 1)", patchEmbeds[i]), ("block\(i + 1)", blocks[i]), ("norm\(i + 1)", norms[i])]
        }
        return c
    }

    /// The four stage maps of an NHWC image batch, finest first.
    public func forward(_ x: Tensor) -> [Tensor] {
        precondition(x.rank == 4 && x.shape[3] == 3, "MixVisionTransformer: expected [B, H, W, 3] images, got \(x.shape)")
        var y = x
        var features: [Tensor] = []
        for i in patchEmbeds.indices {
            y = norms[i](blocks[i](patchEmbeds[i](y)))
            features.append(y)
        }
        return features
    }

    public func callAsFunction(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }

    /// The official `_init_weights`, applied to the encoder at construction (both tasks): Linear
    /// trunc_normal(std 0.02) with bias 0, LayerNorm 1/0, Conv2d N(0, √(2/fan_out)) with
    /// fan_out = k·k·Cout/groups and bias 0 — on every such module of the tree, as the official
    /// `self.apply` does, including those of another attention type in the slot (BatchNorms keep theirs).
    public func initializeWeights(generator: RandomGenerator = .global) {
        applyTransformerInit(to: self, generator: generator)
    }
}
