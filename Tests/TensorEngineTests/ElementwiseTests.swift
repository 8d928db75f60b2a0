import TestSupport
import XCTest
@testable import TensorEngine

final class ElementwiseTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    func testBroadcastValuesBothDirections() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10, 20, 30], shape: [3])
        assertValues(a + b, [11, 22, 33, 14, 25, 36])
        let c = Tensor([100, 200], shape: [2, 1])
        assertValues(a * c, [100, 200, 300, 800, 1000, 1200])
        // [2,1] with [1,3] stretches both operands.
        let r = c - Tensor([1, 2, 3], shape: [1, 3])
        XCTAssertEqual(r.shape, [2, 3])
        assertValues(r, [99, 98, 97, 199, 198, 197])
    }

    func testBinaryGradientsWithBroadcasting() {
        let shapes: [([Int], [Int])] = [([3, 5], [3, 5]), ([2, 3, 5], [5]), ([3, 1], [1, 4]), ([1, 7], [3, 1, 7]), ([2, 3, 4, 5], [2, 1, 1, 5])]
        for (i, (sa, sb)) in shapes.enumerated() {
            let a = Tensor.normal(sa, generator: gen(UInt64(i)))
            let b = Tensor.uniform(sb, low: 0.5, high: 2, generator: gen(UInt64(100 + i)))
            checkGradients([a, b]) { $0[0] + $0[1] }
            checkGradients([a, b]) { $0[0] - $0[1] }
            checkGradients([a, b]) { $0[0] * $0[1] }
            checkGradients([a, b]) { $0[0] / $0[1] }
            checkGradients([a, b]) { maximum($0[0], $0[1]) }
            checkGradients([a, b]) { minimum($0[0], $0[1]) }
        }
    }

    func testUnaryGradients() {
        let x = randomAvoiding([3, 7], kinks: [0, 6, -3, 3], seed: 1)
        let wide = randomAvoiding([3, 7], kinks: [0, 6, -3, 3], scale: 7, seed: 4)
        let pos = Tensor.uniform([3, 7], low: 0.3, high: 3, generator: gen(2))
        let cases: [(String, Tensor, (Tensor) -> Tensor)] = [
            ("neg", x, { -$0 }), ("abs", x, { $0.abs() }), ("exp", x, { $0.exp() }), ("log", pos, { $0.log() }),
            ("sqrt", pos, { $0.sqrt() }), ("rsqrt", pos, { $0.rsqrt() }), ("pow3", x, { $0.pow(3) }), ("pow-0.5", pos, { $0.pow(-0.5) }),
            ("clamp", randomAvoiding([3, 7], kinks: [-1, 1], seed: 3), { $0.clamp(min: -1, max: 1) }),
            ("relu", x, { $0.relu() }), ("relu6", wide, { $0.relu6() }), ("leaky", x, { $0.leakyRelu(0.1) }),
            ("sigmoid", x, { $0.sigmoid() }), ("hsigmoid", wide, { $0.hardSigmoid() }), ("hswish", wide, { $0.hardSwish() }),
            ("silu", x, { $0.silu() }), ("gelu", x, { $0.gelu() }), ("gelu_tanh", x, { $0.gelu(approximate: true) }), ("tanh", x, { $0.tanh() }),
            ("scalar ops", x, { (2 - $0 * 3 + 1) / 2 }), ("rdiv", pos, { 1 / $0 }),
        ]
        for (name, input, f) in cases {
            let t = input.detach().copy()
            checkGradients([t]) { f($0[0]) }
            XCTAssertNotNil(t.grad, name)
        }
    }

    func testActivationValuesMatchPyTorch() {
        let x = Tensor([-4, -1, 0, 0.5, 3, 7], shape: [6])
        assertValues(x.relu6(), [0, 0, 0, 0.5, 3, 6])
        assertValues(x.hardSigmoid(), [0, 2.0 / 6, 0.5, 3.5 / 6, 1, 1])
        assertValues(x.hardSwish(), [0, -2.0 / 6, 0, 0.5 * 3.5 / 6, 3, 7])
        // torch.nn.functional.gelu(torch.tensor([-1., .5, 3.])) and approximate='tanh'
        assertValues(Tensor([-1, 0.5, 3], shape: [3]).gelu(), [-0.15865526, 0.34573123, 2.9959502], accuracy: 1e-6)
        assertValues(Tensor([-1, 0.5, 3], shape: [3]).gelu(approximate: true), [-0.15880796, 0.34571401, 2.9963627], accuracy: 1e-6)
        assertValues(Tensor([-1, 2], shape: [2]).silu(), [-0.26894142, 1.7615942], accuracy: 1e-6)
    }

    func testWhereAndComparisons() {
        let c = Tensor([1, 0, 1], shape: [3])
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor(scalar: -1)
        assertValues(`where`(c, a, b), [1, -1, 3, 4, -1, 6])
        checkGradients([a.copy(), Tensor([0.5, 1.5], shape: [2, 1])]) { `where`(c, $0[0], $0[1]) }
        assertValues(a.greater(Tensor([2, 2, 2], shape: [3])), [0, 0, 1, 1, 1, 1])
        assertValues(a.lessEqual(Tensor(scalar: 3)), [1, 1, 1, 0, 0, 0])
        assertValues(a.equal(4), [0, 0, 0, 1, 0, 0])
    }

    func testGradientAccumulatesAcrossBackwardCalls() {
        let x = Tensor([1, 2, 3], shape: [3])
        x.requiresGrad = true
        (x * x).backward(Tensor.ones([3]))
        assertValues(x.grad!, [2, 4, 6])
        (x * 3).backward(Tensor.ones([3]))
        assertValues(x.grad!, [5, 7, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
    }

    func testSharedSubexpressionGetsBothContributions() {
        let x = Tensor([2], shape: [1]); x.requiresGrad = true
        let y = x * x          // y = x², used twice below
        (y * y + y).backward() // d/dx (x⁴ + x²) = 4x³ + 2x = 36
        assertValues(x.grad!, [36])
    }

    func testNoGradAndDetach() {
        let x = Tensor([1, 2], shape: [2]); x.requiresGrad = true
        let y = withNoGrad { x * 2 }
        XCTAssertFalse(y.requiresGrad)
        let z = (x * 2).detach()
        XCTAssertFalse(z.requiresGrad)
        XCTAssertTrue(z.isLeaf)
        XCTAssertTrue((x * 2).requiresGrad)
    }

    func testCreation() {
        assertValues(Tensor.arange(5), [0, 1, 2, 3, 4])
        assertValues(Tensor.arange(1, 2, step: 0.25), [1, 1.25, 1.5, 1.75])
        assertValues(Tensor.full([2, 2], 7), [7, 7, 7, 7])
        XCTAssertEqual(Tensor(scalar: 3).item(), 3)
        XCTAssertEqual(Tensor.zeros([2, 0, 3]).count, 0)
        XCTAssertEqual(Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])[1, 2], 6)
    }
}
