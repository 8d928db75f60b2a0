import ConfigCore
import NeuralNet

/// One learning-rate schedule type's own keys, decoded from the `train.schedule` node.
public protocol ScheduleSettings {
    /// The `type:` name.
    var typeName: String { get }
    func make(baseLR: Float, iterations: Int) -> LRSchedule
    /// What is wrong given the rest of the run (its length, the base lr), as (key under
    /// `schedule`, message); checked by `validate`. Checks of the type's keys alone are made
    /// when decoding.
    func problems(lr: Float, iterations: Int) -> [(key: String, message: String)]
    /// The key of a setting given in epochs, which needs `train.epochs`; nil when none.
    var epochSetting: CodingKey? { get }
    /// Turns epoch settings into iterations once the training set's size is known.
    mutating func resolveEpochs(iterationsPerEpoch: Int, totalIterations: Int)
}

extension ScheduleSettings {
    public var epochSetting: CodingKey? { nil }
    public mutating func resolveEpochs(iterationsPerEpoch: Int, totalIterations: Int) {}
}

/// `train.schedule.type` → the type's settings (ConfigCore's `Registry`, as every other kind).
public typealias ScheduleRegistry = Registry<Void, any ScheduleSettings>

extension Registry where Context == Void, Product == any ScheduleSettings {
    public static var standard: ScheduleRegistry { StandardSchedules.registry }
}

public enum StandardSchedules {
    public static let registry: ScheduleRegistry = {
        let r = ScheduleRegistry(kind: "schedule")
        r.register("poly", summary: "(1 − t/T)^power decay to min_lr (mmseg's PolyLR; the default)") { try PolySettings(from: $0) }
        r.register("cosine", summary: "half-cosine decay to min_lr") { try CosineSettings(from: $0) }
        r.register("step", summary: "×gamma at milestones, or every decay_epochs epochs (timm's step)") { try StepSettings(from: $0) }
        return r
    }()
}

/// `min_lr` must lie in [0, lr]: above the base lr the schedule would rise.
private func minLRProblems(_ minLR: Float, lr: Float) -> [(key: String, message: String)] {
    minLR >= 0 && minLR <= lr ? [] : [("min_lr", "must be in [0, lr = \(lr)], got \(minLR)")]
}

/// `{type: poly, power: 1.0, min_lr: 0}`.
public struct PolySettings: ScheduleSettings {
    public var typeName: String { "poly" }
    /// Default 1.0.
    public var power: Float = 1
    /// Default 0.
    public var minLR: Float = 0

    init() {}
    enum CodingKeys: String, CodingKey { case power, minLR = "min_lr" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        power = try c.decode(.power, default: power)
        guard power.isFinite && power > 0 else { throw c.error(.power, "must be a finite number > 0, got \(power)") }
        minLR = try c.decode(.minLR, default: minLR)
        guard minLR.isFinite else { throw c.error(.minLR, "must be a finite number, got \(minLR)") }
    }

    public func make(baseLR: Float, iterations: Int) -> LRSchedule {
        PolySchedule(baseLR: baseLR, totalIterations: iterations, power: power, minLR: minLR)
    }
    public func problems(lr: Float, iterations: Int) -> [(key: String, message: String)] { minLRProblems(minLR, lr: lr) }
}

/// `{type: cosine, min_lr: 0}`.
public struct CosineSettings: ScheduleSettings {
    public var typeName: String { "cosine" }
    /// Default 0.
    public var minLR: Float = 0

    enum CodingKeys: String, CodingKey { case minLR = "min_lr" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        minLR = try c.decode(.minLR, default: minLR)
        guard minLR.isFinite else { throw c.error(.minLR, "must be a finite number, got \(minLR)") }
    }

    public func make(baseLR: Float, iterations: Int) -> LRSchedule {
        CosineSchedule(baseLR: baseLR, totalIterations: iterations, minLR: minLR)
    }
    public func problems(lr: Float, iterations: Int) -> [(key: String, message: String)] { minLRProblems(minLR, lr: lr) }
}

/// `{type: step, milestones: [8000, 12000], gamma: 0.1}` or, in epoch-based runs,
/// `{type: step, decay_epochs: 2.4, gamma: 0.973}` (SeaFormer's ImageNet recipe).
public struct StepSettings: ScheduleSettings {
    public var typeName: String { "step" }
    /// Iterations at which lr is multiplied by `gamma`, ascending. Required unless `decay_epochs`.
    public var milestones: [Int] = []
    /// Multiply by `gamma` every `decay_epochs` epochs, at epoch boundaries (timm's step
    /// scheduler, `lr · γ^⌊epoch / decay_epochs⌋`).
    public var decayEpochs: Double?
    /// Default 0.1.
    public var gamma: Float = 0.1

    enum CodingKeys: String, CodingKey { case milestones, gamma, decayEpochs = "decay_epochs" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decayEpochs = try c.decodeIfPresent(Double.self, forKey: .decayEpochs)
        if let d = decayEpochs {
            guard d > 0 && d.isFinite else { throw c.error(.decayEpochs, "must be a positive number of epochs, got \(d)") }
            guard !c.contains(.milestones) else { throw c.error(.milestones, "give either milestones or decay_epochs, not both") }
        } else {
            milestones = try c.decode([Int].self, forKey: .milestones)
            guard !milestones.isEmpty else { throw c.error(.milestones, "step needs at least one milestone") }
        }
        gamma = try c.decode(.gamma, default: gamma)
        guard gamma > 0 && gamma <= 1 else { throw c.error(.gamma, "must be in (0, 1], got \(gamma)") }
    }

    public func make(baseLR: Float, iterations: Int) -> LRSchedule {
        StepSchedule(baseLR: baseLR, milestones: milestones, gamma: gamma)
    }

    public func problems(lr: Float, iterations: Int) -> [(key: String, message: String)] {
        let ascending = zip(milestones, milestones.dropFirst()).allSatisfy { $0 < $1 } && milestones.allSatisfy { $0 > 0 && $0 < iterations }
        // Milestones derived from decay_epochs are in range by construction (and may be none
        // when the run is shorter than one decay period).
        return ascending || decayEpochs != nil ? [] : [("milestones", "must be ascending iterations in 1..<\(iterations), got \(milestones)")]
    }

    public var epochSetting: CodingKey? { decayEpochs != nil ? CodingKeys.decayEpochs : nil }

    /// Milestones at the epoch boundaries where ⌊epoch / decay_epochs⌋ grows.
    public mutating func resolveEpochs(iterationsPerEpoch e: Int, totalIterations: Int) {
        guard let d = decayEpochs else { return }
        let epochs = totalIterations / e + 1
        milestones = (1..<Swift.max(epochs, 1)).filter { Int((Double($0) / d).rounded(.down)) > Int((Double($0 - 1) / d).rounded(.down)) }
            .map { $0 * e }.filter { $0 < totalIterations }
    }
}
