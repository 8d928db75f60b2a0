import NeuralNet
import TensorEngine

/// SegFormer's all-MLP decode head (`SegFormerHead`, spec/transkd.md §1.3): each input map i goes
/// through `linear_c{i}` (Linear C_i → D, bias; the official `MLP.proj`), all but the first are
/// bilinearly resized (align_corners false) to the first map's size, the maps are concatenated
/// deepest first (c_n, …, c_1, the official order), fused by `linear_fuse` (mmcv ConvModule: 1×1
/// conv n·D → D without bias, BN, ReLU), dropped out (Dropout2d) and classified by `linear_pred`
/// (1×1 conv D → K, bias). Logits are at the first map's resolution (1/4 for MiT) and are not
/// upsampled here. Init: PyTorch defaults for `linear_c*` and `linear_pred`, mmcv's kaiming for
/// `linear_fuse` (as TransKD builds the decoder after the encoder's `_init_weights`).
///
/// Any number of inputs works; the official head takes MiT's four.
///
/// `projection: conv_module` is mmseg's `SegformerHead` instead (spec/xformer.md §2.1, the
/// head XFormer's Table 5 used): each `linear_c{i}` is a ConvModule (1×1 conv without bias, BN,
/// ReLU; paths `linear_c{i}.conv`/`.bn`) and the resized maps are concatenated finest first
/// (c_1, …, c_n), mmseg's order; fuse, dropout and classifier are the same.
public final class AllMLPHead: Module, DecodeHead {
    public let inChannels: [Int]
    public let embedDim: Int
    public let numClasses: Int
    /// `linear_c1` … `linear_c{n}`, each an `MLP` whose child is `proj`.
    public let linearC: [Layer]
    public let projection: AllMLPProjection
    public let linearFuse: ConvBN
    public let dropout: Dropout2d
    public let linearPred: Conv2d

    public init(inChannels: [Int], embedDim: Int, numClasses: Int, dropout: Float = 0.1, projection: AllMLPProjection = .linear,
                generator: RandomGenerator = .global) {
        precondition(!inChannels.isEmpty, "AllMLPHead: needs at least one input")
        precondition(embedDim > 0 && numClasses > 0, "AllMLPHead: embedDim and numClasses must be positive")
        self.inChannels = inChannels
        self.embedDim = embedDim
        self.numClasses = numClasses
        self.projection = projection
        linearC = inChannels.map {
            projection == .linear ? MLPProjection($0, embedDim, generator: generator) as Layer
                : convModule($0, embedDim, activation: .relu, generator: generator)
        }
        linearFuse = convModule(inChannels.count * embedDim, embedDim, activation: .relu, generator: generator)
        self.dropout = Dropout2d(dropout)
        linearPred = Conv2d(embedDim, numClasses, kernel: 1, generator: generator)
    }

    override public var children: [(String, Module)] {
        linearC.enumerated().map { ("linear_c\($0.offset + 1)", $0.element as Module) }
            + [("linear_fuse", linearFuse), ("dropout", dropout), ("linear_pred", linearPred)]
    }

    public func forward(_ features: [Tensor]) -> Tensor {
        checkFeatures(features)
        let size = (features[0].shape[1], features[0].shape[2])
        var maps: [Tensor] = []
        let order = projection == .linear ? Array(features.indices.reversed()) : Array(features.indices)
        for i in order {
            let f = features[i]
            let c = linearC[i](f)
            maps.append(i == 0 ? c : interpolateBilinear(c, size: size, alignCorners: false))
        }
        return linearPred(dropout(linearFuse(concat(maps, axis: 3))))
    }
}

/// How `AllMLPHead` projects each input map to the decoder width.
public enum AllMLPProjection: String, CaseIterable, Codable {
    /// The NVlabs head: Linear with bias (`linear_c{i}.proj`), maps concatenated deepest first.
    case linear
    /// mmseg's SegformerHead: ConvModule 1×1 + BN + ReLU (`linear_c{i}.conv|bn`), finest first.
    case convModule = "conv_module"
}

/// The official `MLP` wrapper of the head (`proj = nn.Linear`), so that paths read
/// `linear_c1.proj.weight`.
public final class MLPProjection: Layer {
    public let proj: Linear
    public init(_ inChannels: Int, _ outChannels: Int, generator: RandomGenerator = .global) {
        proj = Linear(inChannels, outChannels, generator: generator)
    }
    override public var children: [(String, Module)] { [("proj", proj)] }
    override public func forward(_ x: Tensor) -> Tensor { proj(x) }
}

/// `head: {type: segformer_head, embed_dim: 256, dropout: 0.1, projection: linear}`. `embed_dim` defaults to the
/// backbone family's own decoder width (MiT: 256 for B0/B1, 768 for B2+; LVT: 256), else 256.
public struct AllMLPHeadConfig {
    public var embedDim: Int
    public var dropout: Float = 0.1
    public var projection: AllMLPProjection = .linear

    enum CodingKeys: String, CodingKey { case type, embedDim = "embed_dim", dropout, projection }

    public init(from decoder: Decoder, context: HeadContext) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDim = try c.decode(.embedDim, default: context.decoderWidths?.first ?? 256, atLeast: 1)
        dropout = try c.decode(.dropout, default: dropout, in: Float(0)..<Float(1))
        projection = try c.decode(.projection, default: projection)
        guard !context.features.isEmpty else {
            throw ConfigValueError(path: decoder.codingPath, message: "segformer_head needs at least one backbone feature")
        }
    }

    func build(_ context: HeadContext) -> AllMLPHead {
        AllMLPHead(inChannels: context.channels, embedDim: embedDim, numClasses: context.numClasses, dropout: dropout,
                   projection: projection, generator: context.generator)
    }
}
