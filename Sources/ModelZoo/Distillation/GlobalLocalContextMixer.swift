import Foundation
import NeuralNet
import TensorEngine

/// TransKD's Global-Local Context Mixer (GL-Mixer; spec/transkd.md §2.4, Eq. 5), applied to the
/// student's last-stage patch embeddings before their PEA projection: a weighted sum of global
/// multi-head self-attention and a local GLU-gated pair of 1-D convolutions (kernel 3) along the
/// token sequence in raster order, as the official code does (the paper says 3×3; the reported
/// parameter count holds only with 1-D convolutions). Tokens are `[B, N, C]`.
///
/// State paths as the official module: `attn4.qkv` (no bias), `attn4.proj`, `conv1`, `conv2`
/// (Conv1d weights `[Cout, Cin, K]`, PyTorch's layout), `atten_weight`, `conv_weight` (one
/// element each; uninitialised memory in the official code, 1.0 here as Eq. 5 implies).
public final class GlobalLocalContextMixer: Module {
    public let qkv: Linear, proj: Linear
    public let conv1Weight: Tensor, conv1Bias: Tensor, conv2Weight: Tensor, conv2Bias: Tensor
    public let attentionWeight: Tensor, convWeight: Tensor
    public let heads: Int
    /// Adds the input back (`add=True`); every released TransKD-GL run has it off.
    public let residual: Bool

    public init(dim: Int, heads: Int = 8, residual: Bool = false, generator: RandomGenerator = .global) {
        precondition(dim % heads == 0, "GlobalLocalContextMixer: dim \(dim) is not a multiple of heads \(heads)")
        self.heads = heads
        self.residual = residual
        qkv = Linear(dim, 3 * dim, bias: false, generator: generator)
        proj = Linear(dim, dim, generator: generator)
        let fanIn = dim * 3
        conv1Weight = Init.pytorchDefault([dim, dim, 3], fanIn: fanIn, generator: generator).asParameter()
        conv1Bias = Init.pytorchDefault([dim], fanIn: fanIn, generator: generator).asParameter()
        conv2Weight = Init.pytorchDefault([dim, dim, 3], fanIn: fanIn, generator: generator).asParameter()
        conv2Bias = Init.pytorchDefault([dim], fanIn: fanIn, generator: generator).asParameter()
        attentionWeight = Tensor([1], shape: [1]).asParameter()
        convWeight = Tensor([1], shape: [1]).asParameter()
    }

    private final class QKV: Module {
        let qkv: Linear, proj: Linear
        init(_ qkv: Linear, _ proj: Linear) { self.qkv = qkv; self.proj = proj }
        override var children: [(String, Module)] { [("qkv", qkv), ("proj", proj)] }
    }

    override public var children: [(String, Module)] { [("attn4", QKV(qkv, proj))] }
    override public var parameters: [(String, Tensor)] {
        [("conv1.weight", conv1Weight), ("conv1.bias", conv1Bias), ("conv2.weight", conv2Weight), ("conv2.bias", conv2Bias),
         ("atten_weight", attentionWeight), ("conv_weight", convWeight)]
    }

    /// The 1-D convolution along tokens, kernel 3, padding 1 (weights kept in PyTorch's OIW).
    private func conv(_ tokens: Tensor, _ w: Tensor, _ b: Tensor) -> Tensor {
        conv1d(tokens, w.permute([0, 2, 1]), bias: b, padding: 1)
    }

    /// `[B, N, C]` tokens in, mixed tokens out.
    public func forward(_ e: Tensor) -> Tensor {
        precondition(e.rank == 3, "GlobalLocalContextMixer: tokens must be [B, N, C], got \(e.shape)")
        let (b, n, c) = (e.shape[0], e.shape[1], e.shape[2])
        let d = c / heads
        let parts = qkv(e).reshape([b, n, 3, heads, d]).split(sizes: [1, 1, 1], axis: 2)
        let q = parts[0].reshape([b, n, heads, d]).permute([0, 2, 1, 3])
        let kT = parts[1].reshape([b, n, heads, d]).permute([0, 2, 3, 1])
        let v = parts[2].reshape([b, n, heads, d]).permute([0, 2, 1, 3])
        let attended = scaledDotProductAttention(q, kT, v, scale: 1 / Float(d).squareRoot(), scaling: .scores)
        let global = proj(attended.permute([0, 2, 1, 3]).reshape([b, n, c]))
        let local = conv(e, conv1Weight, conv1Bias) * conv(e, conv2Weight, conv2Bias).sigmoid()
        let mixed = global * attentionWeight + local * convWeight
        return residual ? mixed + e : mixed
    }

    public func callAsFunction(_ e: Tensor) -> Tensor { scoped { forward(e) } }
}
