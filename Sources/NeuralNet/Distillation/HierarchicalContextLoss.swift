import TensorEngine

/// Knowledge Review's hierarchical context loss (HCL; spec/transkd.md §2.2, TransKD Eq. 11)
/// between a student feature and a teacher feature of the same shape `[B, H, W, C]`: the MSE of
/// the maps plus the MSEs of their l×l average pools for l in `levels` (4, 2, 1) that are smaller
/// than the map's height, weighted 1, 1/2, 1/4, 1/8 and normalised by the sum of the weights
/// used. Pools are square whatever the aspect ratio; every MSE is the mean over elements.
public func hierarchicalContextLoss(student: Tensor, teacher: Tensor, levels: [Int] = [4, 2, 1]) -> Tensor {
    precondition(student.shape == teacher.shape && student.rank == 4,
                 "hierarchicalContextLoss: student \(student.shape) and teacher \(teacher.shape) must be equal [B, H, W, C]")
    var loss = mseLoss(student, teacher)
    var weight: Float = 1, total: Float = 1
    for l in levels where l < student.shape[1] {
        weight /= 2
        loss = loss + mseLoss(adaptiveAvgPool2d(student, outputSize: (l, l)), adaptiveAvgPool2d(teacher, outputSize: (l, l))) * weight
        total += weight
    }
    return loss * (1 / total)
}
