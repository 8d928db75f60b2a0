import Foundation
import NeuralNet
import TensorEngine

/// LVT's convolutional self-attention (`CSA`, spec/transkd.md §1.5), NHWC `[B, H, W, C]` in and
/// out. On the ⌈H/2⌉×⌈W/2⌉ grid of 3×3 windows (stride 2, padding 1): `attn` (Linear C → 81·heads,
/// bias) of the 2×2 average-pooled map (ceil mode) gives, per head and window, a 9×9 mixing of the
/// window's taps (softmax over the source taps, scale (C/heads)^-0.5); the values are the unfolded
/// window taps through `weight` (a grouped 1×1 conv, one C → C map per tap, no bias); the mixed
/// windows are folded back (overlaps add) and projected by `proj` (Linear C → C).
/// State paths (official): `attn`, `weight`, `proj`.
public final class ConvolutionalSelfAttention: Layer {
    public let attn: Linear
    public let weight: Conv2d
    public let proj: Linear
    public let heads: Int
    let scale: Float
    static let k = 3

    public init(dim: Int, heads: Int, generator: RandomGenerator = .global) {
        precondition(dim % heads == 0, "lvt_csa: dim \(dim) must be a multiple of heads \(heads)")
        self.heads = heads
        scale = 1 / Float(dim / heads).squareRoot()
        let kk = Self.k * Self.k
        attn = Linear(dim, kk * kk * heads, generator: generator)
        weight = Conv2d(kk * dim, kk * dim, kernel: 1, groups: kk, bias: false, generator: generator)
        weight.weight.assign(from: Init.normal(weight.weight.shape, std: (2 / Float(kk * dim)).squareRoot(), generator: generator))
        proj = Linear(dim, dim, generator: generator)
    }

    override public var children: [(String, Module)] { [("attn", attn), ("weight", weight), ("proj", proj)] }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "lvt_csa: input must be B×H×W×C, got shape \(x.shape)")
        let (b, H, W, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let kk = Self.k * Self.k, d = c / heads
        let h = (H + 1) / 2, w = (W + 1) / 2, n = h * w
        let pooled = avgPool2d(x, kernel: 2, stride: 2, ceilMode: true)                       // [B, h, w, C]
        let a = (attn(pooled).reshape([b, n, heads, kk, kk]).permute([0, 2, 1, 3, 4]) * scale)
            .softmax(axis: -1).reshape([b * heads, n, kk, kk])
        // unfold: [B, h, w, C·9] (c·9 + tap) → tap-major [B, h, w, 9·C] for the per-tap 1×1 conv.
        let cols = unfold2d(x, kernel: Self.k, padding: 1, stride: 2).reshape([b, h, w, c, kk]).permute([0, 1, 2, 4, 3])
            .reshape([b, h, w, kk * c])
        let v = weight(cols).reshape([b, n, kk, heads, d]).permute([0, 3, 1, 2, 4]).reshape([b * heads, n, kk, d])
        let y = matmul(a, v).reshape([b, heads, n, kk, d])                                     // per window: 9 taps × d
            .permute([0, 2, 1, 4, 3]).reshape([b, h, w, c * kk])                                // (head·d + j)·9 + tap
        return proj(fold2d(y, outputSize: (H, W), kernel: Self.k, padding: 1, stride: 2))
    }
}

/// LVT's recursive atrous self-attention (`Attention` with `rasa_cfg`, spec §1.5): MiT's
/// spatial-reduction attention without q/kv biases whose queries pass through `ds` — one
/// depthwise 3×3 weight applied functionally at dilations 1, 3, 5 (padding = dilation), each
/// followed by SiLU, summed — and which is applied `r_num` times: y = SiLU(A(x)), then
/// x ← y + x, y = SiLU(A(x)) for each further round (the official recursion, r_num 2).
/// State paths (official): `q`, `kv`, `proj`, `sr`, `norm` (R > 1), `ds.weight`.
public final class RecursiveAtrousAttention: Layer {
    public let q: Linear, kv: Linear, proj: Linear
    public let sr: Conv2d?, norm: LayerNorm?
    /// `ds.weight` [C, 3, 3, 1] (OHWI, depthwise), no bias (qkv_bias false).
    public let ds: DilatedQueryConv
    public let heads: Int, ratio: Int, rounds: Int
    let scale: Float

    public init(dim: Int, heads: Int, ratio: Int, atrousRates: [Int] = [1, 3, 5], rounds: Int = 2, generator: RandomGenerator = .global) {
        precondition(dim % heads == 0 && ratio >= 1 && rounds >= 1, "lvt_rasa: dim \(dim) must be a multiple of heads \(heads)")
        self.heads = heads; self.ratio = ratio; self.rounds = rounds
        scale = 1 / Float(dim / heads).squareRoot()
        q = Linear(dim, dim, bias: false, generator: generator)
        kv = Linear(dim, 2 * dim, bias: false, generator: generator)
        proj = Linear(dim, dim, generator: generator)
        if ratio > 1 {
            sr = Conv2d(dim, dim, kernel: ratio, stride: ratio, generator: generator)
            norm = LayerNorm(dim)
        } else { sr = nil; norm = nil }
        ds = DilatedQueryConv(dim, rates: atrousRates, generator: generator)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("q", q), ("kv", kv), ("proj", proj)]
        if let sr, let norm { c += [("sr", sr), ("norm", norm)] }
        return c + [("ds", ds)]
    }

    func inner(_ x: Tensor) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let n = h * w, d = c / heads
        let qh = ds(q(x)).reshape([b, n, heads, d]).permute([0, 2, 1, 3])
        var xs = x
        if let sr, let norm {
            precondition(h >= ratio && w >= ratio, "lvt_rasa: a \(h)×\(w) map cannot be reduced by sr_ratio \(ratio); use a larger input")
            xs = norm(sr(x))
        }
        let m = xs.shape[1] * xs.shape[2]
        let kvs = kv(xs).reshape([b, m, 2, heads, d]).split(sizes: [1, 1], axis: 2)
        let kT = kvs[0].reshape([b, m, heads, d]).permute([0, 2, 3, 1])
        let vh = kvs[1].reshape([b, m, heads, d]).permute([0, 2, 1, 3])
        let y = scaledDotProductAttention(qh, kT, vh, scale: scale, scaling: .scores)
        return proj(y.permute([0, 2, 1, 3]).reshape([b, h, w, c]))
    }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "lvt_rasa: input must be B×H×W×C, got shape \(x.shape)")
        var input = x
        var y = inner(x)
        if rounds > 1 { y = y.silu() }
        for _ in 1..<Swift.max(rounds, 1) {
            let z = y + input
            input = z
            y = inner(z).silu()
        }
        return y
    }
}

/// RASA's `ds_conv2d`: one depthwise 3×3 weight used at several dilations, SiLU after each, summed.
/// The convolutions are functional (`F.conv2d`), so mmcv's hooks — and ViTLab's mmcv FLOP
/// conventions — do not count them (`CostTrace.functional`).
public final class DilatedQueryConv: Layer {
    public let weight: Tensor
    public let rates: [Int]
    public let channels: Int

    public init(_ channels: Int, rates: [Int], generator: RandomGenerator = .global) {
        self.channels = channels
        self.rates = rates
        // kaiming_uniform_ (a = 0): U(±√(6/fan_in)), fan_in = 9 for a depthwise 3×3.
        let bound = (6 / Float(9)).squareRoot()
        weight = Tensor.uniform([channels, 3, 3, 1], low: -bound, high: bound, generator: generator).asParameter()
    }

    override public var parameters: [(String, Tensor)] { [("weight", weight)] }

    override public func forward(_ x: Tensor) -> Tensor {
        CostTrace.functional {
            rates.dropFirst().reduce(conv2d(x, weight, padding: rates[0], dilation: rates[0], groups: channels).silu()) {
                $0 + conv2d(x, weight, padding: $1, dilation: $1, groups: channels).silu()
            }
        }
    }
}

/// `attention: {type: lvt_csa}`: LVT's convolutional self-attention (stage 1 of LVT).
public struct CSAConfig: AttentionConfig {
    public var typeName: String { "lvt_csa" }
    var keyPath: [String] = []
    public init() {}
    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        try decodeTypeOnly(decoder)
    }
    public func check(_ shape: AttentionShape) throws {
        guard shape.heads > 0, shape.dim % shape.heads == 0 else {
            throw ConfigValueError(keyPath: (keyPath + ["type"]).joined(separator: "."),
                                   message: "lvt_csa splits the \(shape.dim) channels into \(shape.heads) heads, but \(shape.heads) does not divide \(shape.dim)")
        }
    }
    public func build(_ shape: AttentionShape) -> Layer { ConvolutionalSelfAttention(dim: shape.dim, heads: shape.heads) }
}

/// `attention: {type: lvt_rasa, atrous_rates: [1, 3, 5], r_num: 2}`: LVT's recursive atrous
/// self-attention (stages 2–4 of LVT); reads the stage's `spatialReduction`.
public struct RASAConfig: AttentionConfig {
    public var typeName: String { "lvt_rasa" }
    public var atrousRates = [1, 3, 5]
    public var rounds = 2
    var keyPath: [String] = []

    enum CodingKeys: String, CodingKey { case type, atrousRates = "atrous_rates", rounds = "r_num" }

    public init() {}
    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = c.contains(.type)
        atrousRates = try c.decode(.atrousRates, default: atrousRates)
        guard !atrousRates.isEmpty, atrousRates.allSatisfy({ $0 >= 1 }) else {
            throw c.error(.atrousRates, "needs at least one dilation, each at least 1, got \(atrousRates); LVT uses [1, 3, 5]")
        }
        rounds = try c.decode(.rounds, default: rounds, atLeast: 1)
    }
    public func check(_ shape: AttentionShape) throws {
        guard shape.heads > 0, shape.dim % shape.heads == 0 else {
            throw ConfigValueError(keyPath: (keyPath + ["type"]).joined(separator: "."),
                                   message: "lvt_rasa splits the \(shape.dim) channels into \(shape.heads) heads, but \(shape.heads) does not divide \(shape.dim)")
        }
    }
    public func build(_ shape: AttentionShape) -> Layer {
        RecursiveAtrousAttention(dim: shape.dim, heads: shape.heads, ratio: Swift.max(1, shape.spatialReduction), atrousRates: atrousRates,
                                 rounds: rounds)
    }
}
