import Foundation
import TensorEngine

/// timm's `RandomErasing` (Zhong et al. 2017; `--reprob 0.2 --remode pixel` in SeaFormer's
/// ImageNet recipe): with probability `prob`, one rectangle of the (already normalised) image is
/// replaced by noise. The rectangle's area is a uniform fraction of the image in `area`, its
/// aspect ratio log-uniform in `ratio`; up to 10 tries find one that fits, else nothing is erased.
/// `mode: pixel` fills every value with N(0, 1) (timm's default for `remode pixel`), `rand` one
/// N(0, 1) value per channel, `const` zeros. Run it after `normalize`, as timm does.
public struct RandomErasing: Transform {
    public enum Mode: String, CaseIterable, Decodable, Sendable { case pixel, rand, const }

    public struct Config: Decodable, Equatable, Sendable {
        public var prob = 0.5
        public var area = ClosedPair(0.02, 1.0 / 3.0)
        public var ratio = ClosedPair(0.3, 1 / 0.3)
        public var mode: Mode = .pixel

        public init(prob: Double = 0.5, mode: Mode = .pixel) { self.prob = prob; self.mode = mode }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, prob, area, ratio, mode }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prob = try c.decode(.prob, default: prob, in: 0.0...1.0)
            area = try c.decode(.area, default: area)
            ratio = try c.decode(.ratio, default: ratio)
            mode = try c.decode(.mode, default: mode)
            guard area.low > 0 && area.high <= 1 else { throw c.error(.area, "must lie in (0, 1], got [\(area.low), \(area.high)]") }
            guard ratio.low > 0 else { throw c.error(.ratio, "must be positive, got [\(ratio.low), \(ratio.high)]") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        guard random.drawChance(config.prob) else { return }
        let H = sample.image.height, W = sample.image.width, C = sample.image.channels
        let logLow = Foundation.log(config.ratio.low), logHigh = Foundation.log(config.ratio.high)
        for _ in 0..<10 {
            let target = random.drawUniform(config.area.low, config.area.high) * Double(H * W)
            let aspect = Foundation.exp(random.drawUniform(logLow, logHigh))
            let h = Int((target * aspect).squareRoot().rounded()), w = Int((target / aspect).squareRoot().rounded())
            guard h >= 1, w >= 1, h < H, w < W else { continue }
            // Python's randint, inclusive of H − h and W − w as timm draws them.
            let top = random.drawInt(0, H - h + 1), left = random.drawInt(0, W - w + 1)
            let noise: [Float]
            switch config.mode {
            case .pixel: noise = Tensor.normal([h * w * C], generator: random).toArray()
            case .rand: noise = Tensor.normal([C], generator: random).toArray()
            case .const: noise = [Float](repeating: 0, count: C)
            }
            for y in top..<(top + h) {
                for x in left..<(left + w) {
                    for ch in 0..<C {
                        let i = ((y - top) * w + (x - left)) * C + ch
                        sample.image.pixels[(y * W + x) * C + ch] = config.mode == .pixel ? noise[i] : noise[ch]
                    }
                }
            }
            return
        }
    }
}
