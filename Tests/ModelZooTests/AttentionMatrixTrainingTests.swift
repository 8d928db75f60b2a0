import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Gradients reach every parameter for every cell of the backbone × attention matrix
/// (experiments/cross/attention_matrix.yaml). SeaFormer, MiT, S2AFormer and XFormer run all types
/// in their own training tests; PVTv2 and LVT were covered only with their defaults and with
/// ssa, xfa and mhsa, so these loops fill the rest of the matrix.
final class AttentionMatrixTrainingTests: XCTestCase {
    /// Types already covered for PVTv2 and LVT elsewhere (MiT/S2AFormer/XFormer training tests).
    static let coveredElsewhere: Set<String> = ["ssa", "xfa", "mhsa"]

    /// SEA-style projections start with BN γ = 0 (a silent branch, no gradient behind it): give
    /// every BN γ = 1 so every branch is live, as the other all-types loops do.
    func liveBranches(_ model: EncoderDecoder) {
        for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
    }

    /// A constant added to every key cancels in the softmax: SEA-style key BN biases get no
    /// gradient in exact arithmetic (≈1e-9 in float); the only parameters allowed without one.
    func unexpectedDead(_ model: EncoderDecoder) -> [String] {
        parametersWithoutGradient(model).filter { !$0.hasSuffix("to_k.bn.bias") }
    }

    func testEveryPVTv2ParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names where !Self.coveredElsewhere.contains(type) {
            RandomGenerator.manualSeed(1)
            let model = try PVTv2Variant.b0.segmentor(numClasses: 5, attention: try attentionConfig(trainableAttentionJSON(type)), dropPath: 0, dropout: 0)
            liveBranches(model)
            XCTAssertEqual(unexpectedDead(model), [], "PVTv2-B0 with \(type)")
        }
    }

    func testEveryLVTParameterGetsAGradientForEveryAttentionType() throws {
        for type in ModelRegistry.attentions.names where !Self.coveredElsewhere.contains(type) {
            RandomGenerator.manualSeed(1)
            let model = try LVT.segmentor(numClasses: 5, attention: try attentionConfig(trainableAttentionJSON(type)))
            liveBranches(model)
            XCTAssertEqual(unexpectedDead(model), [], "LVT with \(type)")
        }
    }
}
