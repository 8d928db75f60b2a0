import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// ImageNet → Cityscapes transfer (spec §3.2, §6 A4): XFA's w_c has one weight per token of the
/// reference grid, so loading a classifier trained at 64² into a segmentor built for 128×256
/// crops resamples every w_c (reported as `resampled`); every other key loads one to one and
/// a strict load still reports real mismatches.
final class XFormerWeightTransferTests: XCTestCase {
    func testContextKernelsAreResampledOnLoadAndOtherMismatchesStillFail() throws {
        let a = XFormerTrainingTests.narrow
        RandomGenerator.manualSeed(2)
        let pretrained = XFormerClassifier(backbone: XFormerBackbone(architecture: a, imageSize: (64, 64)), numClasses: 10)
        // Give every w_c a recognisable ramp (init is the constant 1/N).
        for (path, p) in pretrained.namedParameters() where path.hasSuffix(".w_c") {
            p.assign(from: Tensor((0..<p.count).map { Float($0 + 1) }, shape: p.shape))
        }
        let state = pretrained.stateDict().filter { !$0.key.hasPrefix("classifier.") }
        let target = XFormerBackbone(architecture: a, imageSize: (128, 256))
        let report = try target.load(state: state)
        XCTAssertEqual(report.resampled.count, a.depths.reduce(0, +), "\(report)")
        XCTAssertEqual(report.loaded.count, target.stateKeys.count)
        XCTAssertTrue(report.resampled.contains("layer_3.1.global_rep.0.attn.w_c: checkpoint [16] → model [128]"), "\(report.resampled)")
        // Stage 3: 4×4 → 8×16, bilinear (align_corners false) times 16/128, so Σ w_c is kept.
        let source = try XCTUnwrap(state["layer_3.1.global_rep.0.attn.w_c"])
        let expected = interpolateBilinear(source.reshape([1, 4, 4, 1]), size: (8, 16)) * (16.0 / 128.0)
        let loaded = try XCTUnwrap(target.stateDict()["layer_3.1.global_rep.0.attn.w_c"])
        XCTAssertEqual(loaded.toArray(), expected.toArray())
        XCTAssertEqual(loaded.toArray().reduce(0, +), source.toArray().reduce(0, +), accuracy: 1e-3)
        XCTAssertEqual(target.stateDict()["layer_2.0.exp_1x1.conv.weight"]?.toArray(), state["layer_2.0.exp_1x1.conv.weight"]?.toArray())

        // A model that differs in more than the grid: the SE widths mismatch and nothing loads.
        var other = a
        other.squeeze = .hiddenQuarter
        let differentSE = XFormerBackbone(architecture: other, imageSize: (128, 256))
        XCTAssertThrowsError(try differentSE.load(state: state)) { error in
            let mismatched = (error as? StateLoadError)?.mismatched ?? []
            XCTAssertTrue(mismatched.contains { $0.hasPrefix("layer_1.0.se.fc1.weight: checkpoint [2, 1, 1, 32] vs model [8, 1, 1, 32]") }, "\(mismatched)")
        }
    }
}
