import ConfigCore
import NeuralNet

/// One optimizer type's own keys, decoded from the `train.optimizer` node, and its constructor.
public protocol OptimizerSettings {
    /// The `type:` name.
    var typeName: String { get }
    /// `weight_decay` when the config leaves it out.
    var defaultWeightDecay: Float { get }
    /// State tensors the optimizer keeps per parameter tensor (checkpoint sizing).
    var stateTensorsPerParameter: Int { get }
    func make(_ parameters: [OptimizedParameter], lr: Float, weightDecay: Float) -> Optimizer
}

extension OptimizerSettings {
    public var defaultWeightDecay: Float { 0 }
}

/// `train.optimizer.type` → the type's settings (ConfigCore's `Registry`, as every other kind).
public typealias OptimizerRegistry = Registry<Void, any OptimizerSettings>

extension Registry where Context == Void, Product == any OptimizerSettings {
    public static var standard: OptimizerRegistry { StandardOptimizers.registry }
}

public enum StandardOptimizers {
    public static let registry: OptimizerRegistry = {
        let r = OptimizerRegistry(kind: "optimizer")
        r.register("sgd", summary: "SGD with momentum (PyTorch's form)") { try SGDSettings(from: $0) }
        r.register("adam", summary: "Adam, L2 weight decay added to the gradient") { try AdamSettings(from: $0, decoupled: false) }
        r.register("adamw", summary: "AdamW, decoupled weight decay (mmseg's SegFormer/SeaFormer recipes)") { try AdamSettings(from: $0, decoupled: true) }
        r.register("rmsproptf", summary: "timm's TF-style RMSprop (SeaFormer's ImageNet recipe)") { try RMSpropTFSettings(from: $0) }
        return r
    }()
}

/// `{type: sgd, momentum: 0.9}`.
struct SGDSettings: OptimizerSettings {
    var typeName: String { "sgd" }
    /// Default 0.9.
    var momentum: Float = 0.9

    enum CodingKeys: String, CodingKey { case momentum }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(.momentum, default: momentum, in: Float(0)..<Float(1))
    }

    var stateTensorsPerParameter: Int { momentum > 0 ? 1 : 0 }
    func make(_ parameters: [OptimizedParameter], lr: Float, weightDecay: Float) -> Optimizer {
        SGD(parameters: parameters, lr: lr, momentum: momentum, weightDecay: weightDecay)
    }
}

/// `{type: adam|adamw, betas: [0.9, 0.999], eps: 1e-8}`.
struct AdamSettings: OptimizerSettings {
    let decoupled: Bool
    var typeName: String { decoupled ? "adamw" : "adam" }
    /// Default [0.9, 0.999].
    var betas: [Float] = [0.9, 0.999]
    /// Default 1e-8.
    var eps: Float = 1e-8

    enum CodingKeys: String, CodingKey { case betas, eps }

    init(from decoder: Decoder, decoupled: Bool) throws {
        self.decoupled = decoupled
        let c = try decoder.container(keyedBy: CodingKeys.self)
        betas = try c.decode(.betas, default: betas)
        guard betas.count == 2 && betas.allSatisfy({ (0..<1).contains($0) }) else { throw c.error(.betas, "needs two values in [0, 1), got \(betas)") }
        eps = try c.decode(.eps, default: eps)
        guard eps.isFinite && eps > 0 else { throw c.error(.eps, "must be a finite number > 0, got \(eps)") }
    }

    var defaultWeightDecay: Float { decoupled ? 0.01 : 0 }
    var stateTensorsPerParameter: Int { 2 }
    func make(_ parameters: [OptimizedParameter], lr: Float, weightDecay: Float) -> Optimizer {
        decoupled ? Adam.adamW(parameters: parameters, lr: lr, beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay)
            : Adam(parameters: parameters, lr: lr, beta1: betas[0], beta2: betas[1], eps: eps, weightDecay: weightDecay)
    }
}

/// `{type: rmsproptf, alpha: 0.9, eps: 1e-3, momentum: 0.9}` (SeaFormer's ImageNet recipe).
struct RMSpropTFSettings: OptimizerSettings {
    var typeName: String { "rmsproptf" }
    /// Smoothing of the squared-gradient average. Default 0.9.
    var alpha: Float = 0.9
    /// Default 1e-10 (TF's; SeaFormer's recipe sets 1e-3).
    var eps: Float = 1e-10
    /// Default 0.9.
    var momentum: Float = 0.9

    enum CodingKeys: String, CodingKey { case alpha, eps, momentum }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        momentum = try c.decode(.momentum, default: momentum, in: Float(0)..<Float(1))
        alpha = try c.decode(.alpha, default: alpha, in: Float(0)..<Float(1))
        eps = try c.decode(.eps, default: eps)
        guard eps.isFinite && eps > 0 else { throw c.error(.eps, "must be a finite number > 0, got \(eps)") }
    }

    var stateTensorsPerParameter: Int { momentum > 0 ? 2 : 1 }
    func make(_ parameters: [OptimizedParameter], lr: Float, weightDecay: Float) -> Optimizer {
        RMSpropTF(parameters: parameters, lr: lr, alpha: alpha, eps: eps, momentum: momentum, weightDecay: weightDecay)
    }
}
