import ConfigCore
import NeuralNet

/// `train.optimizer: {type: adamw, lr: 3e-4, weight_decay: 0.01, betas: [0.9, 0.999], paramwise: [...]}`.
///
/// The keys every optimizer takes are read here; the type's own keys (`momentum`, `betas`,
/// `eps`, `alpha`) by its entry in `OptimizerRegistry.standard`, so a key of another optimizer
/// (`momentum` on adamw is a recipe mistake, not a no-op) is an unknown key naming the valid ones.
public struct OptimizerConfig: Decodable {
    /// The type's own settings and its constructor.
    public var settings: any OptimizerSettings
    /// Base learning rate. Required, ≥ 0.
    public var lr: Float
    /// Default: the type's (0.01 for adamw, 0 otherwise).
    public var weightDecay: Float
    /// No weight decay on 1-D parameters (biases, norm weights, positional tables of rank 1),
    /// timm's `filter_bias_and_bn`. Default false.
    public var noDecay1D = false
    /// Per-parameter multipliers: the first rule whose `key` is a substring of a parameter's
    /// name applies (mmseg's paramwise_cfg.custom_keys). Default [].
    public var paramwise: [ParamRuleConfig] = []

    public var typeName: String { settings.typeName }

    enum CodingKeys: String, CodingKey { case lr, weightDecay = "weight_decay", paramwise, noDecay1D = "no_decay_1d" }

    public init(from decoder: Decoder) throws {
        settings = try OptimizerRegistry.standard.build(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        lr = try c.decode(Float.self, forKey: .lr)
        weightDecay = try c.decode(.weightDecay, default: settings.defaultWeightDecay)
        paramwise = try c.decode(.paramwise, default: [])
        noDecay1D = try c.decode(.noDecay1D, default: noDecay1D)
    }

    /// The optimizer over `model`'s trainable parameters with the `paramwise` rules applied.
    public func make(for model: Module) -> Optimizer {
        let rules = paramwise.map { ParameterRule(key: $0.key, lrMult: $0.lrMult, decayMult: $0.decayMult) }
        var parameters = optimizedParameters(model.namedParameters(), rules: rules)
        if noDecay1D {
            // timm's `filter_bias_and_bn`: biases, norm scales and other 1-D tensors get no decay.
            parameters = parameters.map { $0.tensor.rank <= 1 ? OptimizedParameter(name: $0.name, tensor: $0.tensor, lrMult: $0.lrMult, decayMult: 0) : $0 }
        }
        return settings.make(parameters, lr: lr, weightDecay: weightDecay)
    }

    /// State tensors per parameter tensor, for sizing checkpoints before the first one is written.
    var stateTensorsPerParameter: Int { settings.stateTensorsPerParameter }
}

/// `{key: decode_head, lr_mult: 10, decay_mult: 1}`.
public struct ParamRuleConfig: Decodable, Equatable {
    public var key: String
    /// Default 1.
    public var lrMult: Float = 1
    /// Default 1.
    public var decayMult: Float = 1

    enum CodingKeys: String, CodingKey { case key, lrMult = "lr_mult", decayMult = "decay_mult" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        lrMult = try c.decodeIfPresent(Float.self, forKey: .lrMult) ?? 1
        decayMult = try c.decodeIfPresent(Float.self, forKey: .decayMult) ?? 1
    }
}
