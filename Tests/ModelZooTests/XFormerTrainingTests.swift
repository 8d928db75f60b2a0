import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Training behaviour of XFormer: gradients reach every parameter with every attention type
/// that validates on its stages (xfa and mhsa also train in the other families' all-types
/// loops), the segmentor's gradients reach its head, and the classifier overfits a few images.
final class XFormerTrainingTests: XCTestCase {
    func deadParameters(_ model: Module, loss: () -> Tensor) -> [String] {
        // SEA-style projections start with BN γ = 0 (a silent branch): give every BN γ = 1.
        for case let bn as BatchNorm in model.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
        loss().backward()
        return model.namedParameters().filter { path, p in
            guard let g = p.grad else { return true }
            return !S2AFormerTrainingTests.keyBias(path) && g.toArray().allSatisfy { $0 == 0 }
        }.map(\.0)
    }

    func labels(_ n: Int, classes: Int, seed: UInt64) -> Tensor {
        Tensor(Tensor.uniform([n], generator: RandomGenerator(seed: seed)).toArray().map { Float(Int($0 * Float(classes)) % classes) }, shape: [n])
    }

    /// 64×64 input: XF maps 8×8, 4×4, 2×2 (token grids 4×4, 2×2, 1×1). The learned w_c (xfa's
    /// default) is sized for that grid.
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        var a = XFormerArchitecture()
        a.dropout = 0
        let shapes = a.attentionShapes(imageSize: (64, 64))
        var served: [String] = []
        let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 2))
        for type in ModelRegistry.attentions.names {
            let spec = try attentionConfig(type == "xfa" ? #"{"type": "xfa"}"# : trainableAttentionJSON(type))
            guard (try? shapes.forEach(spec.check)) != nil else { continue }
            served.append(type)
            RandomGenerator.manualSeed(1)
            let model = XFormerClassifier(backbone: XFormerBackbone(architecture: a, attention: spec, imageSize: (64, 64)), numClasses: 5, dropout: 0)
            let dead = deadParameters(model) { crossEntropy(logits: model(image), target: labels(2, classes: 5, seed: 3)) }
            XCTAssertEqual(dead, [], "XFormer with \(type): parameters without gradient")
        }
        XCTAssertTrue(served.contains("xfa") && served.contains("mhsa"), "\(served)")
    }

    /// The XFormer classifier memorises 4 labels of 4 fixed 32×32 images: the loss must fall by
    /// 10× within 10 AdamW steps (it starts near ln 4 = 1.39).
    func testClassifierOverfitsAFewImages() throws {
        RandomGenerator.manualSeed(7)
        var a = XFormerArchitecture()
        a.dropout = 0
        let model = XFormerClassifier(backbone: XFormerBackbone(architecture: a, imageSize: (32, 32)), numClasses: 4, dropout: 0)
        model.train()
        let image = Tensor.normal([4, 32, 32, 3], generator: RandomGenerator(seed: 8))
        let target = Tensor([0, 1, 2, 3], shape: [4])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 2e-3, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<10 {
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
