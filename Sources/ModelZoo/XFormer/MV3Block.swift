import NeuralNet
import TensorEngine

/// XFormer's "MV3" block (spec §1.5, paper Eq. 6): a MobileNetV2 inverted residual with
/// squeeze-excitation after the depth-wise conv, expansion 4, SiLU everywhere but the linear
/// bottleneck. `exp_1x1` C_in → 4·C_in (conv/BN/SiLU), `conv_3x3` depth-wise stride s
/// (conv/BN/SiLU), `se`, `red_1x1` 4·C_in → C_out (conv/BN, no activation); the input is added
/// back when the stride is 1 and the widths agree. State paths follow ml-cvnets'
/// `InvertedResidual` (`exp_1x1`, `conv_3x3`, `red_1x1`), each `conv`/`bn`.
public final class MV3Block: Layer {
    public let expand: ConvBN, depthwise: ConvBN, se: MV3SqueezeExcitation?, reduce: ConvBN
    public let residual: Bool

    public init(_ inChannels: Int, _ outChannels: Int, stride: Int, expansion: Int = 4, squeeze: SqueezeWidth = .cinQuarter,
                generator: RandomGenerator = .global) {
        let hidden = inChannels * expansion
        expand = ConvBN(inChannels, hidden, kernel: 1, activation: .silu, convName: "conv", generator: generator)
        depthwise = ConvBN(hidden, hidden, kernel: 3, stride: stride, padding: 1, groups: hidden, activation: .silu,
                           convName: "conv", generator: generator)
        se = squeeze.squeeze(inChannels: inChannels, hidden: hidden).map {
            MV3SqueezeExcitation(channels: hidden, squeeze: $0, generator: generator)
        }
        reduce = ConvBN(hidden, outChannels, kernel: 1, convName: "conv", generator: generator)
        residual = stride == 1 && inChannels == outChannels
    }

    override public var children: [(String, Module)] {
        [("exp_1x1", expand), ("conv_3x3", depthwise)] + (se.map { [("se", $0 as Module)] } ?? []) + [("red_1x1", reduce)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var h = depthwise(expand(x))
        if let se { h = se(h) }
        h = reduce(h)
        return residual ? x + h : h
    }
}
