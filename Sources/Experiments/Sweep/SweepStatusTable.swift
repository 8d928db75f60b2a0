import Foundation

/// `runexp sweep status`: one row per point with its status (stale `running` records resolved),
/// training progress read from the run directory, start time, duration and what went wrong.
public struct SweepStatusTable {
    public struct Row: Equatable {
        public var index: Int
        public var name: String
        public var status: PointStatus
        /// Iterations logged so far (the last `iter N/M` line of the run's log.txt) and the total.
        public var iteration: Int?
        public var total: Int?
        public var started: String?
        public var seconds: Double?
        public var attempts: Int
        public var detail: String
    }

    public let plan: SweepPlan
    public let rows: [Row]
    /// Drift between the sweep file and its manifest (shown as a warning; status never writes).
    public let warning: String?

    public init(plan: SweepPlan, now: Date = Date()) throws {
        self.plan = plan
        let stored = try SweepManifest.read(from: plan.manifestURL)
        var warning: String?
        let manifest: SweepManifest
        do { manifest = try SweepManifest.reconcile(plan: plan, with: stored, acceptChanges: false) } catch let e as SweepError {
            warning = "\(e)"
            manifest = try SweepManifest.reconcile(plan: plan, with: stored, acceptChanges: true)
        }
        self.warning = stored == nil ? "no manifest yet (\(plan.manifestURL.path)); `runexp sweep plan` or `run` writes it" : warning
        let here = Whereabouts()
        rows = manifest.points.map { e in
            let status = e.observedStatus(from: here)
            let progress = Self.progress(RunDirectory(URL(fileURLWithPath: e.directory)))
            let start = parseTimestamp(e.started)
            let end = status == .running ? now : parseTimestamp(e.finished)
            var detail = ""
            switch status {
            case .running: detail = "pid \(e.pid.map(String.init) ?? "?") on \(e.host ?? "?")" + (e.slurmJob.map { ", Slurm \($0)" } ?? "")
            case .failed: detail = "exit \(e.exitCode.map(String.init) ?? "?"): " + Self.firstLine(e.error)
            case .interrupted: detail = e.status == .running ? "its process is gone; resumes on the next run" : "exit \(e.exitCode.map(String.init) ?? "?"); resumes on the next run"
            default: detail = e.slurmJob.map { "Slurm \($0)" } ?? ""
            }
            return Row(index: e.index, name: e.name, status: status, iteration: progress?.0, total: progress?.1, started: e.started,
                       seconds: start.flatMap { s in end.map { $0.timeIntervalSince(s) } }, attempts: e.attempts, detail: detail)
        }
    }

    /// An error's first line without its `error: ` prefix (the table has one line per point).
    static func firstLine(_ error: String?) -> String {
        let first = error?.split(separator: "\n").first.map(String.init) ?? ""
        return first.hasPrefix("error: ") ? String(first.dropFirst(7)) : first
    }

    /// The last `iter N/M` that the run's log.txt records (the tail only: logs grow long).
    static func progress(_ run: RunDirectory) -> (Int, Int)? {
        guard let h = try? FileHandle(forReadingFrom: run.log) else { return nil }
        defer { try? h.close() }
        let size = (try? h.seekToEnd()) ?? 0
        try? h.seek(toOffset: size > 65536 ? size - 65536 : 0)
        let text = String(decoding: h.readDataToEndOfFile(), as: UTF8.self)
        for line in text.split(separator: "\n").reversed() {
            guard let r = line.range(of: "  iter ") else { continue }
            let field = line[r.upperBound...].prefix { !$0.isWhitespace }
            let parts = field.split(separator: "/")
            if parts.count == 2, let n = Int(parts[0]), let m = Int(parts[1]) { return (n, m) }
        }
        return nil
    }

    public func counts() -> [PointStatus: Int] {
        Dictionary(grouping: rows, by: \.status).mapValues(\.count)
    }

    public func text() -> String {
        let c = counts()
        var out = "sweep \(plan.sweep.name): \(rows.count) point\(rows.count == 1 ? "" : "s") — "
            + PointStatus.allCases.map { "\(c[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
            + "\nmanifest: \(plan.manifestURL.path)\n"
        if let warning { out += "warning: \(warning)\n" }
        let header = ["index", "name", "status", "progress", "started", "time", "tries", "detail"]
        let cells = rows.map { r -> [String] in
            [String(r.index), r.name, r.status.rawValue,
             r.iteration.map { "\($0)/\(r.total ?? 0)" } ?? "-",
             r.started.map { $0.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "") } ?? "-",
             r.seconds.map(HumanDuration.format) ?? "-", String(r.attempts), r.detail.count > 100 ? r.detail.prefix(99) + "…" : r.detail]
        }
        let widths = header.indices.map { i in ([header[i]] + cells.map { $0[i] }).map(\.count).max() ?? 0 }
        func line(_ c: [String]) -> String {
            c.enumerated().map { i, s in i == c.count - 1 ? s : s.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        out += ([line(header)] + cells.map(line)).joined(separator: "\n") + "\n"
        return out
    }
}
