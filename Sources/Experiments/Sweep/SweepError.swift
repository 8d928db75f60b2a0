import Foundation

/// A sweep that cannot be planned, run or submitted for a reason outside one config value (those
/// are `ConfigError`s with the sweep file's location). Each message says what, where, what to do.
public enum SweepError: Error, CustomStringConvertible, Equatable {
    /// Points whose experiment does not load or validate; every bad point is listed, points that
    /// share one message are grouped (`points 0, 2, 4: …`).
    case invalidPoints(sweep: String, problems: [PointProblem])
    /// The sweep file changed since the manifest was written in a way that moves or removes points
    /// that already have a status.
    case drift(manifest: String, changes: [String])
    /// `--index` outside the sweep.
    case noSuchPoint(index: Int, count: Int)
    /// The manifest exists but cannot be read.
    case unreadableManifest(path: String, reason: String)
    /// sbatch missing or refusing the job.
    case slurm(String)

    public struct PointProblem: Equatable, Sendable {
        public var indices: [Int]
        public var message: String
        public init(indices: [Int], message: String) { self.indices = indices; self.message = message }
    }

    public var description: String {
        switch self {
        case let .invalidPoints(sweep, problems):
            let bad = problems.reduce(0) { $0 + $1.indices.count }
            let lines = problems.map { p in
                (p.indices.count == 1 ? "point \(p.indices[0])" : "points " + Self.ranges(p.indices)) + ": " + p.message
            }
            return "\(bad) point\(bad == 1 ? "" : "s") of sweep \(sweep) do\(bad == 1 ? "es" : "") not validate; nothing was started:\n  "
                + lines.joined(separator: "\n  ")
        case let .drift(manifest, changes):
            let shown = changes.prefix(12).joined(separator: "\n  ")
            let more = changes.count > 12 ? "\n  … and \(changes.count - 12) more" : ""
            return "the sweep file no longer matches its manifest \(manifest):\n  \(shown)\(more)\nIndices are what Slurm array tasks and `--index` refer to, and a run directory holds the run of its old settings. Restore the sweep file, or add new values at the END (the first axis, seeds, runs) so existing points keep their indices and settings; to accept the change, run `runexp sweep plan FILE --accept-changes` (statuses follow the run names; a point whose settings changed starts over as pending, after you move its old run directory away)."
        case let .noSuchPoint(index, count):
            return "the sweep has \(count) point\(count == 1 ? "" : "s") (indices 0-\(count - 1)); there is no point \(index). `runexp sweep plan FILE` lists them."
        case let .unreadableManifest(path, reason):
            return "cannot read the sweep manifest \(path): \(reason). Move it away and run `runexp sweep plan FILE` to write a new one (statuses are lost; run directories are kept and resume)."
        case let .slurm(message):
            return message
        }
    }

    /// `[0, 1, 2, 5]` → `0-2, 5`.
    static func ranges(_ indices: [Int]) -> String {
        compressRanges(indices, separator: ", ")
    }
}

/// `[0, 1, 2, 5, 7, 8]` → `0-2<sep>5<sep>7-8` (also the syntax of sbatch `--array`).
func compressRanges(_ indices: [Int], separator: String = ",") -> String {
    var parts: [String] = []
    var i = 0
    let s = indices.sorted()
    while i < s.count {
        var j = i
        while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
        parts.append(i == j ? "\(s[i])" : "\(s[i])-\(s[j])")
        i = j + 1
    }
    return parts.joined(separator: separator)
}
