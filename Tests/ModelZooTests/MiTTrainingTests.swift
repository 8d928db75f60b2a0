import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Training behaviour of the TransKD families: gradients reach every parameter (MiT with every
/// registered attention type in its slot, PVTv2 + Semantic FPN), and one model of each family
/// overfits a few images.
final class MiTTrainingTests: XCTestCase {
    func randomLabels(_ shape: [Int], classes: Int, seed: UInt64) -> Tensor {
        Tensor(Tensor.uniform(shape, generator: RandomGenerator(seed: seed)).toArray().map { Float(Int($0 * Float(classes)) % classes) }, shape: shape)
    }

    func deadParameters(_ model: EncoderDecoder, size: Int = 64) -> [String] {
        let image = Tensor.normal([2, size, size, 3], generator: RandomGenerator(seed: 2))
        model.loss(image, labels: randomLabels([2, size, size], classes: 5, seed: 3)).backward()
        return model.namedParameters().filter { _, p in
            guard let g = p.grad else { return true }
            return g.toArray().allSatisfy { $0 == 0 }
        }.map(\.0)
    }

    /// Every attention type fits MiT's stages (64×64 keeps every SR-reduced grid at 2×2).
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names {
            RandomGenerator.manualSeed(1)
            let spec = try attentionConfig(type == "local" ? #"{"type": "local", "window_size": 2}"# : #"{"type": "\#(type)"}"#)
            let model = try MiTVariant.b0.segmentor(numClasses: 5, attention: spec, dropPath: 0, dropout: 0)
            // SEA-style projections start with BN γ = 0 (a silent branch, no gradient behind it);
            // give every BN γ = 1, as SeaFormer's segmentation init does, so every branch is live.
            for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
            // A constant added to every key cancels in the softmax (SEA-style key BN biases).
            XCTAssertEqual(deadParameters(model).filter { !$0.hasSuffix("to_k.bn.bias") }, [], "MiT with \(type)")
        }
    }

    func testEveryParameterOfPVTv2WithSemanticFPNGetsAGradient() throws {
        RandomGenerator.manualSeed(1)
        let model = try PVTv2Variant.b0.segmentor(numClasses: 5, dropPath: 0, dropout: 0)
        XCTAssertEqual(deadParameters(model), [])
    }

    /// A few AdamW steps on 2 fixed 64×64 images with labels constant over 4×4 blocks (the 1/4
    /// logits can represent them): the loss must fall by 4× (it starts near ln 4 = 1.39).
    func overfit(_ model: EncoderDecoder, steps: Int = 40, lr: Float = 2e-3) -> (Float, Float) {
        model.train()
        let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 8))
        let coarse = randomLabels([2, 16, 16], classes: 4, seed: 9)
        let labels = interpolateNearest(coarse.reshape([2, 16, 16, 1]), size: (64, 64)).reshape([2, 64, 64])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: lr, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<steps {
            opt.zeroGrad()
            let loss = model.loss(image, labels: labels, reduction: .mean)
            loss.backward()
            opt.step()
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        return (first, last)
    }

    func testSegFormerB0Overfits() throws {
        RandomGenerator.manualSeed(7)
        let (first, last) = overfit(try MiTVariant.b0.segmentor(numClasses: 4, dropPath: 0, dropout: 0))
        XCTAssertEqual(first, Float(Foundation.log(4.0)), accuracy: 0.6)
        XCTAssertLessThan(last, first / 4, "loss \(first) → \(last)")
    }

    func testPVTv2B0Overfits() throws {
        RandomGenerator.manualSeed(7)
        // The Semantic FPN head has no norms and learns slower at this lr: 60 steps, a 3× drop.
        let (first, last) = overfit(try PVTv2Variant.b0.segmentor(numClasses: 4, dropPath: 0, dropout: 0), steps: 60)
        XCTAssertLessThan(last, first / 3, "loss \(first) → \(last)")
    }
}
