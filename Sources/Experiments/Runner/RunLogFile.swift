import Foundation

/// `log.txt`, appended with O_APPEND so that lines of two processes (a resumed run after an
/// earlier one, `runexp eval` notes) never overwrite each other, and written with plain POSIX
/// calls so a failure is a return value we can act on: FileHandle.write has no error path on
/// Linux and would trap.
///
/// The log is a record, not the run: when it cannot be written the run goes on, and the
/// caller is told once (the console, metrics.h5 and checkpoints still hold the history). If
/// the file is deleted while open, writes would go to an unlinked inode and vanish, so each
/// write checks the link count and recreates the file, saying so in the new file.
final class RunLogFile {
    let url: URL
    private var fd: Int32 = -1
    /// Set after the first failure, so the warning is given once.
    private(set) var failure: String?

    init(url: URL) {
        self.url = url
        fd = Self.openAppend(url)
        if fd < 0 { failure = String(cString: strerror(errno)) }
    }

    private static func openAppend(_ url: URL) -> Int32 {
        open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    }

    /// Appends `line`. Returns a message for the console when something happened to the file
    /// (recreated, or not writable any more), nil otherwise.
    @discardableResult
    func append(_ line: String) -> String? {
        var notice: String?
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0, st.st_nlink == 0 {
                Foundation.close(fd)
                fd = Self.openAppend(url)
                if fd >= 0 {
                    notice = "warning: \(url.path) was deleted during the run; recreated it (earlier lines are lost; metrics.h5 holds the numbers)"
                    _ = write(notice! + "\n")
                }
            }
        }
        guard fd >= 0 else { return reportFailure(String(cString: strerror(errno))) ?? notice }
        if !write(line) { return reportFailure(String(cString: strerror(errno))) ?? notice }
        return notice
    }

    private func write(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 { if errno == EINTR { continue }; return false }
            offset += n
        }
        return true
    }

    private func reportFailure(_ reason: String) -> String? {
        guard failure == nil else { return nil }
        failure = reason
        return "warning: cannot write \(url.path) any more (\(reason)); training goes on, the log continues on the console only (metrics.h5 and checkpoints are unaffected)"
    }

    func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    deinit { close() }
}
