import TensorEngine

/// SeaFormer++'s feature loss L_feat (spec/seaformer.md §2.4): the negative cosine similarity
/// along channels between a student and a teacher feature `[B, H, W, C]`, averaged over every
/// pixel. `eps` bounds each norm from below, as `F.cosine_similarity` does.
public func negativeCosineLoss(student: Tensor, teacher: Tensor, eps: Float = 1e-8) -> Tensor {
    precondition(student.shape == teacher.shape && student.rank >= 2,
                 "negativeCosineLoss: student \(student.shape) and teacher \(teacher.shape) must be equal, channels last")
    let dot = (student * teacher).sum(axes: [-1])
    let norms = student.square().sum(axes: [-1]).sqrt().clamp(min: eps) * teacher.square().sum(axes: [-1]).sqrt().clamp(min: eps)
    return -(dot / norms).mean()
}
