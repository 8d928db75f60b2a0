@testable import Experiments
import Foundation
import XCTest

/// `runexp sweep plan|run|status|submit --dry-run` end to end with the real binary: parallel
/// points, skip/resume/retry, a sweep stopped mid-run and continued, a crashed point that does not
/// stop the others, fail-fast validation. Each point is the quickstart at toy size (seconds).
final class SweepRunTests: XCTestCase {
    typealias T = SweepTestSupport
    var dirs: [TempConfigDir] = []

    func setUpSweep(_ body: String, name: String = "s") throws -> (file: String, dir: URL, plan: SweepPlan) {
        let d = try TempConfigDir()
        dirs.append(d)
        let file = try d.write("\(name).yaml", T.tinySweep(name: name, output: d.path("runs"), body: body))
        return (file, d.url, try SweepPlan.load(file: file))
    }

    func manifest(_ plan: SweepPlan) throws -> SweepManifest { try XCTUnwrap(try SweepManifest.read(from: plan.manifestURL)) }

    func testRunsPointsInParallelThenSkipsThemAndReportsStatus() throws {
        let (file, dir, plan) = try setUpSweep("axes:\n  model.backbone.attention.type: [sea, global]\nrun_name: \"{type}\"\n")
        let planned = try T.runexp(["sweep", "plan", file], in: dir)
        XCTAssertEqual(planned.status, 0, planned.stderr)
        XCTAssertEqual(planned.stdout, """
        sweep s: 2 points of \(plan.sweep.base.path)
        manifest: \(plan.manifestURL.path)
        0    sea     pending     model.backbone.attention.type=sea
        1    global  pending     model.backbone.attention.type=global

        """)
        XCTAssertEqual(try manifest(plan).points.map(\.status), [.pending, .pending])

        let r = try T.runexp(["sweep", "run", "--threads", "1", file, "--all", "--jobs", "2"], in: dir)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("point 0 sea: started (pid "), r.stdout)
        XCTAssertTrue(r.stdout.contains("1 thread); log \(plan.logs.path)/sea.log"), r.stdout)
        XCTAssertTrue(r.stdout.hasSuffix("sweep s: 2 done\n"), r.stdout)
        let m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.done, .done])
        XCTAssertEqual(m.points.map(\.attempts), [1, 1])
        XCTAssertEqual(m.points.map(\.exitCode), [0, 0])
        XCTAssertNil(m.points[0].pid)
        XCTAssertNotNil(parseTimestamp(m.points[1].finished))
        for p in plan.points {
            XCTAssertEqual(try String(contentsOf: RunDirectory(p.directory).lastCheckpointPointer, encoding: .utf8), "iter_6.h5\n")
            let config = try String(contentsOf: RunDirectory(p.directory).config, encoding: .utf8)
            XCTAssertTrue(config.contains("name: \(p.name)\n"), config)
        }
        XCTAssertTrue(try String(contentsOf: plan.log(of: plan.points[1]), encoding: .utf8).contains("--set model.backbone.attention.type=global --set name=global --output \(plan.points[1].directory.path) --threads 1 --resume"))

        let again = try T.runexp(["sweep", "run", "--threads", "1", file], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "point 0 sea: done (skipped)\npoint 1 global: done (skipped)\nsweep s: 2 already done\n")
        XCTAssertEqual(try manifest(plan).points.map(\.attempts), [1, 1])

        let status = try T.runexp(["sweep", "status", file], in: dir)
        XCTAssertEqual(status.status, 0, status.stderr)
        let lines = status.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "sweep s: 2 points — 0 pending, 0 running, 2 done, 0 failed, 0 interrupted")
        XCTAssertEqual(lines[2].split(separator: " ", omittingEmptySubsequences: true), ["index", "name", "status", "progress", "started", "time", "tries", "detail"])
        XCTAssertEqual(Array(lines[3].split(separator: " ", omittingEmptySubsequences: true).prefix(4)), ["0", "sea", "done", "6/6"])
        XCTAssertEqual(lines[4].split(separator: " ", omittingEmptySubsequences: true).last, "1", "one attempt")
    }

    /// A diverging point fails with its error and exit code; the other point still finishes; the
    /// failed one is skipped on the next run unless --retry-failed.
    func testAFailedPointIsRecordedAndOnlyRetriedWithRetryFailed() throws {
        let (file, dir, plan) = try setUpSweep("runs:\n  - {train.optimizer.lr: 1.0e+30}\n  - {}\nrun_name: \"p{index}\"\n")
        let r = try T.runexp(["sweep", "run", "--threads", "1", file], in: dir)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("point 0 p0: failed after "), r.stdout)
        // lr 1e30 blows the gradients up at iteration 2, before the loss itself goes non-finite.
        XCTAssertTrue(r.stdout.contains("(exit 3): error: the gradient of backbone.smb1.stem_block.0.c.weight is not finite"), r.stdout)
        XCTAssertTrue(r.stdout.contains("point 1 p1: done in "), r.stdout)
        var m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.failed, .done])
        XCTAssertEqual(m.points[0].exitCode, 3)
        XCTAssertTrue(m.points[0].error?.hasPrefix("error: the gradient of ") ?? false, "\(String(describing: m.points[0].error))")
        XCTAssertTrue(m.points[0].error?.contains("the run stopped before updating the weights") ?? false)

        let skipped = try T.runexp(["sweep", "run", "--threads", "1", file], in: dir)
        XCTAssertEqual(skipped.status, 1)
        XCTAssertEqual(skipped.stdout, "point 0 p0: failed before (exit 3); skipped, --retry-failed runs it again\npoint 1 p1: done (skipped)\nsweep s: 1 already done, 1 failed before\n")
        let status = try T.runexp(["sweep", "status", file], in: dir)
        XCTAssertTrue(status.stdout.contains("exit 3: the gradient of "), status.stdout)

        let retried = try T.runexp(["sweep", "run", "--threads", "1", file, "--retry-failed", "--index", "0"], in: dir)
        XCTAssertEqual(retried.status, 1)
        XCTAssertTrue(retried.stdout.contains("point 0 p0: started"), retried.stdout)
        m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.attempts), [2, 1])
        XCTAssertEqual(m.points[0].status, .failed)
    }

    /// Ctrl-C on a running sweep: the running point checkpoints and stops, the queued one is not
    /// started, exit 130; the same command then resumes the point from its checkpoint.
    func testASweepStoppedMidRunResumesFromTheCheckpoint() throws {
        let (file, dir, plan) = try setUpSweep("""
        runs:
          - {train.iterations: 30, eval.interval: 15, checkpoint.interval: 15}
          - {}
        run_name: "p{index}"
        """)
        let started = try T.start(try T.binary(), ["sweep", "run", "--threads", "1", file, "--jobs", "1"], in: dir)
        XCTAssertTrue(T.wait(120) { T.loggedIteration(plan.points[0].directory) >= 4 }, "point 0 never logged iteration 4")
        kill(started.0.processIdentifier, SIGINT)
        let stopped = try T.finish(started)
        XCTAssertEqual(stopped.status, 130, stopped.stdout + stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("point 0 p0: interrupted after "), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("(exit 130); the next sweep run resumes it"), stopped.stdout)
        XCTAssertTrue(stopped.stdout.hasSuffix("sweep s: 1 interrupted; stopped by SIGINT, continue with the same command\n"), stopped.stdout)
        var m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.interrupted, .pending])
        let checkpoint = try XCTUnwrap(try RunDirectory(plan.points[0].directory).lastCheckpoint())
        let at = try TrainingCheckpoint.read(from: checkpoint).iteration
        XCTAssertGreaterThanOrEqual(at, 4)
        XCTAssertLessThan(at, 30)

        let resumed = try T.runexp(["sweep", "run", "--threads", "1", file], in: dir)
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.done, .done])
        XCTAssertEqual(m.points.map(\.attempts), [2, 1])
        let log = try String(contentsOf: RunDirectory(plan.points[0].directory).log, encoding: .utf8)
        XCTAssertTrue(log.contains("resumed from \(checkpoint.path) at iteration \(at)/30"), log)
        XCTAssertTrue(log.contains("done in "), log)
    }

    /// A point whose process dies (here: SIGKILL, as the OOM killer would) fails alone; a
    /// `running` record whose process is gone reads as interrupted.
    func testACrashedPointFailsAloneAndAStaleRecordReadsAsInterrupted() throws {
        let (file, dir, plan) = try setUpSweep("""
        runs:
          - {train.iterations: 200, eval.interval: 100, checkpoint.interval: 100}
          - {}
        run_name: "p{index}"
        """)
        let started = try T.start(try T.binary(), ["sweep", "run", "--threads", "1", file, "--jobs", "2"], in: dir)
        var pid: Int32?
        XCTAssertTrue(T.wait(120) {
            pid = (try? SweepManifest.read(from: plan.manifestURL))??.points[0].pid
            return pid != nil && T.loggedIteration(plan.points[0].directory) >= 2
        })
        kill(try XCTUnwrap(pid), SIGKILL)
        let r = try T.finish(started)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        let m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.failed, .done])
        XCTAssertEqual(m.points[0].exitCode, 137)
        XCTAssertEqual(m.points[0].error, "killed by signal 9 (Killed); out of memory?")

        // A record left `running` by a process that no longer exists.
        try ManifestStore(plan.manifestURL).updatePoint(0) { $0.status = .running; $0.pid = 999_999_9; $0.host = hostName() }
        let status = try T.runexp(["sweep", "status", file], in: dir)
        XCTAssertTrue(status.stdout.contains("1 done, 0 failed, 1 interrupted"), status.stdout)
        XCTAssertTrue(status.stdout.contains("its process is gone; resumes on the next run"), status.stdout)
    }

    /// Two `sweep run`s over one sweep at once (two shells, or two Slurm tasks): the manifest lock
    /// lets each point start exactly once.
    func testConcurrentSweepRunsStartEachPointOnce() throws {
        let (file, dir, plan) = try setUpSweep("axes:\n  model.backbone.attention.type: [sea, global]\nrun_name: \"{type}\"\n")
        let a = try T.start(try T.binary(), ["sweep", "run", "--threads", "1", file], in: dir)
        let b = try T.start(try T.binary(), ["sweep", "run", "--threads", "1", file], in: dir)
        let ra = try T.finish(a), rb = try T.finish(b)
        let m = try manifest(plan)
        XCTAssertEqual(m.points.map(\.status), [.done, .done], ra.stdout + rb.stdout)
        XCTAssertEqual(m.points.map(\.attempts), [1, 1], ra.stdout + rb.stdout)
        let starts = (ra.stdout + rb.stdout).components(separatedBy: ": started (pid").count - 1
        XCTAssertEqual(starts, 2, ra.stdout + rb.stdout)
        for p in plan.points {
            let log = try String(contentsOf: plan.log(of: p), encoding: .utf8)
            XCTAssertEqual(log.components(separatedBy: "\n=== ").count - 1, 1, "one attempt in \(p.name)'s log")
        }
    }

    func testBadPointsFailFastAndFlagsAreChecked() throws {
        let (file, dir, plan) = try setUpSweep("axes:\n  model.backbone.attention.type: [sea, sae]\n")
        let r = try T.runexp(["sweep", "run", "--threads", "1", file], in: dir)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("error: 1 point of sweep s does not validate; nothing was started:\n  point 1: s.yaml:12:40 (model.backbone.attention.type): "), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: plan.logs.path), "no point started")

        let index = try T.runexp(["sweep", "run", "--threads", "1", file, "--index", "7"], in: dir)
        XCTAssertEqual(index.stderr, "error: the sweep has 2 points (indices 0-1); there is no point 7. `runexp sweep plan FILE` lists them.\n")
        let both = try T.runexp(["sweep", "run", "--threads", "1", file, "--index", "0", "--all"], in: dir)
        XCTAssertEqual(both.status, 64)
        XCTAssertTrue(both.stderr.contains("give --all or --index, not both"), both.stderr)
        let noScheduler = try T.runexp(["sweep", "submit", file], in: dir)
        XCTAssertEqual(noScheduler.status, 64)
        XCTAssertTrue(noScheduler.stderr.contains("say where to submit: --slurm"), noScheduler.stderr)
        let unknown = try T.runexp(["sweep", "plan", file, "--set", "seds=[1]"], in: dir)
        XCTAssertEqual(unknown.stderr, "error: --set seds=[1] (seds): unknown key; did you mean 'seeds'?\n")
    }

    /// The batch script `submit --slurm --dry-run` writes (the real cluster runs it in SweepSlurmTests).
    func testSubmitDryRunWritesTheArrayScript() throws {
        let (file, dir, plan) = try setUpSweep("axes:\n  model.backbone.attention.type: [sea, global, axial]\nrun_name: \"{type}\"\n")
        try ManifestStore(plan.manifestURL).update { m in m = try SweepManifest.reconcile(plan: plan, with: m, acceptChanges: false) }
        try ManifestStore(plan.manifestURL).updatePoint(1) { $0.status = .done }
        let r = try T.runexp(["sweep", "submit", file, "--slurm", "--dry-run", "--partition", "cpu", "--time", "30", "--cpus-per-task", "2",
                              "--max-parallel", "2", "--sbatch-arg=--mem=4G"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let script = plan.directory.appendingPathComponent("slurm/array-1.sbatch")
        XCTAssertEqual(r.stdout, "wrote \(script.path) (--array=0,2%2); submit it with: sbatch \(script.path)\n")
        let text = try String(contentsOf: script, encoding: .utf8)
        for line in ["#SBATCH --array=0,2%2", "#SBATCH --requeue", "#SBATCH --signal=B:USR1@60", "#SBATCH --open-mode=append",
                     "#SBATCH --partition=cpu", "#SBATCH --time=30", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=4G",
                     "#SBATCH --output=\(plan.directory.path)/slurm/%A_%a.out", "#SBATCH --chdir=\(dir.path)",
                     "trap 'requeue=1; kill -TERM \"$child\" 2>/dev/null' USR1",
                     "sweep run \(URL(fileURLWithPath: file).standardizedFileURL.path) --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-2}\" &"] {
            XCTAssertTrue(text.contains(line + "\n"), "missing: \(line)\n\(text)")
        }
        let syntax = try T.finish(T.start(URL(fileURLWithPath: "/bin/bash"), ["-n", script.path], in: dir))
        XCTAssertEqual(syntax.status, 0, syntax.stderr)
    }
}
