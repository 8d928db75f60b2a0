import Foundation

// Softmax and log-softmax along any axis, forward with derivative. The tensor is viewed as
// `outer` blocks of K×inner with the softmax axis (length K) at stride `inner`. inner == 1 (the
// last axis, e.g. classes of NHWC logits) runs one contiguous row at a time; otherwise a strip of
// up to 512 inner positions is processed together so every loop stays contiguous.

/// (outer, K, inner) view of `shape` around `axis`; a rank-0 tensor counts as [1].
func softmaxLayout(_ shape: [Int], _ axis: Int, op: String) -> (outer: Int, k: Int, inner: Int) {
    if shape.isEmpty {
        precondition(axis == 0 || axis == -1, "\(op): axis \(axis) out of range for a rank-0 tensor")
        return (1, 1, 1)
    }
    let r = shape.count
    let a = axis < 0 ? axis + r : axis
    precondition(a >= 0 && a < r, "\(op): axis \(axis) out of range for shape \(shape)")
    return (shape[..<a].reduce(1, *), shape[a], shape[(a + 1)...].reduce(1, *))
}

private let softmaxStrip = 512

/// softmax(scale·x) (or its log) along `axis`; `scale` > 0 is the inverse temperature.
func softmaxKernel(_ x: Tensor, axis: Int, log: Bool, scale: Float = 1) -> Tensor {
    precondition(scale > 0, "softmax: scale \(scale) must be positive")
    let (O, K, I) = softmaxLayout(x.shape, axis, op: log ? "logSoftmax" : "softmax")
    let out = Tensor(uninitializedShape: x.shape)
    if x.count == 0 { return out }
    let src = UnsafePointer(x.pointer), dst = out.pointer
    if I == 1 {
        parallelFor(O, grain: Swift.max(1, (1 << 13) / K)) { rows in
            for o in rows {
                let s = src + o * K, d = dst + o * K
                let m = reduceMaxContiguous(s, K)
                let sum = fastExpSum(s, K, shift: m, scale: scale, store: d)
                if log {
                    let l = Foundation.log(sum)
                    for i in 0..<K { d[i] = scale * (s[i] - m) - l }
                } else {
                    let inv = 1 / sum
                    for i in 0..<K { d[i] *= inv }
                }
            }
        }
        return out
    }
    let pieces = (I + softmaxStrip - 1) / softmaxStrip
    parallelFor(O * pieces, grain: Swift.max(1, (1 << 13) / (K * Swift.min(I, softmaxStrip)))) { units in
        let mx = UnsafeMutablePointer<Float>.allocate(capacity: 2 * softmaxStrip)
        defer { mx.deallocate() }
        let sm = mx + softmaxStrip
        for u in units {
            let o = u / pieces, lo = (u % pieces) * softmaxStrip, n = Swift.min(softmaxStrip, I - lo)
            let base = o * K * I + lo
            mx.update(from: src + base, count: n)
            for k in 1..<K {
                let s = src + base + k * I
                for i in 0..<n { let v = s[i]; mx[i] = v > mx[i] ? v : mx[i] }
            }
            sm.update(repeating: 0, count: n)
            for k in 0..<K {
                let s = src + base + k * I, d = dst + base + k * I
                for i in 0..<n { let e = fastExp(scale * (s[i] - mx[i])); d[i] = e; sm[i] += e }
            }
            if log {
                for i in 0..<n { sm[i] = Foundation.log(sm[i]) }
                for k in 0..<K {
                    let s = src + base + k * I, d = dst + base + k * I
                    for i in 0..<n { d[i] = scale * (s[i] - mx[i]) - sm[i] }
                }
            } else {
                for i in 0..<n { sm[i] = 1 / sm[i] }
                for k in 0..<K {
                    let d = dst + base + k * I
                    for i in 0..<n { d[i] *= sm[i] }
                }
            }
        }
    }
    return out
}

/// Gradient of softmax(scale·x) from its output `y` and the output gradient `g`:
/// `scale·y·(g − Σ g·y)`, or for log-softmax `scale·(g − exp(y)·Σ g)`.
func softmaxBackwardKernel(y: Tensor, g: Tensor, axis: Int, log: Bool, scale: Float = 1) -> Tensor {
    precondition(y.shape == g.shape, "softmax backward: gradient shape \(g.shape) differs from output shape \(y.shape)")
    let (O, K, I) = softmaxLayout(y.shape, axis, op: "softmax backward")
    let out = Tensor(uninitializedShape: y.shape)
    if y.count == 0 { return out }
    let py = UnsafePointer(y.pointer), pg = UnsafePointer(g.pointer), dst = out.pointer
    if I == 1 {
        parallelFor(O, grain: Swift.max(1, (1 << 13) / K)) { rows in
            for o in rows {
                let yy = py + o * K, gg = pg + o * K, d = dst + o * K
                if log {
                    let s = Float(reduceSumContiguous(gg, K))
                    for i in 0..<K { d[i] = scale * (gg[i] - fastExp(yy[i]) * s) }
                } else {
                    let s = Float(reduceDotContiguous(gg, yy, K))
                    for i in 0..<K { d[i] = scale * yy[i] * (gg[i] - s) }
                }
            }
        }
        return out
    }
    let pieces = (I + softmaxStrip - 1) / softmaxStrip
    parallelFor(O * pieces, grain: Swift.max(1, (1 << 13) / (K * Swift.min(I, softmaxStrip)))) { units in
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: softmaxStrip)
        defer { acc.deallocate() }
        for u in units {
            let o = u / pieces, lo = (u % pieces) * softmaxStrip, n = Swift.min(softmaxStrip, I - lo)
            let base = o * K * I + lo
            acc.update(repeating: 0, count: n)
            for k in 0..<K {
                let yy = py + base + k * I, gg = pg + base + k * I
                if log { for i in 0..<n { acc[i] += gg[i] } } else { for i in 0..<n { acc[i] += gg[i] * yy[i] } }
            }
            for k in 0..<K {
                let yy = py + base + k * I, gg = pg + base + k * I, d = dst + base + k * I
                if log {
                    for i in 0..<n { d[i] = scale * (gg[i] - fastExp(yy[i]) * acc[i]) }
                } else {
                    for i in 0..<n { d[i] = scale * yy[i] * (gg[i] - acc[i]) }
                }
            }
        }
    }
    return out
}

extension Tensor {
    /// `exp(x) / Σ exp(x)` along `axis` (any axis; negative counts from the end), computed
    /// stably by subtracting the maximum.
    public func softmax(axis: Int = -1) -> Tensor {
        let y = softmaxKernel(self, axis: axis, log: false)
        guard GradMode.isEnabled && requiresGrad else { return y }
        let yv = y.detach()
        return y.record(inputs: [self], name: "softmax") { g in
            [softmaxBackwardKernel(y: yv, g: g, axis: axis, log: false)]
        }
    }

    /// `x − log Σ exp(x)` along `axis`, stable for large values.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let y = softmaxKernel(self, axis: axis, log: true)
        guard GradMode.isEnabled && requiresGrad else { return y }
        let yv = y.detach()
        return y.record(inputs: [self], name: "log_softmax") { g in
            [softmaxBackwardKernel(y: yv, g: g, axis: axis, log: true)]
        }
    }
}
