@testable import Experiments
import Foundation
import XCTest

/// The `runexp` binary end to end: exit codes, messages, Ctrl-C and resume, and a run directory
/// that h5py and h5dump can read.
final class RunexpCLITests: XCTestCase {
    // The built binary and child processes with output in files, as the sweep tests use them.
    typealias Result = SweepTestSupport.Result
    var binary: URL { get throws { try SweepTestSupport.binary() } }
    func start(_ executable: URL, _ args: [String], in dir: URL) throws -> (Process, URL, URL) { try SweepTestSupport.start(executable, args, in: dir) }
    func finish(_ started: (Process, URL, URL)) throws -> Result { try SweepTestSupport.finish(started) }
    func runexp(_ args: [String], in dir: URL) throws -> Result { try finish(start(try binary, args, in: dir)) }

    var dirs: [TempConfigDir] = []
    func tempDir() throws -> TempConfigDir { let d = try TempConfigDir(); dirs.append(d); return d }

    func testListPrintsRegistriesAndSuggestsAKind() throws {
        let d = try tempDir()
        let r = try runexp(["list", "heads", "attentions"], in: d.url)
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "heads: light_head, simple_head, segformer_head, fpn_head\nattentions: sea, sea_adaptive, global, axial, local, conv, mit_sra, lvt_csa, lvt_rasa, ssa, xfa, mhsa\n")
        let bad = try runexp(["list", "head"], in: d.url)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("unknown kind 'head' (did you mean 'heads'?)"), bad.stderr)
    }

    func testValidateReportsFileLineKeyAndSuggestion() throws {
        let d = try tempDir()
        let good = try d.write("good.yaml", RunnerTests.tiny)
        let bad = try d.write("bad.yaml", RunnerTests.tiny.replacingOccurrences(of: "type: seaformer", with: "type: seafomer"))
        let r = try runexp(["validate", good, bad], in: d.url)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "ok: \(good)\n")
        XCTAssertTrue(r.stderr.contains("bad.yaml:5:20 (model.backbone.type): unknown backbone 'seafomer'"), r.stderr)
        XCTAssertTrue(r.stderr.contains("model.backbone.type"), r.stderr)
        XCTAssertTrue(r.stderr.contains("did you mean 'seaformer'?"), r.stderr)
    }

    func testInfoPrintsTheExactParameterCount() throws {
        let d = try tempDir()
        let r = try runexp(["info", repoRoot.appendingPathComponent("experiments/quickstart.yaml").path, "--size", "64", "--depth", "1"], in: d.url)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("EncoderDecoder (segmentation, 6 classes), input 1x64x64x3"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1,653,350"), r.stdout)
        XCTAssertTrue(r.stdout.contains("FLOPs (mmcv)"), r.stdout)
        let bad = try runexp(["info", repoRoot.appendingPathComponent("experiments/quickstart.yaml").path, "--size", "64x"], in: d.url)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("--size takes H or HxW"), bad.stderr)
    }

    /// Ctrl-C during training: exit 130 with a resume command; `--resume` finishes the run; eval
    /// prints the per-class table and saves predictions; other tools read the files.
    func testInterruptResumeEvaluateAndReadTheRunWithOtherTools() throws {
        let d = try tempDir()
        let config = try d.write("tiny.yaml", RunnerTests.tiny.replacingOccurrences(of: "iterations: 8", with: "iterations: 12")
            .replacingOccurrences(of: "log_interval: 3", with: "log_interval: 1"))
        let run = RunDirectory(d.url.appendingPathComponent("out"))
        let started = try start(try binary, ["run", config, "--output", run.url.path, "--threads", "2"], in: d.url)
        // Interrupt once the first iteration has been logged.
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !((try? String(contentsOf: run.log, encoding: .utf8))?.contains("iter 1/12") ?? false) {
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(started.0.processIdentifier, SIGINT)
        let interrupted = try finish(started)
        XCTAssertEqual(interrupted.status, 130, interrupted.stderr)
        XCTAssertTrue(interrupted.stderr.contains("interrupted (SIGINT): stopped after iteration"), interrupted.stderr)
        XCTAssertTrue(interrupted.stderr.contains("\(try binary.path) run \(config) --output \(run.url.path) --threads 2 --resume"), interrupted.stderr)
        let stoppedAt = try TrainingCheckpoint.read(from: XCTUnwrap(try run.lastCheckpoint())).iteration
        XCTAssertLessThan(stoppedAt, 12)

        let resumed = try runexp(["run", config, "--output", run.url.path, "--threads", "2", "--resume"], in: d.url)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resumed from \(run.checkpoint(iteration: stoppedAt).path) at iteration \(stoppedAt)/12"), resumed.stdout)
        XCTAssertTrue(resumed.stdout.contains("mIoU"), resumed.stdout)
        let log = try MetricsLog.read(from: run.metrics)
        XCTAssertEqual(log.train.map(\.iteration), Array(1...12), "one row per iteration, none lost or doubled by the resume")

        let evaluated = try runexp(["eval", config, "--output", run.url.path, "--save-predictions", "3"], in: d.url)
        XCTAssertEqual(evaluated.status, 0, evaluated.stderr)
        XCTAssertTrue(evaluated.stdout.contains("class"), evaluated.stdout)
        XCTAssertTrue(evaluated.stdout.contains("background"), evaluated.stdout)
        // The printed results are also kept in the run: eval/iter_12.h5, .json, _per_class.csv.
        let kept = try EvaluationFiles.readMetrics(run.url.appendingPathComponent("eval/iter_12.h5"))
        XCTAssertEqual(kept.classNames.first, "background")
        XCTAssertTrue(evaluated.stdout.contains(String(format: "%.2f", kept.metrics["mIoU"]! * 100)), evaluated.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.url.appendingPathComponent("eval/iter_12.json").path))
        XCTAssertTrue(try String(contentsOf: run.url.appendingPathComponent("eval/iter_12_per_class.csv"), encoding: .utf8).hasPrefix("class,acc,iou\nbackground,"))
        let predictions = run.predictions.appendingPathComponent("iter_12")
        for i in 0..<3 {
            for kind in ["image", "pred", "label"] {
                let png = try Data(contentsOf: predictions.appendingPathComponent(String(format: "%04d_%@.png", i, kind)))
                XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: predictions.appendingPathComponent("0003_pred.png").path))
        let missing = try runexp(["eval", config, "--checkpoint", "/nonexistent.h5"], in: d.url)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "error: no checkpoint at /nonexistent.h5\n")

        // h5dump sees the checkpoint attributes; h5py reads model, optimizer, rng and metrics.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/h5dump") {
            let dump = try finish(start(URL(fileURLWithPath: "/usr/bin/h5dump"), ["-A", run.checkpoint(iteration: 12).path], in: d.url))
            XCTAssertEqual(dump.status, 0)
            for needle in ["ATTRIBUTE \"iter\"", "ATTRIBUTE \"git\"", "ATTRIBUTE \"config\"", "GROUP \"optimizer\"", "DATASET \"global\""] {
                XCTAssertTrue(dump.stdout.contains(needle), "h5dump lacks \(needle)")
            }
        }
        let script = """
        import h5py, sys
        c = h5py.File(sys.argv[1], 'r'); m = h5py.File(sys.argv[2], 'r')
        w = c['model/decode_head/conv_seg/weight']
        print(int(c.attrs['iter']), w.shape, c['optimizer/decode_head/conv_seg/weight/exp_avg'].shape,
              int(c['optimizer/decode_head/conv_seg/weight/step'][()]), list(c['rng/global'].shape), int(c['sampler/index'][()]))
        print(len(m['train/loss']), [int(i) for i in m['val/iter'][:]], m['val/per_class_iou'].shape, [s.decode() for s in m['val/class_names'][:2]])
        """
        let py = try finish(start(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, run.checkpoint(iteration: 12).path, run.metrics.path], in: d.url))
        if py.status != 0 && py.stderr.contains("No module named 'h5py'") { throw XCTSkip("h5py missing (make deps installs it)") }
        XCTAssertEqual(py.status, 0, py.stderr)
        XCTAssertEqual(py.stdout, "12 (4, 1, 1, 96) (4, 1, 1, 96) 12 [2] 8\n12 [4, 8, 12] (3, 4) ['background', 'ellipse_stripes']\n")
    }
}
