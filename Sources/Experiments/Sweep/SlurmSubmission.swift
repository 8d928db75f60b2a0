import Foundation

/// `runexp sweep submit --slurm`: one sbatch job array whose task N runs point N with
/// `runexp sweep run FILE --index N`, so a task is exactly as idempotent as a local run (a done
/// point is skipped, an interrupted one resumes, a failed one is only rerun with --retry-failed).
///
/// Preemption and time limits: the array is submitted with `--requeue` and
/// `--signal=B:USR1@<grace>`. The runner checkpoints on SIGINT/SIGTERM but not on USR1, so the
/// batch script traps USR1 (sent to the batch shell only, `grace` seconds before the time
/// limit), forwards it as TERM to the sweep, waits until the point has checkpointed and exited,
/// and requeues its own task with `scontrol requeue`. On preemption or `scontrol requeue` Slurm
/// itself sends SIGTERM to every process of the task; the script then just keeps waiting so the
/// checkpoint is written before the step ends. The requeued task resumes from that checkpoint.
public struct SlurmSubmission {
    public struct Options: Equatable {
        public var partition: String?
        /// sbatch `--time` (`MM`, `HH:MM:SS`, `D-HH`, …).
        public var time: String?
        public var cpusPerTask = 1
        /// Tasks running at once (`--array=…%K`); nil: as many as Slurm will.
        public var maxParallel: Int?
        /// Seconds before the time limit at which the task is told to checkpoint and requeue.
        public var signalGrace = 60
        public var retryFailed = false
        /// Extra sbatch arguments, passed through (`--account=x`, `--qos=y`, `--mem=8G`).
        public var extra: [String] = []
        public init() {}
    }

    public let plan: SweepPlan
    public let options: Options
    /// The sweep's own `--set` overrides, repeated in every task.
    public let sweepOverrides: [String]
    public let executable: String
    /// The working directory of the tasks (relative paths in the configs resolve against it).
    public let workingDirectory: String

    public init(plan: SweepPlan, options: Options, sweepOverrides: [String] = [], executable: String? = nil,
                workingDirectory: String = FileManager.default.currentDirectoryPath) {
        self.plan = plan; self.options = options; self.sweepOverrides = sweepOverrides
        self.executable = executable ?? currentExecutable(); self.workingDirectory = workingDirectory
    }

    public var slurmDirectory: URL { plan.directory.appendingPathComponent("slurm", isDirectory: true) }

    /// The points a submission includes: every one that is not done (nor failed, unless retrying).
    public func points(in manifest: SweepManifest) -> [Int] {
        let here = Whereabouts()
        return manifest.points.filter { e in
            switch e.observedStatus(from: here) {
            case .done: return false
            case .failed: return options.retryFailed
            default: return true
            }
        }.map(\.index)
    }

    /// `0-2,5%2`.
    public func arraySpec(_ indices: [Int]) -> String {
        compressRanges(indices) + (options.maxParallel.map { "%\($0)" } ?? "")
    }

    /// The batch script.
    public func script(indices: [Int]) -> String {
        let sweepFile = URL(fileURLWithPath: plan.sweep.file).standardizedFileURL.path
        var directives = [
            "--job-name=\(plan.sweep.name)",
            "--array=\(arraySpec(indices))",
            "--output=\(slurmDirectory.path)/%A_%a.out",
            "--open-mode=append",
            "--requeue",
            "--signal=B:USR1@\(options.signalGrace)",
            "--cpus-per-task=\(options.cpusPerTask)",
            "--ntasks=1",
            "--chdir=\(workingDirectory)",
        ]
        if let p = options.partition { directives.append("--partition=\(p)") }
        if let t = options.time { directives.append("--time=\(t)") }
        directives += options.extra
        let command = [executable, "sweep", "run", sweepFile] + sweepOverrides.flatMap { ["--set", $0] }
            + (options.retryFailed ? ["--retry-failed"] : [])
        return """
        #!/bin/bash
        # Written by `runexp sweep submit --slurm` for sweep \(plan.sweep.name) (\(sweepFile)).
        # Array task N runs point N of \(plan.manifestURL.path); docs/sweeps.md explains the signals.
        \(directives.map { "#SBATCH \($0)" }.joined(separator: "\n"))
        set -u
        echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) task ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID} on $(hostname -s), restart ${SLURM_RESTART_COUNT:-0}"
        requeue=0
        # USR1 comes \(options.signalGrace) s before the time limit, to this shell only: the runner checkpoints on
        # TERM, not on USR1, so forward TERM to the sweep and requeue once it has stopped.
        trap 'requeue=1; kill -TERM "$child" 2>/dev/null' USR1
        # On preemption or `scontrol requeue` Slurm sends TERM to every process itself; keep
        # waiting, so the point finishes its checkpoint before this step ends.
        trap ':' TERM INT
        \(command.map(shellQuoted).joined(separator: " ")) --index "$SLURM_ARRAY_TASK_ID" --threads "${SLURM_CPUS_PER_TASK:-\(options.cpusPerTask)}" &
        child=$!
        rc=1
        while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
        wait "$child" 2>/dev/null; last=$?; [ "$last" -ne 127 ] && rc=$last
        if [ "$requeue" -eq 1 ] && [ "$rc" -ne 0 ]; then
            echo "=== time limit near: point checkpointed (exit $rc); requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
            scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
        fi
        exit "$rc"

        """
    }

    /// Writes the script (and with `submit`, runs sbatch on it), records the submission in the
    /// manifest and returns (job id or nil, script, indices).
    public func run(submit: Bool = true) throws -> (jobId: String?, script: URL, indices: [Int]) {
        try plan.validate()
        let store = ManifestStore(plan.manifestURL)
        let manifest = try store.update { m -> SweepManifest in
            m = try SweepManifest.reconcile(plan: plan, with: m, acceptChanges: false)
            return m!
        }
        let indices = points(in: manifest)
        guard !indices.isEmpty else { return (nil, slurmDirectory, []) }
        try FileManager.default.createDirectory(at: slurmDirectory, withIntermediateDirectories: true)
        let file = slurmDirectory.appendingPathComponent("array-\(manifest.submissions.count + 1).sbatch")
        try writeAtomically(script(indices: indices), to: file)
        chmod(file.path, 0o755)
        guard submit else { return (nil, file, indices) }

        guard let sbatch = Self.find("sbatch") else {
            throw SweepError.slurm("sbatch not found on PATH; run this on a Slurm login node (the script is written: \(file.path), submit it with `sbatch \(file.path)`)")
        }
        let out = try Self.capture(sbatch, ["--parsable", file.path])
        guard out.status == 0 else {
            throw SweepError.slurm("sbatch refused \(file.path) (exit \(out.status)): \(out.stderr.trimmingCharacters(in: .whitespacesAndNewlines)). Check --partition/--time against `sinfo`, or edit the script and submit it by hand.")
        }
        // --parsable prints `jobid` or `jobid;cluster`.
        let jobId = String(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first ?? "")
        try store.update { m in
            m?.submissions.append(.init(jobId: jobId, array: arraySpec(indices), script: file.path, submitted: timestamp()))
        }
        return (jobId, file, indices)
    }

    static func find(_ tool: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(tool)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs a short command and collects its output (through files: no pipe can fill and block).
    static func capture(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = FileManager.default.temporaryDirectory
        let out = dir.appendingPathComponent("vitlab-\(UUID().uuidString).out"), err = dir.appendingPathComponent("vitlab-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
