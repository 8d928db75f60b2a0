import TestSupport
import XCTest
@_spi(Bench) @testable import TensorEngine

/// Naive batched matmul with broadcasting of leading dims (the reference the kernel is checked against).
func naiveMatmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
    let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
    let r = max(batchA.count, batchB.count)
    let pa = [Int](repeating: 1, count: r - batchA.count) + batchA
    let pb = [Int](repeating: 1, count: r - batchB.count) + batchB
    let batch = zip(pa, pb).map { max($0, $1) }
    let nb = batch.reduce(1, *)
    let av = a.toArray(), bv = b.toArray()
    var out = [Float](repeating: 0, count: nb * m * n)
    for bi in 0..<nb {
        var rem = bi, oa = 0, ob = 0, sa = 1, sb = 1
        for d in stride(from: r - 1, through: 0, by: -1) {
            let i = rem % batch[d]; rem /= batch[d]
            oa += (pa[d] == 1 ? 0 : i) * sa; sa *= pa[d]
            ob += (pb[d] == 1 ? 0 : i) * sb; sb *= pb[d]
        }
        for i in 0..<m { for j in 0..<n {
            var s: Double = 0
            for p in 0..<k { s += Double(av[oa * m * k + i * k + p]) * Double(bv[ob * k * n + p * n + j]) }
            out[bi * m * n + i * n + j] = Float(s)
        } }
    }
    return Tensor(out, shape: batch + [m, n])
}

final class MatmulTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    func testKnownValues() {
        // torch.tensor([[1.,2,3],[4,5,6]]) @ torch.tensor([[1.,0],[0,1],[1,1]]) = [[4,5],[10,11]]
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2])
        assertValues(matmul(a, b), [4, 5, 10, 11])
        // torch.nn.functional.linear(a, torch.tensor([[1.,0,1],[0,2,0]]), torch.tensor([.5,-1])) = [[4.5,3],[10.5,9]]
        assertValues(linear(a, Tensor([1, 0, 1, 0, 2, 0], shape: [2, 3]), Tensor([0.5, -1], shape: [2])), [4.5, 3, 10.5, 9])
    }

    func testAgainstNaiveWithBroadcasting() {
        let cases: [([Int], [Int])] = [
            ([7, 5], [5, 3]), ([1, 9], [9, 1]), ([2, 3, 6, 5], [2, 3, 5, 4]), ([3, 7, 5], [5, 6]),
            ([6, 5], [2, 5, 3]), ([2, 1, 4, 5], [1, 3, 5, 2]), ([4, 1, 3, 5], [2, 5, 7]), ([33, 17], [17, 65]),
        ]
        for (i, (sa, sb)) in cases.enumerated() {
            let a = Tensor.normal(sa, generator: gen(UInt64(i))), b = Tensor.normal(sb, generator: gen(UInt64(50 + i)))
            assertClose(matmul(a, b), naiveMatmul(a, b), accuracy: 1e-4, "\(sa) x \(sb)")
        }
    }

    func testTransposedKernelOperands() {
        let a = Tensor.normal([3, 4, 5], generator: gen(1)), b = Tensor.normal([3, 6, 5], generator: gen(2))
        let at = naiveTranspose(a), bt = naiveTranspose(b)
        assertClose(matmulKernel(a, b, transB: true), naiveMatmul(a, bt), accuracy: 1e-4)
        assertClose(matmulKernel(at, b, transA: true, transB: true), naiveMatmul(a, bt), accuracy: 1e-4)
    }

    func testLinearAgainstNaive() {
        let x = Tensor.normal([2, 3, 7], generator: gen(3)), w = Tensor.normal([5, 7], generator: gen(4))
        let bias = Tensor.normal([5], generator: gen(5))
        let ref = naiveMatmul(x, naiveTranspose(w)) + bias
        assertClose(linear(x, w, bias), ref, accuracy: 1e-4)
        assertClose(linear(x, w), naiveMatmul(x, naiveTranspose(w)), accuracy: 1e-4)
    }

    func testMatmulGradients() {
        let cases: [([Int], [Int])] = [([3, 5], [5, 4]), ([2, 3, 4, 5], [2, 3, 5, 3]), ([3, 4, 5], [5, 2]),
                                       ([4, 5], [3, 5, 2]), ([2, 1, 3, 4], [1, 3, 4, 2])]
        for (i, (sa, sb)) in cases.enumerated() {
            let a = Tensor.normal(sa, generator: gen(UInt64(10 + i))), b = Tensor.normal(sb, generator: gen(UInt64(20 + i)))
            checkGradients([a, b]) { matmul($0[0], $0[1]) }
        }
    }

    func testLinearGradients() {
        let x = Tensor.normal([2, 3, 5], generator: gen(6)), w = Tensor.normal([4, 5], generator: gen(7))
        let b = Tensor.normal([4], generator: gen(8))
        checkGradients([x, w, b]) { linear($0[0], $0[1], $0[2]) }
        checkGradients([x.detach().copy(), w.detach().copy()]) { linear($0[0], $0[1]) }
        checkGradients([Tensor.normal([5], generator: gen(9)), w.detach().copy()]) { linear($0[0], $0[1]) }
    }

    func testFastImplementation() {
        let impl = matmulImplementation([64, 48], [48, 32])
        XCTAssertFalse(impl.hasPrefix("ref"), "matmul uses \(impl)")
    }

    func testPrimitivesAreCachedPerShape() {
        let a = Tensor.normal([13, 11], generator: gen(1)), b = Tensor.normal([11, 3], generator: gen(2))
        _ = matmul(a, b)
        let n = PrimitiveCache.count
        for _ in 0..<3 { _ = matmul(a, b) }
        XCTAssertEqual(PrimitiveCache.count, n)
    }
}

/// Swaps the last two dimensions (test helper; the engine's transpose lives elsewhere).
func naiveTranspose(_ t: Tensor) -> Tensor {
    let r = t.shape[t.rank - 2], c = t.shape[t.rank - 1], nb = t.count / max(r * c, 1)
    let v = t.toArray()
    var out = [Float](repeating: 0, count: t.count)
    for b in 0..<nb { for i in 0..<r { for j in 0..<c { out[b * r * c + j * r + i] = v[b * r * c + i * c + j] } } }
    return Tensor(out, shape: Array(t.shape.dropLast(2)) + [c, r])
}
