import TensorEngine

/// The activations the models use, selectable by name in configs.
public enum ActivationKind: String, CaseIterable, Codable {
    case none, relu, relu6, hardSigmoid = "hard_sigmoid", hardSwish = "hard_swish", sigmoid, silu, gelu, tanh

    public func apply(_ x: Tensor) -> Tensor {
        switch self {
        case .none: return x
        case .relu: return x.relu()
        case .relu6: return x.relu6()
        case .hardSigmoid: return x.hardSigmoid()
        case .hardSwish: return x.hardSwish()
        case .sigmoid: return x.sigmoid()
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .tanh: return x.tanh()
        }
    }
}

/// An activation as a layer (parameter-free, so it adds no state paths).
public final class Activation: Layer {
    public let kind: ActivationKind
    public init(_ kind: ActivationKind) { self.kind = kind }
    override public func forward(_ x: Tensor) -> Tensor { kind.apply(x) }
}

/// `y = x·Wᵀ + b` over the last axis; weight `[out, in]` as PyTorch, default PyTorch init.
public final class Linear: Layer {
    public let weight: Tensor
    public let bias: Tensor?

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, generator: RandomGenerator = .global) {
        weight = Init.pytorchDefault([outFeatures, inFeatures], fanIn: inFeatures, generator: generator).asParameter()
        self.bias = bias ? Init.pytorchDefault([outFeatures], fanIn: inFeatures, generator: generator).asParameter() : nil
    }

    override public var parameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }
    override public func forward(_ x: Tensor) -> Tensor { linear(x, weight, bias) }
}

/// 2-D convolution on NHWC input; weight `[Cout, KH, KW, Cin/groups]` (see docs/engine.md).
/// Default init is PyTorch's; models re-initialise as their spec says.
public final class Conv2d: Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let inChannels: Int, outChannels: Int, kernel: (Int, Int), stride: (Int, Int)
    public let padding: (Int, Int), dilation: (Int, Int), groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                groups: Int = 1, bias: Bool = true, generator: RandomGenerator = .global) {
        precondition(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: channels \(inChannels)→\(outChannels) are not divisible by groups \(groups)")
        self.inChannels = inChannels; self.outChannels = outChannels
        self.kernel = (kernel, kernel); self.stride = (stride, stride)
        self.padding = (padding, padding); self.dilation = (dilation, dilation); self.groups = groups
        let fanIn = inChannels / groups * kernel * kernel
        weight = Init.pytorchDefault([outChannels, kernel, kernel, inChannels / groups], fanIn: fanIn, generator: generator).asParameter()
        self.bias = bias ? Init.pytorchDefault([outChannels], fanIn: fanIn, generator: generator).asParameter() : nil
    }

    /// PyTorch's fan_out (Cout·KH·KW) for kaiming-normal(fan_out) init.
    public var fanOut: Int { outChannels * kernel.0 * kernel.1 }

    override public var parameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    override public func forward(_ x: Tensor) -> Tensor {
        conv2d(x, weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// Batch normalisation over the channel (last) axis of NHWC or [N, C] input, PyTorch
/// semantics: batch statistics and a momentum update of the running ones in training mode,
/// running statistics in evaluation mode. `num_batches_tracked` is kept so that state paths
/// match PyTorch's one to one.
public final class BatchNorm: Layer {
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor, numBatchesTracked: Tensor
    public let momentum: Float, eps: Float

    public init(_ channels: Int, eps: Float = 1e-5, momentum: Float = 0.1, weightInit: Float = 1) {
        weight = Tensor.full([channels], weightInit).asParameter()
        bias = Tensor.zeros([channels]).asParameter()
        runningMean = Tensor.zeros([channels])
        runningVar = Tensor.ones([channels])
        numBatchesTracked = Tensor.zeros([])
        self.momentum = momentum
        self.eps = eps
    }

    override public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    override public var buffers: [(String, Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    override public func forward(_ x: Tensor) -> Tensor {
        if isTraining { numBatchesTracked.withMutablePointer { $0[0] += 1 } }
        return batchNorm(x, weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                         training: isTraining, momentum: momentum, eps: eps)
    }
}

/// Layer normalisation over the last axis (for NHWC images: the channel axis).
public final class LayerNorm: Layer {
    public let weight: Tensor, bias: Tensor
    public let eps: Float

    public init(_ channels: Int, eps: Float = 1e-5) {
        weight = Tensor.ones([channels]).asParameter()
        bias = Tensor.zeros([channels]).asParameter()
        self.eps = eps
    }

    override public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    override public func forward(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}

/// Group normalisation of NHWC input.
public final class GroupNorm: Layer {
    public let weight: Tensor, bias: Tensor
    public let groups: Int, eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels are not divisible by \(groups) groups")
        weight = Tensor.ones([channels]).asParameter()
        bias = Tensor.zeros([channels]).asParameter()
        self.groups = groups
        self.eps = eps
    }

    override public var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    override public func forward(_ x: Tensor) -> Tensor { groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps) }
}

/// Element dropout, active in training mode only.
public final class Dropout: Layer {
    public let p: Float
    public init(_ p: Float) { self.p = p }
    override public func forward(_ x: Tensor) -> Tensor { dropout(x, p: p, training: isTraining) }
}

/// Channel dropout of NHWC input (whole feature maps per sample), training mode only.
public final class Dropout2d: Layer {
    public let p: Float
    public init(_ p: Float) { self.p = p }
    override public func forward(_ x: Tensor) -> Tensor { dropout2d(x, p: p, training: isTraining) }
}

/// Stochastic depth: drops the whole residual branch per sample, training mode only.
public final class DropPath: Layer {
    public let p: Float
    public init(_ p: Float) { self.p = p }
    override public func forward(_ x: Tensor) -> Tensor { dropPath(x, p: p, training: isTraining) }
}

/// Layers applied in order; children are named "0", "1", … as in `torch.nn.Sequential`.
public final class Sequential: Layer {
    public let layers: [Layer]
    public init(_ layers: [Layer]) { self.layers = layers }
    override public var children: [(String, Module)] { layers.enumerated().map { (String($0.offset), $0.element) } }
    override public func forward(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// Convolution → batch norm → activation, with configurable child names so state paths match
/// the official code (`c`/`bn` for SeaFormer's Conv2d_BN, `conv`/`bn` for mmcv's ConvModule).
public final class ConvBN: Layer {
    public let conv: Conv2d
    public let bn: BatchNorm
    public let activation: ActivationKind
    public let convName: String

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int = 1, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                groups: Int = 1, bnWeightInit: Float = 1, activation: ActivationKind = .none, convName: String = "c",
                generator: RandomGenerator = .global) {
        conv = Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: padding, dilation: dilation,
                      groups: groups, bias: false, generator: generator)
        bn = BatchNorm(outChannels, weightInit: bnWeightInit)
        self.activation = activation
        self.convName = convName
    }

    override public var children: [(String, Module)] { [(convName, conv), ("bn", bn)] }
    override public func forward(_ x: Tensor) -> Tensor { activation.apply(bn(conv(x))) }
}
