import ConfigCore
import NeuralNet

/// `train.schedule: {type: poly, power: 1.0, min_lr: 0, warmup: {iterations: 1500, ratio: 1e-6}}`.
///
/// `type` (default poly) and `warmup` are read here; the type's own keys by its entry in
/// `ScheduleRegistry.standard`, so `milestones` on a poly schedule is an unknown key.
public struct ScheduleConfig: Decodable {
    public var settings: any ScheduleSettings = PolySettings()
    /// Default: none.
    public var warmup = WarmupConfig()
    /// timm's learning-rate noise; default none.
    public var noise: LRNoiseConfig?
    /// Set for epoch-based runs, where noise is drawn per epoch as timm does.
    var epochLength: (iterations: Int, epochs: Double)?

    public var typeName: String { settings.typeName }

    public init() {}

    enum CodingKeys: String, CodingKey { case warmup, noise }

    public init(from decoder: Decoder) throws {
        settings = try ScheduleRegistry.standard.build(from: decoder, defaultType: "poly")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        warmup = try c.decode(.warmup, default: warmup)
        noise = try c.decodeIfPresent(LRNoiseConfig.self, forKey: .noise)
    }

    /// The learning rate per iteration for a run of `iterations` starting at `baseLR`.
    public func make(baseLR: Float, iterations: Int) -> LRSchedule {
        let main = settings.make(baseLR: baseLR, iterations: iterations)
        let warmed = warmup.iterations > 0 ? LinearWarmup(main, iterations: warmup.iterations, startRatio: warmup.ratio) : main
        guard let noise else { return warmed }
        // timm adds the noise to the warmed-up value, per epoch when the run counts epochs.
        let (perStep, steps) = epochLength.map { ($0.iterations, $0.epochs) } ?? (1, Double(iterations))
        return noise.make(around: warmed, iterationsPerStep: perStep, steps: steps)
    }

    /// The first setting given in epochs (its key path under `schedule`), if any.
    var epochSetting: [CodingKey]? {
        if let key = settings.epochSetting { return [key] }
        if warmup.epochs != nil { return [CodingKeys.warmup, WarmupConfig.CodingKeys.epochs] }
        return nil
    }

    /// Epoch settings to iterations: the type's (step's `decay_epochs`) and the warm-up's.
    mutating func resolveEpochs(iterationsPerEpoch e: Int, epochs: Double, totalIterations: Int) {
        epochLength = (e, epochs)
        settings.resolveEpochs(iterationsPerEpoch: e, totalIterations: totalIterations)
        if let w = warmup.epochs { warmup.iterations = Int((w * Double(e)).rounded()) }
    }
}

/// Linear warm-up from `ratio · lr` to the scheduled lr over `iterations` (mmseg's LinearLR).
public struct WarmupConfig: Decodable {
    /// Default 0 (no warm-up).
    public var iterations = 0
    /// Epoch-based runs: warm-up length in epochs instead of iterations.
    public var epochs: Double?
    /// Default 1e-6.
    public var ratio: Float = 1e-6

    public init() {}
    enum CodingKeys: String, CodingKey { case iterations, ratio, epochs }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs)
        if let e = epochs {
            guard e >= 0 && e.isFinite else { throw c.error(.epochs, "must be ≥ 0 epochs, got \(e)") }
            guard !c.contains(.iterations) else { throw c.error(.iterations, "give either warmup.iterations or warmup.epochs, not both") }
        }
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? 0
        ratio = try c.decodeIfPresent(Float.self, forKey: .ratio) ?? ratio
    }
}
