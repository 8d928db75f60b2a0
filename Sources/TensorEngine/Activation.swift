import Foundation

// Activations: each element function next to its derivative `derivative(x, y)` (input x,
// output y). Definitions and boundary conventions follow PyTorch.

private let sqrt2: Float = 1.4142135623730951
private let invSqrt2Pi: Float = 0.3989422804014327
private let sqrt2OverPi: Float = 0.7978845608028654

struct ReLU: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
    func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : 0 }
}

/// `min(max(x, 0), 6)`; gradient 1 strictly inside (0, 6).
struct ReLU6: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, 0), 6) }
    func derivative(_ x: Float, _ y: Float) -> Float { (x > 0 && x < 6) ? 1 : 0 }
}

struct LeakyReLU: DifferentiableUnary {
    let slope: Float
    func callAsFunction(_ x: Float) -> Float { x > 0 ? x : slope * x }
    func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : slope }
}

struct Sigmoid: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
    func derivative(_ x: Float, _ y: Float) -> Float { y * (1 - y) }
}

/// `relu6(x + 3) / 6` (SeaFormer's h_sigmoid); gradient 1/6 inside (-3, 3).
struct HardSigmoid: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x + 3, 0), 6) / 6 }
    func derivative(_ x: Float, _ y: Float) -> Float { (x > -3 && x < 3) ? 1.0 / 6 : 0 }
}

/// `x · relu6(x + 3) / 6`; derivative `(2x + 3)/6` inside [-3, 3], 1 above (PyTorch's rule).
struct HardSwish: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { x * Swift.min(Swift.max(x + 3, 0), 6) / 6 }
    func derivative(_ x: Float, _ y: Float) -> Float { x < -3 ? 0 : (x <= 3 ? (2 * x + 3) / 6 : 1) }
}

/// `x · sigmoid(x)`.
struct SiLU: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { x / (1 + Foundation.exp(-x)) }
    func derivative(_ x: Float, _ y: Float) -> Float { let s = 1 / (1 + Foundation.exp(-x)); return s * (1 + x * (1 - s)) }
}

struct Tanh: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Foundation.tanh(x) }
    func derivative(_ x: Float, _ y: Float) -> Float { 1 - y * y }
}

/// Exact GELU, `x·Φ(x)` with erf.
struct GELU: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { 0.5 * x * (1 + erf(x / sqrt2)) }
    func derivative(_ x: Float, _ y: Float) -> Float { 0.5 * (1 + erf(x / sqrt2)) + x * invSqrt2Pi * Foundation.exp(-0.5 * x * x) }
}

/// GELU's tanh approximation (`approximate='tanh'`).
struct GELUTanh: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { 0.5 * x * (1 + Foundation.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x))) }
    func derivative(_ x: Float, _ y: Float) -> Float {
        let t = Foundation.tanh(sqrt2OverPi * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * sqrt2OverPi * (1 + 3 * 0.044715 * x * x)
    }
}

extension Tensor {
    /// Activations count one op per element in model summaries (mmcv's convention): the ReLU
    /// family as `.activation`, the others as `.smoothActivation` (which mmcv's hooks miss).
    private func activation<F: DifferentiableUnary>(_ name: String, _ f: F, kind: CostKind = .smoothActivation) -> Tensor {
        CostTrace.add(kind, count)
        return unaryOp(self, name, f)
    }

    public func relu() -> Tensor { activation("relu", ReLU(), kind: .activation) }
    public func relu6() -> Tensor { activation("relu6", ReLU6(), kind: .activation) }
    public func leakyRelu(_ slope: Float = 0.01) -> Tensor { activation("leaky_relu", LeakyReLU(slope: slope), kind: .activation) }
    public func sigmoid() -> Tensor { activation("sigmoid", Sigmoid()) }
    /// `relu6(x + 3) / 6` (SeaFormer's h_sigmoid, PyTorch's Hardsigmoid).
    public func hardSigmoid() -> Tensor { activation("hard_sigmoid", HardSigmoid()) }
    public func hardSwish() -> Tensor { activation("hard_swish", HardSwish()) }
    public func silu() -> Tensor { activation("silu", SiLU()) }
    public func tanh() -> Tensor { activation("tanh", Tanh()) }
    /// GELU. `approximate: false` is the exact `x·Φ(x)` with erf; `true` is the tanh form.
    public func gelu(approximate: Bool = false) -> Tensor {
        approximate ? activation("gelu_tanh", GELUTanh()) : activation("gelu", GELU())
    }
}
