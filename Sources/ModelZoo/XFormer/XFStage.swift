import NeuralNet
import TensorEngine

/// The MobileViT-v1 block around XFormer's transformer layers (spec §1.4, §6 A1–A2), on an
/// NHWC map of C channels: `local_rep` (3×3 conv/BN/SiLU C → C, then a plain 1×1 conv C → E),
/// 2×2 unfold, `global_rep` (L transformer layers then a LayerNorm), fold, `conv_proj` (1×1
/// conv/BN/SiLU E → C) and `fusion` (3×3 conv/BN/SiLU over concat[input, projection], 2C → C).
/// No outer residual: the output is the fusion's. State paths follow ml-cvnets' MobileViTBlock:
/// `local_rep.conv_3x3`, `local_rep.conv_1x1`, `global_rep.{0..L-1}` (layers), `global_rep.{L}`
/// (final norm), `conv_proj`, `fusion`.
public final class XFStage: Layer {
    public let localRep: XFLocalRepresentation
    public let globalRep: Sequential
    public let projection: ConvBN, fusion: ConvBN

    public init(channels c: Int, embedDim e: Int, layers: [Layer], generator: RandomGenerator = .global) {
        localRep = XFLocalRepresentation(channels: c, embedDim: e, generator: generator)
        globalRep = Sequential(layers + [LayerNorm(e)])
        projection = ConvBN(e, c, kernel: 1, activation: .silu, convName: "conv", generator: generator)
        fusion = ConvBN(2 * c, c, kernel: 3, padding: 1, activation: .silu, convName: "conv", generator: generator)
    }

    override public var children: [(String, Module)] {
        [("local_rep", localRep), ("global_rep", globalRep), ("conv_proj", projection), ("fusion", fusion)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        let (h, w) = (x.shape[1], x.shape[2])
        let local = localRep(x)
        let tokens = globalRep(PatchUnfold.unfold(local))
        let global = projection(PatchUnfold.fold(tokens, height: h, width: w))
        return fusion(concat([x, global], axis: 3))
    }
}

/// `local_rep`: `conv_3x3` (3×3 conv/BN/SiLU, C → C) then `conv_1x1` (1×1 conv, no bias, no
/// norm, C → E): the local features the transformer layers mix globally.
public final class XFLocalRepresentation: Layer {
    public let conv3x3: ConvBN, conv1x1: Conv2d
    public init(channels c: Int, embedDim e: Int, generator: RandomGenerator = .global) {
        conv3x3 = ConvBN(c, c, kernel: 3, padding: 1, activation: .silu, convName: "conv", generator: generator)
        conv1x1 = Conv2d(c, e, kernel: 1, bias: false, generator: generator)
    }
    override public var children: [(String, Module)] { [("conv_3x3", conv3x3), ("conv_1x1", conv1x1)] }
    override public func forward(_ x: Tensor) -> Tensor { conv1x1(conv3x3(x)) }
}
