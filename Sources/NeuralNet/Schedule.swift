import Foundation

/// A learning rate as a function of the iteration (0-based), evaluated before every step.
/// Computed in Double (as mmcv does in Python) and rounded once.
public protocol LRSchedule {
    func lr(at iteration: Int) -> Float
}

/// mmcv's poly policy: `(base − min)·(1 − t/T)^power + min`.
public struct PolySchedule: LRSchedule {
    public var baseLR: Float, totalIterations: Int, power: Float, minLR: Float
    public init(baseLR: Float, totalIterations: Int, power: Float = 1, minLR: Float = 0) {
        precondition(totalIterations > 0, "poly schedule: total iterations must be positive")
        self.baseLR = baseLR; self.totalIterations = totalIterations; self.power = power; self.minLR = minLR
    }
    public func lr(at t: Int) -> Float {
        let progress = Double(min(t, totalIterations)) / Double(totalIterations)
        return Float(Double(baseLR - minLR) * Foundation.pow(1 - progress, Double(power)) + Double(minLR))
    }
}

/// Cosine annealing from `baseLR` to `minLR` over `totalIterations`.
public struct CosineSchedule: LRSchedule {
    public var baseLR: Float, totalIterations: Int, minLR: Float
    public init(baseLR: Float, totalIterations: Int, minLR: Float = 0) {
        precondition(totalIterations > 0, "cosine schedule: total iterations must be positive")
        self.baseLR = baseLR; self.totalIterations = totalIterations; self.minLR = minLR
    }
    public func lr(at t: Int) -> Float {
        let progress = Double(min(t, totalIterations)) / Double(totalIterations)
        return Float(Double(minLR) + Double(baseLR - minLR) * (1 + Foundation.cos(Double.pi * progress)) / 2)
    }
}

/// Step decay: multiplied by `gamma` at each milestone iteration passed.
public struct StepSchedule: LRSchedule {
    public var baseLR: Float, milestones: [Int], gamma: Float
    public init(baseLR: Float, milestones: [Int], gamma: Float = 0.1) {
        self.baseLR = baseLR; self.milestones = milestones.sorted(); self.gamma = gamma
    }
    /// Decay every `stepSize` iterations, for `totalIterations`.
    public init(baseLR: Float, stepSize: Int, totalIterations: Int, gamma: Float = 0.1) {
        precondition(stepSize > 0, "step schedule: step size must be positive")
        self.init(baseLR: baseLR, milestones: Array(stride(from: stepSize, through: totalIterations, by: stepSize)), gamma: gamma)
    }
    public func lr(at t: Int) -> Float {
        baseLR * Foundation.pow(gamma, Float(milestones.filter { t >= $0 }.count))
    }
}

/// mmcv's linear warm-up wrapped around any schedule: during the first `iterations` the
/// regular rate is scaled by `1 − (1 − t/iterations)·(1 − startRatio)`.
public struct LinearWarmup: LRSchedule {
    public var schedule: LRSchedule, iterations: Int, startRatio: Float
    public init(_ schedule: LRSchedule, iterations: Int, startRatio: Float) {
        self.schedule = schedule; self.iterations = iterations; self.startRatio = startRatio
    }
    public func lr(at t: Int) -> Float {
        let regular = schedule.lr(at: t)
        guard t < iterations else { return regular }
        // In Double, as mmcv computes in Python: 1 − (1 − 1e-6) in Float is off by 1.3%.
        let k = (1 - Double(t) / Double(iterations)) * (1 - Double(startRatio))
        return Float(Double(regular) * (1 - k))
    }
}
