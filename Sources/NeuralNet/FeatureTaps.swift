import ConfigCore
import TensorEngine

/// Records module outputs by dotted path during a forward pass (what torchdistill's forward
/// hooks do): every module whose call goes through `scoped` (every `Layer`, every backbone and
/// head) reports its output to the active recorder. Paths are the state-dict paths, so what
/// `runexp info --features` lists is what a distillation config names.
public final class FeatureRecorder {
    nonisolated(unsafe) static var current: FeatureRecorder?

    let paths: [ObjectIdentifier: String]
    let wanted: Set<String>?
    /// Outputs by path: one tensor for most modules, several for a backbone's feature list.
    public private(set) var outputs: [String: [Tensor]] = [:]
    /// Paths in the order their modules first returned.
    public private(set) var order: [String] = []

    init(model: Module, wanted: Set<String>?) {
        paths = Dictionary(model.namedModules().filter { !$0.0.isEmpty }.map { (ObjectIdentifier($0.1), $0.0) },
                           uniquingKeysWith: { a, _ in a })
        self.wanted = wanted
    }

    func record<R>(_ module: Module, _ result: R) {
        guard let path = paths[ObjectIdentifier(module)], wanted?.contains(path) ?? true else { return }
        let tensors: [Tensor]
        switch result {
        case let t as Tensor: tensors = [t]
        case let list as [Tensor]: tensors = list
        default: return
        }
        if outputs[path] == nil { order.append(path) }
        // A module called twice in one pass (a shared activation) keeps its last output.
        outputs[path] = tensors
    }
}

/// A tap names a path that is not in the model, or one that produced no tensor.
public struct FeatureTapError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public let suggestion: String?
    public var description: String { "feature '\(path)': \(message)" + (suggestion.map { "; did you mean '\($0)'?" } ?? "") }
}

public enum FeatureTaps {
    /// Every module path of `model` (the tappable points; a tap needs the module to run in the pass).
    public static func modulePaths(_ model: Module) -> [String] {
        model.namedModules().map(\.0).filter { !$0.isEmpty }
    }

    /// Runs `forward` and returns its result with the outputs of the modules at `paths` (every
    /// module that ran when `paths` is nil). A path that is not a module of `model`, or whose
    /// module did not run, is a `FeatureTapError` with the nearest valid path.
    public static func record<R>(_ model: Module, paths: [String]? = nil, _ forward: () throws -> R) throws -> (R, FeatureRecorder) {
        let known = modulePaths(model)
        if let paths {
            let set = Set(known)
            if let bad = paths.first(where: { !set.contains($0) }) {
                throw FeatureTapError(path: bad, message: "no module has this path", suggestion: nearestName(to: bad, in: known))
            }
        }
        let recorder = FeatureRecorder(model: model, wanted: paths.map(Set.init))
        let outer = FeatureRecorder.current
        FeatureRecorder.current = recorder
        defer { FeatureRecorder.current = outer }
        let result = try forward()
        if let paths, let silent = paths.first(where: { recorder.outputs[$0] == nil }) {
            throw FeatureTapError(path: silent, message: "the module exists but returned no tensor in this forward pass (it is not called, or is called inside another module's kernel)", suggestion: nil)
        }
        return (result, recorder)
    }
}
