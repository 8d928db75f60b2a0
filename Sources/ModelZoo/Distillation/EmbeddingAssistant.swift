import NeuralNet
import TensorEngine

/// TransKD's Embedding Assistant (EA; spec/transkd.md §2.5): four extra overlapping patch
/// embeddings with the teacher's widths and MiT's kernels and strides, the first over the image,
/// the others over the student's stage 1–3 feature maps. Each stage's aligned embedding is the
/// learnable weighted sum `w[m]·PEA_m(E^S_m) + w[m+4]·EA_m(input_m)` (the official code's
/// `fuse_weights`, initialised 0.1·(i+1)); the result never feeds the student's forward path.
/// State paths as the official: `patch_embed{1..4}.proj` / `.norm`, `fuse_weights.{0..7}`.
public final class EmbeddingAssistant: Module {
    public let embeds: [OverlapPatchEmbed]
    public let fuseWeights: ScalarParameters

    /// `studentChannels` and `teacherChannels` shallowest first; `imageChannels` feeds stage 1.
    public init(studentChannels: [Int], teacherChannels: [Int], imageChannels: Int = 3, generator: RandomGenerator = .global) {
        precondition(studentChannels.count == teacherChannels.count && !studentChannels.isEmpty, "EmbeddingAssistant: stage counts differ")
        let inputs = [imageChannels] + studentChannels.dropLast()
        embeds = teacherChannels.indices.map { m in
            let (k, s) = m == 0 ? (7, 4) : (3, 2)
            let e = OverlapPatchEmbed(inChannels: inputs[m], embedDim: teacherChannels[m], kernel: k, stride: s, generator: generator)
            // MiT's init (conv N(0, √(2 / fan_out)), bias 0; LayerNorm 1 / 0).
            let fanOut = k * k * teacherChannels[m]
            e.proj.weight.assign(from: Tensor.normal(e.proj.weight.shape, std: (2 / Float(fanOut)).squareRoot(), generator: generator))
            e.proj.bias?.assign(from: Tensor.zeros(e.proj.bias!.shape))
            return e
        }
        fuseWeights = ScalarParameters((0..<(2 * studentChannels.count)).map { 0.1 * Float($0 + 1) })
    }

    override public var children: [(String, Module)] {
        embeds.enumerated().map { ("patch_embed\($0.offset + 1)", $0.element as Module) } + [("fuse_weights", fuseWeights)]
    }

    /// Stage `m`'s (0-based) aligned embedding from its PEA projection `projected` ([B, h, w, T])
    /// and the EA input (the image for stage 0, else the student's feature map of stage m − 1).
    public func fuse(stage m: Int, projected: Tensor, input: Tensor) -> Tensor {
        let stages = embeds.count
        return projected * fuseWeights.values[m] + embeds[m](input) * fuseWeights.values[m + stages]
    }
}
