import Foundation
import NeuralNet
import TensorEngine

/// One stage of Knowledge Review's attention based fusion (ABF; spec/transkd.md §2.8, the
/// baseline TransKD compares against): the student stage feature goes to the mid width (1×1 conv
/// + BN); with fusion, the deeper stage's mid feature (nearest-resized) is blended in with two
/// per-pixel sigmoid weights from a 1×1 conv over both; a 3×3 conv + BN gives the teacher's
/// width. State paths as the official `ABF`: `conv1.{0,1}`, `conv2.{0,1}`, `att_conv.0`.
public final class AttentionBasedFusion: Module, StageFusion {
    public static let listName = "abfs"

    public let conv1: Sequential, conv2: Sequential
    public let attConv: Sequential?

    public init(inChannels: Int, midChannels: Int = 64, outChannels: Int, fuse: Bool, generator: RandomGenerator = .global) {
        conv1 = Sequential([Conv2d(inChannels, midChannels, kernel: 1, bias: false, generator: generator), BatchNorm(midChannels)])
        conv2 = Sequential([Conv2d(midChannels, outChannels, kernel: 3, padding: 1, bias: false, generator: generator), BatchNorm(outChannels)])
        attConv = fuse ? Sequential([Conv2d(2 * midChannels, 2, kernel: 1, generator: generator), Activation(.sigmoid)]) : nil
    }

    override public var children: [(String, Module)] {
        [("conv1", conv1), ("conv2", conv2)] + (attConv.map { [("att_conv", $0 as Module)] } ?? [])
    }

    /// `(output, mid)` as `SelectiveKernelFusion.forward`.
    public func forward(_ x: Tensor, deeper: Tensor?) -> (output: Tensor, mid: Tensor) {
        var mid = conv1(x)
        if let attConv, let deeper {
            let y = interpolateNearest(deeper, size: (mid.shape[1], mid.shape[2]))
            let z = attConv(concat([mid, y], axis: 3)).split(sizes: [1, 1], axis: 3)   // [B,H,W,1] each
            mid = mid * z[0] + y * z[1]
        }
        return (conv2(mid), mid)
    }

    public func callAsFunction(_ x: Tensor, deeper: Tensor?) -> (output: Tensor, mid: Tensor) { scoped { forward(x, deeper: deeper) } }
}

/// Knowledge Review's fusion chain over all stages (the official `ReviewKD`'s `abfs`).
public typealias KnowledgeReviewFusion = FusionChain<AttentionBasedFusion>
