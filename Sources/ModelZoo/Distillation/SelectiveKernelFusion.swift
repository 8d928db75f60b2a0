import Foundation
import NeuralNet
import TensorEngine

/// One stage of TransKD's Cross Selective Fusion (spec/transkd.md §2.1; the official `SK`):
/// a student stage feature is projected to the mid width (1×1 conv + BN), fused with the
/// deeper stage's mid feature by selective-kernel attention (Eqs. 6–10), and mapped to the
/// teacher's width (3×3 conv + BN) to be compared with the teacher's stage feature. The deepest
/// stage has no fusion. NHWC throughout.
///
/// State paths are the official ones: `conv1.{0,1}`, `conv2.{0,1}`, and with fusion `fc.{0,1}`
/// (conv + BN + ReLU, used when the batch has more than one image), `fc1.0` (conv + ReLU, no BN:
/// the official code's path for a batch of one, which TransKD hits on the last odd batch of an
/// epoch) and `fcs.{0,1}` (the matrices A and B with bias).
public final class SelectiveKernelFusion: Module, StageFusion {
    public static let listName = "skfs"

    public let conv1: Sequential, conv2: Sequential
    public let fc: Sequential?, fc1: Sequential?, fcs: ModuleList<Conv2d>?
    public let fuses: Bool

    public convenience init(inChannels: Int, midChannels: Int, outChannels: Int, fuse: Bool, generator: RandomGenerator) {
        self.init(inChannels: inChannels, midChannels: midChannels, outChannels: outChannels, fuse: fuse, squeeze: 32, generator: generator)
    }

    /// `squeeze` is d = max(mid / reduction, minimum) = max(64 / 16, 32) = 32 in TransKD.
    public init(inChannels: Int, midChannels: Int = 64, outChannels: Int, fuse: Bool, squeeze: Int = 32,
                generator: RandomGenerator = .global) {
        fuses = fuse
        let c1 = Conv2d(inChannels, midChannels, kernel: 1, bias: false, generator: generator)
        let c2 = Conv2d(midChannels, outChannels, kernel: 3, padding: 1, bias: false, generator: generator)
        // The official init: kaiming_uniform(a = 1), i.e. U(±√(3 / fan_in)), on the two convs.
        for c in [c1, c2] {
            let fanIn = c.weight.count / c.outChannels
            let bound = (3 / Float(fanIn)).squareRoot()
            c.weight.assign(from: Tensor.uniform(c.weight.shape, low: -bound, high: bound, generator: generator))
        }
        conv1 = Sequential([c1, BatchNorm(midChannels)])
        conv2 = Sequential([c2, BatchNorm(outChannels)])
        if fuse {
            fc = Sequential([Conv2d(midChannels, squeeze, kernel: 1, bias: false, generator: generator), BatchNorm(squeeze), Activation(.relu)])
            fc1 = Sequential([Conv2d(midChannels, squeeze, kernel: 1, bias: false, generator: generator), Activation(.relu)])
            fcs = ModuleList([Conv2d(squeeze, midChannels, kernel: 1, generator: generator),
                              Conv2d(squeeze, midChannels, kernel: 1, generator: generator)])
        } else {
            fc = nil; fc1 = nil; fcs = nil
        }
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("conv1", conv1), ("conv2", conv2)]
        if let fc, let fc1, let fcs { c += [("fc", fc), ("fc1", fc1), ("fcs", fcs)] }
        return c
    }

    /// `(F_out, X)`: the feature to compare with the teacher's (teacher width) and the fused mid
    /// feature handed to the next shallower stage. `deeper` is that mid feature from the stage
    /// below (nil for the deepest stage, which does not fuse).
    public func forward(_ x: Tensor, deeper: Tensor?) -> (output: Tensor, mid: Tensor) {
        var mid = conv1(x)
        if let fc, let fc1, let fcs, let deeper {
            let y = interpolateNearest(deeper, size: (mid.shape[1], mid.shape[2]))
            let u = mid + y                                                        // Eq. 6
            let s = u.mean(axes: [1, 2], keepDim: true)                            // Eq. 7, [B,1,1,mid]
            let z = mid.shape[0] > 1 ? fc(s) : fc1(s)                              // Eq. 8
            let weights = stack([fcs[0](z), fcs[1](z)], axis: 0).softmax(axis: 0)  // Eq. 9: a + b = 1 per channel
            let ab = weights.split(sizes: [1, 1], axis: 0)
            mid = mid * ab[0].reshape(s.shape) + y * ab[1].reshape(s.shape)       // Eq. 10
        }
        return (conv2(mid), mid)
    }

    public func callAsFunction(_ x: Tensor, deeper: Tensor?) -> (output: Tensor, mid: Tensor) { scoped { forward(x, deeper: deeper) } }
}

/// TransKD's Cross Selective Fusion over all stages (the official `SKF`'s `skfs`).
public typealias CrossSelectiveFusion = FusionChain<SelectiveKernelFusion>
