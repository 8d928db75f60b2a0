import NeuralNet
import TensorEngine

/// How wide the squeeze of XFormer's MV3 squeeze-excitation is (spec §1.5, §6 A3). The paper
/// does not say; only `C_in/4` reproduces all three of its parameter totals.
public enum SqueezeWidth: String, CaseIterable, Codable {
    /// C_in/4 (= hidden/16, EfficientNet's convention): 5,456,272 parameters (the default).
    case cinQuarter = "cin_4"
    /// hidden/4 (standard MobileNetV3): 5,691,628.
    case hiddenQuarter = "hidden_4"
    /// hidden/8: 5,534,724.
    case hiddenEighth = "hidden_8"
    /// No SE (plain MobileNetV2 blocks): 5,375,964.
    case none

    /// The squeeze channels of a block with `inChannels` in and `hidden` expanded channels; nil: no SE.
    public func squeeze(inChannels: Int, hidden: Int) -> Int? {
        switch self {
        case .cinQuarter: return Swift.max(1, inChannels / 4)
        case .hiddenQuarter: return Swift.max(1, hidden / 4)
        case .hiddenEighth: return Swift.max(1, hidden / 8)
        case .none: return nil
        }
    }
}

/// EfficientNet-style squeeze-excitation inside an MV3 block: GAP → 1×1 conv hidden → s (bias)
/// → SiLU → 1×1 conv s → hidden (bias) → sigmoid → x·gate. SiLU rather than SENet's ReLU
/// because the paper uses "SiLU in all other layers" (spec §6 A20). NHWC. State paths `fc1`, `fc2`.
public final class MV3SqueezeExcitation: Layer {
    public let fc1: Conv2d, fc2: Conv2d

    public init(channels: Int, squeeze: Int, generator: RandomGenerator = .global) {
        fc1 = Conv2d(channels, squeeze, kernel: 1, generator: generator)
        fc2 = Conv2d(squeeze, channels, kernel: 1, generator: generator)
    }

    override public var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }

    override public func forward(_ x: Tensor) -> Tensor {
        x * fc2(fc1(adaptiveAvgPool2d(x, outputSize: (1, 1))).silu()).sigmoid()
    }
}
