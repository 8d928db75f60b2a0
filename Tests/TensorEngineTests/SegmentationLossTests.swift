import TestSupport
import XCTest
@testable import TensorEngine

final class SegmentationLossTests: XCTestCase {
    /// Random labels in [0, K) with about a fifth of the pixels set to the ignore index.
    func labels(_ shape: [Int], classes: Int, seed: UInt64) -> Tensor {
        let u = Tensor.uniform(shape, generator: RandomGenerator(seed: seed))
        return Tensor(u.toArray().map { $0 < 0.2 ? 255 : Float(Int(($0 - 0.2) / 0.8 * Float(classes)) % classes) }, shape: shape)
    }

    func testMatchesUpsampleThenCrossEntropy() {
        for (i, (lowShape, size, align)) in [([2, 3, 4, 5], (13, 9), false), ([1, 5, 3, 7], (5, 3), true), ([3, 2, 2, 19], (16, 16), false),
                                              ([1, 4, 4, 150], (12, 12), false)].enumerated() {
            let logits = Tensor.normal(lowShape, std: 3, generator: RandomGenerator(seed: UInt64(i)))
            let target = labels([lowShape[0], size.0, size.1], classes: lowShape[3], seed: UInt64(10 + i))
            let weight = Tensor.uniform([lowShape[3]], low: 0.5, high: 2, generator: RandomGenerator(seed: 99))
            for reduction in [Reduction.mean, .sum, .meanOverAll, .none] {
                for w in [nil, weight] {
                    let a = logits.copy(); a.requiresGrad = true
                    let b = logits.copy(); b.requiresGrad = true
                    let fused = upsampledCrossEntropy(logits: a, target: target, alignCorners: align, weight: w, reduction: reduction)
                    let plain = crossEntropy(logits: interpolateBilinear(b, size: size, alignCorners: align), target: target, weight: w, reduction: reduction)
                    assertClose(fused, plain, accuracy: 1e-6, "loss \(reduction) case \(i)")
                    let seed = Tensor.uniform(fused.shape, low: 0.5, high: 1.5, generator: RandomGenerator(seed: 5))
                    fused.backward(seed)
                    plain.backward(seed)
                    assertClose(a.grad!, b.grad!, accuracy: 2e-5, "gradient \(reduction) case \(i)")
                }
            }
        }
    }

    func testGradientByFiniteDifferences() {
        let logits = Tensor.normal([2, 3, 2, 4], generator: RandomGenerator(seed: 3))
        let target = labels([2, 7, 5], classes: 4, seed: 4)
        checkGradients([logits]) { upsampledCrossEntropy(logits: $0[0], target: target, reduction: .none) }
        checkGradients([logits]) { upsampledCrossEntropy(logits: $0[0], target: target, reduction: .meanOverAll) }
    }

    func testSingleSampleSplitsClassesAcrossThreads() {
        // N = 1 < threads: the backward pass splits the class axis; results must not depend on it.
        let logits = Tensor.normal([1, 4, 4, 37], generator: RandomGenerator(seed: 8))
        let target = labels([1, 16, 16], classes: 37, seed: 9)
        let old = Engine.threads
        defer { Engine.threads = old }
        var grads: [[Float]] = []
        for threads in [1, 2] {
            Engine.threads = threads
            let a = logits.copy(); a.requiresGrad = true
            upsampledCrossEntropy(logits: a, target: target).backward()
            grads.append(a.grad!.toArray())
        }
        XCTAssertEqual(grads[0], grads[1])
    }
}
