import XCTest
@testable import TensorEngine

final class BufferPoolTests: XCTestCase {
    func testSizeClassesWasteAtMostAnEighth() {
        XCTAssertEqual(BufferPool.sizeClass(1), 64)
        XCTAssertEqual(BufferPool.sizeClass(64), 64)
        XCTAssertEqual(BufferPool.sizeClass(65), 72)
        for n in [100, 1000, 4097, 123_457, 10_000_000] {
            let c = BufferPool.sizeClass(n)
            XCTAssertGreaterThanOrEqual(c, n)
            XCTAssertLessThanOrEqual(Double(c), Double(n) * 1.125 + 1)
        }
    }

    func testBuffersAreReusedAndBytesTracked() {
        let pool = BufferPool.shared
        let before = pool.liveBytes
        var p1: UnsafeMutablePointer<Float>?
        do {
            let t = Tensor.zeros([1000, 33])
            p1 = t.pointer
            XCTAssertEqual(pool.liveBytes - before, BufferPool.sizeClass(33_000) * 4)
            XCTAssertEqual(Int(bitPattern: t.pointer) % 64, 0, "64-byte aligned")
        }
        XCTAssertEqual(pool.liveBytes, before, "freed tensor returns its bytes")
        let t2 = Tensor.zeros([33, 1000])
        XCTAssertEqual(t2.pointer, p1, "same size class reuses the freed buffer")
    }

    func testBackwardFreesIntermediatesAndPeakIsMeasured() {
        let pool = BufferPool.shared
        let x = Tensor.normal([256, 256], generator: RandomGenerator(seed: 1))
        x.requiresGrad = true
        let base = pool.liveBytes
        pool.resetPeak()
        var y = x
        for _ in 0..<10 { y = (y * 1.01).tanh() }  // each step saves its output for backward
        let held = pool.liveBytes - base
        XCTAssertGreaterThanOrEqual(held, 10 * 256 * 256 * 4, "graph keeps intermediates alive")
        y.backward(Tensor.ones(y.shape))
        y = Tensor(scalar: 0)
        let after = pool.liveBytes - base
        XCTAssertLessThanOrEqual(after, 256 * 256 * 4 + 1024, "after backward only x.grad remains")
        XCTAssertGreaterThanOrEqual(pool.peakBytes - base, held)
    }
}
