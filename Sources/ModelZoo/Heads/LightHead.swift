import NeuralNet
import TensorEngine

/// How a fusion block combines the spatial (high-resolution) and context (low-resolution)
/// branches: the four rows of Table 11. "sigmoid" is the hard sigmoid `ReLU6(x+3)/6` of the
/// official code (spec §6 row 2).
public enum FusionMode: String, CaseIterable, Codable {
    /// `local + up(global)` ("Add directly", 35.2 mIoU).
    case add
    /// `local · up(global)` ("Multiply directly", 35.2).
    case mul
    /// `local + up(h_sigmoid(global))` ("Sigmoid add", 34.8).
    case sigmoidAdd = "sigmoid_add"
    /// `local · up(h_sigmoid(global))` ("Sigmoid multiply", 35.8; the official `Fusion_block`).
    case sigmoidMul = "sigmoid_mul"
}

/// SeaFormer's `Fusion_block` (spec §1.3, §6 row 13): a 1×1 conv + BN embeds each branch to
/// `embedDim` channels, the context branch is bilinearly resized (align_corners false) to the
/// spatial branch's size and combined with it. In the sigmoid modes the gate is applied BEFORE
/// the resize, as the official code does; neither branch has any other activation.
public final class FusionBlock: Module {
    /// `local_embedding`: ConvModule 1×1 + BN, no activation, on the high-resolution input.
    public let localEmbedding: ConvBN
    /// `global_act`: ConvModule 1×1 + BN, no activation, on the low-resolution input.
    public let globalAct: ConvBN
    public let mode: FusionMode

    /// - Parameters: `inp` channels of the high-resolution input, `oup` of the low-resolution one.
    public init(inp: Int, oup: Int, embedDim: Int, mode: FusionMode = .sigmoidMul, generator: RandomGenerator = .global) {
        localEmbedding = convModule(inp, embedDim, activation: .none, generator: generator)
        globalAct = convModule(oup, embedDim, activation: .none, generator: generator)
        self.mode = mode
    }

    override public var children: [(String, Module)] { [("local_embedding", localEmbedding), ("global_act", globalAct)] }

    /// `local` [N, h, w, inp], `global` [N, h', w', oup] → [N, h, w, embedDim].
    public func forward(local: Tensor, global: Tensor) -> Tensor {
        precondition(local.rank == 4 && global.rank == 4 && local.shape[0] == global.shape[0],
                     "FusionBlock: expected two NHWC batches of the same size, got \(local.shape) and \(global.shape)")
        let size = (local.shape[1], local.shape[2])
        let l = localEmbedding(local)
        var g = globalAct(global)
        if mode == .sigmoidAdd || mode == .sigmoidMul { g = g.hardSigmoid() }
        g = interpolateBilinear(g, size: size, alignCorners: false)
        return mode == .add || mode == .sigmoidAdd ? l + g : l * g
    }

    public func callAsFunction(local: Tensor, global: Tensor) -> Tensor { scoped { forward(local: local, global: global) } }
}

/// SeaFormer's light segmentation head (`LightHead`, spec §1.3, §6 rows 12–13): the 1/8 feature
/// is fused in turn with each lower-resolution feature (`fuse1`, `fuse2`, …; T/S/B: 1/32 then
/// 1/64, L: 1/16, 1/32, 1/64), then `linear_fuse` (depthwise 1×1 conv + BN + ReLU, `is_dw=True`),
/// Dropout2d and `conv_seg` (1×1 with bias) give logits at 1/8 of the input.
///
/// `embedDims` are the fusion widths of Table 12 (one per fusion block); `channels` is the width
/// of `linear_fuse` and must equal `embedDims.last` (the official configs always set it so).
public final class LightHead: Module, DecodeHead {
    public let inChannels: [Int]
    public let embedDims: [Int]
    public let channels: Int
    public let numClasses: Int
    public let fusions: [FusionBlock]
    /// `linear_fuse`: ConvModule depthwise 1×1 + BN + ReLU.
    public let linearFuse: ConvBN
    public let dropout: Dropout2d
    /// `conv_seg`: 1×1 classifier with bias.
    public let convSeg: Conv2d

    public init(inChannels: [Int], embedDims: [Int], channels: Int, numClasses: Int, dropout: Float = 0.1,
                fusion: FusionMode = .sigmoidMul, generator: RandomGenerator = .global) {
        precondition(!embedDims.isEmpty && inChannels.count == embedDims.count + 1,
                     "LightHead: \(inChannels.count) input widths \(inChannels) need \(inChannels.count - 1) fusion embed dims, got \(embedDims)")
        precondition(channels == embedDims.last!,
                     "LightHead: channels (\(channels)) must equal the last fusion embed dim (\(embedDims.last!)): linear_fuse reads the last fusion's output")
        precondition(numClasses > 0, "LightHead: numClasses must be positive, got \(numClasses)")
        self.inChannels = inChannels
        self.embedDims = embedDims
        self.channels = channels
        self.numClasses = numClasses
        // Built in the official registration order (conv_seg, linear_fuse, fuse1…), which is
        // also the order of `children`.
        convSeg = classifierConv(channels, numClasses: numClasses, generator: generator)
        self.dropout = Dropout2d(dropout)
        linearFuse = convModule(channels, channels, groups: channels, activation: .relu, generator: generator)
        fusions = embedDims.indices.map { i in
            FusionBlock(inp: i == 0 ? inChannels[0] : embedDims[i - 1], oup: inChannels[i + 1], embedDim: embedDims[i],
                        mode: fusion, generator: generator)
        }
    }

    // mmseg's BaseDecodeHead registers conv_seg and dropout before the subclass adds its parts.
    override public var children: [(String, Module)] {
        [("conv_seg", convSeg), ("dropout", dropout), ("linear_fuse", linearFuse)]
            + fusions.enumerated().map { ("fuse\($0.offset + 1)", $0.element) }
    }

    public func forward(_ features: [Tensor]) -> Tensor {
        checkFeatures(features)
        var x = features[0]
        for (i, fuse) in fusions.enumerated() { x = fuse(local: x, global: features[i + 1]) }
        return convSeg(dropout(linearFuse(x)))
    }
}

/// `head: {type: light_head, embed_dims: [64, 96], channels: 96, dropout: 0.1, fusion: sigmoid_mul}`.
/// `embed_dims` defaults to the backbone family's own head widths (SeaFormer: the official
/// config of that size); `channels` defaults to, and must equal, its last entry.
public struct LightHeadConfig {
    public var embedDims: [Int]
    public var channels: Int
    public var dropout: Float = 0.1
    public var fusion: FusionMode = .sigmoidMul

    enum CodingKeys: String, CodingKey { case type, embedDims = "embed_dims", channels, dropout, fusion }

    /// Decodes the node and checks it against the backbone's features (`context`), so that a
    /// head that cannot sit on this backbone is a config error naming the key, never a crash.
    public init(from decoder: Decoder, context: HeadContext) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let features = context.channels
        guard let dims = try c.decodeIfPresent([Int].self, forKey: .embedDims) ?? context.decoderWidths else {
            throw c.error(.embedDims, "light_head needs fusion widths for this backbone (features \(features)); give \(features.count - 1) of them")
        }
        guard features.count >= 2 else {
            throw ConfigValueError(path: decoder.codingPath, message: "light_head fuses the first feature with each lower-resolution one, but the backbone gives only \(features.count) feature (\(features)); use a head that reads a single map")
        }
        guard dims.count == features.count - 1 else {
            throw c.error(.embedDims, "light_head fuses the backbone's \(features.count) features (channels \(features)) in \(features.count - 1) steps, so it needs \(features.count - 1) widths, got \(dims.count) (\(dims))")
        }
        guard dims.allSatisfy({ $0 >= 1 }) else { throw c.error(.embedDims, "needs positive widths, got \(dims)") }
        embedDims = dims
        channels = try c.decode(.channels, default: dims.last!)
        guard channels == dims.last! else {
            throw c.error(.channels, "must equal the last of embed_dims (\(dims.last!)): linear_fuse reads the last fusion's output; got \(channels)")
        }
        dropout = try c.decode(.dropout, default: dropout, in: Float(0)..<Float(1))
        fusion = try c.decode(.fusion, default: fusion)
    }

    func build(_ context: HeadContext) -> LightHead {
        LightHead(inChannels: context.channels, embedDims: embedDims, channels: channels, numClasses: context.numClasses,
                  dropout: dropout, fusion: fusion, generator: context.generator)
    }
}
