import TestSupport
import XCTest
@testable import TensorEngine

final class ShapeTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }
    func arange(_ shape: [Int]) -> Tensor { Tensor.arange(shape.reduce(1, *)).reshape(shape) }

    /// Naive reference: output element at multi-index i is input element at i permuted back.
    func naivePermute(_ x: Tensor, _ axes: [Int]) -> Tensor {
        let outShape = axes.map { x.shape[$0] }
        let inStrides = contiguousStrides(x.shape)
        let v = x.toArray()
        var out = [Float](repeating: 0, count: x.count)
        var idx = [Int](repeating: 0, count: outShape.count)
        for flat in 0..<x.count {
            var rem = flat
            for d in stride(from: outShape.count - 1, through: 0, by: -1) { idx[d] = rem % outShape[d]; rem /= outShape[d] }
            var src = 0
            for d in 0..<axes.count { src += idx[d] * inStrides[axes[d]] }
            out[flat] = v[src]
        }
        return Tensor(out, shape: outShape)
    }

    func permutations(_ n: Int) -> [[Int]] {
        if n == 0 { return [[]] }
        return permutations(n - 1).flatMap { p in (0...p.count).map { i in var q = p; q.insert(n - 1, at: i); return q } }
    }

    // MARK: reshape family

    func testReshapeFlattenSqueezeUnsqueeze() {
        let x = arange([2, 1, 3, 4])
        XCTAssertEqual(x.flatten().shape, [24])
        XCTAssertEqual(x.flatten(startAxis: 1).shape, [2, 12])
        XCTAssertEqual(x.flatten(startAxis: 1, endAxis: -2).shape, [2, 3, 4])
        XCTAssertEqual(x.flatten(startAxis: -2).shape, [2, 1, 12])
        XCTAssertEqual(Tensor(scalar: 3).flatten().shape, [1])
        XCTAssertEqual(x.squeeze().shape, [2, 3, 4])
        XCTAssertEqual(x.squeeze(axis: 1).shape, [2, 3, 4])
        XCTAssertEqual(x.squeeze(axis: -3).shape, [2, 3, 4])
        XCTAssertEqual(x.squeeze(axis: 0).shape, [2, 1, 3, 4])  // not size 1: unchanged, as torch
        XCTAssertEqual(x.unsqueeze(axis: 0).shape, [1, 2, 1, 3, 4])
        XCTAssertEqual(x.unsqueeze(axis: -1).shape, [2, 1, 3, 4, 1])
        XCTAssertEqual(x.unsqueeze(axis: 2).shape, [2, 1, 1, 3, 4])
        XCTAssertEqual(x.reshape([-1, 4]).shape, [6, 4])
        assertValues(x.flatten(), (0..<24).map(Float.init))
        let w = Tensor.normal([2, 1, 3], generator: gen(1))
        checkGradients([w]) { ($0[0].flatten() * $0[0].flatten()).reshape([3, 2]) }
        checkGradients([w]) { $0[0].squeeze().unsqueeze(axis: 0) * 2 }
    }

    // MARK: permute, transpose

    func testPermuteAndTransposeValuesMatchTorch() {
        let x = arange([2, 3, 4])
        // torch.arange(24.).reshape(2,3,4).permute(2,0,1).flatten()
        assertValues(x.permute([2, 0, 1]), [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21, 2, 6, 10, 14, 18, 22, 3, 7, 11, 15, 19, 23])
        XCTAssertEqual(x.permute([2, 0, 1]).shape, [4, 2, 3])
        // torch.arange(24.).reshape(2,3,4).transpose(0,2).flatten()
        let t = x.transpose(0, -1)
        XCTAssertEqual(t.shape, [4, 3, 2])
        assertValues(t, [0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23])
        assertValues(x.permute([-1, 0, 1]), x.permute([2, 0, 1]).toArray())
        XCTAssertTrue(x.permute([0, 1, 2]) === x)
    }

    func testPermuteEveryRank4OrderMatchesNaive() {
        for (k, shape) in [[3, 5, 7, 2], [2, 1, 3, 5], [1, 4, 1, 3], [2, 3, 1, 1]].enumerated() {
            let x = Tensor.normal(shape, generator: gen(UInt64(10 + k)))
            for p in permutations(4) {
                assertClose(x.permute(p), naivePermute(x, p), accuracy: 0, "shape \(shape) perm \(p)")
            }
        }
    }

    func testPermuteFastPathsMatchNaive() {
        let cases: [([Int], [Int], String)] = [
            ([2, 17, 3, 33], [0, 2, 1, 3], "attention heads [B,N,H,D]->[B,H,N,D]"),
            ([2, 3, 17, 5], [0, 2, 1, 3], "heads back"),
            ([2, 3, 17, 33], [0, 1, 3, 2], "swap last two, tiles with remainders"),
            ([3, 32, 48], [0, 2, 1], "swap last two, whole tiles"),
            ([37, 19], [1, 0], "plain 2-D transpose"),
            ([1, 300], [1, 0], "row vector"),
            ([2, 5, 7, 3], [0, 3, 1, 2], "NHWC->NCHW"),
            ([2, 3, 5, 7], [0, 2, 3, 1], "NCHW->NHWC"),
            ([2, 3, 5, 7, 2], [4, 2, 0, 3, 1], "rank 5 general"),
            ([5, 1, 7, 1], [3, 2, 1, 0], "size-1 axes around a transpose"),
            ([260, 130], [1, 0], "transpose large enough to run in parallel"),
            ([4, 130, 3, 21], [0, 2, 1, 3], "gather large enough to run in parallel"),
        ]
        for (i, (shape, perm, name)) in cases.enumerated() {
            let x = Tensor.normal(shape, generator: gen(UInt64(i)))
            assertClose(x.permute(perm), naivePermute(x, perm), accuracy: 0, name)
        }
        // Moving only size-1 axes shares storage (a reshape).
        let y = Tensor.normal([1, 5, 1], generator: gen(9))
        XCTAssertEqual(y.permute([2, 1, 0]).shape, [1, 5, 1])
        XCTAssertEqual(y.permute([1, 0, 2]).opName, "leaf")
    }

    func testPermuteGradients() {
        let x = Tensor.normal([3, 5, 7, 2], generator: gen(3))
        checkGradients([x]) { $0[0].permute([2, 0, 3, 1]) }
        checkGradients([x]) { $0[0].permute([0, 2, 1, 3]) }
        checkGradients([x]) { $0[0].transpose(-1, -2) }
        let y = Tensor.normal([3, 1, 5], generator: gen(4))
        checkGradients([y]) { $0[0].permute([2, 1, 0]) * $0[0].permute([2, 1, 0]) }
    }

    // MARK: expand, repeat

    func testExpandValuesAndGradient() {
        // torch.arange(3.).reshape(3,1).expand(2,3,2).flatten()
        let e = Tensor.arange(3).reshape([3, 1]).expand([2, 3, 2])
        XCTAssertEqual(e.shape, [2, 3, 2])
        assertValues(e, [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2])
        XCTAssertEqual(Tensor.arange(3).reshape([3, 1]).expand([-1, 4]).shape, [3, 4])
        let x = Tensor.normal([3, 1, 5], generator: gen(5))
        checkGradients([x]) { $0[0].expand([2, 3, 4, 5]) }
        checkGradients([x]) { $0[0].expand([3, 3, -1]) }
    }

    func testRepeatMatchesTorch() {
        // torch.arange(6.).reshape(2,3).repeat(2,1,2)
        let r = arange([2, 3]).repeat([2, 1, 2])
        XCTAssertEqual(r.shape, [2, 2, 6])
        assertValues(r, [0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5])
        // torch.arange(3.).repeat(2,2)
        let s = Tensor.arange(3).repeat([2, 2])
        XCTAssertEqual(s.shape, [2, 6])
        assertValues(s, [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2])
        assertValues(Tensor.arange(3).repeat([1]), [0, 1, 2])
        let x = Tensor.normal([2, 3, 1], generator: gen(6))
        checkGradients([x]) { $0[0].repeat([3, 1, 2, 4]) }
        checkGradients([x]) { $0[0].repeat([1, 1, 1]) * 3 }
    }

    // MARK: concat, stack, split, chunk

    func testConcatSplitRoundTrips() {
        let a = arange([2, 3, 4]), b = arange([2, 1, 4]) + 100, c = arange([2, 5, 4]) + 200
        let cat = concat([a, b, c], axis: 1)
        XCTAssertEqual(cat.shape, [2, 9, 4])
        XCTAssertEqual(cat[1, 3, 2], 100 + 6)
        XCTAssertEqual(cat[0, 4, 0], 200)
        let parts = cat.split(sizes: [3, 1, 5], axis: -2)
        assertClose(parts[0], a, accuracy: 0)
        assertClose(parts[1], b, accuracy: 0)
        assertClose(parts[2], c, accuracy: 0)
        for axis in [0, 1, 2, -1] {
            let x = Tensor.normal([4, 6, 5], generator: gen(UInt64(20 + axis)))
            let pieces = x.chunk(3, axis: axis)
            assertClose(concat(pieces, axis: axis), x, accuracy: 0, "chunk/concat axis \(axis)")
        }
        assertValues(concat([Tensor.arange(2), Tensor.arange(3)], axis: 0), [0, 1, 0, 1, 2])
        // torch.arange(5.).chunk(4), arange(6.).chunk(4), arange(7.).chunk(3): sizes
        XCTAssertEqual(Tensor.arange(5).chunk(4, axis: 0).map { $0.shape[0] }, [2, 2, 1])
        XCTAssertEqual(Tensor.arange(6).chunk(4, axis: 0).map { $0.shape[0] }, [2, 2, 2])
        XCTAssertEqual(Tensor.arange(7).chunk(3, axis: 0).map { $0.shape[0] }, [3, 3, 1])
        XCTAssertEqual(Tensor.arange(7).split(size: 3, axis: 0).map { $0.shape[0] }, [3, 3, 1])
    }

    func testStack() {
        // torch.stack([torch.arange(3.), torch.arange(3., 6.)], 1)
        let s = stack([Tensor.arange(3), Tensor.arange(3) + 3], axis: 1)
        XCTAssertEqual(s.shape, [3, 2])
        assertValues(s, [0, 3, 1, 4, 2, 5])
        XCTAssertEqual(stack([Tensor.arange(3), Tensor.arange(3)], axis: -1).shape, [3, 2])
        XCTAssertEqual(stack([Tensor.arange(3), Tensor.arange(3)]).shape, [2, 3])
        let a = Tensor.normal([2, 3], generator: gen(30)), b = Tensor.normal([2, 3], generator: gen(31))
        checkGradients([a, b]) { stack($0, axis: 1) }
    }

    func testConcatSplitChunkGradients() {
        let a = Tensor.normal([2, 3, 5], generator: gen(40)), b = Tensor.normal([2, 1, 5], generator: gen(41))
        checkGradients([a, b]) { concat($0, axis: 1) }
        checkGradients([a, a.detach().copy()]) { concat($0, axis: -1) }
        checkGradients([a, a.detach().copy()]) { concat($0, axis: 0) }
        // Pieces used unequally (one twice, one not at all) still get the right gradient.
        let x = Tensor.normal([3, 7, 2], generator: gen(42))
        checkGradients([x]) { t in
            let p = t[0].split(sizes: [2, 4, 1], axis: 1)
            return concat([p[0] * p[0], p[2] * 3, p[0]], axis: 1)
        }
        checkGradients([x]) { t in
            let q = t[0].chunk(3, axis: 0)
            return q[0] * q[1] + q[2]
        }
        // Partial input needing no gradient.
        let c = Tensor.normal([2, 2, 5], generator: gen(43))
        checkGradients([a]) { concat([$0[0], c], axis: 1) }
        XCTAssertNil(c.grad)
    }

    // MARK: slice, narrow

    func testSliceMatchesPython() {
        let y = Tensor.arange(10)
        assertValues(y.slice(axis: 0, start: -7, end: -1, step: 2), [3, 5, 7])      // y[-7:-1:2]
        assertValues(y.slice(axis: 0, start: 1, step: 3), [1, 4, 7])                 // y[1::3]
        assertValues(y.slice(axis: 0, start: -100, end: 3), [0, 1, 2])               // y[-100:3]
        XCTAssertEqual(y.slice(axis: 0, start: 8, end: 2).shape, [0])                // y[8:2]
        XCTAssertEqual(y.slice(axis: 0, start: 3, end: 100).shape, [7])
        let z = arange([3, 4])
        assertValues(z.slice(axis: -1, start: -3, step: 2), [1, 3, 5, 7, 9, 11])     // z[:, -3::2]
        assertValues(z.slice(axis: 0, start: 1, end: 2), [4, 5, 6, 7])
        assertValues(z.narrow(axis: 1, start: -2, length: 2), [2, 3, 6, 7, 10, 11])
        let x = Tensor.normal([3, 7, 5], generator: gen(50))
        checkGradients([x]) { $0[0].slice(axis: 1, start: -6, end: -1, step: 2) }
        checkGradients([x]) { $0[0].slice(axis: 1, start: 2, end: 5) }
        checkGradients([x]) { $0[0].slice(axis: -1, start: 1, step: 3) }
        checkGradients([x]) { $0[0].slice(axis: 0, start: 2) }
        // Rows split over threads, with short strided runs.
        let big = Tensor.normal([300, 120], generator: gen(51))
        let s = big.slice(axis: 1, start: 1, end: -1, step: 3)
        XCTAssertEqual(s.shape, [300, 40])
        XCTAssertEqual(s[299, 39], big[299, 118])
        XCTAssertEqual(s[150, 7], big[150, 22])
    }

    func testEmptyTensors() {
        let x = Tensor.normal([2, 3], generator: gen(70))
        XCTAssertEqual(x.repeat([0, 2]).shape, [0, 6])
        XCTAssertEqual(x.slice(axis: 1, start: 2, end: 1).shape, [2, 0])
        XCTAssertEqual(Tensor.zeros([2, 0]).pad(axis: 1, before: 1, after: 1, value: 4).toArray(), [4, 4, 4, 4])
        XCTAssertEqual(Tensor.zeros([0, 3]).permute([1, 0]).shape, [3, 0])
        assertClose(concat([x, Tensor.zeros([2, 0])], axis: 1), x, accuracy: 0)
        XCTAssertEqual(x.split(sizes: [3, 0], axis: 1).map(\.shape), [[2, 3], [2, 0]])
        checkGradients([x]) { $0[0].split(sizes: [0, 3], axis: 1)[1] * 2 }
    }

    // MARK: pad

    func testPadValuesAndInverse() {
        // F.pad(torch.arange(6.).reshape(2,3), (1,2,0,1), value=-1): last axis (1,2), first (0,1)
        let p = arange([2, 3]).pad([(0, 1), (1, 2)], value: -1)
        XCTAssertEqual(p.shape, [3, 6])
        assertValues(p, [-1, 0, 1, 2, -1, -1, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1])
        assertValues(Tensor.arange(3).pad(axis: 0, before: 2, after: 1), [0, 0, 0, 1, 2, 0])
        let x = Tensor.normal([2, 5, 4, 3], generator: gen(60))
        let padded = x.pad([(0, 0), (1, 2), (3, 1), (0, 0)])
        XCTAssertEqual(padded.shape, [2, 8, 8, 3])
        assertClose(padded.slice(axis: 1, start: 1, end: -2).slice(axis: 2, start: 3, end: -1), x, accuracy: 0)
        assertClose(x.pad(axis: -1, before: 2, after: 0, value: 7).slice(axis: -1, start: 2), x, accuracy: 0)
        XCTAssertEqual(padded.slice(axis: 1, start: 0, end: 1).toArray().allSatisfy { $0 == 0 }, true)
        checkGradients([x]) { $0[0].pad([(0, 0), (1, 2), (3, 1), (0, 0)], value: 0.5) }
        checkGradients([x]) { $0[0].pad(axis: 1, before: 0, after: 2) }
        checkGradients([x]) { $0[0].pad([(1, 0), (0, 0), (0, 0), (2, 1)]) }
    }
}
