import XCTest
@testable import TensorEngine

final class RandomTests: XCTestCase {
    /// Known-answer vectors of Philox-4×32-10 from Random123's kat_vectors.
    func testPhiloxKnownAnswers() {
        let a = RandomGenerator.philox(0, 0, 0, 0, key: 0, 0)
        XCTAssertEqual([a.0, a.1, a.2, a.3], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8])
        let b = RandomGenerator.philox(0xffff_ffff, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff, key: 0xffff_ffff, 0xffff_ffff)
        XCTAssertEqual([b.0, b.1, b.2, b.3], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd])
        let c = RandomGenerator.philox(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344, key: 0xa409_3822, 0x299f_31d0)
        XCTAssertEqual([c.0, c.1, c.2, c.3], [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1])
    }

    func testSameSeedSameNumbers() {
        let a = Tensor.normal([1000], generator: RandomGenerator(seed: 7)).toArray()
        let b = Tensor.normal([1000], generator: RandomGenerator(seed: 7)).toArray()
        let c = Tensor.normal([1000], generator: RandomGenerator(seed: 8)).toArray()
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testSavedStateContinuesTheStream() {
        let g = RandomGenerator(seed: 3)
        _ = Tensor.uniform([37], generator: g)
        let saved = g.state
        let next = Tensor.uniform([100], generator: g).toArray()
        let restored = RandomGenerator(seed: 0)
        restored.state = saved
        XCTAssertEqual(Tensor.uniform([100], generator: restored).toArray(), next)
        XCTAssertEqual(saved, [3, 10], "37 values consume ceil(37/4) = 10 blocks")
    }

    func testThreadCountDoesNotChangeNumbers() {
        let old = Engine.threads
        defer { Engine.threads = old }
        Engine.threads = 1
        let a = Tensor.normal([200_003], generator: RandomGenerator(seed: 5)).toArray()
        Engine.threads = 2
        let b = Tensor.normal([200_003], generator: RandomGenerator(seed: 5)).toArray()
        XCTAssertEqual(a, b)
    }

    func testDistributions() {
        let g = RandomGenerator(seed: 11)
        let n = 200_000
        func stats(_ t: Tensor) -> (Double, Double, Float, Float) {
            let v = t.toArray().map(Double.init)
            let m = v.reduce(0, +) / Double(v.count)
            let sd = (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot()
            return (m, sd, t.toArray().min()!, t.toArray().max()!)
        }
        let u = stats(Tensor.uniform([n], low: -1, high: 3, generator: g))
        XCTAssertEqual(u.0, 1, accuracy: 0.02); XCTAssertEqual(u.1, 4 / 12.0.squareRoot(), accuracy: 0.02)
        XCTAssertGreaterThanOrEqual(u.2, -1); XCTAssertLessThan(u.3, 3)
        let z = stats(Tensor.normal([n], mean: 2, std: 0.5, generator: g))
        XCTAssertEqual(z.0, 2, accuracy: 0.01); XCTAssertEqual(z.1, 0.5, accuracy: 0.01)
        // N(0, 1) truncated to [-2, 2]: std = sqrt(1 - 2·2φ(2)/(Φ(2)-Φ(-2))) = 0.8796.
        let t = stats(Tensor.truncatedNormal([n], generator: g))
        XCTAssertEqual(t.0, 0, accuracy: 0.01); XCTAssertEqual(t.1, 0.8796, accuracy: 0.01)
        XCTAssertGreaterThanOrEqual(t.2, -2); XCTAssertLessThanOrEqual(t.3, 2)
        // timm's trunc_normal_(std=.02) uses absolute bounds ±2: nothing is clipped in practice.
        let narrow = stats(Tensor.truncatedNormal([n], std: 0.02, generator: g))
        XCTAssertEqual(narrow.1, 0.02, accuracy: 0.0005)
        let b = stats(Tensor.bernoulli([n], p: 0.3, generator: g))
        XCTAssertEqual(b.0, 0.3, accuracy: 0.01)
        XCTAssertEqual(Set(Tensor.bernoulli([100], p: 0.5, generator: g).toArray()), [0, 1])
    }

    func testErfinvInvertsErf() {
        for x in [-0.999, -0.5, 0, 1e-4, 0.3, 0.9, 0.999999] {
            XCTAssertEqual(erf(erfinv(x)), x, accuracy: 1e-12)
        }
    }
}
