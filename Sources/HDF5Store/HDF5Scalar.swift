import CHDF5

/// A numeric element type that maps one-to-one onto an HDF5 native type. Reads are strict: a
/// dataset stored as int64 does not silently read as Float, because a type mismatch between
/// writer and reader is almost always a bug in one of them.
public protocol HDF5Scalar {
    /// The in-memory HDF5 type (call only under `HDF5Lock`: the natives initialise the library).
    static func hdf5MemoryType() -> hid_t
    /// The HDF5 type class that a stored dataset of this type has.
    static var hdf5Class: H5T_class_t { get }
    /// Whether the stored integer type must be signed (ignored for floats).
    static var hdf5Signed: Bool { get }
    /// The name used in messages and docs ("float32", "int64", ...).
    static var hdf5Name: String { get }
    /// A zero, for allocating read buffers.
    static var hdf5Zero: Self { get }
}

extension Float: HDF5Scalar {
    public static func hdf5MemoryType() -> hid_t { h5t_native_float() }
    public static var hdf5Class: H5T_class_t { H5T_FLOAT }
    public static var hdf5Signed: Bool { true }
    public static var hdf5Name: String { "float32" }
    public static var hdf5Zero: Float { 0 }
}

extension Double: HDF5Scalar {
    public static func hdf5MemoryType() -> hid_t { h5t_native_double() }
    public static var hdf5Class: H5T_class_t { H5T_FLOAT }
    public static var hdf5Signed: Bool { true }
    public static var hdf5Name: String { "float64" }
    public static var hdf5Zero: Double { 0 }
}

extension Int32: HDF5Scalar {
    public static func hdf5MemoryType() -> hid_t { h5t_native_int32() }
    public static var hdf5Class: H5T_class_t { H5T_INTEGER }
    public static var hdf5Signed: Bool { true }
    public static var hdf5Name: String { "int32" }
    public static var hdf5Zero: Int32 { 0 }
}

extension Int64: HDF5Scalar {
    public static func hdf5MemoryType() -> hid_t { h5t_native_int64() }
    public static var hdf5Class: H5T_class_t { H5T_INTEGER }
    public static var hdf5Signed: Bool { true }
    public static var hdf5Name: String { "int64" }
    public static var hdf5Zero: Int64 { 0 }
}

extension UInt8: HDF5Scalar {
    public static func hdf5MemoryType() -> hid_t { h5t_native_uint8() }
    public static var hdf5Class: H5T_class_t { H5T_INTEGER }
    public static var hdf5Signed: Bool { false }
    public static var hdf5Name: String { "uint8" }
    public static var hdf5Zero: UInt8 { 0 }
}

/// Element types an appendable series may hold (metrics are floats or counters).
public protocol HDF5SeriesElement: HDF5Scalar {}
extension Float: HDF5SeriesElement {}
extension Double: HDF5SeriesElement {}
extension Int64: HDF5SeriesElement {}

/// A new variable-length UTF-8 string type; caller closes it. Variable length because names and
/// configs have no natural maximum, and UTF-8 so h5py returns `str`, not `bytes`.
func makeStringType() -> hid_t {
    let t = H5Tcopy(h5t_c_s1())
    H5Tset_size(t, h5t_variable())
    H5Tset_cset(t, H5T_CSET_UTF8)
    return t
}

/// A human name for a stored type, for "wrong type" messages.
func describeType(_ t: hid_t) -> String {
    let cls = H5Tget_class(t)
    let bits = H5Tget_size(t) * 8
    switch cls {
    case H5T_FLOAT: return "float\(bits)"
    case H5T_INTEGER: return (H5Tget_sign(t) == H5T_SGN_NONE ? "uint" : "int") + "\(bits)"
    case H5T_STRING: return "string"
    case H5T_COMPOUND: return "compound"
    case H5T_ENUM: return "enum"
    case H5T_ARRAY: return "array"
    case H5T_VLEN: return "vlen"
    case H5T_REFERENCE: return "reference"
    default: return "an unsupported type"
    }
}

/// Whether stored type `t` is exactly `T` (class, size and signedness).
func typeMatches<T: HDF5Scalar>(_ t: hid_t, _: T.Type) -> Bool {
    guard H5Tget_class(t) == T.hdf5Class, H5Tget_size(t) == MemoryLayout<T>.size else { return false }
    if T.hdf5Class == H5T_INTEGER { return (H5Tget_sign(t) != H5T_SGN_NONE) == T.hdf5Signed }
    return true
}
