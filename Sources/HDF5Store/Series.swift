import CHDF5

/// An appendable 1-D series (one value per step: loss, lr, iteration), stored as a chunked
/// dataset with an unlimited first dimension so it grows in place across reopenings.
public struct Series<T: HDF5SeriesElement> {
    public let file: HDF5File
    /// Absolute path of the dataset.
    public let path: String

    /// Appends one value.
    public func append(_ value: T) throws { try append(contentsOf: [value]) }

    /// Appends values in order.
    public func append(contentsOf values: [T]) throws {
        try appendRows(file, path, values, rows: values.count, width: nil)
    }

    /// The number of values.
    public func count() throws -> Int { try file.shape(at: path)[0] }

    /// All values.
    public func values() throws -> [T] { try file.read(T.self, at: path) }
}

/// An appendable series of fixed-width rows (per-class IoU per evaluation): a chunked
/// [unlimited × width] dataset.
public struct RowSeries<T: HDF5SeriesElement> {
    public let file: HDF5File
    /// Absolute path of the dataset.
    public let path: String
    /// Values per row.
    public let width: Int

    /// Appends one row of exactly `width` values.
    public func append(_ row: [T]) throws {
        precondition(row.count == width, "RowSeries \(path): row has \(row.count) values, the series is \(width) wide")
        try appendRows(file, path, row, rows: 1, width: width)
    }

    /// The number of rows.
    public func count() throws -> Int { try file.shape(at: path)[0] }

    /// All rows.
    public func rows() throws -> [[T]] {
        let flat = try file.read(T.self, at: path)
        return stride(from: 0, to: flat.count, by: width).map { Array(flat[$0..<($0 + width)]) }
    }
}

extension HDF5Location {
    /// Opens the 1-D series at `path`, creating it empty if missing. `chunk` elements are written
    /// per chunk: large enough for few chunks, small enough that a short run's file stays small.
    public func series<T: HDF5SeriesElement>(_ type: T.Type, at path: String, chunk: Int = 256) throws -> Series<T> {
        let full = absolute(path)
        try openOrCreateSeries(T.self, full, width: nil, chunkRows: chunk)
        return Series(file: file, path: full)
    }

    /// Opens the row series at `path` ([unlimited × width]), creating it empty if missing.
    public func rowSeries<T: HDF5SeriesElement>(_ type: T.Type, at path: String, width: Int, chunkRows: Int = 16) throws -> RowSeries<T> {
        precondition(width > 0, "rowSeries \(path): width must be positive, got \(width)")
        let full = absolute(path)
        try openOrCreateSeries(T.self, full, width: width, chunkRows: chunkRows)
        return RowSeries(file: file, path: full, width: width)
    }

    private func openOrCreateSeries<T: HDF5SeriesElement>(_: T.Type, _ full: String, width: Int?, chunkRows: Int) throws {
        let op = "open series"
        try HDF5Lock.withLock {
            let fid = try file.checkedID(op, full)
            if try kind(of: full) != nil {
                // Reopen: the stored dataset must be the series we would have created.
                let (shape, typeOK, typeName) = try withStored(full, op) { ($0.shape, typeMatches($0.type, T.self), describeType($0.type)) }
                let expectedRank = width == nil ? 1 : 2
                guard typeOK, shape.count == expectedRank, width == nil || shape[1] == width! else {
                    let want = width.map { "\(T.hdf5Name) [n × \($0)]" } ?? "\(T.hdf5Name) [n]"
                    throw file.error(op, full, "it holds \(typeName) \(shape), expected \(want)",
                                     "Use a new path, or the same element type and width as the writer.")
                }
                return
            }
            try file.requireWritable(op, full)
            let shape = width.map { [0, $0] } ?? [0]
            let maxShape = width.map { [h5s_unlimited(), hsize_t($0)] } ?? [h5s_unlimited()]
            let space = makeSpace(shape, maxShape: maxShape)
            defer { H5Sclose(space) }
            let dcpl = H5Pcreate(h5p_dataset_create())
            defer { H5Pclose(dcpl) }
            var chunk = [hsize_t(max(1, chunkRows))] + (width.map { [hsize_t($0)] } ?? [])
            H5Pset_chunk(dcpl, Int32(chunk.count), &chunk)
            let lcpl = intermediateLinkList()
            defer { H5Pclose(lcpl) }
            let d = H5Dcreate2(fid, full, T.hdf5MemoryType(), space, lcpl, dcpl, h5p_default())
            guard d >= 0 else {
                throw file.error("create series", full, libraryReason("creation failed"), "Check that no parent of this path is a dataset.")
            }
            H5Dclose(d)
        }
    }
}

/// Extends the dataset by `rows` and writes `values` into the new rows.
private func appendRows<T: HDF5SeriesElement>(_ file: HDF5File, _ full: String, _ values: [T], rows: Int, width: Int?) throws {
    if rows == 0 { return }
    let op = "append to series"
    try HDF5Lock.withLock {
        let fid = try file.checkedID(op, full)
        try file.requireWritable(op, full)
        let d = H5Dopen2(fid, full, h5p_default())
        guard d >= 0 else { throw file.error(op, full, libraryReason("open failed"), "Open the series with series(_:at:) first.") }
        defer { H5Dclose(d) }
        let oldSpace = H5Dget_space(d)
        let old = spaceShape(oldSpace)
        H5Sclose(oldSpace)
        var newDims = [hsize_t(old[0] + rows)] + (width.map { [hsize_t($0)] } ?? [])
        guard H5Dset_extent(d, &newDims) >= 0 else {
            throw file.error(op, full, libraryReason("cannot extend"), "Check free disk space.")
        }
        let space = H5Dget_space(d)
        defer { H5Sclose(space) }
        var start = [hsize_t(old[0])] + (width == nil ? [] : [0])
        var count = [hsize_t(rows)] + (width.map { [hsize_t($0)] } ?? [])
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nil, &count, nil)
        var memDims = [hsize_t(values.count)]
        let mem = H5Screate_simple(1, &memDims, nil)
        defer { H5Sclose(mem) }
        let status = values.withUnsafeBytes { H5Dwrite(d, T.hdf5MemoryType(), mem, space, h5p_default(), $0.baseAddress!) }
        guard status >= 0 else { throw file.error(op, full, libraryReason("write failed"), "Check free disk space.") }
    }
}
