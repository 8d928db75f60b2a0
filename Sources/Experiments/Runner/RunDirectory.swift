import Foundation

/// The files of one run (ARCHITECTURE.md, docs/hdf5-layout.md):
///
///     <run>/config.yaml               resolved config
///     <run>/metrics.h5                train and val series
///     <run>/checkpoints/iter_N.h5     atomic checkpoints
///     <run>/last_checkpoint           name of the newest complete checkpoint
///     <run>/best.h5                   checkpoint with the best `keep_best` metric
///     <run>/log.txt                   the log lines, appended
///     <run>/predictions/              colourised predictions written by `runexp eval`
///     <run>/lock                      flock'd by the training process (holder's pid and host)
public struct RunDirectory {
    public let url: URL

    public init(_ url: URL) { self.url = url.standardizedFileURL }

    public var config: URL { url.appendingPathComponent("config.yaml") }
    public var metrics: URL { url.appendingPathComponent("metrics.h5") }
    public var checkpoints: URL { url.appendingPathComponent("checkpoints", isDirectory: true) }
    public var lastCheckpointPointer: URL { url.appendingPathComponent("last_checkpoint") }
    public var best: URL { url.appendingPathComponent("best.h5") }
    public var log: URL { url.appendingPathComponent("log.txt") }
    public var predictions: URL { url.appendingPathComponent("predictions", isDirectory: true) }
    /// Held with flock by the process training in this directory (`RunLock`).
    public var lockFile: URL { url.appendingPathComponent("lock") }

    public func checkpoint(iteration: Int) -> URL { checkpoints.appendingPathComponent("iter_\(iteration).h5") }

    /// The checkpoint named by `last_checkpoint`, if that file exists and names a file that is there.
    public func lastCheckpoint() throws -> URL? {
        guard let text = try? String(contentsOf: lastCheckpointPointer, encoding: .utf8) else { return nil }
        let name = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { return nil }
        let file = checkpoints.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw RunError.missingCheckpoint(pointer: lastCheckpointPointer.path, named: file.path)
        }
        return file
    }

    /// The checkpoint to continue from: the one `last_checkpoint` names, else (the pointer lost)
    /// the newest `iter_N.h5`.
    public func latestCheckpoint() throws -> URL? {
        try lastCheckpoint() ?? periodicCheckpoints().last?.url
    }

    /// Periodic checkpoints on disk, oldest first.
    public func periodicCheckpoints() -> [(iteration: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("iter_"), name.hasSuffix(".h5"), let n = Int(name.dropFirst(5).dropLast(3)) else { return nil }
            return (n, checkpoints.appendingPathComponent(name))
        }.sorted { $0.0 < $1.0 }
    }

    /// Points `last_checkpoint` at `file` (atomically: write a temporary file, rename).
    public func setLastCheckpoint(_ file: URL) throws {
        try writeAtomically(file.lastPathComponent + "\n", to: lastCheckpointPointer)
    }

    /// Creates the directories and proves they are writable, and checks that the disk has room for
    /// `copies` checkpoints of `checkpointBytes` (those kept plus the next one, which is written
    /// beside them before the oldest is removed), so a problem is reported before the first
    /// iteration rather than at the first checkpoint. `existingBytes` are checkpoint files
    /// already on disk that the run replaces or prunes (a resumed run's own checkpoints and
    /// best.h5): they already hold part of that room, so only the rest — at least one
    /// checkpoint, the next one written beside them — must be free.
    public func prepare(checkpointBytes: Int64, copies: Int = 2, existingBytes: Int64 = 0,
                        freeBytes: (URL) -> Int64? = RunDirectory.freeBytes) throws {
        try makeDirectories(checkpoints)
        // access(W_OK) says yes to root on a read-only mount; writing a probe file is the real test.
        let probe = checkpoints.appendingPathComponent(".write-probe-\(getpid())")
        guard FileManager.default.createFile(atPath: probe.path, contents: Data(count: 4096)) else {
            throw RunError.notWritable(path: checkpoints.path, reason: String(cString: strerror(errno)))
        }
        try? FileManager.default.removeItem(at: probe)
        let needed = max(checkpointBytes, Int64(copies) * checkpointBytes - existingBytes)
        if let free = freeBytes(checkpoints), free < needed {
            throw RunError.diskFull(path: checkpoints.path, needed: needed, available: free)
        }
    }

    /// `mkdir -p` with the system's own reason on failure ("Permission denied", "Not a directory").
    func makeDirectories(_ target: URL) throws {
        var path = ""
        for part in target.path.split(separator: "/") {
            path += "/" + part
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                guard isDir.boolValue else { throw RunError.notWritable(path: path, reason: "it exists and is not a directory") }
                continue
            }
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw RunError.notWritable(path: path, reason: String(cString: strerror(errno)))
            }
        }
    }

    /// Bytes of the checkpoint files on disk that a run in this directory replaces or prunes:
    /// every periodic checkpoint and best.h5.
    public func existingCheckpointBytes() -> Int64 {
        let files = periodicCheckpoints().map(\.url) + [best]
        return files.reduce(Int64(0)) { sum, f in
            sum + ((try? FileManager.default.attributesOfItem(atPath: f.path)[.size] as? NSNumber)?.int64Value ?? 0)
        }
    }

    /// Bytes available to this user on the filesystem holding `url` (statvfs), nil if unknown.
    public static func freeBytes(_ url: URL) -> Int64? {
        var s = statvfs()
        guard statvfs(url.path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}

/// Writes a small text file so that readers see the old or the new content, never a mix.
func writeAtomically(_ text: String, to url: URL) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
    do {
        try Data(text.utf8).write(to: temporary)
        let fd = open(temporary.path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
        guard rename(temporary.path, url.path) == 0 else { throw RunError.notWritable(path: url.path, reason: String(cString: strerror(errno))) }
    } catch let e as RunError {
        try? FileManager.default.removeItem(at: temporary)
        throw e
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw RunError.notWritable(path: url.path, reason: RunDirectory.reason(error))
    }
}
