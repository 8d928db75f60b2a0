import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Whole SeaFormer models against spec/seaformer.md §1.5–§1.6 and seaformer_count.py.
final class SeaFormerModelTests: XCTestCase {
    func testSegmentationParameterCountsAt150Classes() throws {
        let expected: [(SeaFormerVariant, Int)] = [(.tiny, 1_667_318), (.small, 3_990_118), (.base, 8_605_654), (.large, 13_951_510)]
        for (variant, count) in expected {
            XCTAssertEqual(try variant.segmentor(numClasses: 150).parameterCount, count, "\(variant)")
        }
    }

    func testClassificationParameterCounts() {
        let expected: [(SeaFormerVariant, Int)] = [(.tiny, 1_781_096), (.small, 4_105_656), (.base, 8_742_664), (.large, 14_046_504)]
        for (variant, count) in expected {
            XCTAssertEqual(variant.classifier().parameterCount, count, "\(variant)")
        }
    }

    func testOtherClassCountsAndTable12() throws {
        XCTAssertEqual(try SeaFormerVariant.tiny.segmentor(numClasses: 19).parameterCount, 1_654_611)
        XCTAssertEqual(try SeaFormerVariant.tiny.segmentor(numClasses: 60).parameterCount, 1_658_588)
        XCTAssertEqual(try SeaFormerVariant.tiny.segmentor(numClasses: 171).parameterCount, 1_669_355)
        // Table 12: fusion embed dims of SeaFormer-B; position bias of SeaFormer-T.
        XCTAssertEqual(try SeaFormerVariant.base.segmentor(numClasses: 150, headEmbedDims: [64, 96]).parameterCount, 8_548_246)
        XCTAssertEqual(try SeaFormerVariant.base.segmentor(numClasses: 150, headEmbedDims: [192, 256]).parameterCount, 8_690_614)
        var noPos = SeaAttentionConfig()
        noPos.positionalEmbedding = false
        XCTAssertEqual(try SeaFormerVariant.tiny.segmentor(numClasses: 150, attention: noPos).parameterCount, 1_646_838)
    }

    /// mmcv FLOPs and conv+matmul MACs of SeaFormer-T at 512×512 equal seaformer_count.py's
    /// (0.608 G; the paper prints 0.6G / 0.60G).
    func testSummaryFLOPsOfTinyAt512() throws {
        let model = try SeaFormerVariant.tiny.segmentor(numClasses: 150)
        let image = Tensor.zeros([1, 512, 512, 3])
        var logits: Tensor?
        let summary = ModelSummary.measure(model, depth: 2) { logits = model.logits(image) }
        XCTAssertEqual(logits?.shape, [1, 64, 64, 150], "spec §5.9: logits 150×64×64 at 512×512")
        XCTAssertEqual(summary.parameters, 1_667_318)
        XCTAssertEqual(summary.mmcvFLOPs, 608_153_600)
        XCTAssertEqual(summary.macs, 562_569_216)
        let head = summary.rows.first { $0.path == "decode_head" }!
        XCTAssertEqual(head.parameters, 47_222)
        XCTAssertEqual(summary.rows.first { $0.path == "backbone.trans1" }!.type, "SeaFormerBasicLayer")
        XCTAssertEqual(summary.rows.filter { $0.path.split(separator: ".").count == 2 }.reduce(0) { $0 + $1.mmcvFLOPs }, summary.mmcvFLOPs,
                       "per-module rows add up to the total")
        XCTAssertTrue(summary.table().contains("FLOPs (mmcv)"))
    }

    func testSummaryFLOPsOfTinyClassifierAt224() {
        let model = SeaFormerVariant.tiny.classifier()
        var scores: Tensor?
        let summary = ModelSummary.measure(model) { scores = model(Tensor.zeros([1, 224, 224, 3])) }
        XCTAssertEqual(scores?.shape, [1, 1000])
        // seaformer_count.py prints 101,511,168 but leaves out the AdaptiveAvgPool2d that mmcv
        // counts (input numel: 160·4·4 = 2,560), which our trace includes.
        XCTAssertEqual(summary.mmcvFLOPs, 101_511_168 + 2_560)
        XCTAssertEqual(summary.macs, 93_332_544)
    }

    func testOutputShapesIncludingSizesThatDoNotDivideBy64() throws {
        let model = try SeaFormerVariant.tiny.segmentor(numClasses: 7)
        model.eval()
        for (h, w) in [(64, 64), (75, 50), (375, 500)] {
            let x = Tensor.normal([1, h, w, 3], generator: RandomGenerator(seed: 1))
            XCTAssertEqual(model.logits(x).shape, [1, (h + 7) / 8, (w + 7) / 8, 7])
            XCTAssertEqual(model.predict(x).shape, [1, h, w])
        }
    }
}
