import TensorEngine

/// Where the softmax temperature is applied. The two are the same product up to rounding; each
/// caller keeps the order its reference uses so that its outputs match that reference bit for bit.
enum AttentionScaling {
    /// `softmax((q·scale)·kᵀ)`: L·kd multiplies instead of L², the cheaper order for long sequences.
    case queries
    /// `softmax((q·kᵀ)·scale)`: the official SeaFormer code's order.
    case scores
}

/// Scaled dot-product attention over batched, head-split tokens, the one implementation every
/// attention type uses: `qh` [..., L, kd], `kT` [..., kd, S] (keys already transposed, so the
/// product needs no copy), `vh` [..., S, dv] → `softmax(qh·kT·scale + scoreBias)·vh`,
/// [..., L, dv]. `scoreBias` broadcasts against the scores [..., L, S] (padding masks).
func scaledDotProductAttention(_ qh: Tensor, _ kT: Tensor, _ vh: Tensor, scale: Float, scaling: AttentionScaling = .queries,
                               scoreBias: Tensor? = nil) -> Tensor {
    var scores: Tensor
    switch scaling {
    case .queries: scores = matmul(qh * scale, kT)
    case .scores: scores = matmul(qh, kT) * scale
    }
    if let scoreBias { scores = scores + scoreBias }
    return matmul(scores.softmax(axis: -1), vh)
}
