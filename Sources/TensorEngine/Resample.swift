import Foundation

// Resampling ops on channels-last tensors (bilinear, nearest, 1-D linear) and the fused
// bilinear-upsample + argmax used at segmentation inference: forward kernels and derivative
// rules side by side. Source indices and weights are computed once per output row/column with
// PyTorch's float formulas; each output pixel then blends whole channel vectors.

/// Linear-interpolation taps along one axis, PyTorch's `area_pixel_compute_source_index` and
/// `guard_index_and_lambda` in float: `i0 = min(floor(src), in − 1)`, `i1 = min(i0 + 1, in − 1)`,
/// `λ = clamp(src − i0, 0, 1)`, weights `(1 − λ, λ)`.
struct LinearTaps {
    var i0: [Int] = [], i1: [Int] = [], w0: [Float] = [], w1: [Float] = []

    init(inSize: Int, outSize: Int, alignCorners: Bool) {
        let scale: Float = alignCorners ? (outSize > 1 ? Float(inSize - 1) / Float(outSize - 1) : 0)
                                        : Float(inSize) / Float(outSize)
        for o in 0..<outSize {
            let src: Float = alignCorners ? scale * Float(o) : Swift.max(scale * (Float(o) + 0.5) - 0.5, 0)
            let a = Swift.min(Int(src.rounded(.down)), inSize - 1)
            let lambda = Swift.min(Swift.max(src - Float(a), 0), 1)
            i0.append(a)
            i1.append(a < inSize - 1 ? a + 1 : a)
            w0.append(1 - lambda)
            w1.append(lambda)
        }
    }
}

/// PyTorch's `nearest_idx` ('nearest' mode): identity and exact 2× are special-cased, otherwise
/// `min(floor(o · (in/out)), in − 1)` in float.
func nearestIndices(inSize: Int, outSize: Int) -> [Int] {
    if outSize == inSize { return Array(0..<outSize) }
    if outSize == 2 * inSize { return (0..<outSize).map { $0 >> 1 } }
    let scale = Float(inSize) / Float(outSize)
    return (0..<outSize).map { Swift.min(Int((Float($0) * scale).rounded(.down)), inSize - 1) }
}

private func checkImage(_ op: String, _ x: Tensor, _ size: (Int, Int)) {
    precondition(x.rank == 4, "\(op): expected an NHWC tensor of rank 4, got shape \(x.shape)")
    precondition(size.0 > 0 && size.1 > 0, "\(op): output size \(size) must be positive")
    precondition(x.shape[1] > 0 && x.shape[2] > 0, "\(op): empty spatial input \(x.shape)")
}

// MARK: bilinear

/// Bilinear resize of NHWC `x` to `size` (H, W), PyTorch's `F.interpolate(x, size,
/// mode='bilinear', align_corners)`. Indices and weights follow PyTorch bit for bit; the blend
/// is `h0·(w0·x00 + w1·x01) + h1·(w0·x10 + w1·x11)`, the order of PyTorch's generic kernel.
public func interpolateBilinear(_ x: Tensor, size: (Int, Int), alignCorners: Bool = false) -> Tensor {
    checkImage("interpolateBilinear", x, size)
    let N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    let OH = size.0, OW = size.1
    if OH == H && OW == W {
        // Both align modes give src = o, λ = 0 exactly: the identity.
        return Tensor(sharing: x.storage, shape: x.shape).record(inputs: [x], name: "interpolate_bilinear") { g in [g] }
    }
    let th = LinearTaps(inSize: H, outSize: OH, alignCorners: alignCorners)
    let tw = LinearTaps(inSize: W, outSize: OW, alignCorners: alignCorners)
    let out = Tensor(uninitializedShape: [N, OH, OW, C])
    let src = x.pointer, dst = out.pointer
    parallelFor(N * OH, grain: Swift.max(1, 8192 / Swift.max(OW * C, 1))) { r in
        for row in r {
            let n = row / OH, oh = row % OH
            let r0 = src + (n * H + th.i0[oh]) * W * C, r1 = src + (n * H + th.i1[oh]) * W * C
            let h0 = th.w0[oh], h1 = th.w1[oh]
            for ow in 0..<OW {
                let a = r0 + tw.i0[ow] * C, b = r0 + tw.i1[ow] * C, c0 = r1 + tw.i0[ow] * C, d = r1 + tw.i1[ow] * C
                let w0 = tw.w0[ow], w1 = tw.w1[ow]
                let o = dst + (row * OW + ow) * C
                for c in 0..<C { o[c] = h0 * (w0 * a[c] + w1 * b[c]) + h1 * (w0 * c0[c] + w1 * d[c]) }
            }
        }
    }
    return out.record(inputs: [x], name: "interpolate_bilinear") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer
        forEachSampleChannelBlock(samples: N, channels: C, work: g.count * 4) { n, cr in
            for oh in 0..<OH {
                let r0 = dp + (n * H + th.i0[oh]) * W * C, r1 = dp + (n * H + th.i1[oh]) * W * C
                let h0 = th.w0[oh], h1 = th.w1[oh]
                for ow in 0..<OW {
                    let a = r0 + tw.i0[ow] * C, b = r0 + tw.i1[ow] * C, c0 = r1 + tw.i0[ow] * C, d = r1 + tw.i1[ow] * C
                    let w00 = h0 * tw.w0[ow], w01 = h0 * tw.w1[ow], w10 = h1 * tw.w0[ow], w11 = h1 * tw.w1[ow]
                    let q = gp + ((n * OH + oh) * OW + ow) * C
                    // Sequential adds: the four taps may be the same pixel at the borders.
                    for c in cr { a[c] += w00 * q[c] }
                    for c in cr { b[c] += w01 * q[c] }
                    for c in cr { c0[c] += w10 * q[c] }
                    for c in cr { d[c] += w11 * q[c] }
                }
            }
        }
        return [dx]
    }
}

// MARK: nearest

/// Nearest-neighbour resize of NHWC `x` to `size` (H, W), PyTorch's `F.interpolate(x, size,
/// mode='nearest')` (source index `min(floor(o·in/out), in − 1)`).
public func interpolateNearest(_ x: Tensor, size: (Int, Int)) -> Tensor {
    checkImage("interpolateNearest", x, size)
    let N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    let OH = size.0, OW = size.1
    let ih = nearestIndices(inSize: H, outSize: OH), iw = nearestIndices(inSize: W, outSize: OW)
    let out = Tensor(uninitializedShape: [N, OH, OW, C])
    let src = x.pointer, dst = out.pointer
    parallelFor(N * OH, grain: Swift.max(1, 8192 / Swift.max(OW * C, 1))) { r in
        for row in r {
            let n = row / OH, oh = row % OH
            let s = src + (n * H + ih[oh]) * W * C
            for ow in 0..<OW { (dst + (row * OW + ow) * C).update(from: s + iw[ow] * C, count: C) }
        }
    }
    return out.record(inputs: [x], name: "interpolate_nearest") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer
        forEachSampleChannelBlock(samples: N, channels: C, work: g.count) { n, cr in
            for oh in 0..<OH {
                let s = dp + (n * H + ih[oh]) * W * C
                for ow in 0..<OW {
                    let p = s + iw[ow] * C, q = gp + ((n * OH + oh) * OW + ow) * C
                    for c in cr { p[c] += q[c] }
                }
            }
        }
        return [dx]
    }
}

// MARK: 1-D linear

/// Linear resize along the length axis of channels-last `x` [N, L, C] to `size`, PyTorch's
/// `F.interpolate(x_ncl, size, mode='linear', align_corners)` on the transposed layout
/// (`y = w0·x[i0] + w1·x[i1]`; L → L is the identity, 2L → L averages pairs).
public func interpolateLinear1d(_ x: Tensor, size: Int, alignCorners: Bool = false) -> Tensor {
    precondition(x.rank == 3, "interpolateLinear1d: expected [N, L, C], got shape \(x.shape)")
    precondition(size > 0 && x.shape[1] > 0, "interpolateLinear1d: output size \(size) and input length \(x.shape[1]) must be positive")
    let N = x.shape[0], L = x.shape[1], C = x.shape[2]
    let t = LinearTaps(inSize: L, outSize: size, alignCorners: alignCorners)
    let out = Tensor(uninitializedShape: [N, size, C])
    let src = x.pointer, dst = out.pointer
    parallelFor(N * size, grain: Swift.max(1, 8192 / Swift.max(C, 1))) { r in
        for row in r {
            let n = row / size, o = row % size
            let a = src + (n * L + t.i0[o]) * C, b = src + (n * L + t.i1[o]) * C, y = dst + row * C
            let w0 = t.w0[o], w1 = t.w1[o]
            for c in 0..<C { y[c] = w0 * a[c] + w1 * b[c] }
        }
    }
    return out.record(inputs: [x], name: "interpolate_linear") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer
        forEachSampleChannelBlock(samples: N, channels: C, work: g.count * 2) { n, cr in
            for o in 0..<size {
                let a = dp + (n * L + t.i0[o]) * C, b = dp + (n * L + t.i1[o]) * C, q = gp + (n * size + o) * C
                let w0 = t.w0[o], w1 = t.w1[o]
                for c in cr { a[c] += w0 * q[c] }
                for c in cr { b[c] += w1 * q[c] }
            }
        }
        return [dx]
    }
}

// MARK: fused upsample + argmax

/// Class map of bilinearly upsampled logits: for NHWC `logits` [N, h, w, K], returns [N, H, W]
/// holding, as Float, the index of the largest class score of
/// `interpolateBilinear(logits, size, alignCorners)` (ties → lowest index), without
/// materialising the [N, H, W, K] tensor. Not differentiable. NaN scores are not supported.
///
/// Each input row is blended horizontally once (w0·x[iw0] + w1·x[iw1], the inner step of
/// `interpolateBilinear`, so results agree exactly) into a per-thread cache of two rows, and
/// every output pixel then costs one vertical blend of K values plus a max scan in L1.
public func upsampleBilinearArgmax(logits: Tensor, size: (Int, Int), alignCorners: Bool = false) -> Tensor {
    checkImage("upsampleBilinearArgmax", logits, size)
    let N = logits.shape[0], H = logits.shape[1], W = logits.shape[2], K = logits.shape[3]
    precondition(K > 0, "upsampleBilinearArgmax: logits \(logits.shape) have no classes")
    let OH = size.0, OW = size.1
    let th = LinearTaps(inSize: H, outSize: OH, alignCorners: alignCorners)
    let tw = LinearTaps(inSize: W, outSize: OW, alignCorners: alignCorners)
    let out = Tensor(uninitializedShape: [N, OH, OW])
    let src = logits.pointer, dst = out.pointer
    let identity = OH == H && OW == W
    parallelFor(N * OH, grain: Swift.max(1, 4096 / Swift.max(OW * K, 1))) { r in
        // cache[j] holds input row `cachedRow[j]` (global n·H + ih) blended to OW × K.
        let cache = UnsafeMutablePointer<Float>.allocate(capacity: 2 * OW * K)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: K)
        defer { cache.deallocate(); scratch.deallocate() }
        var cachedRow = (-1, -1), nextSlot = 0
        func blended(_ global: Int, keep other: Int) -> UnsafeMutablePointer<Float> {
            if cachedRow.0 == global { return cache }
            if cachedRow.1 == global { return cache + OW * K }
            // Overwrite the slot not holding `other` (the row the caller also needs).
            let slot = cachedRow.0 == other ? 1 : (cachedRow.1 == other ? 0 : nextSlot)
            nextSlot = 1 - slot
            if slot == 0 { cachedRow.0 = global } else { cachedRow.1 = global }
            let base = cache + slot * OW * K, row = src + global * W * K
            for ow in 0..<OW {
                let a = row + tw.i0[ow] * K, b = row + tw.i1[ow] * K, o = base + ow * K
                blend2(o, a, tw.w0[ow], b, tw.w1[ow], K)
            }
            return base
        }
        for orow in r {
            let n = orow / OH, oh = orow % OH
            let o = dst + orow * OW
            if identity {
                for ow in 0..<OW { o[ow] = Float(firstArgmax(src + (orow * OW + ow) * K, K)) }
                continue
            }
            let g0 = n * H + th.i0[oh], g1 = n * H + th.i1[oh]
            let b0 = blended(g0, keep: g1), b1 = blended(g1, keep: g0)
            let h0 = th.w0[oh], h1 = th.w1[oh]
            for ow in 0..<OW {
                let p = b0 + ow * K, q = b1 + ow * K
                blend2(scratch, p, h0, q, h1, K)
                o[ow] = Float(firstArgmax(scratch, K))
            }
        }
    }
    return out
}

/// Index of the first maximum of `n` floats: a 16-lane max, then a scan for its first match.
@inline(__always)
func firstArgmax(_ p: UnsafePointer<Float>, _ n: Int) -> Int {
    var m: Float = p[0]
    var i = 0
    if n >= 16 {
        let raw = UnsafeRawPointer(p)
        var acc = raw.loadUnaligned(as: SIMD16<Float>.self)
        i = 16
        while i + 16 <= n { acc = laneMax(acc, raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)); i += 16 }
        m = horizontalMax(acc)
    }
    while i < n { if p[i] > m { m = p[i] }; i += 1 }
    for k in 0..<n where p[k] == m { return k }
    return 0
}
