import Foundation

// Pooling ops on NHWC tensors: forward kernels and derivative rules side by side. Windows are
// walked pixel by pixel with the contiguous channel vector as the inner loop; backward passes
// scatter-add into the input gradient, split over (sample, channel block) so no two threads
// ever write the same element.

// MARK: shared helpers

/// Runs `body(sample, channels)` over (sample, channel block) pairs, split across the threads
/// when `work` (elements touched) is worth a parallel region. Channel blocks are only cut when
/// there are fewer samples than threads, at multiples of 16 channels.
func forEachSampleChannelBlock(samples: Int, channels: Int, work: Int, _ body: (Int, Range<Int>) -> Void) {
    let threads = work >= 1 << 15 ? Engine.threads : 1
    var blocks = 1
    if samples < threads && channels >= 32 { blocks = Swift.min((threads + samples - 1) / samples, channels / 16) }
    func bound(_ b: Int) -> Int { b == blocks ? channels : (channels * b / blocks) / 16 * 16 }
    let tasks = samples * blocks
    if threads <= 1 || tasks <= 1 {
        for t in 0..<tasks { body(t / blocks, bound(t % blocks)..<bound(t % blocks + 1)) }
        return
    }
    parallelFor(tasks, grain: 1) { r in
        for t in r { body(t / blocks, bound(t % blocks)..<bound(t % blocks + 1)) }
    }
}

/// Heap array of Int32 kept alive by the backward closure that needs it (max-pool arg-max).
final class IndexBuffer {
    let pointer: UnsafeMutablePointer<Int32>
    init(count: Int) { pointer = .allocate(capacity: Swift.max(count, 1)) }
    deinit { pointer.deallocate() }
}

/// PyTorch's `pooling_output_shape`: with `ceilMode`, the last window must start inside the
/// input or the left padding.
func poolOutputSize(_ size: Int, kernel: Int, stride: Int, padding: Int, ceilMode: Bool) -> Int {
    var out = (size + 2 * padding - kernel + (ceilMode ? stride - 1 : 0)) / stride + 1
    if ceilMode && (out - 1) * stride >= size + padding { out -= 1 }
    return out
}

/// Window bounds along one axis: clipped `[start, end)` and PyTorch's pool size counting the
/// padding (end clipped to `size + padding`, as `count_include_pad` divides by).
private struct PoolAxis {
    var start: [Int] = [], end: [Int] = [], padded: [Int] = []
    init(size: Int, out: Int, kernel: Int, stride: Int, padding: Int) {
        for o in 0..<out {
            let s = o * stride - padding
            let e = Swift.min(s + kernel, size + padding)
            padded.append(e - s)
            start.append(Swift.max(s, 0))
            end.append(Swift.min(e, size))
        }
    }
}

private func checkPool(_ op: String, _ x: Tensor, _ k: (Int, Int), _ s: (Int, Int), _ p: (Int, Int)) {
    precondition(x.rank == 4, "\(op): expected an NHWC tensor of rank 4, got shape \(x.shape)")
    precondition(k.0 > 0 && k.1 > 0 && s.0 > 0 && s.1 > 0 && p.0 >= 0 && p.1 >= 0,
                 "\(op): kernel \(k), stride \(s) must be positive and padding \(p) non-negative")
    precondition(p.0 <= k.0 / 2 && p.1 <= k.1 / 2, "\(op): padding \(p) must be at most half of kernel \(k)")
    precondition(x.shape[1] + 2 * p.0 >= k.0 && x.shape[2] + 2 * p.1 >= k.1,
                 "\(op): kernel \(k) larger than padded input \(x.shape) with padding \(p)")
}

// MARK: average pooling

/// 2-D average pooling of NHWC `x`, PyTorch's `F.avg_pool2d(x, kernel, stride, padding,
/// ceil_mode, count_include_pad)`; `stride` defaults to `kernel`.
public func avgPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                      countIncludePad: Bool = true, ceilMode: Bool = false) -> Tensor {
    CostTrace.add(.pool, x.count)
    let s = stride ?? kernel
    checkPool("avgPool2d", x, kernel, s, padding)
    let N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    let OH = poolOutputSize(H, kernel: kernel.0, stride: s.0, padding: padding.0, ceilMode: ceilMode)
    let OW = poolOutputSize(W, kernel: kernel.1, stride: s.1, padding: padding.1, ceilMode: ceilMode)
    let ah = PoolAxis(size: H, out: OH, kernel: kernel.0, stride: s.0, padding: padding.0)
    let aw = PoolAxis(size: W, out: OW, kernel: kernel.1, stride: s.1, padding: padding.1)
    // Divisor per output pixel, separable in h and w.
    func divisor(_ oh: Int, _ ow: Int) -> Float {
        countIncludePad ? Float(ah.padded[oh] * aw.padded[ow])
            : Float((ah.end[oh] - ah.start[oh]) * (aw.end[ow] - aw.start[ow]))
    }
    let out = Tensor(uninitializedShape: [N, OH, OW, C])
    let src = x.pointer, dst = out.pointer
    parallelFor(N * OH, grain: Swift.max(1, 8192 / Swift.max(OW * C * kernel.0 * kernel.1, 1))) { r in
        for row in r {
            let n = row / OH, oh = row % OH
            for ow in 0..<OW {
                let o = dst + (row * OW + ow) * C
                o.update(repeating: 0, count: C)
                let hs = ah.start[oh], he = ah.end[oh], ws = aw.start[ow], we = aw.end[ow]
                if hs >= he || ws >= we { continue }
                for ih in hs..<he {
                    for iw in ws..<we {
                        let p = src + ((n * H + ih) * W + iw) * C
                        for c in 0..<C { o[c] += p[c] }
                    }
                }
                let d = divisor(oh, ow)
                for c in 0..<C { o[c] /= d }
            }
        }
    }
    return out.record(inputs: [x], name: "avg_pool2d") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer
        forEachSampleChannelBlock(samples: N, channels: C, work: x.count + g.count * kernel.0 * kernel.1) { n, cr in
            for oh in 0..<OH {
                for ow in 0..<OW {
                    let hs = ah.start[oh], he = ah.end[oh], ws = aw.start[ow], we = aw.end[ow]
                    if hs >= he || ws >= we { continue }
                    let d = divisor(oh, ow)
                    let q = gp + ((n * OH + oh) * OW + ow) * C
                    for ih in hs..<he {
                        for iw in ws..<we {
                            let p = dp + ((n * H + ih) * W + iw) * C
                            for c in cr { p[c] += q[c] / d }
                        }
                    }
                }
            }
        }
        return [dx]
    }
}

/// Square-window form of `avgPool2d`.
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0,
                      countIncludePad: Bool = true, ceilMode: Bool = false) -> Tensor {
    avgPool2d(x, kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding),
              countIncludePad: countIncludePad, ceilMode: ceilMode)
}

// MARK: max pooling

/// 2-D max pooling of NHWC `x`, PyTorch's `F.max_pool2d`; padding never wins (acts as −inf).
/// The gradient goes to the first maximum in window scan order (row-major), as PyTorch; a NaN
/// in the window wins and propagates.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                      ceilMode: Bool = false) -> Tensor {
    CostTrace.add(.pool, x.count)
    let s = stride ?? kernel
    checkPool("maxPool2d", x, kernel, s, padding)
    let N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    let OH = poolOutputSize(H, kernel: kernel.0, stride: s.0, padding: padding.0, ceilMode: ceilMode)
    let OW = poolOutputSize(W, kernel: kernel.1, stride: s.1, padding: padding.1, ceilMode: ceilMode)
    let ah = PoolAxis(size: H, out: OH, kernel: kernel.0, stride: s.0, padding: padding.0)
    let aw = PoolAxis(size: W, out: OW, kernel: kernel.1, stride: s.1, padding: padding.1)
    let out = Tensor(uninitializedShape: [N, OH, OW, C])
    let needIndex = GradMode.isEnabled && x.requiresGrad
    let index = IndexBuffer(count: needIndex ? out.count : 0)
    let src = x.pointer, dst = out.pointer, ip = index.pointer
    parallelFor(N * OH, grain: Swift.max(1, 8192 / Swift.max(OW * C * kernel.0 * kernel.1, 1))) { r in
        for row in r {
            let n = row / OH, oh = row % OH
            for ow in 0..<OW {
                let o = dst + (row * OW + ow) * C
                let hs = ah.start[oh], he = ah.end[oh], ws = aw.start[ow], we = aw.end[ow]
                o.update(repeating: -.infinity, count: C)
                if needIndex {
                    let idx = ip + (row * OW + ow) * C
                    idx.update(repeating: Int32(hs * W + ws), count: C)
                    for ih in hs..<he {
                        for iw in ws..<we {
                            let p = src + ((n * H + ih) * W + iw) * C
                            let here = Int32(ih * W + iw)
                            for c in 0..<C {  // branch-free selects so the channel loop vectorises
                                let v = p[c], take = v > o[c] || v.isNaN
                                o[c] = take ? v : o[c]
                                idx[c] = take ? here : idx[c]
                            }
                        }
                    }
                } else {
                    for ih in hs..<he {
                        for iw in ws..<we {
                            let p = src + ((n * H + ih) * W + iw) * C
                            for c in 0..<C { let v = p[c]; o[c] = (v > o[c] || v.isNaN) ? v : o[c] }
                        }
                    }
                }
            }
        }
    }
    guard needIndex else { return out }
    return out.record(inputs: [x], name: "max_pool2d") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer, ip = index.pointer  // keeps `index` alive
        forEachSampleChannelBlock(samples: N, channels: C, work: x.count + g.count) { n, cr in
            let base = dp + n * H * W * C
            for o in (n * OH * OW)..<((n + 1) * OH * OW) {
                let q = gp + o * C, idx = ip + o * C
                for c in cr { base[Int(idx[c]) * C + c] += q[c] }
            }
        }
        return [dx]
    }
}

/// Square-window form of `maxPool2d`.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) -> Tensor {
    maxPool2d(x, kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding), ceilMode: ceilMode)
}

// MARK: adaptive average pooling

/// Adaptive average pooling of NHWC `x` to `outputSize` (H, W), PyTorch's
/// `F.adaptive_avg_pool2d`: bin i covers `[floor(i·in/out), ceil((i+1)·in/out))`.
public func adaptiveAvgPool2d(_ x: Tensor, outputSize: (Int, Int)) -> Tensor {
    CostTrace.add(.pool, x.count)
    precondition(x.rank == 4, "adaptiveAvgPool2d: expected an NHWC tensor of rank 4, got shape \(x.shape)")
    precondition(outputSize.0 > 0 && outputSize.1 > 0, "adaptiveAvgPool2d: output size \(outputSize) must be positive")
    let N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    let OH = outputSize.0, OW = outputSize.1
    if OH == 1 && OW == 1 { return globalAvgPool(x) }
    let hs = (0..<OH).map { $0 * H / OH }, he = (0..<OH).map { (($0 + 1) * H + OH - 1) / OH }
    let ws = (0..<OW).map { $0 * W / OW }, we = (0..<OW).map { (($0 + 1) * W + OW - 1) / OW }
    let out = Tensor(uninitializedShape: [N, OH, OW, C])
    let src = x.pointer, dst = out.pointer
    parallelFor(N * OH, grain: Swift.max(1, 8192 / Swift.max(OW * C * (H / OH + 1) * (W / OW + 1), 1))) { r in
        for row in r {
            let n = row / OH, oh = row % OH
            for ow in 0..<OW {
                let o = dst + (row * OW + ow) * C
                o.update(repeating: 0, count: C)
                for ih in hs[oh]..<he[oh] {
                    for iw in ws[ow]..<we[ow] {
                        let p = src + ((n * H + ih) * W + iw) * C
                        for c in 0..<C { o[c] += p[c] }
                    }
                }
                let d = Float((he[oh] - hs[oh]) * (we[ow] - ws[ow]))
                for c in 0..<C { o[c] /= d }
            }
        }
    }
    return out.record(inputs: [x], name: "adaptive_avg_pool2d") { g in
        let dx = Tensor.zeros(x.shape)
        let gp = g.pointer, dp = dx.pointer
        forEachSampleChannelBlock(samples: N, channels: C, work: x.count + g.count * 4) { n, cr in
            for oh in 0..<OH {
                for ow in 0..<OW {
                    let d = Float((he[oh] - hs[oh]) * (we[ow] - ws[ow]))
                    let q = gp + ((n * OH + oh) * OW + ow) * C
                    for ih in hs[oh]..<he[oh] {
                        for iw in ws[ow]..<we[ow] {
                            let p = dp + ((n * H + ih) * W + iw) * C
                            for c in cr { p[c] += q[c] / d }
                        }
                    }
                }
            }
        }
        return [dx]
    }
}

/// Global average pooling [N, H, W, C] → [N, 1, 1, C]: per-channel sums split over rows, so a
/// single large image still uses every core.
private func globalAvgPool(_ x: Tensor) -> Tensor {
    let N = x.shape[0], HW = x.shape[1] * x.shape[2], C = x.shape[3]
    let src = x.pointer
    let sums = channelSums(rows: N * HW, segmentRows: HW, width: C, quantities: 1) { r, acc in
        for row in r {
            let p = src + row * C
            for c in 0..<C { acc[c] += p[c] }
        }
    }
    let out = Tensor(uninitializedShape: [N, 1, 1, C])
    for i in 0..<(N * C) { out.pointer[i] = Float(sums[i] / Double(HW)) }
    return out.record(inputs: [x], name: "adaptive_avg_pool2d") { g in
        let dx = Tensor(uninitializedShape: x.shape)
        let gp = g.pointer, dp = dx.pointer
        let inv = 1 / Float(HW)
        parallelFor(N * HW, grain: Swift.max(1, 16384 / Swift.max(C, 1))) { r in
            for row in r {
                let q = gp + (row / HW) * C, p = dp + row * C
                for c in 0..<C { p[c] = q[c] * inv }
            }
        }
        return [dx]
    }
}
