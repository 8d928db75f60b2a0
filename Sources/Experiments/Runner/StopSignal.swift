import Foundation

/// Turns the first SIGINT/SIGTERM into a request that the training loop polls between
/// iterations, so the iteration in flight finishes and a checkpoint is written. The handler
/// only stores the signal number (async-signal-safe) and restores the default action, so a
/// second Ctrl-C kills the process at once — the previous checkpoint is safe either way,
/// because checkpoints are replaced atomically.
public enum StopSignal {
    nonisolated(unsafe) static var received: sig_atomic_t = 0

    /// The signal received since `install()`, or nil.
    public static var pending: Int32? { received == 0 ? nil : Int32(received) }

    public static func install() {
        received = 0
        for s in [SIGINT, SIGTERM] {
            signal(s) { sig in
                StopSignal.received = sig_atomic_t(sig)
                signal(sig, SIG_DFL)
            }
        }
    }

    /// Restores the default actions (after the run, so an `eval` after it stops on Ctrl-C as usual).
    public static func uninstall() {
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        received = 0
    }

    /// For tests: behave as if `signal` had arrived.
    public static func simulate(_ signal: Int32) { received = sig_atomic_t(signal) }
}
