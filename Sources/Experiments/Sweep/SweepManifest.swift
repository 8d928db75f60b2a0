import Foundation

/// What a point is doing, as the manifest records it.
public enum PointStatus: String, Codable, CaseIterable, Sendable {
    /// Never started (or its record was reset by `--accept-changes`).
    case pending
    /// A process is running it (`host`, `pid`); if that process is gone, it reads as interrupted.
    case running
    /// `runexp run` exited 0: every iteration trained.
    case done
    /// `runexp run` failed (config, data, divergence, a crash); `error` and `exit_code` say how.
    /// Rerun only with `--retry-failed`.
    case failed
    /// Stopped by a signal after checkpointing (Ctrl-C, SIGTERM, Slurm preemption or requeue);
    /// the next `sweep run` resumes it from its last checkpoint.
    case interrupted
}

/// `<sweep directory>/manifest.json`: the sweep's points in index order with their settings, run
/// directories and status. Written by `plan`, `run` and `submit`; read by `status` and by the
/// paper-table tools. Deterministic: keys sorted, no timestamps outside the status fields, so a
/// replanned unchanged sweep gives the same bytes.
public struct SweepManifest: Codable, Equatable {
    public var version = 1
    public var sweep: String
    /// The sweep file and the experiment it sweeps, absolute.
    public var sweepFile: String
    public var base: String
    public var directory: String
    /// Every swept key, in the sweep file's order (the columns of a results table).
    public var keys: [String]
    public var points: [Entry]
    public var submissions: [Submission] = []

    enum CodingKeys: String, CodingKey {
        case version, sweep, sweepFile = "sweep_file", base, directory, keys, points, submissions
    }

    public struct Entry: Codable, Equatable {
        public var index: Int
        public var name: String
        /// The run directory (`runexp run --output`).
        public var directory: String
        /// Swept key → value (one-line YAML), without the sweep's fixed `set:` values.
        public var values: [String: String]
        /// The complete `--set` list of `runexp run` for this point.
        public var overrides: [String]
        /// Console output of the point's `runexp run` (stdout and stderr), appended per attempt.
        public var log: String
        public var status: PointStatus = .pending
        /// Times the point was started (requeues and resumes count).
        public var attempts = 0
        /// ISO 8601, UTC: the latest attempt's start and end.
        public var started: String?
        public var finished: String?
        /// The latest attempt's exit code (128 + signal when killed by a signal).
        public var exitCode: Int32?
        /// The latest failure's `error: …` text.
        public var error: String?
        /// Where the latest attempt ran: host and pid of its `runexp run`, and the Slurm task.
        public var host: String?
        public var pid: Int32?
        public var slurmJob: String?

        enum CodingKeys: String, CodingKey {
            case index, name, directory, values, overrides, log, status, attempts, started, finished
            case exitCode = "exit_code", error, host, pid, slurmJob = "slurm_job"
        }

        /// Everything about the latest attempt, which a replan carries over by run name.
        mutating func takeState(of old: Entry) {
            status = old.status; attempts = old.attempts; started = old.started; finished = old.finished
            exitCode = old.exitCode; error = old.error; host = old.host; pid = old.pid; slurmJob = old.slurmJob
        }
    }

    /// One `runexp sweep submit --slurm`.
    public struct Submission: Codable, Equatable {
        public var jobId: String
        /// The `--array` spec (`0-5%2`).
        public var array: String
        public var script: String
        public var submitted: String

        enum CodingKeys: String, CodingKey { case jobId = "job_id", array, script, submitted }
    }

    /// The manifest of a fresh plan: every point pending.
    public init(plan: SweepPlan) {
        sweep = plan.sweep.name
        sweepFile = URL(fileURLWithPath: plan.sweep.file).standardizedFileURL.path
        base = plan.sweep.base.path
        directory = plan.directory.path
        keys = plan.sweep.sweptKeys
        points = plan.points.map { p in
            Entry(index: p.index, name: p.name, directory: p.directory.path, values: p.values, overrides: p.overrides,
                  log: plan.log(of: p).path)
        }
    }

    /// This plan's manifest with the state of `old` carried over by run name. Points of `old` that
    /// would move to another index or disappear, and started points whose settings changed, are
    /// drift: an error unless `acceptChanges`. A point whose settings changed starts over as
    /// pending (its old run directory then makes `runexp run --resume` refuse the new config).
    public static func reconcile(plan: SweepPlan, with old: SweepManifest?, acceptChanges: Bool) throws -> SweepManifest {
        var new = SweepManifest(plan: plan)
        guard let old else { return new }
        new.submissions = old.submissions
        var changes: [String] = []
        let byName = Dictionary(new.points.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        for o in old.points {
            guard let i = byName[o.name] else {
                changes.append("point \(o.index) '\(o.name)' (\(o.status.rawValue)) is no longer in the sweep")
                continue
            }
            if i != o.index { changes.append("point \(o.index) '\(o.name)' would become point \(i)") }
            if o.overrides != new.points[i].overrides {
                // A changed point is a different run: its old state does not carry over.
                guard o.status != .pending else { continue }
                let before = Set(o.overrides), after = Set(new.points[i].overrides)
                let diff = (after.subtracting(before).sorted().map { "+" + $0 } + before.subtracting(after).sorted().map { "-" + $0 }).joined(separator: " ")
                changes.append("point \(o.index) '\(o.name)' (\(o.status.rawValue)) has different settings: \(diff)")
                continue
            }
            new.points[i].takeState(of: o)
        }
        if !changes.isEmpty && !acceptChanges { throw SweepError.drift(manifest: plan.manifestURL.path, changes: changes) }
        return new
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    public static func read(from url: URL) throws -> SweepManifest? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(SweepManifest.self, from: data) } catch {
            throw SweepError.unreadableManifest(path: url.path, reason: "\(error)")
        }
    }
}

/// Reads and rewrites a manifest under an exclusive `flock` on `<dir>/.manifest.lock`, so the
/// sweep's parallel workers and Slurm array tasks (separate processes, possibly several at once)
/// never lose each other's updates. Each write replaces the file atomically.
public struct ManifestStore {
    public let url: URL
    public init(_ url: URL) { self.url = url }

    var lockURL: URL { url.deletingLastPathComponent().appendingPathComponent(".manifest.lock") }

    public func read() throws -> SweepManifest? { try SweepManifest.read(from: url) }

    /// Runs `body` on the current manifest (nil when there is none) and writes the result.
    @discardableResult
    public func update<R>(_ body: (inout SweepManifest?) throws -> R) throws -> R {
        let dir = url.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
            throw RunError.notWritable(path: dir.path, reason: RunDirectory.reason(error))
        }
        let fd = open(lockURL.path, O_CREAT | O_RDWR, 0o644)
        guard fd >= 0 else { throw RunError.notWritable(path: lockURL.path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw RunError.notWritable(path: lockURL.path, reason: "cannot lock: " + String(cString: strerror(errno))) }
        }
        defer { flock(fd, LOCK_UN) }
        var manifest = try read()
        let before = manifest
        let result = try body(&manifest)
        if let manifest, manifest != before {
            try writeAtomically(String(decoding: try manifest.jsonData(), as: UTF8.self) + "\n", to: url)
        }
        return result
    }

    /// Updates one point's entry (by index); a no-op if the manifest lost it.
    public func updatePoint(_ index: Int, _ body: (inout SweepManifest.Entry) -> Void) throws {
        try update { m in
            guard var mm = m, mm.points.indices.contains(index) else { return }
            body(&mm.points[index])
            m = mm
        }
    }
}

/// ISO 8601 UTC, second precision: the manifest's time format.
func timestamp(_ date: Date = Date()) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
}

func parseTimestamp(_ s: String?) -> Date? {
    guard let s else { return nil }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.date(from: s)
}
