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
        for (_, m) in namedModules() { m.isTraining = on }
    }

    public func eval() { train(false) }

    /// Stops (or resumes) gradient updates for every parameter of this subtree.
    public func freeze(_ frozen: Bool = true) {
        for (_, p) in namedParameters() { p.requiresGrad = !frozen; if frozen { p.grad = nil } }
    }

    public func unfreeze() { freeze(false) }

    /// Clears every parameter's gradient.
    public func zeroGrad() {
        for (_, p) in namedParameters() { p.grad = nil }
    }

    /// Parameters and buffers by dotted path (the checkpoint content).
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (k, v) in namedParameters() { d[k] = v }
        for (k, v) in namedBuffers() { d[k] = v }
        return d
    }

    /// Ordered keys of `stateDict()`: parameters then buffers, tree order.
    public var stateKeys: [String] { namedParameters().map(\.0) + namedBuffers().map(\.0) }

    /// Runs `body` as this module's work: while a `ModelSummary` traces the model, the ops inside
    /// are attributed to this module's path. `Layer` does it on every call; modules with other
    /// call signatures (multi-input, multi-output) wrap their forward in it.
    public func scoped<R>(_ body: () throws -> R) rethrows -> R {
        guard let trace = CostTrace.current, let path = ModelSummary.scopes[ObjectIdentifier(self)] else { return try body() }
        let outer = trace.scope
        trace.scope = path
        defer { trace.scope = outer }
        return try body()
    }

    /// Copies `state` into this module's tensors. Strict: any missing, unexpected or
    /// shape-mismatched key is an error listing all of them; nothing is changed in that case.
    public func load(state: [String: Tensor]) throws {
        let own = stateDict()
        let missing = own.keys.filter { state[$0] == nil }.sorted()
        let unexpected = state.keys.filter { own[$0] == nil }.sorted()
        let mismatched = own.compactMap { k, t -> String? in
            guard let s = state[k], s.shape != t.shape else { return nil }
            return "\(k): checkpoint \(s.shape) vs model \(t.shape)"
        }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty || !mismatched.isEmpty {
            throw StateLoadError(missing: missing, unexpected: unexpected, mismatched: mismatched)
        }
        for (k, t) in own { t.assign(from: state[k]!) }
    }
}

/// A strict state load found keys that do not line up.
public struct StateLoadError: Error, CustomStringConvertible, Equatable {
    public let missing: [String]
    public let unexpected: [String]
    public let mismatched: [String]

    public var description: String {
        var lines = ["state does not match the model:"]
        if !missing.isEmpty { lines.append("  missing keys (in the model, not in the state): " + missing.joined(separator: ", ")) }
        if !unexpected.isEmpty { lines.append("  unexpected keys (in the state, not in the model): " + unexpected.joined(separator: ", ")) }
        if !mismatched.isEmpty { lines.append("  shape mismatches: " + mismatched.joined(separator: "; ")) }
        lines.append("  check that the checkpoint was made for this model and variant (num_classes, variant, head)")
        return lines.joined(separator: "\n")
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
