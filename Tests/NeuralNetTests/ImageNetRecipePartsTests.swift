import Foundation
import XCTest
import TensorEngine
@testable import NeuralNet

/// The optimizer, EMA and losses of the ImageNet recipe, against their definitions.
final class ImageNetRecipePartsTests: XCTestCase {
    /// The trajectory of OptimizerTests (p = [1, −2], three gradients, lr 0.1, wd 0.01) under
    /// TF's RMSprop with α 0.9, ε 1e-3, momentum 0.9: v₀ = 1, ε inside the root, lr inside the
    /// momentum buffer. Expected values computed from the update rule in double precision.
    func testRMSpropTFFollowsTheTensorFlowRule() {
        let p = Tensor([1, -2], shape: [2]).asParameter()
        let opt = RMSpropTF(parameters: optimizedParameters([("w", p)]), lr: 0.1, alpha: 0.9, eps: 1e-3, momentum: 0.9, weightDecay: 0.01)
        let expected: [[Float]] = [[0.94703024, -2.0241599], [0.93100322, -2.1485115], [0.89261736, -2.2800953]]
        for (g, e) in zip([[0.5, 0.25], [-0.3, 1.0], [0.2, 0.2]] as [[Float]], expected) {
            p.grad = Tensor(g, shape: [2])
            opt.step()
            for (x, y) in zip(p.toArray(), e) { XCTAssertEqual(x, y, accuracy: 2e-6) }
        }
        XCTAssertEqual(Set(opt.stateDict().keys), ["w.square_avg", "w.momentum_buffer", "w.step"])
    }

    func testModelEMAAveragesParametersAndBuffersAndCopiesTheCounter() {
        let bn = BatchNorm(2)
        bn.weight.assign(from: Tensor([1, 1], shape: [2]))
        let ema = ModelEMA(bn, decay: 0.5)
        for value in [3, 5] as [Float] {
            bn.weight.assign(from: Tensor([value, value], shape: [2]))
            bn.runningMean.assign(from: Tensor([value, 0], shape: [2]))
            bn.numBatchesTracked.assign(from: Tensor(scalar: value))
            ema.update(from: bn)
        }
        XCTAssertEqual(ema.state["weight"]!.toArray(), [3.5, 3.5], "1 → ½·1 + ½·3 = 2 → ½·2 + ½·5")
        XCTAssertEqual(ema.state["running_mean"]!.toArray(), [3.25, 0], "0 → 1.5 → 3.25")
        XCTAssertEqual(ema.state["num_batches_tracked"]!.item(), 5)
        XCTAssertEqual(bn.weight.toArray(), [5, 5], "the model itself is untouched")
    }

    /// −Σ t·log softmax(z) for z = [0, ln 3] (softmax [¼, ¾]) and t = [½, ½]: ½·(ln 4 + ln 4/3).
    func testSoftTargetCrossEntropyValueAndGradient() {
        let z = Tensor([0, Float(Foundation.log(3.0))], shape: [1, 2]).asParameter()
        let loss = softTargetCrossEntropy(logits: z, target: Tensor([0.5, 0.5], shape: [1, 2]))
        XCTAssertEqual(loss.item(), Float(0.5 * (Foundation.log(4.0) + Foundation.log(4.0 / 3.0))), accuracy: 1e-6)
        loss.backward()
        XCTAssertEqual(z.grad!.toArray()[0], 0.25 - 0.5, accuracy: 1e-6, "softmax − target")
        XCTAssertEqual(z.grad!.toArray()[1], 0.75 - 0.5, accuracy: 1e-6)
        let smooth = smoothedTargets(Tensor([2, 0], shape: [2]), numClasses: 4, smoothing: 0.1)
        for (a, b) in zip(smooth.toArray(), [0.025, 0.025, 0.925, 0.025, 0.925, 0.025, 0.025, 0.025] as [Float]) { XCTAssertEqual(a, b, accuracy: 1e-7) }
        // With hard one-hot targets it is the ordinary cross entropy.
        let logits = Tensor([0.3, -1, 2, 0.5], shape: [2, 2])
        XCTAssertEqual(softTargetCrossEntropy(logits: logits, target: smoothedTargets(Tensor([1, 0], shape: [2]), numClasses: 2, smoothing: 0)).item(),
                       crossEntropy(logits: logits, target: Tensor([1, 0], shape: [2])).item(), accuracy: 1e-6)
    }
}
