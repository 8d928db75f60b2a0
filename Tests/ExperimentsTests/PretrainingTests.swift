@testable import Experiments
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine
import XCTest

/// The papers' workflow end to end on synthetic data: pretrain SeaFormer-T as a classifier,
/// initialise a segmentor's backbone from that checkpoint (`model.backbone.init`), and check that
/// the load report is complete and that fine-tuning starts from the pretrained features.
final class PretrainingTests: XCTestCase {
    var dirs: [TempConfigDir] = []

    func classifier(_ out: URL) -> String {
        """
        name: cls
        output_dir: \(out.path)
        model:
          type: image_classifier
          num_classes: 5
          backbone: {type: seaformer, variant: tiny, drop_path: 0}
        data:
          train:
            dataset: {type: synthetic, task: classification, num_classes: 5, image_size: 64, length: 64}
            workers: 0
        train:
          iterations: 60
          batch_size: 8
          log_interval: 60
          optimizer: {type: adamw, lr: 0.002}
        """
    }

    func segmentor(_ out: URL, name: String, initFrom: String?) -> String {
        let initLine = initFrom.map { "\n    init: {checkpoint: \($0), drop: ['^linear\\.']}" } ?? ""
        return """
        name: \(name)
        output_dir: \(out.path)
        model:
          type: encoder_decoder
          num_classes: 6
          head: {type: light_head, dropout: 0}
          backbone:
            type: seaformer
            variant: tiny
            drop_path: 0\(initLine)
        data:
          train:
            dataset: {type: synthetic, num_classes: 6, image_size: 64, length: 64, seed: 3}
            workers: 0
        train:
          iterations: 12
          batch_size: 4
          log_interval: 12
          optimizer: {type: adamw, lr: 0.001}
        """
    }

    func testFineTuningFromAPretrainedBackboneStartsLower() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let cls = try Experiment.load(file: try d.write("cls.yaml", classifier(d.url)))
        let pretrained = try Runner(experiment: cls).run()
        let ckpt = try XCTUnwrap(pretrained.lastCheckpoint)

        let fine = try Experiment.load(file: try d.write("fine.yaml", segmentor(d.url, name: "fine", initFrom: ckpt.path)))
        try validate(fine)
        let finetune = try Runner(experiment: fine)
        XCTAssertEqual(finetune.initReport, ["init backbone from \(ckpt.path) (model): loaded \(finetune.model.namedModules().first { $0.0 == "backbone" }!.1.stateKeys.count) tensors; dropped 2 checkpoint keys"])
        // The backbone holds the classifier's weights exactly.
        let backbone = try XCTUnwrap((finetune.model as? EncoderDecoder)?.backbone)
        let saved = try TrainingCheckpoint.readModel(from: ckpt)
        XCTAssertEqual(backbone.stateDict()["trans2.transformer_blocks.0.attn.to_q.c.weight"]!.toArray(),
                       saved["trans2.transformer_blocks.0.attn.to_q.c.weight"]!.toArray())
        let fromPretrained = try finetune.run()
        // The same report lasts in the run's metrics.h5 (attribute init_report), for tables and scripts.
        XCTAssertEqual(try MetricsLog.read(from: finetune.directory.metrics).initReport, finetune.initReport)
        let scratch = try Runner(experiment: try Experiment.load(file: try d.write("scratch.yaml", segmentor(d.url, name: "scratch", initFrom: nil)))).run()
        let a = fromPretrained.metrics.train[0].loss, b = scratch.metrics.train[0].loss
        XCTAssertLessThan(a, b, "mean loss over the first 12 fine-tuning iterations: pretrained \(a) vs scratch \(b)")
    }

    func testInitErrorsAreLocated() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let missing = try Experiment.load(file: try d.write("m.yaml", segmentor(d.url, name: "m", initFrom: "/nonexistent/x.h5")))
        XCTAssertEqual(configError { try validate(missing) }?.message, "no checkpoint at /nonexistent/x.h5")
        // A segmentor's own checkpoint into its backbone without a prefix: every key is unexpected.
        let cls = try Experiment.load(file: try d.write("cls.yaml", classifier(d.url).replacingOccurrences(of: "iterations: 60", with: "iterations: 1")))
        let ckpt = try XCTUnwrap(try Runner(experiment: cls).run().lastCheckpoint)
        let strict = try Experiment.load(file: try d.write("s.yaml", segmentor(d.url, name: "s", initFrom: ckpt.path)
            .replacingOccurrences(of: ", drop: ['^linear\\.']", with: "")))
        let e = configError { try validate(strict) }
        XCTAssertEqual(e?.keyPath, "model.backbone.init")
        XCTAssertTrue(e?.message.contains("unexpected keys (in the state, not in the model): linear.bias, linear.weight") ?? false, e?.message ?? "")
    }
}
