@testable import Experiments
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine
import XCTest

/// The open architecture seen from a config: strict keys per attention type, validation that
/// builds (every mismatch a located error, never a crash), named losses, feature taps.
final class ArchitectureConfigTests: XCTestCase {
    var dirs: [TempConfigDir] = []

    func load(_ text: String, _ overrides: [String] = []) throws -> (TempConfigDir, Experiment) {
        let d = try TempConfigDir()
        dirs.append(d)
        return (d, try Experiment.load(file: try d.write("x.yaml", text), overrides: overrides))
    }

    /// `ExperimentConfigTests.minimal` with `model.backbone.attention` set to `attention`.
    func withAttention(_ attention: String) -> String {
        ExperimentConfigTests.minimal.replacingOccurrences(of: "    variant: tiny", with: "    variant: tiny\n    attention: \(attention)")
    }

    func testAKeyOfAnotherAttentionTypeIsAnErrorNamingTheKeysThisTypeTakes() throws {
        let (d, e) = try load(withAttention("{type: global, squeeze: adaptive}"))
        XCTAssertEqual(configError { try validate(e) }?.description,
                       "\(d.path("x.yaml")):9:31 (model.backbone.attention.squeeze): unknown key. Valid keys here: type")
        let (d2, e2) = try load(withAttention("{type: sea, window_size: 4}"))
        XCTAssertEqual(configError { try validate(e2) }?.description,
                       "\(d2.path("x.yaml")):9:28 (model.backbone.attention.window_size): unknown key. Valid keys here: attention_branch, detail_enhancement, enhance_input, enhance_mode, positional_embedding, squeeze, type")
        let (_, e3) = try load(withAttention("{type: sea_adaptive, squeeze: max}"))
        XCTAssertEqual(configError { try validate(e3) }?.keyPath, "model.backbone.attention.squeeze", "sea_adaptive always squeezes adaptively")
        let (_, e4) = try load(withAttention("{type: local, window_size: 2}"))
        XCTAssertNoThrow(try validate(e4))
    }

    func testAttentionValueErrorsAreLocated() throws {
        let (d, e) = try load(withAttention("{type: local, window_size: 0}"))
        XCTAssertEqual(configError { try validate(e) }?.description,
                       "\(d.path("x.yaml")):9:43 (model.backbone.attention.window_size): local attention needs a window of at least 1 token, got 0; Table 9 uses 4")
        let (d2, e2) = try load(withAttention("{type: sea, detail_enhancement: false, attention_branch: false}"))
        XCTAssertEqual(configError { try validate(e2) }?.description,
                       "\(d2.path("x.yaml")):9:48 (model.backbone.attention.detail_enhancement): sea needs at least one of its two branches (Table 6), but detail_enhancement and attention_branch are both false; set one of them to true")
    }

    /// `variant: large` has four features; tiny's two fusion widths cannot fuse them.
    func testHeadAndBackboneMismatchesAreLocatedErrorsNotCrashes() throws {
        let (_, e) = try load(ExperimentConfigTests.minimal, ["model.backbone.variant=large", "model.head.embed_dims=[64, 96]"])
        XCTAssertEqual(configError { try validate(e) }?.description,
                       "--set model.head.embed_dims=[64, 96] (model.head.embed_dims): light_head fuses the backbone's 4 features (channels [128, 192, 256, 320]) in 3 steps, so it needs 3 widths, got 2 ([64, 96])")
        XCTAssertEqual(configError { _ = try e.buildModel() }?.keyPath, "model.head.embed_dims", "run and info build through the same builders")
        let (_, one) = try load(ExperimentConfigTests.minimal, ["model.head.embed_dims=[64]"])
        XCTAssertEqual(configError { try validate(one) }?.message,
                       "light_head fuses the backbone's 3 features (channels [32, 128, 160]) in 2 steps, so it needs 2 widths, got 1 ([64])")
        let (_, channels) = try load(ExperimentConfigTests.minimal, ["model.head.channels=64"])
        XCTAssertEqual(configError { try validate(channels) }?.message,
                       "must equal the last of embed_dims (96): linear_fuse reads the last fusion's output; got 64")
        let (_, dropout) = try load(ExperimentConfigTests.minimal, ["model.head.dropout=1.5"])
        XCTAssertEqual(configError { try validate(dropout) }?.message, "must be in [0, 1), got 1.5")
        let (_, negative) = try load(ExperimentConfigTests.minimal, ["model.backbone.drop_path=-0.5"])
        XCTAssertEqual(configError { try validate(negative) }?.keyPath, "model.backbone.drop_path")
        let (_, unprojected) = try load(ExperimentConfigTests.minimal, ["model.head={type: simple_head, project_inputs: false}"])
        XCTAssertEqual(configError { try validate(unprojected) }?.keyPath, "model.head.project_inputs")
    }

    func testNumClassesAgainstTheDatasetFailsBeforeTraining() throws {
        let (_, e) = try load(ExperimentConfigTests.minimal, ["model.num_classes=7"])
        XCTAssertEqual(configError { try validate(e) }?.keyPath, "data.train.dataset.num_classes")
    }

    func testMetricNamesComeFromTheRegistry() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let typo = try d.write("typo.yaml", ExperimentConfigTests.minimal + "\neval: {metrics: [mIOU]}\n")
        XCTAssertEqual(configError { _ = try Experiment.load(file: typo) }?.description,
                       "\(typo):15:18 (eval.metrics.0): unknown metric 'mIOU'; did you mean 'mIoU'?")
        let (_, wrongTask) = try load(ExperimentConfigTests.minimal + "\neval: {metrics: [top1]}\n")
        XCTAssertEqual(configError { try validate(wrongTask) }?.message, "'top1' is not a segmentation metric")
        XCTAssertEqual(MetricRegistry.names(for: .segmentation), ["aAcc", "mIoU", "mAcc", "mDice"])
        XCTAssertEqual(MetricRegistry.names(for: .classification), ["top1", "top5"])
    }

    func testTrainingLogsEveryNamedLossTerm() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let text = ExperimentConfigTests.minimal.replacingOccurrences(of: "  iterations: 10", with: "  iterations: 4\n  log_interval: 2\n  batch_size: 2")
            .replacingOccurrences(of: "dataset: {type: synthetic, num_classes: 6}", with: "dataset: {type: synthetic, num_classes: 6, image_size: 32, length: 8}")
            + "\noutput_dir: \(d.url.path)\n"
        let e = try Experiment.load(file: try d.write("x.yaml", text))
        let summary = try Runner(experiment: e).run()
        XCTAssertEqual(summary.metrics.lossNames, ["loss", "loss_ce"])
        for row in summary.metrics.train { XCTAssertEqual(row.losses["loss"], row.losses["loss_ce"], "one term: the total is that term") }
        let back = try MetricsLog.read(from: summary.directory.metrics)
        XCTAssertEqual(back.train.map(\.iteration), [2, 4])
        XCTAssertEqual(back.lossNames, ["loss", "loss_ce"])
    }

    func testFeatureTapsRecordModulesByPath() throws {
        let (_, e) = try load(ExperimentConfigTests.minimal)
        RandomGenerator.manualSeed(0)
        let model = try e.buildModel()
        model.eval()
        let image = Tensor.zeros([1, 64, 64, 3])
        let (logits, taps) = try FeatureTaps.record(model, paths: ["backbone.trans1", "backbone.smb2", "decode_head.fuse1", "backbone"]) {
            withNoGrad { model.measuredForward(image) }
        }
        XCTAssertEqual(logits.shape, [1, 8, 8, 6])
        XCTAssertEqual(taps.outputs["backbone.smb2"]?.map(\.shape), [[1, 8, 8, 32]])
        XCTAssertEqual(taps.outputs["backbone.trans1"]?.map(\.shape), [[1, 2, 2, 128]])
        XCTAssertEqual(taps.outputs["decode_head.fuse1"]?.map(\.shape), [[1, 8, 8, 64]])
        XCTAssertEqual(taps.outputs["backbone"]?.map(\.shape), [[1, 8, 8, 32], [1, 2, 2, 128], [1, 1, 1, 160]], "a backbone's output is its feature list")
        XCTAssertEqual(Set(taps.outputs.keys), ["backbone.trans1", "backbone.smb2", "decode_head.fuse1", "backbone"], "only what was asked for")
        let sea = try XCTUnwrap((model as? EncoderDecoder)?.backbone)
        XCTAssertEqual(sea.featureInfo.map(\.module), ["smb2", "trans1", "trans2"])
        XCTAssertEqual(sea.featureInfo.map(\.stride), [8, 32, 64])
        XCTAssertThrowsError(try FeatureTaps.record(model, paths: ["backbone.trans3"]) { () }) {
            XCTAssertEqual("\($0)", "feature 'backbone.trans3': no module has this path; did you mean 'backbone.trans1'?")
        }
    }
}
