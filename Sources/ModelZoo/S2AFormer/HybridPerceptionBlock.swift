import NeuralNet
import TensorEngine

/// S2AFormer's hybrid perception block (Eqs. 1–4, spec §1.2), NHWC `[B, H, W, C]` in and out:
/// ```
/// x = x + lpu(x)                          (1)  3×3 depth-wise conv (bias), no norm, no drop path
/// x = x + dp(attn(norm1(x)))              (2)  the attention slot (SSA by default)
/// x = x + dp(lim(norm2(x)))               (3)  local interaction module (absent with `lim: false`)
/// x = x + dp(mlp(norm3(x)))               (4)  inverted-residual FFN
/// ```
/// LayerNorms eps 1e-6 (CMT). Channels-last makes the paper's token layout (B×N×C) and its
/// image layout (B×C×H×W) the same memory, so no reshapes are needed between the convs and the
/// token-wise parts. Without the LIM (Table VII) `norm2` and `lim` are absent and the FFN's norm
/// is still `norm3`, so the ablation's state paths are a subset of the full model's.
/// State paths: `lpu`, `norm1`, `attn`, `norm2`, `lim`, `norm3`, `mlp`.
public final class HybridPerceptionBlock: Layer {
    public let lpu: Conv2d
    public let norm1: LayerNorm, norm2: LayerNorm?, norm3: LayerNorm
    public let attn: Layer
    public let lim: LocalInteractionModule?
    public let mlp: InvertedResidualFFN
    public let dropPath: DropPath

    public init(dim: Int, attention: Layer, lim: Bool = true, mlpRatio: Int = 4, dropPath: Float = 0,
                generator: RandomGenerator = .global) {
        lpu = Conv2d(dim, dim, kernel: 3, padding: 1, groups: dim, generator: generator)
        norm1 = LayerNorm(dim, eps: 1e-6)
        attn = attention
        norm2 = lim ? LayerNorm(dim, eps: 1e-6) : nil
        self.lim = lim ? LocalInteractionModule(dim, generator: generator) : nil
        norm3 = LayerNorm(dim, eps: 1e-6)
        mlp = InvertedResidualFFN(dim, ratio: mlpRatio, generator: generator)
        self.dropPath = DropPath(dropPath)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("lpu", lpu), ("norm1", norm1), ("attn", attn), ("drop_path", dropPath)]
        if let norm2, let lim { c += [("norm2", norm2), ("lim", lim)] }
        return c + [("norm3", norm3), ("mlp", mlp)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        var y = x + lpu(x)
        y = y + dropPath(attn(norm1(y)))
        if let norm2, let lim { y = y + dropPath(lim(norm2(y))) }
        return y + dropPath(mlp(norm3(y)))
    }
}
