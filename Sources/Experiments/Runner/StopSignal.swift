import Foundation

/// Turns the first SIGINT/SIGTERM/SIGHUP into a request that the training loop polls between
/// iterations, so the iteration in flight finishes and a checkpoint is written. The handler
/// only stores the signal number (async-signal-safe) and restores the default action, so a
/// second Ctrl-C kills the process at once — the previous checkpoint is safe either way,
/// because checkpoints are replaced atomically.
///
/// SIGHUP (the terminal or ssh session closed) is a request to stop like SIGTERM: without a
/// handler it would kill the run without a checkpoint. SIGPIPE is ignored while training:
/// `runexp run … | head` closes the pipe after a few lines, and the default action would
/// kill the run mid-iteration; ignored, the write fails with EPIPE and `ConsoleReporter`
/// stops echoing and keeps logging to log.txt.
public enum StopSignal {
    nonisolated(unsafe) static var received: sig_atomic_t = 0
    /// The signals that request a clean stop.
    public static let stopping: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// The signal received since `install()`, or nil.
    public static var pending: Int32? { received == 0 ? nil : Int32(received) }

    public static func install() {
        received = 0
        for s in stopping {
            signal(s) { sig in
                StopSignal.received = sig_atomic_t(sig)
                signal(sig, SIG_DFL)
            }
        }
        signal(SIGPIPE, SIG_IGN)
    }

    /// Restores the default actions (after the run, so an `eval` after it stops on Ctrl-C as
    /// usual). SIGPIPE stays ignored: the process may still print its summary to a closed pipe,
    /// and that must be a failed write, not a death by signal.
    public static func uninstall() {
        for s in stopping { signal(s, SIG_DFL) }
        received = 0
    }

    /// For tests: behave as if `signal` had arrived.
    public static func simulate(_ signal: Int32) { received = sig_atomic_t(signal) }
}
