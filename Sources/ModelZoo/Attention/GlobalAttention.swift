import NeuralNet
import TensorEngine

/// Full multi-head self-attention over all H·W tokens (SeaFormer Eq. 1; the "Global" rows of
/// Tables 8 and 9), with SEA's projections (see `ProjectedAttention`). Cost grows as (H·W)².
final class GlobalAttention: ProjectedAttention {
    init(_ shape: AttentionShape) { super.init(shape, variant: "global") }

    override func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let (b, h, w) = (q.shape[0], q.shape[1], q.shape[2])
        let n = h * w
        // [B, H, W, nh·c] is [B, N, nh, c] without a copy; one permute each brings heads forward
        // (k straight to its transposed layout [B, nh, kd, N]).
        let qh = q.reshape([b, n, heads, keyDim]).permute([0, 2, 1, 3])
        let kT = k.reshape([b, n, heads, keyDim]).permute([0, 2, 3, 1])
        let vh = v.reshape([b, n, heads, valueDim]).permute([0, 2, 1, 3])
        let y = scaledDotProduct(qh, kT, vh)                       // [B, nh, N, d]
        return y.permute([0, 2, 1, 3]).reshape([b, h, w, heads * valueDim])
    }
}

/// `attention: {type: global}`: no switches of its own.
public struct GlobalAttentionConfig: AttentionConfig {
    public var typeName: String { "global" }
    public init() {}
    public init(from decoder: Decoder) throws { try decodeTypeOnly(decoder) }
    public func build(_ shape: AttentionShape) -> Layer { GlobalAttention(shape) }
}
