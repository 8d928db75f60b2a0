@testable import Experiments
import Foundation
import ModelZoo
import NeuralNet
import XCTest

/// The repository root (this file is Tests/ExperimentsTests/…), for the example experiments.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

final class ExperimentConfigTests: XCTestCase {
    /// A minimal valid experiment; line numbers below refer to this text.
    static let minimal = """
    name: t
    model:
      type: encoder_decoder
      num_classes: 6
      head: {type: light_head}
      backbone:
        type: seaformer
        variant: tiny
    data:
      train:
        dataset: {type: synthetic, num_classes: 6}
    train:
      iterations: 10
      optimizer: {type: adamw, lr: 0.001}
    """

    /// Directories live until the test case ends (a discarded `d` would delete its file at once).
    var dirs: [TempConfigDir] = []

    func write(_ text: String) throws -> (TempConfigDir, String) {
        let d = try TempConfigDir()
        dirs.append(d)
        return (d, try d.write("x.yaml", text))
    }

    func testMinimalValidatesWithDefaults() throws {
        let (_, f) = try write(Self.minimal)
        let e = try Experiment.load(file: f)
        try validate(e)
        XCTAssertEqual(e.config.seed, 0)
        XCTAssertEqual(e.config.outputDir, "runs")
        XCTAssertEqual(e.config.train.batchSize, 8)
        XCTAssertEqual(e.config.train.optimizer.weightDecay, 0.01)
        XCTAssertEqual(e.config.train.schedule.typeName, "poly")
        XCTAssertNil(e.config.train.gradClip)
        XCTAssertEqual(e.config.data.train.workers, 2)
    }

    func testUnknownKeyWithLocationAndSuggestion() throws {
        let (d, f) = try write(Self.minimal.replacingOccurrences(of: "    variant: tiny", with: "    variantt: tiny"))
        let e = try Experiment.load(file: f)
        let err = configError { try validate(e) }
        XCTAssertEqual(err?.description, "\(d.path("x.yaml")):8:5 (model.backbone.variantt): unknown key; did you mean 'variant'?")
        // The same through building.
        XCTAssertEqual(configError { _ = try e.buildModel() }?.description, err?.description)
    }

    func testUnknownTopLevelKeyFailsAtLoad() throws {
        let (d, f) = try write(Self.minimal + "\nchekpoint: {interval: 5}\n")
        XCTAssertEqual(configError { _ = try Experiment.load(file: f) }?.description,
                       "\(d.path("x.yaml")):15:1 (chekpoint): unknown key; did you mean 'checkpoint'?")
    }

    func testOverrideOfUnknownPathSuggests() throws {
        let (_, f) = try write(Self.minimal)
        XCTAssertEqual(configError { _ = try Experiment.load(file: f, overrides: ["train.iteratons=100"]) }?.description,
                       "--set train.iteratons=100 (train.iteratons): unknown key; did you mean 'iterations'?")
        let e = try Experiment.load(file: f, overrides: ["train.iterations=100", "seed=7"])
        XCTAssertEqual(e.config.train.iterations, 100)
        XCTAssertEqual(e.config.seed, 7)
    }

    func testUnknownRegistryTypeWithLocation() throws {
        let (d, f) = try write(Self.minimal.replacingOccurrences(of: "type: seaformer", with: "type: seafomer"))
        let e = try Experiment.load(file: f)
        XCTAssertEqual(configError { try validate(e) }?.description,
                       "\(d.path("x.yaml")):7:11 (model.backbone.type): unknown backbone 'seafomer'; did you mean 'seaformer'?")
        XCTAssertEqual(configError { _ = try e.buildModel() }?.kind, .unknownName)
    }

    func testUnknownTransformAndDatasetTypes() throws {
        let (d, f) = try write(Self.minimal.replacingOccurrences(of: "{type: synthetic, num_classes: 6}",
                                                                 with: "{type: synthetic, num_classes: 6}\n    pipeline: [{type: random_flp}]"))
        XCTAssertEqual(configError { try validate(try Experiment.load(file: f)) }?.description,
                       "\(d.path("x.yaml")):12:23 (data.train.pipeline.0.type): unknown transform 'random_flp'; did you mean 'random_flip'?")
        let (d2, f2) = try write(Self.minimal.replacingOccurrences(of: "type: synthetic", with: "type: ade20"))
        XCTAssertEqual(configError { try validate(try Experiment.load(file: f2)) }?.description,
                       "\(d2.path("x.yaml")):11:21 (data.train.dataset.type): unknown dataset 'ade20'; did you mean 'ade20k'?")
    }

    func testWrongTypeWithLocation() throws {
        let (d, f) = try write(Self.minimal.replacingOccurrences(of: "iterations: 10", with: "iterations: ten"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f) }?.description,
                       "\(d.path("x.yaml")):13:15 (train.iterations): expected an integer, got 'ten'")
        let (d2, f2) = try write(Self.minimal.replacingOccurrences(of: "type: adamw", with: "type: adamww"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f2) }?.description,
                       "\(d2.path("x.yaml")):14:21 (train.optimizer.type): unknown optimizer 'adamww'; did you mean 'adamw'?")
    }

    func testValueRangesAndModelValueErrorsAreLocated() throws {
        let (d, f) = try write(Self.minimal.replacingOccurrences(of: "iterations: 10", with: "iterations: 0"))
        XCTAssertEqual(configError { try validate(try Experiment.load(file: f)) }?.description,
                       "\(d.path("x.yaml")):13:15 (train.iterations): must be > 0, got 0")
        let (d2, f2) = try write(Self.minimal.replacingOccurrences(of: "variant: tiny", with: "variant: tiny\n    drop_path: 1.5"))
        XCTAssertEqual(configError { try validate(try Experiment.load(file: f2)) }?.description,
                       "\(d2.path("x.yaml")):9:16 (model.backbone.drop_path): must be in [0, 1), got 1.5")
        // Momentum is an SGD key: on AdamW it is rejected, not ignored.
        let (_, f3) = try write(Self.minimal.replacingOccurrences(of: "lr: 0.001}", with: "lr: 0.001, momentum: 0.9}"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f3) }?.keyPath, "train.optimizer.momentum")
    }

    /// Optimizers, schedules and datasets decode through registries like models do: each type
    /// reads its own keys, a key of another type is an unknown key at its line, and a value the
    /// type cannot use is located at decode time.
    func testOptimizerScheduleAndDatasetTypesOwnTheirKeys() throws {
        let (_, f) = try write(Self.minimal.replacingOccurrences(of: "lr: 0.001}", with: "lr: 0.001}\n  schedule: {type: poly, milestones: [5]}"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f) }?.keyPath, "train.schedule.milestones")
        XCTAssertEqual(configError { _ = try Experiment.load(file: f) }?.kind, .unknownKey)
        let (_, f2) = try write(Self.minimal.replacingOccurrences(of: "lr: 0.001}", with: "lr: 0.001}\n  schedule: {type: step, milestones: [5], gamma: 2}"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f2) }?.message, "must be in (0, 1], got 2.0")
        let (_, f3) = try write(Self.minimal.replacingOccurrences(of: "lr: 0.001}", with: "lr: 0.001, betas: [0.9]}"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f3) }?.keyPath, "train.optimizer.betas")
        let (_, f4) = try write(Self.minimal.replacingOccurrences(of: "type: adamw, lr: 0.001}", with: "type: sgd, lr: 0.001, momentum: 0.5}"))
        let sgd = try Experiment.load(file: f4).config.train.optimizer
        XCTAssertEqual(sgd.typeName, "sgd")
        XCTAssertEqual(sgd.weightDecay, 0, "sgd's default weight decay")
        XCTAssertEqual((sgd.make(for: Linear(2, 2)) as? SGD)?.momentum, 0.5)
        let (d5, f5) = try write(Self.minimal.replacingOccurrences(of: "{type: synthetic, num_classes: 6}", with: "{type: synthetic, num_classes: 6, root: /data}"))
        XCTAssertEqual(configError { _ = try Experiment.load(file: f5).dataset("train") }?.description.hasPrefix("\(d5.path("x.yaml")):11:"), true)
        XCTAssertEqual(configError { _ = try Experiment.load(file: f5).dataset("train") }?.keyPath, "data.train.dataset.root")
        XCTAssertEqual(Catalog.names(of: "optimizers"), ["sgd", "adam", "adamw", "rmsproptf"])
        XCTAssertEqual(Catalog.names(of: "schedules"), ["poly", "cosine", "step"])
        XCTAssertEqual(Catalog.names(of: "datasets")?.first, "synthetic")
    }

    func testMissingDatasetRootNamesPathAndLayout() throws {
        let (_, f) = try write(Self.minimal.replacingOccurrences(of: "{type: synthetic, num_classes: 6}", with: "{type: ade20k, root: /nonexistent/ade, split: training}"))
        let err = configError { try validate(try Experiment.load(file: f)) }
        XCTAssertEqual(err?.kind, .file)
        XCTAssertEqual(err?.keyPath, "data.train.dataset.root")
        XCTAssertTrue(err?.message.contains("/nonexistent/ade") ?? false, err?.message ?? "")
        XCTAssertTrue(err?.message.contains("ADEChallengeData2016/images/{training,validation}") ?? false, err?.message ?? "")
    }

    func testDistillIsRejectedClearly() throws {
        let (d, f) = try write(Self.minimal + "\ndistill: {teacher: x}\n")
        XCTAssertEqual(configError { _ = try Experiment.load(file: f) }?.description,
                       "\(d.path("x.yaml")):15:10 (distill): distillation arrives with the KD work; this build cannot run a 'distill' section. Remove the section (or train the student alone)")
    }

    func testQuickstartValidatesAndBuildsSeaFormerTiny() throws {
        let e = try Experiment.load(file: repoRoot.appendingPathComponent("experiments/quickstart.yaml").path)
        try validate(e)
        XCTAssertEqual(e.config.train.iterations, 1500)
        XCTAssertEqual(e.trainBatchSize, 8)
        XCTAssertEqual(e.config.train.optimizer.typeName, "adamw")
        XCTAssertEqual(e.config.train.optimizer.lr, 6e-4)
        XCTAssertEqual(e.config.train.optimizer.paramwise.map(\.key), ["decode_head"])
        XCTAssertEqual(e.config.train.optimizer.paramwise.first?.lrMult, 10)
        XCTAssertEqual(e.config.train.schedule.warmup.iterations, 100)
        XCTAssertEqual(e.config.eval.interval, 500)
        let model = try e.buildModel()
        // 1,667,318 at 150 classes; the classifier conv is 96→C with bias: −(96·150+150) + (96·6+6).
        XCTAssertEqual(model.parameterCount, 1_667_318 - 14_550 + 582)
        XCTAssertEqual(model.parameterCount, 1_653_350)
    }

    func testADE20KBaseValidatesItsPipelines() throws {
        let d = try TempConfigDir()
        let ade = repoRoot.appendingPathComponent("experiments/_base_/datasets/ade20k.yaml").path
        let f = try d.write("x.yaml", "_base_: [\(ade), \(repoRoot.appendingPathComponent("experiments/_base_/models/seaformer_tiny.yaml").path)]\nname: a\ntrain: {iterations: 1, optimizer: {type: sgd, lr: 0.01}}\n")
        let e = try Experiment.load(file: f, overrides: ["data.train.dataset.root=\(d.url.path)", "data.val.dataset.root=\(d.url.path)"])
        XCTAssertEqual(try e.pipeline("train").steps.count, 6)
        XCTAssertEqual(try e.pipeline("val").steps.count, 2)
    }

    func testResolvedYAMLRoundTrips() throws {
        let e = try Experiment.load(file: repoRoot.appendingPathComponent("experiments/quickstart.yaml").path,
                                    overrides: ["name='007'", "model.head.embed_dims=[64,96]"])
        let text = try e.resolvedYAML()
        let again = try ConfigLoader.load(yaml: text)
        XCTAssertEqual(again, e.root)
        XCTAssertEqual(try again.yaml(), text)
        XCTAssertEqual(try Experiment(root: again).config.name, "007")
        XCTAssertFalse(text.contains("_base_"))
        XCTAssertTrue(text.contains("num_classes: 6"), text)
    }
}
