/// NumPy broadcasting: shapes align at the right; a dimension of 1 stretches to match.

/// The broadcast result of two shapes, or nil when they are incompatible.
func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
    }
    return out
}

/// Strides that read a tensor of `shape` as if broadcast to `target` (0 on stretched dims).
func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
    let pad = target.count - shape.count
    let own = contiguousStrides(shape)
    return (0..<target.count).map { i in
        i < pad ? 0 : (shape[i - pad] == 1 && target[i] != 1 ? 0 : own[i - pad])
    }
}

/// An iteration plan over an output shape and the strides of up to two operands, with adjacent
/// dimensions merged wherever every operand is contiguous across them. The innermost dimension
/// is then as long as possible, which is what the kernels vectorise over.
struct StridedPlan {
    var shape: [Int]
    var strides: [[Int]]

    init(shape: [Int], strides: [[Int]]) {
        var s: [Int] = []
        var st: [[Int]] = strides.map { _ in [] }
        for i in 0..<shape.count where shape[i] != 1 {
            if let last = s.last, strides.indices.allSatisfy({ st[$0].last! == strides[$0][i] * shape[i] }) {
                s[s.count - 1] = last * shape[i]
                for k in strides.indices { st[k][st[k].count - 1] = strides[k][i] }
            } else {
                s.append(shape[i])
                for k in strides.indices { st[k].append(strides[k][i]) }
            }
        }
        if s.isEmpty { s = [1]; st = strides.map { _ in [1] } }
        self.shape = s
        self.strides = st
    }

    var inner: Int { shape.last! }
    var rows: Int { shape.dropLast().reduce(1, *) }

    /// Offsets of each operand at the start of outer row `row`.
    @inline(__always)
    func offsets(row: Int) -> (Int, Int) {
        var rem = row, o0 = 0, o1 = 0
        var d = shape.count - 2
        while d >= 0 {
            let i = rem % shape[d]
            rem /= shape[d]
            o0 += i * strides[0][d]
            if strides.count > 1 { o1 += i * strides[1][d] }
            d -= 1
        }
        return (o0, o1)
    }
}

extension Tensor {
    /// Sums a gradient of a broadcast result back to the shape of the operand that was broadcast.
    func sumToShape(_ target: [Int]) -> Tensor {
        if shape == target { return self }
        let out = Tensor.zeros(target)
        let plan = StridedPlan(shape: shape, strides: [contiguousStrides(shape), broadcastStrides(target, to: shape)])
        let src = pointer, dst = out.pointer
        let n = plan.inner, rows = plan.rows
        let dstStride = plan.strides[1].last!
        // Each thread accumulates its rows into a private buffer when the result is small
        // compared to the input (bias and BN-style reductions); otherwise one pass.
        let threads = (out.count * Engine.threads * 4 <= count && rows >= Engine.threads) ? Engine.threads : 1
        let partials = threads > 1 ? Tensor.zeros([threads, out.count]) : out
        runOnThreads(threads) { t, nt in
            let acc = partials.pointer + (threads > 1 ? t * out.count : 0)
            for row in (rows * t / nt)..<(rows * (t + 1) / nt) {
                let (o0, o1) = plan.offsets(row: row)
                let s = src + o0, d = acc + o1
                if dstStride == 0 {
                    var sum: Float = 0
                    for i in 0..<n { sum += s[i] }
                    d[0] += sum
                } else {
                    for i in 0..<n { d[i] += s[i] }
                }
            }
        }
        if threads > 1 {
            let p = partials.pointer
            for t in 0..<threads { for i in 0..<out.count { dst[i] += p[t * out.count + i] } }
        }
        return out
    }
}

extension Tensor {
    /// A materialised copy broadcast to `target` (kernel only; `expand` is the differentiable op).
    func broadcastKernel(to target: [Int]) -> Tensor {
        guard broadcastShape(shape, target) == target else {
            preconditionFailure("cannot broadcast shape \(shape) to \(target)")
        }
        if shape == target { return self }
        let out = Tensor(uninitializedShape: target)
        let plan = StridedPlan(shape: target, strides: [broadcastStrides(shape, to: target), contiguousStrides(target)])
        let n = plan.inner, s0 = plan.strides[0].last!
        let src = pointer, dst = out.pointer
        parallelFor(plan.rows, grain: max(1, (1 << 14) / max(n, 1))) { rows in
            for row in rows {
                let (o0, o1) = plan.offsets(row: row)
                if s0 == 1 { (dst + o1).update(from: src + o0, count: n) } else { (dst + o1).update(repeating: src[o0], count: n) }
            }
        }
        return out
    }
}
