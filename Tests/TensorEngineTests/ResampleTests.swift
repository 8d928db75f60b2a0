import TestSupport
import XCTest
@testable import TensorEngine

final class ResampleTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }
    func arange(_ shape: [Int]) -> Tensor { Tensor((0..<shape.reduce(1, *)).map(Float.init), shape: shape) }

    func testBilinearMatchesTorch() {
        // H 16 → 8 (downsampling) and W 7 → 16 (upsampling) in one call.
        let x = arange([1, 16, 7, 1])
        // F.interpolate(arange(112.).reshape(1, 1, 16, 7), size=(8, 16), mode='bilinear', align_corners=False)
        let rowsFalse: [Float] = [3.5, 3.65625, 4.09375, 4.53125, 4.96875, 5.40625, 5.84375, 6.28125, 6.71875, 7.15625, 7.59375, 8.03125, 8.46875, 8.90625, 9.34375, 9.5]
        let expectedFalse = (0..<8).flatMap { r in rowsFalse.map { $0 + Float(14 * r) } }  // torch's rows differ by exactly 14
        assertValues(interpolateBilinear(x, size: (8, 16), alignCorners: false), expectedFalse, accuracy: 2e-7)
        // ... align_corners=True
        assertValues(interpolateBilinear(x, size: (8, 16), alignCorners: true), [
            0, 0.400000006, 0.800000012, 1.20000005, 1.60000002, 2, 2.4000001, 2.79999995, 3.20000005, 3.60000014, 4, 4.4000001, 4.80000019, 5.20000029, 5.5999999, 6,
            15, 15.4000006, 15.7999983, 16.1999989, 16.6000004, 17, 17.3999996, 17.7999992, 18.1999989, 18.5999985, 19, 19.3999996, 19.7999992, 20.1999989, 20.5999985, 21,
            30, 30.4000015, 30.7999973, 31.1999989, 31.6000004, 32, 32.4000015, 32.7999992, 33.1999969, 33.5999985, 34, 34.3999977, 34.7999992, 35.2000008, 35.5999985, 36,
            44.9999962, 45.3999977, 45.7999992, 46.2000008, 46.5999985, 47, 47.4000015, 47.7999992, 48.1999969, 48.5999985, 49, 49.3999977, 49.7999992, 50.1999969, 50.5999985, 51,
            60, 60.4000015, 60.7999992, 61.2000008, 61.5999985, 62, 62.3999977, 62.7999992, 63.2000008, 63.5999985, 64, 64.4000015, 64.7999954, 65.1999969, 65.5999985, 66,
            74.9999924, 75.3999939, 75.7999954, 76.1999969, 76.5999985, 76.9999924, 77.3999939, 77.7999954, 78.1999969, 78.5999908, 78.9999924, 79.3999939, 79.7999954, 80.1999969, 80.5999908, 80.9999924,
            90, 90.4000015, 90.7999954, 91.2000046, 91.5999985, 92, 92.3999939, 92.8000031, 93.2000046, 93.5999985, 94, 94.3999939, 94.7999954, 95.1999969, 95.5999985, 96,
            105, 105.400002, 105.800003, 106.199997, 106.599998, 107, 107.400002, 107.799995, 108.199997, 108.599998, 109, 109.400002, 109.800003, 110.199997, 110.599998, 111,
        ], accuracy: 2e-7)
    }

    /// Bilinear resize by PyTorch's formulas, blended in Double.
    func naiveBilinear(_ x: Tensor, _ oh: Int, _ ow: Int, _ ac: Bool) -> Tensor {
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        func taps(_ o: Int, _ inS: Int, _ outS: Int) -> (Int, Int, Double) {
            let scale: Float = ac ? (outS > 1 ? Float(inS - 1) / Float(outS - 1) : 0) : Float(inS) / Float(outS)
            let src: Float = ac ? scale * Float(o) : max(scale * (Float(o) + 0.5) - 0.5, 0)
            let i0 = min(Int(floor(src)), inS - 1)
            return (i0, min(i0 + 1, inS - 1), Double(src - Float(i0)))
        }
        var out = [Float]()
        for n in 0..<N { for i in 0..<oh { for j in 0..<ow { for c in 0..<C {
            let (h0, h1, lh) = taps(i, H, oh), (w0, w1, lw) = taps(j, W, ow)
            let top = (1 - lw) * Double(x[n, h0, w0, c]) + lw * Double(x[n, h0, w1, c])
            let bottom = (1 - lw) * Double(x[n, h1, w0, c]) + lw * Double(x[n, h1, w1, c])
            out.append(Float((1 - lh) * top + lh * bottom))
        } } } }
        return Tensor(out, shape: [N, oh, ow, C])
    }

    func testBilinearMatchesNaiveReference() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(1))
        for ac in [false, true] {
            for (oh, ow) in [(9, 4), (3, 11), (1, 1), (5, 7), (10, 14), (2, 3), (1, 13)] {
                assertClose(interpolateBilinear(x, size: (oh, ow), alignCorners: ac), naiveBilinear(x, oh, ow, ac), accuracy: 1e-5, "\(oh)x\(ow) ac \(ac)")
            }
        }
        let wide = Tensor.normal([1, 4, 3, 150], generator: gen(2))
        assertClose(interpolateBilinear(wide, size: (13, 9)), naiveBilinear(wide, 13, 9, false), accuracy: 1e-5)
    }

    func testNearestMatchesTorch() {
        let x = arange([1, 5, 4, 1])
        // F.interpolate(arange(20.).reshape(1, 1, 5, 4), size=(8, 3), mode='nearest') and size=(3, 8)
        assertValues(interpolateNearest(x, size: (8, 3)), [0, 1, 2, 0, 1, 2, 4, 5, 6, 4, 5, 6, 8, 9, 10, 12, 13, 14, 12, 13, 14, 16, 17, 18])
        assertValues(interpolateNearest(x, size: (3, 8)), [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 12, 12, 13, 13, 14, 14, 15, 15])
        let y = Tensor.normal([2, 3, 4, 5], generator: gen(3))
        assertClose(interpolateNearest(y, size: (3, 4)), y, accuracy: 0)
        let up = interpolateNearest(y, size: (6, 8))
        XCTAssertEqual(up[1, 5, 7, 4], y[1, 2, 3, 4])
        XCTAssertEqual(up[0, 2, 1, 2], y[0, 1, 0, 2])
    }

    func testLinear1dMatchesTorch() {
        let x = Tensor((0..<32).map { Float($0 * $0) / 10 }, shape: [1, 16, 2])
        // F.interpolate(x.permute(0, 2, 1), size=24, mode='linear', align_corners=False), permuted back, x = arange(32.)**2/10 as [1, 16, 2]
        assertValues(interpolateLinear1d(x, size: 24), [
            0, 0.100000001, 0.200000003, 0.5, 0.600000083, 1.16666675, 1.40000021, 2.23333359, 2.5999999, 3.70000005, 4.0666666, 5.43333387,
            5.93333387, 7.56666756, 8.19999981, 10.1000004, 10.7333345, 12.9000015, 13.666667, 16.1000004, 17, 19.7000008, 20.6000023, 23.5666695,
            24.6000042, 27.8333359, 29, 32.5, 33.6666718, 37.4333344, 38.7333374, 42.7666702, 44.2000008, 48.5, 49.9333382, 54.5000038,
            56.0666695, 60.9000092, 62.5999985, 67.6999969, 69.4000015, 74.7666702, 76.6000061, 82.233345, 84.1999969, 90.0999985, 90, 96.0999985,
        ], accuracy: 3e-7)
        // ... align_corners=True
        assertValues(interpolateLinear1d(x, size: 24, alignCorners: true), [
            0, 0.100000001, 0.260869592, 0.621739089, 0.765217423, 1.38695657, 1.54782617, 2.43043494, 2.8173914, 3.96086979, 4.33043528, 5.73478317,
            6.15652227, 7.82173967, 8.43478298, 10.3608704, 10.956522, 13.1434793, 13.826088, 16.2739143, 17.1130447, 19.8217411, 20.6434822, 23.6130466,
            24.5565224, 27.7869568, 28.8521767, 32.3434792, 33.3913078, 37.1434784, 38.3478279, 42.3608704, 43.6521759, 47.9260902, 49.2000046, 53.734787,
            55.2000046, 59.9956589, 61.5130463, 66.5695724, 68.0695724, 73.3869629, 75.1130524, 80.6913147, 82.4347916, 88.2739258, 90, 96.0999985,
        ], accuracy: 3e-7)
        // SeaFormer's positional embeddings: 16 → 16 is the identity, 16 → 8 averages pairs.
        let pos = Tensor.normal([1, 16, 5], generator: gen(4))
        assertClose(interpolateLinear1d(pos, size: 16), pos, accuracy: 0)
        let half = interpolateLinear1d(pos, size: 8)
        for j in 0..<8 { for c in 0..<5 { XCTAssertEqual(half[0, j, c], 0.5 * pos[0, 2 * j, c] + 0.5 * pos[0, 2 * j + 1, c]) } }
    }

    func testResampleGradients() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(5))
        for ac in [false, true] {
            for size in [(9, 4), (3, 11), (1, 1), (10, 14)] {
                checkGradients([x]) { interpolateBilinear($0[0], size: size, alignCorners: ac) }
            }
        }
        checkGradients([x]) { interpolateBilinear($0[0], size: (5, 7)) }
        for size in [(9, 4), (3, 11), (10, 14)] { checkGradients([x]) { interpolateNearest($0[0], size: size) } }
        let s = Tensor.normal([2, 7, 3], generator: gen(6))
        for ac in [false, true] {
            for n in [1, 4, 7, 13] { checkGradients([s]) { interpolateLinear1d($0[0], size: n, alignCorners: ac) } }
        }
        // Channel blocks on several threads in the scatter agree with one thread.
        let big = Tensor.normal([1, 20, 20, 64], generator: gen(7))
        let g = Tensor.normal([1, 37, 45, 64], generator: gen(8))
        let saved = Engine.threads
        defer { Engine.threads = saved }
        var grads: [Tensor] = []
        for t in [1, 2] {
            Engine.threads = t
            let xi = big.copy()
            xi.requiresGrad = true
            interpolateBilinear(xi, size: (37, 45)).backward(g)
            grads.append(xi.grad!)
        }
        assertClose(grads[0], grads[1], accuracy: 2e-7)
    }

    func naiveArgmax(_ y: Tensor) -> [Float] {
        let k = y.shape.last!, v = y.toArray()
        return (0..<(y.count / k)).map { p in
            var best = 0
            for j in 1..<k where v[p * k + j] > v[p * k + best] { best = j }
            return Float(best)
        }
    }

    func testUpsampleBilinearArgmaxMatchesUnfused() {
        for (i, k) in [1, 3, 19, 40, 150].enumerated() {
            let logits = Tensor.normal([2, 5, 7, k], generator: gen(UInt64(20 + i)))
            for ac in [false, true] {
                for size in [(13, 17), (5, 7), (4, 3), (1, 1), (29, 9)] {
                    let fused = upsampleBilinearArgmax(logits: logits, size: size, alignCorners: ac)
                    XCTAssertEqual(fused.shape, [2, size.0, size.1])
                    XCTAssertEqual(fused.toArray(), naiveArgmax(interpolateBilinear(logits, size: size, alignCorners: ac)), "K \(k) size \(size) ac \(ac)")
                }
            }
        }
        // Ties go to the lowest class index.
        let tied = Tensor([Float](repeating: 2, count: 2 * 2 * 20).enumerated().map { $0.offset % 20 < 3 ? 1 : $0.element }, shape: [1, 2, 2, 20])
        XCTAssertEqual(upsampleBilinearArgmax(logits: tied, size: (3, 5)).toArray(), [Float](repeating: 3, count: 15))
    }
}
