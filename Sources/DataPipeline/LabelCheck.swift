import CTurboJPEG
import Foundation

/// A dataset whose labels can be checked one by one without building samples: what
/// `runexp validate` uses to decode every label once before any training time is spent.
public protocol LabelCheckable: Dataset {
    /// Decodes example `index`'s label, maps it to classes (a value outside the dataset's
    /// classes is `DataError.labelOutOfRange`) and checks its size against the image's header
    /// (the image itself is not decoded). Throws a `DataError` naming the file.
    func checkLabel(_ index: Int) throws
}

extension SegmentationFileDataset: LabelCheckable {
    public func checkLabel(_ index: Int) throws {
        let item = items[index]
        let label = try item.encoding.apply(readLabelMap(item.label), dataset: name, path: item.label.path)
        let size = try imageHeaderSize(item.image)
        guard label.height == size.height, label.width == size.width else {
            throw DataError.layout(dataset: name, path: item.label.path,
                                   problem: "label is \(label.height)×\(label.width) but its image \(item.image.path) is \(size.height)×\(size.width)",
                                   expected: "each label map has exactly its image's size")
        }
    }
}

extension NYUv2Dataset: LabelCheckable {
    public func checkLabel(_ index: Int) throws {
        // The .mat layout stores image and label together; loading the pair is the check.
        _ = try load(index)
    }
}

/// The size an image file's header states, without decoding its pixels (JPEG SOF or PNG
/// IHDR), checked against `DecodeLimits`.
public func imageHeaderSize(_ url: URL) throws -> (height: Int, width: Int) {
    let bytes = try readBytes(url)
    if bytes.count >= 24, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
        func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
        let w = be32(16), h = be32(20)
        try DecodeLimits.check(width: w, height: h, path: url.path, format: "PNG")
        return (h, w)
    }
    if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF, let handle = tjInitDecompress() {
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let status = bytes.withUnsafeBufferPointer { tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsamp, &colorspace) }
        if status == 0, width > 0, height > 0 {
            try DecodeLimits.check(width: Int(width), height: Int(height), path: url.path, format: "JPEG")
            return (Int(height), Int(width))
        }
    }
    throw DataError.corruptFile(path: url.path, problem: "not a readable JPEG or PNG header (\(bytes.count) bytes)",
                                remedy: "Re-download or re-extract this file, or remove it from the dataset")
}
