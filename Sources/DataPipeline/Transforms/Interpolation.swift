import Foundation
import TensorEngine

/// How a transform resamples an image (labels are always resampled by nearest neighbour).
///
/// Segmentation recipes come from mmseg, which resizes with OpenCV; classification recipes come
/// from timm and torchvision, which resize PIL images. The two libraries differ on downscaling:
/// cv2's bilinear samples 2×2 pixels whatever the scale, PIL widens its filter by the scale
/// factor (antialiasing). Each recipe's own library is the reference, so both are here.
public enum Interpolation: String, Decodable, CaseIterable, Sendable {
    /// cv2.INTER_LINEAR (mmcv's `imresize`): the default, bit-identical to mmseg's pipelines.
    case bilinear
    /// PIL `Image.BILINEAR` (torchvision/timm on PIL images): triangle filter, antialiased.
    case pilBilinear = "pil_bilinear"
    /// PIL `Image.BICUBIC` (timm's eval resize, `--interpolation bicubic`): cubic a = −0.5, antialiased.
    case bicubic
    /// timm's `random`: PIL bilinear or bicubic, drawn 50/50 for each sample.
    case random

    /// The method for one sample: `random` draws, the others are themselves.
    func resolved(_ random: RandomGenerator) -> Interpolation {
        self == .random ? (random.drawChance(0.5) ? .pilBilinear : .bicubic) : self
    }
}

/// Resamples `rect` of `image` (the whole image when nil) to `height`×`width` by `method`
/// (`random` must be resolved first).
func resizeImage(_ image: Image, height: Int, width: Int, from rect: PixelRect? = nil, _ method: Interpolation) -> Image {
    switch method {
    case .bilinear, .random: return resizeBilinear(image, height: height, width: width, from: rect)
    case .pilBilinear: return resizePIL(image, height: height, width: width, from: rect, filter: .triangle)
    case .bicubic: return resizePIL(image, height: height, width: width, from: rect, filter: .cubic)
    }
}

/// PIL's separable resampling kernels (`Resample.c`).
enum PILFilter {
    case triangle, cubic

    var support: Double { self == .triangle ? 1 : 2 }

    func weight(_ t: Double) -> Double {
        let x = abs(t)
        switch self {
        case .triangle:
            return x < 1 ? 1 - x : 0
        case .cubic:
            // Keys' cubic with a = −0.5, PIL's BICUBIC.
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

/// PIL `Image.resize(size, filter, box=rect)` on a float image (mode "F": no rounding between
/// the passes): horizontal pass, then vertical, each with the filter widened by the reduction
/// factor and its taps normalised to sum 1 (`precompute_coeffs` in PIL's Resample.c).
func resizePIL(_ image: Image, height: Int, width: Int, from rect: PixelRect? = nil, filter: PILFilter) -> Image {
    let r = rect ?? PixelRect(y: 0, x: 0, height: image.height, width: image.width)
    precondition(height > 0 && width > 0 && r.height > 0 && r.width > 0, "resizePIL: empty size \(height)×\(width) from \(r)")
    precondition(r.y >= 0 && r.x >= 0 && r.y + r.height <= image.height && r.x + r.width <= image.width,
                 "resizePIL: rect \(r) outside \(image.height)×\(image.width)")
    /// Per output index: the first source index and the normalised weights from there.
    func coefficients(in0: Int, inLength: Int, inSize: Int, outSize: Int) -> [(start: Int, weights: [Double])] {
        let scale = Double(inLength) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        return (0..<outSize).map { o in
            let center = Double(in0) + (Double(o) + 0.5) * scale
            // PIL rounds the window ends with (int)(v + 0.5), i.e. truncation toward zero.
            let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), inSize)
            var w = (lo..<max(hi, lo)).map { filter.weight((Double($0) - center + 0.5) / filterScale) }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return (lo, w)
        }
    }
    let c = image.channels
    let xs = coefficients(in0: r.x, inLength: r.width, inSize: image.width, outSize: width)
    let ys = coefficients(in0: r.y, inLength: r.height, inSize: image.height, outSize: height)
    // Rows the vertical pass reads.
    let rowLow = ys.map(\.start).min()!, rowHigh = ys.map { $0.start + $0.weights.count }.max()!
    var horizontal = [Double](repeating: 0, count: (rowHigh - rowLow) * width * c)
    image.pixels.withUnsafeBufferPointer { src in
        for y in rowLow..<rowHigh {
            let row = (y - rowLow) * width * c
            for (ox, tap) in xs.enumerated() {
                for k in 0..<c {
                    var s = 0.0
                    for (i, w) in tap.weights.enumerated() { s += Double(src[(y * image.width + tap.start + i) * c + k]) * w }
                    horizontal[row + ox * c + k] = s
                }
            }
        }
    }
    var out = [Float](repeating: 0, count: height * width * c)
    for (oy, tap) in ys.enumerated() {
        for i in 0..<(width * c) {
            var s = 0.0
            for (j, w) in tap.weights.enumerated() { s += horizontal[(tap.start + j - rowLow) * width * c + i] * w }
            out[oy * width * c + i] = Float(s)
        }
    }
    return Image(height: height, width: width, channels: c, pixels: out)
}
