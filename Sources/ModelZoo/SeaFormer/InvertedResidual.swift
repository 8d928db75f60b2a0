import NeuralNet
import TensorEngine

/// One row of a MobileNetV2 stage table, `[k, t, c, s]` in the SeaFormer configs
/// (spec §1.2): depthwise kernel, expansion ratio, output channels, stride.
public struct MV2Config: Equatable, Codable {
    public var kernel: Int
    public var expansion: Double
    public var outChannels: Int
    public var stride: Int

    public init(_ kernel: Int, _ expansion: Double, _ outChannels: Int, _ stride: Int) {
        self.kernel = kernel; self.expansion = expansion; self.outChannels = outChannels; self.stride = stride
    }
}

/// MobileNetV2 inverted residual (official `InvertedResidual`, spec §1.3): optional 1×1 expand
/// (+BN+act), k×k depthwise with the stride (+BN+act), linear 1×1 projection (+BN).
///
/// The layers sit in a `Sequential` named `conv` with the activations as their own entries, as
/// in the official `nn.Sequential(*layers)`, so that the convolutions keep the official
/// indices (`conv.0`, `conv.2`, `conv.4` with expansion; `conv.0`, `conv.2` without).
public final class InvertedResidual: Layer {
    public let conv: Sequential
    /// Residual only when the block keeps both resolution and width (spec §6 #16).
    public let usesResidual: Bool
    public let inChannels: Int, outChannels: Int, hiddenChannels: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int, expansion: Double,
                activation: ActivationKind = .relu) {
        precondition(stride == 1 || stride == 2, "InvertedResidual: stride must be 1 or 2, got \(stride)")
        // Python's round() on inp·t; every configured product is an integer, so the
        // half-to-even rule never matters here.
        let hidden = Int((Double(inChannels) * expansion).rounded())
        var layers: [Layer] = []
        if expansion != 1 {
            layers += [ConvBN(inChannels, hidden, kernel: 1), Activation(activation)]
        }
        layers += [
            ConvBN(hidden, hidden, kernel: kernel, stride: stride, padding: kernel / 2, groups: hidden),
            Activation(activation),
            ConvBN(hidden, outChannels, kernel: 1),
        ]
        conv = Sequential(layers)
        usesResidual = stride == 1 && inChannels == outChannels
        self.inChannels = inChannels; self.outChannels = outChannels; hiddenChannels = hidden
    }

    override public var children: [(String, Module)] { [("conv", conv)] }

    override public func forward(_ x: Tensor) -> Tensor {
        usesResidual ? x + conv(x) : conv(x)
    }
}

/// A run of inverted residuals (official `StackedMV2Block`): `smb1`…`smb5` of SeaFormer.
/// The first one also holds the stem, Conv3×3 stride 2 + BN + ReLU (`stem_block`); its
/// blocks are `layer1`, `layer2`, … in config order.
public final class StackedMV2Block: Layer {
    public let stemBlock: Sequential?
    public let layers: [InvertedResidual]
    public let outChannels: Int

    /// `inChannels` is the stem's output width when `stem` is true (the block rows then read
    /// from it), else the width of the incoming feature.
    public init(_ configs: [MV2Config], stem: Bool, inChannels: Int, activation: ActivationKind = .relu) {
        precondition(!configs.isEmpty, "StackedMV2Block: needs at least one [k, t, c, s] row")
        stemBlock = stem ? Sequential([ConvBN(3, inChannels, kernel: 3, stride: 2, padding: 1), Activation(activation)]) : nil
        var width = inChannels
        var blocks: [InvertedResidual] = []
        for row in configs {
            blocks.append(InvertedResidual(width, row.outChannels, kernel: row.kernel, stride: row.stride,
                                           expansion: row.expansion, activation: activation))
            width = row.outChannels
        }
        layers = blocks
        outChannels = width
    }

    override public var children: [(String, Module)] {
        (stemBlock.map { [("stem_block", $0 as Module)] } ?? [])
            + layers.enumerated().map { ("layer\($0.offset + 1)", $0.element as Module) }
    }

    override public func forward(_ x: Tensor) -> Tensor {
        let start = stemBlock.map { $0(x) } ?? x
        return layers.reduce(start) { $1($0) }
    }
}
