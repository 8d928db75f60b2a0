import Foundation
import TensorEngine

/// timm's RandAugment (`--aa rand-m9-mstd0.5`, SeaFormer's ImageNet recipe): `num_ops` ops
/// drawn uniformly with replacement from timm's list, each applied with probability `prob` at a
/// magnitude drawn from N(magnitude, magnitude_std) clipped to [0, magnitude_max] (uniform in
/// [0, magnitude] when the std is `inf`). The ops are Pillow's 8-bit functions (`PILImageOps`),
/// so the image is rounded to 8 bits first, as the PIL image timm augments is. Geometric ops
/// fill with the ImageNet mean (timm's `img_mean`) and resample bilinearly or bicubically
/// (`interpolation: random` draws per op, timm's default).
///
/// `{type: rand_augment, policy: rand-m9-mstd0.5}` — or the settings one by one:
/// `{type: rand_augment, magnitude: 9, magnitude_std: 0.5, num_ops: 2, prob: 0.5, increasing: false}`.
public struct RandAugment: Transform {
    public struct Config: Decodable, Equatable {
        /// Level of every op, 0…`magnitudeMax` (timm's `m`). Default 10, timm's.
        public var magnitude: Double = 10
        /// timm's `mstd`: 0 (default) = fixed magnitude; `.infinity` (`inf`, or > 100 in a
        /// policy) = uniform in [0, magnitude].
        public var magnitudeStd: Double = 0
        /// timm's `mmax`: upper clip of the drawn magnitude. Default 10.
        public var magnitudeMax: Double = 10
        /// timm's `n`: ops per image. Default 2.
        public var numOps = 2
        /// timm's `p`: probability of each drawn op. Default 0.5.
        public var prob = 0.5
        /// timm's `inc1`: the variants whose strength grows with magnitude. Default false.
        public var increasing = false
        /// Fill of the geometric ops, RGB 0…255. Default timm's ImageNet mean (124, 116, 104).
        public var fill: [Int] = [124, 116, 104]
        /// Resampling of the geometric ops: `random` (default), `pil_bilinear` or `bicubic`.
        public var interpolation = Interpolation.random
        /// Translation range as a fraction of the side (timm's `translate_pct`). Default 0.45.
        public var translatePct = 0.45

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, policy, magnitude, magnitudeStd = "magnitude_std", magnitudeMax = "magnitude_max", numOps = "num_ops"
            case prob, increasing, fill, interpolation, translatePct = "translate_pct"
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if let policy = try c.decodeIfPresent(String.self, forKey: .policy) {
                for key in [CodingKeys.magnitude, .magnitudeStd, .magnitudeMax, .numOps, .prob, .increasing] where c.contains(key) {
                    throw c.error(key, "is set by policy '\(policy)' already; give either the policy string or the settings")
                }
                do { try parse(policy) } catch let message as PolicyError { throw c.error(.policy, message.text) }
            } else {
                magnitude = try c.decode(.magnitude, default: magnitude)
                if let s = try c.decodeIfPresent(String.self, forKey: .magnitudeStd) {
                    guard s == "inf" else { throw c.error(.magnitudeStd, "must be a number or 'inf', got '\(s)'") }
                    magnitudeStd = .infinity
                } else {
                    magnitudeStd = try c.decode(.magnitudeStd, default: magnitudeStd)
                }
                magnitudeMax = try c.decode(.magnitudeMax, default: magnitudeMax)
                numOps = try c.decode(.numOps, default: numOps)
                prob = try c.decode(.prob, default: prob)
                increasing = try c.decode(.increasing, default: increasing)
            }
            fill = try c.decode(.fill, default: fill)
            interpolation = try c.decode(.interpolation, default: interpolation)
            translatePct = try c.decode(.translatePct, default: translatePct)
            guard magnitude.isFinite && magnitude >= 0 else { throw c.error(.magnitude, "must be ≥ 0, got \(magnitude)") }
            guard magnitudeStd >= 0 else { throw c.error(.magnitudeStd, "must be ≥ 0, got \(magnitudeStd)") }
            guard magnitudeMax.isFinite && magnitudeMax > 0 else { throw c.error(.magnitudeMax, "must be > 0, got \(magnitudeMax)") }
            guard (1...16).contains(numOps) else { throw c.error(.numOps, "must be in [1, 16], got \(numOps)") }
            guard (0...1).contains(prob) else { throw c.error(.prob, "must be in [0, 1], got \(prob)") }
            guard fill.count == 3 && fill.allSatisfy({ (0...255).contains($0) }) else { throw c.error(.fill, "needs three values in 0…255 (RGB), got \(fill)") }
            guard interpolation != .bilinear else {
                throw c.error(.interpolation, "RandAugment resamples as Pillow does: use random, pil_bilinear or bicubic")
            }
            guard (0...1).contains(translatePct) else { throw c.error(.translatePct, "must be in [0, 1], got \(translatePct)") }
        }

        struct PolicyError: Error { let text: String }

        /// timm's `rand_augment_transform` string: `rand` then `-`-separated settings `m9`,
        /// `n2`, `mstd0.5`, `mmax10`, `p0.5`, `inc1`.
        mutating func parse(_ policy: String) throws {
            let parts = policy.split(separator: "-").map(String.init)
            guard parts.first == "rand" else { throw PolicyError(text: "must start with 'rand' (timm's RandAugment string, e.g. rand-m9-mstd0.5), got '\(policy)'") }
            for part in parts.dropFirst() {
                guard let digit = part.firstIndex(where: { $0.isNumber || $0 == "." }) else {
                    throw PolicyError(text: "setting '\(part)' has no value (e.g. m9, n2, mstd0.5, mmax10, p0.5, inc1)")
                }
                let key = String(part[..<digit]), text = String(part[digit...])
                guard let value = Double(text) else { throw PolicyError(text: "setting '\(part)': '\(text)' is not a number") }
                switch key {
                case "m": magnitude = value
                case "n":
                    guard value == value.rounded() else { throw PolicyError(text: "setting '\(part)': the op count must be an integer") }
                    numOps = Int(value)
                case "mstd": magnitudeStd = value > 100 ? .infinity : value
                case "mmax": magnitudeMax = value
                case "p": prob = value
                case "inc": increasing = value != 0
                default:
                    let known = ["m", "n", "mstd", "mmax", "p", "inc"]
                    throw PolicyError(text: "unknown setting '\(key)' in '\(policy)' (known: \(known.joined(separator: ", ")))"
                                            + (nearestName(to: key, in: known).map { "; did you mean '\($0)'?" } ?? ""))
                }
            }
        }
    }

    /// timm's `_RAND_TRANSFORMS` (and `_RAND_INCREASING_TRANSFORMS` with `increasing`).
    enum Op: CaseIterable {
        case autoContrast, equalize, invert, rotate, posterize, solarize, solarizeAdd, color, contrast, brightness, sharpness
        case shearX, shearY, translateXRel, translateYRel
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        guard sample.image.channels == 3 else {
            throw TransformError(transform: "rand_augment", source: sample.source, message: "needs an RGB image, got \(sample.image.channels) channels")
        }
        var image = ByteImage(sample.image)
        for _ in 0..<config.numOps {
            let op = Op.allCases[random.drawInt(0, Op.allCases.count)]
            image = apply(op, to: image, random: random)
        }
        sample.image = image.image
    }

    /// One op as timm's `AugmentOp.__call__`: the probability draw, the magnitude draw, the
    /// op's level-to-argument mapping (with its random sign), then the op.
    func apply(_ op: Op, to image: ByteImage, random: RandomGenerator) -> ByteImage {
        if config.prob < 1 && !random.drawChance(config.prob) { return image }
        var m = config.magnitude
        if config.magnitudeStd == .infinity {
            m = random.drawUniform(0, m)
        } else if config.magnitudeStd > 0 {
            m += config.magnitudeStd * Double(Tensor.normal([1], generator: random).item())
        }
        m = max(0, min(m, config.magnitudeMax))
        return apply(op, level: m / 10, to: image, random: random)
    }

    /// `level` is magnitude / 10 (timm's `_LEVEL_DENOM`).
    func apply(_ op: Op, level: Double, to image: ByteImage, random: RandomGenerator) -> ByteImage {
        func signed(_ v: Double) -> Double { random.drawChance(0.5) ? v : -v }
        func resample() -> PILOps.Resample {
            switch config.interpolation.resolved(random) { case .bicubic: return .bicubic; default: return .bilinear }
        }
        let fill = config.fill.map { UInt8($0) }
        // Colour ops: 0.1…1.9 around 1; the increasing variants 1 ± 0.9·level, at least 0.1.
        func enhance() -> Double { config.increasing ? max(0.1, 1 + signed(level * 0.9)) : level * 1.8 + 0.1 }
        switch op {
        case .autoContrast: return PILOps.autocontrast(image)
        case .equalize: return PILOps.equalize(image)
        case .invert: return PILOps.invert(image)
        case .rotate:
            let degrees = signed(level * 30)
            return PILOps.rotate(image, degrees: degrees, resample(), fill: fill)
        case .posterize:
            let bits = Int(level * 4)
            return PILOps.posterize(image, bits: config.increasing ? 4 - bits : bits)
        case .solarize:
            let threshold = Int(level * 256)
            return PILOps.solarize(image, threshold: config.increasing ? 256 - threshold : threshold)
        case .solarizeAdd: return PILOps.solarizeAdd(image, add: Int(level * 110))
        case .color: return PILOps.color(image, enhance())
        case .contrast: return PILOps.contrast(image, enhance())
        case .brightness: return PILOps.brightness(image, enhance())
        case .sharpness: return PILOps.sharpness(image, enhance())
        case .shearX:
            let f = signed(level * 0.3)
            return PILOps.affine(image, [1, f, 0, 0, 1, 0], resample(), fill: fill)
        case .shearY:
            let f = signed(level * 0.3)
            return PILOps.affine(image, [1, 0, 0, f, 1, 0], resample(), fill: fill)
        case .translateXRel:
            let pixels = signed(level * config.translatePct) * Double(image.width)
            return PILOps.affine(image, [1, 0, pixels, 0, 1, 0], resample(), fill: fill)
        case .translateYRel:
            let pixels = signed(level * config.translatePct) * Double(image.height)
            return PILOps.affine(image, [1, 0, 0, 0, 1, pixels], resample(), fill: fill)
        }
    }
}
