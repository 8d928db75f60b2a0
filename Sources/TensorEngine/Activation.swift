import Foundation

// Activations: each forward with its derivative, as `derivative(x, y)` in terms of the input x
// and the output y. Definitions and boundary conventions follow PyTorch.

private let sqrt2: Float = 1.4142135623730951
private let invSqrt2Pi: Float = 0.3989422804014327
private let sqrt2OverPi: Float = 0.7978845608028654

extension Tensor {
    /// Activations count one op per element in model summaries (mmcv's convention).
    private func activation(_ name: String, _ f: (Float) -> Float, derivative: @escaping (Float, Float) -> Float) -> Tensor {
        CostTrace.add(.activation, count)
        return unaryOp(self, name, f, derivative: derivative)
    }

    public func relu() -> Tensor {
        activation("relu", { $0 > 0 ? $0 : 0 }, derivative: { x, _ in x > 0 ? 1 : 0 })
    }

    /// `min(max(x, 0), 6)`; gradient 1 strictly inside (0, 6).
    public func relu6() -> Tensor {
        activation("relu6", { Swift.min(Swift.max($0, 0), 6) }, derivative: { x, _ in (x > 0 && x < 6) ? 1 : 0 })
    }

    public func leakyRelu(_ slope: Float = 0.01) -> Tensor {
        activation("leaky_relu", { $0 > 0 ? $0 : slope * $0 }, derivative: { x, _ in x > 0 ? 1 : slope })
    }

    public func sigmoid() -> Tensor {
        activation("sigmoid", { 1 / (1 + Foundation.exp(-$0)) }, derivative: { _, y in y * (1 - y) })
    }

    /// `relu6(x + 3) / 6` (SeaFormer's h_sigmoid, PyTorch's Hardsigmoid); gradient 1/6 inside (-3, 3).
    public func hardSigmoid() -> Tensor {
        activation("hard_sigmoid", { Swift.min(Swift.max($0 + 3, 0), 6) / 6 }, derivative: { x, _ in (x > -3 && x < 3) ? 1.0 / 6 : 0 })
    }

    /// `x · relu6(x + 3) / 6`; derivative `(2x + 3)/6` inside (-3, 3), 1 above (PyTorch's rule).
    public func hardSwish() -> Tensor {
        activation("hard_swish", { $0 * Swift.min(Swift.max($0 + 3, 0), 6) / 6 },
                derivative: { x, _ in x < -3 ? 0 : (x <= 3 ? (2 * x + 3) / 6 : 1) })
    }

    /// `x · sigmoid(x)`.
    public func silu() -> Tensor {
        activation("silu", { $0 / (1 + Foundation.exp(-$0)) },
                derivative: { x, _ in let s = 1 / (1 + Foundation.exp(-x)); return s * (1 + x * (1 - s)) })
    }

    public func tanh() -> Tensor {
        activation("tanh", { Foundation.tanh($0) }, derivative: { _, y in 1 - y * y })
    }

    /// GELU. `approximate: false` is the exact `x·Φ(x)` with erf; `true` is the tanh form.
    public func gelu(approximate: Bool = false) -> Tensor {
        if approximate {
            return activation("gelu_tanh", { x in
                0.5 * x * (1 + Foundation.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x)))
            }, derivative: { x, _ in
                let inner = sqrt2OverPi * (x + 0.044715 * x * x * x)
                let t = Foundation.tanh(inner)
                return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
            })
        }
        return activation("gelu", { x in 0.5 * x * (1 + erf(x / sqrt2)) }, derivative: { x, _ in
            0.5 * (1 + erf(x / sqrt2)) + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x)
        })
    }
}
