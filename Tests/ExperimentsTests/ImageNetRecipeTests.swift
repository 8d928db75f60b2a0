@testable import Experiments
import Foundation
import HDF5Store
import ModelZoo
import NeuralNet
import TensorEngine
import XCTest

/// The shipped ImageNet experiments and the epoch-based recipe machinery they use, run on the
/// synthetic classification task (ImageNet itself is not on this machine).
final class ImageNetRecipeTests: XCTestCase {
    var dirs: [TempConfigDir] = []

    /// The shipped SeaFormer-T recipe with the data swapped for 40 synthetic images at 32².
    func tinyRecipe(_ d: TempConfigDir, extra: [String] = []) throws -> Experiment {
        try Experiment.load(file: repoRoot.appendingPathComponent("experiments/seaformer/seaformer_tiny_imagenet.yaml").path, overrides: [
            "data.train.dataset={type: synthetic, task: classification, num_classes: 10, image_size: 32, length: 20}",
            "data.train.pipeline=[{type: normalize, mean: [128, 128, 128], std: [64, 64, 64]}, {type: random_erasing, prob: 0.5}]",
            "data.train.workers=0",
            "data.val.dataset={type: synthetic, task: classification, num_classes: 10, image_size: 32, length: 8, split: val}",
            "data.val.pipeline=[{type: normalize, mean: [128, 128, 128], std: [64, 64, 64]}]",
            "data.val.workers=0", "data.val.batch_size=4",
            "model.num_classes=10", "train.batch_size=4", "train.epochs=6", "train.schedule.warmup.epochs=1",
            "train.schedule.decay_epochs=2.4", "train.ema.decay=0.5", "train.log_interval=5",
            "eval.interval=15", "checkpoint.interval=15", "output_dir=\(d.url.path)",
        ] + extra)
    }

    func testEveryShippedImageNetRecipeValidatesOnSyntheticData() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        for v in ["tiny", "small", "base", "large"] {
            let e = try Experiment.load(file: repoRoot.appendingPathComponent("experiments/seaformer/seaformer_\(v)_imagenet.yaml").path, overrides: [
                "data.train.dataset={type: synthetic, task: classification, num_classes: 100, image_size: 32, length: 2048}",
                "data.val.dataset={type: synthetic, task: classification, num_classes: 100, image_size: 32, length: 8, split: val}",
                "model.num_classes=100",
            ])
            try validate(e, options: ValidationOptions(decodeLabels: false))
            XCTAssertEqual(e.config.train.iterationsPerEpoch, 2, "⌊2048 / 1024⌋")
            XCTAssertEqual(e.config.train.iterations, 1200, "600 epochs × 2")
            XCTAssertEqual(e.config.train.optimizer.typeName, "rmsproptf")
            XCTAssertEqual(e.config.train.schedule.warmup.iterations, v == "small" ? 80 : 20, "10 epochs (S: 40)")
            XCTAssertEqual(e.config.train.mixing?.mix.mixupAlpha, v == "tiny" ? 0 : 0.2, "--mixup 0.0 (T) / 0.2 (S, B, L)")
            XCTAssertEqual(e.config.train.mixing?.mix.labelSmoothing, 0.1)
        }
    }

    /// S2AFormer's EdgeNeXt-style recipe: 300 epochs of AdamW with cosine decay and 20 warm-up
    /// epochs, EMA 0.9995, RandAugment inc1 and no random erasing.
    func testShippedS2AFormerImageNetRecipesValidate() throws {
        for v in ["mini", "t", "xs", "s", "m"] {
            let e = try Experiment.load(file: repoRoot.appendingPathComponent("experiments/s2aformer/s2aformer_\(v)_imagenet.yaml").path, overrides: [
                "data.train.dataset={type: synthetic, task: classification, num_classes: 100, image_size: 32, length: 4096}",
                "data.val.dataset={type: synthetic, task: classification, num_classes: 100, image_size: 32, length: 8, split: val}",
                "model.num_classes=100",
            ])
            // One full validation (it builds the model); the others share every base but the model's.
            if v == "t" { try validate(e, options: ValidationOptions(decodeLabels: false)) } else { _ = try e.dataset("train") }
            let t = e.config.train
            XCTAssertEqual(t.iterationsPerEpoch, 4, "⌊4096 / 1024⌋")
            XCTAssertEqual(t.iterations, 1200, "300 epochs × 4")
            XCTAssertEqual(t.optimizer.typeName, "adamw")
            XCTAssertEqual(t.optimizer.lr, 6e-3)
            XCTAssertEqual(t.schedule.typeName, "cosine")
            XCTAssertEqual(t.schedule.warmup.iterations, 80, "20 epochs × 4")
            XCTAssertEqual(t.ema?.decay, 0.9995)
            XCTAssertEqual(t.mixing?.mix.labelSmoothing, 0.1)
            XCTAssertEqual(e.root.node(at: ["data", "train", "pipeline"])?.elements?.count, 4, "RRC, flip, RandAugment, normalize: no random erasing")
            XCTAssertEqual(e.config.model.node(at: ["backbone", "variant"])?.scalar, v)
        }
    }

    /// Epochs → iterations, timm's per-epoch step decay, warm-up in epochs, EMA evaluated and
    /// checkpointed beside the raw weights, mixing trained, and an exact resume with the EMA.
    func testEpochScheduleEMAAndResume() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let e = try tinyRecipe(d, extra: ["train.mixing={label_smoothing: 0.1, mixup: 0.4, cutmix: 1.0}"])
        XCTAssertEqual(e.config.train.iterationsPerEpoch, 5)
        XCTAssertEqual(e.config.train.iterations, 30)
        // ⌊epoch / 2.4⌋ grows at epochs 3 and 5 (2.4 → 3, 4.8 → 5): iterations 15 and 25.
        XCTAssertEqual((e.config.train.schedule.settings as? StepSettings)?.milestones, [15, 25])
        XCTAssertEqual(e.config.train.schedule.warmup.iterations, 5)
        let schedule = e.config.train.schedule.make(baseLR: 0.064, iterations: 30)
        // --lr-noise 0.42 of 6 epochs: epochs 3… get timm's noise n(42 + epoch) (torch's values).
        XCTAssertEqual(schedule.lr(at: 14), 0.064, accuracy: 1e-7, "epoch 2: before the noise range")
        XCTAssertEqual(schedule.lr(at: 16), 0.064 * 0.973 * (1 + 0.031175758689641953), accuracy: 1e-7)
        XCTAssertEqual(schedule.lr(at: 26), 0.064 * 0.973 * 0.973 * (1 + 0.5756789445877075), accuracy: 1e-7)

        let whole = try Runner(experiment: e, options: RunOptions(directory: d.url.appendingPathComponent("whole"))).run()
        let last = try XCTUnwrap(whole.lastCheckpoint)
        let file = try HDF5File.open(last, mode: .readOnly)
        XCTAssertTrue(try file.exists("ema"), "the EMA weights are checkpointed beside the raw ones")
        try file.close()
        let val = try XCTUnwrap(whole.metrics.val.last)
        XCTAssertNotNil(val.metrics["top1"])
        XCTAssertNotNil(val.metrics["ema_top1"], "the EMA weights are evaluated too")
        XCTAssertEqual(whole.metrics.lossNames, ["loss", "loss_cls"])

        let split = d.url.appendingPathComponent("split")
        _ = try Runner(experiment: e, options: RunOptions(directory: split, stopAfter: 15)).run()
        let resumed = try Runner(experiment: e, options: RunOptions(directory: split, resume: true)).run()
        XCTAssertEqual(resumed.metrics.train.map(\.loss), whole.metrics.train.map(\.loss), "mixing and EMA resume exactly")
        XCTAssertEqual(resumed.metrics.val.last?.metrics["ema_top1"], val.metrics["ema_top1"])
    }

    func testFreezeKeepsWeightsAndBatchNormStatistics() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let e = try tinyRecipe(d, extra: ["train.freeze=[smb1, smb2]", "train.epochs=1", "train.ema=null", "checkpoint.keep_best=top1"])
        let runner = try Runner(experiment: e, options: RunOptions(directory: d.url.appendingPathComponent("frozen")))
        let before = runner.model.stateDict().mapValues { $0.toArray() }  // copies: stateDict holds the live tensors
        try runner.run()
        let after = runner.model.stateDict()
        for key in before.keys.filter({ $0.hasPrefix("smb1.") || $0.hasPrefix("smb2.") }) {
            XCTAssertEqual(before[key]!, after[key]!.toArray(), "\(key) is frozen (weights and BN statistics)")
        }
        XCTAssertNotEqual(before["smb3.layer1.conv.0.c.weight"]!, after["smb3.layer1.conv.0.c.weight"]!.toArray())
        XCTAssertNotEqual(before["smb3.layer1.conv.0.bn.running_mean"]!, after["smb3.layer1.conv.0.bn.running_mean"]!.toArray(), "unfrozen BNs update")
        let bad = try tinyRecipe(d, extra: ["train.freeze=[smb9]"])
        XCTAssertThrowsError(try Runner(experiment: bad)) {
            XCTAssertTrue("\($0)".contains("(train.freeze.0): no module 'smb9' in this model"), "\($0)")
        }
    }
}
