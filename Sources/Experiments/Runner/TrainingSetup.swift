import Foundation
import NeuralNet

// The config's optimizer and schedule sections turned into NeuralNet objects.

extension OptimizerConfig {
    /// The optimizer over `model`'s trainable parameters with the `paramwise` rules applied.
    public func make(for model: Module) -> Optimizer {
        let rules = paramwise.map { ParameterRule(key: $0.key, lrMult: $0.lrMult, decayMult: $0.decayMult) }
        var parameters = optimizedParameters(model.namedParameters(), rules: rules)
        if noDecay1D {
            // timm's `filter_bias_and_bn`: biases, norm scales and other 1-D tensors get no decay.
            parameters = parameters.map { $0.tensor.rank <= 1 ? OptimizedParameter(name: $0.name, tensor: $0.tensor, lrMult: $0.lrMult, decayMult: 0) : $0 }
        }
        switch type {
        case .sgd: return SGD(parameters: parameters, lr: lr, momentum: momentum, weightDecay: weightDecay)
        case .adam: return Adam(parameters: parameters, lr: lr, beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay)
        case .adamw: return Adam.adamW(parameters: parameters, lr: lr, beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay)
        case .rmsproptf: return RMSpropTF(parameters: parameters, lr: lr, alpha: alpha, eps: eps, momentum: momentum, weightDecay: weightDecay)
        }
    }

    /// State tensors per parameter tensor, for sizing checkpoints before the first one is written.
    var stateTensorsPerParameter: Int { type == .sgd ? (momentum > 0 ? 1 : 0) : type == .rmsproptf ? (momentum > 0 ? 2 : 1) : 2 }
}

extension ScheduleConfig {
    /// The learning rate per iteration for a run of `iterations` starting at `baseLR`.
    public func make(baseLR: Float, iterations: Int) -> LRSchedule {
        let main: LRSchedule
        switch type {
        case .poly: main = PolySchedule(baseLR: baseLR, totalIterations: iterations, power: power, minLR: minLR)
        case .cosine: main = CosineSchedule(baseLR: baseLR, totalIterations: iterations, minLR: minLR)
        case .step: main = StepSchedule(baseLR: baseLR, milestones: milestones, gamma: gamma)
        }
        return warmup.iterations > 0 ? LinearWarmup(main, iterations: warmup.iterations, startRatio: warmup.ratio) : main
    }
}
