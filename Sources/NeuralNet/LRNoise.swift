import Foundation

/// timm's learning-rate noise (`--lr-noise`, `--lr-noise-pct`, `--lr-noise-std`, `--lr-noise-type`,
/// `--seed`-independent `noise_seed`): inside the noise range the scheduled rate `v` becomes
/// `v + v·n`, where `n` is drawn once per step `t` (an epoch for epoch-based runs, else an
/// iteration) from `torch.Generator().manual_seed(seed + t)`: normal draws repeated until
/// |n| < pct, or uniform in (−pct, pct). timm never scales the normal draw by its `noise_std`,
/// so neither do we. The same t always gets the same n, so a resumed run sees the same rates.
public struct LRNoise: LRSchedule {
    public enum Kind: String, CaseIterable, Sendable { case normal, uniform }

    public var schedule: LRSchedule
    /// Iterations per noise step: 1, or the iterations of one epoch.
    public var iterationsPerStep: Int
    /// Noise applies for `start ≤ t` (and `t < end` when given), in steps.
    public var start: Int, end: Int?
    public var pct: Double, kind: Kind, seed: UInt64

    public init(_ schedule: LRSchedule, iterationsPerStep: Int, start: Int, end: Int?, pct: Double, kind: Kind, seed: UInt64) {
        precondition(iterationsPerStep > 0, "lr noise: iterations per step must be positive")
        self.schedule = schedule; self.iterationsPerStep = iterationsPerStep
        self.start = start; self.end = end; self.pct = pct; self.kind = kind; self.seed = seed
    }

    /// The relative change `n` at step `t`, or nil outside the range.
    public func noise(atStep t: Int) -> Double? {
        guard t >= start, end.map({ t < $0 }) ?? true else { return nil }
        var g = TorchCPUGenerator(seed: seed &+ UInt64(t))
        switch kind {
        case .normal:
            // pct > 0 is checked when the config is decoded, so this ends (P(|n| < pct) > 0).
            while true {
                let n = Double(g.randn())
                if abs(n) < pct { return n }
            }
        case .uniform:
            return 2 * (Double(g.rand()) - 0.5) * pct
        }
    }

    public func lr(at iteration: Int) -> Float {
        let v = schedule.lr(at: iteration)
        guard let n = noise(atStep: iteration / iterationsPerStep) else { return v }
        return Float(Double(v) + Double(v) * n)
    }
}
