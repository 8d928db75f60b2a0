import TestSupport
import XCTest
@testable import TensorEngine

/// `sin(i·a + off)·s` for i in 0..<n: inputs that a Python script reproduces exactly for the
/// torch reference numbers below.
func sinSequence(_ n: Int, _ a: Double = 1.7, _ s: Double = 3, _ off: Double = 0) -> [Float] {
    (0..<n).map { Float(Foundation.sin(Double($0) * a + off) * s) }
}

/// Naive reduction over `axes` (keepDim layout) by walking every input index; sum or max.
func naiveReduce(_ x: Tensor, axes: [Int], isMax: Bool) -> [Float] {
    let shape = x.shape, r = shape.count
    let flags = (0..<r).map { axes.map { ($0 + r) % r }.contains($0) }
    let keep = zip(shape, flags).map { $1 ? 1 : $0 }
    let outCount = keep.reduce(1, *)
    var out = [Double](repeating: isMax ? -.infinity : 0, count: outCount)
    let v = x.toArray()
    for flat in 0..<x.count {
        var rem = flat, o = 0, mul = 1
        for d in stride(from: r - 1, through: 0, by: -1) {
            let i = rem % shape[d]; rem /= shape[d]
            if !flags[d] { o += i * mul; mul *= shape[d] }
        }
        out[o] = isMax ? Swift.max(out[o], Double(v[flat])) : out[o] + Double(v[flat])
    }
    return out.map { Float($0) }
}

final class ReduceTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    let axisSets: [[Int]] = [[0], [1], [-1], [0, 2], [1, 3], [0, 1, 3], [0, 1, 2, 3], [2], [1, 2], []]

    func testSumAndMaxMatchNaiveLoop() {
        let shapes = [[3, 5, 4, 7], [2, 1, 6, 3], [1, 9, 1, 17]]
        for (k, shape) in shapes.enumerated() {
            let x = Tensor.normal(shape, generator: gen(UInt64(k)))
            for axes in axisSets {
                assertValues(x.sum(axes: axes, keepDim: true), naiveReduce(x, axes: axes, isMax: false), accuracy: 1e-5, "sum \(shape) \(axes)")
                assertValues(x.amax(axes: axes, keepDim: true), naiveReduce(x, axes: axes, isMax: true), "amax \(shape) \(axes)")
                let n = axes.map { shape[($0 + 4) % 4] }.reduce(1, *)
                assertValues(x.mean(axes: axes), naiveReduce(x, axes: axes, isMax: false).map { $0 / Float(n) }, accuracy: 1e-5)
            }
        }
    }

    func testParallelSplitPathsMatchNaiveLoop() {
        // Shapes that take each work split: few outputs with a long reduced axis (inner kept and
        // inner reduced), segments split into pieces, and the whole-tensor sum.
        let cases: [([Int], [Int]?)] = [([20000, 3], [0]), ([3, 20000], [1]), ([50000], nil), ([2, 20000], [1]),
                                        ([4, 3000, 5], [0, 1]), ([1, 64, 64, 8], [1]), ([2, 64, 64, 8], [2]), ([5, 40, 3, 60], [0, 2])]
        for (k, (shape, axes)) in cases.enumerated() {
            let x = Tensor.uniform(shape, low: -1, high: 2, generator: gen(UInt64(10 + k)))
            let all = axes ?? Array(0..<shape.count)
            assertValues(x.sum(axes: axes, keepDim: true).reshape([-1]), naiveReduce(x, axes: all, isMax: false), accuracy: 1e-4, "sum \(shape)")
            assertValues(x.amax(axes: axes, keepDim: true).reshape([-1]), naiveReduce(x, axes: all, isMax: true), "amax \(shape)")
        }
        // Large sums stay accurate (blocked accumulation): 2^20 ones and 0.1s.
        XCTAssertEqual(Tensor.ones([1 << 20]).sum().item(), Float(1 << 20))
        XCTAssertEqual(Tensor.full([1024, 1024], 0.1).mean(axes: [0]).toArray()[5], 0.1, accuracy: 1e-6)
    }

    func testShapesAndKeepDim() {
        let x = Tensor.ones([2, 3, 4, 5])
        XCTAssertEqual(x.sum().shape, [])
        XCTAssertEqual(x.sum().item(), 120)
        XCTAssertEqual(x.mean().item(), 1)
        XCTAssertEqual(x.sum(axes: [1, -1]).shape, [2, 4])
        XCTAssertEqual(x.sum(axes: [1, -1], keepDim: true).shape, [2, 1, 4, 1])
        XCTAssertEqual(x.amax(keepDim: true).shape, [1, 1, 1, 1])
        XCTAssertEqual(x.variance(axes: [0, 2]).shape, [3, 5])
        XCTAssertEqual(x.argmax(axis: 2).shape, [2, 3, 5])
        XCTAssertEqual(x.argmax(axis: 2, keepDim: true).shape, [2, 3, 1, 5])
        XCTAssertEqual(x.argmax().shape, [])
        XCTAssertEqual(Tensor(scalar: 4).sum().item(), 4)
        XCTAssertEqual(Tensor.zeros([3, 0]).sum(axes: [1]).toArray(), [0, 0, 0])
        XCTAssertTrue(Tensor.zeros([3, 0]).mean(axes: [1]).toArray()[0].isNaN)
    }

    func testVarianceMatchesPyTorch() {
        let x = Tensor(sinSequence(24), shape: [2, 3, 4])
        // x.var(dim=[0,2]); x.var(dim=1, unbiased=False); x.var()
        assertValues(x.variance(axes: [0, 2]), [5.1294241, 5.1248884, 5.1193728], accuracy: 1e-5)
        assertValues(x.variance(axes: [1], unbiased: false),
                     [1.1155676, 0.55265278, 0.76405972, 0.91819865, 0.35872644, 0.97417396, 0.70584893, 0.60923368], accuracy: 1e-5)
        assertValues(x.variance(), [4.6822987], accuracy: 1e-5)
    }

    func testLogSumExpLargeValues() {
        // torch.logsumexp(torch.tensor([[1000., 1001., 999.], [-1000., -1002., -1001.]]), dim=1)
        let y = Tensor([1000, 1001, 999, -1000, -1002, -1001], shape: [2, 3])
        assertValues(y.logsumexp(axes: [1]), [1001.4076, -999.59241], accuracy: 1e-6)
        XCTAssertEqual(Tensor([-.infinity, -.infinity], shape: [2]).logsumexp().item(), -.infinity)
        XCTAssertEqual(Tensor([.infinity, 1], shape: [2]).logsumexp().item(), .infinity)
    }

    func testAmaxTiesSplitGradientEvenly() {
        // a.amax(dim=1).backward(torch.tensor([1., 3., 2.])) → a.grad
        let a = Tensor([1, 3, 3, 2, 2, 2, 5, 1, 0], shape: [3, 3])
        a.requiresGrad = true
        a.amax(axes: [1]).backward(Tensor([1, 3, 2], shape: [3]))
        assertValues(a.grad!, [0, 0.5, 0.5, 1, 1, 1, 2, 0, 0])
        XCTAssertTrue(Tensor([1, .nan, 3], shape: [3]).amax().item().isNaN)
    }

    func testArgmaxFirstOnTies() {
        // torch.tensor([[1., 3., 3.], [2., 2., 2.], [5., 1., 5.]]).argmax(dim=1) → [1, 0, 0]
        assertValues(Tensor([1, 3, 3, 2, 2, 2, 5, 1, 5], shape: [3, 3]).argmax(axis: 1), [1, 0, 0])
        // torch.tensor([[1., 3., 3.], [2., 3., 2.], [2., 1., 5.]]).argmax(dim=0) → [1, 0, 2]
        assertValues(Tensor([1, 3, 3, 2, 3, 2, 2, 1, 5], shape: [3, 3]).argmax(axis: 0), [1, 0, 2])
        assertValues(Tensor([1, 7, 7, 2], shape: [2, 2]).argmax(), [1])
        // NHWC class map: argmax over the last axis equals a naive scan, and over a middle axis too.
        let x = Tensor.normal([2, 3, 5, 7], generator: gen(3))
        let v = x.toArray()
        let am = x.argmax(axis: -1).toArray(), am1 = x.argmax(axis: 1).toArray()
        for o in 0..<30 {
            var best = 0
            for k in 1..<7 where v[o * 7 + k] > v[o * 7 + best] { best = k }
            XCTAssertEqual(am[o], Float(best))
        }
        for n in 0..<2 { for j in 0..<35 {
            var best = 0
            for h in 1..<3 where v[n * 105 + h * 35 + j] > v[n * 105 + best * 35 + j] { best = h }
            XCTAssertEqual(am1[n * 35 + j], Float(best))
        } }
    }

    func testGradients() {
        let shape = [3, 5, 2, 3]
        for (k, axes) in axisSets.enumerated() {
            let x = Tensor.normal(shape, generator: gen(UInt64(20 + k)))
            checkGradients([x]) { $0[0].sum(axes: axes) }
            checkGradients([x]) { $0[0].mean(axes: axes, keepDim: true) }
            // amax: distinct values 0.05 apart (> the finite-difference step), so no near-ties.
            let spread = Tensor((0..<90).map { Float(($0 * 37) % 90) * 0.05 - 2 }, shape: shape)
            checkGradients([spread]) { $0[0].amax(axes: axes) }
            checkGradients([x]) { $0[0].logsumexp(axes: axes) }
            if axes.map({ shape[($0 + 4) % 4] }).reduce(1, *) > 1 {
                checkGradients([x]) { $0[0].variance(axes: axes, keepDim: k % 2 == 0) }
                checkGradients([x]) { $0[0].variance(axes: axes, unbiased: false) }
            }
        }
        let y = Tensor.normal([4, 3], generator: gen(5))
        checkGradients([y]) { $0[0].sum() * $0[0].mean() }
        checkGradients([y]) { $0[0].variance() }
    }
}
