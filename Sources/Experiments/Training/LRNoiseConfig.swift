import ConfigCore
import Foundation
import NeuralNet

/// `train.schedule.noise: {range: [0.42], pct: 0.67, type: normal, seed: 42}`: timm's
/// `--lr-noise 0.42` (SeaFormer's ImageNet recipe). `range` holds fractions of the run, as
/// timm's flag does: one value starts the noise there and keeps it to the end, two bound it
/// (`[start, end)`). Steps are epochs in an epoch-based run, iterations otherwise.
public struct LRNoiseConfig: Decodable {
    public var start: Double
    public var end: Double?
    /// timm's `--lr-noise-pct`, default 0.67.
    public var pct = 0.67
    /// timm's `--lr-noise-type`, default normal.
    public var kind = LRNoise.Kind.normal
    /// timm's `noise_seed`, default 42.
    public var seed: UInt64 = 42

    enum CodingKeys: String, CodingKey { case range, pct, type, seed }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let range = try c.decode([Double].self, forKey: .range)
        guard (1...2).contains(range.count), range.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
            throw c.error(.range, "must be one or two fractions of the run ≥ 0, like timm's --lr-noise (e.g. [0.42] or [0.4, 0.9]), got \(range)")
        }
        start = range[0]
        if range.count == 2 {
            guard range[1] > range[0] else { throw c.error(.range, "end \(range[1]) must be greater than start \(range[0])") }
            end = range[1]
        }
        pct = try c.decode(.pct, default: pct)
        guard pct > 0 && pct.isFinite else { throw c.error(.pct, "must be positive, got \(pct)") }
        let type = try c.decode(.type, default: kind.rawValue)
        guard let k = LRNoise.Kind(rawValue: type) else {
            throw c.error(.type, "unknown noise type '\(type)'; choose one of \(LRNoise.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        kind = k
        let s = try c.decode(.seed, default: Int(seed))
        guard s >= 0 else { throw c.error(.seed, "must be ≥ 0, got \(s)") }
        seed = UInt64(s)
    }

    /// The noisy schedule for a run of `steps` noise steps of `iterationsPerStep` iterations.
    func make(around schedule: LRSchedule, iterationsPerStep: Int, steps: Double) -> LRNoise {
        // timm compares the integer step with `fraction · steps`: t ≥ 126.3 means t ≥ 127. The
        // small tolerance keeps 0.42 · 600 = 252.00000000000003 at 252.
        func step(_ f: Double) -> Int { Int((f * steps - 1e-9).rounded(.up)) }
        return LRNoise(schedule, iterationsPerStep: iterationsPerStep, start: step(start), end: end.map(step),
                       pct: pct, kind: kind, seed: seed)
    }
}
