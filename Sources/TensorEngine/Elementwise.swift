import Foundation

// Elementwise ops: forward kernel and derivative side by side. Binary ops broadcast by NumPy
// rules; their gradients are summed back to each operand's shape.

// MARK: kernels
//
// Element functions are small structs (`UnaryKernel`, `BinaryKernel`, `TernaryKernel`) so the
// kernels below are specialised per function and the per-element call inlines into a
// vectorised loop. A plain closure captured by the parallel loop would stay an indirect call
// per element (measured: 5–10× slower on relu). Closure overloads remain for one-off formulas.

protocol UnaryKernel { func callAsFunction(_ x: Float) -> Float }
protocol BinaryKernel { func callAsFunction(_ a: Float, _ b: Float) -> Float }
protocol TernaryKernel { func callAsFunction(_ a: Float, _ b: Float, _ c: Float) -> Float }

/// A unary element function with its derivative `dy/dx`, given the input x and output y.
protocol DifferentiableUnary: UnaryKernel { func derivative(_ x: Float, _ y: Float) -> Float }

/// `out[i] = f(x[i])`, split over the cores.
@inline(__always)
func mapUnary<F: UnaryKernel>(_ x: Tensor, _ f: F) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let s = x.pointer, d = out.pointer
    parallelFor(x.count, grain: 1 << 14) { r in
        for i in r { d[i] = f(s[i]) }
    }
    return out
}

/// `out = f(a, b)` with broadcasting.
@inline(__always)
func mapBinary<F: BinaryKernel>(_ a: Tensor, _ b: Tensor, _ op: String, _ f: F) -> Tensor {
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor(uninitializedShape: shape)
    let pa = a.pointer, pb = b.pointer, d = out.pointer
    if a.shape == b.shape {
        parallelFor(out.count, grain: 1 << 14) { r in
            for i in r { d[i] = f(pa[i], pb[i]) }
        }
        return out
    }
    let plan = StridedPlan(shape: shape, strides: [broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)])
    let n = plan.inner, sa = plan.strides[0].last!, sb = plan.strides[1].last!
    let rowGrain = max(1, (1 << 14) / max(n, 1))
    parallelFor(plan.rows, grain: rowGrain) { rows in
        for row in rows {
            let (oa, ob) = plan.offsets(row: row)
            let x = pa + oa, y = pb + ob, z = d + row * n
            switch (sa, sb) {
            case (1, 1): for i in 0..<n { z[i] = f(x[i], y[i]) }
            case (1, 0): let v = y[0]; for i in 0..<n { z[i] = f(x[i], v) }
            case (0, 1): let v = x[0]; for i in 0..<n { z[i] = f(v, y[i]) }
            default: let v = f(x[0], y[0]); for i in 0..<n { z[i] = v }
            }
        }
    }
    return out
}

/// `out = f(a, b, c)` for three same-shape tensors (fused backward formulas).
@inline(__always)
func mapTernary<F: TernaryKernel>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: F) -> Tensor {
    precondition(a.shape == b.shape && b.shape == c.shape, "mapTernary: shapes \(a.shape), \(b.shape), \(c.shape) differ")
    let out = Tensor(uninitializedShape: a.shape)
    let pa = a.pointer, pb = b.pointer, pc = c.pointer, d = out.pointer
    parallelFor(out.count, grain: 1 << 14) { r in
        for i in r { d[i] = f(pa[i], pb[i], pc[i]) }
    }
    return out
}

private struct UnaryClosure: UnaryKernel {
    let f: (Float) -> Float
    func callAsFunction(_ x: Float) -> Float { f(x) }
}
private struct BinaryClosure: BinaryKernel {
    let f: (Float, Float) -> Float
    func callAsFunction(_ a: Float, _ b: Float) -> Float { f(a, b) }
}
private struct TernaryClosure: TernaryKernel {
    let f: (Float, Float, Float) -> Float
    func callAsFunction(_ a: Float, _ b: Float, _ c: Float) -> Float { f(a, b, c) }
}

func mapUnary(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    withoutActuallyEscaping(f) { mapUnary(x, UnaryClosure(f: $0)) }
}
func mapBinary(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Float) -> Tensor {
    withoutActuallyEscaping(f) { mapBinary(a, b, op, BinaryClosure(f: $0)) }
}
func mapTernary(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
    withoutActuallyEscaping(f) { mapTernary(a, b, c, TernaryClosure(f: $0)) }
}

/// The chain rule of a unary function: `g · f'(x, y)`.
private struct ChainRule<F: DifferentiableUnary>: TernaryKernel {
    let f: F
    func callAsFunction(_ g: Float, _ x: Float, _ y: Float) -> Float { g * f.derivative(x, y) }
}

/// Applies `f` and records its derivative `g · f'(x, y)` (x input, y output).
@inline(__always)
func unaryOp<F: DifferentiableUnary>(_ x: Tensor, _ name: String, _ f: F) -> Tensor {
    let y = mapUnary(x, f)
    guard GradMode.isEnabled && x.requiresGrad else { return y }
    let yv = y.detach()
    return y.record(inputs: [x], name: name) { g in [mapTernary(g, x, yv, ChainRule(f: f))] }
}

// Binary arithmetic element functions.
struct Add: BinaryKernel { func callAsFunction(_ a: Float, _ b: Float) -> Float { a + b } }
struct Sub: BinaryKernel { func callAsFunction(_ a: Float, _ b: Float) -> Float { a - b } }
struct Mul: BinaryKernel { func callAsFunction(_ a: Float, _ b: Float) -> Float { a * b } }
struct Div: BinaryKernel { func callAsFunction(_ a: Float, _ b: Float) -> Float { a / b } }

// Unary arithmetic element functions with their derivatives.
struct Negate: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { -x }
    func derivative(_ x: Float, _ y: Float) -> Float { -1 }
}
struct AddScalar: DifferentiableUnary {
    let s: Float
    func callAsFunction(_ x: Float) -> Float { x + s }
    func derivative(_ x: Float, _ y: Float) -> Float { 1 }
}
struct ScalarMinus: DifferentiableUnary {
    let s: Float
    func callAsFunction(_ x: Float) -> Float { s - x }
    func derivative(_ x: Float, _ y: Float) -> Float { -1 }
}
struct MulScalar: DifferentiableUnary {
    let s: Float
    func callAsFunction(_ x: Float) -> Float { x * s }
    func derivative(_ x: Float, _ y: Float) -> Float { s }
}
struct ScalarOver: DifferentiableUnary {
    let s: Float
    func callAsFunction(_ x: Float) -> Float { s / x }
    func derivative(_ x: Float, _ y: Float) -> Float { -s / (x * x) }
}
struct Absolute: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Swift.abs(x) }
    func derivative(_ x: Float, _ y: Float) -> Float { x > 0 ? 1 : (x < 0 ? -1 : 0) }
}
struct Exponential: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Foundation.exp(x) }
    func derivative(_ x: Float, _ y: Float) -> Float { y }
}
struct Logarithm: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { Foundation.log(x) }
    func derivative(_ x: Float, _ y: Float) -> Float { 1 / x }
}
struct SquareRoot: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
    func derivative(_ x: Float, _ y: Float) -> Float { 0.5 / y }
}
struct ReciprocalSquareRoot: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { 1 / x.squareRoot() }
    func derivative(_ x: Float, _ y: Float) -> Float { -0.5 * y * y * y }
}
struct Squared: DifferentiableUnary {
    func callAsFunction(_ x: Float) -> Float { x * x }
    func derivative(_ x: Float, _ y: Float) -> Float { 2 * x }
}
struct Power: DifferentiableUnary {
    let p: Float
    func callAsFunction(_ x: Float) -> Float { Foundation.pow(x, p) }
    func derivative(_ x: Float, _ y: Float) -> Float { p * Foundation.pow(x, p - 1) }
}
/// Clamp; the gradient passes inside the bounds and at them (PyTorch).
struct Clamp: DifferentiableUnary {
    let lo: Float, hi: Float
    func callAsFunction(_ x: Float) -> Float { Swift.min(Swift.max(x, lo), hi) }
    func derivative(_ x: Float, _ y: Float) -> Float { (x >= lo && x <= hi) ? 1 : 0 }
}

// MARK: arithmetic

public func + (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "add", Add()).record(inputs: [a, b], name: "add") { g in
        [g.sumToShape(a.shape), g.sumToShape(b.shape)]
    }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "sub", Sub()).record(inputs: [a, b], name: "sub") { g in
        [g.sumToShape(a.shape), (-g).sumToShape(b.shape)]
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "mul", Mul()).record(inputs: [a, b], name: "mul") { g in
        [a.requiresGrad ? mapBinary(g, b, "mul", Mul()).sumToShape(a.shape) : nil,
         b.requiresGrad ? mapBinary(g, a, "mul", Mul()).sumToShape(b.shape) : nil]
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "div", Div()).record(inputs: [a, b], name: "div") { g in
        [a.requiresGrad ? (g / b).sumToShape(a.shape) : nil,
         b.requiresGrad ? mapBinary(g * a, b, "div") { ga, b in -ga / (b * b) }.sumToShape(b.shape) : nil]
    }
}

public prefix func - (x: Tensor) -> Tensor { unaryOp(x, "neg", Negate()) }

public func + (a: Tensor, s: Float) -> Tensor { unaryOp(a, "add_scalar", AddScalar(s: s)) }
public func + (s: Float, a: Tensor) -> Tensor { a + s }
public func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
public func - (s: Float, a: Tensor) -> Tensor { unaryOp(a, "rsub_scalar", ScalarMinus(s: s)) }
public func * (a: Tensor, s: Float) -> Tensor { unaryOp(a, "mul_scalar", MulScalar(s: s)) }
public func * (s: Float, a: Tensor) -> Tensor { a * s }
public func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
public func / (s: Float, a: Tensor) -> Tensor { unaryOp(a, "rdiv_scalar", ScalarOver(s: s)) }

extension Tensor {
    public func abs() -> Tensor { unaryOp(self, "abs", Absolute()) }
    public func exp() -> Tensor { unaryOp(self, "exp", Exponential()) }
    public func log() -> Tensor { unaryOp(self, "log", Logarithm()) }
    public func sqrt() -> Tensor { unaryOp(self, "sqrt", SquareRoot()) }
    public func rsqrt() -> Tensor { unaryOp(self, "rsqrt", ReciprocalSquareRoot()) }
    public func square() -> Tensor { unaryOp(self, "square", Squared()) }

    /// `x ** p` for a scalar exponent.
    public func pow(_ p: Float) -> Tensor {
        if p == 2 { return square() }
        return unaryOp(self, "pow", Power(p: p))
    }

    /// Clamps into `[lo, hi]`; the gradient passes where the input is inside (PyTorch: at the
    /// bounds too).
    public func clamp(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        unaryOp(self, "clamp", Clamp(lo: lo, hi: hi))
    }
}

/// Elementwise maximum; on ties the gradient is split evenly (as PyTorch does).
public func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
    mapBinary(a, b, "maximum") { Swift.max($0, $1) }.record(inputs: [a, b], name: "maximum") { g in
        [a.requiresGrad ? (g * mapBinary(a, b, "maximum") { $0 > $1 ? 1 : ($0 == $1 ? 0.5 : 0) }).sumToShape(a.shape) : nil,
         b.requiresGrad ? (g * mapBinary(a, b, "maximum") { $0 < $1 ? 1 : ($0 == $1 ? 0.5 : 0) }).sumToShape(b.shape) : nil]
    }
}

/// Elementwise minimum; on ties the gradient is split evenly.
public func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
    mapBinary(a, b, "minimum") { Swift.min($0, $1) }.record(inputs: [a, b], name: "minimum") { g in
        [a.requiresGrad ? (g * mapBinary(a, b, "minimum") { $0 < $1 ? 1 : ($0 == $1 ? 0.5 : 0) }).sumToShape(a.shape) : nil,
         b.requiresGrad ? (g * mapBinary(a, b, "minimum") { $0 > $1 ? 1 : ($0 == $1 ? 0.5 : 0) }).sumToShape(b.shape) : nil]
    }
}

/// `cond != 0 ? a : b`, broadcasting all three. The condition gets no gradient.
public func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
    guard let ab = broadcastShape(a.shape, b.shape), let shape = broadcastShape(cond.shape, ab) else {
        preconditionFailure("where: shapes \(cond.shape), \(a.shape), \(b.shape) do not broadcast")
    }
    let c = cond.broadcastKernel(to: shape), x = a.broadcastKernel(to: shape), y = b.broadcastKernel(to: shape)
    return mapTernary(c, x, y) { c, x, y in c != 0 ? x : y }.record(inputs: [a, b], name: "where") { g in
        [a.requiresGrad ? mapBinary(g, c, "where") { g, c in c != 0 ? g : 0 }.sumToShape(a.shape) : nil,
         b.requiresGrad ? mapBinary(g, c, "where") { g, c in c != 0 ? 0 : g }.sumToShape(b.shape) : nil]
    }
}

// MARK: comparisons (masks of 0 and 1, no gradient)

extension Tensor {
    public func greater(_ other: Tensor) -> Tensor { mapBinary(self, other, "greater") { $0 > $1 ? 1 : 0 } }
    public func greaterEqual(_ other: Tensor) -> Tensor { mapBinary(self, other, "greaterEqual") { $0 >= $1 ? 1 : 0 } }
    public func less(_ other: Tensor) -> Tensor { mapBinary(self, other, "less") { $0 < $1 ? 1 : 0 } }
    public func lessEqual(_ other: Tensor) -> Tensor { mapBinary(self, other, "lessEqual") { $0 <= $1 ? 1 : 0 } }
    public func equal(_ other: Tensor) -> Tensor { mapBinary(self, other, "equal") { $0 == $1 ? 1 : 0 } }
    public func notEqual(_ other: Tensor) -> Tensor { mapBinary(self, other, "notEqual") { $0 != $1 ? 1 : 0 } }
    public func greater(_ s: Float) -> Tensor { mapUnary(self) { $0 > s ? 1 : 0 } }
    public func less(_ s: Float) -> Tensor { mapUnary(self) { $0 < s ? 1 : 0 } }
    public func equal(_ s: Float) -> Tensor { mapUnary(self) { $0 == s ? 1 : 0 } }
}
