import Foundation
import TensorEngine

/// mmcv.rescale_size: the size that fits inside `scale` (either order: the long edge is bounded
/// by its larger value, the short edge by its smaller) keeping the aspect ratio.
/// factor = min(long / max(h, w), short / min(h, w)); new = int(w·factor + 0.5), int(h·factor + 0.5).
public func rescaleSize(height: Int, width: Int, scale: (Int, Int)) -> (height: Int, width: Int) {
    let long = Double(max(scale.0, scale.1)), short = Double(min(scale.0, scale.1))
    let factor = min(long / Double(max(height, width)), short / Double(min(height, width)))
    return (Int(Double(height) * factor + 0.5), Int(Double(width) * factor + 0.5))
}

/// Resizes the image (cv2 bilinear unless told) and the label (if any) by nearest neighbour to
/// the same size.
func resizeSample(_ sample: inout Sample, height: Int, width: Int, label: Bool = true, _ method: Interpolation = .bilinear) {
    sample.image = resizeImage(sample.image, height: height, width: width, method)
    if label, let l = sample.label { sample.label = resizeNearest(l, height: height, width: width) }
}

/// mmseg's training `Resize(img_scale, ratio_range, keep_ratio)` (1.x: `RandomResize`): draws
/// ratio ~ U[ratio_range), target scale = (int(scale[0]·ratio), int(scale[1]·ratio)), then
/// rescales keeping the aspect ratio (mmcv.imrescale) or, with `keep_ratio: false`, resizes to
/// exactly width = scale[0], height = scale[1] (mmseg's (w, h) order).
public struct RandomResize: Transform {
    /// `{type: random_resize, scale: [2048, 512], ratio_range: [0.5, 2.0], keep_ratio: true}`
    public struct Config: Decodable, Equatable {
        public var scale: [Int]
        /// nil: always the given scale (mmseg's single-scale `Resize`).
        public var ratioRange: ClosedPair?
        public var keepRatio = true

        public init(scale: [Int], ratioRange: ClosedPair? = nil, keepRatio: Bool = true) {
            self.scale = scale; self.ratioRange = ratioRange; self.keepRatio = keepRatio
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, scale, ratioRange = "ratio_range", keepRatio = "keep_ratio" }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            scale = try c.decode([Int].self, forKey: .scale)
            ratioRange = try c.decodeIfPresent(ClosedPair.self, forKey: .ratioRange)
            keepRatio = try c.decode(.keepRatio, default: keepRatio)
            guard scale.count == 2, scale.allSatisfy({ $0 >= 1 }) else { throw c.error(.scale, "needs two positive values [w, h], got \(scale)") }
            if let r = ratioRange, r.low <= 0 { throw c.error(.ratioRange, "ratios must be positive, got [\(r.low), \(r.high)]") }
            let largest = Double(scale.max()!) * (ratioRange?.high ?? 1)
            guard largest <= Double(SizeHW.maximumSide) else {
                throw c.error(ratioRange == nil ? .scale : .ratioRange, SizeHW.tooLarge("\(Int(largest)) (scale \(scale) × ratio \(ratioRange?.high ?? 1))"))
            }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        var scale = (config.scale[0], config.scale[1])
        if let r = config.ratioRange {
            let ratio = random.drawUniform(r.low, r.high)
            scale = (Int(Double(scale.0) * ratio), Int(Double(scale.1) * ratio))
        }
        let size = config.keepRatio ? rescaleSize(height: sample.image.height, width: sample.image.width, scale: scale)
                                    : (height: scale.1, width: scale.0)
        guard size.height >= 1 && size.width >= 1 else {
            throw TransformError(transform: "random_resize", source: sample.source, message: "scale \(scale) gives an empty image from \(sample.image.height)×\(sample.image.width)")
        }
        resizeSample(&sample, height: size.height, width: size.width)
    }
}

/// Deterministic resize for evaluation and classification:
/// * `scale: [w, h]` + `keep_ratio` — mmseg's test `Resize` (mmcv.imrescale / imresize);
/// * `short_side: s` (+ `crop_pct`) — torchvision `Resize(int)`: shorter side → s (or
///   floor(s / crop_pct), timm's eval size), longer side int(s · long / short);
/// * `size_divisor: d` — then mmseg's `ResizeToMultiple`: a second resize up to the next
///   multiple of d (two passes, as mmseg does, so the numbers match).
/// `resize_label: false` keeps the label at its original size (mmseg evaluates against the
/// unresized ground truth).
public struct Resize: Transform {
    public struct Config: Decodable, Equatable {
        public var scale: [Int]?
        public var keepRatio = true
        public var shortSide: Int?
        public var cropPct: Double?
        public var sizeDivisor: Int?
        public var resizeLabel = true
        /// Default bilinear (cv2's, mmseg); `bicubic` for timm's eval resize.
        public var interpolation = Interpolation.bilinear

        public init(scale: [Int]? = nil, keepRatio: Bool = true, shortSide: Int? = nil, cropPct: Double? = nil,
                    sizeDivisor: Int? = nil, resizeLabel: Bool = true, interpolation: Interpolation = .bilinear) {
            self.scale = scale; self.keepRatio = keepRatio; self.shortSide = shortSide; self.cropPct = cropPct
            self.sizeDivisor = sizeDivisor; self.resizeLabel = resizeLabel; self.interpolation = interpolation
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, scale, keepRatio = "keep_ratio", shortSide = "short_side", cropPct = "crop_pct"
            case sizeDivisor = "size_divisor", resizeLabel = "resize_label", interpolation
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            scale = try c.decodeIfPresent([Int].self, forKey: .scale)
            keepRatio = try c.decode(.keepRatio, default: keepRatio)
            shortSide = try c.decodeIfPresent(Int.self, forKey: .shortSide)
            cropPct = try c.decodeIfPresent(Double.self, forKey: .cropPct)
            sizeDivisor = try c.decodeIfPresent(Int.self, forKey: .sizeDivisor)
            resizeLabel = try c.decode(.resizeLabel, default: resizeLabel)
            interpolation = try c.decode(.interpolation, default: interpolation)
            if let s = scale, s.count != 2 || s.contains(where: { $0 < 1 }) { throw c.error(.scale, "needs two positive values [w, h], got \(s)") }
            if let s = scale, s.contains(where: { $0 > SizeHW.maximumSide }) { throw c.error(.scale, SizeHW.tooLarge("\(s)")) }
            if let s = shortSide, s > SizeHW.maximumSide { throw c.error(.shortSide, SizeHW.tooLarge("\(s)")) }
            if scale != nil && shortSide != nil { throw c.error(.shortSide, "give either scale or short_side, not both") }
            if let s = shortSide, s < 1 { throw c.error(.shortSide, "must be positive, got \(s)") }
            if let p = cropPct, !(p > 0 && p <= 1) { throw c.error(.cropPct, "must be in (0, 1], got \(p)") }
            if cropPct != nil && shortSide == nil { throw c.error(.cropPct, "only applies with short_side") }
            if let d = sizeDivisor, d < 1 { throw c.error(.sizeDivisor, "must be positive, got \(d)") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    /// The size after the first resize (before `size_divisor`).
    func targetSize(height h: Int, width w: Int) -> (height: Int, width: Int) {
        if let s = config.scale {
            return config.keepRatio ? rescaleSize(height: h, width: w, scale: (s[0], s[1])) : (s[1], s[0])
        }
        if let s0 = config.shortSide {
            let s = config.cropPct.map { Int((Double(s0) / $0).rounded(.down)) } ?? s0
            return h <= w ? (s, Int(Double(s) * Double(w) / Double(h))) : (Int(Double(s) * Double(h) / Double(w)), s)
        }
        return (h, w)
    }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        let size = targetSize(height: sample.image.height, width: sample.image.width)
        guard size.height >= 1 && size.width >= 1 else {
            throw TransformError(transform: "resize", source: sample.source, message: "gives an empty image from \(sample.image.height)×\(sample.image.width)")
        }
        let method = config.interpolation.resolved(random)
        resizeSample(&sample, height: size.height, width: size.width, label: config.resizeLabel, method)
        if let d = config.sizeDivisor {
            let h = (sample.image.height + d - 1) / d * d, w = (sample.image.width + d - 1) / d * d
            resizeSample(&sample, height: h, width: w, label: config.resizeLabel, method)
        }
    }
}
