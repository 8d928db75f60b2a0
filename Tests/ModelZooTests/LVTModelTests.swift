import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// LVT + all-MLP head (TransKD Table 4 student) against spec/transkd.md §1.5 and transkd_count.py.
final class LVTModelTests: XCTestCase {
    func testParameterCountEqualsTheCounter() throws {
        XCTAssertEqual(try LVT.segmentor(numClasses: 20).parameterCount, 3_837_176)
    }

    /// mmcv-hook FLOPs: the counter's figure plus the CSA pools' difference — mmcv's pool hook
    /// counts the pool's *input* (N₁·C) where transkd_count.py counts its output (⌈H₁/2⌉⌈W₁/2⌉·C),
    /// 2 blocks × (N₁ − n₂)·64 (at 512×1024: +3,145,728, 18.063 G vs 18.060 G, both "18.06").
    /// RASA's dilated q-conv is functional and not counted, as in the counter.
    func testFLOPsEqualTheCounterUpToThePoolConvention() throws {
        var cases: [(Int, Int, Int, Int, Int)] = [(64, 128, 282_191_872, 512, 128), (70, 90, 238_831_128, 414, 108)]
        if ProcessInfo.processInfo.environment["VITLAB_FULL_FLOPS"] == "1" { cases.append((512, 1024, 18_060_279_808, 32768, 8192)) }
        let model = try LVT.segmentor(numClasses: 20)
        for (h, w, counter, n1, n2) in cases {
            var logits: Tensor?
            let summary = ModelSummary.measure(model) { logits = model.logits(Tensor.zeros([1, h, w, 3])) }
            let s1 = MiTVariant.b0.architecture.stageSizes(height: h, width: w)[0]
            XCTAssertEqual(logits?.shape, [1, s1.0, s1.1, 20])
            XCTAssertEqual(summary.mmcvHookFLOPs, counter + 2 * (n1 - n2) * 64, "\(h)×\(w)")
            XCTAssertGreaterThan(summary.macs, summary.mmcvHookFLOPs / 2, "MACs include the functional q-convs and attention matmuls")
        }
    }

    func testStatePathsShapesAndPreNormEmbeddingTaps() throws {
        let model = try LVT.segmentor(numClasses: 5)
        let names = Set(model.namedParameters().map(\.0))
        for path in ["backbone.0.0.proj.weight", "backbone.0.0.norm.weight", "backbone.0.1.0.attn.attn.weight", "backbone.0.1.0.attn.weight.weight",
                     "backbone.0.1.0.attn.proj.weight", "backbone.0.1.1.mlp.fc1.weight", "backbone.1.1.0.attn.q.weight",
                     "backbone.1.1.0.attn.kv.weight", "backbone.1.1.0.attn.sr.weight", "backbone.1.1.0.attn.ds.weight",
                     "backbone.1.1.0.mlp.depconv.weight", "backbone.3.1.1.norm2.bias", "decode_head.linear_c4.proj.weight"] {
            XCTAssertTrue(names.contains(path), path)
        }
        XCTAssertFalse(names.contains("backbone.1.1.0.attn.q.bias"), "qkv_bias is false")
        XCTAssertFalse(names.contains("backbone.3.1.0.attn.sr.weight"), "stage 4 has sr_ratio 1")
        model.eval()
        for (h, w) in [(64, 128), (60, 80), (70, 90)] {
            let x = Tensor.normal([1, h, w, 3], generator: RandomGenerator(seed: 1))
            let s = MiTVariant.b0.architecture.stageSizes(height: h, width: w)
            let paths = (0..<4).map { "backbone.\($0).0.proj" } + (0..<4).map { "backbone.\($0).1" }
            let (logits, rec) = try FeatureTaps.record(model, paths: paths) { model.logits(x) }
            XCTAssertEqual(logits.shape, [1, s[0].0, s[0].1, 5], "\(h)×\(w)")
            for i in 0..<4 {
                XCTAssertEqual(rec.outputs["backbone.\(i).0.proj"]?.first?.shape, [1, s[i].0, s[i].1, LiteVisionTransformer.embedDims[i]])
                XCTAssertEqual(rec.outputs["backbone.\(i).1"]?.first?.shape, [1, s[i].0, s[i].1, LiteVisionTransformer.embedDims[i]])
            }
        }
    }

    func testEveryParameterGetsAGradientAndLVTOverfits() throws {
        RandomGenerator.manualSeed(1)
        let model = try LVT.segmentor(numClasses: 4)
        let image = Tensor.normal([2, 64, 64, 3], generator: RandomGenerator(seed: 2))
        let coarse = Tensor(Tensor.uniform([2, 16, 16], generator: RandomGenerator(seed: 9)).toArray().map { Float(Int($0 * 4) % 4) }, shape: [2, 16, 16])
        let labels = interpolateNearest(coarse.reshape([2, 16, 16, 1]), size: (64, 64)).reshape([2, 64, 64])
        model.train()
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 2e-3, weightDecay: 0)
        var first: Float = 0, last: Float = 0
        for step in 0..<40 {
            opt.zeroGrad()
            let loss = model.loss(image, labels: labels, reduction: .mean)
            loss.backward()
            if step == 0 {
                let dead = model.namedParameters().filter { _, p in p.grad.map { $0.toArray().allSatisfy { $0 == 0 } } ?? true }.map(\.0)
                XCTAssertEqual(dead, [], "parameters without gradient")
                first = loss.item()
            }
            opt.step()
            last = loss.item()
        }
        XCTAssertLessThan(last, first / 3, "loss \(first) → \(last)")
    }
}
