import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// PVTv2 + FPN + Semantic FPN (TransKD Table 4) against spec/transkd.md §1.4 and transkd_count.py.
final class PVTModelTests: XCTestCase {
    func testParameterCountsEqualTheCounter() throws {
        XCTAssertEqual(try PVTv2Variant.b0.segmentor(numClasses: 20).parameterCount, 7_527_668)
        XCTAssertEqual(try PVTv2Variant.b2.segmentor(numClasses: 20).parameterCount, 29_098_836)
    }

    /// mmcv-hook FLOPs (TransKD's convention: the head's nn.Upsample modules count, GELU does not)
    /// at 64×128 and at 70×90 (a doubled level misses level 0's size and is resized functionally).
    /// PVTv2-B0 at 512×1024 (47.45 G) runs with VITLAB_FULL_FLOPS=1.
    func testFLOPsEqualTheCounter() throws {
        var cases: [(PVTv2Variant, Int, Int, Int)] = [(.b0, 64, 128, 741_395_456), (.b0, 70, 90, 627_507_096)]
        if ProcessInfo.processInfo.environment["VITLAB_FULL_FLOPS"] == "1" { cases.append((.b0, 512, 1024, 47_449_309_184)) }
        for (variant, h, w, flops) in cases {
            let model = try variant.segmentor(numClasses: 20)
            var logits: Tensor?
            let summary = ModelSummary.measure(model) { logits = model.logits(Tensor.zeros([1, h, w, 3])) }
            let s1 = variant.architecture.stageSizes(height: h, width: w)[0]
            XCTAssertEqual(logits?.shape, [1, s1.0, s1.1, 20])
            XCTAssertEqual(summary.mmcvHookFLOPs, flops, "\(variant) at \(h)×\(w)")
        }
    }

    func testStatePathsAndShapes() throws {
        let model = try PVTv2Variant.b0.segmentor(numClasses: 5)
        let names = Set(model.namedParameters().map(\.0))
        for path in ["backbone.patch_embed1.proj.weight", "backbone.block1.0.attn.sr.weight", "backbone.block1.0.mlp.dwconv.dwconv.weight",
                     "backbone.norm4.weight", "decode_head.neck.lateral_convs.0.conv.weight", "decode_head.neck.fpn_convs.3.conv.bias",
                     "decode_head.scale_heads.0.0.conv.weight", "decode_head.scale_heads.3.4.conv.weight", "decode_head.conv_seg.weight"] {
            XCTAssertTrue(names.contains(path), path)
        }
        XCTAssertEqual(model.namedParameters().first { $0.0 == "backbone.block1.0.mlp.fc1.weight" }?.1.shape, [256, 32], "MLP ratio 8 in stage 1")
        model.eval()
        for (h, w) in [(64, 128), (60, 80), (70, 90)] {
            let x = Tensor.normal([1, h, w, 3], generator: RandomGenerator(seed: 1))
            let s = PVTv2Variant.b0.architecture.stageSizes(height: h, width: w)
            XCTAssertEqual(model.logits(x).shape, [1, s[0].0, s[0].1, 5], "\(h)×\(w)")
        }
    }
}
