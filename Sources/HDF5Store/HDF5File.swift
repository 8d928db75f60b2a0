import CHDF5
import Foundation

/// An open HDF5 file. Closed by `close()` or on deinit. All operations open and close the objects
/// they touch, so no handle outlives a call and the file can always be closed cleanly.
public final class HDF5File: HDF5Location {
    /// How to open an existing file.
    public enum Mode { case readOnly, readWrite }

    /// The file on disk.
    public let url: URL
    /// Whether writes are allowed.
    public let isWritable: Bool
    private(set) var id: hid_t

    public var file: HDF5File { self }
    public var path: String { "/" }

    private init(url: URL, id: hid_t, writable: Bool) {
        self.url = url
        self.id = id
        self.isWritable = writable
    }

    /// Creates `url`, truncating any existing file.
    public static func create(_ url: URL) throws -> HDF5File {
        try HDF5Lock.withLock {
            let fapl = strongCloseAccessList()
            defer { H5Pclose(fapl) }
            let id = H5Fcreate(url.path, h5f_acc_trunc(), h5p_default(), fapl)
            guard id >= 0 else {
                throw HDF5Error(operation: "create file", file: url.path, object: "",
                                reason: libraryReason("the file could not be created"),
                                remedy: "Check that the directory \(url.deletingLastPathComponent().path) exists and is writable.")
            }
            return HDF5File(url: url, id: id, writable: true)
        }
    }

    /// Creates a file that lives in memory only (HDF5's core driver, no backing store); its bytes
    /// are taken with `image()`. `url` names it in messages. Atomic writes build files this way so
    /// that the disk is touched by plain POSIX writes whose failures (a full disk) are clean
    /// errors: libhdf5 1.10 can crash at exit after a failed write to a real file.
    static func createInMemory(named url: URL) throws -> HDF5File {
        try HDF5Lock.withLock {
            let fapl = strongCloseAccessList()
            defer { H5Pclose(fapl) }
            H5Pset_fapl_core(fapl, 1 << 20, hbool_t(0))
            let id = H5Fcreate(url.path, h5f_acc_trunc(), h5p_default(), fapl)
            guard id >= 0 else {
                throw HDF5Error(operation: "create in-memory file", file: url.path, object: "",
                                reason: libraryReason("the file could not be created"), remedy: "Check available memory.")
            }
            return HDF5File(url: url, id: id, writable: true)
        }
    }

    /// The complete file as bytes (flushed first), as it would be on disk.
    func image() throws -> [UInt8] {
        try HDF5Lock.withLock {
            let fid = try checkedID("take file image")
            guard H5Fflush(fid, H5F_SCOPE_GLOBAL) >= 0 else {
                throw error("take file image", "", libraryReason("flush failed"), "Check available memory.")
            }
            let size = H5Fget_file_image(fid, nil, 0)
            guard size > 0 else { throw error("take file image", "", libraryReason("no image"), "Check available memory.") }
            var bytes = [UInt8](repeating: 0, count: Int(size))
            let got = bytes.withUnsafeMutableBytes { H5Fget_file_image(fid, $0.baseAddress, $0.count) }
            guard got == size else { throw error("take file image", "", libraryReason("short image"), "Check available memory.") }
            return bytes
        }
    }

    /// Opens an existing file.
    public static func open(_ url: URL, mode: Mode = .readOnly) throws -> HDF5File {
        try HDF5Lock.withLock {
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw HDF5Error(operation: "open file", file: url.path, object: "",
                                reason: "no such file", remedy: "Check the path; runs write their files under runs/<name>/.")
            }
            guard H5Fis_hdf5(url.path) > 0 else {
                throw HDF5Error(operation: "open file", file: url.path, object: "",
                                reason: "not an HDF5 file", remedy: "Pass an .h5 file written by ViTLab, h5py or another HDF5 tool.")
            }
            let fapl = strongCloseAccessList()
            defer { H5Pclose(fapl) }
            let flags = mode == .readOnly ? h5f_acc_rdonly() : h5f_acc_rdwr()
            let id = H5Fopen(url.path, flags, fapl)
            guard id >= 0 else {
                throw HDF5Error(operation: "open file", file: url.path, object: "",
                                reason: libraryReason("the file could not be opened"),
                                remedy: mode == .readWrite ? "Check that the file is writable and not open elsewhere." : "Check file permissions; the file may be truncated.")
            }
            return HDF5File(url: url, id: id, writable: mode == .readWrite)
        }
    }

    /// A file-access list with the strong close degree: closing the file closes it for real even
    /// if a handle leaked, so an atomic rename never races a half-written file.
    private static func strongCloseAccessList() -> hid_t {
        let fapl = H5Pcreate(h5p_file_access())
        H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG)
        return fapl
    }

    /// Writes buffered data to disk (the OS may still cache it; atomic writes also fsync).
    public func flush() throws {
        try HDF5Lock.withLock {
            let fid = try checkedID("flush file")
            guard H5Fflush(fid, H5F_SCOPE_GLOBAL) >= 0 else {
                throw error("flush file", "", libraryReason("flush failed"), "Check free disk space.")
            }
        }
    }

    /// Closes the file; later operations throw. Idempotent.
    public func close() throws {
        try HDF5Lock.withLock {
            guard id >= 0 else { return }
            let status = H5Fclose(id)
            id = -1
            guard status >= 0 else {
                throw error("close file", "", libraryReason("close failed"), "Check free disk space; the file may be incomplete.")
            }
        }
    }

    deinit {
        if id >= 0 { HDF5Lock.withLock { _ = H5Fclose(id) } }
    }

    /// The file id, or a typed error when the file was closed.
    func checkedID(_ operation: String, _ object: String = "") throws -> hid_t {
        guard id >= 0 else {
            throw error(operation, object, "the file is closed", "Keep the HDF5File open while using it (writeAtomically closes it when its body returns).")
        }
        return id
    }

    /// An error about this file.
    func error(_ operation: String, _ object: String, _ reason: String, _ remedy: String) -> HDF5Error {
        HDF5Error(operation: operation, file: url.path, object: object, reason: reason, remedy: remedy)
    }

    /// A typed error unless the file is writable.
    func requireWritable(_ operation: String, _ object: String) throws {
        guard isWritable else {
            throw error(operation, object, "the file is open read-only", "Open it with HDF5File.open(url, mode: .readWrite) or create it.")
        }
    }
}
