import CHDF5
import Foundation

/// The one process-wide lock for HDF5 calls. Debian's serial libhdf5 is not built thread-safe,
/// so every call into the library — from any module — must run inside `HDF5Lock.withLock`.
/// The lock is recursive so that store operations can nest (an atomic write runs user code that
/// calls back into the store). While it is held, HDF5's automatic error printing is off: failures
/// become `HDF5Error`s with a message of our own, and the library's stack dump on stderr would
/// only bury it.
public enum HDF5Lock {
    private static let lock = NSRecursiveLock()
    // Only touched while `lock` is held.
    nonisolated(unsafe) private static var depth = 0
    nonisolated(unsafe) private static var savedHandler: H5E_auto2_t? = nil
    nonisolated(unsafe) private static var savedData: UnsafeMutableRawPointer? = nil

    /// Runs `body` holding the HDF5 lock, with automatic error printing muted; restores the
    /// previous error handler when the outermost call returns.
    public static func withLock<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        if depth == 0 {
            H5Eget_auto2(h5e_default(), &savedHandler, &savedData)
            H5Eset_auto2(h5e_default(), nil, nil)
        }
        depth += 1
        defer {
            depth -= 1
            if depth == 0 { H5Eset_auto2(h5e_default(), savedHandler, savedData) }
        }
        return try body()
    }
}
