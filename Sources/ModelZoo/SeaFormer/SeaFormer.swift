import NeuralNet
import TensorEngine

/// The hyper-parameters of a SeaFormer backbone (spec §1.2), as the official configs give them.
public struct SeaFormerArchitecture: Equatable, Codable {
    /// `[k, t, c, s]` rows of `smb1`…`smbN` (smb1 also has the stem).
    public var stages: [[MV2Config]]
    /// Input width of each `smb` (`channels[0]` is the stem's output); the last entry is the
    /// width of the final feature.
    public var channels: [Int]
    /// Layers per SEA stage; the stages follow the last `depths.count` `smb`s.
    public var depths: [Int]
    public var keyDims: [Int]
    /// SEA stage widths: equal to the width of the `smb` they follow (no projection between).
    public var embedDims: [Int]
    public var heads: Int
    public var mlpRatios: [Double]
    /// Value dim per head / key dim (the class default 2: C_qk = 0.5·C_v).
    public var attnRatio: Int

    public init(stages: [[MV2Config]], channels: [Int], depths: [Int], keyDims: [Int], embedDims: [Int],
                heads: Int, mlpRatios: [Double], attnRatio: Int = 2) {
        self.stages = stages; self.channels = channels; self.depths = depths; self.keyDims = keyDims
        self.embedDims = embedDims; self.heads = heads; self.mlpRatios = mlpRatios; self.attnRatio = attnRatio
    }

    private static func rows(_ r: [[Double]]) -> [MV2Config] { r.map { MV2Config(Int($0[0]), $0[1], Int($0[2]), Int($0[3])) } }

    /// `seaformer-seg/local_configs/seaformer/seaformer_tiny.py` (= `SeaFormer_T` in cls).
    public static let tiny = SeaFormerArchitecture(
        stages: [rows([[3, 1, 16, 1], [3, 4, 16, 2], [3, 3, 16, 1]]), rows([[5, 3, 32, 2], [5, 3, 32, 1]]),
                 rows([[3, 3, 64, 2], [3, 3, 64, 1]]), rows([[5, 3, 128, 2]]), rows([[3, 6, 160, 2]])],
        channels: [16, 16, 32, 64, 128, 160], depths: [2, 2], keyDims: [16, 24], embedDims: [128, 160],
        heads: 4, mlpRatios: [2, 4])

    public static let small = SeaFormerArchitecture(
        stages: [rows([[3, 1, 16, 1], [3, 4, 24, 2], [3, 3, 24, 1]]), rows([[5, 3, 48, 2], [5, 3, 48, 1]]),
                 rows([[3, 3, 96, 2], [3, 3, 96, 1]]), rows([[5, 4, 160, 2]]), rows([[3, 6, 192, 2]])],
        channels: [16, 24, 48, 96, 160, 192], depths: [3, 3], keyDims: [16, 24], embedDims: [160, 192],
        heads: 6, mlpRatios: [2, 4])

    public static let base = SeaFormerArchitecture(
        stages: [rows([[3, 1, 16, 1], [3, 4, 32, 2], [3, 3, 32, 1]]), rows([[5, 3, 64, 2], [5, 3, 64, 1]]),
                 rows([[3, 3, 128, 2], [3, 3, 128, 1]]), rows([[5, 4, 192, 2]]), rows([[3, 6, 256, 2]])],
        channels: [16, 32, 64, 128, 192, 256], depths: [4, 4], keyDims: [16, 24], embedDims: [192, 256],
        heads: 8, mlpRatios: [2, 4])

    /// SEA layers after smb3, smb4 and smb5.
    public static let large = SeaFormerArchitecture(
        stages: [rows([[3, 3, 32, 1], [3, 4, 64, 2], [3, 4, 64, 1]]), rows([[5, 4, 128, 2], [5, 4, 128, 1]]),
                 rows([[3, 4, 192, 2], [3, 4, 192, 1]]), rows([[5, 4, 256, 2]]), rows([[3, 6, 320, 2]])],
        channels: [32, 64, 128, 192, 256, 320], depths: [3, 3, 3], keyDims: [16, 20, 24], embedDims: [192, 256, 320],
        heads: 8, mlpRatios: [2, 4, 6])
}

/// The four published SeaFormer sizes (`variant:` in configs).
public enum SeaFormerVariant: String, CaseIterable, Codable {
    case tiny, small, base, large

    public var architecture: SeaFormerArchitecture {
        switch self {
        case .tiny: return .tiny
        case .small: return .small
        case .base: return .base
        case .large: return .large
        }
    }
}

/// SeaFormer's backbone (official `SeaFormer`, spec §1.3 `Backbone`): `smb1`…`smb5` of
/// MobileNetV2 blocks with SEA stages `trans1`… after the last ones. It returns the 1/8
/// feature of `smb2` (the spatial branch) followed by the output of every SEA stage:
/// [1/8, 1/32, 1/64] for T/S/B, [1/8, 1/16, 1/32, 1/64] for L. Any input size works: each
/// stride-2 conv gives ceil(H/2).
///
/// Construction draws from `RandomGenerator.global` and gives the classification init the
/// official cls code runs with (PyTorch defaults, BN γ=0 in the SEA projections, `randn`
/// positional tables; spec §1.4). Segmentation training calls
/// `initializeSegmentationWeights(generator:)` before loading ImageNet weights.
public final class SeaFormerBackbone: Module, Backbone {
    public let architecture: SeaFormerArchitecture
    public let attention: any AttentionConfig
    public let smbs: [StackedMV2Block]
    public let transformers: [SeaFormerBasicLayer]
    /// Per returned feature: width, stride (the size is the ceil-halved input) and the module
    /// that produces it (`smb2`, `trans1`, …).
    public let featureInfo: [FeatureInfo]
    /// LightHead widths of the official config of this size (nil for a custom architecture).
    public let decoderWidths: [Int]?

    public convenience init(variant: SeaFormerVariant, attention: any AttentionConfig = SeaAttentionConfig(), dropPath: Float = 0.1) {
        self.init(architecture: variant.architecture, attention: attention, dropPath: dropPath, decoderWidths: variant.headEmbedDims)
    }

    public init(architecture a: SeaFormerArchitecture, attention: any AttentionConfig = SeaAttentionConfig(), dropPath: Float = 0.1,
                decoderWidths: [Int]? = nil) {
        precondition(a.stages.count >= 2 && a.channels.count == a.stages.count + 1,
                     "SeaFormerArchitecture: \(a.stages.count) stages need \(a.stages.count + 1) channel entries, got \(a.channels.count)")
        precondition(a.depths.count <= a.stages.count - 2 && [a.keyDims.count, a.embedDims.count, a.mlpRatios.count].allSatisfy { $0 == a.depths.count },
                     "SeaFormerArchitecture: depths, keyDims, embedDims and mlpRatios need one entry per SEA stage")
        architecture = a
        self.attention = attention
        let smbs = a.stages.enumerated().map { i, rows in StackedMV2Block(rows, stem: i == 0, inChannels: a.channels[i]) }
        self.smbs = smbs
        let firstSEA = a.stages.count - a.depths.count
        transformers = a.depths.indices.map { j in
            let width = smbs[firstSEA + j].outChannels
            precondition(a.embedDims[j] == width, "SeaFormerArchitecture: SEA stage \(j + 1) has embedDim \(a.embedDims[j]) but follows a \(width)-channel smb")
            return SeaFormerBasicLayer(depth: a.depths[j], attention: attention, shape: Self.attentionShapes(a)[j],
                                       mlpRatio: a.mlpRatios[j], dropPath: dropPath)
        }
        var stride = 2, info: [FeatureInfo] = []
        for (i, smb) in smbs.enumerated() {
            stride *= a.stages[i].reduce(1) { $0 * $1.stride }
            if i == 1 { info.append(FeatureInfo(channels: smb.outChannels, stride: stride, module: "smb\(i + 1)")) }
            if i >= firstSEA { info.append(FeatureInfo(channels: smb.outChannels, stride: stride, module: "trans\(i - firstSEA + 1)")) }
        }
        featureInfo = info
        self.decoderWidths = decoderWidths
    }

    /// The SEA stages' shapes, in order: what the attention config is checked against.
    public static func attentionShapes(_ a: SeaFormerArchitecture) -> [AttentionShape] {
        let firstSEA = a.stages.count - a.depths.count
        var stride = 2
        var strides: [Int] = []
        for rows in a.stages { stride *= rows.reduce(1) { $0 * $1.stride }; strides.append(stride) }
        return a.depths.indices.map { j in
            AttentionShape(dim: a.embedDims[j], keyDim: a.keyDims[j], heads: a.heads, attnRatio: a.attnRatio, stride: strides[firstSEA + j])
        }
    }

    override public var children: [(String, Module)] {
        smbs.enumerated().map { ("smb\($0.offset + 1)", $0.element as Module) }
            + transformers.enumerated().map { ("trans\($0.offset + 1)", $0.element as Module) }
    }

    /// Features of an NHWC image batch `[B, H, W, 3]`, finest first.
    public func forward(_ x: Tensor) -> [Tensor] {
        precondition(x.rank == 4 && x.shape[3] == 3, "SeaFormerBackbone: expected [B, H, W, 3] images, got \(x.shape)")
        let firstSEA = smbs.count - transformers.count
        var features: [Tensor] = []
        var y = x
        for (i, smb) in smbs.enumerated() {
            y = smb(y)
            if i == 1 { features.append(y) }   // the 1/8 spatial-branch feature
            if i >= firstSEA {
                y = transformers[i - firstSEA](y)
                features.append(y)
            }
        }
        return features
    }

    public func callAsFunction(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }

    /// The official segmentation `init_weights()` before the ImageNet checkpoint loads
    /// (spec §1.4): every conv N(0, √(2/n)) with n = k·k·Cout/groups and bias 0, every BN
    /// γ = 1, β = 0 (this also overwrites the γ = 0 of the SEA projections, which therefore
    /// survives only in classification), every Linear N(0, 0.01) with bias 0. Positional
    /// tables keep their `randn` values; running statistics are untouched.
    public func initializeSegmentationWeights(generator: RandomGenerator = .global) {
        for (_, module) in namedModules() {
            switch module {
            case let conv as Conv2d:
                conv.weight.assign(from: Init.convNormal(conv.weight.shape, kernel: conv.kernel, outChannels: conv.outChannels,
                                                         groups: conv.groups, generator: generator))
                conv.bias?.assign(from: Tensor.zeros(conv.bias!.shape))
            case let bn as BatchNorm:
                bn.weight.assign(from: Tensor.ones(bn.weight.shape))
                bn.bias.assign(from: Tensor.zeros(bn.bias.shape))
            case let linear as Linear:
                linear.weight.assign(from: Init.normal(linear.weight.shape, std: 0.01, generator: generator))
                linear.bias?.assign(from: Tensor.zeros(linear.bias!.shape))
            default:
                break
            }
        }
    }
}
