import NeuralNet
import TensorEngine

/// Plain multi-head self-attention over all H·W tokens, as in ViT/MobileViT (XFormer's "MHSA"
/// row of Table 2, spec §1.7): `qkv_proj` E → 3·D (bias), heads × d with D = heads·d,
/// `softmax(q·kᵀ/√d)·v`, `out_proj` D → E (bias). NHWC `[B, H, W, E]` in and out. Unlike the
/// SeaFormer-style `global` type it has no BN projections and its q-k-v width need not be E.
/// State paths (ml-cvnets `MultiHeadAttention`): `qkv_proj`, `out_proj`.
public final class MultiHeadSelfAttention: Layer {
    public let qkvProj: Linear, outProj: Linear
    public let heads: Int, headDim: Int

    public init(dim: Int, heads: Int, headDim: Int, generator: RandomGenerator = .global) {
        precondition(heads > 0 && headDim > 0, "mhsa: heads and head width must be positive (MHSAConfig.check reports this)")
        self.heads = heads
        self.headDim = headDim
        qkvProj = Linear(dim, 3 * heads * headDim, generator: generator)
        outProj = Linear(heads * headDim, dim, generator: generator)
    }

    override public var children: [(String, Module)] { [("qkv_proj", qkvProj), ("out_proj", outProj)] }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "mhsa: input must be B×H×W×C, got shape \(x.shape)")
        let (b, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let n = h * w
        let qkv = qkvProj(x).reshape([b, n, 3, heads, headDim])
        let q = qkv.slice(axis: 2, start: 0, end: 1).reshape([b, n, heads, headDim]).permute([0, 2, 1, 3])
        let kT = qkv.slice(axis: 2, start: 1, end: 2).reshape([b, n, heads, headDim]).permute([0, 2, 3, 1])
        let v = qkv.slice(axis: 2, start: 2, end: 3).reshape([b, n, heads, headDim]).permute([0, 2, 1, 3])
        // cvnets scales the queries before the product.
        let y = scaledDotProductAttention(q, kT, v, scale: 1 / Float(headDim).squareRoot(), scaling: .queries)
        return outProj(y.permute([0, 2, 1, 3]).reshape([b, h, w, heads * headDim]))
    }
}

/// `attention: {type: mhsa}`: the stage's heads and key width (XFormer: 4 × 24; MiT/PVTv2/
/// S2AFormer: C/heads) with no switches of its own.
public struct MHSAConfig: AttentionConfig {
    var keyPath: [String] = []
    public var typeName: String { "mhsa" }
    public init() {}
    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        try decodeTypeOnly(decoder)
    }

    public func check(_ shape: AttentionShape) throws {
        guard shape.heads > 0, shape.keyDim > 0 else {
            throw ConfigValueError(keyPath: (keyPath + ["type"]).joined(separator: "."),
                                   message: "mhsa needs at least one head of positive width, the stage gives \(shape.heads) heads of \(shape.keyDim)")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer { MultiHeadSelfAttention(dim: shape.dim, heads: shape.heads, headDim: shape.keyDim) }
}
