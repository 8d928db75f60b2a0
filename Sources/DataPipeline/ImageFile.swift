import Foundation

/// Reading and writing image files. The codec is chosen from the file's first bytes, not its
/// extension: real datasets contain PNGs named `.JPEG` (ImageNet) and JPEGs named `.png`.

/// Reads a JPEG or PNG file as an RGB image (HWC, 0…255).
public func readImage(_ url: URL) throws -> Image {
    let bytes = try readBytes(url)
    if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
        return try JPEG.decode(bytes, path: url.path)
    }
    if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50 {
        return try PNG.decode(bytes, path: url.path)
    }
    throw DataError.corruptFile(path: url.path, problem: "neither a JPEG nor a PNG file (\(bytes.count) bytes)",
                                remedy: "Re-download or re-extract this file, or remove it from the dataset")
}

/// Reads a label map (palette or grayscale PNG; palette PNGs give their indices).
public func readLabelMap(_ url: URL) throws -> LabelMap {
    try PNG.decodeLabel(readBytes(url), path: url.path)
}

/// Writes an image as JPEG (`.jpg`/`.jpeg`, any case) or PNG (anything else).
public func writeImage(_ image: Image, to url: URL, quality: Int = 95) throws {
    let ext = url.pathExtension.lowercased()
    let bytes = (ext == "jpg" || ext == "jpeg")
        ? try JPEG.encode(image, quality: quality, path: url.path)
        : try PNG.encode(image, path: url.path)
    try writeBytes(bytes, to: url)
}

/// Writes a label map as PNG: a palette PNG when `palette` is given (predictions are saved with
/// the dataset's colours), else 8-bit grayscale.
public func writeLabelMap(_ label: LabelMap, to url: URL, palette: [[UInt8]]? = nil) throws {
    try writeBytes(PNG.encodeLabel(label, palette: palette, path: url.path), to: url)
}

func readBytes(_ url: URL) throws -> [UInt8] {
    do {
        return [UInt8](try Data(contentsOf: url))
    } catch {
        throw DataError.io(path: url.path, problem: "cannot read the file (\(error.localizedDescription))",
                           remedy: "Check that it exists and is readable")
    }
}

func writeBytes(_ bytes: [UInt8], to url: URL) throws {
    do {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url, options: .atomic)
    } catch {
        throw DataError.io(path: url.path, problem: "cannot write the file (\(error.localizedDescription))",
                           remedy: "Check the directory exists and is writable, and the disk is not full")
    }
}
