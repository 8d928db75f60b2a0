import Foundation

/// A run that cannot start or cannot go on. Each message says what happened, where, and what to
/// do next; `exitCode` is what `runexp` exits with.
public enum RunError: Error, CustomStringConvertible, Equatable {
    /// The run directory already holds checkpoints and `--resume` was not given.
    case runExists(path: String, checkpoint: String)
    case notWritable(path: String, reason: String)
    case diskFull(path: String, needed: Int64, available: Int64)
    /// `last_checkpoint` names a file that is not there.
    case missingCheckpoint(pointer: String, named: String)
    /// A checkpoint that does not fit this experiment's model or optimizer.
    case incompatibleCheckpoint(file: String, reason: String)
    /// Resuming with a config that differs from the run's `config.yaml`.
    case configChanged(run: String, differences: [String])
    /// The loss (or the gradient norm) became NaN or infinite; no update was applied.
    case nonFinite(what: String, iteration: Int, lr: Double, lastCheckpoint: String?)
    /// SIGINT, SIGTERM or SIGHUP: the iteration finished, a checkpoint was written.
    case interrupted(signal: Int32, iteration: Int, total: Int, checkpoint: String, resume: String)
    /// Another process holds the run directory's lock (nil pid/host: it has not written them yet).
    case locked(path: String, pid: Int32?, host: String?)
    /// A sample could not be loaded (corrupt file, label out of range); the completed
    /// iterations were checkpointed first (nil when none had completed).
    case badSample(reason: String, iteration: Int, checkpoint: String?, resume: String)

    public var description: String {
        switch self {
        case let .runExists(path, checkpoint):
            return "\(path) already holds a run (\(checkpoint)). Continue it with --resume, or start a new run elsewhere with --output DIR (or another 'name:'); nothing was overwritten."
        case let .notWritable(path, reason):
            return "cannot write to \(path): \(reason). Choose another directory with --output (or output_dir: in the config), or fix its permissions."
        case let .diskFull(path, needed, available):
            return "not enough free space for checkpoints in \(path): need about \(Self.bytes(needed)), \(Self.bytes(available)) available. Free some space or choose another disk with --output."
        case let .missingCheckpoint(pointer, named):
            return "\(pointer) names \(named), which does not exist. Restore the file, or point last_checkpoint at another checkpoint in the same folder."
        case let .incompatibleCheckpoint(file, reason):
            return "checkpoint \(file) does not fit this experiment: \(reason)"
        case let .configChanged(run, differences):
            let shown = differences.prefix(8).joined(separator: "\n  ")
            let more = differences.count > 8 ? "\n  … and \(differences.count - 8) more" : ""
            return "the config differs from the one the run in \(run) was started with (as recorded in its checkpoint):\n  \(shown)\(more)\nA resumed run must use the same config to continue exactly. Use the same file and --set options, or start a new run with --output DIR; to continue these weights under the new settings anyway, add --accept-config-changes."
        case let .nonFinite(what, iteration, lr, lastCheckpoint):
            let keep = lastCheckpoint.map { "The last good checkpoint is \($0) (untouched)" } ?? "No checkpoint had been written yet"
            return "the \(what) at iteration \(iteration) (lr \(String(format: "%.3g", lr))); the run stopped before updating the weights. \(keep). Lower train.optimizer.lr, add train.grad_clip: {max_norm: 1.0} or lengthen the warm-up, then continue from that checkpoint with --resume --accept-config-changes, or start over with --output DIR."
        case let .interrupted(signal, iteration, total, checkpoint, resume):
            return "\(Self.signalName(signal)): stopped after iteration \(iteration)/\(total); checkpoint written to \(checkpoint). Resume with:\n  \(resume)"
        case let .locked(path, pid, host):
            let holder = pid.map { "process \($0) on \(host ?? "an unknown host")" } ?? "another process"
            return "\(path) is in use by \(holder), which is training there. Wait for it to finish or stop it (kill \(pid.map(String.init) ?? "<pid>")), or start this run elsewhere with --output DIR. (runexp eval may read the run meanwhile.)"
        case let .badSample(reason, iteration, checkpoint, resume):
            let saved = checkpoint.map { "iteration \(iteration) was checkpointed to \($0)" } ?? "no iteration had completed, nothing was checkpointed"
            return "a training sample could not be loaded after iteration \(iteration): \(reason)\nThe run stopped; \(saved). Fix or remove the file, then resume with:\n  \(resume)"
        }
    }

    /// 128 + signal for interruptions (the shell's convention), 3 for a diverged run, 1 otherwise.
    public var exitCode: Int32 {
        switch self {
        case let .interrupted(signal, _, _, _, _): return 128 + signal
        case .nonFinite: return 3
        default: return 1
        }
    }

    static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGINT: return "interrupted (SIGINT)"
        case SIGTERM: return "terminated (SIGTERM)"
        case SIGHUP: return "hung up (SIGHUP)"
        default: return "signal \(s)"
        }
    }

    static func bytes(_ n: Int64) -> String {
        n >= 1 << 30 ? String(format: "%.1f GiB", Double(n) / Double(1 << 30)) : String(format: "%.1f MiB", Double(n) / Double(1 << 20))
    }
}
