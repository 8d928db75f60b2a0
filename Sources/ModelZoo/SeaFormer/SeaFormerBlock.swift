import NeuralNet
import TensorEngine

/// SeaFormer's FFN (official `Mlp`, spec §6 #9): Conv1×1+BN → depthwise 3×3 conv with bias and
/// no BN → act → Conv1×1+BN. The official dropout has p = 0 and is left out (it has no state).
/// The Swift names carry a `SeaFormer` prefix because other families have an `Mlp` and a
/// `Block` of their own; the state paths are the official ones all the same.
public final class SeaFormerMlp: Layer {
    public let fc1: ConvBN
    public let dwconv: Conv2d
    public let fc2: ConvBN
    public let activation: ActivationKind

    public init(_ dim: Int, hidden: Int, activation: ActivationKind = .relu6) {
        fc1 = ConvBN(dim, hidden)
        dwconv = Conv2d(hidden, hidden, kernel: 3, padding: 1, groups: hidden, bias: true)
        fc2 = ConvBN(hidden, dim)
        self.activation = activation
    }

    /// Hidden width `int(dim · mlpRatio)`, as the official `Block`.
    public convenience init(_ dim: Int, mlpRatio: Double, activation: ActivationKind = .relu6) {
        self.init(dim, hidden: Int(Double(dim) * mlpRatio), activation: activation)
    }

    override public var children: [(String, Module)] { [("fc1", fc1), ("dwconv", dwconv), ("fc2", fc2)] }

    override public func forward(_ x: Tensor) -> Tensor {
        fc2(activation.apply(dwconv(fc1(x))))
    }
}

/// One SeaFormer layer (official `Block`, spec §6 #10): `x + drop_path(attn(x))`, then
/// `x + drop_path(mlp(x))`; no normalisation around the residuals. `attn` is whatever the
/// block's attention config builds, so every variant fills the same slot.
public final class SeaFormerBlock: Layer {
    public let attn: Layer
    public let mlp: SeaFormerMlp
    public let dropPath: DropPath

    public init(attention: any AttentionConfig, shape: AttentionShape, mlpRatio: Double, dropPath: Float) {
        attn = attention.build(shape)
        mlp = SeaFormerMlp(shape.dim, mlpRatio: mlpRatio, activation: shape.activation)
        self.dropPath = DropPath(dropPath)
    }

    // `drop_path` has no state but must be a child so that train()/eval() reach it.
    override public var children: [(String, Module)] { [("attn", attn), ("drop_path", dropPath), ("mlp", mlp)] }

    override public func forward(_ x: Tensor) -> Tensor {
        let y = x + dropPath(attn(x))
        return y + dropPath(mlp(y))
    }
}

/// A SEA stage (official `BasicLayer`): `depth` layers in `transformer_blocks.0…`, with
/// stochastic-depth rates `linspace(0, dropPath, depth)` restarted in every stage (spec §1.1).
public final class SeaFormerBasicLayer: Layer {
    public let transformerBlocks: Sequential

    public init(depth: Int, attention: any AttentionConfig, shape: AttentionShape, mlpRatio: Double, dropPath: Float) {
        precondition(depth > 0, "SeaFormerBasicLayer: depth must be positive, got \(depth)")
        let rates = Self.dropPathRates(depth: depth, maximum: dropPath)
        transformerBlocks = Sequential(rates.map {
            SeaFormerBlock(attention: attention, shape: shape, mlpRatio: mlpRatio, dropPath: $0)
        })
    }

    /// `torch.linspace(0, maximum, depth)`: a single layer gets 0.
    public static func dropPathRates(depth: Int, maximum: Float) -> [Float] {
        depth == 1 ? [0] : (0..<depth).map { maximum * Float($0) / Float(depth - 1) }
    }

    override public var children: [(String, Module)] { [("transformer_blocks", transformerBlocks)] }
    override public func forward(_ x: Tensor) -> Tensor { transformerBlocks(x) }
}
