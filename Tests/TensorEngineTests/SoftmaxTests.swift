import TestSupport
import XCTest
@testable import TensorEngine

final class SoftmaxTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    /// Softmax along `axis` by the textbook formula in Double.
    func naiveSoftmax(_ x: Tensor, axis: Int, log: Bool) -> [Float] {
        let shape = x.shape, a = (axis + shape.count) % shape.count
        let outer = shape[..<a].reduce(1, *), k = shape[a], inner = shape[(a + 1)...].reduce(1, *)
        let v = x.toArray()
        var out = [Float](repeating: 0, count: v.count)
        for o in 0..<outer { for i in 0..<inner {
            let idx = (0..<k).map { o * k * inner + $0 * inner + i }
            let m = idx.map { Double(v[$0]) }.max()!
            let s = idx.map { Foundation.exp(Double(v[$0]) - m) }.reduce(0, +)
            for j in idx { out[j] = Float(log ? Double(v[j]) - m - Foundation.log(s) : Foundation.exp(Double(v[j]) - m) / s) }
        } }
        return out
    }

    func testSoftmaxAxis1Of3DMatchesPyTorch() {
        let z = Tensor(sinSequence(24, 0.9, 2), shape: [2, 3, 4])
        // F.softmax(z, dim=1), F.log_softmax(z, dim=1)
        assertValues(z.softmax(axis: 1), [0.15864457, 0.4029308, 0.73770469, 0.62100422, 0.065472186, 0.0119061, 0.022428207, 0.27320048,
                                          0.7758832, 0.58516312, 0.23986717, 0.10579532, 0.019360719, 0.061624885, 0.16332497, 0.41703257,
                                          0.94997358, 0.62547678, 0.059361853, 0.011675183, 0.030665684, 0.31289837, 0.77731317, 0.57129222], accuracy: 1e-6)
        assertValues(z.logSoftmax(axis: 1), [-1.841089, -0.90899044, -0.30421171, -0.47641742, -2.7261298, -4.4307046, -3.7974358, -1.2975494,
                                             -0.25375327, -0.53586465, -1.42767, -2.246249, -3.944509, -2.7866895, -1.8120134, -0.87459099,
                                             -0.051321074, -0.46924108, -2.8241034, -4.4502897, -3.484611, -1.1618769, -0.251912, -0.55985439], accuracy: 1e-6)
    }

    func testAllAxesMatchNaive() {
        let shapes = [[3, 5, 7], [2, 3, 4, 5], [1, 600, 3], [4, 150], [2, 3, 700]]
        for (k, shape) in shapes.enumerated() {
            let x = Tensor.normal(shape, std: 3, generator: gen(UInt64(k)))
            for axis in -shape.count..<shape.count {
                assertValues(x.softmax(axis: axis), naiveSoftmax(x, axis: axis, log: false), accuracy: 1e-6, "softmax \(shape) axis \(axis)")
                assertValues(x.logSoftmax(axis: axis), naiveSoftmax(x, axis: axis, log: true), accuracy: 1e-5, "logSoftmax \(shape) axis \(axis)")
            }
        }
    }

    func testLargeValuesDoNotOverflow() {
        let x = Tensor([1000, 1001, 999, -1000, -1002, -5000], shape: [2, 3])
        let s = x.softmax(axis: 1).toArray()
        XCTAssertEqual(s[1], 0.66524096, accuracy: 1e-6)
        XCTAssertEqual(x.logSoftmax(axis: 1).toArray()[1], -0.40760596, accuracy: 1e-6)
        XCTAssertEqual(s[5], 0)
        XCTAssertFalse(s.contains { $0.isNaN })
    }

    func testFastExpAccuracy() {
        var worst: Float = 0
        var x: Float = -87
        while x < 80 {
            let e = Foundation.exp(x)
            worst = Swift.max(worst, Swift.abs(fastExp(x) - e) / e)
            x += 0.01371
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(fastExp(0), 1)
        XCTAssertEqual(fastExp(-200), 0)
        XCTAssertEqual(fastExp(-.infinity), 0)
        XCTAssertEqual(fastExp(.infinity), .infinity)
        XCTAssertTrue(fastExp(.nan).isNaN)
    }

    func testGradients() {
        for (k, shape) in [[3, 5, 4], [2, 7], [2, 3, 1, 5]].enumerated() {
            let x = Tensor.normal(shape, std: 2, generator: gen(UInt64(30 + k)))
            for axis in 0..<shape.count {
                checkGradients([x]) { $0[0].softmax(axis: axis) }
                checkGradients([x]) { $0[0].logSoftmax(axis: axis) }
            }
        }
    }
}
