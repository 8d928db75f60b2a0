import TestSupport
import XCTest
@_spi(Bench) @testable import TensorEngine

/// Naive NHWC convolution with ohwi weights: the reference the oneDNN paths are checked against.
func naiveConv2d(_ x: Tensor, _ w: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) -> Tensor {
    let (n, h, wd, cin) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cout, kh, kw, cig) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
    let ow = (wd + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
    let cog = cout / groups
    let xv = x.toArray(), wv = w.toArray(), bv = bias?.toArray()
    var out = [Float](repeating: 0, count: n * oh * ow * cout)
    for b in 0..<n { for oy in 0..<oh { for ox in 0..<ow { for co in 0..<cout {
        let grp = co / cog
        var s = Double(bv?[co] ?? 0)
        for ky in 0..<kh { for kx in 0..<kw {
            let iy = oy * stride.0 - padding.0 + ky * dilation.0, ix = ox * stride.1 - padding.1 + kx * dilation.1
            if iy < 0 || iy >= h || ix < 0 || ix >= wd { continue }
            for ci in 0..<cig {
                s += Double(xv[((b * h + iy) * wd + ix) * cin + grp * cig + ci]) * Double(wv[((co * kh + ky) * kw + kx) * cig + ci])
            }
        } }
        out[((b * oh + oy) * ow + ox) * cout + co] = Float(s)
    } } } }
    _ = cin
    return Tensor(out, shape: [n, oh, ow, cout])
}

final class ConvolutionTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    struct Case {
        var n = 2, h = 5, w = 6, cin = 4, cout = 6, k = (3, 3), stride = (1, 1), pad = (0, 0), dil = (1, 1), groups = 1, bias = true
    }

    let cases: [Case] = [
        Case(),                                                             // dense 3x3, no padding
        Case(h: 7, w: 5, cin: 3, cout: 5, pad: (1, 1), bias: false),        // odd sizes, padding
        Case(h: 7, w: 6, stride: (2, 2), pad: (1, 1)),                      // stride 2
        Case(h: 7, w: 7, cin: 3, cout: 4, dil: (2, 2), bias: false),        // dilation 2
        Case(h: 6, w: 7, cin: 4, cout: 6, pad: (2, 1), dil: (2, 1), groups: 2), // grouped, asymmetric params
        Case(h: 6, w: 5, cin: 6, cout: 6, pad: (1, 1), groups: 6),          // depthwise 3x3
        Case(h: 7, w: 6, cin: 5, cout: 5, k: (5, 5), stride: (2, 2), pad: (2, 2), groups: 5), // depthwise 5x5 stride 2 (own wgrad)
        Case(h: 7, w: 7, cin: 3, cout: 3, k: (5, 5), pad: (4, 4), dil: (2, 2), groups: 3, bias: false), // depthwise 5x5 dilated
        Case(h: 5, w: 5, cin: 4, cout: 8, k: (1, 1), stride: (2, 2)),       // 1x1 stride 2
        Case(h: 5, w: 6, cin: 3, cout: 6, k: (3, 1), stride: (1, 2), pad: (1, 0), groups: 3), // channel multiplier 2, non-square
    ]

    func tensors(_ c: Case, seed: UInt64) -> (Tensor, Tensor, Tensor?) {
        let x = Tensor.normal([c.n, c.h, c.w, c.cin], generator: gen(seed))
        let w = Tensor.normal([c.cout, c.k.0, c.k.1, c.cin / c.groups], std: 0.5, generator: gen(seed + 1))
        let b = c.bias ? Tensor.normal([c.cout], generator: gen(seed + 2)) : nil
        return (x, w, b)
    }

    func testForwardAgainstNaive() {
        for (i, c) in cases.enumerated() {
            let (x, w, b) = tensors(c, seed: UInt64(10 * i))
            let y = conv2d(x, w, bias: b, stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups)
            assertClose(y, naiveConv2d(x, w, bias: b, stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups), accuracy: 1e-4, "case \(i)")
        }
    }

    func testGradients() {
        for (i, c) in cases.enumerated() {
            let (x, w, b) = tensors(c, seed: UInt64(100 + 10 * i))
            let inputs = b.map { [x, w, $0] } ?? [x, w]
            checkGradients(inputs) { t in
                conv2d(t[0], t[1], bias: t.count > 2 ? t[2] : nil, stride: c.stride, padding: c.pad, dilation: c.dil, groups: c.groups)
            }
        }
    }

    func testOwnDepthwiseWeightGradMatchesOneDNN() {
        // Larger channel count exercises the 16-wide path and its tail (C = 37).
        // The last case has taps that miss the 3×3 image entirely (padding 4, dilation 2).
        for (k, s, p, d, size) in [(5, 2, 2, 1, 9), (5, 1, 2, 1, 9), (3, 1, 1, 1, 9), (5, 1, 4, 2, 9), (7, 2, 3, 1, 9), (5, 1, 4, 2, 3)] {
            let g = ConvGeometry(n: 2, ih: size, iw: size + 2, cin: 37, cout: 37, kh: k, kw: k, sh: s, sw: s, ph: p, pw: p, dh: d, dw: d, groups: 37, hasBias: true)
            let x = Tensor.normal(g.srcShape, generator: gen(1)), dy = Tensor.normal(g.dstShape, generator: gen(2))
            let (dw, db) = depthwiseWeightGrad(x, dy, g)
            let (rw, rb) = ConvPlan.get(g).runBackwardWeights(x, dy)
            assertClose(dw, rw, accuracy: 1e-4, "k\(k) s\(s) p\(p) d\(d)")
            assertClose(db!, rb!, accuracy: 1e-4)
        }
    }

    func testConv1d() {
        let x = Tensor.normal([2, 9, 4], generator: gen(1)), w = Tensor.normal([6, 3, 2], generator: gen(2)), b = Tensor.normal([6], generator: gen(3))
        let y = conv1d(x, w, bias: b, stride: 2, padding: 1, groups: 2)
        XCTAssertEqual(y.shape, [2, 5, 6])
        let ref = naiveConv2d(x.reshape([2, 1, 9, 4]), w.reshape([6, 1, 3, 2]), bias: b, stride: (1, 2), padding: (0, 1), dilation: (1, 1), groups: 2)
        assertClose(y, ref.reshape([2, 5, 6]), accuracy: 1e-4)
        checkGradients([x, w, b]) { conv1d($0[0], $0[1], bias: $0[2], stride: 2, padding: 1, groups: 2) }
        checkGradients([x.detach().copy(), Tensor.normal([4, 3, 1], generator: gen(4))]) { conv1d($0[0], $0[1], padding: 2, dilation: 2, groups: 4) }
    }

    func testKnownValuesAndWeightConversion() {
        // torch.nn.functional.conv2d(torch.arange(16.).reshape(1,1,4,4), torch.tensor([[[[1.,0],[2,-1]]]]), bias=torch.tensor([0.5]), stride=2)
        // = [[[[3.5, 7.5], [19.5, 23.5]]]]; NCHW with one channel is NHWC too.
        let x = Tensor.arange(16).reshape([1, 4, 4, 1])
        let w = convWeightFromOIHW(Tensor([1, 0, 2, -1], shape: [1, 1, 2, 2]))
        assertValues(conv2d(x, w, bias: Tensor([0.5], shape: [1]), stride: 2), [3.5, 7.5, 19.5, 23.5])
        // OIHW [2, 3, 1, 2] -> ohwi [2, 1, 2, 3]: element [o, i, 0, k] moves to [o, 0, k, i].
        let oihw = Tensor.arange(12).reshape([2, 3, 1, 2])
        let ohwi = convWeightFromOIHW(oihw)
        XCTAssertEqual(ohwi.shape, [2, 1, 2, 3])
        for o in 0..<2 { for i in 0..<3 { for k in 0..<2 { XCTAssertEqual(ohwi[o, 0, k, i], oihw[o, i, 0, k]) } } }
    }

    func testFastImplementationsForNHWC() {
        let shapes: [(String, [Int], [Int], Int, Int)] = [
            ("depthwise 3x3", [2, 16, 16, 32], [32, 3, 3, 1], 1, 32),
            ("1x1", [2, 16, 16, 32], [64, 1, 1, 32], 0, 1),
            ("dense 3x3", [2, 16, 16, 32], [32, 3, 3, 32], 1, 1),
        ]
        for (name, input, weight, pad, groups) in shapes {
            for pass in ["forward", "backwardData", "backwardWeights"] {
                let impl = convImplementation(input: input, weight: weight, padding: pad, groups: groups, bias: true, pass: pass)
                XCTAssertFalse(impl.contains("gemm") || impl.hasPrefix("ref"), "\(name) \(pass) uses slow path \(impl)")
            }
        }
    }

    func testPrimitivesAreReused() {
        let x = Tensor.normal([1, 6, 6, 4], generator: gen(1)), w = Tensor.normal([4, 3, 3, 1], generator: gen(2))
        _ = conv2d(x, w, padding: 1, groups: 4)
        let n = PrimitiveCache.count
        for _ in 0..<3 { _ = conv2d(x, w, padding: 1, groups: 4) }
        XCTAssertEqual(PrimitiveCache.count, n)
    }
}
