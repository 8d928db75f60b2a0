import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// SEA attention against a direct, loop-by-loop transcription of the official forward pass
/// (spec §1.3, NCHW reasoning on an [H][W][C] array), including SeaFormer++'s masks.
final class SeaAttentionTests: XCTestCase {
    override func setUp() {
        RandomGenerator.manualSeed(11)
    }

    func testV1MatchesANaiveComputation() {
        // Lengths 3 and 5 make the positional tables interpolate 16 → 3 and 16 → 5.
        check(SeaAttentionConfig(), batch: 2, height: 3, width: 5)
    }

    func testAdaptiveSqueezeAndExpandMatchANaiveComputation() {
        for width in MaskWidth.allCases {
            var spec = SeaAttentionConfig(adaptive: true)
            spec.maskWidth = width
            check(spec, batch: 1, height: 4, width: 3)
        }
    }

    func testMaxSqueezeAddModeAndSingleBranchesMatchANaiveComputation() {
        var spec = SeaAttentionConfig()
        spec.squeeze = .max
        spec.enhanceMode = .add
        check(spec, batch: 1, height: 3, width: 4)
        spec = SeaAttentionConfig(); spec.detailEnhancement = false; spec.positionalEmbedding = false
        check(spec, batch: 1, height: 3, width: 4)
        spec = SeaAttentionConfig(); spec.attentionBranch = false; spec.enhanceInput = .upconv
        check(spec, batch: 1, height: 3, width: 4)
        spec = SeaAttentionConfig(); spec.enhanceInput = .conv
        check(spec, batch: 1, height: 3, width: 4)
    }

    // MARK: the reference

    private let dim = 6, keyDim = 2, heads = 2   // nh_kd 4, d 4, dh 8

    private func check(_ spec: SeaAttentionConfig, batch: Int, height: Int, width: Int, file: StaticString = #filePath, line: UInt = #line) {
        let attn = SeaAttention(spec, AttentionShape(dim: dim, keyDim: keyDim, heads: heads))
        // Evaluation mode with non-trivial BN affine parameters and running statistics.
        for case let bn as BatchNorm in attn.namedModules().map(\.1) {
            let c = bn.weight.count
            bn.weight.assign(from: Tensor.uniform([c], low: 0.5, high: 1.5))
            bn.bias.assign(from: Tensor.uniform([c], low: -0.5, high: 0.5))
            bn.runningMean.assign(from: Tensor.uniform([c], low: -0.2, high: 0.2))
            bn.runningVar.assign(from: Tensor.uniform([c], low: 0.5, high: 1.5))
        }
        attn.eval()
        let x = Tensor.normal([batch, height, width, dim])
        let y = withNoGrad { attn(x) }.toArray()
        let xs = x.toArray(), n = height * width * dim
        for b in 0..<batch {
            let ref = naive(attn, spec, Grid(h: height, w: width, c: dim, v: Array(xs[b * n..<(b + 1) * n])))
            let got = Array(y[b * n..<(b + 1) * n])
            for i in 0..<n {
                XCTAssertEqual(got[i], ref.v[i], accuracy: 1e-4 * max(1, abs(ref.v[i])), "\(spec) sample \(b) index \(i)", file: file, line: line)
            }
        }
    }

    private func naive(_ m: SeaAttention, _ spec: SeaAttentionConfig, _ x: Grid) -> Grid {
        let d = 2 * keyDim, dh = d * heads
        var detail: Grid?
        var q = Grid(h: 0, w: 0, c: 0, v: []), k = q, v = q
        if let toQ = m.toQ { q = pointwise(x, toQ); k = pointwise(x, m.toK!); v = pointwise(x, m.toV!) }
        if spec.detailEnhancement {
            let input = m.enhanceConv.map { pointwise(x, $0) } ?? concatChannels([q, k, v])
            detail = pointwise(relu6(depthwise3x3(input, m.dwconv!)), m.pwconv!)
        }
        guard spec.attentionBranch else { return detail! }

        let adaptive = spec.adaptive
        let kind: SqueezeKind = adaptive ? .adaptive : spec.squeeze
        let aW = m.squeezeMaskRow.map { pointwise(x, $0) }, aH = m.squeezeMaskColumn.map { pointwise(x, $0) }
        // squeeze(t)[i][c] along rows (i = h, reduce w) or columns (i = w, reduce h)
        func squeeze(_ t: Grid, rows: Bool) -> [[Float]] {
            let len = rows ? t.h : t.w, other = rows ? t.w : t.h
            return (0..<len).map { i in
                (0..<t.c).map { c in
                    var acc: Float = kind == .max ? -.infinity : 0
                    for o in 0..<other {
                        let (h, w) = rows ? (i, o) : (o, i)
                        switch kind {
                        case .mean: acc += t[h, w, c]
                        case .max: acc = max(acc, t[h, w, c])
                        case .adaptive:
                            let mask = rows ? aW! : aH!
                            acc += t[h, w, c] * mask[h, w, maskChannel(c, channels: t.c, maskWidth: mask.c)]
                        }
                    }
                    return kind == .max ? acc : acc / Float(other)
                }
            }
        }
        func addPositions(_ s: [[Float]], _ table: SqueezeAxialPositionalEmbedding?) -> [[Float]] {
            guard let table else { return s }
            let p = table.posEmbed.toArray()   // [1, C, 16]
            return s.enumerated().map { i, row in row.enumerated().map { c, value in
                value + linearResize(Array(p[c * 16..<(c + 1) * 16]), at: i, outputLength: s.count)
            } }
        }
        func attend(_ qs: [[Float]], _ ks: [[Float]], _ vs: [[Float]]) -> [[Float]] {
            let len = qs.count
            var out = [[Float]](repeating: [Float](repeating: 0, count: dh), count: len)
            for head in 0..<heads {
                for i in 0..<len {
                    var logits = (0..<len).map { j in
                        (0..<keyDim).reduce(Float(0)) { $0 + qs[i][head * keyDim + $1] * ks[j][head * keyDim + $1] } / Float(keyDim).squareRoot()
                    }
                    let top = logits.max()!
                    logits = logits.map { exp($0 - top) }
                    let total = logits.reduce(0, +)
                    for e in 0..<d { out[i][head * d + e] = (0..<len).reduce(Float(0)) { $0 + logits[$1] / total * vs[$1][head * d + e] } }
                }
            }
            return out
        }
        let rowOut = attend(addPositions(squeeze(q, rows: true), m.posEmbRowQ), addPositions(squeeze(k, rows: true), m.posEmbRowK), squeeze(v, rows: true))
        let colOut = attend(addPositions(squeeze(q, rows: false), m.posEmbColumnQ), addPositions(squeeze(k, rows: false), m.posEmbColumnK), squeeze(v, rows: false))
        let row = pointwise(relu6(Grid(h: x.h, w: 1, c: dh, v: rowOut.flatMap { $0 })), m.projEncodeRow!.layers[1] as! ConvBN)
        let col = pointwise(relu6(Grid(h: 1, w: x.w, c: dh, v: colOut.flatMap { $0 })), m.projEncodeColumn!.layers[1] as! ConvBN)
        let eW = m.expandMaskRow.map { pointwise(x, $0) }, eH = m.expandMaskColumn.map { pointwise(x, $0) }
        var context = v
        for h in 0..<x.h { for w in 0..<x.w { for c in 0..<dh {
            var r = row[h, 0, c], cc = col[0, w, c]
            if let eW, let eH {
                r *= eW[h, w, maskChannel(c, channels: dh, maskWidth: eW.c)]
                cc *= eH[h, w, maskChannel(c, channels: dh, maskWidth: eH.c)]
            }
            context[h, w, c] = v[h, w, c] + (r + cc)
        } } }
        let attention = pointwise(relu6(context), m.proj!.layers[1] as! ConvBN)
        guard let detail else { return attention }
        var out = attention
        for i in 0..<out.v.count {
            let a = attention.v[i]
            out.v[i] = spec.enhanceMode == .mul ? min(max(a + 3, 0), 6) / 6 * detail.v[i] : a + detail.v[i]
        }
        return out
    }

    /// The documented mask layout: width 1 is shared; otherwise channel c of head h (C/heads
    /// channels per head) uses mask h·(m/heads) + (c mod (C/heads)) mod (m/heads).
    private func maskChannel(_ c: Int, channels: Int, maskWidth m: Int) -> Int {
        if m == 1 { return 0 }
        let perHead = m / heads, headWidth = channels / heads
        return (c / headWidth) * perHead + (c % headWidth) % perHead
    }

    /// PyTorch `F.interpolate(mode='linear', align_corners=False)` of a 16-long row, output i.
    private func linearResize(_ row: [Float], at o: Int, outputLength: Int) -> Float {
        let src = max((Float(o) + 0.5) * Float(row.count) / Float(outputLength) - 0.5, 0)
        let i0 = Int(src.rounded(.down)), i1 = min(i0 + 1, row.count - 1), lambda = src - Float(i0)
        return (1 - lambda) * row[i0] + lambda * row[i1]
    }
}

/// An [H][W][C] feature map of one sample.
private struct Grid {
    var h: Int, w: Int, c: Int
    var v: [Float]
    subscript(i: Int, j: Int, k: Int) -> Float {
        get { v[(i * w + j) * c + k] }
        set { v[(i * w + j) * c + k] = newValue }
    }
}

private func batchNormEval(_ value: Float, _ channel: Int, _ bn: BatchNorm) -> Float {
    let mean = bn.runningMean.toArray()[channel], variance = bn.runningVar.toArray()[channel]
    return (value - mean) / (variance + bn.eps).squareRoot() * bn.weight.toArray()[channel] + bn.bias.toArray()[channel]
}

/// Conv1×1 (OHWI weight [Cout, 1, 1, Cin]) + BN in evaluation mode.
private func pointwise(_ x: Grid, _ m: ConvBN) -> Grid {
    let weight = m.conv.weight.toArray(), cout = m.conv.outChannels
    var out = Grid(h: x.h, w: x.w, c: cout, v: [Float](repeating: 0, count: x.h * x.w * cout))
    for i in 0..<x.h { for j in 0..<x.w { for o in 0..<cout {
        let sum = (0..<x.c).reduce(Float(0)) { $0 + weight[o * x.c + $1] * x[i, j, $1] }
        out[i, j, o] = batchNormEval(sum, o, m.bn)
    } } }
    return out
}

/// Depthwise 3×3, padding 1 (weight [C, 3, 3, 1]) + BN in evaluation mode.
private func depthwise3x3(_ x: Grid, _ m: ConvBN) -> Grid {
    let weight = m.conv.weight.toArray()
    var out = x
    for i in 0..<x.h { for j in 0..<x.w { for c in 0..<x.c {
        var sum: Float = 0
        for a in 0..<3 { for b in 0..<3 {
            let y = i + a - 1, z = j + b - 1
            if y >= 0 && y < x.h && z >= 0 && z < x.w { sum += weight[c * 9 + a * 3 + b] * x[y, z, c] }
        } }
        out[i, j, c] = batchNormEval(sum, c, m.bn)
    } } }
    return out
}

private func relu6(_ x: Grid) -> Grid {
    var out = x
    out.v = x.v.map { min(max($0, 0), 6) }
    return out
}

private func concatChannels(_ parts: [Grid]) -> Grid {
    let c = parts.reduce(0) { $0 + $1.c }
    var out = Grid(h: parts[0].h, w: parts[0].w, c: c, v: [])
    for i in 0..<out.h { for j in 0..<out.w { for p in parts { for k in 0..<p.c { out.v.append(p[i, j, k]) } } } }
    return out
}
