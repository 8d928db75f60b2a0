import TensorEngine

/// A node of the model tree: named children, parameters and buffers, addressed by dotted paths
/// (`backbone.smb1.conv.weight`). The paths are the HDF5 paths of checkpoints and follow the
/// official PyTorch names, so converted checkpoints load one to one.
///
/// Subclasses list their parts by overriding `children`, `parameters` and `buffers` (declared,
/// ordered, no reflection). Parameters are tensors with `requiresGrad = true`; optimizers and
/// `load(state:)` update them in place, so the tensors a layer holds never change identity.
open class Module {
    /// Training mode (dropout active, batch norm uses batch statistics).
    public private(set) var isTraining = true
    /// Kept in evaluation mode by `train()` (a frozen part: its batch norms use their running
    /// statistics and do not update them, mmseg's `norm_eval`).
    public private(set) var evalModePinned = false

    public init() {}

    /// Direct sub-modules with their attribute names, in registration order.
    open var children: [(String, Module)] { [] }
    /// This module's own parameters (not its children's).
    open var parameters: [(String, Tensor)] { [] }
    /// This module's own buffers: state that is saved but not trained (BN running stats).
    open var buffers: [(String, Tensor)] { [] }

    /// Every parameter in the tree with its dotted path, depth first in registration order.
    public func namedParameters(prefix: String = "") -> [(String, Tensor)] {
        parameters.map { (join(prefix, $0.0), $0.1) } + children.flatMap { $0.1.namedParameters(prefix: join(prefix, $0.0)) }
    }

    public func namedBuffers(prefix: String = "") -> [(String, Tensor)] {
        buffers.map { (join(prefix, $0.0), $0.1) } + children.flatMap { $0.1.namedBuffers(prefix: join(prefix, $0.0)) }
    }

    /// Every module in the tree (this one first, path ""), depth first.
    public func namedModules(prefix: String = "") -> [(String, Module)] {
        [(prefix, self)] + children.flatMap { $0.1.namedModules(prefix: join(prefix, $0.0)) }
    }

    /// Parameters that will be trained (not frozen).
    public var trainableParameters: [Tensor] { namedParameters().map(\.1).filter(\.requiresGrad) }

    /// Number of trainable parameter elements (buffers excluded, as the papers count).
    public var parameterCount: Int { trainableParameters.reduce(0) { $0 + $1.count } }

    /// Switches this module and all descendants to training (`true`) or evaluation mode.
    public func train(_ on: Bool = true) {
        for (_, m) in namedModules() { m.isTraining = on && !m.evalModePinned }
    }

    public func eval() { train(false) }

    /// Stops (or resumes) gradient updates for every parameter of this subtree.
    public func freeze(_ frozen: Bool = true) {
        for (_, p) in namedParameters() { p.requiresGrad = !frozen; if frozen { p.grad = nil } }
    }

    public func unfreeze() { freeze(false) }

    /// Pins this subtree to evaluation mode (or releases it): `train()` leaves it in eval mode.
    public func pinEvalMode(_ pinned: Bool = true) {
        for (_, m) in namedModules() { m.evalModePinned = pinned; if pinned { m.isTraining = false } }
    }

    /// A checkpoint tensor for this module's own parameter `name` whose shape differs from the
    /// parameter's, brought to the parameter's shape when the difference is one of input grid
    /// (a token-count-sized kernel trained at another resolution); nil (the default): a
    /// mismatch that `load(state:)` reports.
    open func resampledState(_ name: String, from tensor: Tensor) -> Tensor? { nil }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for (_, p) in namedParameters() { p.grad = nil }
    }

    /// Runs `body` as this module's work: while a `ModelSummary` traces the model, the ops inside
    /// are attributed to this module's path. `Layer` does it on every call; modules with other
    /// call signatures (multi-input, multi-output) wrap their forward in it.
    ///
    /// While a `FeatureTaps` recording runs, the module's output is also recorded under its path.
    public func scoped<R>(_ body: () throws -> R) rethrows -> R {
        let result: R
        if let trace = CostTrace.current, let path = ModelSummary.scopes[ObjectIdentifier(self)] {
            let outer = trace.scope
            trace.scope = path
            defer { trace.scope = outer }
            result = try body()
        } else {
            result = try body()
        }
        if let recorder = FeatureRecorder.current { recorder.record(self, result) }
        return result
    }

}

/// A module with a single tensor in, single tensor out: what `Sequential` chains.
open class Layer: Module {
    open func forward(_ x: Tensor) -> Tensor { preconditionFailure("\(type(of: self)) must override forward(_:)") }
    public func callAsFunction(_ x: Tensor) -> Tensor { scoped { forward(x) } }
}

@inline(__always)
func join(_ prefix: String, _ name: String) -> String { prefix.isEmpty ? name : prefix + "." + name }

extension Tensor {
    /// A trainable parameter holding `values`.
    public func asParameter() -> Tensor {
        let p = detach().copy()
        p.requiresGrad = true
        return p
    }

    /// Overwrites this tensor's values in place (shapes must match). For loading state and
    /// initialisers; never on a tensor an autograd graph still uses.
    public func assign(from other: Tensor) {
        precondition(other.shape == shape, "assign: shape \(other.shape) into \(shape)")
        other.withUnsafeBufferPointer { src in withMutablePointer { $0.update(from: src.baseAddress!, count: count) } }
    }
}
