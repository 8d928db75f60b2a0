import NeuralNet
import TensorEngine
import TestSupport
import XCTest

/// The distillation losses against values computed by hand on tiny tensors, and their
/// gradients against central differences.
final class DistillationLossTests: XCTestCase {
    /// d loss / d x[i] by central differences, for the first `count` elements of `x`.
    func numericGradient(_ x: Tensor, count: Int, _ loss: (Tensor) -> Tensor) -> [Float] {
        let base = x.toArray()
        return (0..<min(count, base.count)).map { i in
            var plus = base, minus = base
            plus[i] += 1e-2; minus[i] -= 1e-2
            let lp = withNoGrad { loss(Tensor(plus, shape: x.shape)) }.item()
            let lm = withNoGrad { loss(Tensor(minus, shape: x.shape)) }.item()
            return (lp - lm) / 2e-2
        }
    }

    func assertGradient(_ x: Tensor, _ loss: (Tensor) -> Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let p = x.detach().copy()
        p.requiresGrad = true
        loss(p).backward()
        let analytic = Array(p.grad!.toArray().prefix(8))
        let numeric = numericGradient(x, count: 8, loss)
        for (a, n) in zip(analytic, numeric) { XCTAssertEqual(a, n, accuracy: 2e-3 * max(1, abs(n)), file: file, line: line) }
        XCTAssertGreaterThan(analytic.map(abs).max() ?? 0, 1e-4, "gradient is trivially zero", file: file, line: line)
    }

    func testHierarchicalContextLossByHand() {
        // 2×2 map, one channel: only the 1×1 level is below the height. MSE 7.5, pooled MSE
        // (0 − 2.5)² = 6.25; (7.5 + 6.25 / 2) / 1.5.
        let s = Tensor.zeros([1, 2, 2, 1]), t = Tensor([1, 2, 3, 4], shape: [1, 2, 2, 1])
        assertValues(hierarchicalContextLoss(student: s, teacher: t), [(7.5 + 3.125) / 1.5])
        // 8×8: levels 4, 2 and 1 all count; weights 1, 1/2, 1/4, 1/8 over 1.875. A constant
        // offset of 1 gives MSE 1 at every level, so the loss is exactly 1.
        let a = Tensor.normal([2, 8, 8, 3], generator: RandomGenerator(seed: 1))
        assertValues(hierarchicalContextLoss(student: a + 1, teacher: a), [1])
        assertGradient(Tensor.normal([2, 8, 8, 3], generator: RandomGenerator(seed: 2))) { hierarchicalContextLoss(student: $0, teacher: a) }
    }

    func testNegativeCosineLossByHand() {
        // Pixel 1: (1, 0)·(1, 0) → cos 1; pixel 2: (0, 1)·(1, 1) → 1/√2. Mean of the negatives.
        let s = Tensor([1, 0, 0, 1], shape: [1, 1, 2, 2]), t = Tensor([1, 0, 1, 1], shape: [1, 1, 2, 2])
        assertValues(negativeCosineLoss(student: s, teacher: t), [-(1 + 1 / Float(2).squareRoot()) / 2])
        // Scale does not matter; the same direction gives −1.
        assertValues(negativeCosineLoss(student: t * 3, teacher: t), [-1])
        let teacher = Tensor.normal([1, 3, 3, 4], generator: RandomGenerator(seed: 3))
        assertGradient(Tensor.normal([1, 3, 3, 4], generator: RandomGenerator(seed: 4))) { negativeCosineLoss(student: $0, teacher: teacher) }
    }

    func testPairwiseSimilarityLossByHand() {
        // 2×1 maps (the pooling window is 1×1): student positions 1 and −1 (one channel) are
        // opposite, similarity [[1, −1], [−1, 1]]; the teacher's (1, 0) and (0, 1) are orthogonal,
        // [[1, 0], [0, 1]]. Squared differences 0 + 1 + 1 + 0 over N'² · B = 4.
        let s = Tensor([1, -1], shape: [1, 2, 1, 1]), t = Tensor([1, 0, 0, 1], shape: [1, 2, 1, 2])
        assertValues(pairwiseSimilarityLoss(student: s, teacher: t), [0.5])
        // Identical maps give 0, whatever the channel counts; 5×7 with scale 0.5 pools 2×3 windows
        // in ceil mode (3×3 positions).
        let f = Tensor.normal([2, 5, 7, 4], generator: RandomGenerator(seed: 5))
        assertValues(pairwiseSimilarityLoss(student: f, teacher: f), [0])
        let teacher = Tensor.normal([2, 4, 4, 6], generator: RandomGenerator(seed: 6))
        assertGradient(Tensor.normal([2, 4, 4, 3], generator: RandomGenerator(seed: 7))) { pairwiseSimilarityLoss(student: $0, teacher: teacher, scale: 0.25) }
    }

    func testChannelWiseAndLogitKLAreTheEnginesKL() {
        // CWD (a distribution over positions per channel) is klDivergence along the position axis:
        // for identical maps it is 0, and for a uniform student against a one-hot teacher per
        // channel it is log(positions).
        let positions = 4
        let uniform = Tensor.zeros([1, positions, 2])
        let oneHot = Tensor([50, 0, 0, 0, 0, 0, 0, 50].map { Float($0) }, shape: [1, positions, 2])
        assertValues(klDivergence(student: uniform, teacher: oneHot, axis: 1, scaleByTemperatureSquared: true), [Float(log(Double(positions)))], accuracy: 1e-4)
    }
}
