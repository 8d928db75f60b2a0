import Foundation
import TensorEngine

/// How parameters whose path contains `key` are trained: learning rate and weight decay are
/// multiplied by `lrMult` and `decayMult` (mmcv's `paramwise_cfg.custom_keys`; SeaFormer
/// trains its head with lr ×10 and its positional embeddings without decay).
public struct ParameterRule: Equatable {
    public var key: String
    public var lrMult: Float
    public var decayMult: Float

    public init(key: String, lrMult: Float = 1, decayMult: Float = 1) {
        self.key = key
        self.lrMult = lrMult
        self.decayMult = decayMult
    }
}

/// One trained tensor with its resolved multipliers.
public struct OptimizedParameter {
    public let name: String
    public let tensor: Tensor
    public let lrMult: Float
    public let decayMult: Float

    public init(name: String, tensor: Tensor, lrMult: Float = 1, decayMult: Float = 1) {
        self.name = name; self.tensor = tensor; self.lrMult = lrMult; self.decayMult = decayMult
    }
}

/// Resolves rules for named parameters: the longest matching key wins (as in mmcv, which tries
/// keys from longest to shortest). Frozen parameters are left out.
public func optimizedParameters(_ named: [(String, Tensor)], rules: [ParameterRule] = []) -> [OptimizedParameter] {
    let ordered = rules.sorted { $0.key.count != $1.key.count ? $0.key.count > $1.key.count : $0.key < $1.key }
    return named.filter { $0.1.requiresGrad }.map { name, t in
        let rule = ordered.first { name.contains($0.key) }
        return OptimizedParameter(name: name, tensor: t, lrMult: rule?.lrMult ?? 1, decayMult: rule?.decayMult ?? 1)
    }
}

/// A bad optimizer state on load.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

/// Base of the optimizers: parameters with multipliers, a base learning rate that the schedule
/// sets before each step, and per-parameter state tensors exported for checkpoints as
/// `<parameter path>.<state name>` (e.g. `backbone.conv.weight.exp_avg`).
open class Optimizer {
    public let parameters: [OptimizedParameter]
    /// Base learning rate of the current step; a schedule sets it each iteration.
    public var lr: Float
    public var weightDecay: Float
    /// Per-parameter state, keyed by state name, aligned with `parameters`.
    var state: [[String: Tensor]]
    /// Steps taken per parameter (a parameter without a gradient does not step).
    var steps: [Int]

    public init(parameters: [OptimizedParameter], lr: Float, weightDecay: Float) {
        precondition(lr >= 0, "optimizer: learning rate must be >= 0, got \(lr)")
        self.parameters = parameters
        self.lr = lr
        self.weightDecay = weightDecay
        self.state = parameters.map { _ in [:] }
        self.steps = parameters.map { _ in 0 }
    }

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        withNoGrad {
            for i in parameters.indices {
                let p = parameters[i]
                guard let g = p.tensor.grad else { continue }
                steps[i] += 1
                update(index: i, parameter: p.tensor, grad: g, lr: lr * p.lrMult, weightDecay: weightDecay * p.decayMult)
            }
        }
    }

    /// The update rule for one parameter. Subclasses override.
    open func update(index: Int, parameter: Tensor, grad: Tensor, lr: Float, weightDecay: Float) {
        preconditionFailure("\(type(of: self)) must override update")
    }

    public func zeroGrad() { for p in parameters { p.tensor.grad = nil } }

    /// A state tensor for parameter `i`, created as zeros on first use.
    func buffer(_ i: Int, _ name: String) -> Tensor {
        if let t = state[i][name] { return t }
        let t = Tensor.zeros(parameters[i].tensor.shape)
        state[i][name] = t
        return t
    }

    /// The optimizer's state for a checkpoint: every state tensor plus `<path>.step`.
    public func stateDict() -> [String: Tensor] {
        var d: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() {
            for (k, t) in state[i] { d[p.name + "." + k] = t }
            if steps[i] > 0 { d[p.name + ".step"] = Tensor(scalar: Float(steps[i])) }
        }
        return d
    }

    /// Restores `stateDict()` output. Keys for unknown parameters or shape mismatches are errors.
    public func load(state saved: [String: Tensor]) throws {
        var byName: [String: Int] = [:]
        for (i, p) in parameters.enumerated() { byName[p.name] = i }
        var newState = parameters.map { _ in [String: Tensor]() }
        var newSteps = parameters.map { _ in 0 }
        for (key, t) in saved {
            guard let dot = key.lastIndex(of: "."), let i = byName[String(key[..<dot])] else {
                throw OptimizerStateError(description: "optimizer state key '\(key)' names no trained parameter of this model (frozen, renamed or another model?)")
            }
            let name = String(key[key.index(after: dot)...])
            if name == "step" {
                newSteps[i] = Int(t.item())
            } else {
                guard t.shape == parameters[i].tensor.shape else {
                    throw OptimizerStateError(description: "optimizer state '\(key)' has shape \(t.shape), parameter has \(parameters[i].tensor.shape)")
                }
                newState[i][name] = t.copy()
            }
        }
        state = newState
        steps = newSteps
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay,
/// exactly as `torch.optim.SGD`.
public final class SGD: Optimizer {
    public var momentum: Float
    public var dampening: Float
    public var nesterov: Bool

    public init(parameters: [OptimizedParameter], lr: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and zero dampening")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(parameters: parameters, lr: lr, weightDecay: weightDecay)
    }

    override public func update(index i: Int, parameter: Tensor, grad: Tensor, lr: Float, weightDecay wd: Float) {
        let n = parameter.count, mom = momentum, damp = dampening, nest = nesterov
        let first = steps[i] == 1
        let buf = mom != 0 ? buffer(i, "momentum_buffer") : nil
        grad.withUnsafeBufferPointer { gp in
            parameter.withMutablePointer { p in
                let b = buf.map { t in t.withMutablePointer { $0 } }
                for j in 0..<n {
                    var d = gp[j] + wd * p[j]
                    if let b {
                        b[j] = first ? d : mom * b[j] + (1 - damp) * d
                        d = nest ? d + mom * b[j] : b[j]
                    }
                    p[j] -= lr * d
                }
            }
        }
    }
}

/// Adam (`decoupled: false`, L2 decay added to the gradient, `torch.optim.Adam`) and AdamW
/// (`decoupled: true`, decay applied to the weights, `torch.optim.AdamW`).
public final class Adam: Optimizer {
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public let decoupled: Bool

    public init(parameters: [OptimizedParameter], lr: Float, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.decoupled = decoupled
        super.init(parameters: parameters, lr: lr, weightDecay: weightDecay)
    }

    /// AdamW with PyTorch's default decay of 0.01.
    public static func adamW(parameters: [OptimizedParameter], lr: Float, beta1: Float = 0.9, beta2: Float = 0.999,
                             eps: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(parameters: parameters, lr: lr, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay, decoupled: true)
    }

    override public func update(index i: Int, parameter: Tensor, grad: Tensor, lr: Float, weightDecay wd: Float) {
        let m = buffer(i, "exp_avg"), v = buffer(i, "exp_avg_sq")
        let t = Float(steps[i])
        let c1 = 1 - Foundation.pow(beta1, t), c2sqrt = (1 - Foundation.pow(beta2, t)).squareRoot()
        let b1 = beta1, b2 = beta2, eps = eps, stepSize = lr / c1
        let decay: Float = decoupled ? 1 - lr * wd : 1, l2: Float = decoupled ? 0 : wd
        let mp = m.withMutablePointer { $0 }, vp = v.withMutablePointer { $0 }
        grad.withUnsafeBufferPointer { gp in
            parameter.withMutablePointer { p in
                parallelFor(parameter.count, grain: 1 << 15) { r in
                    for j in r {
                        let g = gp[j] + l2 * p[j]
                        p[j] *= decay
                        mp[j] = b1 * mp[j] + (1 - b1) * g
                        vp[j] = b2 * vp[j] + (1 - b2) * g * g
                        p[j] -= stepSize * mp[j] / (vp[j].squareRoot() / c2sqrt + eps)
                    }
                }
            }
        }
    }
}

/// Scales all gradients so their global norm is at most `maxNorm` (torch's
/// `clip_grad_norm_`, L2). Returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total: Double = 0
    for p in parameters {
        guard let g = p.grad else { continue }
        g.withUnsafeBufferPointer { b in for x in b { total += Double(x) * Double(x) } }
    }
    let norm = Float(total.squareRoot())
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        withNoGrad { for p in parameters { if let g = p.grad { p.grad = g * coef } } }
    }
    return norm
}
