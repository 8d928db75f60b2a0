import NeuralNet
import TensorEngine

/// Squeeze-excitation (SENet, the paper's [29]) with reduction r: GAP → 1×1 conv C → C/r (bias)
/// → ReLU → 1×1 conv C/r → C (bias) → sigmoid → x·s. NHWC. State paths `fc1`, `fc2`.
/// r = 4 (spec §6 row 7: r = 16 undershoots every parameter count by ≥ 0.07 M).
public final class SqueezeExcitation: Layer {
    public let fc1: Conv2d, fc2: Conv2d

    public init(_ channels: Int, reduction: Int = 4, generator: RandomGenerator = .global) {
        let squeezed = Swift.max(1, channels / reduction)
        fc1 = Conv2d(channels, squeezed, kernel: 1, generator: generator)
        fc2 = Conv2d(squeezed, channels, kernel: 1, generator: generator)
    }

    override public var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }

    override public func forward(_ x: Tensor) -> Tensor {
        // adaptiveAvgPool2d (not a mean) so that mmcv-style counts see the pooling, as mmcv's hooks do.
        let s = fc2(fc1(adaptiveAvgPool2d(x, outputSize: (1, 1))).relu()).sigmoid()
        return x * s
    }
}

/// The local interaction module (Eqs. 6–7, spec §1.2): `pw2(ReLU(SE(dw(ReLU(pw1(x))))))`.
///
/// "PWConv" is read as a **per-channel** (groups = C) 1×1 conv with bias (spec §6 row 6): Table
/// VII's LIM ablation adds only ≈0.5C² + 15C parameters and no C²-per-token MACs per block,
/// which rules out dense 1×1 convs, and the paper calls LIM "composed solely of depth-wise
/// separable and grouped convolutions". The 0.5C² is the SE. `dw` is 3×3 depth-wise with bias.
/// Parameters: 0.5C² + 15.25C (C divisible by 4). State paths `pw1`, `dw`, `se.fc1`, `se.fc2`, `pw2`.
public final class LocalInteractionModule: Layer {
    public let pw1: Conv2d, dw: Conv2d, se: SqueezeExcitation, pw2: Conv2d

    public init(_ channels: Int, seReduction: Int = 4, generator: RandomGenerator = .global) {
        pw1 = Conv2d(channels, channels, kernel: 1, groups: channels, generator: generator)
        dw = Conv2d(channels, channels, kernel: 3, padding: 1, groups: channels, generator: generator)
        se = SqueezeExcitation(channels, reduction: seReduction, generator: generator)
        pw2 = Conv2d(channels, channels, kernel: 1, groups: channels, generator: generator)
    }

    override public var children: [(String, Module)] { [("pw1", pw1), ("dw", dw), ("se", se), ("pw2", pw2)] }

    override public func forward(_ x: Tensor) -> Tensor {
        pw2(se(dw(pw1(x).relu())).relu())
    }
}
