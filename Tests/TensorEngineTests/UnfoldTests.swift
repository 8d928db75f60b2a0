import TestSupport
import XCTest
@testable import TensorEngine

/// unfold2d / fold2d (LVT's convolutional self-attention) against a naive reference and finite differences.
final class UnfoldTests: XCTestCase {
    /// PyTorch: `F.unfold(torch.arange(12.).reshape(1,1,3,4), 3, padding=1, stride=2)` — columns
    /// (window at (0,0), (0,1), (1,0), (1,1)) of the 3×4 map 0…11.
    func testUnfoldMatchesTorchOnOneChannel() {
        let x = Tensor((0..<12).map(Float.init), shape: [1, 3, 4, 1])
        let u = unfold2d(x, kernel: 3, padding: 1, stride: 2)
        XCTAssertEqual(u.shape, [1, 2, 2, 9])
        assertValues(u, [0, 0, 0, 0, 0, 1, 0, 4, 5,
                         0, 0, 0, 1, 2, 3, 5, 6, 7,
                         0, 4, 5, 0, 8, 9, 0, 0, 0,
                         5, 6, 7, 9, 10, 11, 0, 0, 0])
    }

    /// fold(unfold(x)) multiplies each pixel by the number of windows covering it; channel order
    /// is c·k·k + tap.
    func testFoldIsTheAdjointOfUnfold() {
        let gen = RandomGenerator(seed: 1)
        for (h, w, c, k, p, s) in [(5, 7, 3, 3, 1, 2), (6, 6, 2, 3, 1, 1), (4, 5, 1, 2, 0, 2)] {
            let x = Tensor.normal([2, h, w, c], generator: gen)
            let u = unfold2d(x, kernel: k, padding: p, stride: s)
            let y = Tensor.normal(u.shape, generator: gen)
            // <unfold(x), y> = <x, fold(y)>
            let lhs = (u * y).sum(axes: [0, 1, 2, 3]).item()
            let rhs = (x * fold2d(y, outputSize: (h, w), kernel: k, padding: p, stride: s)).sum(axes: [0, 1, 2, 3]).item()
            XCTAssertEqual(lhs, rhs, accuracy: 1e-3 * Swift.max(1, Swift.abs(lhs)))
            // Channel-major columns: channel 1's taps follow channel 0's.
            if c > 1 {
                let one = unfold2d(x.slice(axis: 3, start: 1, end: 2), kernel: k, padding: p, stride: s)
                assertClose(u.slice(axis: 3, start: k * k, end: 2 * k * k), one, accuracy: 0)
            }
        }
    }

    func testUnfoldAndFoldGradients() {
        let gen = RandomGenerator(seed: 2)
        let x = Tensor.normal([1, 5, 6, 2], generator: gen)
        checkGradients([x]) { unfold2d($0[0], kernel: 3, padding: 1, stride: 2) }
        let cols = Tensor.normal([1, 3, 3, 18], generator: gen)
        checkGradients([cols]) { fold2d($0[0], outputSize: (5, 6), kernel: 3, padding: 1, stride: 2) }
    }
}
