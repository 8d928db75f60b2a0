import HDF5Store
import XCTest

final class AtomicWriteTests: XCTestCase {
    private func leftovers(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
    }

    func testSuccessReplacesAndLeavesNoTemporaryFile() throws {
        let dir = try makeTestDirectory(self)
        let url = dir.appendingPathComponent("iter_1.h5")
        try HDF5File.writeAtomically(to: url) { try $0.write(Int64(1), at: "step") }
        try HDF5File.writeAtomically(to: url) { try $0.write(Int64(2), at: "step") }
        XCTAssertEqual(try HDF5File.open(url).readScalar(Int64.self, at: "step"), 2)
        XCTAssertEqual(try leftovers(dir), [])
    }

    func testThrowingBodyLeavesPreviousFileByteIdentical() throws {
        struct Boom: Error {}
        let dir = try makeTestDirectory(self)
        let url = dir.appendingPathComponent("best.h5")
        try HDF5File.writeAtomically(to: url) { try $0.write([Float(1), 2, 3], shape: [3], at: "model/w") }
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try HDF5File.writeAtomically(to: url) { f in
            try f.write([Float(9), 9, 9], shape: [3], at: "model/w")
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try leftovers(dir), [])
        // And a body that fails without a previous file leaves nothing at all.
        let fresh = dir.appendingPathComponent("fresh.h5")
        XCTAssertThrowsError(try HDF5File.writeAtomically(to: fresh) { _ in throw Boom() })
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["best.h5"])
    }

    /// A full disk: a 1 MiB tmpfs cannot hold a 2 MiB file. The error says so, the previous file
    /// stays byte-identical, no temporary file is left, and the process keeps working (libhdf5
    /// never sees the failed write: files are built in memory and written with POSIX calls).
    /// Needs root to mount the tmpfs; skipped otherwise.
    func testFullDiskIsACleanErrorAndKeepsThePreviousFile() throws {
        let dir = try makeTestDirectory(self)
        let mountPoint = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint.path]
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { throw XCTSkip("mount is not available") }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("cannot mount a tmpfs here (needs root)") }
        addTeardownBlock {
            let u = Process()
            u.executableURL = URL(fileURLWithPath: "/bin/umount")
            u.arguments = [mountPoint.path]
            try? u.run()
            u.waitUntilExit()
        }
        let url = mountPoint.appendingPathComponent("iter_1.h5")
        try HDF5File.writeAtomically(to: url) { try $0.write([Float](repeating: 1, count: 1000), shape: [1000], at: "model/w") }
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try HDF5File.writeAtomically(to: url) { f in
            try f.write([Float](repeating: 2, count: 512 * 1024), shape: [512 * 1024], at: "model/w")
        }) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("No space left on device"), message)
            XCTAssertTrue(message.contains("Free disk space"), message)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try leftovers(mountPoint), [])
        XCTAssertEqual(try HDF5File.open(url).read(Float.self, at: "model/w").count, 1000)
    }

    func testUnwritableOrMissingDirectoryNamesTheDirectory() throws {
        let dir = try makeTestDirectory(self)
        let missing = dir.appendingPathComponent("no/such/dir")
        XCTAssertThrowsError(try HDF5File.writeAtomically(to: missing.appendingPathComponent("x.h5")) { _ in }) { e in
            XCTAssertEqual((e as? HDF5Error)?.file, missing.path)
            XCTAssertTrue("\(e)".contains("does not exist"), "\(e)")
        }
        let locked = dir.appendingPathComponent("locked")
        try FileManager.default.createDirectory(at: locked, withIntermediateDirectories: false)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: locked.path)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: locked.path) }
        // Root ignores permission bits; a read-only mount (/proc/sys in containers) still refuses.
        var unwritable = locked
        if access(locked.path, W_OK) == 0 {
            guard access("/proc/sys", W_OK) != 0 else { throw XCTSkip("running as root with no read-only directory to test") }
            unwritable = URL(fileURLWithPath: "/proc/sys")
        }
        XCTAssertThrowsError(try HDF5File.writeAtomically(to: unwritable.appendingPathComponent("x.h5")) { _ in }) { e in
            XCTAssertEqual((e as? HDF5Error)?.file, unwritable.path)
            XCTAssertTrue("\(e)".contains("not writable"), "\(e)")
        }
    }
}
