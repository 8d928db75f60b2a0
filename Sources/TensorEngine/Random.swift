import Foundation

/// Counter-based random numbers (Philox-4×32-10, Salmon et al. 2011, as in cuRAND and JAX).
/// Value `i` of a draw depends only on (seed, offset + i/4), so generation splits over threads
/// without changing a single number, and the whole state is two integers that a checkpoint
/// saves and restores.
public final class RandomGenerator {
    /// The key. Changing it starts an unrelated stream.
    public private(set) var seed: UInt64
    /// Number of 128-bit blocks consumed so far.
    public var offset: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        self.offset = 0
    }

    /// The engine-wide generator used when an op is not given one.
    nonisolated(unsafe) public static var global = RandomGenerator(seed: 0)

    /// Restarts the global stream from `seed` (PyTorch's `manual_seed`).
    public static func manualSeed(_ seed: UInt64) { global = RandomGenerator(seed: seed) }

    /// Everything needed to continue the stream exactly: `[seed, offset]`.
    public var state: [UInt64] {
        get { [seed, offset] }
        set {
            precondition(newValue.count == 2, "RandomGenerator.state takes [seed, offset], got \(newValue.count) values")
            seed = newValue[0]
            offset = newValue[1]
        }
    }

    /// Philox-4×32 with 10 rounds: four 32-bit outputs for one 128-bit counter.
    @inline(__always)
    static func philox(counter: UInt64, key: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        philox(UInt32(truncatingIfNeeded: counter), UInt32(truncatingIfNeeded: counter >> 32), 0, 0,
               key: UInt32(truncatingIfNeeded: key), UInt32(truncatingIfNeeded: key >> 32))
    }

    @inline(__always)
    static func philox(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32,
                       key k0: UInt32, _ k1: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = c0, c1 = c1, c2 = c2, c3 = c3, k0 = k0, k1 = k1
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0), p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            c1 = UInt32(truncatingIfNeeded: p1); c3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0; c2 = n2
            k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Fills `n` values; `make(block, u0…u3)` turns one block's four words into four values.
    func fill(_ out: UnsafeMutablePointer<Float>, _ n: Int, _ make: (UInt32, UInt32, UInt32, UInt32, UnsafeMutablePointer<Float>) -> Void) {
        let blocks = (n + 3) / 4
        let base = offset, key = seed
        offset &+= UInt64(blocks)
        parallelFor(blocks, grain: 4096) { r in
            var tmp = (Float(0), Float(0), Float(0), Float(0))
            withUnsafeMutableBytes(of: &tmp) { raw in
                let four = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                for b in r {
                    let (a, bb, c, d) = Self.philox(counter: base &+ UInt64(b), key: key)
                    make(a, bb, c, d, four)
                    let m = Swift.min(4, n - b * 4)
                    (out + b * 4).update(from: four, count: m)
                }
            }
        }
    }

    /// Uniform in [0, 1) with 24 random bits, from one 32-bit word.
    @inline(__always) static func unit(_ u: UInt32) -> Float { Float(u >> 8) * (1.0 / 16_777_216.0) }
}

extension Tensor {
    /// Uniform on [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, generator: RandomGenerator = .global) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let span = high - low
        generator.fill(t.pointer, t.count) { a, b, c, d, o in
            o[0] = low + span * RandomGenerator.unit(a); o[1] = low + span * RandomGenerator.unit(b)
            o[2] = low + span * RandomGenerator.unit(c); o[3] = low + span * RandomGenerator.unit(d)
        }
        return t
    }

    /// Normal with the given mean and standard deviation (Box–Muller, two values per pair of words).
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: RandomGenerator = .global) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        generator.fill(t.pointer, t.count) { a, b, c, d, o in
            let (z0, z1) = boxMuller(a, b), (z2, z3) = boxMuller(c, d)
            o[0] = mean + std * z0; o[1] = mean + std * z1; o[2] = mean + std * z2; o[3] = mean + std * z3
        }
        return t
    }

    /// Normal truncated to [a, b] (absolute bounds, as PyTorch's `trunc_normal_`), drawn by the
    /// inverse CDF so each value uses a fixed number of random words.
    public static func truncatedNormal(_ shape: [Int], mean: Float = 0, std: Float = 1, a: Float = -2, b: Float = 2,
                                       generator: RandomGenerator = .global) -> Tensor {
        precondition(a < b, "truncatedNormal: lower bound \(a) must be below upper bound \(b)")
        func cdf(_ x: Double) -> Double { 0.5 * (1 + Foundation.erf(x / 2.0.squareRoot())) }
        let lo = cdf(Double((a - mean) / std)), hi = cdf(Double((b - mean) / std))
        let t = Tensor(uninitializedShape: shape)
        // One value per word, written out rather than looped over an array of the four words:
        // the array was allocated per block of four, 15× the cost of `normal` in a debug build.
        @inline(__always) func draw(_ w: UInt32) -> Float {
            let u = lo + (hi - lo) * (Double(w) + 0.5) / 4_294_967_296.0
            let v = Double(mean) + Double(std) * 2.0.squareRoot() * erfinv(2 * u - 1)
            return Swift.min(Swift.max(Float(v), a), b)
        }
        generator.fill(t.pointer, t.count) { w0, w1, w2, w3, o in
            o[0] = draw(w0); o[1] = draw(w1); o[2] = draw(w2); o[3] = draw(w3)
        }
        return t
    }

    /// 1 with probability `p`, else 0.
    public static func bernoulli(_ shape: [Int], p: Float, generator: RandomGenerator = .global) -> Tensor {
        precondition(p >= 0 && p <= 1, "bernoulli: probability \(p) is outside [0, 1]")
        let t = Tensor(uninitializedShape: shape)
        generator.fill(t.pointer, t.count) { a, b, c, d, o in
            o[0] = RandomGenerator.unit(a) < p ? 1 : 0; o[1] = RandomGenerator.unit(b) < p ? 1 : 0
            o[2] = RandomGenerator.unit(c) < p ? 1 : 0; o[3] = RandomGenerator.unit(d) < p ? 1 : 0
        }
        return t
    }
}

@inline(__always)
private func boxMuller(_ a: UInt32, _ b: UInt32) -> (Float, Float) {
    let u1 = (Float(a >> 8) + 1) * (1.0 / 16_777_216.0)  // (0, 1]: log never sees 0
    let u2 = RandomGenerator.unit(b)
    let r = (-2 * Foundation.log(u1)).squareRoot()
    let theta = 2 * Float.pi * u2
    return (r * Foundation.cos(theta), r * Foundation.sin(theta))
}

/// Inverse error function: Giles' (2010) approximation refined by two Newton steps on erf.
func erfinv(_ x: Double) -> Double {
    if x <= -1 { return -.infinity }
    if x >= 1 { return .infinity }
    var w = -Foundation.log((1 - x) * (1 + x))
    var p: Double
    if w < 5 {
        w -= 2.5
        p = 2.81022636e-08
        for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                  -0.00417768164, 0.246640727, 1.50140941] { p = c + p * w }
    } else {
        w = w.squareRoot() - 3
        p = -0.000200214257
        for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                  0.00943887047, 1.00167406, 2.83297682] { p = c + p * w }
    }
    var y = p * x
    for _ in 0..<2 {  // Newton on erf(y) = x
        let err = Foundation.erf(y) - x
        y -= err / (2 / Double.pi.squareRoot() * Foundation.exp(-y * y))
    }
    return y
}
