import NeuralNet
import TensorEngine

/// How SSA spatially reduces the map its keys and values are computed from (spec §1.1 "CSR";
/// Table VIII compares the two).
public enum SpatialReductionKind: String, CaseIterable, Codable {
    /// k×k depth-wise conv, stride k, bias, then BatchNorm (the paper's CSR; BN as in CMT).
    case conv
    /// k×k average pooling, stride k: no parameters (Table VIII's "Conv → Pooling").
    case pool
}

/// The softmax temperature of SSA, which the paper leaves as "/Scale" (spec §6 row 3).
public enum StripAttentionScale: String, CaseIterable, Codable {
    /// (C/h)^-0.5, CMT's `head_dim ** -0.5` even though q and k are one channel wide (default).
    case headDim = "head_dim"
    /// 1: the logits are the plain rank-1 products q_n·k_m.
    case unit
}

/// S2AFormer's strip self-attention (spec §1.1, Algorithm 1): queries and keys are squeezed to
/// **one channel per head** ("strip-shaped" Q ∈ R^{N×h}, K ∈ R^{N_s×h}); values keep the full
/// width C; keys and values come from the map spatially reduced by k = `spatialReduction`
/// (a k×k/stride-k depth-wise conv + BN, or average pooling) when k > 1.
///
/// NHWC `[B, H, W, C]` in and out. Per head j (h heads, C/h value channels, head-major as
/// `reshape(B, N, h, C/h)`): `softmax(q_j k_jᵀ · scale) v_j`; then `proj` C → C.
/// "ChannelSqueeze(LinearProjection(x))" is one `Linear(C, h)` for q and one for k (spec §6 row
/// 2: a C→C projection followed by a squeeze would add 2C² parameters per block and miss every
/// count). The reduced map floors (conv/pool without padding), so a map smaller than k×k cannot
/// be reduced: that is a precondition of the forward pass, as for MiT's `mit_sra`.
///
/// State paths (ours; the paper publishes no code): `q`, `k`, `v`, `sr` (conv) and `norm` (its
/// BN) when k > 1 with conv reduction, `proj`.
public final class StripSelfAttention: Layer {
    public let q: Linear, k: Linear, v: Linear, proj: Linear
    public let sr: Conv2d?, norm: BatchNorm?
    public let heads: Int, ratio: Int, reduction: SpatialReductionKind
    let scale: Float

    public init(dim: Int, heads: Int, ratio: Int, reduction: SpatialReductionKind = .conv, scale: StripAttentionScale = .headDim,
                generator: RandomGenerator = .global) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0 && ratio >= 1,
                     "ssa: dim \(dim) must be a positive multiple of heads \(heads) and the reduction \(ratio) at least 1 (SSAConfig.check reports this as a config error)")
        self.heads = heads
        self.ratio = ratio
        self.reduction = reduction
        self.scale = scale == .unit ? 1 : 1 / Float(dim / heads).squareRoot()
        q = Linear(dim, heads, generator: generator)
        k = Linear(dim, heads, generator: generator)
        v = Linear(dim, dim, generator: generator)
        proj = Linear(dim, dim, generator: generator)
        if ratio > 1 && reduction == .conv {
            sr = Conv2d(dim, dim, kernel: ratio, stride: ratio, groups: dim, generator: generator)
            norm = BatchNorm(dim)
        } else {
            sr = nil; norm = nil
        }
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("q", q), ("k", k), ("v", v)]
        if let sr, let norm { c += [("sr", sr), ("norm", norm)] }
        return c + [("proj", proj)]
    }

    /// The map keys and values are computed from: x itself, or x reduced k× per side.
    func reduced(_ x: Tensor) -> Tensor {
        guard ratio > 1 else { return x }
        precondition(x.shape[1] >= ratio && x.shape[2] >= ratio,
                     "ssa: a \(x.shape[1])×\(x.shape[2]) map cannot be reduced by \(ratio) (the \(ratio)×\(ratio), stride-\(ratio) reduction needs at least \(ratio)×\(ratio)); use a larger input")
        if let sr, let norm { return norm(sr(x)) }
        return avgPool2d(x, kernel: ratio, stride: ratio)
    }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "ssa: input must be B×H×W×C, got shape \(x.shape)")
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let n = h * w
        // [B, H, W, h] is [B, N, h]; one permute puts the heads first: q [B, h, N, 1].
        let qh = q(x).reshape([b, n, heads]).permute([0, 2, 1]).reshape([b, heads, n, 1])
        let xs = reduced(x)
        let m = xs.shape[1] * xs.shape[2]
        // Keys straight to their transposed layout [B, h, 1, N_s] (no copy for the product).
        let kT = k(xs).reshape([b, m, heads]).permute([0, 2, 1]).reshape([b, heads, 1, m])
        let vh = v(xs).reshape([b, m, heads, c / heads]).permute([0, 2, 1, 3])          // [B, h, N_s, C/h]
        // Algorithm 1's order, Softmax((Q·Kᵀ)/Scale): the reference's, so outputs agree to rounding.
        let y = scaledDotProductAttention(qh, kT, vh, scale: scale, scaling: .scores)    // [B, h, N, C/h]
        return proj(y.permute([0, 2, 1, 3]).reshape([b, h, w, c]))
    }
}

/// `attention: {type: ssa, reduction: conv, scale: head_dim}`: S2AFormer's strip self-attention
/// in any backbone's attention slot. It reads the stage's width, head count and
/// `spatialReduction` (S2AFormer/MiT/PVTv2/LVT: 8, 4, 2, 1; SeaFormer: 1) from the
/// `AttentionShape`; its value heads are C/h wide, so a stage whose width the heads do not
/// divide cannot take it.
public struct SSAConfig: AttentionConfig {
    /// Table VIII: conv (the paper's CSR) or pooling reduction.
    public var reduction: SpatialReductionKind = .conv
    /// Spec §6 row 3: the softmax temperature.
    public var scale: StripAttentionScale = .headDim
    var keyPath: [String] = []

    public init(reduction: SpatialReductionKind = .conv, scale: StripAttentionScale = .headDim) {
        self.reduction = reduction; self.scale = scale
    }

    public var typeName: String { "ssa" }

    enum CodingKeys: String, CodingKey { case type, reduction, scale }

    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = c.contains(.type)
        reduction = try c.decode(.reduction, default: reduction)
        scale = try c.decode(.scale, default: scale)
    }

    public func check(_ shape: AttentionShape) throws {
        let at = (keyPath + ["type"]).joined(separator: ".")
        guard shape.heads > 0, shape.dim % shape.heads == 0 else {
            throw ConfigValueError(keyPath: at, message: "ssa squeezes q and k to one channel per head and splits the \(shape.dim) value channels into \(shape.heads) heads of dim/heads channels, but \(shape.heads) does not divide \(shape.dim)")
        }
        guard shape.spatialReduction >= 1 else {
            throw ConfigValueError(keyPath: at, message: "ssa needs a spatial reduction of at least 1, the stage gives \(shape.spatialReduction)")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer {
        StripSelfAttention(dim: shape.dim, heads: shape.heads, ratio: shape.spatialReduction, reduction: reduction, scale: scale)
    }
}

