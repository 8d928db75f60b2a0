import Foundation

/// PyTorch's CPU generator (`torch.Generator().manual_seed(s)`), value for value, for the few
/// recipe parts whose reference draws from it (timm's learning-rate noise). It is MT19937
/// seeded as `std::mt19937(s)`; a double is 53 bits of two 32-bit draws (first draw high);
/// `randn` on a one-element float tensor is Box–Muller in Double whose second value is cached
/// for the next call, rounded to Float; `rand` is 24 bits of one draw. Checked against torch in
/// `LRNoiseTests` (values from `torch.randn(1, generator=g)`).
public struct TorchCPUGenerator {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624
    private var cachedNormal: Double?

    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for j in 1..<624 {
            state[j] = 1_812_433_253 &* (state[j - 1] ^ (state[j - 1] >> 30)) &+ UInt32(j)
        }
    }

    public mutating func next32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for k in 0..<624 {
            let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7FFF_FFFF)
            state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1) != 0 ? 0x9908_B0DF : 0)
        }
        index = 0
    }

    /// A uniform double in [0, 1) from 53 bits.
    mutating func uniformDouble() -> Double {
        let v = (UInt64(next32()) << 32) | UInt64(next32())
        return Double(v & ((1 << 53) - 1)) * 0x1p-53
    }

    /// `torch.randn(1, generator=g).item()`.
    public mutating func randn() -> Float {
        if let c = cachedNormal { cachedNormal = nil; return Float(c) }
        let u1 = uniformDouble(), u2 = uniformDouble()
        let r = (-2 * Foundation.log1p(-u2)).squareRoot(), theta = 2 * Double.pi * u1
        cachedNormal = r * Foundation.sin(theta)
        return Float(r * Foundation.cos(theta))
    }

    /// `torch.rand(1, generator=g).item()`.
    public mutating func rand() -> Float {
        Float(next32() & ((1 << 24) - 1)) * 0x1p-24
    }
}
