import TestSupport
import XCTest
@testable import TensorEngine

final class DropoutTests: XCTestCase {
    func testSameSeedSameMaskAndScaling() {
        let x = Tensor.ones([4, 33])
        let a = dropout(x, p: 0.3, training: true, generator: RandomGenerator(seed: 5)).toArray()
        let b = dropout(x, p: 0.3, training: true, generator: RandomGenerator(seed: 5)).toArray()
        let c = dropout(x, p: 0.3, training: true, generator: RandomGenerator(seed: 6)).toArray()
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        for v in a { XCTAssertTrue(v == 0 || Swift.abs(v - 1 / 0.7) < 1e-6) }
    }

    func testKeepFractionAndExpectation() {
        let x = Tensor.ones([1 << 18])
        let y = dropout(x, p: 0.25, training: true, generator: RandomGenerator(seed: 1))
        let kept = Float(y.toArray().filter { $0 != 0 }.count) / Float(x.count)
        XCTAssertEqual(kept, 0.75, accuracy: 0.005)  // σ ≈ 0.00085
        XCTAssertEqual(y.mean().item(), 1, accuracy: 0.01)
    }

    func testEvalAndZeroProbabilityAreIdentity() {
        let x = Tensor.normal([2, 3, 3, 4], generator: RandomGenerator(seed: 2))
        XCTAssertTrue(dropout(x, p: 0.5, training: false) === x)
        XCTAssertTrue(dropout(x, p: 0, training: true) === x)
        XCTAssertTrue(dropout2d(x, p: 0.5, training: false) === x)
        XCTAssertTrue(dropPath(x, p: 0.5, training: false) === x)
        XCTAssertEqual(dropout(x, p: 1, training: true).toArray(), [Float](repeating: 0, count: x.count))
    }

    func testDropPathZeroesWholeSamples() {
        let x = Tensor.uniform([64, 3, 2, 5], low: 1, high: 2, generator: RandomGenerator(seed: 3))
        let y = dropPath(x, p: 0.5, training: true, generator: RandomGenerator(seed: 4))
        let xv = x.toArray(), yv = y.toArray()
        var dropped = 0
        for n in 0..<64 {
            let s = (n * 30)..<((n + 1) * 30)
            if yv[s.lowerBound] == 0 {
                dropped += 1
                XCTAssertTrue(s.allSatisfy { yv[$0] == 0 })
            } else {
                XCTAssertTrue(s.allSatisfy { Swift.abs(yv[$0] - xv[$0] * 2) < 1e-5 })
            }
        }
        XCTAssertTrue(dropped > 10 && dropped < 54)
    }

    func testDropout2dZeroesWholeChannels() {
        let x = Tensor.uniform([3, 4, 5, 16], low: 1, high: 2, generator: RandomGenerator(seed: 7))
        let y = dropout2d(x, p: 0.5, training: true, generator: RandomGenerator(seed: 8)).toArray()
        for n in 0..<3 { for c in 0..<16 {
            let idx = (0..<20).map { n * 320 + $0 * 16 + c }
            let zero = y[idx[0]] == 0
            XCTAssertTrue(idx.allSatisfy { (y[$0] == 0) == zero })
        } }
    }

    func testGradientIsTheMask() {
        for op in [{ (t: Tensor) in dropout(t, p: 0.4, training: true, generator: RandomGenerator(seed: 9)) },
                   { (t: Tensor) in dropout2d(t, p: 0.4, training: true, generator: RandomGenerator(seed: 9)) },
                   { (t: Tensor) in dropPath(t, p: 0.4, training: true, generator: RandomGenerator(seed: 9)) }] {
            let x = Tensor.normal([4, 3, 2, 5], generator: RandomGenerator(seed: 10))
            checkGradients([x]) { op($0[0]) }  // a fresh generator per call: the same mask every evaluation
            let mask = op(Tensor.ones(x.shape))
            assertValues(x.grad!.equal(0), mask.equal(0).toArray())
        }
    }
}
