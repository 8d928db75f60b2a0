import TensorEngine

/// mmseg `Normalize(mean, std, to_rgb)`: x' = (x − mean[c]) / std[c] per channel, defaults the
/// ImageNet statistics on the 0…255 scale every mmseg config uses.
///
/// `to_rgb`: mmseg images come from cv2 in BGR and `to_rgb: true` swaps them to RGB before
/// normalising. Our codecs already give RGB, so `to_rgb: true` (mmseg's default and what every
/// SeaFormer config sets) is a no-op here, and `to_rgb: false` — a model that was trained on BGR
/// input — swaps our RGB to BGR. Either way the channel order matches what the same mmseg config
/// feeds its model; `mean`/`std` are in that output order.
public struct Normalize: Transform {
    /// `{type: normalize, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375], to_rgb: true}`
    public struct Config: Decodable, Equatable {
        public var mean: [Float] = [123.675, 116.28, 103.53]
        public var std: [Float] = [58.395, 57.12, 57.375]
        public var toRGB = true

        public init(mean: [Float] = [123.675, 116.28, 103.53], std: [Float] = [58.395, 57.12, 57.375], toRGB: Bool = true) {
            self.mean = mean; self.std = std; self.toRGB = toRGB
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, mean, std, toRGB = "to_rgb" }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            mean = try c.decode(.mean, default: mean)
            std = try c.decode(.std, default: std)
            toRGB = try c.decode(.toRGB, default: toRGB)
            guard mean.count == std.count, !mean.isEmpty else { throw c.error(.std, "mean has \(mean.count) values and std \(std.count); give one per channel") }
            guard std.allSatisfy({ $0 > 0 }) else { throw c.error(.std, "must be positive, got \(std)") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        let c = sample.image.channels
        guard c == config.mean.count else {
            throw TransformError(transform: "normalize", source: sample.source, message: "image has \(c) channels, mean/std have \(config.mean.count)")
        }
        let swapBGR = !config.toRGB && c == 3
        let n = sample.image.height * sample.image.width
        let scale = config.std.map { 1 / $0 }, mean = config.mean
        sample.image.pixels.withUnsafeMutableBufferPointer { buf in
            scale.withUnsafeBufferPointer { sc in
                mean.withUnsafeBufferPointer { mu in
                    let p = buf.baseAddress!
                    if swapBGR {
                        for i in 0..<n {
                            let px = p + i * 3
                            let r = px[0], b = px[2]
                            px[0] = (b - mu[0]) * sc[0]; px[1] = (px[1] - mu[1]) * sc[1]; px[2] = (r - mu[2]) * sc[2]
                        }
                    } else {
                        for i in 0..<n {
                            let px = p + i * c
                            for k in 0..<c { px[k] = (px[k] - mu[k]) * sc[k] }
                        }
                    }
                }
            }
        }
    }
}
