import CHDF5
import Foundation

extension HDF5File {
    /// Writes a whole file so that readers (and a crash) see either the previous file or the
    /// complete new one, never a torn mix: the body writes a temporary file in the same directory
    /// (same filesystem, so rename is atomic), which is flushed, closed, fsynced, renamed over
    /// `url`, and then the directory is fsynced so the rename itself survives a power loss.
    /// If `body` throws, the temporary file is removed and `url` is left untouched.
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
        // Hidden, unique per process and call; the ".tmp" suffix marks it as debris after a crash.
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).\(UUID().uuidString.prefix(8)).tmp")
        do {
            let file = try HDF5File.create(temporary)
            do {
                try body(file)
            } catch {
                try? file.close()
                throw error
            }
            try file.close()
            try fsyncPath(temporary, isDirectory: false)
            guard rename(temporary.path, url.path) == 0 else {
                let reason = String(cString: strerror(errno))
                throw HDF5Error(operation: "replace", file: url.path, object: "", reason: "rename failed: \(reason)",
                                remedy: "Check that \(url.path) is not a directory and the directory is writable.")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        try fsyncPath(directory, isDirectory: true)
    }
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
