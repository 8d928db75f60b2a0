import Foundation

/// The exclusive claim of one process on a run directory: `flock(LOCK_EX | LOCK_NB)` on
/// `<run>/lock`. Two trainers writing one directory would interleave checkpoints, prune each
/// other's files and garble metrics.h5, so the second fails at once, naming the holder.
///
/// flock rather than a pid file: the kernel drops the lock when the holder's descriptor
/// closes, including on SIGKILL or a crash, so no stale lock is ever left to clean up. The
/// file's content (`pid host`) only names the holder in the message; it is never trusted for
/// the decision. Readers (`runexp eval`, plotting) take no lock: every file they read is
/// replaced atomically.
public final class RunLock {
    public let url: URL
    private var fd: Int32

    /// Takes the lock or throws `RunError.locked` naming the holder.
    public init(directory: RunDirectory) throws {
        url = directory.lockFile
        fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RunError.notWritable(path: url.path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            close(fd)
            fd = -1
            guard code == EWOULDBLOCK else { throw RunError.notWritable(path: url.path, reason: "flock: \(String(cString: strerror(code)))") }
            let holder = (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            let parts = holder.split(separator: " ", maxSplits: 1).map(String.init)
            throw RunError.locked(path: directory.url.path, pid: parts.first.flatMap { Int32($0) }, host: parts.count > 1 ? parts[1] : nil)
        }
        // Ours now: record who holds it (truncate first, the previous holder may have had a longer name).
        let text = "\(getpid()) \(Self.hostName)\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    /// Gives the lock up (also on deinit, and by the kernel when the process dies).
    public func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }

    static var hostName: String {
        var buffer = [CChar](repeating: 0, count: 256)
        return gethostname(&buffer, buffer.count) == 0 ? String(cString: buffer) : "unknown-host"
    }
}
