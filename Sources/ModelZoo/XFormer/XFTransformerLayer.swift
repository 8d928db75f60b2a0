import NeuralNet
import TensorEngine

/// One XF Block transformer layer (paper Eqs. 7–8, spec §1.3), pre-norm, on the unfolded token
/// maps `[B·4, h/2, w/2, E]`:
/// `x = x + drop(attn(norm1(x)))`, `x = x + drop(fc2(GELU(fc1(norm2(x)))))`. LayerNorm eps 1e-5,
/// MLP E → r·E → E with biases, GELU in the FC layers (the paper; MobileViT uses SiLU), residual
/// dropout 0.1, no stochastic depth. State paths `norm1`, `attn`, `norm2`, `mlp.fc1`, `mlp.fc2`.
public final class XFTransformerLayer: Layer {
    public let norm1: LayerNorm, attn: Layer, norm2: LayerNorm
    public let mlp: XFMLP
    public let drop: Dropout

    public init(dim: Int, attention: Layer, mlpHidden: Int, dropout: Float = 0.1, generator: RandomGenerator = .global) {
        norm1 = LayerNorm(dim)
        attn = attention
        norm2 = LayerNorm(dim)
        mlp = XFMLP(dim: dim, hidden: mlpHidden, generator: generator)
        drop = Dropout(dropout)
    }

    // `drop` is listed (it has no state) so that train()/eval() reach it.
    override public var children: [(String, Module)] { [("norm1", norm1), ("attn", attn), ("norm2", norm2), ("mlp", mlp), ("drop", drop)] }

    override public func forward(_ x: Tensor) -> Tensor {
        let y = x + drop(attn(norm1(x)))
        return y + drop(mlp(norm2(y)))
    }
}

/// The layer's feed-forward network: `fc1` E → hidden, GELU, `fc2` hidden → E.
public final class XFMLP: Layer {
    public let fc1: Linear, fc2: Linear
    public init(dim: Int, hidden: Int, generator: RandomGenerator = .global) {
        fc1 = Linear(dim, hidden, generator: generator)
        fc2 = Linear(hidden, dim, generator: generator)
    }
    override public var children: [(String, Module)] { [("fc1", fc1), ("fc2", fc2)] }
    override public func forward(_ x: Tensor) -> Tensor { fc2(fc1(x).gelu()) }
}
