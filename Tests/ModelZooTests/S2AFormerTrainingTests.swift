import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Training behaviour of S2AFormer: gradients reach every parameter of S2AFormer-mini with every
/// attention type that validates on its stages, `ssa` trains in the other backbones (SeaFormer
/// and MiT are covered by their own all-types loops), and S2AFormer-mini overfits a few images.
final class S2AFormerTrainingTests: XCTestCase {
    /// A constant added to every key cancels in the softmax: SEA-style key BN biases and SSA's
    /// `k` bias get no gradient in exact arithmetic (≈1e-9 in float). Those are the only
    /// parameters allowed to stay without one.
    static func keyBias(_ path: String) -> Bool { path.hasSuffix("to_k.bn.bias") || path.hasSuffix("attn.k.bias") }

    func deadParameters(_ model: Module, loss: () -> Tensor) -> [String] {
        // SEA-style projections start with BN γ = 0 (a silent branch, no gradient behind it);
        // give every BN γ = 1 so every branch is live.
        for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
        loss().backward()
        return model.namedParameters().filter { path, p in
            guard let g = p.grad else { return true }
            return !Self.keyBias(path) && g.toArray().allSatisfy { $0 == 0 }
        }.map(\.0)
    }

    func labels(_ n: Int, classes: Int, seed: UInt64) -> Tensor {
        Tensor(Tensor.uniform([n], generator: RandomGenerator(seed: seed)).toArray().map { Float(Int($0 * Float(classes)) % classes) }, shape: [n])
    }

    /// 64×64 keeps every reduced key grid at 2×2 (stage 1 8×8 / 8, …, stage 4 2×2 / 1).
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        let shapes = S2AFormerVariant.mini.architecture.attentionShapes
        var served: [String] = []
        for type in ModelRegistry.attentions.names {
            let spec = try attentionConfig(trainableAttentionJSON(type))
            guard (try? shapes.forEach(spec.check)) != nil else { continue }
            served.append(type)
            RandomGenerator.manualSeed(1)
            let model = S2AFormerVariant.mini.classifier(numClasses: 5, attention: spec)
            let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 2))
            let dead = deadParameters(model) { crossEntropy(logits: model(image), target: labels(2, classes: 5, seed: 3)) }
            XCTAssertEqual(dead, [], "S2AFormer-mini with \(type): parameters without gradient")
        }
        XCTAssertEqual(served, ModelRegistry.attentions.names, "every registered type fits S2AFormer's stages")
    }

    /// `ssa` in the backbones whose all-types loops live elsewhere: PVTv2-B0 + Semantic FPN and LVT.
    func testSSATrainsInPVTv2AndLVT() throws {
        let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 2))
        let pixelLabels = Tensor(labels(2 * 64 * 64, classes: 5, seed: 3).toArray(), shape: [2, 64, 64])
        RandomGenerator.manualSeed(1)
        let pvt = try PVTv2Variant.b0.segmentor(numClasses: 5, attention: SSAConfig(), dropPath: 0, dropout: 0)
        XCTAssertEqual(deadParameters(pvt) { pvt.loss(image, labels: pixelLabels) }, [], "PVTv2-B0 with ssa")
        RandomGenerator.manualSeed(1)
        let lvt = try LVT.segmentor(numClasses: 5, attention: SSAConfig())
        XCTAssertEqual(deadParameters(lvt) { lvt.loss(image, labels: pixelLabels) }, [], "LVT with ssa")
    }

    /// S2AFormer-mini memorises 4 labels of 4 fixed 32×32 images: the loss must fall by 10× within
    /// 8 AdamW steps (it starts near ln 4 = 1.39; measured 1.66 → 0.0004).
    func testMiniOverfitsAFewImages() throws {
        RandomGenerator.manualSeed(7)
        let model = S2AFormerVariant.mini.classifier(numClasses: 4)
        model.train()
        let image = Tensor.normal([4, 32, 32, 3], generator: RandomGenerator(seed: 8))
        let target = Tensor([0, 1, 2, 3], shape: [4])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 2e-3, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<8 {
            opt.zeroGrad()
            let loss = model.losses(images: image, labels: target).total
            loss.backward()
            opt.step()
            if step == 0 { first = loss.item() }
            last = loss.item()
        }
        XCTAssertEqual(first, Float(Foundation.log(4.0)), accuracy: 0.5)
        XCTAssertLessThan(last, first / 10, "loss \(first) → \(last)")
    }
}
