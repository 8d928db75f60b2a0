/// Define-by-run reverse-mode autograd.
///
/// Every differentiable op calls `record(_:inputs:name:backward:)` on its result. The backward
/// rule receives the gradient of the result and returns one gradient per input (nil where an
/// input needs none). `backward()` sorts the graph topologically, runs the rules in reverse,
/// accumulates into leaves' `.grad`, and drops each node's saved tensors as soon as the node has
/// run, so intermediate memory goes back to the pool during the sweep.
final class GradNode {
    let name: String
    var inputs: [Tensor]
    var rule: ((Tensor) -> [Tensor?])?

    init(name: String, inputs: [Tensor], rule: @escaping (Tensor) -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.rule = rule
    }

    func release() {
        inputs = []
        rule = nil
    }
}

/// Whether ops record the graph. Off inside `withNoGrad` (evaluation, optimizer steps, and the
/// backward rules themselves, which need no graph of their own).
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    static func set(_ enabled: Bool) -> Bool {
        let old = isEnabled
        isEnabled = enabled
        return old
    }
}

/// Runs `body` without recording autograd graphs.
@discardableResult
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    let old = GradMode.set(false)
    defer { _ = GradMode.set(old) }
    return try body()
}

extension Tensor {
    /// Attaches a backward rule to `self` if grad mode is on and any input requires grad.
    /// Returns `self` so ops can end with `return out.record(...)`.
    @discardableResult
    func record(inputs: [Tensor], name: String, backward rule: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        gradFn = GradNode(name: name, inputs: inputs, rule: rule)
        return self
    }

    /// Reverse-mode sweep from this tensor. A scalar (one-element) tensor needs no seed; any
    /// other tensor takes `gradient` of its own shape. Gradients add into leaves' existing
    /// `.grad`, so several backward calls accumulate (call `zeroGrad` between steps).
    public func backward(_ gradient: Tensor? = nil) {
        precondition(requiresGrad, "backward(): this tensor does not require grad (no input had requiresGrad = true, or it was computed under withNoGrad)")
        let seed: Tensor
        if let gradient {
            precondition(gradient.shape == shape, "backward(): gradient shape \(gradient.shape) does not match tensor shape \(shape)")
            seed = gradient
        } else {
            precondition(count == 1, "backward(): a non-scalar tensor of shape \(shape) needs an explicit gradient")
            seed = Tensor.ones(shape)
        }
        if gradFn == nil {  // a leaf: d self / d self = seed
            accumulateGrad(seed)
            return
        }
        let order = topologicalOrder()
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
        withNoGrad {
            for t in order.reversed() {
                guard let node = t.gradFn else { continue }
                guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { node.release(); continue }
                guard let rule = node.rule else {
                    preconditionFailure("backward(): the graph through '\(node.name)' was already freed by an earlier backward(); recompute the forward pass")
                }
                let inputGrads = rule(g)
                precondition(inputGrads.count == node.inputs.count, "backward rule of \(node.name) returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard input.requiresGrad, let ig else { continue }
                    precondition(ig.shape == input.shape, "backward rule of \(node.name) returned gradient shape \(ig.shape) for input shape \(input.shape)")
                    if input.gradFn == nil {
                        input.accumulateGrad(ig)
                    } else {
                        let key = ObjectIdentifier(input)
                        grads[key] = grads[key].map { $0 + ig } ?? ig
                    }
                }
                node.release()
            }
        }
    }

    /// Gradients are never changed in place (a rule may hand the same tensor to two inputs),
    /// so accumulation makes a new sum.
    private func accumulateGrad(_ g: Tensor) {
        grad = withNoGrad { grad.map { $0 + g } ?? g }
    }

    /// Tensors reachable from `self` through recorded ops, inputs before users.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
            stack.append((t, true))
            for input in t.gradFn?.inputs ?? [] where input.requiresGrad && input.gradFn != nil {
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        return order
    }
}
