@testable import Experiments
import Foundation
import DataPipeline
import HDF5Store
import NeuralNet
import TensorEngine
import XCTest

/// Records what hooks see; optionally acts at an iteration (simulated Ctrl-C, poisoned weights).
final class RecordingHook: RunnerHook {
    var losses: [Float] = []
    var lrs: [Double] = []
    var evaluations: [EvaluationResult] = []
    var checkpoints: [String] = []
    var notes: [String] = []
    var action: ((Runner, Int) -> Void)?

    func afterIteration(_ runner: Runner, _ r: IterationRecord) {
        losses.append(r.loss)
        lrs.append(r.lr)
        action?(runner, r.iteration)
    }
    func afterEvaluation(_ runner: Runner, _ result: EvaluationResult) { evaluations.append(result) }
    func afterCheckpoint(_ runner: Runner, _ file: URL) { checkpoints.append(file.lastPathComponent) }
    func note(_ runner: Runner, _ message: String) { notes.append(message) }
}

final class RunnerTests: XCTestCase {
    /// SeaFormer-T on 64×64 synthetic images: drop path and dropout on (so the random stream
    /// matters for exact resume), photometric augmentation on, 2 loader workers.
    static let tiny = """
    name: tiny
    seed: 3
    model:
      type: encoder_decoder
      backbone: {type: seaformer, variant: tiny, attention: {type: sea}, drop_path: 0.1}
      head: {type: light_head, embed_dims: [64, 96], channels: 96, dropout: 0.1}
      num_classes: 4
    data:
      train:
        dataset: {type: synthetic, num_classes: 4, image_size: 64, length: 40, split: train}
        pipeline: [{type: random_flip, prob: 0.5}, {type: photometric_distortion}, {type: normalize}]
        workers: 2
      val:
        dataset: {type: synthetic, num_classes: 4, image_size: 64, length: 6, split: val}
        pipeline: [{type: normalize}]
        batch_size: 2
        workers: 1
    train:
      iterations: 8
      batch_size: 4
      optimizer: {type: adamw, lr: 1.0e-3, paramwise: [{key: decode_head, lr_mult: 10.0}]}
      schedule: {type: poly, warmup: {iterations: 2}}
      log_interval: 3
    eval: {interval: 4}
    checkpoint: {interval: 4, keep_last: 2, keep_best: mIoU}
    """

    var dirs: [TempConfigDir] = []

    func experiment(_ overrides: [String] = [], text: String = RunnerTests.tiny) throws -> (Experiment, TempConfigDir) {
        let d = try TempConfigDir()
        dirs.append(d)
        let file = try d.write("tiny.yaml", text)
        return (try Experiment.load(file: file, overrides: overrides), d)
    }

    func runner(_ e: Experiment, _ dir: URL, resume: Bool = false, stopAfter: Int? = nil, hook: RecordingHook) throws -> Runner {
        try Runner(experiment: e, options: RunOptions(directory: dir, resume: resume, stopAfter: stopAfter), hooks: [hook, ConsoleReporter(echo: false)])
    }

    /// The test: N iterations straight vs N/2 + resume + N/2 give identical losses,
    /// metrics and weights, bit for bit. The split point (3) is not a checkpoint interval, so the
    /// stop writes its own checkpoint with a half-filled log window.
    func testResumeReproducesAnUninterruptedRun() throws {
        let (e, d) = try experiment()
        let straight = RecordingHook()
        let a = try runner(e, d.url.appendingPathComponent("a"), hook: straight)
        try a.run()
        XCTAssertEqual(straight.losses.count, 8)

        let first = RecordingHook(), second = RecordingHook()
        let bDir = d.url.appendingPathComponent("b")
        try runner(e, bDir, stopAfter: 3, hook: first).run()
        XCTAssertEqual(try String(contentsOf: bDir.appendingPathComponent("last_checkpoint"), encoding: .utf8), "iter_3.h5\n")
        let b = try runner(e, bDir, resume: true, hook: second)
        XCTAssertEqual(b.iteration, 3)
        try b.run()

        XCTAssertEqual(first.losses + second.losses, straight.losses, "resumed losses differ")
        XCTAssertEqual(first.lrs + second.lrs, straight.lrs)
        XCTAssertTrue(second.notes.contains { $0.hasPrefix("resumed from") && $0.contains("iter_3.h5") })
        let ma = try MetricsLog.read(from: RunDirectory(d.url.appendingPathComponent("a")).metrics)
        let mb = try MetricsLog.read(from: RunDirectory(bDir).metrics)
        XCTAssertEqual(ma.train.map(\.iteration), [3, 6, 8])
        XCTAssertEqual(ma.train.map(\.loss), mb.train.map(\.loss))
        XCTAssertEqual(ma.train.map(\.lr), mb.train.map(\.lr))
        XCTAssertEqual(ma.val.map(\.iteration), [4, 8])
        XCTAssertEqual(ma.val.map { $0.metrics["mIoU"]! }, mb.val.map { $0.metrics["mIoU"]! })
        XCTAssertEqual(ma.val.map { $0.metrics["aAcc"]! }, mb.val.map { $0.metrics["aAcc"]! })
        for (k, t) in a.model.stateDict() {
            XCTAssertEqual(t.toArray(), b.model.stateDict()[k]!.toArray(), "weight \(k) differs after resume")
        }
        // keep_last 2: of iter_4 and iter_8 (a) / iter_3, iter_4, iter_8 (b) the two newest remain.
        XCTAssertEqual(RunDirectory(bDir).periodicCheckpoints().map(\.iteration), [4, 8])
    }

    func testCheckpointRoundTripsEveryPart() throws {
        let (e, d) = try experiment(["train.iterations=4", "eval.interval=null", "checkpoint.keep_best=null"])
        let r = try runner(e, d.url.appendingPathComponent("run"), hook: RecordingHook())
        try r.run()
        let file = RunDirectory(d.url.appendingPathComponent("run")).checkpoint(iteration: 4)
        let c = try TrainingCheckpoint.read(from: file)
        XCTAssertEqual(c.iteration, 4)
        XCTAssertEqual(c.seed, 3)
        XCTAssertEqual(c.threads, Engine.threads)
        XCTAssertEqual(c.sampler, SamplerState(epoch: 0, index: 16))
        XCTAssertEqual(c.logWindow.count, 0, "iteration 4 is the last: its window was logged")
        XCTAssertEqual(c.rng, RandomGenerator.global.state)
        XCTAssertEqual(Set(c.model.keys), Set(r.model.stateKeys))
        XCTAssertEqual(c.model["decode_head.conv_seg.weight"]!.toArray(), r.model.stateDict()["decode_head.conv_seg.weight"]!.toArray())
        XCTAssertEqual(Set(c.optimizer.keys), Set(r.optimizer.stateDict().keys))
        XCTAssertEqual(c.optimizer["decode_head.conv_seg.weight.step"]?.item(), 4)
        XCTAssertEqual(c.config, try String(contentsOf: RunDirectory(d.url.appendingPathComponent("run")).config, encoding: .utf8))
        XCTAssertEqual(c.version, ViTLabVersion.string)
        XCTAssertFalse(c.git.isEmpty)
    }

    func testSignalFinishesTheIterationWritesACheckpointAndSaysHowToResume() throws {
        let (e, d) = try experiment()
        let hook = RecordingHook()
        hook.action = { _, i in if i == 2 { StopSignal.simulate(SIGINT) } }
        let dir = d.url.appendingPathComponent("run")
        let r = try Runner(experiment: e, options: RunOptions(directory: dir, resumeCommand: "runexp run tiny.yaml --resume"),
                           hooks: [hook, ConsoleReporter(echo: false)])
        XCTAssertThrowsError(try r.run()) { error in
            guard case let RunError.interrupted(signal, iteration, total, checkpoint, resume) = error as! RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(signal, SIGINT)
            XCTAssertEqual(iteration, 2)
            XCTAssertEqual(total, 8)
            XCTAssertTrue(checkpoint.hasSuffix("checkpoints/iter_2.h5"))
            XCTAssertEqual(resume, "runexp run tiny.yaml --resume")
            XCTAssertEqual((error as! RunError).exitCode, 130)
            XCTAssertTrue("\(error)".contains("stopped after iteration 2/8"))
        }
        XCTAssertEqual(hook.losses.count, 2)
        XCTAssertEqual(try TrainingCheckpoint.read(from: RunDirectory(dir).checkpoint(iteration: 2)).iteration, 2)
        XCTAssertNil(StopSignal.pending, "the handler is removed after the run")
        XCTAssertTrue(try String(contentsOf: RunDirectory(dir).log, encoding: .utf8).contains("stopped: interrupted (SIGINT)"))
    }

    func testNonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let (e, d) = try experiment()
        let hook = RecordingHook()
        // Poison one weight after iteration 5: the loss of iteration 6 is NaN.
        hook.action = { runner, i in
            if i == 5 { runner.model.stateDict()["decode_head.conv_seg.bias"]!.withMutablePointer { $0[0] = .nan } }
        }
        let dir = d.url.appendingPathComponent("run")
        XCTAssertThrowsError(try runner(e, dir, hook: hook).run()) { error in
            guard case let RunError.nonFinite(what, iteration, _, last) = error as! RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(what, "loss is nan")
            XCTAssertEqual(iteration, 6)
            XCTAssertEqual(last, RunDirectory(dir).checkpoint(iteration: 4).path)
            XCTAssertEqual((error as! RunError).exitCode, 3)
            XCTAssertTrue("\(error)".contains("The last good checkpoint is"))
        }
        XCTAssertEqual(RunDirectory(dir).periodicCheckpoints().map(\.iteration), [4])
        let c = try TrainingCheckpoint.read(from: RunDirectory(dir).checkpoint(iteration: 4))
        XCTAssertFalse(c.model["decode_head.conv_seg.bias"]!.toArray().contains { $0.isNaN })
        XCTAssertEqual(try String(contentsOf: RunDirectory(dir).lastCheckpointPointer, encoding: .utf8), "iter_4.h5\n")
    }

    func testAnExistingRunIsNeverOverwrittenWithoutResume() throws {
        let (e, d) = try experiment(["train.iterations=2", "eval.interval=null", "checkpoint.keep_best=null"])
        let dir = d.url.appendingPathComponent("run")
        try runner(e, dir, hook: RecordingHook()).run()
        XCTAssertThrowsError(try runner(e, dir, hook: RecordingHook())) { error in
            XCTAssertEqual(error as? RunError, .runExists(path: dir.path, checkpoint: "checkpoints/iter_2.h5"))
            XCTAssertTrue("\(error)".contains("--resume"))
        }
        // Resuming a finished run trains nothing and says so.
        let hook = RecordingHook()
        try runner(e, dir, resume: true, hook: hook).run()
        XCTAssertEqual(hook.losses, [])
        XCTAssertTrue(hook.notes.contains("the run is already complete (2/2 iterations)"))
    }

    func testResumeWithAChangedConfigIsRefusedWithTheDifference() throws {
        let (e, d) = try experiment(["train.iterations=2", "eval.interval=null", "checkpoint.keep_best=null"])
        let dir = d.url.appendingPathComponent("run")
        try runner(e, dir, hook: RecordingHook()).run()
        let (changed, _) = try experiment(["train.iterations=2", "eval.interval=null", "checkpoint.keep_best=null", "train.optimizer.lr=0.5"])
        XCTAssertThrowsError(try runner(changed, dir, resume: true, hook: RecordingHook())) { error in
            guard case let RunError.configChanged(_, differences) = error as! RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(differences, ["train.optimizer.lr: 1.0e-3 → 0.5"])
            XCTAssertTrue("\(error)".contains("Use the same file and --set options"))
        }
    }

    func testAcceptConfigChangesContinuesAndRecordsTheNewConfig() throws {
        let base = ["train.iterations=4", "eval.interval=null", "checkpoint.keep_best=null"]
        let (e, d) = try experiment(base)
        let dir = d.url.appendingPathComponent("run")
        try runner(e, dir, stopAfter: 2, hook: RecordingHook()).run()
        let (changed, _) = try experiment(base + ["train.optimizer.lr=2.0e-4"])
        let hook = RecordingHook()
        let r = try Runner(experiment: changed, options: RunOptions(directory: dir, resume: true, acceptConfigChanges: true),
                           hooks: [hook, ConsoleReporter(echo: false)])
        XCTAssertEqual(r.iteration, 2)
        try r.run()
        XCTAssertEqual(hook.losses.count, 2)
        XCTAssertTrue(hook.notes.contains { $0.contains("train.optimizer.lr: 1.0e-3 → 2.0e-4") }, "\(hook.notes)")
        XCTAssertTrue(try String(contentsOf: RunDirectory(dir).config, encoding: .utf8).contains("lr: 2.0e-4"))
    }

    /// A fresh start in a directory whose earlier attempt died before its first checkpoint
    /// records its own config, so a later --resume compares against the right one.
    func testAFreshStartReplacesTheConfigOfAnAttemptWithoutCheckpoints() throws {
        let (e, d) = try experiment(["train.iterations=1", "eval.interval=null", "checkpoint.keep_best=null"])
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try FileManager.default.createDirectory(at: dir.url, withIntermediateDirectories: true)
        try "name: old\n".write(to: dir.config, atomically: true, encoding: .utf8)
        try runner(e, dir.url, hook: RecordingHook()).run()
        XCTAssertEqual(try String(contentsOf: dir.config, encoding: .utf8), try e.resolvedYAML())
    }

    func testALostCheckpointAndAnIncompatibleOneAreNamed() throws {
        let base = ["train.iterations=1", "eval.interval=null", "checkpoint.keep_best=null"]
        let (e, d) = try experiment(base)
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try runner(e, dir.url, hook: RecordingHook()).run()
        // Another model (5 classes) cannot take these weights: the mismatched tensors are listed.
        let (other, _) = try experiment(base + ["model.num_classes=5", "data.train.dataset.num_classes=5", "data.val.dataset.num_classes=5"])
        XCTAssertThrowsError(try Runner(experiment: other, options: RunOptions(directory: dir.url, resume: true, acceptConfigChanges: true))) { error in
            guard case let RunError.incompatibleCheckpoint(file, reason) = error as! RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, dir.checkpoint(iteration: 1).path)
            XCTAssertTrue(reason.contains("decode_head.conv_seg.weight"), reason)
        }
        // last_checkpoint naming a file that is gone is reported, not silently ignored.
        try FileManager.default.removeItem(at: dir.checkpoint(iteration: 1))
        XCTAssertThrowsError(try runner(e, dir.url, resume: true, hook: RecordingHook())) { error in
            XCTAssertEqual(error as? RunError, .missingCheckpoint(pointer: dir.lastCheckpointPointer.path, named: dir.checkpoint(iteration: 1).path))
            XCTAssertTrue("\(error)".contains("does not exist"))
        }
    }

    func testResumeWithoutACheckpointStartsFresh() throws {
        let (e, d) = try experiment(["train.iterations=1", "eval.interval=null", "checkpoint.keep_best=null"])
        let hook = RecordingHook()
        try runner(e, d.url.appendingPathComponent("new"), resume: true, hook: hook).run()
        XCTAssertEqual(hook.losses.count, 1)
        XCTAssertTrue(hook.notes.contains { $0.contains("no checkpoint") && $0.contains("starting from iteration 0") })
    }

    func testUnwritableOutputIsReportedBeforeTraining() throws {
        let (e, d) = try experiment()
        let blocker = d.url.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try runner(e, blocker.appendingPathComponent("run"), hook: RecordingHook())) { error in
            // The message names the path component that blocks it.
            XCTAssertEqual(error as? RunError, .notWritable(path: blocker.path, reason: "it exists and is not a directory"))
            XCTAssertTrue("\(error)".contains("--output"))
        }
        XCTAssertThrowsError(try runner(e, blocker, hook: RecordingHook())) { error in
            XCTAssertEqual(error as? RunError, .notWritable(path: blocker.path, reason: "it exists and is not a directory"))
        }
    }

    func testTooLittleDiskSpaceIsReportedBeforeTraining() throws {
        let d = try TempConfigDir()
        let run = RunDirectory(d.url.appendingPathComponent("run"))
        XCTAssertThrowsError(try run.prepare(checkpointBytes: 30 << 20, freeBytes: { _ in 40 << 20 })) { error in
            XCTAssertEqual(error as? RunError, .diskFull(path: run.checkpoints.path, needed: 60 << 20, available: 40 << 20))
            XCTAssertTrue("\(error)".contains("need about 60.0 MiB, 40.0 MiB available"))
        }
        XCTAssertNoThrow(try run.prepare(checkpointBytes: 30 << 20, freeBytes: { _ in 61 << 20 }))
    }

    func testMetricsLogRoundTripsAndDropsRowsAfterTheResumePoint() throws {
        let d = try TempConfigDir()
        var log = MetricsLog(runName: "r")
        // Series are named by key: a new loss term or metric needs no schema change.
        log.train = [.init(iteration: 10, losses: ["loss": 1.5, "loss_ce": 1.0, "loss_kd_out": 0.5], lr: 1e-3, throughput: 12),
                     .init(iteration: 20, losses: ["loss": 1.25, "loss_ce": 1.25], lr: 5e-4, throughput: 13)]
        log.classNames = ["a", "b"]
        log.val = [.init(iteration: 20, metrics: ["aAcc": 0.5, "mIoU": 0.25, "mAcc": 0.375, "made_up": 0.125], perClass: ["iou": [0.5, .nan], "acc": [1, 0]])]
        let url = d.url.appendingPathComponent("metrics.h5")
        try log.write(to: url)
        let back = try MetricsLog.read(from: url)
        XCTAssertEqual(back.runName, "r")
        XCTAssertEqual(back.train, log.train)
        XCTAssertEqual(back.classNames, ["a", "b"])
        XCTAssertEqual(back.lossNames, ["loss", "loss_ce", "loss_kd_out"])
        XCTAssertEqual(back.train[1].losses["loss_kd_out"], nil, "a term absent from a row stays absent")
        XCTAssertEqual(back.val[0].metrics, ["aAcc": 0.5, "mIoU": 0.25, "mAcc": 0.375, "made_up": 0.125])
        XCTAssertEqual(back.val[0].perClass["iou"]?[0], 0.5)
        XCTAssertTrue(back.val[0].perClass["iou"]![1].isNaN)
        XCTAssertEqual(back.val[0].perClass["acc"], [1, 0])
        let f = try HDF5File.open(url, mode: .readOnly)
        XCTAssertEqual(try f.children("train").sorted(), ["iter", "loss", "loss_ce", "loss_kd_out", "lr", "throughput"])
        XCTAssertEqual(try f.children("val").sorted(), ["aAcc", "class_names", "iter", "mAcc", "mIoU", "made_up", "per_class_acc", "per_class_iou"])
        try f.close()
        var dropped = back
        dropped.drop(after: 15)
        XCTAssertEqual(dropped.train.map(\.iteration), [10])
        XCTAssertTrue(dropped.val.isEmpty)
    }

    func testScheduleAndOptimizerComeFromTheConfig() throws {
        let (e, _) = try experiment(["train.iterations=100", "train.schedule.warmup.iterations=10"])
        let s = e.config.train.schedule.make(baseLR: 1e-3, iterations: 100)
        XCTAssertEqual(s.lr(at: 0), Float(1e-3 * 1e-6), accuracy: 1e-12)
        XCTAssertEqual(s.lr(at: 50), 5e-4, accuracy: 1e-9)
        let model = try e.buildModel()
        let o = e.config.train.optimizer.make(for: model)
        XCTAssertTrue(o is Adam)
        XCTAssertEqual(o.weightDecay, 0.01)
        XCTAssertEqual(o.parameters.first { $0.name == "decode_head.conv_seg.weight" }?.lrMult, 10)
        XCTAssertEqual(o.parameters.first { $0.name.hasPrefix("backbone.") }?.lrMult, 1)
    }

    /// A classifier trains on the synthetic classification task and is scored by top-1/top-5.
    func testClassifierTrainsAndEvaluatesTopK() throws {
        let text = """
        name: cls
        model:
          type: image_classifier
          backbone: {type: seaformer, variant: tiny, attention: {type: sea}, drop_path: 0.0}
          num_classes: 6
        data:
          train:
            dataset: {type: synthetic, task: classification, num_classes: 6, image_size: 64, length: 24}
            pipeline: [{type: normalize}]
          val:
            dataset: {type: synthetic, task: classification, num_classes: 6, image_size: 64, length: 10, split: val}
            pipeline: [{type: normalize}]
            batch_size: 5
        train:
          iterations: 3
          batch_size: 4
          optimizer: {type: sgd, lr: 0.01}
        checkpoint: {keep_best: top1}
        """
        let (e, d) = try experiment(text: text)
        try validate(e)
        let hook = RecordingHook()
        let summary = try runner(e, d.url.appendingPathComponent("run"), hook: hook).run()
        XCTAssertEqual(hook.losses.count, 3)
        XCTAssertTrue(hook.losses.allSatisfy { $0.isFinite && $0 > 0 })
        let result = try XCTUnwrap(summary.lastEvaluation)
        XCTAssertEqual(Set(result.metrics.keys), ["top1", "top5"])
        XCTAssertEqual(result.images, 10)
        XCTAssertEqual(result.metrics["top1"]! * 10, (result.metrics["top1"]! * 10).rounded(), "a multiple of 1/10")
        XCTAssertGreaterThanOrEqual(result.metrics["top5"]!, result.metrics["top1"]!)
        let log = try MetricsLog.read(from: summary.directory.metrics)
        XCTAssertEqual(log.val.count, 1)
        XCTAssertEqual(log.val[0].metrics["top5"]!, result.metrics["top5"]!, accuracy: 1e-6)
        XCTAssertNotNil(summary.best)
        XCTAssertTrue(FileManager.default.fileExists(atPath: summary.directory.best.path))
    }

    /// `eval.mode: slide` reaches the evaluator (48×48 windows 32 apart on 64×64 images; the window
    /// arithmetic itself is tested against mmseg in ModelZooTests) and leaves the model in training mode.
    func testSlideEvaluationScoresEveryPixel() throws {
        let (e, _) = try experiment(["eval.mode=slide", "eval.crop=48", "eval.stride=32"])
        try validate(e)
        RandomGenerator.manualSeed(0)
        let model = try e.buildModel()
        let slide = try Evaluator(experiment: e).evaluate(model)
        let (w, _) = try experiment()
        let whole = try Evaluator(experiment: w).evaluate(model)
        XCTAssertEqual(slide.images, 6)
        XCTAssertEqual(whole.images, 6)
        for m in ["aAcc", "mIoU", "mAcc"] { XCTAssertTrue(slide.metrics[m]!.isFinite, m) }
        XCTAssertTrue(model.isTraining, "evaluation restores the training mode")
    }
}
