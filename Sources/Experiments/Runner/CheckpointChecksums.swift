import Foundation
import HDF5Store

// Per-dataset CRC-32s in checkpoints (docs/hdf5-layout.md): written beside every dataset as
// the int64 attribute `crc32`, verified on read. The root attribute `checksum: crc32` says a
// file carries them, so a file written before checksums existed (or converted from PyTorch)
// still loads, while a checksummed file that lost one is reported as damaged.

let checkpointChecksumName = "crc32"

/// Writes a dataset and its `crc32` attribute.
func writeChecked<T: HDF5Scalar>(_ f: HDF5File, _ values: [T], shape: [Int], at path: String) throws {
    try f.write(values, shape: shape, at: path)
    try f.setAttribute("crc32", Int64(CRC32.checksum(of: values)), on: path)
}

/// Reads a dataset; with `verify`, its bytes must match its `crc32` attribute. The tensor is
/// named by its HDF5 path in dotted form (`model.backbone.stem.weight`).
func readChecked<T: HDF5Scalar>(_ f: HDF5File, _ type: T.Type, at path: String, verify: Bool) throws -> [T] {
    let values = try f.read(T.self, at: path)
    guard verify else { return values }
    let name = path.split(separator: "/").joined(separator: ".")
    guard try f.hasAttribute("crc32", of: path) else { throw CheckpointError.missingChecksum(file: "", tensor: name) }
    let stored = UInt32(truncatingIfNeeded: try f.attribute("crc32", as: Int64.self, of: path))
    let actual = CRC32.checksum(of: values)
    guard stored == actual else { throw CheckpointError.checksumMismatch(file: "", tensor: name, stored: stored, actual: actual) }
    return values
}

extension CheckpointError {
    /// The same error about `url` (the readers above do not know the file's name).
    func located(in url: URL) -> CheckpointError {
        let file = url.path
        switch self {
        case let .checksumMismatch(_, t, s, a): return .checksumMismatch(file: file, tensor: t, stored: s, actual: a)
        case let .missingChecksum(_, t): return .missingChecksum(file: file, tensor: t)
        case let .unreadable(f, r): return .unreadable(file: f.isEmpty ? file : f, reason: r)
        case let .nonFinite(_, t, c, n): return .nonFinite(file: file, tensor: t, count: c, total: n)
        default: return self
        }
    }
}
