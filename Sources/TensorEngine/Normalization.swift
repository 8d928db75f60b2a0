import Foundation

// Normalization ops (batch, layer, group norm): forward kernels and derivative rules side by
// side. The channel axis is the last one (NHWC images or [N, C] features), so per-channel
// statistics are accumulated across rows with the contiguous channel axis as the vector axis,
// and every normalised output is one per-(segment, channel) affine map of the input.

// MARK: shared kernels

/// Per-(segment, channel) sums over the rows of a `[rows, width]` view, `q` quantities at once.
///
/// `body(rows, acc)` adds the contribution of `rows` (never straddling a segment of
/// `segmentRows` rows) into `acc`, `q × width` zeroed floats. Each thread takes one contiguous
/// row range and flushes its Float block sums into private Double totals, so the inner loop is
/// a vectorised Float loop over channels, long sums keep double accuracy, and the result
/// depends only on the thread count. Returns `[segment][quantity][channel]` totals.
func channelSums(rows: Int, segmentRows: Int, width: Int, quantities q: Int,
                 _ body: (Range<Int>, UnsafeMutablePointer<Float>) -> Void) -> [Double] {
    let segments = segmentRows > 0 ? rows / segmentRows : 0
    let size = segments * q * width
    var totals = [Double](repeating: 0, count: size)
    guard rows > 0, width > 0 else { return totals }
    let threads = max(1, min(Engine.threads, rows * width / 32768, rows))
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: threads * size)
    partials.initialize(repeating: 0, count: threads * size)
    defer { partials.deallocate() }
    let blockRows = max(8, min(128, 8192 / width))
    runOnThreads(threads) { t, nt in
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: q * width)
        defer { scratch.deallocate() }
        let mine = partials + t * size
        var row = rows * t / nt
        let end = rows * (t + 1) / nt
        while row < end {
            let seg = row / segmentRows
            let stop = Swift.min(end, (seg + 1) * segmentRows, row + blockRows)
            scratch.update(repeating: 0, count: q * width)
            body(row..<stop, scratch)
            let dst = mine + seg * q * width
            for i in 0..<(q * width) { dst[i] += Double(scratch[i]) }
            row = stop
        }
    }
    for t in 0..<threads {
        let p = partials + t * size
        for i in 0..<size { totals[i] += p[i] }
    }
    return totals
}

/// `y[r, c] = (x[r, c] − center[s, c]) · scale[s, c] + shift[s, c]` where `s = r / segmentRows`.
/// Centring first (rather than PyTorch's `x·α + β`) keeps full accuracy when |mean| ≫ std.
func channelAffine(_ x: Tensor, center: Tensor, scale: Tensor, shift: Tensor, segmentRows: Int) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let width = x.shape.last!, rows = x.count / max(width, 1)
    let src = x.pointer, dst = out.pointer, mp = center.pointer, sc = scale.pointer, sh = shift.pointer
    parallelFor(rows, grain: max(1, 16384 / max(width, 1))) { r in
        for row in r {
            let off = (row / segmentRows) * width
            let p = src + row * width, o = dst + row * width, m = mp + off, a = sc + off, b = sh + off
            for c in 0..<width { o[c] = (p[c] - m[c]) * a[c] + b[c] }
        }
    }
    return out
}

/// `dx[r, c] = a[s, c] · dy[r, c] + b[s, c] · (x[r, c] − center[s, c]) + e[s, c]`: the shape of
/// every normalisation's input gradient once its reductions are known.
func channelAffine2(_ dy: Tensor, _ x: Tensor, center: Tensor, _ a: Tensor, _ b: Tensor, _ e: Tensor, segmentRows: Int) -> Tensor {
    let out = Tensor(uninitializedShape: x.shape)
    let width = x.shape.last!, rows = x.count / max(width, 1)
    let gp = dy.pointer, xp = x.pointer, dst = out.pointer, mp = center.pointer, ap = a.pointer, bp = b.pointer, ep = e.pointer
    parallelFor(rows, grain: max(1, 16384 / max(width, 1))) { r in
        for row in r {
            let off = (row / segmentRows) * width
            let g = gp + row * width, p = xp + row * width, o = dst + row * width
            let m = mp + off, av = ap + off, bv = bp + off, ev = ep + off
            for c in 0..<width { o[c] = av[c] * g[c] + bv[c] * (p[c] - m[c]) + ev[c] }
        }
    }
    return out
}

/// Inputs for `record`, with the optional affine parameters appended when present.
private func normInputs(_ x: Tensor, _ weight: Tensor?, _ bias: Tensor?) -> [Tensor] {
    var inputs = [x]
    if let weight { inputs.append(weight) }
    if let bias { inputs.append(bias) }
    return inputs
}

private func checkParameter(_ t: Tensor?, _ name: String, _ op: String, _ c: Int, _ xShape: [Int]) {
    guard let t else { return }
    precondition(t.count == c && t.rank == 1, "\(op): \(name) has shape \(t.shape), expected [\(c)] for input shape \(xShape)")
}

private func vector(_ values: [Double]) -> Tensor {
    let t = Tensor(uninitializedShape: [values.count])
    for i in values.indices { t.pointer[i] = Float(values[i]) }
    return t
}

// MARK: batch norm

/// Batch normalisation over the last (channel) axis of `x` ([N, C] or NHWC), PyTorch's
/// `F.batch_norm`. Training: normalises with the batch statistics (biased variance) and, when
/// given, updates `runningMean`/`runningVar` in place with the unbiased variance,
/// `running = (1 − momentum)·running + momentum·batch`. Eval: normalises with the running stats.
public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                      training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
    CostTrace.add(.norm, (weight != nil ? 2 : 1) * x.count)
    precondition(x.rank >= 2, "batchNorm: input of shape \(x.shape) must have rank >= 2 with channels last")
    let C = x.shape.last!, M = x.count / max(C, 1)
    checkParameter(weight, "weight", "batchNorm", C, x.shape)
    checkParameter(bias, "bias", "batchNorm", C, x.shape)
    checkParameter(runningMean, "runningMean", "batchNorm", C, x.shape)
    checkParameter(runningVar, "runningVar", "batchNorm", C, x.shape)
    precondition((runningMean == nil) == (runningVar == nil), "batchNorm: pass both runningMean and runningVar, or neither")

    var meanD = [Double](repeating: 0, count: C), invstdD = [Double](repeating: 0, count: C)
    if training {
        precondition(M > 1, "batchNorm: expected more than 1 value per channel when training, got input shape \(x.shape)")
        // Shifted sums (by the first row) keep E[x²] − E[x]² from cancelling when |mean| ≫ std.
        let xp = x.pointer
        let sums = channelSums(rows: M, segmentRows: M, width: C, quantities: 2) { r, acc in
            let s1 = acc, s2 = acc + C
            for row in r {
                let p = xp + row * C
                for c in 0..<C { let d = p[c] - xp[c]; s1[c] += d; s2[c] += d * d }
            }
        }
        let n = Double(M), m = Double(momentum)
        for c in 0..<C {
            let d = sums[c] / n
            let variance = Swift.max(sums[C + c] / n - d * d, 0)
            meanD[c] = Double(xp[c]) + d
            invstdD[c] = 1 / (variance + Double(eps)).squareRoot()
            if let runningMean, let runningVar {
                runningMean.withMutablePointer { $0[c] = Float(m * meanD[c] + (1 - m) * Double($0[c])) }
                runningVar.withMutablePointer { $0[c] = Float(m * variance * n / (n - 1) + (1 - m) * Double($0[c])) }
            }
        }
    } else {
        guard let runningMean, let runningVar else {
            preconditionFailure("batchNorm: eval mode (training: false) needs runningMean and runningVar")
        }
        for c in 0..<C {
            meanD[c] = Double(runningMean.pointer[c])
            invstdD[c] = 1 / (Double(runningVar.pointer[c]) + Double(eps)).squareRoot()
        }
    }
    // The kernels centre by the Float mean; `residual` (the part of the Double mean it cannot
    // hold) is folded into the per-channel constants.
    let mean = vector(meanD)
    let residual = (0..<C).map { meanD[$0] - Double(mean.pointer[$0]) }
    let w = weight?.pointer, b = bias?.pointer
    let scale = Tensor(uninitializedShape: [C]), shift = Tensor(uninitializedShape: [C])
    for c in 0..<C {
        let a = invstdD[c] * Double(w?[c] ?? 1)
        scale.pointer[c] = Float(a)
        shift.pointer[c] = Float(Double(b?[c] ?? 0) - residual[c] * a)
    }
    let out = channelAffine(x, center: mean, scale: scale, shift: shift, segmentRows: M)

    return out.record(inputs: normInputs(x, weight, bias), name: "batch_norm") { g in
        let needW = weight?.requiresGrad ?? false, needB = bias?.requiresGrad ?? false
        let mp = mean.pointer, xp = x.pointer, gp = g.pointer
        // Σ dy and Σ dy·(x − mean) per channel: everything the three gradients need.
        let sums = channelSums(rows: M, segmentRows: M, width: C, quantities: 2) { r, acc in
            let s1 = acc, s2 = acc + C
            for row in r {
                let p = xp + row * C, q = gp + row * C
                for c in 0..<C { s1[c] += q[c]; s2[c] += q[c] * (p[c] - mp[c]) }
            }
        }
        let dotp = (0..<C).map { sums[C + $0] - residual[$0] * sums[$0] }  // Σ dy·(x − mean)
        var dx: Tensor? = nil
        if x.requiresGrad {
            let a = Tensor(uninitializedShape: [C]), bb = Tensor(uninitializedShape: [C]), e = Tensor(uninitializedShape: [C])
            for c in 0..<C {
                let wa = invstdD[c] * Double(w?[c] ?? 1)
                if training {
                    // dx = (dy − Σdy/M − (x − mean)·Σdy(x−mean)·invstd²/M) · invstd · w
                    let k = dotp[c] * invstdD[c] * invstdD[c] / Double(M)
                    let gm = sums[c] / Double(M)
                    a.pointer[c] = Float(wa)
                    bb.pointer[c] = Float(-k * wa)
                    e.pointer[c] = Float((k * residual[c] - gm) * wa)
                } else {
                    a.pointer[c] = Float(wa); bb.pointer[c] = 0; e.pointer[c] = 0
                }
            }
            dx = channelAffine2(g, x, center: mean, a, bb, e, segmentRows: M)
        }
        var grads: [Tensor?] = [dx]
        if weight != nil { grads.append(needW ? vector((0..<C).map { dotp[$0] * invstdD[$0] }) : nil) }
        if bias != nil { grads.append(needB ? vector(Array(sums[0..<C])) : nil) }
        return grads
    }
}

// MARK: layer norm

/// Sum of `n` floats with 16 independent lanes (a scalar loop would not vectorise).
@inline(__always)
func laneSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>(repeating: 0)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n { acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self); i += 16 }
    var s = horizontalSum(acc)
    while i < n { s += p[i]; i += 1 }
    return s
}

/// `Σ (p[i] − m)²` with 16 lanes.
@inline(__always)
func laneSumSquaredDeviation(_ p: UnsafePointer<Float>, _ n: Int, _ m: Float) -> Float {
    var acc = SIMD16<Float>(repeating: 0)
    let mv = SIMD16<Float>(repeating: m)
    var i = 0
    let raw = UnsafeRawPointer(p)
    while i + 16 <= n { let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) - mv; acc += d * d; i += 16 }
    var s = horizontalSum(acc)
    while i < n { let d = p[i] - m; s += d * d; i += 1 }
    return s
}

/// Layer normalisation over the last axis (for NHWC images: per-pixel over channels, the
/// "channel LayerNorm" of ConvNeXt-style blocks), PyTorch's `F.layer_norm(x, [C], w, b, eps)`.
public func layerNorm(_ x: Tensor, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    CostTrace.add(.norm, (weight != nil ? 2 : 1) * x.count)
    precondition(x.rank >= 1, "layerNorm: input must have rank >= 1, got shape \(x.shape)")
    let D = x.shape.last!, M = x.count / max(D, 1)
    checkParameter(weight, "weight", "layerNorm", D, x.shape)
    checkParameter(bias, "bias", "layerNorm", D, x.shape)
    let out = Tensor(uninitializedShape: x.shape)
    let meanT = Tensor(uninitializedShape: [M]), rstdT = Tensor(uninitializedShape: [M])
    let xp = x.pointer, yp = out.pointer, mp = meanT.pointer, rp = rstdT.pointer
    let w = weight?.pointer, b = bias?.pointer
    parallelFor(M, grain: max(1, 16384 / max(D, 1))) { r in
        for row in r {
            let p = xp + row * D, o = yp + row * D
            let mean = laneSum(p, D) / Float(D)
            let variance = laneSumSquaredDeviation(p, D, mean) / Float(D)
            let rstd = 1 / (Swift.max(variance, 0) + eps).squareRoot()
            mp[row] = mean; rp[row] = rstd
            // PyTorch's order: (x·rstd + (−rstd·mean))·w + b.
            let shift = -rstd * mean
            switch (w, b) {
            case let (w?, b?): for c in 0..<D { o[c] = (p[c] * rstd + shift) * w[c] + b[c] }
            case let (w?, nil): for c in 0..<D { o[c] = (p[c] * rstd + shift) * w[c] }
            case let (nil, b?): for c in 0..<D { o[c] = (p[c] * rstd + shift) + b[c] }
            case (nil, nil): for c in 0..<D { o[c] = p[c] * rstd + shift }
            }
        }
    }
    return out.record(inputs: normInputs(x, weight, bias), name: "layer_norm") { g in
        let dx = x.requiresGrad ? Tensor(uninitializedShape: x.shape) : nil
        let gp = g.pointer, dp = dx?.pointer, mp = meanT.pointer, rp = rstdT.pointer
        // One sweep: per row, dx from two row reductions; per channel, Σ dy·x̂ and Σ dy.
        let sums = channelSums(rows: M, segmentRows: M, width: D, quantities: 2) { r, acc in
            let sw = acc, sb = acc + D
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: D)
            defer { scratch.deallocate() }
            for row in r {
                let p = xp + row * D, q = gp + row * D
                let mean = mp[row], rstd = rp[row]
                for c in 0..<D { let xh = (p[c] - mean) * rstd; sw[c] += q[c] * xh; sb[c] += q[c] }
                guard let dp else { continue }
                // dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), dx̂ = dy·w.
                if let w { for c in 0..<D { scratch[c] = q[c] * w[c] } } else { scratch.update(from: q, count: D) }
                let sumDxh = laneSum(scratch, D)
                for c in 0..<D { scratch[c] = scratch[c] * (p[c] - mean) }
                let sumDxhXh = laneSum(scratch, D) * rstd
                let o = dp + row * D
                let m1 = sumDxh / Float(D), m2 = sumDxhXh / Float(D)
                if let w {
                    for c in 0..<D { o[c] = rstd * (q[c] * w[c] - m1 - (p[c] - mean) * rstd * m2) }
                } else {
                    for c in 0..<D { o[c] = rstd * (q[c] - m1 - (p[c] - mean) * rstd * m2) }
                }
            }
        }
        var grads: [Tensor?] = [dx]
        if weight != nil { grads.append(weight!.requiresGrad ? vector(Array(sums[0..<D])) : nil) }
        if bias != nil { grads.append(bias!.requiresGrad ? vector(Array(sums[D..<(2 * D)])) : nil) }
        return grads
    }
}

/// Layer normalisation over the trailing dimensions `normalizedShape`, PyTorch's
/// `F.layer_norm(x, normalizedShape, w, b, eps)`; `weight`/`bias` have shape `normalizedShape`.
public func layerNorm(_ x: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    precondition(normalizedShape.count <= x.rank && Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                 "layerNorm: normalizedShape \(normalizedShape) is not a suffix of input shape \(x.shape)")
    if normalizedShape.count == 1 { return layerNorm(x, weight: weight, bias: bias, eps: eps) }
    let d = normalizedShape.reduce(1, *)
    for (t, name) in [(weight, "weight"), (bias, "bias")] {
        if let t { precondition(t.shape == normalizedShape, "layerNorm: \(name) has shape \(t.shape), expected \(normalizedShape)") }
    }
    let y = layerNorm(x.reshape([x.count / max(d, 1), d]), weight: weight?.reshape([d]), bias: bias?.reshape([d]), eps: eps)
    return y.reshape(x.shape)
}

// MARK: group norm

/// Group normalisation of channels-last `x` [N, ..., C] (NHWC images), PyTorch's
/// `F.group_norm`: C splits into `groups` contiguous blocks, statistics per (sample, group)
/// over the spatial positions and the group's channels; `weight`/`bias` are per channel.
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil, eps: Float = 1e-5) -> Tensor {
    CostTrace.add(.norm, (weight != nil ? 2 : 1) * x.count)
    precondition(x.rank >= 2, "groupNorm: input of shape \(x.shape) must have rank >= 2 (N, ..., C)")
    let N = x.shape[0], C = x.shape.last!
    precondition(groups >= 1 && C % groups == 0, "groupNorm: \(C) channels (input shape \(x.shape)) do not split into \(groups) groups")
    checkParameter(weight, "weight", "groupNorm", C, x.shape)
    checkParameter(bias, "bias", "groupNorm", C, x.shape)
    let S = x.count / max(N * C, 1), Cg = C / groups, G = groups
    let count = Double(S * Cg)
    let xp = x.pointer
    // Shift each (sample, group) by its first element; the shifted sums of a group's channels
    // then add up directly.
    let shiftK = Tensor(uninitializedShape: [N * C])
    for n in 0..<N { for c in 0..<C { shiftK.pointer[n * C + c] = xp[n * S * C + (c / Cg) * Cg] } }
    let kp = shiftK.pointer
    let sums = channelSums(rows: N * S, segmentRows: S, width: C, quantities: 2) { r, acc in
        let k = kp + (r.lowerBound / S) * C
        let s1 = acc, s2 = acc + C
        for row in r {
            let p = xp + row * C
            for c in 0..<C { let d = p[c] - k[c]; s1[c] += d; s2[c] += d * d }
        }
    }
    var meanD = [Double](repeating: 0, count: N * G), rstdD = [Double](repeating: 0, count: N * G)
    for n in 0..<N {
        for g in 0..<G {
            var a = 0.0, b = 0.0
            for c in (g * Cg)..<((g + 1) * Cg) { a += sums[n * 2 * C + c]; b += sums[n * 2 * C + C + c] }
            let d = a / count
            meanD[n * G + g] = Double(kp[n * C + g * Cg]) + d
            rstdD[n * G + g] = 1 / (Swift.max(b / count - d * d, 0) + Double(eps)).squareRoot()
        }
    }
    let w = weight?.pointer, bp = bias?.pointer
    let scale = Tensor(uninitializedShape: [N * C]), shift = Tensor(uninitializedShape: [N * C])
    let meanC = Tensor(uninitializedShape: [N * C])
    var residual = [Double](repeating: 0, count: N * G)  // Double mean − Float centre, as in batchNorm
    for n in 0..<N {
        for c in 0..<C {
            let i = n * G + c / Cg
            let a = rstdD[i] * Double(w?[c] ?? 1)
            meanC.pointer[n * C + c] = Float(meanD[i])
            residual[i] = meanD[i] - Double(Float(meanD[i]))
            scale.pointer[n * C + c] = Float(a)
            shift.pointer[n * C + c] = Float(Double(bp?[c] ?? 0) - residual[i] * a)
        }
    }
    let out = channelAffine(x, center: meanC, scale: scale, shift: shift, segmentRows: S)

    return out.record(inputs: normInputs(x, weight, bias), name: "group_norm") { g in
        let gp = g.pointer, mcp = meanC.pointer
        // Per (sample, channel): A = Σ dy, B = Σ dy·(x − mean).
        let ab = channelSums(rows: N * S, segmentRows: S, width: C, quantities: 2) { r, acc in
            let m = mcp + (r.lowerBound / S) * C
            let s1 = acc, s2 = acc + C
            for row in r {
                let p = xp + row * C, q = gp + row * C
                for c in 0..<C { s1[c] += q[c]; s2[c] += q[c] * (p[c] - m[c]) }
            }
        }
        // B per (sample, channel) re-centred on the Double mean.
        var bc = [Double](repeating: 0, count: N * C)
        for n in 0..<N { for c in 0..<C { bc[n * C + c] = ab[n * 2 * C + C + c] - residual[n * G + c / Cg] * ab[n * 2 * C + c] } }
        var dx: Tensor? = nil
        if x.requiresGrad {
            let a = Tensor(uninitializedShape: [N * C]), b = Tensor(uninitializedShape: [N * C]), e = Tensor(uninitializedShape: [N * C])
            for n in 0..<N {
                for grp in 0..<G {
                    var sa = 0.0, sb = 0.0
                    for c in (grp * Cg)..<((grp + 1) * Cg) {
                        let wc = Double(w?[c] ?? 1)
                        sa += wc * ab[n * 2 * C + c]; sb += wc * bc[n * C + c]
                    }
                    let rstd = rstdD[n * G + grp]
                    // dx = rstd·w·dy − (x − μ)·rstd³·Σdx̂(x−μ)/cnt − rstd·Σdx̂/cnt
                    let k3 = rstd * rstd * rstd * sb / count
                    for c in (grp * Cg)..<((grp + 1) * Cg) {
                        let i = n * C + c
                        a.pointer[i] = Float(rstd * Double(w?[c] ?? 1))
                        b.pointer[i] = Float(-k3)
                        e.pointer[i] = Float(k3 * residual[n * G + grp] - rstd * sa / count)
                    }
                }
            }
            dx = channelAffine2(g, x, center: meanC, a, b, e, segmentRows: S)
        }
        var grads: [Tensor?] = [dx]
        if let weight {
            grads.append(weight.requiresGrad ? vector((0..<C).map { c in
                (0..<N).reduce(0.0) { $0 + rstdD[$1 * G + c / Cg] * bc[$1 * C + c] }
            }) : nil)
        }
        if let bias {
            grads.append(bias.requiresGrad ? vector((0..<C).map { c in (0..<N).reduce(0.0) { $0 + ab[$1 * 2 * C + c] } }) : nil)
        }
        return grads
    }
}
