import NeuralNet
import TensorEngine

/// SegFormer's `OverlapPatchEmbed` (spec/transkd.md §1.3): Conv2d(k, stride s, padding k/2,
/// bias) then LayerNorm (eps 1e-5) over the channels. Output NHWC `[B, H', W', C]`,
/// H' = ⌊(H + 2⌊k/2⌋ − k)/s⌋ + 1 (= ⌈H/4⌉ for 7/4, ⌈H/2⌉ for 3/2). This output, after its LayerNorm,
/// is the "patch embedding" TransKD distils (§7.9); it is a `Layer`, so `FeatureTaps.record`
/// sees it as `backbone.patch_embed{i}`. State paths: `proj`, `norm`.
public final class OverlapPatchEmbed: Layer {
    public let proj: Conv2d
    public let norm: LayerNorm

    public init(inChannels: Int, embedDim: Int, kernel: Int, stride: Int, generator: RandomGenerator = .global) {
        proj = Conv2d(inChannels, embedDim, kernel: kernel, stride: stride, padding: kernel / 2, generator: generator)
        norm = LayerNorm(embedDim, eps: 1e-5)
    }

    override public var children: [(String, Module)] { [("proj", proj), ("norm", norm)] }
    override public func forward(_ x: Tensor) -> Tensor { norm(proj(x)) }
}

/// The depthwise 3×3 conv (bias) of Mix-FFN, wrapped as the official `DWConv` so that the
/// state path is `mlp.dwconv.dwconv`.
public final class DWConv: Layer {
    public let dwconv: Conv2d
    public init(_ channels: Int, generator: RandomGenerator = .global) {
        dwconv = Conv2d(channels, channels, kernel: 3, stride: 1, padding: 1, groups: channels, generator: generator)
    }
    override public var children: [(String, Module)] { [("dwconv", dwconv)] }
    override public func forward(_ x: Tensor) -> Tensor { dwconv(x) }
}

/// Mix-FFN (SegFormer `Mlp`, PVTv2 `Mlp` with `linear=False`): fc1 C → hidden, 3×3 depthwise
/// conv, GELU (exact erf), fc2 hidden → C; dropouts are p = 0 in every TransKD config and left
/// out. State paths: `fc1`, `dwconv.dwconv`, `fc2`.
public final class MixFFN: Layer {
    public let fc1: Linear, dwconv: DWConv, fc2: Linear

    public init(dim: Int, hidden: Int, generator: RandomGenerator = .global) {
        fc1 = Linear(dim, hidden, generator: generator)
        dwconv = DWConv(hidden, generator: generator)
        fc2 = Linear(hidden, dim, generator: generator)
    }

    override public var children: [(String, Module)] { [("fc1", fc1), ("dwconv", dwconv), ("fc2", fc2)] }
    override public func forward(_ x: Tensor) -> Tensor { fc2(dwconv(fc1(x)).gelu()) }
}

/// SegFormer's/PVTv2's transformer `Block`: `x + DropPath(attn(LN(x)))`, then
/// `x + DropPath(mlp(LN(x)))`, LayerNorms with eps 1e-6. `attn` is whatever the backbone's
/// attention slot builds for the stage (SR attention by default). State paths: `norm1`, `attn`,
/// `norm2`, `mlp`. (LVT's `Transformer_block` is the same with eps 1e-5.)
public final class MiTBlock: Layer {
    public let norm1: LayerNorm, norm2: LayerNorm
    public let attn: Layer
    public let mlp: Layer
    public let dropPath: DropPath

    public init(dim: Int, attention: Layer, mlp: Layer, dropPath: Float, eps: Float = 1e-6) {
        norm1 = LayerNorm(dim, eps: eps)
        norm2 = LayerNorm(dim, eps: eps)
        attn = attention
        self.mlp = mlp
        self.dropPath = DropPath(dropPath)
    }

    override public var children: [(String, Module)] {
        [("norm1", norm1), ("attn", attn), ("drop_path", dropPath), ("norm2", norm2), ("mlp", mlp)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        let y = x + dropPath(attn(norm1(x)))
        return y + dropPath(mlp(norm2(y)))
    }
}
