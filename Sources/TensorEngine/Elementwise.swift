import Foundation

// Elementwise ops: forward kernel and derivative side by side. Binary ops broadcast by NumPy
// rules; their gradients are summed back to each operand's shape.

// MARK: kernels

/// `out[i] = f(x[i])`, split over the cores.
@inline(__always)
func mapUnary(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let s = x.pointer, d = out.pointer
    parallelFor(x.count, grain: 1 << 14) { r in
        for i in r { d[i] = f(s[i]) }
    }
    return out
}

/// `out = f(a, b)` with broadcasting.
@inline(__always)
func mapBinary(_ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Float) -> Tensor {
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
func mapTernary(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ f: (Float, Float, Float) -> Float) -> Tensor {
    precondition(a.shape == b.shape && b.shape == c.shape, "mapTernary: shapes \(a.shape), \(b.shape), \(c.shape) differ")
    let out = Tensor(uninitializedShape: a.shape)
    let pa = a.pointer, pb = b.pointer, pc = c.pointer, d = out.pointer
    parallelFor(out.count, grain: 1 << 14) { r in
        for i in r { d[i] = f(pa[i], pb[i], pc[i]) }
    }
    return out
}

/// Records a unary op whose derivative is `g * df(x, y)` (x input, y output).
@inline(__always)
func unaryOp(_ x: Tensor, _ name: String, _ f: (Float) -> Float, derivative df: @escaping (Float, Float) -> Float) -> Tensor {
    let y = mapUnary(x, f)
    guard GradMode.isEnabled && x.requiresGrad else { return y }
    let yv = y.detach()
    return y.record(inputs: [x], name: name) { g in [mapTernary(g, x, yv) { g, x, y in g * df(x, y) }] }
}

// MARK: arithmetic

public func + (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "add", +).record(inputs: [a, b], name: "add") { g in
        [g.sumToShape(a.shape), g.sumToShape(b.shape)]
    }
}

public func - (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "sub", -).record(inputs: [a, b], name: "sub") { g in
        [g.sumToShape(a.shape), (-g).sumToShape(b.shape)]
    }
}

public func * (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "mul", *).record(inputs: [a, b], name: "mul") { g in
        [a.requiresGrad ? (g * b).sumToShape(a.shape) : nil,
         b.requiresGrad ? (g * a).sumToShape(b.shape) : nil]
    }
}

public func / (a: Tensor, b: Tensor) -> Tensor {
    mapBinary(a, b, "div", /).record(inputs: [a, b], name: "div") { g in
        [a.requiresGrad ? (g / b).sumToShape(a.shape) : nil,
         b.requiresGrad ? mapBinary(g * a, b, "div") { ga, b in -ga / (b * b) }.sumToShape(b.shape) : nil]
    }
}

public prefix func - (x: Tensor) -> Tensor { unaryOp(x, "neg", { -$0 }, derivative: { _, _ in -1 }) }

public func + (a: Tensor, s: Float) -> Tensor { unaryOp(a, "add_scalar", { $0 + s }, derivative: { _, _ in 1 }) }
public func + (s: Float, a: Tensor) -> Tensor { a + s }
public func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
public func - (s: Float, a: Tensor) -> Tensor { unaryOp(a, "rsub_scalar", { s - $0 }, derivative: { _, _ in -1 }) }
public func * (a: Tensor, s: Float) -> Tensor { unaryOp(a, "mul_scalar", { $0 * s }, derivative: { _, _ in s }) }
public func * (s: Float, a: Tensor) -> Tensor { a * s }
public func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
public func / (s: Float, a: Tensor) -> Tensor {
    unaryOp(a, "rdiv_scalar", { s / $0 }, derivative: { x, _ in -s / (x * x) })
}

extension Tensor {
    public func abs() -> Tensor { unaryOp(self, "abs", { Swift.abs($0) }, derivative: { x, _ in x > 0 ? 1 : (x < 0 ? -1 : 0) }) }
    public func exp() -> Tensor { unaryOp(self, "exp", { Foundation.exp($0) }, derivative: { _, y in y }) }
    public func log() -> Tensor { unaryOp(self, "log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { unaryOp(self, "sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    public func rsqrt() -> Tensor { unaryOp(self, "rsqrt", { 1 / $0.squareRoot() }, derivative: { _, y in -0.5 * y * y * y }) }
    public func square() -> Tensor { unaryOp(self, "square", { $0 * $0 }, derivative: { x, _ in 2 * x }) }

    /// `x ** p` for a scalar exponent.
    public func pow(_ p: Float) -> Tensor {
        if p == 2 { return square() }
        return unaryOp(self, "pow", { Foundation.pow($0, p) }, derivative: { x, _ in p * Foundation.pow(x, p - 1) })
    }

    /// Clamps into `[lo, hi]`; the gradient passes where the input is inside (PyTorch: at the
    /// bounds too).
    public func clamp(min lo: Float = -.infinity, max hi: Float = .infinity) -> Tensor {
        unaryOp(self, "clamp", { Swift.min(Swift.max($0, lo), hi) }, derivative: { x, _ in (x >= lo && x <= hi) ? 1 : 0 })
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
