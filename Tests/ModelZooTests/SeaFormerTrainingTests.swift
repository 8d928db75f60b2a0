import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Whole-model training behaviour: gradients reach every parameter for every attention type,
/// and SeaFormer-T can overfit a few images.
final class SeaFormerTrainingTests: XCTestCase {
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names {
            RandomGenerator.manualSeed(1)
            let spec = try attentionConfig(trainableAttentionJSON(type))
            let model = try SeaFormerVariant.tiny.segmentor(numClasses: 5, attention: spec, dropPath: 0, dropout: 0)
            // The segmentation init sets BN γ = 1 everywhere, so every branch is live.
            let dead = parametersWithoutGradient(model, size: 65)
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
        // Labels constant over 8×8 blocks, so the 1/8-resolution logits can represent them.
        return overfitSegmentation(model, batch: 4, grid: 8, steps: 60, lr: 0.01)
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
