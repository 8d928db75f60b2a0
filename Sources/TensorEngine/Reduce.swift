import Foundation

// Reductions over any set of axes: sum, mean, amax, variance, logsumexp, argmax, each forward
// with its derivative. No permutes: the input shape is coalesced into alternating kept/reduced
// groups (size-1 axes dropped), and the innermost group decides the loop:
//   inner kept    — rows of `inner` contiguous floats are added/maxed into one output row
//                   (mean over H or over W of an NHWC tensor is this case, vectorised over W·C or C);
//   inner reduced — each output is a reduction of contiguous segments.
// The offsets of the other groups are enumerated once per call, so non-adjacent axes cost nothing
// extra. Work is split over output rows; when there are too few of those (mean over N·H·W of NHWC),
// over the reduced rows, into per-thread partials.

// MARK: vector helpers shared by Softmax.swift and Loss.swift

/// Sum of `n` contiguous floats: 32 float lanes, flushed into a Double every 4096 elements, so
/// the rounding error does not grow with `n` (PyTorch uses a cascade sum for the same reason).
@inline(__always)
func reduceSumContiguous(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = Swift.min(n, i + 4096)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        while i + 32 <= end {
            a0 += UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            a1 += UnsafeRawPointer(p + i + 16).loadUnaligned(as: SIMD16<Float>.self)
            i += 32
        }
        var s = horizontalSum(a0 + a1)
        while i < end { s += p[i]; i += 1 }
        total += Double(s)
    }
    return total
}

/// Σ a[i]·b[i] over `n` contiguous floats (same blocking as `reduceSumContiguous`).
@inline(__always)
func reduceDotContiguous(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = Swift.min(n, i + 4096)
        var acc = SIMD16<Float>()
        while i + 16 <= end {
            acc += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
            i += 16
        }
        var s = horizontalSum(acc)
        while i < end { s += a[i] * b[i]; i += 1 }
        total += Double(s)
    }
    return total
}

/// Maximum of `n ≥ 1` contiguous floats; NaN if any is NaN (as torch.amax).
@inline(__always)
func reduceMaxContiguous(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var m = -Float.infinity
    var i = 0
    if n >= 16 {
        var a = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
        i = 16
        while i + 16 <= n {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            // Replace where v is larger or NaN, unless the lane already holds a NaN (sticky).
            a.replace(with: v, where: .!(v .<= a) .& (a .== a))
            i += 16
        }
        m = horizontalMax(a)
        if m != m { return m }
    }
    while i < n { let v = p[i]; if v > m || v != v { m = v; if v != v { return v } }; i += 1 }
    return m
}

/// e^x (the hot callers pass softmax-style arguments ≤ 0): Cephes' expf polynomial (≈1 ulp), written
/// with plain arithmetic and bit casts so loops over it vectorise (libm's expf does not).
/// Underflows to 0 below -87.3 where expf would return a denormal.
@inline(__always)
func fastExp(_ x: Float) -> Float {
    let xc = x < -87.3 ? -87.3 : x
    let k = xc * 1.44269504 + 12582912  // 1.5·2²³: rounds x·log2(e) to an integer held in k's low bits
    let n = k - 12582912
    let r = xc - n * 0.693359375 + n * 2.12194440e-4
    let z = r * r
    var y: Float = 1.9875691500e-4
    y = y * r + 1.3981999507e-3
    y = y * r + 8.3334519073e-3
    y = y * r + 4.1665795894e-2
    y = y * r + 1.6666665459e-1
    y = y * r + 5.0000001201e-1
    y = y * z + r + 1
    let bits = (k.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
    let p = y * Float(bitPattern: bits)
    return x < -87.3 ? 0 : (x > 88.7 ? .infinity : p)
}

/// `fastExp` on 16 lanes (the same formula; explicit vectors because the sums below need them).
@inline(__always)
func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let lo = SIMD16<Float>(repeating: -87.3)
    let xc = x.replacing(with: lo, where: x .< lo)
    let k = xc * 1.44269504 + 12582912
    let n = k - 12582912
    let r = xc - n * 0.693359375 + n * 2.12194440e-4
    let z = r * r
    var y = SIMD16<Float>(repeating: 1.9875691500e-4)
    y = y * r + 1.3981999507e-3
    y = y * r + 8.3334519073e-3
    y = y * r + 4.1665795894e-2
    y = y * r + 1.6666665459e-1
    y = y * r + 5.0000001201e-1
    y = y * z + r + 1
    let bits = (unsafeBitCast(k, to: SIMD16<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    var p = y * unsafeBitCast(bits, to: SIMD16<Float>.self)
    p.replace(with: 0, where: x .< lo)
    p.replace(with: .infinity, where: x .> 88.7)
    return p
}

/// Σ exp(scale·(s[i] − shift)) over `n` contiguous floats, also storing each term in `store`
/// when given: the exp-and-sum of softmax and cross entropy in one vectorised pass.
@inline(__always)
func fastExpSum(_ s: UnsafePointer<Float>, _ n: Int, shift: Float, scale: Float, store: UnsafeMutablePointer<Float>?) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    if let store {
        while i + 16 <= n {
            let e = fastExp(scale * (UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - shift))
            UnsafeMutableRawPointer(store + i).storeBytes(of: e, as: SIMD16<Float>.self)
            acc += e
            i += 16
        }
    } else {
        while i + 16 <= n {
            acc += fastExp(scale * (UnsafeRawPointer(s + i).loadUnaligned(as: SIMD16<Float>.self) - shift))
            i += 16
        }
    }
    var t = horizontalSum(acc)
    while i < n { let e = fastExp(scale * (s[i] - shift)); store?[i] = e; t += e; i += 1 }
    return t
}

// MARK: plan

/// Which axes a reduction removes, normalised and checked (nil = all axes).
func reductionFlags(_ axes: [Int]?, rank: Int, op: String) -> [Bool] {
    var flags = [Bool](repeating: axes == nil, count: rank)
    for a in axes ?? [] {
        if rank == 0 && (a == 0 || a == -1) { continue }  // torch accepts dim 0/-1 on a scalar
        let n = a < 0 ? a + rank : a
        precondition(n >= 0 && n < rank, "\(op): axis \(a) out of range for rank \(rank) (axes \(axes!))")
        precondition(!flags[n], "\(op): axis \(a) appears twice in axes \(axes!)")
        flags[n] = true
    }
    return flags
}

/// Input offsets of every multi-index over `sizes` with `strides`, row-major.
private func enumerateOffsets(_ sizes: [Int], _ strides: [Int]) -> [Int] {
    var result = [0]
    for (s, st) in zip(sizes, strides) {
        var next = [Int]()
        next.reserveCapacity(result.count * s)
        for r in result { for i in 0..<s { next.append(r + i * st) } }
        result = next
    }
    return result
}

struct ReductionPlan {
    let inputShape: [Int]
    /// Input shape with reduced axes set to 1 (the result with keepDim).
    let keepShape: [Int]
    let outShape: [Int]
    let innerReduced: Bool
    /// Length of the innermost coalesced group (contiguous).
    let inner: Int
    /// Input offsets of the output rows (inner kept) or of the output elements (inner reduced).
    let outer: [Int]
    /// Input offsets of the reduced multi-indices, excluding the innermost group.
    let reduced: [Int]
    /// Number of input elements behind each output element.
    let reduceCount: Int

    var outCount: Int { innerReduced ? outer.count : outer.count * inner }

    init(shape: [Int], flags: [Bool], keepDim: Bool) {
        inputShape = shape
        keepShape = zip(shape, flags).map { $1 ? 1 : $0 }
        outShape = keepDim ? keepShape : zip(shape, flags).filter { !$0.1 }.map(\.0)
        reduceCount = zip(shape, flags).filter { $0.1 }.map(\.0).reduce(1, *)
        var sizes: [Int] = [], red: [Bool] = []
        for i in shape.indices where shape[i] != 1 {
            if let last = red.last, last == flags[i] { sizes[sizes.count - 1] *= shape[i] } else { sizes.append(shape[i]); red.append(flags[i]) }
        }
        let strides = contiguousStrides(sizes)
        innerReduced = red.last ?? false
        inner = sizes.last ?? 1
        let body = sizes.indices.dropLast()
        outer = enumerateOffsets(body.filter { !red[$0] }.map { sizes[$0] }, body.filter { !red[$0] }.map { strides[$0] })
        reduced = enumerateOffsets(body.filter { red[$0] }.map { sizes[$0] }, body.filter { red[$0] }.map { strides[$0] })
    }
}

// MARK: kernels

/// `dst[0..<n] = op over rows r0..<r1 of (src + offs[r])`. Sums add blocks of 128 rows in
/// `scratch` first, so the error grows with 128 + R/128 rather than R.
@inline(__always)
private func reduceRows(_ dst: UnsafeMutablePointer<Float>, _ n: Int, _ src: UnsafePointer<Float>, _ offs: UnsafePointer<Int>,
                        _ r0: Int, _ r1: Int, isMax: Bool, scratch: UnsafeMutablePointer<Float>) {
    if r0 >= r1 { dst.update(repeating: isMax ? -.infinity : 0, count: n); return }
    if isMax {
        dst.update(from: src + offs[r0], count: n)
        for r in (r0 + 1)..<r1 {
            let s = src + offs[r]
            for i in 0..<n { let v = s[i], b = dst[i]; dst[i] = (v > b || v != v) && b == b ? v : b }
        }
        return
    }
    var r = r0
    var first = true
    while r < r1 {
        let e = Swift.min(r1, r + 128)
        let acc = first ? dst : scratch
        acc.update(from: src + offs[r], count: n)
        for q in (r + 1)..<e { let s = src + offs[q]; for i in 0..<n { acc[i] += s[i] } }
        if !first { for i in 0..<n { dst[i] += acc[i] } }
        first = false
        r = e
    }
}

/// Sum (or max) of `x` under `plan`, times `scale`, into a new tensor of `plan.outShape`.
func reduceKernel(_ x: Tensor, _ plan: ReductionPlan, isMax: Bool, scale: Float = 1) -> Tensor {
    let out = Tensor(uninitializedShape: plan.outShape)
    let dst = out.pointer, src = UnsafePointer(x.pointer)
    let threads = Engine.threads
    if out.count == 0 { return out }
    if x.count == 0 {  // sums of nothing are 0 (and means 0·∞ = NaN below, as PyTorch)
        precondition(!isMax, "amax: cannot reduce over a zero-size dimension (shape \(x.shape))")
        dst.update(repeating: 0, count: out.count)
    } else {
    let I = plan.inner, O = plan.outer.count, R = plan.reduced.count
    plan.outer.withUnsafeBufferPointer { outerBuf in
    plan.reduced.withUnsafeBufferPointer { redBuf in
        let outer = outerBuf.baseAddress!, red = redBuf.baseAddress!
        if !plan.innerReduced {
            // Units are (output row, piece of the row); too few of them → split the reduced rows.
            let wanted = O >= 2 * threads ? 1 : (2 * threads + O - 1) / O
            let chunk = Swift.max(256, (I + wanted - 1) / wanted + 15) & ~15
            let pieces = (I + chunk - 1) / chunk
            let units = O * pieces
            if units < threads && R >= 2 * threads && O * I * R >= 1 << 15 {
                let nt = threads, rowLen = O * I
                let partials = UnsafeMutablePointer<Float>.allocate(capacity: nt * rowLen)
                defer { partials.deallocate() }
                partials.update(repeating: isMax ? -.infinity : 0, count: nt * rowLen)  // OpenMP may give fewer threads
                runOnThreads(nt) { t, n in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: I)
                    defer { scratch.deallocate() }
                    let r0 = R * t / n, r1 = R * (t + 1) / n
                    let p = partials + t * rowLen
                    for o in 0..<O { reduceRows(p + o * I, I, src + outer[o], red, r0, r1, isMax: isMax, scratch: scratch) }
                }
                for j in 0..<rowLen {
                    var v = partials[j]
                    for t in 1..<nt {
                        let w = partials[t * rowLen + j]
                        if isMax { v = (w > v || w != w) && v == v ? w : v } else { v += w }
                    }
                    dst[j] = v
                }
            } else {
                parallelFor(units, grain: Swift.max(1, (1 << 15) / Swift.max(1, chunk * R))) { range in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
                    defer { scratch.deallocate() }
                    for u in range {
                        let o = u / pieces, lo = (u % pieces) * chunk, len = Swift.min(chunk, I - lo)
                        reduceRows(dst + o * I + lo, len, src + outer[o] + lo, red, 0, R, isMax: isMax, scratch: scratch)
                    }
                }
            }
        } else {
            @inline(__always) func segment(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
                isMax ? Double(reduceMaxContiguous(p, n)) : reduceSumContiguous(p, n)
            }
            @inline(__always) func combine(_ a: Double, _ b: Double) -> Double {
                isMax ? ((b > a || b != b) && a == a ? b : a) : a + b
            }
            let identity: Double = isMax ? -.infinity : 0
            if O >= 2 * threads || (O >= threads && O % threads == 0) || O * R * I < 1 << 15 {
                parallelFor(O, grain: Swift.max(1, (1 << 15) / Swift.max(1, R * I))) { range in
                    for o in range {
                        var v = identity
                        let base = src + outer[o]
                        for r in 0..<R { v = combine(v, segment(base + red[r], I)) }
                        dst[o] = Float(v)
                    }
                }
            } else {
                // Few outputs: split (output, segment, piece of segment) units over the threads.
                let segs = O * R
                let pieces = segs >= 4 * threads ? 1 : Swift.max(1, Swift.min(I / 4096, (4 * threads + segs - 1) / segs))
                let chunk = (I + pieces - 1) / pieces
                let units = segs * pieces
                let partials = UnsafeMutablePointer<Double>.allocate(capacity: threads * O)
                defer { partials.deallocate() }
                partials.update(repeating: identity, count: threads * O)
                runOnThreads(threads) { t, n in
                    let p = partials + t * O
                    for u in (units * t / n)..<(units * (t + 1) / n) {
                        let o = u / (R * pieces), rem = u % (R * pieces), r = rem / pieces, lo = (rem % pieces) * chunk
                        let len = Swift.min(chunk, I - lo)
                        if len > 0 { p[o] = combine(p[o], segment(src + outer[o] + red[r] + lo, len)) }
                    }
                }
                for o in 0..<O {
                    var v = identity
                    for t in 0..<threads { v = combine(v, partials[t * O + o]) }
                    dst[o] = Float(v)
                }
            }
        }
    }
    }
    }
    if scale != 1 {
        parallelFor(out.count, grain: 1 << 15) { r in for i in r { dst[i] *= scale } }
    }
    return out
}

/// `g` (shaped like the reduction's output) broadcast back over the reduced axes, times `scale`.
func expandReduced(_ g: Tensor, keepShape: [Int], to shape: [Int], scale: Float = 1) -> Tensor {
    let out = Tensor(uninitializedShape: shape)
    let plan = StridedPlan(shape: shape, strides: [broadcastStrides(keepShape, to: shape), contiguousStrides(shape)])
    let n = plan.inner, s0 = plan.strides[0].last!
    let src = g.pointer, dst = out.pointer
    parallelFor(plan.rows, grain: Swift.max(1, (1 << 14) / Swift.max(n, 1))) { rows in
        for row in rows {
            let (o0, o1) = plan.offsets(row: row)
            let d = dst + o1, s = src + o0
            if s0 == 1 { for i in 0..<n { d[i] = s[i] * scale } } else { d.update(repeating: s[0] * scale, count: n) }
        }
    }
    return out
}

// MARK: public ops

extension Tensor {
    /// Sum over `axes` (all axes when nil; negative axes count from the end); reduced axes are
    /// dropped unless `keepDim`. `x.sum()` is the rank-0 total.
    public func sum(axes: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        let plan = ReductionPlan(shape: shape, flags: reductionFlags(axes, rank: rank, op: "sum"), keepDim: keepDim)
        let inShape = shape
        return reduceKernel(self, plan, isMax: false).record(inputs: [self], name: "sum") { g in
            [expandReduced(g, keepShape: plan.keepShape, to: inShape)]
        }
    }

    /// Mean over `axes` (all when nil); NaN for an empty reduction, as PyTorch.
    public func mean(axes: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        let plan = ReductionPlan(shape: shape, flags: reductionFlags(axes, rank: rank, op: "mean"), keepDim: keepDim)
        let inShape = shape
        let scale = 1 / Float(plan.reduceCount)
        return reduceKernel(self, plan, isMax: false, scale: scale).record(inputs: [self], name: "mean") { g in
            [expandReduced(g, keepShape: plan.keepShape, to: inShape, scale: scale)]
        }
    }

    /// Maximum over `axes` (torch.amax; all when nil). NaN propagates. The gradient is split
    /// evenly among the elements equal to the maximum (amax's rule; `max(dim)` would pick one).
    /// Named `amax` because a member called `max` would hide `Swift.max` in every Tensor extension.
    public func amax(axes: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        let flags = reductionFlags(axes, rank: rank, op: "amax")
        let plan = ReductionPlan(shape: shape, flags: flags, keepDim: keepDim)
        let y = reduceKernel(self, plan, isMax: true)
        guard GradMode.isEnabled && requiresGrad else { return y }
        let yv = y.detach()
        return y.record(inputs: [self], name: "amax") { [self] g in
            let yk = yv.reshape(plan.keepShape)
            let mask = mapBinary(self, yk, "amax") { $0 == $1 || ($0 != $0 && $1 != $1) ? 1 : 0 }
            let ties = reduceKernel(mask, ReductionPlan(shape: plan.inputShape, flags: flags, keepDim: true), isMax: false)
            let share = mapBinary(g.reshape(plan.keepShape), ties, "amax") { $0 / $1 }
            return [mapBinary(mask, share, "amax", *)]
        }
    }

    /// Variance over `axes` (all when nil); `unbiased` divides by n − 1 (torch.var's default).
    public func variance(axes: [Int]? = nil, keepDim: Bool = false, unbiased: Bool = true) -> Tensor {
        let flags = reductionFlags(axes, rank: rank, op: "variance")
        let plan = ReductionPlan(shape: shape, flags: flags, keepDim: keepDim)
        let keepPlan = ReductionPlan(shape: shape, flags: flags, keepDim: true)
        let n = plan.reduceCount
        let denom = Float(Swift.max(n - (unbiased ? 1 : 0), 0))
        // Two passes (mean, then squared deviations): stable where E[x²] − E[x]² is not.
        let m = reduceKernel(self, keepPlan, isMax: false, scale: 1 / Float(n))
        let sq = mapBinary(self, m, "variance") { let d = $0 - $1; return d * d }
        let y = reduceKernel(sq, plan, isMax: false, scale: 1 / denom)
        guard GradMode.isEnabled && requiresGrad else { return y }
        return y.record(inputs: [self], name: "variance") { [self] g in
            let gk = mapUnary(g.reshape(plan.keepShape)) { $0 * 2 / denom }
            let d = mapBinary(self, m, "variance", -)
            return [mapBinary(d, gk, "variance", *)]
        }
    }

    /// `log Σ exp(x)` over `axes`, computed as `m + log Σ exp(x − m)` with m the maximum, so large
    /// values do not overflow. All −∞ gives −∞ (as PyTorch).
    public func logsumexp(axes: [Int]? = nil, keepDim: Bool = false) -> Tensor {
        let flags = reductionFlags(axes, rank: rank, op: "logsumexp")
        let plan = ReductionPlan(shape: shape, flags: flags, keepDim: keepDim)
        let keepPlan = ReductionPlan(shape: shape, flags: flags, keepDim: true)
        let m = mapUnary(reduceKernel(self, keepPlan, isMax: true)) { $0.isInfinite ? 0 : $0 }
        let e = mapBinary(self, m, "logsumexp") { fastExp($0 - $1) }
        let s = reduceKernel(e, keepPlan, isMax: false)
        let yk = mapBinary(m, s, "logsumexp") { $0 + Foundation.log($1) }
        let y = yk.reshape(plan.outShape)
        guard GradMode.isEnabled && requiresGrad else { return y }
        return y.record(inputs: [self], name: "logsumexp") { [self] g in
            let w = mapBinary(self, yk, "logsumexp") { fastExp($0 - $1) }
            return [mapBinary(w, g.reshape(plan.keepShape), "logsumexp", *)]
        }
    }

    /// Index of the maximum along `axis` (over the flattened tensor when nil), as Float; the
    /// first maximum on ties, NaN counts as the maximum (as torch.argmax). Not differentiable.
    public func argmax(axis: Int? = nil, keepDim: Bool = false) -> Tensor {
        var flags = [Bool](repeating: axis == nil, count: rank)
        if let axis, rank > 0 { flags[normalizeAxis(axis, rank)] = true }
        let plan = ReductionPlan(shape: shape, flags: flags, keepDim: keepDim && axis != nil)
        precondition(plan.reduceCount > 0 || plan.outCount == 0, "argmax: cannot reduce over a zero-size dimension (shape \(shape))")
        let out = Tensor(uninitializedShape: plan.outShape)
        if out.count == 0 { return out }
        let src = UnsafePointer(pointer), dst = out.pointer
        let I = plan.inner, R = plan.reduced.count
        @inline(__always) func better(_ v: Float, _ b: Float) -> Bool { v > b || (v != v && b == b) }
        plan.outer.withUnsafeBufferPointer { outerBuf in
        plan.reduced.withUnsafeBufferPointer { redBuf in
            let outer = outerBuf.baseAddress!, red = redBuf.baseAddress!
            if plan.innerReduced {  // one contiguous segment per output (R == 1 for a single axis)
                parallelFor(outerBuf.count, grain: Swift.max(1, (1 << 14) / I)) { range in
                    for o in range {
                        let p = src + outer[o]
                        var best = p[0], idx = 0
                        for i in 1..<Swift.max(I, 1) where better(p[i], best) { best = p[i]; idx = i }
                        dst[o] = Float(idx)
                    }
                }
            } else {
                let chunk = 512, pieces = (I + chunk - 1) / chunk
                parallelFor(outerBuf.count * pieces, grain: Swift.max(1, (1 << 14) / Swift.max(1, chunk * R))) { range in
                    let bestBuf = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
                    defer { bestBuf.deallocate() }
                    for u in range {
                        let o = u / pieces, lo = (u % pieces) * chunk, len = Swift.min(chunk, I - lo)
                        let d = dst + o * I + lo
                        bestBuf.update(from: src + outer[o] + red[0] + lo, count: len)
                        d.update(repeating: 0, count: len)
                        for r in 1..<Swift.max(R, 1) {
                            let s = src + outer[o] + red[r] + lo
                            let fr = Float(r)
                            for i in 0..<len { let v = s[i]; if better(v, bestBuf[i]) { bestBuf[i] = v; d[i] = fr } }
                        }
                    }
                }
            }
        }
        }
        return out
    }
}
