import CHDF5
import Foundation

// Shared plumbing for datasets and attributes: both are "a type, a dataspace and a read/write
// call", so element conversion, shape and string handling live here once.

/// A dataspace for `shape`: scalar for rank 0 (so h5py reads a Python scalar), simple otherwise.
func makeSpace(_ shape: [Int], maxShape: [hsize_t]? = nil) -> hid_t {
    if shape.isEmpty { return H5Screate(H5S_SCALAR) }
    var dims = shape.map { hsize_t($0) }
    if var maxDims = maxShape { return H5Screate_simple(Int32(dims.count), &dims, &maxDims) }
    return H5Screate_simple(Int32(dims.count), &dims, nil)
}

/// The shape of a dataspace: [] for scalar; [0] for a null space (an empty attribute).
func spaceShape(_ space: hid_t) -> [Int] {
    switch H5Sget_simple_extent_type(space) {
    case H5S_SCALAR: return []
    case H5S_NULL: return [0]
    default:
        let rank = Int(H5Sget_simple_extent_ndims(space))
        var dims = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &dims, nil)
        return dims.map { Int($0) }
    }
}

/// The values, shape and stored type of an open dataset or attribute.
struct StoredObject {
    let type: hid_t
    let space: hid_t
    let read: (_ memType: hid_t, _ buffer: UnsafeMutableRawPointer) -> herr_t

    var shape: [Int] { spaceShape(space) }
    var count: Int { shape.reduce(1, *) }
}

/// Reads numbers of type `T`, refusing a stored type that is not exactly `T`.
func readNumbers<T: HDF5Scalar>(_ obj: StoredObject, as _: T.Type, file: HDF5File, operation: String, object: String) throws -> [T] {
    guard typeMatches(obj.type, T.self) else {
        throw file.error(operation, object, "it is stored as \(describeType(obj.type)), not \(T.hdf5Name)",
                         "Read it as \(describeType(obj.type)) (the writer chose that type), or fix the writer.")
    }
    var values = [T](repeating: T.hdf5Zero, count: obj.count)
    if values.isEmpty { return values }
    let status = values.withUnsafeMutableBytes { obj.read(T.hdf5MemoryType(), $0.baseAddress!) }
    guard status >= 0 else {
        throw file.error(operation, object, libraryReason("read failed"), "The file may be truncated or corrupt.")
    }
    return values
}

/// Reads strings, variable-length (ours, h5py's default for str) or fixed-length (h5py's for
/// numpy bytes arrays, MATLAB's), trimming fixed-length padding.
func readStrings(_ obj: StoredObject, file: HDF5File, operation: String, object: String) throws -> [String] {
    guard H5Tget_class(obj.type) == H5T_STRING else {
        throw file.error(operation, object, "it is stored as \(describeType(obj.type)), not string",
                         "Read it with the numeric read for \(describeType(obj.type)).")
    }
    let n = obj.count
    if n == 0 { return [] }
    if H5Tis_variable_str(obj.type) > 0 {
        let mem = makeStringType()
        defer { H5Tclose(mem) }
        var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: n)
        let status = pointers.withUnsafeMutableBytes { obj.read(mem, $0.baseAddress!) }
        guard status >= 0 else {
            throw file.error(operation, object, libraryReason("read failed"), "The file may be truncated or corrupt.")
        }
        defer { for p in pointers where p != nil { H5free_memory(p) } }
        return pointers.map { $0.map { String(cString: $0) } ?? "" }
    }
    let width = H5Tget_size(obj.type)
    let mem = H5Tcopy(obj.type)
    defer { H5Tclose(mem) }
    var bytes = [UInt8](repeating: 0, count: n * width)
    let status = bytes.withUnsafeMutableBytes { obj.read(mem, $0.baseAddress!) }
    guard status >= 0 else {
        throw file.error(operation, object, libraryReason("read failed"), "The file may be truncated or corrupt.")
    }
    return (0..<n).map { i in
        let slice = bytes[(i * width)..<((i + 1) * width)]
        let end = slice.firstIndex(of: 0) ?? slice.endIndex
        return String(decoding: slice[slice.startIndex..<end], as: UTF8.self)
    }
}

/// Calls `body` with a buffer of C strings for `strings` (HDF5 copies them during the write).
func withCStrings<R>(_ strings: [String], _ body: (UnsafeRawPointer) -> R) -> R {
    let owned = strings.map { strdup($0) }
    defer { for p in owned { free(p) } }
    var pointers: [UnsafePointer<CChar>?] = owned.map { UnsafePointer($0) }
    if pointers.isEmpty { pointers = [nil] } // never pass a nil buffer, even for 0 elements
    return pointers.withUnsafeBytes { body($0.baseAddress!) }
}

/// Calls `body` with the bytes of `values` (a valid pointer even when empty).
func withNumberBytes<T: HDF5Scalar, R>(_ values: [T], _ body: (UnsafeRawPointer) -> R) -> R {
    if values.isEmpty {
        var zero = T.hdf5Zero
        return withUnsafeBytes(of: &zero) { body($0.baseAddress!) }
    }
    return values.withUnsafeBytes { body($0.baseAddress!) }
}
