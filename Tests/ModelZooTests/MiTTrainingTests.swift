import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Training behaviour of the TransKD families: gradients reach every parameter (MiT with every
/// registered attention type in its slot, PVTv2 + Semantic FPN), and one model of each family
/// overfits a few images.
final class MiTTrainingTests: XCTestCase {
    /// Every attention type fits MiT's stages (64×64 keeps every SR-reduced grid at 2×2).
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names {
            RandomGenerator.manualSeed(1)
            let spec = try attentionConfig(trainableAttentionJSON(type))
            let model = try MiTVariant.b0.segmentor(numClasses: 5, attention: spec, dropPath: 0, dropout: 0)
            // SEA-style projections start with BN γ = 0 (a silent branch, no gradient behind it);
            // give every BN γ = 1, as SeaFormer's segmentation init does, so every branch is live.
            for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
            // A constant added to every key cancels in the softmax (SEA-style key BN biases).
            XCTAssertEqual(parametersWithoutGradient(model).filter { !$0.hasSuffix("to_k.bn.bias") }, [], "MiT with \(type)")
        }
    }

    func testEveryParameterOfPVTv2WithSemanticFPNGetsAGradient() throws {
        RandomGenerator.manualSeed(1)
        let model = try PVTv2Variant.b0.segmentor(numClasses: 5, dropPath: 0, dropout: 0)
        XCTAssertEqual(parametersWithoutGradient(model), [])
    }

    /// A few AdamW steps on 2 fixed 64×64 images with labels constant over 4×4 blocks (the 1/4
    /// logits can represent them): the loss must fall by 4× (it starts near ln 4 = 1.39).
    func overfit(_ model: EncoderDecoder, steps: Int = 40, lr: Float = 2e-3) -> (Float, Float) {
        overfitSegmentation(model, batch: 2, grid: 16, steps: steps, lr: lr)
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
