import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Whole-model training behaviour: gradients reach every parameter for every attention type,
/// and SeaFormer-T can overfit a few images.
final class SeaFormerTrainingTests: XCTestCase {
    func randomLabels(_ shape: [Int], classes: Int, seed: UInt64) -> Tensor {
        Tensor(Tensor.uniform(shape, generator: RandomGenerator(seed: seed)).toArray().map { Float(Int($0 * Float(classes)) % classes) }, shape: shape)
    }

    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names {
            RandomGenerator.manualSeed(1)
            let spec = try attentionConfig(type == "local" ? #"{"type": "local", "window_size": 2}"# : #"{"type": "\#(type)"}"#)
            let model = try SeaFormerVariant.tiny.segmentor(numClasses: 5, attention: spec, dropPath: 0, dropout: 0)
            // The segmentation init sets BN γ = 1 everywhere, so every branch is live.
            let image = Tensor.normal([2, 65, 65, 3], generator: RandomGenerator(seed: 2))
            model.loss(image, labels: randomLabels([2, 65, 65], classes: 5, seed: 3)).backward()
            let dead = model.namedParameters().filter { _, p in
                guard let g = p.grad else { return true }
                return g.toArray().allSatisfy { $0 == 0 }
            }.map(\.0)
            // A constant added to every key cancels in the softmax, so the key projection's BN
            // bias gets no gradient in exact arithmetic (and ~1e-9 in float): allow only those.
            let unexpected = dead.filter { !$0.hasSuffix("to_k.bn.bias") }
            XCTAssertEqual(unexpected, [], "\(type): parameters without gradient")
        }
    }

    /// SeaFormer-T memorises random labels on 4 fixed images: the loss must fall by 5× within
    /// 60 AdamW steps (it starts at ≈ ln 4 = 1.39).
    func overfit(_ type: String) throws -> (Float, Float) {
        RandomGenerator.manualSeed(7)
        let model = try SeaFormerVariant.tiny.segmentor(numClasses: 4, attention: try attentionConfig(#"{"type": "\#(type)"}"#), dropPath: 0, dropout: 0)
        model.train()
        let image = Tensor.normal([4, 64, 64, 3], generator: RandomGenerator(seed: 8))
        // Labels constant over 8×8 blocks, so the 1/8-resolution logits can represent them.
        let coarse = randomLabels([4, 8, 8], classes: 4, seed: 9)
        let labels = interpolateNearest(coarse.reshape([4, 8, 8, 1]), size: (64, 64)).reshape([4, 64, 64])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 0.01, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<60 {
            opt.zeroGrad()
            let loss = model.loss(image, labels: labels, reduction: .mean)
            loss.backward()
            opt.step()
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        return (first, last)
    }

    func testSeaFormerTinyOverfitsWithSEA() throws {
        let (first, last) = try overfit("sea")
        XCTAssertEqual(first, Float(Foundation.log(4.0)), accuracy: 0.5)
        XCTAssertLessThan(last, first / 5, "loss \(first) → \(last)")
    }

    func testSeaFormerTinyOverfitsWithGlobalAttention() throws {
        let (first, last) = try overfit("global")
        XCTAssertLessThan(last, first / 5, "loss \(first) → \(last)")
    }
}
