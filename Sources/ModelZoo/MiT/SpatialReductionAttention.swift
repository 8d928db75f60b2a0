import NeuralNet
import TensorEngine

/// SegFormer's efficient self-attention (MiT `Attention`, spec/transkd.md §1.3), also PVTv2's
/// attention with `linear=False` (the form TransKD's PVTv2 uses, §1.4): queries from every
/// token; keys and values from the map reduced by a k=R, s=R convolution + LayerNorm (eps 1e-5)
/// when R = `spatialReduction` > 1, from every token when R = 1.
///
/// NHWC throughout: `[B, H, W, C]` in and out. Heads split the channels head-major (channel =
/// head·(C/h) + j), as the official `reshape(B, N, h, C // h)`; `kv` is one Linear C → 2C whose
/// first C outputs are the keys and the last C the values (`reshape(B, N', 2, h, C // h)`).
/// Scale (C/h)^-0.5 applied to the scores (`(q @ kᵀ) * scale`, the official order).
///
/// State paths (official): `q`, `kv`, `proj`, and when R > 1 `sr`, `norm`.
public final class SpatialReductionAttention: Layer {
    public let q: Linear, kv: Linear, proj: Linear
    public let sr: Conv2d?, norm: LayerNorm?
    public let heads: Int, headDim: Int, ratio: Int
    let scale: Float

    public init(dim: Int, heads: Int, ratio: Int, qkvBias: Bool = true, generator: RandomGenerator = .global) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0, "mit_sra: dim \(dim) must be a positive multiple of heads \(heads)")
        precondition(ratio >= 1, "mit_sra: spatial reduction must be at least 1, got \(ratio)")
        self.heads = heads
        headDim = dim / heads
        self.ratio = ratio
        scale = 1 / Float(dim / heads).squareRoot()
        q = Linear(dim, dim, bias: qkvBias, generator: generator)
        kv = Linear(dim, 2 * dim, bias: qkvBias, generator: generator)
        proj = Linear(dim, dim, generator: generator)
        if ratio > 1 {
            sr = Conv2d(dim, dim, kernel: ratio, stride: ratio, generator: generator)
            norm = LayerNorm(dim)
        } else {
            sr = nil; norm = nil
        }
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("q", q), ("kv", kv)]
        if let sr, let norm { c += [("sr", sr), ("norm", norm)] }
        return c + [("proj", proj)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "mit_sra: input must be B×H×W×C, got shape \(x.shape)")
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let n = h * w
        let qh = q(x).reshape([b, n, heads, headDim]).permute([0, 2, 1, 3])          // [B, h, N, d]
        var xs = x
        if let sr, let norm {
            precondition(h >= ratio && w >= ratio,
                         "mit_sra: a \(h)×\(w) map cannot be reduced by sr_ratio \(ratio) (the k=\(ratio), s=\(ratio) conv needs at least \(ratio)×\(ratio)); use a larger input")
            xs = norm(sr(x))
        }
        let m = xs.shape[1] * xs.shape[2]
        let kvs = kv(xs).reshape([b, m, 2, heads, headDim]).split(sizes: [1, 1], axis: 2)
        let kT = kvs[0].reshape([b, m, heads, headDim]).permute([0, 2, 3, 1])         // [B, h, d, N']
        let vh = kvs[1].reshape([b, m, heads, headDim]).permute([0, 2, 1, 3])         // [B, h, N', d]
        let y = scaledDotProductAttention(qh, kT, vh, scale: scale, scaling: .scores)  // [B, h, N, d]
        return proj(y.permute([0, 2, 1, 3]).reshape([b, h, w, c]))
    }
}

/// `attention: {type: mit_sra, qkv_bias: true}`: SegFormer's/PVTv2's spatial-reduction
/// attention. It reads the stage's width, head count and `spatialReduction` (MiT's `sr_ratio`)
/// from the `AttentionShape`; its head width is dim/heads (the shape's keyDim is not used), so a
/// stage whose width the heads do not divide cannot take it.
public struct SpatialReductionAttentionConfig: AttentionConfig {
    public var qkvBias = true
    var keyPath: [String] = []

    public init(qkvBias: Bool = true) { self.qkvBias = qkvBias }

    public var typeName: String { "mit_sra" }

    enum CodingKeys: String, CodingKey { case type, qkvBias = "qkv_bias" }

    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = c.contains(.type)
        qkvBias = try c.decode(.qkvBias, default: qkvBias)
    }

    public func check(_ shape: AttentionShape) throws {
        guard shape.heads > 0, shape.dim % shape.heads == 0 else {
            throw ConfigValueError(keyPath: (keyPath + ["type"]).joined(separator: "."),
                                   message: "mit_sra splits the \(shape.dim) channels of a stage into \(shape.heads) heads of dim/heads channels, but \(shape.heads) does not divide \(shape.dim)")
        }
        guard shape.spatialReduction >= 1 else {
            throw ConfigValueError(keyPath: (keyPath + ["type"]).joined(separator: "."),
                                   message: "mit_sra needs a spatial reduction of at least 1, the stage gives \(shape.spatialReduction)")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer {
        SpatialReductionAttention(dim: shape.dim, heads: shape.heads, ratio: shape.spatialReduction, qkvBias: qkvBias)
    }
}
