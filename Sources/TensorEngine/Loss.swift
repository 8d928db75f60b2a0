import Foundation

// Losses with fused forward and backward kernels. Class dimensions are channels-last (the
// innermost, contiguous axis), so per-pixel work runs over K contiguous logits.

/// How a loss combines its per-element values into the result.
public enum Reduction {
    /// Elementwise losses: mean over elements. Cross entropy: Σ w_y·nll / Σ w_y over the
    /// non-ignored pixels (torch's weighted mean). KL divergence: mean over distributions.
    case mean
    /// Total over elements (ignored pixels contribute 0).
    case sum
    /// No reduction: one value per element (per pixel for cross entropy, per distribution for KL).
    case none
    /// Cross entropy as mmseg 0.19 reduces it: Σ w_y·nll over valid pixels divided by ALL pixels
    /// (ignored ones count in the denominator). KL: torch's reduction='mean' (divide by every
    /// element). Elementwise losses: same as `.mean`.
    case meanOverAll
}

/// Multiplier of the reduced loss for one element's contribution (`.none` handled by callers).
private func reductionScale(_ reduction: Reduction, count: Int) -> Float {
    switch reduction {
    case .sum, .none: return 1
    case .mean, .meanOverAll: return 1 / Float(count)
    }
}

/// Σ of a tensor's elements as a rank-0 tensor, times `scale` (no autograd).
private func totalKernel(_ t: Tensor, scale: Float) -> Tensor {
    reduceKernel(t, ReductionPlan(shape: t.shape, flags: [Bool](repeating: true, count: t.rank), keepDim: false), isMax: false, scale: scale)
}

// MARK: cross entropy

/// Cross entropy of channels-last `logits` [..., K] (e.g. [N,H,W,K] or [N,K]) against class
/// indices `target` stored as Float with shape [...] (e.g. [N,H,W] or [N]). Pixels whose target
/// equals `ignoreIndex` contribute nothing (default 255 as in segmentation; torch's is -100);
/// `weight` [K] weighs each pixel by its target's class. One fused pass per pixel; the backward
/// pass recomputes the softmax from the logits and the saved per-pixel log-sum-exp.
public func crossEntropy(logits: Tensor, target: Tensor, weight: Tensor? = nil, ignoreIndex: Int = 255,
                         reduction: Reduction = .mean) -> Tensor {
    precondition(logits.rank >= 1, "crossEntropy: logits must have a class axis, got shape \(logits.shape)")
    let K = logits.shape.last!
    precondition(target.shape == Array(logits.shape.dropLast()),
                 "crossEntropy: target shape \(target.shape) must be logits shape \(logits.shape) without the last (class) axis")
    if let weight { precondition(weight.shape == [K], "crossEntropy: weight shape \(weight.shape) must be [\(K)] (one per class)") }
    precondition(K > 0 || target.count == 0, "crossEntropy: logits have 0 classes (shape \(logits.shape))")
    let P = target.count
    let src = UnsafePointer(logits.pointer), tgt = UnsafePointer(target.pointer)
    let wp: UnsafePointer<Float>? = weight.map { UnsafePointer($0.pointer) }
    let ignore = Float(ignoreIndex)
    let lse = Tensor(uninitializedShape: target.shape)  // per-pixel log Σ exp, for the backward pass
    let perPixel = reduction == .none ? Tensor(uninitializedShape: target.shape) : nil
    let lp = lse.pointer, np = perPixel?.pointer
    let threads = P * K < 1 << 14 ? 1 : Engine.threads
    var partials = [Double](repeating: 0, count: 2 * threads)  // (Σ w·nll, Σ w) per thread
    partials.withUnsafeMutableBufferPointer { part in
        let acc = part.baseAddress!
        runOnThreads(threads) { t, n in
            var lossSum = 0.0, weightSum = 0.0
            for p in (P * t / n)..<(P * (t + 1) / n) {
                let v = tgt[p]
                if v == ignore { lp[p] = 0; np?[p] = 0; continue }
                let (l, loss, w) = pixelCrossEntropy(src + p * K, K, target: v, weights: wp, op: "crossEntropy", at: p, ignoreIndex: ignoreIndex)
                lp[p] = l
                np?[p] = loss
                lossSum += Double(loss)
                weightSum += Double(w)
            }
            acc[2 * t] = lossSum
            acc[2 * t + 1] = weightSum
        }
    }
    let (result, denominator) = reduceCrossEntropy(partials, pixels: P, reduction: reduction, perPixel: perPixel)
    return result.record(inputs: [logits], name: "cross_entropy") { g in
        // The kernel reads target, lse and weight through raw pointers: keep them alive.
        withExtendedLifetime((target, lse, weight)) { [crossEntropyBackward(g)] }
    }
    func crossEntropyBackward(_ g: Tensor) -> Tensor {
        let out = Tensor(uninitializedShape: logits.shape)
        let dst = out.pointer, gp = UnsafePointer(g.pointer)
        let perPixelGrad = reduction == .none
        let scalarGrad = perPixelGrad ? 0 : g.item() / denominator
        parallelFor(P, grain: Swift.max(1, (1 << 14) / Swift.max(K, 1))) { range in
            for p in range {
                let d = dst + p * K, v = tgt[p]
                if v == ignore { d.update(repeating: 0, count: K); continue }
                let c = Int(v), row = src + p * K, l = lp[p]
                let scale = (wp?[c] ?? 1) * (perPixelGrad ? gp[p] : scalarGrad)
                for k in 0..<K { d[k] = fastExp(row[k] - l) * scale }
                d[c] -= scale
            }
        }
        return out
    }
}

/// Cross entropy of one pixel's `K` logits against class `target` (not the ignore index):
/// its log-sum-exp, weighted loss and weight. A target that is not a class index stops with a
/// message naming the op, the value and the pixel.
@inline(__always)
func pixelCrossEntropy(_ z: UnsafePointer<Float>, _ K: Int, target v: Float, weights: UnsafePointer<Float>?, op: String, at p: Int,
                       ignoreIndex: Int) -> (lse: Float, loss: Float, weight: Float) {
    guard v >= 0 && v < Float(K) && v == v.rounded(.down) else {
        preconditionFailure("\(op): target value \(v) at element \(p) is not a class index in [0, \(K)) nor ignoreIndex \(ignoreIndex)")
    }
    let c = Int(v)
    let m = reduceMaxContiguous(z, K)
    let l = m + Foundation.log(fastExpSum(z, K, shift: m, scale: 1, store: nil))
    let w = weights?[c] ?? 1
    return (l, w * (l - z[c]), w)
}

/// Reduces per-thread `(Σ w·nll, Σ w)` partials of a cross entropy over `pixels` positions:
/// the loss for `reduction` (`perPixel` for `.none`) and the denominator its gradient divides by.
func reduceCrossEntropy(_ partials: [Double], pixels: Int, reduction: Reduction, perPixel: Tensor?) -> (Tensor, Float) {
    var lossTotal = 0.0, weightTotal = 0.0
    for t in stride(from: 0, to: partials.count, by: 2) { lossTotal += partials[t]; weightTotal += partials[t + 1] }
    switch reduction {
    case .none: return (perPixel!, 1)
    case .sum: return (Tensor(scalar: Float(lossTotal)), 1)
    case .mean: return (Tensor(scalar: Float(lossTotal / weightTotal)), Float(weightTotal))  // 0/0 = NaN when all pixels are ignored, as torch
    case .meanOverAll: return (Tensor(scalar: Float(lossTotal / Double(pixels))), Float(pixels))
    }
}

// MARK: KL divergence (distillation)

/// KL(softmax(teacher/T) ‖ softmax(student/T)) along `axis`, for knowledge distillation.
///
/// Over classes: `axis: -1` on [N,H,W,K] logits. Channel-wise distillation (CWD: a distribution
/// over spatial positions per (n, c)): reshape [N,H,W,C] → [N,H·W,C] and pass `axis: 1`.
/// `reduction`: `.mean` averages the per-distribution KL over all distributions (torch's
/// 'batchmean' for [N,K] input; CWD's sum / (N·C)), `.sum` adds them, `.none` returns them
/// (shape without `axis`), `.meanOverAll` divides the sum by every element (torch's 'mean').
/// `scaleByTemperatureSquared` multiplies by T² (Hinton et al.; CWD) so gradient magnitudes do
/// not shrink with T — a deliberate choice for the caller. Gradients flow to the student, and to
/// the teacher too when it requires grad.
public func klDivergence(student: Tensor, teacher: Tensor, temperature: Float = 1, axis: Int = -1,
                         scaleByTemperatureSquared: Bool, reduction: Reduction = .mean) -> Tensor {
    precondition(student.shape == teacher.shape, "klDivergence: student shape \(student.shape) differs from teacher shape \(teacher.shape)")
    precondition(temperature > 0, "klDivergence: temperature \(temperature) must be positive")
    let (_, K, _) = softmaxLayout(student.shape, axis, op: "klDivergence")
    let invT = 1 / temperature
    let ls = softmaxKernel(student, axis: axis, log: true, scale: invT)
    let lt = softmaxKernel(teacher, axis: axis, log: true, scale: invT)
    let elem = mapBinary(lt, ls, "klDivergence") { a, b in let p = fastExp(a); return p == 0 ? 0 : p * (a - b) }
    var flags = [Bool](repeating: false, count: student.rank)
    if student.rank > 0 { flags[normalizeAxis(axis, student.rank)] = true }
    let plan = ReductionPlan(shape: student.shape, flags: flags, keepDim: false)
    let perDist = reduceKernel(elem, plan, isMax: false)
    let factor: Float = scaleByTemperatureSquared ? temperature * temperature : 1
    let distributions = K == 0 ? 0 : student.count / K
    let scale: Float
    switch reduction {
    case .none: scale = factor
    case .sum: scale = factor
    case .mean: scale = factor / Float(distributions)
    case .meanOverAll: scale = factor / Float(student.count)
    }
    let result = reduction == .none ? mapUnary(perDist) { $0 * scale } : totalKernel(perDist, scale: scale)
    guard GradMode.isEnabled && (student.requiresGrad || teacher.requiresGrad) else { return result }
    return result.record(inputs: [student, teacher], name: "kl_divergence") { g in
        // Per-distribution gradient of the result, shaped to broadcast over the axis.
        let onesShape = [Int](repeating: 1, count: student.rank)
        let gd = reduction == .none ? mapUnary(g.reshape(plan.keepShape)) { $0 * scale * invT }
            : Tensor.full(onesShape, g.item() * scale * invT)
        // d/ds = (q − p)/T ; d/dt = p·((log p − log q) − KL)/T, with p teacher, q student.
        let gs = student.requiresGrad ? mapBinary(mapBinary(ls, lt, "klDivergence") { fastExp($0) - fastExp($1) }, gd, "klDivergence", *) : nil
        var gt: Tensor? = nil
        if teacher.requiresGrad {
            let kl = perDist.reshape(plan.keepShape)
            let dev = mapBinary(mapBinary(lt, ls, "klDivergence", -), kl, "klDivergence", -)
            gt = mapBinary(mapBinary(dev, lt, "klDivergence") { $0 * fastExp($1) }, gd, "klDivergence", *)
        }
        return [gs, gt]
    }
}

// MARK: elementwise losses

/// Applies `reduction` to per-element losses `elem`; `.meanOverAll` is `.mean` here.
private func reduceElementwise(_ elem: Tensor, _ reduction: Reduction) -> Tensor {
    reduction == .none ? elem : totalKernel(elem, scale: reductionScale(reduction, count: elem.count))
}

/// `g` per element (none) or the scalar that multiplies every element's derivative.
private func elementGrad(_ g: Tensor, _ reduction: Reduction, count: Int) -> (Tensor?, Float) {
    reduction == .none ? (g, 1) : (nil, g.item() * reductionScale(reduction, count: count))
}

/// Mean squared error `(input − target)²` with `reduction` (same shapes required).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    precondition(input.shape == target.shape, "mseLoss: input shape \(input.shape) differs from target shape \(target.shape)")
    let elem = mapBinary(input, target, "mseLoss") { let d = $0 - $1; return d * d }
    return reduceElementwise(elem, reduction).record(inputs: [input, target], name: "mse_loss") { g in
        let (gt, c) = elementGrad(g, reduction, count: input.count)
        let d = gt.map { mapTernary(input, target, $0) { a, b, g in 2 * (a - b) * g } } ?? mapBinary(input, target, "mseLoss") { 2 * ($0 - $1) * c }
        return [input.requiresGrad ? d : nil, target.requiresGrad ? -d : nil]
    }
}

/// Mean absolute error `|input − target|` with `reduction`; derivative sign(input − target), 0 at 0.
public func l1Loss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    precondition(input.shape == target.shape, "l1Loss: input shape \(input.shape) differs from target shape \(target.shape)")
    let elem = mapBinary(input, target, "l1Loss") { Swift.abs($0 - $1) }
    return reduceElementwise(elem, reduction).record(inputs: [input, target], name: "l1_loss") { g in
        let (gt, c) = elementGrad(g, reduction, count: input.count)
        @inline(__always) func sign(_ d: Float) -> Float { d > 0 ? 1 : (d < 0 ? -1 : 0) }
        let d = gt.map { mapTernary(input, target, $0) { a, b, g in sign(a - b) * g } } ?? mapBinary(input, target, "l1Loss") { sign($0 - $1) * c }
        return [input.requiresGrad ? d : nil, target.requiresGrad ? -d : nil]
    }
}

/// Binary cross entropy on logits, in torch's stable form:
/// `w·[(1 − y)·x + (1 + (pw − 1)·y)·softplus(−x)]`. `weight` and `posWeight` broadcast to the
/// logits' shape (posWeight is usually [C] for channels-last C classes).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil,
                                         reduction: Reduction = .mean) -> Tensor {
    precondition(logits.shape == target.shape, "binaryCrossEntropyWithLogits: logits shape \(logits.shape) differs from target shape \(target.shape)")
    for (name, t) in [("weight", weight), ("posWeight", posWeight)] {
        if let t { precondition(broadcastShape(t.shape, logits.shape) == logits.shape,
                                "binaryCrossEntropyWithLogits: \(name) shape \(t.shape) does not broadcast to logits shape \(logits.shape)") }
    }
    let w = weight?.broadcastKernel(to: logits.shape), pw = posWeight?.broadcastKernel(to: logits.shape)
    let wp: UnsafePointer<Float>? = w.map { UnsafePointer($0.pointer) }, pwp: UnsafePointer<Float>? = pw.map { UnsafePointer($0.pointer) }
    let xp = UnsafePointer(logits.pointer), yp = UnsafePointer(target.pointer)
    @inline(__always) func softplusNeg(_ x: Float) -> Float { Foundation.log1p(Foundation.exp(-Swift.abs(x))) + Swift.max(-x, 0) }
    let elem = Tensor(uninitializedShape: logits.shape)
    let ep = elem.pointer
    parallelFor(logits.count, grain: 1 << 12) { r in
        for i in r {
            let x = xp[i], y = yp[i]
            let lw = 1 + ((pwp?[i] ?? 1) - 1) * y
            ep[i] = ((1 - y) * x + lw * softplusNeg(x)) * (wp?[i] ?? 1)
        }
    }
    return reduceElementwise(elem, reduction).record(inputs: [logits, target], name: "bce_with_logits") { g in
        withExtendedLifetime((w, pw)) { bceBackward(g) }
    }
    func bceBackward(_ g: Tensor) -> [Tensor?] {
        let (gt, c) = elementGrad(g, reduction, count: logits.count)
        let gp: UnsafePointer<Float>? = gt.map { UnsafePointer($0.pointer) }
        let dx = logits.requiresGrad ? Tensor(uninitializedShape: logits.shape) : nil
        let dy = target.requiresGrad ? Tensor(uninitializedShape: logits.shape) : nil
        let dxp = dx?.pointer, dyp = dy?.pointer
        parallelFor(logits.count, grain: 1 << 12) { r in
            for i in r {
                let x = xp[i], y = yp[i], pwv = pwp?[i] ?? 1
                let s = (gp?[i] ?? c) * (wp?[i] ?? 1)
                let lw = 1 + (pwv - 1) * y
                // σ(−x), stable for either sign of x.
                let e = Foundation.exp(-Swift.abs(x))
                let sigNeg = x >= 0 ? e / (1 + e) : 1 / (1 + e)
                dxp?[i] = s * ((1 - y) - lw * sigNeg)
                dyp?[i] = s * (-x + (pwv - 1) * softplusNeg(x))
            }
        }
        return [dx, dy]
    }
}
