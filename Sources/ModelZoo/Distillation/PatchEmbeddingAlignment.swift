import NeuralNet
import TensorEngine

/// TransKD's Patch Embedding Alignment (PEA; spec/transkd.md §2.3): per stage, a linear map of
/// the student's patch embeddings to the teacher's width, compared with the teacher's patch
/// embeddings by MSE. State paths as the official `embed{m}_linearproject` (m = 1…4); a
/// single-stage variant (Table 9's `--embed k`) builds only that stage's map.
public final class PatchEmbeddingAlignment: Module {
    /// (stage index from 1, its projection).
    public let projections: [(stage: Int, linear: Linear)]

    /// `stages` are 1-based stage numbers (all by default).
    public init(studentChannels: [Int], teacherChannels: [Int], stages: [Int]? = nil, generator: RandomGenerator = .global) {
        precondition(studentChannels.count == teacherChannels.count, "PatchEmbeddingAlignment: stage counts differ")
        projections = (stages ?? Array(1...studentChannels.count)).map { m in
            (m, Linear(studentChannels[m - 1], teacherChannels[m - 1], generator: generator))
        }
    }

    override public var children: [(String, Module)] { projections.map { ("embed\($0.stage)_linearproject", $0.linear) } }

    /// The projection of stage `m` (1-based), or nil when this variant does not align it.
    public func projection(stage m: Int) -> Linear? { projections.first { $0.stage == m }?.linear }
}
