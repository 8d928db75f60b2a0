import Foundation

/// How `SweepRunner` runs a sweep's points.
public struct SweepRunOptions {
    /// The points to run (all when nil).
    public var indices: [Int]?
    /// Points run at once, each in its own `runexp run` process.
    public var jobs = 1
    /// Engine threads per point; default: the cores (SLURM_CPUS_PER_TASK under Slurm) / jobs.
    public var threads: Int?
    /// Run points that failed before (otherwise they are reported and skipped).
    public var retryFailed = false
    /// The `runexp` binary the points run with.
    public var executable: String
    /// Where progress lines go (stdout for the CLI; unbuffered, so Slurm logs show them live).
    public var echo: (String) -> Void

    public init(indices: [Int]? = nil, jobs: Int = 1, threads: Int? = nil, retryFailed: Bool = false,
                executable: String? = nil, echo: @escaping (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) {
        self.indices = indices; self.jobs = jobs; self.threads = threads; self.retryFailed = retryFailed
        self.executable = executable ?? currentExecutable(); self.echo = echo
    }
}

/// What one `sweep run` did.
public struct SweepRunReport: Equatable {
    public var done: [Int] = []
    /// Already done before this run (not started).
    public var skippedDone: [Int] = []
    /// Failed before and not retried.
    public var skippedFailed: [Int] = []
    /// Running in another live process (not started).
    public var skippedRunning: [Int] = []
    public var failed: [Int] = []
    public var interrupted: [Int] = []
    /// The signal that stopped the sweep, if any.
    public var signal: Int32?

    /// 128 + signal when stopped by one; 1 when any selected point failed (now or before) or is
    /// still running elsewhere; 0 when every selected point is done.
    public var exitCode: Int32 {
        if let signal { return 128 + signal }
        return failed.isEmpty && skippedFailed.isEmpty && interrupted.isEmpty && skippedRunning.isEmpty ? 0 : 1
    }
}

/// Runs the points of a sweep on this machine, `jobs` at a time, each as a child `runexp run …
/// --output <run dir> --resume` process so that a crash, a divergence or an out-of-memory kill
/// of one point cannot take the others down.
///
/// Idempotent: a done point is skipped; an interrupted one (or a stale `running` record) resumes
/// from its last checkpoint; a failed one is skipped unless `retryFailed`. Every selected point is
/// validated before any starts. The first SIGINT/SIGTERM stops starting points and asks each
/// running one to checkpoint and stop (one SIGINT each; the runner handles it); a second one
/// kills them at once (their previous checkpoints are safe, files are replaced atomically).
public final class SweepRunner {
    public let plan: SweepPlan
    public let options: SweepRunOptions
    let store: ManifestStore
    let here = Whereabouts()

    public init(plan: SweepPlan, options: SweepRunOptions) {
        self.plan = plan
        self.options = options
        store = ManifestStore(plan.manifestURL)
    }

    struct Active {
        let point: SweepPoint
        let child: ChildProcess
        let started: Date
        /// Where this attempt's output starts in the log (its error is read from there).
        let logOffset: UInt64
    }

    public func run() throws -> SweepRunReport {
        let selection = try plan.select(options.indices)
        try plan.validate(selection)
        let manifest = try store.update { m -> SweepManifest in
            m = try SweepManifest.reconcile(plan: plan, with: m, acceptChanges: false)
            return m!
        }
        var report = SweepRunReport()
        // Each queued point with the status that made it runnable; it is claimed only if that
        // status still holds (another process may have run it meanwhile).
        var queue: [(point: SweepPoint, seen: PointStatus)] = []
        for point in selection {
            let entry = manifest.points[point.index]
            switch entry.observedStatus(from: here) {
            case .done where FileManager.default.fileExists(atPath: RunDirectory(point.directory).lastCheckpointPointer.path):
                report.skippedDone.append(point.index)
                say(point, "done (skipped)")
            case .done:
                say(point, "marked done but \(point.directory.path) has no last_checkpoint; running it again")
                queue.append((point, .done))
            case .failed where !options.retryFailed:
                report.skippedFailed.append(point.index)
                say(point, "failed before (exit \(entry.exitCode.map(String.init) ?? "?")); skipped, --retry-failed runs it again")
            case .running:
                report.skippedRunning.append(point.index)
                say(point, "running in pid \(entry.pid.map(String.init) ?? "?") on \(entry.host ?? "?")\(entry.slurmJob.map { " (Slurm \($0))" } ?? ""); skipped")
            case let status:
                queue.append((point, status))
            }
        }
        let jobs = max(1, options.jobs)
        let cores = Int(ProcessInfo.processInfo.environment["SLURM_CPUS_PER_TASK"] ?? "") ?? ProcessInfo.processInfo.activeProcessorCount
        let threads = options.threads ?? max(1, cores / jobs)

        SweepSignal.install()
        defer { SweepSignal.uninstall() }
        var active: [Active] = []
        var forwarded = 0
        while !queue.isEmpty || !active.isEmpty {
            let signals = SweepSignal.count
            if signals > forwarded {
                if forwarded == 0 {
                    report.signal = SweepSignal.first
                    options.echo("sweep \(plan.sweep.name): \(SweepSignal.name(SweepSignal.first)); asking \(active.count) running point(s) to checkpoint and stop; \(queue.count) not started")
                    queue.removeAll()
                    active.forEach { $0.child.send(SIGINT) }
                } else {
                    options.echo("sweep \(plan.sweep.name): second signal; killing \(active.count) running point(s) (their previous checkpoints are intact)")
                    active.forEach { $0.child.send(SIGKILL) }
                }
                forwarded = signals
            }
            while active.count < jobs, !queue.isEmpty, SweepSignal.count == 0 {
                let (point, seen) = queue.removeFirst()
                if let now = try claim(point, seen: seen) {
                    switch now {
                    case .done: report.skippedDone.append(point.index)
                    case .failed: report.skippedFailed.append(point.index)
                    default: report.skippedRunning.append(point.index)
                    }
                    say(point, "\(now.rawValue) in another process meanwhile; skipped")
                    continue
                }
                do { active.append(try start(point, threads: threads)) } catch {
                    try record(point, started: Date(), termination: .exited(1), error: "\(error)", report: &report)
                }
            }
            var still: [Active] = []
            for a in active {
                if let t = a.child.poll() {
                    try record(a.point, started: a.started, termination: t, error: errorText(a), report: &report, signalled: forwarded > 0)
                } else {
                    still.append(a)
                }
            }
            active = still
            if !active.isEmpty || !queue.isEmpty { usleep(100_000) }
        }
        let parts = [("done", report.done.count), ("failed", report.failed.count), ("interrupted", report.interrupted.count),
                     ("already done", report.skippedDone.count), ("failed before", report.skippedFailed.count), ("running elsewhere", report.skippedRunning.count)]
        options.echo("sweep \(plan.sweep.name): " + parts.filter { $0.1 > 0 }.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
                     + (report.signal.map { "; stopped by \(SweepSignal.name($0)), continue with the same command" } ?? ""))
        return report
    }

    private func say(_ point: SweepPoint, _ text: String) {
        options.echo("point \(point.index) \(point.name): \(text)")
    }

    /// Marks the point running in the manifest if its status is still `seen` (what made it
    /// runnable); otherwise returns the status another process gave it meanwhile. The check and
    /// the mark happen under the manifest lock, so two `sweep run`s over the same sweep never
    /// start or repeat one point twice. The record names this process until the child's pid is known.
    private func claim(_ point: SweepPoint, seen: PointStatus) throws -> PointStatus? {
        try store.update { m -> PointStatus? in
            guard var mm = m, mm.points.indices.contains(point.index) else { return .pending }
            let now = mm.points[point.index].observedStatus(from: here)
            if now != seen { return now }
            mm.points[point.index].status = .running
            mm.points[point.index].attempts += 1
            mm.points[point.index].started = timestamp()
            mm.points[point.index].finished = nil
            mm.points[point.index].exitCode = nil
            mm.points[point.index].error = nil
            mm.points[point.index].host = here.host
            mm.points[point.index].pid = getpid()
            mm.points[point.index].slurmJob = here.slurmJob
            m = mm
            return nil
        }
    }

    /// Starts a claimed point's `runexp run`.
    private func start(_ point: SweepPoint, threads: Int) throws -> Active {
        let log = plan.log(of: point)
        let offset = (try? FileManager.default.attributesOfItem(atPath: log.path)[.size] as? UInt64) ?? 0
        let args = ["run", plan.sweep.base.path] + point.overrides.flatMap { ["--set", $0] }
            + ["--output", point.directory.path, "--threads", String(threads), "--resume"]
        let header = "\n=== \(timestamp()) attempt on \(here.host)\(here.slurmJob.map { " (Slurm \($0))" } ?? ""): \(([options.executable] + args).map(shellQuoted).joined(separator: " "))\n"
        try FileManager.default.createDirectory(at: plan.logs, withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: log.path) { _ = FileManager.default.createFile(atPath: log.path, contents: nil) }
        if let h = try? FileHandle(forWritingTo: log) { _ = try? h.seekToEnd(); h.write(Data(header.utf8)); try? h.close() }
        let child = try ChildProcess.spawn(options.executable, args, log: log, environment: ProcessInfo.processInfo.environment)
        let now = Date()
        try store.updatePoint(point.index) { e in e.pid = child.pid; e.started = timestamp(now) }
        say(point, "started (pid \(child.pid), \(threads) thread\(threads == 1 ? "" : "s")); log \(log.path)")
        return Active(point: point, child: child, started: now, logOffset: offset)
    }

    /// Files the outcome: exit 0 → done; 130/143 or a SIGINT/SIGTERM death (or our own kill after
    /// a second signal) → interrupted; anything else → failed with the error text.
    private func record(_ point: SweepPoint, started: Date, termination: Termination, error: String?,
                        report: inout SweepRunReport, signalled: Bool = false) throws {
        let code = termination.code
        let status: PointStatus
        switch termination {
        case .exited(0): status = .done
        case .exited(130), .exited(143), .signalled(SIGINT), .signalled(SIGTERM): status = .interrupted
        case .signalled(SIGKILL) where signalled: status = .interrupted
        default: status = .failed
        }
        var message: String?
        if status == .failed {
            if case .signalled(let s) = termination {
                message = "killed by signal \(s) (\(String(cString: strsignal(s))))" + (s == SIGKILL ? "; out of memory?" : "")
            } else {
                message = error ?? "exit \(code)"
            }
        }
        try store.updatePoint(point.index) { e in
            e.status = status; e.finished = timestamp(); e.exitCode = code; e.error = message; e.pid = nil
        }
        let took = HumanDuration.format(Date().timeIntervalSince(started))
        switch status {
        case .done: report.done.append(point.index); say(point, "done in \(took)")
        case .interrupted: report.interrupted.append(point.index); say(point, "interrupted after \(took) (exit \(code)); the next sweep run resumes it")
        default: report.failed.append(point.index); say(point, "failed after \(took) (exit \(code)): \(message ?? "")")
        }
    }

    /// The `error: …` block this attempt wrote to its log (the last one), or its last lines.
    private func errorText(_ a: Active) -> String? {
        guard let h = try? FileHandle(forReadingFrom: plan.log(of: a.point)) else { return nil }
        defer { try? h.close() }
        try? h.seek(toOffset: a.logOffset)
        let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let block: [String]
        if let i = lines.lastIndex(where: { $0.hasPrefix("error: ") }) { block = Array(lines[i...]) }
        else { block = Array(lines.filter { !$0.isEmpty && !$0.hasPrefix("=== ") }.suffix(5)) }
        let joined = block.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return joined.isEmpty ? nil : String(joined.prefix(4000))
    }
}

/// SIGINT/SIGTERM/SIGHUP for the sweep process: counted, never fatal by themselves (the loop
/// decides), so the children can be stopped in order.
enum SweepSignal {
    nonisolated(unsafe) static var received: sig_atomic_t = 0
    nonisolated(unsafe) static var firstSignal: sig_atomic_t = 0

    static var count: Int { Int(received) }
    static var first: Int32 { Int32(firstSignal) }

    static func install() {
        received = 0; firstSignal = 0
        for s in [SIGINT, SIGTERM, SIGHUP] {
            signal(s) { sig in
                if SweepSignal.firstSignal == 0 { SweepSignal.firstSignal = sig_atomic_t(sig) }
                SweepSignal.received += 1
            }
        }
    }

    static func uninstall() {
        for s in [SIGINT, SIGTERM, SIGHUP] { signal(s, SIG_DFL) }
    }

    static func name(_ s: Int32) -> String { s == SIGINT ? "SIGINT" : s == SIGTERM ? "SIGTERM" : s == SIGHUP ? "SIGHUP" : "signal \(s)" }
}

/// `1m05s`, `12s`, `1h02m`: durations in progress lines and the status table.
enum HumanDuration {
    static func format(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }
}

func shellQuoted(_ s: String) -> String {
    s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
