import NeuralNet
import TensorEngine

/// One stage of a deepest-first feature fusion chain (TransKD's CSF, Knowledge Review's ABF):
/// it maps a student stage feature to the teacher's width, fusing in the mid feature of the
/// stage below, and hands its own mid feature up.
public protocol StageFusion: Module {
    /// The name of the official module list (`skfs`, `abfs`): the chain's state path.
    static var listName: String { get }
    init(inChannels: Int, midChannels: Int, outChannels: Int, fuse: Bool, generator: RandomGenerator)
    /// `(output, mid)`: the feature compared with the teacher's, and the mid feature for the
    /// next shallower stage; `deeper` is nil for the deepest stage.
    func callAsFunction(_ x: Tensor, deeper: Tensor?) -> (output: Tensor, mid: Tensor)
}

/// The chain over all stages: student stage features, shallowest first, become features of the
/// teacher's widths, computed deepest first, each stage fused with the one below (the deepest
/// does not fuse). `<listName>.0` is the deepest stage's module, as the official lists are
/// reversed.
public final class FusionChain<Stage: StageFusion>: Module {
    public let stages: ModuleList<Stage>

    /// `studentChannels` and `teacherChannels` per stage, shallowest first ([32, 64, 160, 256]
    /// and [64, 128, 320, 512] for MiT-B0 → B2).
    public init(studentChannels: [Int], teacherChannels: [Int], midChannels: Int = 64, generator: RandomGenerator = .global) {
        precondition(studentChannels.count == teacherChannels.count && !studentChannels.isEmpty,
                     "\(Stage.self): \(studentChannels.count) student and \(teacherChannels.count) teacher stages")
        let last = studentChannels.count - 1
        let built = studentChannels.indices.map {
            Stage(inChannels: studentChannels[$0], midChannels: midChannels, outChannels: teacherChannels[$0], fuse: $0 < last, generator: generator)
        }
        stages = ModuleList(built.reversed())
    }

    override public var children: [(String, Module)] { [(Stage.listName, stages)] }

    /// The fused features, shallowest first, for stage features given shallowest first.
    public func forward(_ features: [Tensor]) -> [Tensor] {
        precondition(features.count == stages.count, "\(Stage.self) chain: \(features.count) features for \(stages.count) stages")
        var outputs: [Tensor] = []
        var mid: Tensor? = nil
        for (stage, feature) in zip(stages.modules, features.reversed()) {
            let r = stage(feature, deeper: mid)
            outputs.append(r.output)
            mid = r.mid
        }
        return outputs.reversed()
    }

    public func callAsFunction(_ features: [Tensor]) -> [Tensor] { scoped { forward(features) } }
}
