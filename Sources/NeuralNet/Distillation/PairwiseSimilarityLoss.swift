import Foundation
import TensorEngine

/// Structured KD's pair-wise distillation (SKD "PA"; spec/transkd.md §2.8): both feature maps
/// `[B, H, W, C]` (channels may differ) are max-pooled with a (⌊H·scale⌋, ⌊W·scale⌋) window and
/// stride (ceil mode), each position is L2-normalised along channels, and the squared
/// differences of the two N'×N' position-similarity matrices are summed and divided by N'²·B.
public func pairwiseSimilarityLoss(student: Tensor, teacher: Tensor, scale: Float = 0.5) -> Tensor {
    precondition(student.rank == 4 && teacher.rank == 4 && Array(student.shape.prefix(3)) == Array(teacher.shape.prefix(3)),
                 "pairwiseSimilarityLoss: student \(student.shape) and teacher \(teacher.shape) must share [B, H, W]")
    let (b, h, w) = (student.shape[0], student.shape[1], student.shape[2])
    let kernel = (max(1, Int(Float(h) * scale)), max(1, Int(Float(w) * scale)))
    func similarity(_ f: Tensor) -> Tensor {
        let pooled = maxPool2d(f, kernel: kernel, stride: kernel, ceilMode: true)
        let n = pooled.shape[1] * pooled.shape[2]
        let tokens = pooled.reshape([b, n, pooled.shape[3]])
        let unit = tokens / (tokens.square().sum(axes: [-1], keepDim: true).sqrt() + 1e-8)
        return matmul(unit, unit.permute([0, 2, 1]))            // [B, N', N']
    }
    let s = similarity(student), t = similarity(teacher)
    let n = Float(s.shape[1])
    return (t - s).square().sum() * (1 / (n * n * Float(b)))
}
