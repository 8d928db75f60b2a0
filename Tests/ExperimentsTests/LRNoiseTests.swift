@testable import Experiments
import Foundation
import NeuralNet
import XCTest

/// timm's learning-rate noise: PyTorch's CPU generator replayed value for value, the noise range
/// in steps, and the config keys with their errors. Expected values are printed by torch:
/// `g = torch.Generator(); g.manual_seed(s); torch.randn(1, generator=g).item()`.
final class LRNoiseTests: XCTestCase {
    func testGeneratorReplaysTorch() {
        var g = TorchCPUGenerator(seed: 42)
        // Two calls share one Box–Muller pair (torch caches the second value).
        XCTAssertEqual([g.randn(), g.randn(), g.randn(), g.randn()], [0.33669036626815796, 0.12880940735340118, 0.23446236550807953, 0.23033303022384644])
        for (seed, value) in [(43, Float(-0.6484010815620422)), (294, 0.4828890860080719), (12345, 1.4271304607391357)] {
            var h = TorchCPUGenerator(seed: UInt64(seed))
            XCTAssertEqual(h.randn(), value, "seed \(seed)")
        }
        for (seed, value) in [(42, Float(0.8822692632675171)), (43, 0.4539682865142822), (7, 0.5349225401878357)] {
            var h = TorchCPUGenerator(seed: UInt64(seed))
            XCTAssertEqual(h.rand(), value, "rand, seed \(seed)")
        }
    }

    struct Constant: LRSchedule { func lr(at iteration: Int) -> Float { 1 } }

    func testNoiseMatchesTimmPerStep() throws {
        // timm's _calculate_noise(t) for noise_seed 42, pct 0.67, t = 0…3, 252, 253.
        let normal = LRNoise(Constant(), iterationsPerStep: 1, start: 0, end: nil, pct: 0.67, kind: .normal, seed: 42)
        let expected = [0.33669036626815796, -0.6484010815620422, 0.058945026248693466, 0.031175758689641953]
        for (t, n) in expected.enumerated() { XCTAssertEqual(try XCTUnwrap(normal.noise(atStep: t)), n, accuracy: 1e-12, "t=\(t)") }
        XCTAssertEqual(try XCTUnwrap(normal.noise(atStep: 252)), 0.4828890860080719, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(normal.noise(atStep: 253)), 0.16362853348255157, accuracy: 1e-12)
        // pct 0.1 with seed 7: the first draws are rejected until one is inside (−0.1, 0.1).
        let narrow = LRNoise(Constant(), iterationsPerStep: 1, start: 0, end: nil, pct: 0.1, kind: .normal, seed: 7)
        XCTAssertEqual(try XCTUnwrap(narrow.noise(atStep: 0)), -0.08318638056516647, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(narrow.noise(atStep: 1)), -0.0576854832470417, accuracy: 1e-12)
        let uniform = LRNoise(Constant(), iterationsPerStep: 1, start: 0, end: nil, pct: 0.67, kind: .uniform, seed: 42)
        XCTAssertEqual(try XCTUnwrap(uniform.noise(atStep: 0)), 0.5122408127784729, accuracy: 1e-7)
        XCTAssertEqual(try XCTUnwrap(uniform.noise(atStep: 1)), -0.06168249607086182, accuracy: 1e-7)
        // The range [start, end) in steps of 10 iterations; one noise value per step.
        let ranged = LRNoise(Constant(), iterationsPerStep: 10, start: 1, end: 3, pct: 0.67, kind: .normal, seed: 42)
        XCTAssertEqual(ranged.lr(at: 9), 1)
        XCTAssertEqual(ranged.lr(at: 10), Float(1 - 0.6484010815620422))
        XCTAssertEqual(ranged.lr(at: 19), ranged.lr(at: 10))
        XCTAssertEqual(ranged.lr(at: 25), Float(1 + 0.058945026248693466))
        XCTAssertEqual(ranged.lr(at: 30), 1)
    }

    func noiseConfig(_ text: String) throws -> ScheduleConfig {
        let d = try TempConfigDir()
        let f = try d.write("x.yaml", ExperimentConfigTests.minimal.replacingOccurrences(of: "lr: 0.001}", with: "lr: 0.001}\n  schedule: {type: poly, noise: \(text)}"))
        return try Experiment.load(file: f).config.train.schedule
    }

    func testConfigKeysAndErrors() throws {
        // An iteration run of 10: range 0.42 starts at iteration ⌈4.2⌉ = 5; 0.8 ends before 8.
        let s = try noiseConfig("{range: [0.42, 0.8]}").make(baseLR: 1, iterations: 10)
        let noisy = try XCTUnwrap(s as? LRNoise)
        XCTAssertEqual(noisy.start, 5)
        XCTAssertEqual(noisy.end, 8)
        XCTAssertEqual(noisy.pct, 0.67)
        XCTAssertEqual(noisy.seed, 42)
        XCTAssertEqual(s.lr(at: 4), PolySchedule(baseLR: 1, totalIterations: 10).lr(at: 4))
        XCTAssertEqual(Double(s.lr(at: 5)), Double(PolySchedule(baseLR: 1, totalIterations: 10).lr(at: 5)) * (1 + 0.5756789445877075), accuracy: 1e-6)
        func message(_ text: String) -> (String?, String?) {
            let e = configError { _ = try self.noiseConfig(text) }
            return (e?.keyPath, e?.message)
        }
        XCTAssertEqual(message("{range: [0.9, 0.5]}").1, "end 0.5 must be greater than start 0.9")
        XCTAssertEqual(message("{range: [0.42], type: gaussian}").0, "train.schedule.noise.type")
        XCTAssertEqual(message("{range: [0.42], type: gaussian}").1, "unknown noise type 'gaussian'; choose one of normal, uniform")
        XCTAssertEqual(message("{range: [0.42], pct: 0}").0, "train.schedule.noise.pct")
        XCTAssertEqual(message("{range: [0.42], std: 1.0}").0, "train.schedule.noise.std", "an unknown key is located")
        XCTAssertEqual(message("{pct: 0.5}").0, "train.schedule.noise.range")
    }
}
