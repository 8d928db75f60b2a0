import TensorEngine

/// mmseg `Pad(size | size_divisor, pad_val, seg_pad_val)`: pads bottom and right, image with
/// `pad_val` (0, applied after `normalize` in mmseg pipelines, so 0 means "the mean colour")
/// and label with `seg_pad_val` (255 = ignored by loss and metrics).
public struct Pad: Transform {
    /// `{type: pad, size: [512, 512], pad_val: 0, seg_pad_val: 255}` or `{type: pad, size_divisor: 32}`
    public struct Config: Decodable, Equatable {
        public var size: SizeHW?
        public var sizeDivisor: Int?
        public var padVal: Float = 0
        public var segPadVal = Int(LabelMap.ignore)

        public init(size: SizeHW? = nil, sizeDivisor: Int? = nil, padVal: Float = 0, segPadVal: Int = Int(LabelMap.ignore)) {
            self.size = size; self.sizeDivisor = sizeDivisor; self.padVal = padVal; self.segPadVal = segPadVal
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, size, sizeDivisor = "size_divisor", padVal = "pad_val", segPadVal = "seg_pad_val" }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            size = try c.decodeIfPresent(SizeHW.self, forKey: .size)
            sizeDivisor = try c.decodeIfPresent(Int.self, forKey: .sizeDivisor)
            padVal = try c.decode(.padVal, default: padVal)
            segPadVal = try c.decode(.segPadVal, default: segPadVal)
            guard (size == nil) != (sizeDivisor == nil) else { throw c.error(.size, "give exactly one of size and size_divisor (mmseg asserts the same)") }
            if let d = sizeDivisor, d < 1 { throw c.error(.sizeDivisor, "must be positive, got \(d)") }
            guard (0...255).contains(segPadVal) else { throw c.error(.segPadVal, "must be a label value 0…255, got \(segPadVal)") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        try requireAlignedLabel(sample, "pad")
        let h = sample.image.height, w = sample.image.width
        var target = (h, w)
        if let s = config.size {
            guard h <= s.height && w <= s.width else {
                throw TransformError(transform: "pad", source: sample.source,
                                     message: "image \(h)×\(w) is larger than the pad size \(s); crop or resize it first")
            }
            target = (s.height, s.width)
        } else if let d = config.sizeDivisor {
            target = ((h + d - 1) / d * d, (w + d - 1) / d * d)
        }
        if target == (h, w) { return }
        sample.image = padImage(sample.image, height: target.0, width: target.1, value: config.padVal)
        if let l = sample.label { sample.label = padLabel(l, height: target.0, width: target.1, value: UInt8(config.segPadVal)) }
    }
}
