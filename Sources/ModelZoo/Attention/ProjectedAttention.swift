import NeuralNet
import TensorEngine

/// What the attention baselines of SeaFormer's Table 9 (global, axial, local) share with SEA
/// attention, so that the ablation changes only which tokens attend to which:
/// - `to_q`, `to_k`: 1×1 ConvBN dim → heads·keyDim; `to_v`: 1×1 ConvBN dim → heads·attnRatio·keyDim
///   (no activation, as SEA's);
/// - per head, `softmax(q·kᵀ·keyDim^-0.5)·v` over the token groups a subclass defines;
/// - `proj`: activation → 1×1 ConvBN dh → dim with BN γ initialised to 0 (SEA's `proj`, spec §1.3),
///   so the branch starts silent and the block starts as the identity plus its FFN.
/// Channels split into heads head-major (channel = head·kd + j), as SEA's reshape does (spec §1.3).
/// Subclasses implement `attend(q:k:v:)`.
class ProjectedAttention: Layer {
    let toQ: ConvBN, toK: ConvBN, toV: ConvBN
    /// `Sequential([activation, ConvBN])`: paths `proj.1.c.weight`, … as SEA's official `proj`.
    let proj: Sequential
    let heads: Int, keyDim: Int, valueDim: Int
    /// keyDim^-0.5, the per-head scale (spec §1.3: kd, not heads·kd).
    let scale: Float

    init(_ shape: AttentionShape, variant: String) {
        precondition(shape.dim > 0 && shape.heads > 0 && shape.keyDim > 0 && shape.attnRatio > 0,
                     "\(variant) attention: dim \(shape.dim), heads \(shape.heads), keyDim \(shape.keyDim) and attnRatio \(shape.attnRatio) must all be positive")
        heads = shape.heads
        keyDim = shape.keyDim
        valueDim = shape.attnRatio * shape.keyDim
        scale = 1 / Float(shape.keyDim).squareRoot()
        let qkWidth = heads * keyDim, vWidth = heads * valueDim
        toQ = ConvBN(shape.dim, qkWidth)
        toK = ConvBN(shape.dim, qkWidth)
        toV = ConvBN(shape.dim, vWidth)
        proj = Sequential([Activation(shape.activation), ConvBN(vWidth, shape.dim, bnWeightInit: 0)])
    }

    override var children: [(String, Module)] { [("to_q", toQ), ("to_k", toK), ("to_v", toV), ("proj", proj)] }

    override func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "attention: input must be B×H×W×C, got shape \(x.shape)")
        return proj(attend(q: toQ(x), k: toK(x), v: toV(x)))
    }

    /// Maps q, k ([B, H, W, heads·keyDim]) and v ([B, H, W, heads·valueDim]) to the attention
    /// output [B, H, W, heads·valueDim].
    func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) must override attend(q:k:v:)")
    }

    /// `softmax(qh·kT·keyDim^-0.5 + scoreBias)·vh` over head-split tokens (`scaledDotProductAttention`).
    func scaledDotProduct(_ qh: Tensor, _ kT: Tensor, _ vh: Tensor, scoreBias: Tensor? = nil) -> Tensor {
        scaledDotProductAttention(qh, kT, vh, scale: scale, scaling: .queries, scoreBias: scoreBias)
    }
}
