import CHDF5

/// Attributes on the file, groups and datasets: small metadata (iteration, seed, git hash,
/// resolved config). `of`/`on` names the object relative to this location; "" is the location
/// itself. Setting an existing attribute replaces it.
extension HDF5Location {
    /// Sets a numeric attribute (rank 0).
    public func setAttribute<T: HDF5Scalar>(_ name: String, _ value: T, on object: String = "") throws {
        try setAttribute(name, [value], shape: [], on: object)
    }

    /// Sets a small 1-D numeric array attribute.
    public func setAttribute<T: HDF5Scalar>(_ name: String, _ values: [T], on object: String = "") throws {
        try setAttribute(name, values, shape: [values.count], on: object)
    }

    /// Sets a string attribute (variable-length UTF-8, rank 0).
    public func setAttribute(_ name: String, _ value: String, on object: String = "") throws {
        try createAttribute(name, on: object, shape: [], fileType: makeStringType) { a, mem in
            withCStrings([value]) { H5Awrite(a, mem, $0) }
        }
    }

    /// Reads a numeric attribute holding one value.
    public func attribute<T: HDF5Scalar>(_ name: String, as type: T.Type, of object: String = "") throws -> T {
        let values = try attributeArray(name, as: T.self, of: object)
        guard values.count == 1 else {
            throw file.error("read attribute \(name) of", absolute(object), "it holds \(values.count) values", "Use attributeArray(_:as:of:).")
        }
        return values[0]
    }

    /// Reads a numeric attribute as a flat array.
    public func attributeArray<T: HDF5Scalar>(_ name: String, as type: T.Type, of object: String = "") throws -> [T] {
        try withAttribute(name, of: object) { obj, op, full in try readNumbers(obj, as: T.self, file: file, operation: op, object: full) }
    }

    /// Reads a string attribute holding one string.
    public func stringAttribute(_ name: String, of object: String = "") throws -> String {
        let values = try withAttribute(name, of: object) { obj, op, full in
            try HDF5Store.readStrings(obj, file: file, operation: op, object: full)
        }
        guard values.count == 1 else {
            throw file.error("read attribute \(name) of", absolute(object), "it holds \(values.count) strings", "Store one string per attribute.")
        }
        return values[0]
    }

    /// Whether the object has an attribute called `name`.
    public func hasAttribute(_ name: String, of object: String = "") throws -> Bool {
        let full = absolute(object)
        return try HDF5Lock.withLock {
            let fid = try file.checkedID("look up attribute \(name) of", full)
            guard try kind(of: full) != nil else { throw try missingError("look up attribute \(name) of", full) }
            return H5Aexists_by_name(fid, full, name, h5p_default()) > 0
        }
    }

    /// The names of the object's attributes, in name order.
    public func attributeNames(of object: String = "") throws -> [String] {
        let full = absolute(object)
        return try HDF5Lock.withLock {
            let fid = try file.checkedID("list attributes of", full)
            guard try kind(of: full) != nil else { throw try missingError("list attributes of", full) }
            let obj = H5Oopen(fid, full, h5p_default())
            guard obj >= 0 else { throw file.error("list attributes of", full, libraryReason("open failed"), "The file may be corrupt.") }
            defer { H5Oclose(obj) }
            let count = H5Aget_num_attrs(obj)
            var names: [String] = []
            for i in 0..<max(0, Int(count)) {
                let n = H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), nil, 0, h5p_default())
                guard n >= 0 else { continue }
                var buffer = [CChar](repeating: 0, count: Int(n) + 1)
                H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, hsize_t(i), &buffer, Int(n) + 1, h5p_default())
                names.append(String(cString: buffer))
            }
            return names
        }
    }

    // MARK: plumbing

    private func setAttribute<T: HDF5Scalar>(_ name: String, _ values: [T], shape: [Int], on object: String) throws {
        try createAttribute(name, on: object, shape: shape, fileType: { H5Tcopy(T.hdf5MemoryType()) }) { a, mem in
            withNumberBytes(values) { H5Awrite(a, mem, $0) }
        }
    }

    private func createAttribute(_ name: String, on object: String, shape: [Int], fileType: () -> hid_t,
                                 write: (_ attribute: hid_t, _ memType: hid_t) -> herr_t) throws {
        let full = absolute(object)
        let op = "set attribute \(name) on"
        try HDF5Lock.withLock {
            let fid = try file.checkedID(op, full)
            try file.requireWritable(op, full)
            guard try kind(of: full) != nil else { throw try missingError(op, full) }
            if H5Aexists_by_name(fid, full, name, h5p_default()) > 0 {
                guard H5Adelete_by_name(fid, full, name, h5p_default()) >= 0 else {
                    throw file.error(op, full, libraryReason("cannot replace the existing attribute"), "Check the file is intact.")
                }
            }
            let type = fileType()
            defer { H5Tclose(type) }
            let space = makeSpace(shape)
            defer { H5Sclose(space) }
            let a = H5Acreate_by_name(fid, full, name, type, space, h5p_default(), h5p_default(), h5p_default())
            guard a >= 0 else {
                throw file.error(op, full, libraryReason("creation failed"),
                                 "Attributes are limited to 64 KiB; store large values as datasets.")
            }
            defer { H5Aclose(a) }
            if shape.reduce(1, *) == 0 { return }
            guard write(a, type) >= 0 else { throw file.error(op, full, libraryReason("write failed"), "Check free disk space.") }
        }
    }

    private func withAttribute<R>(_ name: String, of object: String,
                                  _ body: (StoredObject, String, String) throws -> R) throws -> R {
        let full = absolute(object)
        let op = "read attribute \(name) of"
        return try HDF5Lock.withLock {
            let fid = try file.checkedID(op, full)
            guard try kind(of: full) != nil else { throw try missingError(op, full) }
            guard H5Aexists_by_name(fid, full, name, h5p_default()) > 0 else {
                let present = try attributeNames(of: full)
                throw file.error(op, full, "no such attribute",
                                 present.isEmpty ? "The object has no attributes." : "The object has: \(present.joined(separator: ", ")).")
            }
            let a = H5Aopen_by_name(fid, full, name, h5p_default(), h5p_default())
            guard a >= 0 else { throw file.error(op, full, libraryReason("open failed"), "The file may be corrupt.") }
            defer { H5Aclose(a) }
            let type = H5Aget_type(a)
            defer { H5Tclose(type) }
            let space = H5Aget_space(a)
            defer { H5Sclose(space) }
            return try body(StoredObject(type: type, space: space) { mem, buf in H5Aread(a, mem, buf) }, op, full)
        }
    }
}
