import Foundation

/// Wall-clock milliseconds of `body`: `warmup` untimed runs, then the median of timed runs
/// (at least `minRuns`, more until about `budget` seconds have passed, at most `maxRuns`).
func medianMs(warmup: Int = 3, minRuns: Int = 7, maxRuns: Int = 50, budget: Double = 0.4, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    let start = DispatchTime.now().uptimeNanoseconds
    while times.count < minRuns || (times.count < maxRuns && Double(DispatchTime.now().uptimeNanoseconds - start) < budget * 1e9) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return median(times)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func fmt(_ x: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", x) }

/// Median ms of `body(setup())`, timing only `body` (backward needs a fresh graph each run).
func medianSplitMs<T>(warmup: Int = 2, runs: Int = 9, setup: () -> T, _ body: (T) -> Void) -> Double {
    for _ in 0..<warmup { body(setup()) }
    var times: [Double] = []
    for _ in 0..<runs {
        let s = setup()
        let t0 = DispatchTime.now().uptimeNanoseconds
        body(s)
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    return median(times)
}

/// A table cell of milliseconds with one decimal, "–" when there is no value.
func ms1(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "–" }

/// "reference / ours×" (above 1: ours is faster), "–" without a reference.
func speedup(reference: Double?, ours: Double) -> String { reference.map { String(format: "%.2f×", $0 / ours) } ?? "–" }
