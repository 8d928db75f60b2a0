import Foundation

/// CRC-32 (IEEE 802.3, the polynomial of zlib, PNG and gzip), so a stored checksum can be
/// checked from Python with `zlib.crc32(dataset[()].tobytes())`. Checkpoints store one per
/// dataset: HDF5 1.10 checksums only its metadata, never the raw data, so a flipped bit in a
/// weight would otherwise load silently.
public enum CRC32 {
    /// The byte-wise table for the reflected polynomial 0xEDB88320.
    nonisolated(unsafe) private static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC-32 of `bytes`, continuing from `crc` (start with 0; chunks may be fed in order).
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// The CRC-32 of the in-memory (little-endian on every platform we build for) bytes of `values`.
    public static func checksum<T>(of values: [T]) -> UInt32 {
        values.withUnsafeBytes { checksum($0) }
    }
}
