import Foundation

/// How large an image the codecs agree to decode. A file's header states its size and the
/// decoder allocates that much before reading any pixel, so a damaged or hostile header
/// (65000×65000 in a 2 kB file) would ask for gigabytes — the allocation failing kills the
/// process. Checking the claimed size first turns that into a `DataError` naming the file.
/// 2^28 pixels (16384×16384) is far beyond any image in the datasets we read and already
/// 3 GiB as float RGB.
public enum DecodeLimits {
    public static let maximumPixels = 1 << 28
    /// Per side (configs are stricter: `SizeHW.maximumSide`).
    public static let maximumSide = 1 << 16

    /// Throws when a header's `width × height` is beyond the limits.
    static func check(width: Int, height: Int, path: String, format: String) throws {
        guard width > maximumSide || height > maximumSide || width * height > maximumPixels else { return }
        let megapixels = String(format: "%.1f", Double(width) * Double(height) / 1e6)
        let limit = String(format: "%.1f", Double(maximumPixels) / 1e6)
        throw DataError.corruptFile(
            path: path,
            problem: "the \(format) header claims \(width)×\(height) pixels (\(megapixels) megapixels), more than the \(limit)-megapixel decoding limit; a damaged header looks like this too",
            remedy: "If the image is genuine, downscale it before training (e.g. `convert in -resize 25% out`); otherwise re-download it or remove it from the dataset")
    }
}
