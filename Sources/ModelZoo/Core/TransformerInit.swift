import NeuralNet
import TensorEngine

/// The timm/PVT-style `_init_weights` that SegFormer's MiT, PVTv2 and CMT-style networks
/// (S2AFormer, spec/s2aformer.md §1.6) apply with `self.apply`: Linear trunc_normal(std 0.02)
/// with bias 0, LayerNorm 1/0, Conv2d N(0, √(2/fan_out)) with fan_out = k·k·Cout/groups and
/// bias 0 — on every such module of `module`'s tree, including those of another attention type
/// in an attention slot. BatchNorms keep their 1/0.
public func applyTransformerInit(to module: Module, generator: RandomGenerator = .global) {
    for (_, m) in module.namedModules() {
        switch m {
        case let linear as Linear:
            linear.weight.assign(from: Init.truncatedNormal(linear.weight.shape, std: 0.02, generator: generator))
            linear.bias?.assign(from: Tensor.zeros(linear.bias!.shape))
        case let conv as Conv2d:
            conv.weight.assign(from: Init.convNormal(conv.weight.shape, kernel: conv.kernel, outChannels: conv.outChannels,
                                                     groups: conv.groups, generator: generator))
            conv.bias?.assign(from: Tensor.zeros(conv.bias!.shape))
        case let norm as LayerNorm:
            norm.weight.assign(from: Tensor.ones(norm.weight.shape))
            norm.bias.assign(from: Tensor.zeros(norm.bias.shape))
        default:
            break
        }
    }
}
