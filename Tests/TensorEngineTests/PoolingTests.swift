import TestSupport
import XCTest
@testable import TensorEngine

final class PoolingTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    /// NHWC tensor holding 0, 1, 2, ... (torch: arange(n).reshape(N, H, W, C), permuted to NCHW).
    func arange(_ shape: [Int]) -> Tensor { Tensor((0..<shape.reduce(1, *)).map(Float.init), shape: shape) }

    /// Distinct values 0.1 apart in scrambled order, so max-pool arg-maxes survive finite-difference steps.
    func distinct(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        var step = 37
        while n % step == 0 || step % n == 0 { step += 2 }
        return Tensor((0..<n).map { Float(($0 * step) % n) * 0.1 }, shape: shape)
    }

    func testAvgPoolMatchesTorch() {
        let x = arange([1, 5, 5, 2])
        // F.avg_pool2d(x_nchw, 3, 2, 1, count_include_pad=True / False), back to NHWC
        assertValues(avgPool2d(x, kernel: 3, stride: 2, padding: 1),
                     [2.66666675, 3.11111116, 6, 6.66666651, 5.33333349, 5.77777767, 14, 14.666667, 24, 25, 18, 18.666666, 16,
                      16.4444447, 26, 26.666666, 18.666666, 19.1111107], accuracy: 1e-6)
        assertValues(avgPool2d(x, kernel: 3, stride: 2, padding: 1, countIncludePad: false),
                     [6, 7, 9, 10, 12, 13, 21, 22, 24, 25, 27, 28, 36, 37, 39, 40, 42, 43], accuracy: 1e-6)
        // ceil_mode: F.avg_pool2d(arange(36).reshape(1, 1, 6, 6), 3, 2, 1, ceil_mode=True, count_include_pad=True / False)
        let y = arange([1, 6, 6, 1])
        let c1 = avgPool2d(y, kernel: 3, stride: 2, padding: 1, ceilMode: true)
        XCTAssertEqual(c1.shape, [1, 4, 4, 1])
        assertValues(c1, [1.55555558, 3.33333325, 4.66666651, 2.66666675, 8.33333302, 14, 16, 8.5, 16.333334, 26, 28, 14.5,
                          10.166667, 16, 17, 8.75], accuracy: 1e-6)
        assertValues(avgPool2d(y, kernel: 3, stride: 2, padding: 1, countIncludePad: false, ceilMode: true),
                     [3.5, 5, 7, 8, 12.5, 14, 16, 17, 24.5, 26, 28, 29, 30.5, 32, 34, 35], accuracy: 1e-6)
    }

    func testAdaptiveAvgPoolMatchesTorch() {
        // F.adaptive_avg_pool2d(arange(98).reshape(1, 7, 7, 2).permute(0, 3, 1, 2), (3, 3)), back to NHWC
        assertValues(adaptiveAvgPool2d(arange([1, 7, 7, 2]), outputSize: (3, 3)),
                     [16, 17, 20, 21, 24, 25, 44, 45, 48, 49, 52, 53, 72, 73, 76, 77, 80, 81], accuracy: 1e-6)
    }

    func testMaxPoolAndGradientMatchTorch() {
        // x = (arange(50) * 7 % 11).reshape(1, 5, 5, 2): many ties inside windows.
        let x = Tensor((0..<50).map { Float(($0 * 7) % 11) }, shape: [1, 5, 5, 2])
        x.requiresGrad = true
        let y = maxPool2d(x, kernel: 3, stride: 2, padding: 1)
        // F.max_pool2d(x_nchw, 3, 2, 1); y.backward(g) with g_nhwc = arange(18) + 1
        assertValues(y, [7, 10, 10, 10, 9, 9, 8, 8, 10, 10, 10, 9, 8, 8, 10, 10, 10, 10])
        y.backward(Tensor((1...18).map(Float.init), shape: [1, 3, 3, 2]))
        assertValues(x.grad!, [0, 0, 0, 6, 0, 0, 5, 0, 0, 0, 0, 0, 1, 0, 12, 0, 0, 18, 0, 0, 7, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 22, 0,
                               0, 0, 0, 43, 0, 0, 0, 0, 0, 13, 0, 0, 0, 0, 34, 0, 0])
        // F.max_pool2d(arange(36).reshape(1, 1, 6, 6), 3, 2, 1, ceil_mode=True)
        let c = maxPool2d(arange([1, 6, 6, 1]), kernel: 3, stride: 2, padding: 1, ceilMode: true)
        XCTAssertEqual(c.shape, [1, 4, 4, 1])
        assertValues(c, [7, 9, 11, 11, 19, 21, 23, 23, 31, 33, 35, 35, 31, 33, 35, 35])
        // All-negative input with padding: the padding never wins.
        assertValues(maxPool2d(Tensor([-5, -3, -4, -9], shape: [1, 2, 2, 1]), kernel: 2, stride: 1, padding: 1),
                     [-5, -3, -3, -4, -3, -3, -4, -4, -9])
    }

    // MARK: naive references

    func naivePool(_ x: Tensor, k: (Int, Int), s: (Int, Int), p: (Int, Int), ceil: Bool, max: Bool, includePad: Bool) -> Tensor {
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        func outSize(_ i: Int, _ k: Int, _ s: Int, _ p: Int) -> Int {
            var o = ceil ? Int((Double(i + 2 * p - k) / Double(s)).rounded(.up)) + 1 : (i + 2 * p - k) / s + 1
            if ceil && (o - 1) * s >= i + p { o -= 1 }
            return o
        }
        let OH = outSize(H, k.0, s.0, p.0), OW = outSize(W, k.1, s.1, p.1)
        var out = [Float]()
        for n in 0..<N { for oh in 0..<OH { for ow in 0..<OW { for c in 0..<C {
            var acc: Float = max ? -.infinity : 0
            var cnt = 0, padded = 0
            for i in 0..<k.0 { for j in 0..<k.1 {
                let ih = oh * s.0 - p.0 + i, iw = ow * s.1 - p.1 + j
                if ih < H + p.0 && iw < W + p.1 { padded += 1 }
                guard ih >= 0, ih < H, iw >= 0, iw < W else { continue }
                let v = x[n, ih, iw, c]
                if max { acc = Swift.max(acc, v) } else { acc += v }
                cnt += 1
            } }
            out.append(max ? acc : acc / Float(includePad ? padded : cnt))
        } } } }
        return Tensor(out, shape: [N, OH, OW, C])
    }

    func testPoolsMatchNaiveReference() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(1))
        let configs: [((Int, Int), (Int, Int), (Int, Int), Bool)] = [
            ((3, 3), (2, 2), (1, 1), false), ((3, 3), (2, 2), (1, 1), true), ((2, 3), (1, 2), (0, 1), false),
            ((2, 2), (2, 2), (0, 0), true), ((3, 2), (3, 1), (1, 0), true), ((5, 7), (1, 1), (0, 0), false),
        ]
        for (k, s, p, ceil) in configs {
            let m = "k \(k) s \(s) p \(p) ceil \(ceil)"
            assertClose(maxPool2d(x, kernel: k, stride: s, padding: p, ceilMode: ceil),
                        naivePool(x, k: k, s: s, p: p, ceil: ceil, max: true, includePad: true), m)
            for inc in [true, false] {
                assertClose(avgPool2d(x, kernel: k, stride: s, padding: p, countIncludePad: inc, ceilMode: ceil),
                            naivePool(x, k: k, s: s, p: p, ceil: ceil, max: false, includePad: inc), "\(m) include \(inc)")
            }
        }
        // Wide channels (vector body) and enough work for several threads in the backward pass.
        let wide = Tensor.normal([1, 9, 11, 70], generator: gen(2))
        assertClose(avgPool2d(wide, kernel: 3, stride: 2, padding: 1),
                    naivePool(wide, k: (3, 3), s: (2, 2), p: (1, 1), ceil: false, max: false, includePad: true))
    }

    func naiveAdaptive(_ x: Tensor, _ oh: Int, _ ow: Int) -> Tensor {
        let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var out = [Float]()
        for n in 0..<N { for i in 0..<oh { for j in 0..<ow { for c in 0..<C {
            let h0 = Int((Double(i * H) / Double(oh)).rounded(.down)), h1 = Int((Double((i + 1) * H) / Double(oh)).rounded(.up))
            let w0 = Int((Double(j * W) / Double(ow)).rounded(.down)), w1 = Int((Double((j + 1) * W) / Double(ow)).rounded(.up))
            var s = 0.0
            for a in h0..<h1 { for b in w0..<w1 { s += Double(x[n, a, b, c]) } }
            out.append(Float(s / Double((h1 - h0) * (w1 - w0))))
        } } } }
        return Tensor(out, shape: [N, oh, ow, C])
    }

    func testAdaptiveAvgPoolMatchesNaive() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(3))
        for (oh, ow) in [(3, 2), (1, 1), (5, 7), (7, 9), (2, 4), (1, 3)] {
            assertClose(adaptiveAvgPool2d(x, outputSize: (oh, ow)), naiveAdaptive(x, oh, ow), "\(oh)x\(ow)")
        }
        // Global pooling over enough rows to split across threads.
        let big = Tensor.normal([2, 40, 30, 33], generator: gen(4))
        assertClose(adaptiveAvgPool2d(big, outputSize: (1, 1)), naiveAdaptive(big, 1, 1))
    }

    func testPoolingGradients() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(5))
        checkGradients([x]) { avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        checkGradients([x]) { avgPool2d($0[0], kernel: 3, stride: 2, padding: 1, countIncludePad: false, ceilMode: true) }
        checkGradients([x]) { avgPool2d($0[0], kernel: (2, 3), stride: (1, 2)) }
        for size in [(3, 2), (1, 1), (7, 9)] {
            checkGradients([x]) { adaptiveAvgPool2d($0[0], outputSize: size) }
        }
        let d = distinct([2, 5, 7, 3])
        checkGradients([d]) { maxPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
        checkGradients([d]) { maxPool2d($0[0], kernel: (2, 3), stride: (1, 2), padding: (1, 1), ceilMode: true) }
        let wide = distinct([1, 6, 5, 40])  // channel blocks in the scatter
        checkGradients([wide]) { maxPool2d($0[0], kernel: 2) }
        checkGradients([wide.copy()]) { avgPool2d($0[0], kernel: 3, stride: 2, padding: 1) }
    }

    /// Backward passes split into channel blocks on several threads agree with one thread.
    func testScatterBackwardIsThreadCountIndependent() {
        let x = distinct([1, 40, 40, 48])
        let g = Tensor.normal([1, 20, 20, 48], generator: gen(6))
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("max", { maxPool2d($0, kernel: 3, stride: 2, padding: 1) }), ("avg", { avgPool2d($0, kernel: 2) }),
            ("adaptive", { adaptiveAvgPool2d($0, outputSize: (20, 20)) }),
        ]
        let saved = Engine.threads
        defer { Engine.threads = saved }
        for (name, f) in ops {
            var grads: [Tensor] = []
            for t in [1, 2] {
                Engine.threads = t
                let xi = x.copy()
                xi.requiresGrad = true
                f(xi).backward(g)
                grads.append(xi.grad!)
            }
            assertClose(grads[0], grads[1], accuracy: 0, name)
        }
    }
}
