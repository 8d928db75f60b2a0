@testable import Experiments
import Foundation
import XCTest

/// `runexp sweep submit --slurm` on a real single-node Slurm cluster (munged, slurmctld, slurmd),
/// started for this class by tools/slurm/start-local-cluster.sh and stopped afterwards. Where the
/// cluster cannot start (not root, slurm-wlm/munge missing, a daemon refusing), every test is
/// skipped with the script's reason.
final class SweepSlurmTests: XCTestCase {
    typealias T = SweepTestSupport
    static var clusterDir: URL?
    static var unavailable: String?

    override class func setUp() {
        super.setUp()
        let dir = URL(fileURLWithPath: "/tmp/vitlab-slurm-test-\(getpid())", isDirectory: true)
        do {
            let r = try T.finish(T.start(repoRoot.appendingPathComponent("tools/slurm/start-local-cluster.sh"), [dir.path], in: URL(fileURLWithPath: "/tmp")))
            if r.status == 0 { clusterDir = dir } else {
                unavailable = "no local Slurm cluster (start-local-cluster.sh exit \(r.status)): " + r.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        } catch {
            unavailable = "cannot run tools/slurm/start-local-cluster.sh: \(error)"
        }
    }

    override class func tearDown() {
        if let dir = clusterDir { _ = try? T.finish(T.start(repoRoot.appendingPathComponent("tools/slurm/stop-local-cluster.sh"), [dir.path], in: URL(fileURLWithPath: "/tmp"))) }
        clusterDir = nil
        super.tearDown()
    }

    var environment: [String: String] { ["SLURM_CONF": Self.clusterDir!.appendingPathComponent("slurm.conf").path] }

    func slurm(_ args: [String]) throws -> T.Result {
        try T.finish(T.start(URL(fileURLWithPath: "/usr/bin/env"), args, in: URL(fileURLWithPath: "/tmp"), environment: environment))
    }

    /// The task's state in squeue (`PENDING`, `RUNNING`, …), or "" once it has left the queue.
    func state(_ task: String) -> String {
        ((try? slurm(["squeue", "-h", "-j", task, "-o", "%T"]))?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A requeued task waits for a begin time (about two minutes); a test need not. The update is
    /// repeated until the next attempt has started: the task reads PENDING a moment before Slurm
    /// sets that begin time, and an update in between is overwritten.
    func releaseRequeued(_ task: String, point: Int, plan: SweepPlan, attempts: Int) throws {
        let started = T.wait(120) {
            if (try? SweepManifest.read(from: plan.manifestURL))??.points[point].attempts ?? 0 > attempts { return true }
            if self.state(task) == "PENDING" {
                _ = try? self.slurm(["scontrol", "release", task])
                _ = try? self.slurm(["scontrol", "update", "JobId=\(task)", "StartTime=now"])
                Thread.sleep(forTimeInterval: 1)
            }
            return false
        }
        XCTAssertTrue(started, "\(task) did not start again (state '\(state(task))')")
    }

    /// Three points as a job array (two at a time); the long one is requeued twice while it
    /// trains: once by `scontrol requeue` (Slurm sends SIGTERM to every process of the task, as on
    /// preemption) and once by USR1 to the batch shell (what `--signal=B:USR1@60` sends before the
    /// time limit: the script forwards TERM and requeues the task itself). Each time the point
    /// checkpoints, and the requeued task resumes from that checkpoint.
    func testArrayRunsToCompletionAndRequeuedTasksResumeFromTheirCheckpoints() throws {
        if let reason = Self.unavailable { throw XCTSkip(reason) }
        let d = try TempConfigDir()
        let file = try d.write("array.yaml", T.tinySweep(name: "array", output: d.path("runs"), body: """
        runs:
          - {model.backbone.attention.type: sea}
          - {model.backbone.attention.type: global}
          - {model.backbone.attention.type: axial, train.iterations: 60, eval.interval: 30, checkpoint.interval: 30}
        run_name: "{type}"
        """))
        let plan = try SweepPlan.load(file: file)
        let submitted = try T.runexp(["sweep", "submit", file, "--slurm", "--partition", "debug", "--time", "10", "--cpus-per-task", "1",
                                      "--max-parallel", "2"], in: d.url, environment: environment)
        XCTAssertEqual(submitted.status, 0, submitted.stdout + submitted.stderr)
        let first = try XCTUnwrap(submitted.stdout.split(separator: "\n").first)
        XCTAssertTrue(first.hasPrefix("submitted job array ") && first.hasSuffix(" (--array=0-2%2, 3 tasks)"), String(first))
        let job = String(first.split(separator: " ")[3])
        let long = "\(job)_2", run = plan.points[2].directory

        // 1. scontrol requeue while the long point trains.
        XCTAssertTrue(T.wait(120) { T.loggedIteration(run) >= 5 }, "point 2 never reached iteration 5; " + ((try? slurm(["squeue"]))?.stdout ?? ""))
        XCTAssertEqual(try slurm(["scontrol", "requeue", long]).status, 0)
        try releaseRequeued(long, point: 2, plan: plan, attempts: 1)
        // 2. The time-limit signal, once the resumed attempt has trained a few more iterations.
        let firstStop = try XCTUnwrap(try RunDirectory(run).lastCheckpoint().map { try TrainingCheckpoint.read(from: $0).iteration })
        XCTAssertTrue(T.wait(120) { (try? SweepManifest.read(from: plan.manifestURL))??.points[2].attempts == 2 && T.loggedIteration(run) >= firstStop + 5 })
        XCTAssertEqual(try slurm(["scancel", "--batch", "--signal=USR1", long]).status, 0)
        try releaseRequeued(long, point: 2, plan: plan, attempts: 2)

        XCTAssertTrue(T.wait(150) { (try? SweepManifest.read(from: plan.manifestURL))??.points.allSatisfy { $0.status == .done } ?? false },
                      "not all done: " + ((try? T.runexp(["sweep", "status", file], in: d.url))?.stdout ?? ""))
        let m = try XCTUnwrap(try SweepManifest.read(from: plan.manifestURL))
        XCTAssertEqual(m.points.map(\.attempts), [1, 1, 3])
        XCTAssertEqual(m.points.map(\.slurmJob), ["\(job)_0", "\(job)_1", long])
        XCTAssertEqual(m.submissions.map(\.jobId), [job])
        XCTAssertEqual(m.submissions.first?.array, "0-2%2")

        let log = try String(contentsOf: RunDirectory(run).log, encoding: .utf8)
        let resumes = log.split(separator: "\n").filter { $0.contains("resumed from ") }
        XCTAssertEqual(resumes.count, 2, log)
        XCTAssertTrue(resumes.first?.hasSuffix("resumed from \(run.path)/checkpoints/iter_\(firstStop).h5 at iteration \(firstStop)/60") ?? false, log)
        XCTAssertTrue(log.contains("done in "), log)
        XCTAssertEqual(try String(contentsOf: RunDirectory(run).lastCheckpointPointer, encoding: .utf8), "iter_60.h5\n")

        let out = try String(contentsOf: plan.directory.appendingPathComponent("slurm/\(job)_2.out"), encoding: .utf8)
        XCTAssertTrue(out.contains("DUE TO JOB REQUEUE"), out)
        XCTAssertTrue(out.contains("=== time limit near: point checkpointed (exit 143); requeueing \(long)"), out)
        XCTAssertTrue(out.contains("restart 2\n"), out)
        XCTAssertEqual(out.components(separatedBy: "the next sweep run resumes it").count - 1, 2, out)

        let status = try T.runexp(["sweep", "status", file], in: d.url, environment: environment)
        XCTAssertTrue(status.stdout.hasPrefix("sweep array: 3 points — 0 pending, 0 running, 3 done, 0 failed, 0 interrupted\n"), status.stdout)
        XCTAssertTrue(status.stdout.contains("Slurm \(long)"), status.stdout)
        let resubmit = try T.runexp(["sweep", "submit", file, "--slurm"], in: d.url, environment: environment)
        XCTAssertEqual(resubmit.stdout, "sweep array: nothing to submit (every point is done or failed; --retry-failed includes failed ones)\n")
    }
}
