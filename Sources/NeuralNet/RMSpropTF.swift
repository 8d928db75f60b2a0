import TensorEngine

/// RMSprop the way TensorFlow computes it (timm's `rmsproptf`, the ImageNet optimizer of
/// SeaFormer's and MobileNet-style recipes), which differs from `torch.optim.RMSprop` in three
/// places that matter for reproducing those recipes:
/// - the squared-gradient average starts at 1, not 0 (no huge first steps);
/// - ε is added inside the square root: `g / sqrt(v + ε)` (SeaFormer uses ε = 1e-3);
/// - the learning rate is applied inside the momentum buffer: `b = μ·b + lr·g/sqrt(v + ε)`,
///   `p -= b`, so a schedule's lr change affects only new gradients.
/// Weight decay is L2, added to the gradient before everything else.
///
///     g ← grad + wd·p
///     v ← v + (1 − α)·(g² − v)          (v₀ = 1)
///     b ← μ·b + lr·g / sqrt(v + ε)       (μ = 0: p ← p − lr·g / sqrt(v + ε))
///     p ← p − b
public final class RMSpropTF: Optimizer {
    /// Smoothing constant of the squared-gradient average (TF `decay`, timm `alpha`). Default 0.9.
    public var alpha: Float
    public var eps: Float
    public var momentum: Float

    public init(parameters: [OptimizedParameter], lr: Float, alpha: Float = 0.9, eps: Float = 1e-10, momentum: Float = 0.9,
                weightDecay: Float = 0) {
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        super.init(parameters: parameters, lr: lr, weightDecay: weightDecay)
    }

    override public func update(index i: Int, parameter: Tensor, grad: Tensor, lr: Float, weightDecay wd: Float) {
        // v₀ = 1 (TF), not the zeros `buffer` starts other state at.
        if state[i]["square_avg"] == nil { state[i]["square_avg"] = Tensor.ones(parameter.shape) }
        let v = buffer(i, "square_avg").withMutablePointer { $0 }
        let b = momentum > 0 ? buffer(i, "momentum_buffer").withMutablePointer { $0 } : nil
        let keep = 1 - alpha, eps = eps, mu = momentum
        grad.withUnsafeBufferPointer { gp in
            parameter.withMutablePointer { p in
                parallelFor(parameter.count, grain: 1 << 15) { r in
                    for j in r {
                        let g = gp[j] + wd * p[j]
                        v[j] += keep * (g * g - v[j])
                        let step = g / (v[j] + eps).squareRoot()
                        if let b {
                            b[j] = mu * b[j] + lr * step
                            p[j] -= b[j]
                        } else {
                            p[j] -= lr * step
                        }
                    }
                }
            }
        }
    }
}
