import CHDF5
import Foundation

extension HDF5File {
    /// Writes a whole file so that readers (and a crash) see either the previous file or the
    /// complete new one, never a torn mix. The body fills a file built in memory; its bytes are
    /// written to a temporary file in the same directory (same filesystem, so rename is atomic),
    /// which is fsynced and renamed over `url`, and then the directory is fsynced so the rename
    /// itself survives a power loss. If anything fails (the body throws, the disk is full), the
    /// temporary file is removed and `url` is left untouched.
    public static func writeAtomically(to url: URL, _ body: (HDF5File) throws -> Void) throws {
        let directory = url.deletingLastPathComponent()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw HDF5Error(operation: "write atomically", file: directory.path, object: "",
                            reason: "the directory does not exist", remedy: "Create the directory first (runs create runs/<name>/checkpoints/).")
        }
        guard access(directory.path, W_OK) == 0 else {
            throw HDF5Error(operation: "write atomically", file: directory.path, object: "",
                            reason: "the directory is not writable", remedy: "Fix its permissions or choose another output directory.")
        }
        let file = try HDF5File.createInMemory(named: url)
        let bytes: [UInt8]
        do {
            try body(file)
            bytes = try file.image()
            try file.close()
        } catch {
            try? file.close()
            throw error
        }
        // Hidden, unique per process and call; the ".tmp" suffix marks it as debris after a crash.
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8)).tmp")
        do {
            try writeAndSync(bytes, to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw HDF5Error(operation: "replace", file: url.path, object: "", reason: "rename failed: \(reason)",
                                remedy: "Check that \(url.path) is not a directory and the directory is writable.")
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
        try fsyncPath(directory, isDirectory: true)
    }
}

/// Creates `url` with `bytes` and fsyncs it; a failing write (ENOSPC, EIO) is a typed error.
private func writeAndSync(_ bytes: [UInt8], to url: URL) throws {
    func failure(_ what: String) -> HDF5Error {
        let code = errno
        let remedy = code == ENOSPC || code == EDQUOT ? "Free disk space or write the run elsewhere (--output)." : "Check the disk and the directory's permissions."
        return HDF5Error(operation: "write file", file: url.path, object: "", reason: "\(what): \(String(cString: strerror(code)))", remedy: remedy)
    }
    let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw failure("cannot create it") }
    defer { close(fd) }
    try bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write failed after \(offset) of \(buffer.count) bytes")
            }
            offset += n
        }
    }
    guard fsync(fd) == 0 else { throw failure("fsync failed") }
}

/// fsyncs a file or directory by path.
private func fsyncPath(_ url: URL, isDirectory: Bool) throws {
    let fd = open(url.path, isDirectory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY)
    guard fd >= 0 else {
        throw HDF5Error(operation: "fsync", file: url.path, object: "", reason: String(cString: strerror(errno)), remedy: "Check permissions.")
    }
    defer { close(fd) }
    guard fsync(fd) == 0 else {
        throw HDF5Error(operation: "fsync", file: url.path, object: "", reason: String(cString: strerror(errno)),
                        remedy: "Check free disk space and the filesystem's health.")
    }
}
