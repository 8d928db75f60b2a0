import TestSupport
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// The non-SEA attention slots of SeaFormer's Tables 8/9: global, axial, local, conv.
final class AttentionVariantTests: XCTestCase {
    // A tiny head layout for numerics: dim 12, 2 heads, keyDim 3, value dim 6 per head (dh 12).
    let tiny = AttentionShape(dim: 12, keyDim: 3, heads: 2)
    // SeaFormer-T's two SEA stages (spec §1.2): dim 128, kd 16 / dim 160, kd 24; 4 heads each.
    let tStage5 = AttentionShape(dim: 128, keyDim: 16, heads: 4)
    let tStage6 = AttentionShape(dim: 160, keyDim: 24, heads: 4)

    override func setUp() { RandomGenerator.manualSeed(20_250_207) }

    // MARK: parameter counts (hand-computed formulas)

    /// A 1×1 Conv2d_BN: weight cin·cout, BN γ and β 2·cout.
    func convBN1x1(_ cin: Int, _ cout: Int) -> Int { cin * cout + 2 * cout }

    /// to_q + to_k (dim → nh·kd), to_v (dim → nh·2kd), proj (nh·2kd → dim).
    func projectedAttentionCount(_ s: AttentionShape) -> Int {
        let nhKd = s.heads * s.keyDim, dh = s.heads * s.attnRatio * s.keyDim
        return 2 * convBN1x1(s.dim, nhKd) + convBN1x1(s.dim, dh) + convBN1x1(dh, s.dim)
    }

    func testParameterCountsAtSeaFormerTScale() {
        // Stage 5: 2·(128·64+128) + (128·128+256) + (128·128+256) = 49,920.
        XCTAssertEqual(projectedAttentionCount(tStage5), 49_920)
        // Stage 6: 2·(160·96+192) + (160·192+384) + (192·160+320) = 93,248.
        XCTAssertEqual(projectedAttentionCount(tStage6), 93_248)
        for s in [tStage5, tStage6, tiny] {
            let global = GlobalAttentionConfig().build(s)
            XCTAssertEqual(global.parameterCount, projectedAttentionCount(s))
            var localSpec = LocalAttentionConfig()
            localSpec.windowSize = 4
            XCTAssertEqual(localSpec.build(s).parameterCount, projectedAttentionCount(s), "windows add no parameters")
            XCTAssertEqual(AxialAttentionConfig().build(s).parameterCount, 2 * projectedAttentionCount(s),
                           "one complete attention module per axis")
            // Conv: upconv dim→4·nh·kd (1×1 + BN), dwconv 3×3 depth-wise (9 per channel + BN), pwconv 4·nh·kd→dim.
            let width = 4 * s.heads * s.keyDim
            let conv = convBN1x1(s.dim, width) + (9 * width + 2 * width) + convBN1x1(width, s.dim)
            XCTAssertEqual(ConvAttentionConfig().build(s).parameterCount, conv)
        }
        XCTAssertEqual(AxialAttentionConfig().build(tStage5).parameterCount, 99_840)
        XCTAssertEqual(ConvAttentionConfig().build(tStage5).parameterCount, 69_120)
        XCTAssertEqual(ConvAttentionConfig().build(tStage6).parameterCount, 128_192)
        // SeaFormer-T with two slots per stage; SEA's own slots hold 2·123,136 + 2·239,872 = 726,016
        // (spec §1.5), and the T classifier without them is 1,781,096 − 726,016 = 1,055,080.
        let withoutSlots = 1_781_096 - 726_016
        XCTAssertEqual(withoutSlots + 2 * (49_920 + 93_248), 1_341_416)          // Global/Local: Table 9 1.3M
        XCTAssertEqual(withoutSlots + 2 * (99_840 + 186_496), 1_627_752)         // Axial: Table 9 1.6M
    }

    func testStatePathsFollowSeaFormerNames() {
        let global = GlobalAttentionConfig().build(tiny)
        XCTAssertEqual(global.namedParameters().map(\.0), [
            "to_q.c.weight", "to_q.bn.weight", "to_q.bn.bias", "to_k.c.weight", "to_k.bn.weight", "to_k.bn.bias",
            "to_v.c.weight", "to_v.bn.weight", "to_v.bn.bias", "proj.1.c.weight", "proj.1.bn.weight", "proj.1.bn.bias",
        ])
        XCTAssertEqual(parameter(global, "proj.1.bn.weight").toArray(), [Float](repeating: 0, count: 12), "proj BN γ starts at 0 (SEA)")
        XCTAssertEqual(parameter(global, "to_v.c.weight").shape, [12, 1, 1, 12])
        let axial = AxialAttentionConfig().build(tiny)
        XCTAssertEqual(axial.namedParameters().map(\.0).filter { $0.hasSuffix("c.weight") },
                       ["row.to_q.c.weight", "row.to_k.c.weight", "row.to_v.c.weight", "row.proj.1.c.weight",
                        "column.to_q.c.weight", "column.to_k.c.weight", "column.to_v.c.weight", "column.proj.1.c.weight"])
        let conv = ConvAttentionConfig().build(tiny)
        XCTAssertEqual(conv.namedParameters().map(\.0).filter { $0.hasSuffix("c.weight") },
                       ["upconv.c.weight", "dwconv.c.weight", "pwconv.c.weight"])
        XCTAssertEqual(parameter(conv, "dwconv.c.weight").shape, [24, 3, 3, 1], "depth-wise OHWI")
    }

    // MARK: shapes at odd sizes

    func testOutputShapesAtOddSizes() {
        var local4 = LocalAttentionConfig()
        local4.windowSize = 4
        var local3 = LocalAttentionConfig()
        local3.windowSize = 3
        let layers: [(String, Layer)] = [
            ("global", GlobalAttentionConfig().build(tiny)),
            ("axial", AxialAttentionConfig().build(tiny)),
            ("local4", local4.build(tiny)),
            ("local3", local3.build(tiny)),
            ("conv", ConvAttentionConfig().build(tiny)),
        ]
        for (name, layer) in layers {
            for size in [(5, 7), (1, 9), (4, 8), (6, 1)] {
                let x = Tensor.normal([2, size.0, size.1, tiny.dim])
                let y = layer(x)
                XCTAssertEqual(y.shape, [2, size.0, size.1, tiny.dim], "\(name) at \(size)")
                XCTAssertTrue(y.toArray().allSatisfy(\.isFinite), "\(name) at \(size)")
            }
        }
    }

    // MARK: numerics against naive loops

    /// Explicit attention over NHWC arrays: for each query pixel and head, softmax over the keys
    /// `attends(query, key)` admits of `q·k·kd^-0.5`, then the weighted sum of v.
    func naiveAttention(q: [Float], k: [Float], v: [Float], b: Int, h: Int, w: Int, heads: Int, kd: Int, d: Int,
                        attends: ((Int, Int), (Int, Int)) -> Bool) -> [Float] {
        let scale = 1 / Float(kd).squareRoot()
        var out = [Float](repeating: 0, count: b * h * w * heads * d)
        for n in 0..<b {
            for i in 0..<h {
                for j in 0..<w {
                    let o = (n * h + i) * w + j
                    for head in 0..<heads {
                        var keys: [Int] = [], scores: [Float] = []
                        for i2 in 0..<h {
                            for j2 in 0..<w where attends((i, j), (i2, j2)) {
                                let p = (n * h + i2) * w + j2
                                var s: Float = 0
                                for c in 0..<kd { s += q[o * heads * kd + head * kd + c] * k[p * heads * kd + head * kd + c] }
                                keys.append(p)
                                scores.append(s * scale)
                            }
                        }
                        let m = scores.max()!
                        let e = scores.map { Foundation.exp($0 - m) }
                        let total = e.reduce(0, +)
                        for (p, weight) in zip(keys, e) {
                            for c in 0..<d {
                                out[o * heads * d + head * d + c] += weight / total * v[p * heads * d + head * d + c]
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The module's own projections with the attention replaced by `naiveAttention`.
    func reference(_ m: ProjectedAttention, _ x: Tensor, attends: ((Int, Int), (Int, Int)) -> Bool) -> Tensor {
        let (b, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let y = naiveAttention(q: m.toQ(x).toArray(), k: m.toK(x).toArray(), v: m.toV(x).toArray(), b: b, h: h, w: w,
                               heads: m.heads, kd: m.keyDim, d: m.valueDim, attends: attends)
        return m.proj(Tensor(y, shape: [b, h, w, m.heads * m.valueDim]))
    }

    func testGlobalMatchesExplicitLoop() {
        let m = GlobalAttention(tiny)
        makeLive(m, randomShift: true)
        m.eval()
        let x = Tensor.normal([2, 5, 7, tiny.dim])
        assertClose(m(x), reference(m, x) { _, _ in true }, accuracy: 1e-4, nonTrivial: true)
    }

    func testAxialMatchesRowThenColumnLoops() {
        let m = AxialAttention(tiny)
        makeLive(m, randomShift: true)
        m.eval()
        let x = Tensor.normal([2, 5, 7, tiny.dim])
        let r = reference(m.row, x) { $0.0 == $1.0 }                 // same row: W tokens
        let c = reference(m.column, x + r) { $0.1 == $1.1 }          // same column: H tokens
        assertClose(m(x), r + c, accuracy: 1e-4, nonTrivial: true)
        // The row pass alone is not global: changing one pixel moves only its row's outputs
        // (other rows only by the convolution kernels' rounding, which depends on the whole map).
        var values = x.toArray()
        values[(0 * 5 + 2) * 7 * tiny.dim + 3 * tiny.dim] += 1
        let r2 = m.row(Tensor(values, shape: x.shape)).toArray(), r1 = r.toArray()
        for i in 0..<5 {
            let rowDiff = (0..<(7 * tiny.dim)).map { Swift.abs(r2[i * 7 * tiny.dim + $0] - r1[i * 7 * tiny.dim + $0]) }.max()!
            if i == 2 { XCTAssertGreaterThan(rowDiff, 1e-3) } else { XCTAssertLessThan(rowDiff, 1e-5) }
        }
    }

    /// 5×7 with window 4: windows are rows {0–3}, {4 + 3 padded} × columns {0–3}, {4–6 + 1 padded}.
    /// The reference attends only to real tokens of the same window, so equality means padded
    /// keys receive exactly no weight.
    func testLocalWithPaddingMatchesWindowLoops() {
        for ws in [4, 3, 2] {
            let m = LocalAttention(tiny, windowSize: ws)
            makeLive(m, randomShift: true)
            m.eval()
            let x = Tensor.normal([2, 5, 7, tiny.dim])
            assertClose(m(x), reference(m, x) { $0.0 / ws == $1.0 / ws && $0.1 / ws == $1.1 / ws }, accuracy: 1e-4, "window \(ws)", nonTrivial: true)
        }
    }

    func testLocalPaddedKeyMask() {
        let m = LocalAttention(tiny, windowSize: 4)
        let mask = m.paddedKeyMask(h: 5, w: 7, rows: 2, cols: 2, window: 4)
        XCTAssertEqual(mask.shape, [4, 1, 1, 16])
        let masked = mask.toArray().map { $0 == LocalAttention.maskedScore ? 1 : 0 }
        // Window (0,0): none; (0,1): column 3 of 4 rows; (1,0): rows 1–3; (1,1): all but 3 tokens.
        XCTAssertEqual([0, 1, 2, 3].map { w in masked[(w * 16)..<(w * 16 + 16)].reduce(0, +) }, [0, 4, 12, 13])
        XCTAssertEqual(Array(masked[16..<20]), [0, 0, 0, 1], "window (0,1), first row: columns 4,5,6 real, 7 padded")
    }

    /// A window covering the whole (padded) map is global attention: same weights, same output.
    func testLocalWithWholeMapWindowEqualsGlobal() {
        let global = GlobalAttention(tiny)
        makeLive(global, randomShift: true)
        global.eval()
        let x = Tensor.normal([2, 5, 7, tiny.dim])
        let expected = global(x)
        for ws in [7, 9] {
            let local = LocalAttention(tiny, windowSize: ws)
            XCTAssertNoThrow(try local.load(state: global.stateDict()))
            local.eval()
            assertClose(local(x), expected, accuracy: 1e-4, "window \(ws) on 5×7", nonTrivial: true)
        }
        // Square map, window equal to the map: no padding, no mask.
        let square = Tensor.normal([1, 6, 6, tiny.dim])
        let local = LocalAttention(tiny, windowSize: 6)
        try! local.load(state: global.stateDict())
        local.eval()
        assertClose(local(square), global(square), accuracy: 1e-4, nonTrivial: true)
    }

    // MARK: gradients

    /// One backward in training mode with every BN γ set to 1 (so `proj` is live): every
    /// parameter receives a nonzero gradient, except the key projection's BN β, whose gradient
    /// is exactly zero in theory: it adds q·β to every key's score of a query alike, which the
    /// softmax cancels.
    func testEveryParameterLearns() {
        var local = LocalAttentionConfig()
        local.windowSize = 3
        let layers: [(String, Layer)] = [
            ("global", GlobalAttentionConfig().build(tiny)),
            ("axial", AxialAttentionConfig().build(tiny)),
            ("local", local.build(tiny)),
            ("conv", ConvAttentionConfig().build(tiny)),
        ]
        for (name, layer) in layers {
            makeLive(layer, randomShift: false)
            let x = Tensor.normal([2, 5, 7, tiny.dim])
            let y = layer(x)
            (y * Tensor.normal(y.shape)).sum().backward()
            for (path, p) in layer.namedParameters() {
                let g = p.grad?.toArray() ?? []
                XCTAssertEqual(g.count, p.count, "\(name).\(path) has no gradient")
                let size = g.map(Swift.abs).max() ?? 0
                if path.hasSuffix("to_k.bn.bias") {
                    let keyScale = parameter(layer, path.replacingOccurrences(of: "bias", with: "weight")).grad!.toArray().map(Swift.abs).max()!
                    XCTAssertLessThan(size, 1e-3 * keyScale, "\(name).\(path): the softmax cancels a key bias")
                } else {
                    XCTAssertGreaterThan(size, 1e-6, "\(name).\(path) gets no gradient")
                }
            }
        }
    }

    /// With the default init (both `proj` BN γ = 0) the axial slot outputs zeros, yet both passes
    /// learn: the row output enters the result directly and through the column pass's input.
    func testAxialDefaultInitLetsBothPassesLearn() {
        let m = AxialAttention(tiny)
        let x = Tensor.normal([2, 5, 7, tiny.dim])
        let y = m(x)
        XCTAssertEqual(y.toArray().map(Swift.abs).max(), 0)
        (y * Tensor.normal(y.shape)).sum().backward()
        XCTAssertGreaterThan(m.row.proj.namedParameters()[1].1.grad!.toArray().map(Swift.abs).max()!, 1e-4)
        XCTAssertGreaterThan(m.column.proj.namedParameters()[1].1.grad!.toArray().map(Swift.abs).max()!, 1e-4)
    }

    // MARK: helpers

    func parameter(_ m: Module, _ path: String) -> Tensor {
        guard let p = m.namedParameters().first(where: { $0.0 == path })?.1 else { preconditionFailure("no parameter \(path)") }
        return p
    }

    /// Sets every BN γ to 1 (the `proj` BNs start at 0, which would silence the branch); with
    /// `randomShift`, gives every BN a random β so the projections carry biases.
    func makeLive(_ m: Module, randomShift: Bool) {
        for (_, module) in m.namedModules() {
            guard let bn = module as? BatchNorm else { continue }
            bn.weight.assign(from: Tensor.ones(bn.weight.shape))
            if randomShift { bn.bias.assign(from: Tensor.normal(bn.bias.shape, std: 0.3)) }
        }
    }
}
