import TensorEngine

/// mmseg `RandomFlip(prob, direction)` / torchvision `RandomHorizontalFlip(p)`: with probability
/// `prob` (drawn as `rand() < prob`) mirrors the image and the label together.
public struct RandomFlip: Transform {
    public enum Direction: String, Decodable, Equatable { case horizontal, vertical }

    /// `{type: random_flip, prob: 0.5, direction: horizontal}`
    public struct Config: Decodable, Equatable {
        public var prob = 0.5
        public var direction = Direction.horizontal

        public init(prob: Double = 0.5, direction: Direction = .horizontal) { self.prob = prob; self.direction = direction }

        enum CodingKeys: String, CodingKey, CaseIterable { case type, prob, direction }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            prob = try c.decode(.prob, default: prob)
            direction = try c.decode(.direction, default: direction)
            guard (0...1).contains(prob) else { throw c.error(.prob, "must be in [0, 1], got \(prob)") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        guard random.drawChance(config.prob) else { return }
        let horizontal = config.direction == .horizontal
        let img = sample.image
        sample.image.pixels.withUnsafeMutableBufferPointer { p in
            flip(p.baseAddress!, height: img.height, width: img.width, channels: img.channels, horizontal: horizontal)
        }
        if let l = sample.label {
            sample.label!.values.withUnsafeMutableBufferPointer { p in
                flip(p.baseAddress!, height: l.height, width: l.width, channels: 1, horizontal: horizontal)
            }
        }
    }
}

/// Mirrors an interleaved HWC buffer in place by swapping pixels (or whole rows).
private func flip<T>(_ p: UnsafeMutablePointer<T>, height: Int, width: Int, channels c: Int, horizontal: Bool) {
    if horizontal {
        for y in 0..<height {
            let row = p + y * width * c
            var a = 0, b = width - 1
            while a < b {
                for k in 0..<c { swap(&row[a * c + k], &row[b * c + k]) }
                a += 1; b -= 1
            }
        }
    } else {
        let rowLen = width * c
        var a = 0, b = height - 1
        while a < b {
            for i in 0..<rowLen { swap(&p[a * rowLen + i], &p[b * rowLen + i]) }
            a += 1; b -= 1
        }
    }
}
