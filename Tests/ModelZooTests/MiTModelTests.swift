import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// SegFormer (MiT encoder + all-MLP head) against spec/transkd.md §1 and transkd_count.py.
final class MiTModelTests: XCTestCase {
    /// transkd_count.py: B0/B1/B2 at K = 20 (Cityscapes/ACDC: 19 classes + void) and K = 41 (NYUv2).
    /// Each encoder is built once (construction dominates a debug test run); heads are swapped.
    func testParameterCountsEqualTheCounter() throws {
        let expected: [(MiTVariant, encoder: Int, [(k: Int, total: Int)])] = [
            (.b0, 3_319_392, [(20, 3_719_284), (41, 3_724_681)]),
            (.b1, 13_151_424, [(20, 13_682_388)]),
            (.b2, 24_196_288, [(20, 27_362_004), (41, 27_378_153)]),
        ]
        for (variant, encoder, totals) in expected {
            let backbone = MixVisionTransformer(architecture: variant.architecture)
            XCTAssertEqual(backbone.parameterCount, encoder, "\(variant) encoder (spec §1.1)")
            for (k, total) in totals {
                let head = AllMLPHead(inChannels: backbone.outChannels, embedDim: variant.architecture.decoderDim!, numClasses: k)
                XCTAssertEqual(try EncoderDecoder(backbone: backbone, head: head, numClasses: k).parameterCount, total, "\(variant) K=\(k)")
            }
        }
    }

    /// TransKD's GFLOPs are mmcv's module hooks (no GELU, no attention matmuls); the trace
    /// reproduces transkd_count.py to the FLOP: B0 13.67 G at 512×1024 (the paper's figure).
    func testFLOPsOfB0At512x1024EqualTheCounter() throws {
        let model = try MiTVariant.b0.segmentor(numClasses: 20)
        var logits: Tensor?
        let summary = ModelSummary.measure(model) { logits = model.logits(Tensor.zeros([1, 512, 1024, 3])) }
        XCTAssertEqual(logits?.shape, [1, 128, 256, 20], "spec §1.2: K×128×256 logits, not upsampled")
        XCTAssertEqual(summary.parameters, 3_719_284)
        XCTAssertEqual(summary.mmcvHookFLOPs, 13_674_020_864)
        XCTAssertEqual(summary.rows.filter { $0.path.split(separator: ".").count == 2 }.reduce(0) { $0 + $1.mmcvHookFLOPs },
                       summary.mmcvHookFLOPs, "per-module rows add up to the total")
        XCTAssertTrue(summary.table().contains("FLOPs (mmcv hooks)"))
    }

    /// B0 K=41 at NYUv2's 480×640 (8.12 G), B1 at 64×128 and B2 at 70×90 (a size 32 does not
    /// divide). B2 at 512×1024 (113.84 G, ~5 min in a debug build) runs with VITLAB_FULL_FLOPS=1.
    func testFLOPsOfB2B1AndNYUEqualTheCounter() throws {
        var cases: [(MiTVariant, Int, Int, Int, Int)] = [(.b0, 41, 480, 640, 8_115_744_000), (.b1, 20, 64, 128, 415_899_648),
                                                         (.b2, 20, 70, 90, 1_494_873_048)]
        if ProcessInfo.processInfo.environment["VITLAB_FULL_FLOPS"] == "1" { cases.append((.b2, 20, 512, 1024, 113_841_635_328)) }
        for (variant, k, h, w, flops) in cases {
            let model = try variant.segmentor(numClasses: k)
            let summary = ModelSummary.measure(model) { _ = model.logits(Tensor.zeros([1, h, w, 3])) }
            XCTAssertEqual(summary.mmcvHookFLOPs, flops, "\(variant) K=\(k) at \(h)×\(w)")
        }
    }

    func testStatePathsAreTheOfficialOnes() throws {
        let model = try MiTVariant.b0.segmentor(numClasses: 20)
        let names = Set(model.namedParameters().map(\.0))
        for path in ["backbone.patch_embed1.proj.weight", "backbone.patch_embed1.proj.bias", "backbone.patch_embed1.norm.weight",
                     "backbone.block1.0.norm1.weight", "backbone.block1.0.attn.q.weight", "backbone.block1.0.attn.q.bias",
                     "backbone.block1.0.attn.kv.weight", "backbone.block1.0.attn.sr.weight", "backbone.block1.0.attn.norm.bias",
                     "backbone.block1.0.attn.proj.weight", "backbone.block1.1.norm2.weight", "backbone.block1.0.mlp.fc1.weight",
                     "backbone.block1.0.mlp.dwconv.dwconv.weight", "backbone.block1.0.mlp.fc2.bias", "backbone.norm1.weight",
                     "backbone.patch_embed4.proj.weight", "backbone.block4.1.attn.kv.bias", "backbone.norm4.bias",
                     "decode_head.linear_c1.proj.weight", "decode_head.linear_c4.proj.bias", "decode_head.linear_fuse.conv.weight",
                     "decode_head.linear_fuse.bn.weight", "decode_head.linear_pred.weight", "decode_head.linear_pred.bias"] {
            XCTAssertTrue(names.contains(path), path)
        }
        XCTAssertFalse(names.contains("backbone.block4.0.attn.sr.weight"), "stage 4 has sr_ratio 1: no reduction conv")
        XCTAssertEqual(model.namedParameters().first { $0.0 == "backbone.patch_embed1.proj.weight" }?.1.shape, [32, 7, 7, 3], "OHWI")
        XCTAssertEqual(model.namedParameters().first { $0.0 == "backbone.block1.0.attn.sr.weight" }?.1.shape, [32, 8, 8, 32])
        XCTAssertEqual(model.namedBuffers().map(\.0).filter { !$0.hasPrefix("decode_head.linear_fuse.bn.") }, [],
                       "the only buffers are the fuse BN's running statistics")
    }

    func testStochasticDepthIsLinspaceOverAllBlocks() {
        let b0 = MixVisionTransformer(architecture: MiTVariant.b0.architecture, dropPath: 0.1)
        let rates = b0.blocks.flatMap { $0.layers.map { ($0 as! MiTBlock).dropPath.p } }
        XCTAssertEqual(rates.count, 8)
        for (i, r) in rates.enumerated() { XCTAssertEqual(r, 0.1 * Float(i) / 7, accuracy: 1e-7) }
    }

    /// Stage maps follow ⌊(X + 2⌊k/2⌋ − k)/s⌋ + 1 (spec §1.2); logits are at stage 1's size, not upsampled.
    func testStageSizesAndLogitShapes() throws {
        let a = MiTVariant.b0.architecture
        XCTAssertTrue(a.stageSizes(height: 512, width: 1024).elementsEqual([(128, 256), (64, 128), (32, 64), (16, 32)], by: ==))
        XCTAssertTrue(a.stageSizes(height: 480, width: 640).elementsEqual([(120, 160), (60, 80), (30, 40), (15, 20)], by: ==))
        XCTAssertTrue(a.stageSizes(height: 512, width: 910).elementsEqual([(128, 228), (64, 114), (32, 57), (16, 29)], by: ==))
        XCTAssertTrue(a.stageSizes(height: 70, width: 90).elementsEqual([(18, 23), (9, 12), (5, 6), (3, 3)], by: ==))
        let model = try MiTVariant.b0.segmentor(numClasses: 5)
        model.eval()
        for (h, w) in [(64, 128), (60, 80), (70, 90)] {
            let x = Tensor.normal([1, h, w, 3], generator: RandomGenerator(seed: 1))
            let sizes = a.stageSizes(height: h, width: w)
            let features = model.backbone.features(x)
            XCTAssertEqual(features.map(\.shape), zip(sizes, a.embedDims).map { [1, $0.0.0, $0.0.1, $0.1] }, "\(h)×\(w)")
            XCTAssertEqual(model.logits(x).shape, [1, sizes[0].0, sizes[0].1, 5])
            XCTAssertEqual(model.predict(x).shape, [1, h, w])
        }
        XCTAssertEqual(model.backbone.featureInfo.map(\.stride), [4, 8, 16, 32])
        XCTAssertEqual(model.backbone.featureInfo.map(\.module), ["norm1", "norm2", "norm3", "norm4"])
    }

    /// Every patch embedding (TransKD's distillation points, after their LayerNorm) and every
    /// stage map can be tapped by path.
    func testPatchEmbeddingsAreTappable() throws {
        let model = try MiTVariant.b0.segmentor(numClasses: 5)
        model.eval()
        let paths = (1...4).map { "backbone.patch_embed\($0)" } + (1...4).map { "backbone.norm\($0)" }
        let x = Tensor.normal([1, 64, 128, 3], generator: RandomGenerator(seed: 2))
        let (_, rec) = try FeatureTaps.record(model, paths: paths) { model.logits(x) }
        XCTAssertEqual(rec.outputs["backbone.patch_embed1"]?.first?.shape, [1, 16, 32, 32])
        XCTAssertEqual(rec.outputs["backbone.patch_embed4"]?.first?.shape, [1, 2, 4, 256])
        XCTAssertEqual(rec.outputs["backbone.norm3"]?.first?.shape, [1, 4, 8, 160])
    }
}

extension MiTModelTests {
    /// Where an attention type cannot serve a stage, its `check` says why, located at the node.
    func testAttentionChecksNameTheStageTheyCannotServe() throws {
        let shape = AttentionShape(dim: 30, keyDim: 7, heads: 4, attnRatio: 1, spatialReduction: 2, stride: 8)
        for type in ["mit_sra", "lvt_csa", "lvt_rasa", "ssa"] {
            let config = try attentionConfig(#"{"type": "\#(type)"}"#)
            XCTAssertThrowsError(try config.check(shape), type) { error in
                XCTAssertTrue("\(error)".contains("does not divide 30"), "\(error)")
            }
            for stage in MiTVariant.b2.architecture.attentionShapes + LiteVisionTransformer.attentionShapes {
                XCTAssertNoThrow(try config.check(stage), "\(type) serves every MiT/LVT stage")
            }
        }
        XCTAssertThrowsError(try attentionConfig(#"{"type": "lvt_rasa", "atrous_rates": []}"#)) { error in
            XCTAssertTrue("\(error)".hasPrefix("atrous_rates:"), "\(error)")
        }
    }
}
