import Foundation
import TensorEngine

/// mmseg `RandomCrop(crop_size, cat_max_ratio, ignore_index)`. The offset is uniform over all
/// positions; an image smaller than the crop keeps its size on that axis (numpy slicing; a
/// later `pad` fills it). With cat_max_ratio < 1 the crop is redrawn up to 10 times until it
/// holds at least two classes and no class covers ≥ cat_max_ratio of its non-ignored pixels;
/// after 10 failures the 11th draw is used unchecked — exactly mmseg's loop.
public struct RandomCrop: Transform {
    /// `{type: random_crop, crop_size: [512, 512], cat_max_ratio: 0.75}` (mmseg default ratio 1.0 = no check)
    public struct Config: Decodable, Equatable {
        public var cropSize: SizeHW
        public var catMaxRatio = 1.0
        public var ignoreIndex = Int(LabelMap.ignore)

        public init(cropSize: SizeHW, catMaxRatio: Double = 1.0, ignoreIndex: Int = Int(LabelMap.ignore)) {
            self.cropSize = cropSize; self.catMaxRatio = catMaxRatio; self.ignoreIndex = ignoreIndex
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, cropSize = "crop_size", catMaxRatio = "cat_max_ratio", ignoreIndex = "ignore_index" }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cropSize = try c.decode(SizeHW.self, forKey: .cropSize)
            catMaxRatio = try c.decode(.catMaxRatio, default: catMaxRatio)
            ignoreIndex = try c.decode(.ignoreIndex, default: ignoreIndex)
            guard catMaxRatio > 0 && catMaxRatio <= 1 else { throw c.error(.catMaxRatio, "must be in (0, 1], got \(catMaxRatio)") }
            guard (0...255).contains(ignoreIndex) else { throw c.error(.ignoreIndex, "must be a label value 0…255, got \(ignoreIndex)") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    /// mmseg's `get_crop_bbox`.
    func drawRect(height: Int, width: Int, random: RandomGenerator) -> PixelRect {
        let marginH = max(height - config.cropSize.height, 0), marginW = max(width - config.cropSize.width, 0)
        let y = random.drawInt(0, marginH + 1), x = random.drawInt(0, marginW + 1)
        return PixelRect(y: y, x: x, height: min(config.cropSize.height, height), width: min(config.cropSize.width, width))
    }

    /// mmseg's acceptance test: ≥ 2 non-ignored classes and the largest below the ratio.
    func acceptable(_ label: LabelMap, _ r: PixelRect) -> Bool {
        var counts = [Int](repeating: 0, count: 256)
        label.values.withUnsafeBufferPointer { v in
            counts.withUnsafeMutableBufferPointer { h in
                for y in r.y..<(r.y + r.height) {
                    let row = v.baseAddress! + y * label.width + r.x
                    for x in 0..<r.width { h[Int(row[x])] += 1 }
                }
            }
        }
        counts[config.ignoreIndex] = 0
        let present = counts.filter { $0 > 0 }
        guard present.count > 1 else { return false }
        return Double(present.max()!) / Double(present.reduce(0, +)) < config.catMaxRatio
    }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        try requireAlignedLabel(sample, "random_crop")
        var rect = drawRect(height: sample.image.height, width: sample.image.width, random: random)
        if config.catMaxRatio < 1, let label = sample.label {
            for _ in 0..<10 {
                if acceptable(label, rect) { break }
                rect = drawRect(height: sample.image.height, width: sample.image.width, random: random)
            }
        }
        sample.image = cropImage(sample.image, rect)
        if let l = sample.label { sample.label = cropLabel(l, rect) }
    }
}

/// torchvision `CenterCrop(size)`: top = round((h − ch)/2), left = round((w − cw)/2) with
/// Python's round-half-to-even; an image smaller than the crop is first zero-padded on both
/// sides (left/top get (size − w)/2 rounded down), as torchvision does.
public struct CenterCrop: Transform {
    /// `{type: center_crop, size: 224}` or `size: [h, w]`
    public struct Config: Decodable, Equatable {
        public var size: SizeHW
        public init(size: SizeHW) { self.size = size }
        enum CodingKeys: String, CodingKey, CaseIterable { case type, size }
        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            size = try decoder.container(keyedBy: CodingKeys.self).decode(SizeHW.self, forKey: .size)
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        try requireAlignedLabel(sample, "center_crop")
        let ch = config.size.height, cw = config.size.width
        if sample.image.height < ch || sample.image.width < cw {
            let h = max(ch, sample.image.height), w = max(cw, sample.image.width)
            let top = (h - sample.image.height) / 2, left = (w - sample.image.width) / 2
            sample.image = padImage(sample.image, height: h, width: w, top: top, left: left, value: 0)
            if let l = sample.label { sample.label = padLabel(l, height: h, width: w, top: top, left: left, value: LabelMap.ignore) }
        }
        let top = Int((Double(sample.image.height - ch) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(sample.image.width - cw) / 2).rounded(.toNearestOrEven))
        let rect = PixelRect(y: top, x: left, height: ch, width: cw)
        sample.image = cropImage(sample.image, rect)
        if let l = sample.label { sample.label = cropLabel(l, rect) }
    }
}

/// torchvision `RandomResizedCrop(size, scale, ratio)`: up to 10 draws of area fraction
/// ~ U[scale) and log-aspect ~ U[log ratio); w = round(√(A·r)), h = round(√(A/r)) (half to
/// even); the first that fits is placed uniformly. Otherwise the central crop with the aspect
/// clamped into `ratio`. The crop is resampled to `size` (image by `interpolation`, label
/// nearest). timm's `RandomResizedCropAndInterpolation` with `interpolation: random` draws the
/// method after the rectangle, as timm does.
public struct RandomResizedCrop: Transform {
    /// `{type: random_resized_crop, size: 224, scale: [0.08, 1.0], ratio: [0.75, 1.3333], interpolation: random}`
    public struct Config: Decodable, Equatable {
        public var size: SizeHW
        public var scale = ClosedPair(0.08, 1.0)
        public var ratio = ClosedPair(3.0 / 4.0, 4.0 / 3.0)
        /// Default bilinear (cv2's).
        public var interpolation = Interpolation.bilinear

        public init(size: SizeHW, scale: ClosedPair = ClosedPair(0.08, 1.0), ratio: ClosedPair = ClosedPair(3.0 / 4.0, 4.0 / 3.0),
                    interpolation: Interpolation = .bilinear) {
            self.size = size; self.scale = scale; self.ratio = ratio; self.interpolation = interpolation
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, size, scale, ratio, interpolation }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decode(SizeHW.self, forKey: .size)
            scale = try c.decode(.scale, default: scale)
            ratio = try c.decode(.ratio, default: ratio)
            interpolation = try c.decode(.interpolation, default: interpolation)
            guard scale.low > 0 && scale.high <= 1 else { throw c.error(.scale, "area fractions must be in (0, 1], got [\(scale.low), \(scale.high)]") }
            guard ratio.low > 0 else { throw c.error(.ratio, "aspect ratios must be positive, got [\(ratio.low), \(ratio.high)]") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    /// torchvision's `get_params`.
    func drawRect(height: Int, width: Int, random: RandomGenerator) -> PixelRect {
        let area = Double(height * width)
        let logLow = Foundation.log(config.ratio.low), logHigh = Foundation.log(config.ratio.high)
        for _ in 0..<10 {
            let target = area * random.drawUniform(config.scale.low, config.scale.high)
            let aspect = Foundation.exp(random.drawUniform(logLow, logHigh))
            let w = Int((target * aspect).squareRoot().rounded(.toNearestOrEven))
            let h = Int((target / aspect).squareRoot().rounded(.toNearestOrEven))
            if w > 0 && w <= width && h > 0 && h <= height {
                let y = random.drawInt(0, height - h + 1), x = random.drawInt(0, width - w + 1)
                return PixelRect(y: y, x: x, height: h, width: w)
            }
        }
        let inRatio = Double(width) / Double(height)
        var w = width, h = height
        if inRatio < config.ratio.low {
            h = Int((Double(w) / config.ratio.low).rounded(.toNearestOrEven))
        } else if inRatio > config.ratio.high {
            w = Int((Double(h) * config.ratio.high).rounded(.toNearestOrEven))
        }
        return PixelRect(y: (height - h) / 2, x: (width - w) / 2, height: h, width: w)
    }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        try requireAlignedLabel(sample, "random_resized_crop")
        let rect = drawRect(height: sample.image.height, width: sample.image.width, random: random)
        let method = config.interpolation.resolved(random)
        sample.image = resizeImage(sample.image, height: config.size.height, width: config.size.width, from: rect, method)
        if let l = sample.label { sample.label = resizeNearest(l, height: config.size.height, width: config.size.width, from: rect) }
    }
}
