import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Training behaviour of XFormer: gradients reach every parameter with every attention type
/// that validates on its stages (xfa and mhsa also train in the other families' all-types
/// loops), the segmentor's gradients reach its head, and the classifier overfits a few images.
final class XFormerTrainingTests: XCTestCase {
    /// XFormer's layout at a quarter of its widths (q-k-v 24 = 4 heads × 6): every module the
    /// full model has, built in milliseconds instead of seconds.
    static var narrow: XFormerArchitecture {
        var a = XFormerArchitecture()
        a.stem = 8; a.widths = [8, 16, 24, 32, 40]; a.embedDims = [36, 48, 60]; a.qkvDim = 24; a.outChannels = 64
        a.dropout = 0
        return a
    }

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

    /// The narrow layout at one 96×96 image: XF maps 12×12, 6×6, 3×3 (resized to 4×4), so every
    /// token map has at least 2×2 tokens (over a single token a softmax is constant and its queries get no
    /// gradient). The learned w_c (xfa's default) is sized for that grid.
    func testEveryParameterGetsAGradientForEveryAttentionType() throws {
        let a = Self.narrow
        let shapes = a.attentionShapes(imageSize: (96, 96))
        var served: [String] = []
        let image = Tensor.normal([1, 96, 96, 3], generator: RandomGenerator(seed: 2))
        for type in ModelRegistry.attentions.names {
            let spec = try attentionConfig(type == "xfa" ? #"{"type": "xfa"}"# : trainableAttentionJSON(type))
            guard (try? shapes.forEach(spec.check)) != nil else { continue }
            served.append(type)
            RandomGenerator.manualSeed(1)
            let model = XFormerClassifier(backbone: XFormerBackbone(architecture: a, attention: spec, imageSize: (96, 96)), numClasses: 5, dropout: 0)
            let dead = deadParameters(model) { crossEntropy(logits: model(image), target: labels(1, classes: 5, seed: 3)) }
            XCTAssertEqual(dead, [], "XFormer with \(type): parameters without gradient")
        }
        XCTAssertTrue(served.contains("xfa") && served.contains("mhsa"), "\(served)")
    }

    /// `xfa` (parameter-free context) and `mhsa` in the backbones whose all-types loops live
    /// elsewhere (MiT, SeaFormer and S2AFormer run both in theirs): PVTv2-B0 + Semantic FPN and LVT.
    func testXFAAndMHSATrainInPVTv2AndLVT() throws {
        let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 2))
        let pixelLabels = Tensor(labels(2 * 64 * 64, classes: 5, seed: 3).toArray(), shape: [2, 64, 64])
        for config in [XFAConfig(context: .mean) as any AttentionConfig, MHSAConfig()] {
            RandomGenerator.manualSeed(1)
            let pvt = try PVTv2Variant.b0.segmentor(numClasses: 5, attention: config, dropPath: 0, dropout: 0)
            XCTAssertEqual(deadParameters(pvt) { pvt.loss(image, labels: pixelLabels) }, [], "PVTv2-B0 with \(config.typeName)")
            RandomGenerator.manualSeed(1)
            let lvt = try LVT.segmentor(numClasses: 5, attention: config)
            XCTAssertEqual(deadParameters(lvt) { lvt.loss(image, labels: pixelLabels) }, [], "LVT with \(config.typeName)")
        }
    }

    /// The XFormer classifier memorises 2 labels of 2 fixed 32×32 images: the loss must fall by
    /// 10× within 16 AdamW steps (it starts near ln 4 = 1.39).
    func testClassifierOverfitsAFewImages() throws {
        RandomGenerator.manualSeed(7)
        let model = XFormerClassifier(backbone: XFormerBackbone(architecture: Self.narrow, imageSize: (32, 32)), numClasses: 4, dropout: 0)
        model.train()
        let image = Tensor.normal([2, 32, 32, 3], generator: RandomGenerator(seed: 8))
        let target = Tensor([0, 3], shape: [2])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 1e-2, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<16 {
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
