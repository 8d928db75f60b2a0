import NeuralNet
import TensorEngine

/// The convolution-only baseline of SeaFormer's Table 9 ("Conv"): a token mixer with no
/// attention at all, B×H×W×dim → B×H×W×dim.
///
/// Reading (docs/attention-variants.md): SEA's own "convolution-based detail enhancement
/// kernel" (§3.2.3) standing alone, fed by one point-wise expansion of x:
/// - `upconv`: 1×1 ConvBN dim → C_q + C_k + C_v (= 2·heads·keyDim + heads·attnRatio·keyDim,
///   Table 6's "upconv(x)" input; with no attention branch to share q, k, v with, SEA's three
///   projections concatenated are exactly one such conv);
/// - `dwconv`: depth-wise 3×3 ConvBN on that width, then the activation (ReLU6);
/// - `pwconv`: 1×1 ConvBN back to dim, no activation, BN γ = 1 (SEA's `pwconv`).
/// The widths are SEA's, so the FLOPs stay aligned with the other rows as §4.3 asks ("we
/// adjust the channels … to keep the FLOPs aligned"): 0.593 GFLOPs for SeaFormer-T at 512²
/// (mmcv count) against Table 9's 0.59G. Table 9 prints 1.6M params for this row, which no
/// reading we tried reproduces exactly (this one: 1.34M segmentation / 1.45M classification).
final class ConvAttention: Layer {
    let upconv: ConvBN
    let dwconv: ConvBN
    let pwconv: ConvBN

    init(_ shape: AttentionShape) {
        precondition(shape.dim > 0 && shape.heads > 0 && shape.keyDim > 0 && shape.attnRatio > 0,
                     "conv attention: dim \(shape.dim), heads \(shape.heads), keyDim \(shape.keyDim) and attnRatio \(shape.attnRatio) must all be positive")
        let width = (2 + shape.attnRatio) * shape.heads * shape.keyDim
        upconv = ConvBN(shape.dim, width)
        dwconv = ConvBN(width, width, kernel: 3, padding: 1, groups: width, activation: shape.activation)
        pwconv = ConvBN(width, shape.dim)
    }

    override var children: [(String, Module)] { [("upconv", upconv), ("dwconv", dwconv), ("pwconv", pwconv)] }

    override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "conv attention: input must be B×H×W×C, got shape \(x.shape)")
        return pwconv(dwconv(upconv(x)))
    }
}

/// `attention: {type: conv}`: no switches of its own.
public struct ConvAttentionConfig: AttentionConfig {
    public var typeName: String { "conv" }
    public init() {}
    public init(from decoder: Decoder) throws { try decodeTypeOnly(decoder) }
    public func build(_ shape: AttentionShape) -> Layer { ConvAttention(shape) }
}
