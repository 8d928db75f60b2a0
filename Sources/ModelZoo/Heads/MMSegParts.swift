import NeuralNet
import TensorEngine

// The pieces every mmseg decode head shares, built the way mmcv/mmseg initialise them
// (spec §1.4: ConvModule convs kaiming-normal fan_out for ReLU, BN γ=1 β=0; conv_seg N(0, 0.01),
// bias 0). mmseg re-initialises heads after construction, so these override the PyTorch
// defaults that `Conv2d` starts with.

/// mmcv's `ConvModule`: conv without bias (a norm follows) → BN → optional activation; the
/// children are named `conv` and `bn` as in mmcv, so state paths match converted checkpoints.
func convModule(_ inChannels: Int, _ outChannels: Int, kernel: Int = 1, groups: Int = 1, activation: ActivationKind,
                generator: RandomGenerator) -> ConvBN {
    let m = ConvBN(inChannels, outChannels, kernel: kernel, padding: kernel / 2, groups: groups, activation: activation,
                   convName: "conv", generator: generator)
    // mmcv uses the ReLU gain (a = 0) for every activation except LeakyReLU, including none.
    m.conv.weight.assign(from: Init.kaimingNormal(m.conv.weight.shape, fan: m.conv.fanOut, generator: generator))
    return m
}

/// mmseg's `conv_seg`: the 1×1 classifier with bias that ends every decode head.
func classifierConv(_ channels: Int, numClasses: Int, generator: RandomGenerator) -> Conv2d {
    let c = Conv2d(channels, numClasses, kernel: 1, bias: true, generator: generator)
    c.weight.assign(from: Init.normal(c.weight.shape, std: 0.01, generator: generator))
    c.bias!.assign(from: Tensor.zeros([numClasses]))
    return c
}
