import TensorEngine

/// Cross entropy of logits `[N, K]` against soft targets `[N, K]` (rows sum to 1): the mean
/// over the batch of −Σₖ tₖ·log softmax(z)ₖ (timm's `SoftTargetCrossEntropy`, what mixup and
/// cutmix train with). Written from primitives, so its gradient is (softmax(z) − t) / N.
public func softTargetCrossEntropy(logits: Tensor, target: Tensor) -> Tensor {
    precondition(logits.rank == 2 && target.shape == logits.shape,
                 "softTargetCrossEntropy: logits [N, K] and targets [N, K], got \(logits.shape) and \(target.shape)")
    return -(target * logits.logSoftmax(axis: 1)).sum(axes: [1]).mean()
}

/// Soft targets `[N, K]` from class indices `[N]` with label smoothing ε: (1 − ε)·onehot + ε/K
/// (timm's `LabelSmoothingCrossEntropy` spreads ε uniformly over all K classes, the target
/// included).
public func smoothedTargets(_ labels: Tensor, numClasses k: Int, smoothing eps: Float) -> Tensor {
    let n = labels.count
    var values = [Float](repeating: eps / Float(k), count: n * k)
    let l = labels.toArray()
    for i in 0..<n { values[i * k + Int(l[i])] += 1 - eps }
    return Tensor(values, shape: [n, k])
}

/// Mixes two soft-target batches row by row: `λ·a + (1 − λ)·b` (the target side of mixup and cutmix).
public func mixTargets(_ a: Tensor, _ b: Tensor, lambda: Float) -> Tensor { a * lambda + b * (1 - lambda) }
