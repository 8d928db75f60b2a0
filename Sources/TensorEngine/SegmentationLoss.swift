import Foundation

/// Cross entropy of low-resolution logits bilinearly upsampled to the label size, fused:
/// `crossEntropy(interpolateBilinear(logits, size: labelSize), target)` without ever building
/// the full-resolution logits or their gradient.
///
/// Segmentation heads predict at 1/8 of the input; mmseg upsamples the K-class logits to the
/// label size and takes cross entropy there. At 150 classes and 8×256×256 labels the upsampled
/// tensor and its gradient are 315 MB each, and PyTorch spends most of a SeaFormer-T training
/// step moving them. Here each output pixel's K logits are blended from the four source pixels
/// into a K-float scratch row, reduced to a log-sum-exp (the only thing saved, 4 bytes per
/// pixel), and the backward pass recomputes the blend and scatters `softmax − onehot` straight
/// back into the low-resolution gradient. The arithmetic is the same as
/// `interpolateBilinear` then `crossEntropy` (same blend order), so the two agree exactly.
///
/// logits [N, h, w, K]; target [N, H, W] class indices as Float; other arguments as
/// `crossEntropy`.
public func upsampledCrossEntropy(logits: Tensor, target: Tensor, alignCorners: Bool = false, weight: Tensor? = nil,
                                  ignoreIndex: Int = 255, reduction: Reduction = .mean) -> Tensor {
    precondition(logits.rank == 4, "upsampledCrossEntropy: logits must be [N, h, w, K], got \(logits.shape)")
    precondition(target.rank == 3 && target.shape[0] == logits.shape[0],
                 "upsampledCrossEntropy: target must be [N, H, W] with N = \(logits.shape[0]), got \(target.shape)")
    let (N, h, w, K) = (logits.shape[0], logits.shape[1], logits.shape[2], logits.shape[3])
    let (H, W) = (target.shape[1], target.shape[2])
    precondition(K > 0 && h > 0 && w > 0, "upsampledCrossEntropy: empty logits \(logits.shape)")
    if let weight { precondition(weight.shape == [K], "upsampledCrossEntropy: weight shape \(weight.shape) must be [\(K)]") }
    let ty = LinearTaps(inSize: h, outSize: H, alignCorners: alignCorners)
    let tx = LinearTaps(inSize: w, outSize: W, alignCorners: alignCorners)
    let src = UnsafePointer(logits.pointer), tgt = UnsafePointer(target.pointer)
    let wp: UnsafePointer<Float>? = weight.map { UnsafePointer($0.pointer) }
    let ignore = Float(ignoreIndex)
    let P = N * H * W
    let lse = Tensor(uninitializedShape: target.shape)
    let perPixel = reduction == .none ? Tensor(uninitializedShape: target.shape) : nil
    let lp = lse.pointer, np = perPixel?.pointer

    /// Blends the K logits of output pixel (n, y, x) into `z`, in interpolateBilinear's order
    /// (`h0·(w0·x00 + w1·x01) + h1·(w0·x10 + w1·x11)`), 16 classes at a time.
    @inline(__always)
    func blend(_ n: Int, _ y: Int, _ x: Int, _ z: UnsafeMutablePointer<Float>, _ k0: Int, _ k1: Int) {
        let base = src + n * h * w * K
        let r0 = base + ty.i0[y] * w * K, r1 = base + ty.i1[y] * w * K
        let a = tx.i0[x] * K, b = tx.i1[x] * K
        let h0 = ty.w0[y], h1 = ty.w1[y], w0 = tx.w0[x], w1 = tx.w1[x]
        let vh0 = SIMD16<Float>(repeating: h0), vh1 = SIMD16<Float>(repeating: h1)
        let vw0 = SIMD16<Float>(repeating: w0), vw1 = SIMD16<Float>(repeating: w1)
        var k = k0
        while k + 16 <= k1 {
            let v = vh0 * (vw0 * load16(r0 + a + k) + vw1 * load16(r0 + b + k)) + vh1 * (vw0 * load16(r1 + a + k) + vw1 * load16(r1 + b + k))
            store16(z + k, v)
            k += 16
        }
        while k < k1 { z[k] = h0 * (w0 * r0[a + k] + w1 * r0[b + k]) + h1 * (w0 * r1[a + k] + w1 * r1[b + k]); k += 1 }
    }

    let rows = N * H
    let threads = P * K < 1 << 14 ? 1 : Engine.threads
    var partials = [Double](repeating: 0, count: 2 * threads)
    partials.withUnsafeMutableBufferPointer { part in
        let acc = part.baseAddress!
        runOnThreads(threads) { t, nt in
            let z = UnsafeMutablePointer<Float>.allocate(capacity: K)
            defer { z.deallocate() }
            var lossSum = 0.0, weightSum = 0.0
            for row in (rows * t / nt)..<(rows * (t + 1) / nt) {
                let n = row / H, y = row % H
                for x in 0..<W {
                    let p = row * W + x, v = tgt[p]
                    if v == ignore { lp[p] = 0; np?[p] = 0; continue }
                    blend(n, y, x, z, 0, K)
                    let (l, loss, wt) = pixelCrossEntropy(z, K, target: v, weights: wp, op: "upsampledCrossEntropy", at: p, ignoreIndex: ignoreIndex)
                    lp[p] = l
                    np?[p] = loss
                    lossSum += Double(loss)
                    weightSum += Double(wt)
                }
            }
            acc[2 * t] = lossSum
            acc[2 * t + 1] = weightSum
        }
    }
    let (result, denominator) = reduceCrossEntropy(partials, pixels: P, reduction: reduction, perPixel: perPixel)

    return result.record(inputs: [logits], name: "upsampled_cross_entropy") { g in
        withExtendedLifetime((target, lse, weight)) { [backward(g)] }
    }

    func backward(_ g: Tensor) -> Tensor {
        let out = Tensor.zeros(logits.shape)
        let dst = out.pointer, gp = UnsafePointer(g.pointer)
        let perPixelGrad = reduction == .none
        let scalarGrad = perPixelGrad ? 0 : g.item() / denominator
        // Work items never write the same gradient element: split by sample, and when there are
        // fewer samples than threads, also by class range (the saved lse makes classes independent).
        let kChunks = N >= Engine.threads ? 1 : Engine.threads
        let items = N * kChunks
        parallelFor(items, grain: 1) { range in
            let z = UnsafeMutablePointer<Float>.allocate(capacity: K)
            defer { z.deallocate() }
            for item in range {
                let n = item / kChunks, chunk = item % kChunks
                let k0 = K * chunk / kChunks, k1 = K * (chunk + 1) / kChunks
                if k0 == k1 { continue }
                let base = dst + n * h * w * K
                for y in 0..<H {
                    let r0 = base + ty.i0[y] * w * K, r1 = base + ty.i1[y] * w * K
                    let h0 = ty.w0[y], h1 = ty.w1[y]
                    for x in 0..<W {
                        let p = (n * H + y) * W + x, v = tgt[p]
                        if v == ignore { continue }
                        let c = Int(v), l = lp[p]
                        let scale = (wp?[c] ?? 1) * (perPixelGrad ? gp[p] : scalarGrad)
                        if scale == 0 { continue }
                        blend(n, y, x, z, k0, k1)
                        // z ← (softmax − onehot)·scale, then scattered with the four tap weights.
                        // Edge pixels have a == b (or r0 == r1): each add reloads, so both land.
                        let vl = SIMD16<Float>(repeating: l), vs = SIMD16<Float>(repeating: scale)
                        var k = k0
                        while k + 16 <= k1 { store16(z + k, fastExp(load16(z + k) - vl) * vs); k += 16 }
                        while k < k1 { z[k] = fastExp(z[k] - l) * scale; k += 1 }
                        if c >= k0 && c < k1 { z[c] -= scale }
                        let a = tx.i0[x] * K, b = tx.i1[x] * K
                        let c00 = h0 * tx.w0[x], c01 = h0 * tx.w1[x], c10 = h1 * tx.w0[x], c11 = h1 * tx.w1[x]
                        let v00 = SIMD16<Float>(repeating: c00), v01 = SIMD16<Float>(repeating: c01)
                        let v10 = SIMD16<Float>(repeating: c10), v11 = SIMD16<Float>(repeating: c11)
                        k = k0
                        while k + 16 <= k1 {
                            let gk = load16(z + k)
                            store16(r0 + a + k, load16(r0 + a + k) + v00 * gk)
                            store16(r0 + b + k, load16(r0 + b + k) + v01 * gk)
                            store16(r1 + a + k, load16(r1 + a + k) + v10 * gk)
                            store16(r1 + b + k, load16(r1 + b + k) + v11 * gk)
                            k += 16
                        }
                        while k < k1 {
                            let gk = z[k]
                            r0[a + k] += c00 * gk
                            r0[b + k] += c01 * gk
                            r1[a + k] += c10 * gk
                            r1[b + k] += c11 * gk
                            k += 1
                        }
                    }
                }
            }
        }
        return out
    }
}
