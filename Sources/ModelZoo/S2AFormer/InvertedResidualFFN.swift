import NeuralNet
import TensorEngine

/// CMT's inverted residual feed-forward network, the MLP of Eq. 4 (spec §1.2, §6 row 8):
/// `conv1` 1×1 C → rC (bias) → GELU → `bn1`; `dw` 3×3 depth-wise (bias) with a residual,
/// `y = dw(y) + y` → GELU → `bn2`; `conv2` 1×1 rC → C (bias) → `bn3`. Ratio r = 4. NHWC.
/// Parameters 8C² + 63C at r = 4. Only this form (with its three BNs) makes the parameter
/// remainder outside the blocks constant across mini/T/XS/S; a plain Linear–GELU–Linear MLP
/// or PVTv2's Mix-FFN drifts with depth.
public final class InvertedResidualFFN: Layer {
    public let conv1: Conv2d, bn1: BatchNorm
    public let dw: Conv2d, bn2: BatchNorm
    public let conv2: Conv2d, bn3: BatchNorm

    public init(_ channels: Int, ratio: Int = 4, generator: RandomGenerator = .global) {
        let hidden = channels * ratio
        conv1 = Conv2d(channels, hidden, kernel: 1, generator: generator)
        bn1 = BatchNorm(hidden)
        dw = Conv2d(hidden, hidden, kernel: 3, padding: 1, groups: hidden, generator: generator)
        bn2 = BatchNorm(hidden)
        conv2 = Conv2d(hidden, channels, kernel: 1, generator: generator)
        bn3 = BatchNorm(channels)
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("bn1", bn1), ("dw", dw), ("bn2", bn2), ("conv2", conv2), ("bn3", bn3)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        let y = bn1(conv1(x).gelu())
        let z = bn2((dw(y) + y).gelu())
        return bn3(conv2(z))
    }
}
