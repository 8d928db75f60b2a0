import CTurboJPEG
import Foundation

/// JPEG through libjpeg-turbo's TurboJPEG API. Decoding uses TurboJPEG's defaults (accurate
/// integer DCT, fancy upsampling), the same settings PIL uses, so pixel values match what the
/// PyTorch reference pipelines saw.
public enum JPEG {
    /// Decodes JPEG bytes to an RGB image (HWC, 0…255). Grayscale JPEGs become three equal
    /// channels and CMYK JPEGs are converted, since datasets such as ImageNet and COCO mix them
    /// in among the RGB files. `path` only names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> Image {
        guard let handle = tjInitDecompress() else {
            throw DataError.io(path: path, problem: "could not initialise libjpeg-turbo", remedy: "Check the libturbojpeg installation")
        }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer { buf in
            tjDecompressHeader3(handle, buf.baseAddress, UInt(buf.count), &width, &height, &subsamp, &colorspace)
        }
        guard header == 0, width > 0, height > 0 else {
            throw corrupt(path, "not a readable JPEG (\(errorString(handle)))")
        }
        try DecodeLimits.check(width: Int(width), height: Int(height), path: path, format: "JPEG")
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = cmyk ? 4 : 3
        let format = cmyk ? TJPF_CMYK : TJPF_RGB
        let w = Int(width), h = Int(height)
        var raw = [UInt8](repeating: 0, count: w * h * channels)
        // Warnings (e.g. "premature end of data" for a truncated file) stop decoding: a silently
        // grey-filled half image would poison training without anyone noticing.
        let status = bytes.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(src.count), dst.baseAddress, width, 0, height,
                              Int32(format.rawValue), TJFLAG_STOPONWARNING)
            }
        }
        guard status == 0 else {
            throw corrupt(path, "JPEG data is damaged or truncated (\(errorString(handle)))")
        }
        var pixels = [Float](repeating: 0, count: w * h * 3)
        raw.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                let s = src.baseAddress!, d = dst.baseAddress!
                if cmyk {
                    // Photoshop (Adobe) CMYK JPEGs, the only kind found in the common datasets,
                    // store inverted ink values; with that inversion RGB = C·K/255, as PIL does.
                    for i in 0..<(w * h) {
                        let k = Float(s[4 * i + 3])
                        d[3 * i] = (Float(s[4 * i]) * k / 255).rounded()
                        d[3 * i + 1] = (Float(s[4 * i + 1]) * k / 255).rounded()
                        d[3 * i + 2] = (Float(s[4 * i + 2]) * k / 255).rounded()
                    }
                } else {
                    for i in 0..<(w * h * 3) { d[i] = Float(s[i]) }
                }
            }
        }
        return Image(height: h, width: w, channels: 3, pixels: pixels)
    }

    /// Encodes a 1- or 3-channel image (values clamped to 0…255 and rounded) as a baseline
    /// JPEG with 4:4:4 chroma, for test fixtures and saved visualisations.
    public static func encode(_ image: Image, quality: Int = 95, path: String = "<memory>") throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3 else {
            throw DataError.io(path: path, problem: "JPEG encoding needs 1 or 3 channels, the image has \(image.channels)",
                               remedy: "Drop the alpha or extra channels before saving")
        }
        guard let handle = tjInitCompress() else {
            throw DataError.io(path: path, problem: "could not initialise libjpeg-turbo", remedy: "Check the libturbojpeg installation")
        }
        defer { tjDestroy(handle) }
        let bytes = clampToBytes(image.pixels)
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let gray = image.channels == 1
        let status = bytes.withUnsafeBufferPointer { src in
            tjCompress2(handle, src.baseAddress, Int32(image.width), 0, Int32(image.height),
                        Int32((gray ? TJPF_GRAY : TJPF_RGB).rawValue), &out, &size,
                        Int32((gray ? TJSAMP_GRAY : TJSAMP_444).rawValue), Int32(max(1, min(100, quality))), 0)
        }
        defer { if let out { tjFree(out) } }
        guard status == 0, let out else {
            throw DataError.io(path: path, problem: "JPEG encoding failed (\(errorString(handle)))", remedy: "Check the image size")
        }
        return Array(UnsafeBufferPointer(start: out, count: Int(size)))
    }

    private static func errorString(_ handle: tjhandle) -> String {
        guard let s = tjGetErrorStr2(handle) else { return "unknown error" }
        return String(cString: s)
    }

    private static func corrupt(_ path: String, _ problem: String) -> DataError {
        .corruptFile(path: path, problem: problem, remedy: "Re-download or re-extract this file, or remove it from the dataset")
    }
}

/// Float pixels (0…255) to bytes: clamped and rounded to nearest, so an encode→decode round trip
/// of integer-valued images is exact for lossless formats.
func clampToBytes(_ values: [Float]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: values.count)
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<src.count {
                let v = src[i]
                dst[i] = v.isNaN ? 0 : UInt8(max(0, min(255, v.rounded())))
            }
        }
    }
    return out
}
