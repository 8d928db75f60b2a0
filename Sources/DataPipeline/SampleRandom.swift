import Foundation
import TensorEngine

/// Seeds for the data pipeline. Every random stream is keyed by a hash of where it is used
/// (seed, epoch, sample index, purpose), not drawn from a shared stream, so results do not
/// depend on thread scheduling or on how many workers run, and a resumed run can rebuild any
/// stream from the sampler position alone.
public enum DataSeed {
    /// SplitMix64's finaliser: a bijective mix with full avalanche, so nearby inputs
    /// (index 7 and 8) give unrelated Philox keys.
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Combines parts in order (mix is not symmetric, so (1, 2) ≠ (2, 1)).
    public static func combine(_ parts: UInt64...) -> UInt64 {
        var h: UInt64 = 0x5EED_DA7A
        for p in parts { h = mix(h ^ mix(p)) }
        return h
    }

    /// Purpose tags, so that e.g. the shuffle of epoch 3 and the augmentation of sample 3 never
    /// share a stream.
    static let augmentTag: UInt64 = 0xA067_0000
    static let shuffleTag: UInt64 = 0x5B0F_0000
    static let syntheticTag: UInt64 = 0x5E17_0000
}

extension RandomGenerator {
    /// The generator that augments dataset example `index` in `epoch` of a run seeded `seed`.
    public static func forSample(seed: UInt64, epoch: Int, index: Int) -> RandomGenerator {
        RandomGenerator(seed: DataSeed.combine(DataSeed.augmentTag, seed, UInt64(epoch), UInt64(index)))
    }

    // Single draws for transforms. A draw goes through `Tensor.uniform` (the engine's only
    // public way to read the Philox stream); a one-element tensor is generated inline, never on
    // the OpenMP pool, which is what loader threads must avoid.

    /// Uniform in [0, 1), 24 random bits.
    func drawUnit() -> Float { Tensor.uniform([1], generator: self).item() }

    /// Uniform in [low, high) (numpy's `uniform`).
    func drawUniform(_ low: Double, _ high: Double) -> Double { low + (high - low) * Double(drawUnit()) }

    /// Integer in [low, high) (numpy's and torch's `randint`, exclusive high).
    func drawInt(_ low: Int, _ high: Int) -> Int {
        precondition(high > low, "drawInt: empty range [\(low), \(high))")
        let span = UInt64(high - low)
        return low + Int(drawBits48() % span)
    }

    /// 48 random bits from two draws, so `drawInt` is unbiased to ~2⁻²⁴ even for ImageNet-sized
    /// ranges.
    func drawBits48() -> UInt64 {
        let t = Tensor.uniform([2], generator: self)
        return t.withUnsafeBufferPointer { p in (UInt64(p[0] * 16_777_216) << 24) | UInt64(p[1] * 16_777_216) }
    }

    /// True with probability `p` (`np.random.rand() < p`).
    func drawChance(_ p: Double) -> Bool { Double(drawUnit()) < p }
}

/// Many uniform draws at once, for code that needs hundreds (the synthetic scenes, shuffles).
/// Refills in chunks small enough that `Tensor.uniform` stays inline on the calling thread.
struct UniformStream {
    let generator: RandomGenerator
    private var buffer: [Float] = []
    private var position = 0
    private static let chunk = 4096

    init(_ generator: RandomGenerator) { self.generator = generator }

    /// Uniform in [0, 1).
    mutating func next() -> Float {
        if position == buffer.count {
            buffer = Tensor.uniform([Self.chunk], generator: generator).toArray()
            position = 0
        }
        defer { position += 1 }
        return buffer[position]
    }

    /// Uniform in [low, high).
    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * next() }

    /// Integer in [low, high).
    mutating func int(_ low: Int, _ high: Int) -> Int {
        precondition(high > low, "UniformStream.int: empty range [\(low), \(high))")
        let bits = (UInt64(next() * 16_777_216) << 24) | UInt64(next() * 16_777_216)
        return low + Int(bits % UInt64(high - low))
    }

    /// Standard normal (Box–Muller, one value per two draws).
    mutating func normal() -> Float {
        let u1 = 1 - next(), u2 = next()  // u1 in (0, 1]: log never sees 0
        return (-2 * log(u1)).squareRoot() * cos(2 * Float.pi * u2)
    }
}
