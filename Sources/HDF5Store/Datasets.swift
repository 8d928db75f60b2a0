import CHDF5
import Foundation

/// Datasets of numbers and strings of any rank. Shapes are row-major (C order), as numpy and
/// h5py see them; rank 0 is a scalar dataspace. Writing to an existing path replaces the
/// dataset; missing parent groups are created.
extension HDF5Location {
    /// Writes `values` (row-major) with `shape` at `path`.
    public func write<T: HDF5Scalar>(_ values: [T], shape: [Int], at path: String) throws {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                     "HDF5 write \(path): shape \(shape) holds \(shape.reduce(1, *)) elements but \(values.count) values were given")
        try writeDataset(path, shape: shape, fileType: { H5Tcopy(T.hdf5MemoryType()) }) { d, mem in
            withNumberBytes(values) { H5Dwrite(d, mem, h5s_all(), h5s_all(), h5p_default(), $0) }
        }
    }

    /// Writes one number as a rank-0 dataset.
    public func write<T: HDF5Scalar>(_ value: T, at path: String) throws {
        try write([value], shape: [], at: path)
    }

    /// Writes strings (variable-length UTF-8) with `shape` at `path`.
    public func write(_ strings: [String], shape: [Int], at path: String) throws {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == strings.count,
                     "HDF5 write \(path): shape \(shape) holds \(shape.reduce(1, *)) elements but \(strings.count) strings were given")
        try writeDataset(path, shape: shape, fileType: makeStringType) { d, mem in
            withCStrings(strings) { H5Dwrite(d, mem, h5s_all(), h5s_all(), h5p_default(), $0) }
        }
    }

    /// Writes one string as a rank-0 dataset.
    public func write(_ string: String, at path: String) throws {
        try write([string], shape: [], at: path)
    }

    /// Reads all values of the dataset at `path` (row-major); the stored type must be `T`.
    public func read<T: HDF5Scalar>(_ type: T.Type, at path: String) throws -> [T] {
        let full = absolute(path)
        return try withStored(full, "read dataset") { try readNumbers($0, as: T.self, file: file, operation: "read dataset", object: full) }
    }

    /// Reads a dataset holding exactly one value (rank 0, or any shape with one element).
    public func readScalar<T: HDF5Scalar>(_ type: T.Type, at path: String) throws -> T {
        let values = try read(T.self, at: path)
        guard values.count == 1 else {
            throw file.error("read scalar", absolute(path), "it holds \(values.count) values", "Use read(_:at:) for arrays.")
        }
        return values[0]
    }

    /// Reads all strings of the dataset at `path` (row-major).
    public func readStrings(at path: String) throws -> [String] {
        let full = absolute(path)
        return try withStored(full, "read dataset") { try HDF5Store.readStrings($0, file: file, operation: "read dataset", object: full) }
    }

    /// Reads a dataset holding exactly one string.
    public func readString(at path: String) throws -> String {
        let values = try readStrings(at: path)
        guard values.count == 1 else {
            throw file.error("read string", absolute(path), "it holds \(values.count) strings", "Use readStrings(at:) for arrays.")
        }
        return values[0]
    }

    /// The shape of the dataset at `path` ([] for a scalar).
    public func shape(at path: String) throws -> [Int] {
        try withStored(absolute(path), "read shape") { $0.shape }
    }

    // MARK: plumbing

    /// Creates (replacing) a dataset and writes it with the memory type equal to its file type.
    private func writeDataset(_ path: String, shape: [Int], fileType: () -> hid_t,
                              write: (_ dataset: hid_t, _ memType: hid_t) -> herr_t) throws {
        let full = absolute(path)
        try HDF5Lock.withLock {
            let fid = try file.checkedID("write dataset", full)
            try file.requireWritable("write dataset", full)
            switch try kind(of: full) {
            case .group: throw file.error("write dataset", full, "a group exists there", "Write the dataset under another name.")
            case .dataset: guard H5Ldelete(fid, full, h5p_default()) >= 0 else {
                throw file.error("write dataset", full, libraryReason("cannot replace the existing dataset"), "Check the file is intact.")
            }
            case nil: break
            }
            let type = fileType()
            defer { H5Tclose(type) }
            let space = makeSpace(shape)
            defer { H5Sclose(space) }
            let lcpl = intermediateLinkList()
            defer { H5Pclose(lcpl) }
            let d = H5Dcreate2(fid, full, type, space, lcpl, h5p_default(), h5p_default())
            guard d >= 0 else {
                throw file.error("write dataset", full, libraryReason("creation failed"), "Check that no parent of this path is a dataset.")
            }
            defer { H5Dclose(d) }
            // A zero-element dataset is complete once created; HDF5 rejects some empty writes.
            if shape.reduce(1, *) == 0 { return }
            guard write(d, type) >= 0 else {
                throw file.error("write dataset", full, libraryReason("write failed"), "Check free disk space.")
            }
        }
    }

    /// Opens the dataset at absolute `full` and runs `body` on it.
    func withStored<R>(_ full: String, _ operation: String, _ body: (StoredObject) throws -> R) throws -> R {
        try HDF5Lock.withLock {
            let fid = try file.checkedID(operation, full)
            switch try kind(of: full) {
            case .dataset: break
            case .group: throw file.error(operation, full, "it is a group, not a dataset", "Use group(_:) and children() to look inside.")
            case nil: throw try missingError(operation, full)
            }
            let d = H5Dopen2(fid, full, h5p_default())
            guard d >= 0 else { throw file.error(operation, full, libraryReason("open failed"), "The file may be corrupt.") }
            defer { H5Dclose(d) }
            let type = H5Dget_type(d)
            defer { H5Tclose(type) }
            let space = H5Dget_space(d)
            defer { H5Sclose(space) }
            return try body(StoredObject(type: type, space: space) { mem, buf in
                H5Dread(d, mem, h5s_all(), h5s_all(), h5p_default(), buf)
            })
        }
    }
}
