import CDNNL

// Convolutions on channels-last activations: forward, backward-data and backward-weights through
// oneDNN (NHWC activations always: its depthwise kernels run 25–35× slower on NCHW), plus our own
// depthwise backward-weights kernel where oneDNN's is slow.
//
// Weight layout ("ohwi"): `[Cout, KH, KW, Cin/groups]`, i.e. PyTorch's OIHW permuted (0, 2, 3, 1);
// `convWeightFromOIHW` converts. For conv1d it is `[Cout, K, Cin/groups]` ("owi").

/// Shape and parameters of one 2-D convolution (NHWC input, ohwi weights).
struct ConvGeometry {
    var n, ih, iw, cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups: Int
    var hasBias: Bool

    var oh: Int { (ih + 2 * ph - dh * (kh - 1) - 1) / sh + 1 }
    var ow: Int { (iw + 2 * pw - dw * (kw - 1) - 1) / sw + 1 }
    /// One weight per channel and tap (groups == channels, channel multiplier 1).
    var isDepthwise: Bool { groups == cin && groups == cout && groups > 1 }

    var key: [Int] { [n, ih, iw, cin, cout, kh, kw, sh, sw, ph, pw, dh, dw, groups, hasBias ? 1 : 0] }
    var srcShape: [Int] { [n, ih, iw, cin] }
    var dstShape: [Int] { [n, oh, ow, cout] }
    var weightShape: [Int] { [cout, kh, kw, cin / groups] }
}

/// Where oneDNN's weights layout comes from. `.any` lets it pick its blocked favourite (and we
/// reorder to/from ohwi each call); `.plain` makes it work on ohwi directly.
enum ConvWeightFormat: Int { case plain = 0, any = 1 }

/// The three oneDNN primitives of one convolution geometry, created on first use, plus the weight
/// reorders they need. Cached per geometry in `PrimitiveCache`.
final class ConvPlan {
    let g: ConvGeometry
    let format: ConvWeightFormat
    private let srcMD, dstMD, userWeightsMD, biasMD: dnnl_memory_desc_t

    init(_ g: ConvGeometry, format: ConvWeightFormat) {
        self.g = g
        self.format = format
        // oneDNN dims are always logical NCHW / OIHW; the tag says how memory is laid out.
        srcMD = Dnnl.memoryDesc([g.n, g.cin, g.ih, g.iw], tag: dnnl_nhwc)
        dstMD = Dnnl.memoryDesc([g.n, g.cout, g.oh, g.ow], tag: dnnl_nhwc)
        userWeightsMD = g.groups == 1 ? Dnnl.memoryDesc([g.cout, g.cin, g.kh, g.kw], tag: dnnl_ohwi)
            : Dnnl.memoryDesc([g.groups, g.cout / g.groups, g.cin / g.groups, g.kh, g.kw], tag: dnnl_gohwi)
        biasMD = Dnnl.memoryDesc([g.cout], tag: dnnl_a)
    }

    /// oneDNN's logical weight dims: [O, I, KH, KW], or [G, O/G, I/G, KH, KW] when grouped.
    private var weightDims: [Int] {
        g.groups == 1 ? [g.cout, g.cin, g.kh, g.kw] : [g.groups, g.cout / g.groups, g.cin / g.groups, g.kh, g.kw]
    }

    private var weightsMD: dnnl_memory_desc_t {
        format == .plain ? userWeightsMD : Dnnl.memoryDesc(weightDims, tag: dnnl_format_tag_any)
    }

    private var strides: [dnnl_dim_t] { Dnnl.dims([g.sh, g.sw]) }
    private var dilates: [dnnl_dim_t] { Dnnl.dims([g.dh - 1, g.dw - 1]) }  // oneDNN counts extra gaps
    private var padding: [dnnl_dim_t] { Dnnl.dims([g.ph, g.pw]) }
    private var name: String { "conv \(g.srcShape) w\(g.weightShape) s(\(g.sh),\(g.sw)) p(\(g.ph),\(g.pw)) d(\(g.dh),\(g.dw)) g\(g.groups)" }

    /// Reorder from ohwi to what a primitive wants for `arg`, or nil when they already agree.
    private func reorder(for p: DnnlPrimitive, _ arg: Int32, toUser: Bool) -> DnnlPrimitive? {
        let want = p.md(arg)
        if Dnnl.equal(want, userWeightsMD) { return nil }
        let r = toUser ? DnnlPrimitive(reorderFrom: want, to: userWeightsMD) : DnnlPrimitive(reorderFrom: userWeightsMD, to: want)
        r.serial = Dnnl.byteSize(want) < 1 << 18  // under 64K floats: cheaper than a parallel region
        return r
    }

    lazy var forward: DnnlPrimitive = {
        var src = srcMD, w = weightsMD, dst = dstMD
        let b = biasMD
        let s = strides, d = dilates, p = padding
        var desc = dnnl_convolution_desc_t()
        let status = Dnnl.withOptional(g.hasBias ? b : nil) {
            dnnl_dilated_convolution_forward_desc_init(&desc, dnnl_forward_training, dnnl_convolution_direct, &src, &w, $0, &dst, s, d, p, p)
        }
        Dnnl.check(status, "convolution_forward_desc_init(\(name))")
        let args = g.hasBias ? [DnnlArg.src, DnnlArg.weights, DnnlArg.bias, DnnlArg.dst] : [DnnlArg.src, DnnlArg.weights, DnnlArg.dst]
        return withUnsafePointer(to: &desc) { DnnlPrimitive("forward \(name)", opDesc: $0, args: args) }
    }()
    lazy var forwardReorder: DnnlPrimitive? = reorder(for: forward, DnnlArg.weights, toUser: false)

    lazy var backwardData: DnnlPrimitive = {
        var dsrc = srcMD, w = weightsMD, ddst = dstMD
        let s = strides, d = dilates, p = padding
        var bd = dnnl_convolution_desc_t()
        Dnnl.check(dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &dsrc, &w, &ddst, s, d, p, p),
                   "convolution_backward_data_desc_init(\(name))")
        return withUnsafePointer(to: &bd) {
            DnnlPrimitive("backward data \(name)", opDesc: $0, hint: forward, args: [DnnlArg.diffDst, DnnlArg.weights, DnnlArg.diffSrc])
        }
    }()
    lazy var backwardDataReorder: DnnlPrimitive? = reorder(for: backwardData, DnnlArg.weights, toUser: false)

    lazy var backwardWeights: DnnlPrimitive = {
        var src = srcMD, dw = weightsMD, ddst = dstMD
        let db = biasMD
        let s = strides, d = dilates, p = padding
        var bw = dnnl_convolution_desc_t()
        let status = Dnnl.withOptional(g.hasBias ? db : nil) {
            dnnl_dilated_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &src, &dw, $0, &ddst, s, d, p, p)
        }
        Dnnl.check(status, "convolution_backward_weights_desc_init(\(name))")
        let args = g.hasBias ? [DnnlArg.src, DnnlArg.diffDst, DnnlArg.diffWeights, DnnlArg.diffBias] : [DnnlArg.src, DnnlArg.diffDst, DnnlArg.diffWeights]
        return withUnsafePointer(to: &bw) { DnnlPrimitive("backward weights \(name)", opDesc: $0, hint: forward, args: args) }
    }()
    lazy var backwardWeightsReorder: DnnlPrimitive? = reorder(for: backwardWeights, DnnlArg.diffWeights, toUser: true)

    /// A pooled scratch tensor large enough for a primitive's own weights layout (blocked layouts pad).
    private func scratch(for p: DnnlPrimitive, _ arg: Int32) -> Tensor {
        Tensor(uninitializedShape: [(Dnnl.byteSize(p.md(arg)) + 3) / 4])
    }

    /// Weights in the layout `p` wants (the ohwi tensor itself when they agree).
    private func weights(_ w: Tensor, for p: DnnlPrimitive, reorder: DnnlPrimitive?) -> Tensor {
        guard let reorder else { return w }
        let t = scratch(for: p, DnnlArg.weights)
        reorder.execute([w.raw, t.raw])
        return t
    }

    func runForward(_ x: Tensor, _ w: Tensor, _ bias: Tensor?) -> Tensor {
        let out = Tensor(uninitializedShape: g.dstShape)
        let wt = weights(w, for: forward, reorder: forwardReorder)
        if let bias { forward.execute([x.raw, wt.raw, bias.raw, out.raw]) } else { forward.execute([x.raw, wt.raw, out.raw]) }
        return out
    }

    func runBackwardData(_ dy: Tensor, _ w: Tensor) -> Tensor {
        let dx = Tensor(uninitializedShape: g.srcShape)
        let wt = weights(w, for: backwardData, reorder: backwardDataReorder)
        backwardData.execute([dy.raw, wt.raw, dx.raw])
        return dx
    }

    func runBackwardWeights(_ x: Tensor, _ dy: Tensor) -> (Tensor, Tensor?) {
        let dw = Tensor(uninitializedShape: g.weightShape)
        let db = g.hasBias ? Tensor(uninitializedShape: [g.cout]) : nil
        let target = backwardWeightsReorder == nil ? dw : scratch(for: backwardWeights, DnnlArg.diffWeights)
        if let db { backwardWeights.execute([x.raw, dy.raw, target.raw, db.raw]) } else { backwardWeights.execute([x.raw, dy.raw, target.raw]) }
        backwardWeightsReorder?.execute([target.raw, dw.raw])
        return (dw, db)
    }

    /// The plan for a geometry. Weight format: see `defaultFormat`.
    static func get(_ g: ConvGeometry, format: ConvWeightFormat? = nil) -> ConvPlan {
        let f = format ?? defaultFormat(g)
        return PrimitiveCache.get("conv2d", g.key + [f.rawValue]) { ConvPlan(g, format: f) }
    }

    /// oneDNN's chosen (blocked) weights plus a reorder per call, always: given plain ohwi weights
    /// oneDNN 2.6 has no fast kernel and picks `ref:any`, 100–1000× slower (vitlab-bench
    /// --compare), while reordering the small weight tensor costs a few µs.
    static func defaultFormat(_ g: ConvGeometry) -> ConvWeightFormat {
        ConvTuning.weightFormat.flatMap { ConvWeightFormat(rawValue: $0) } ?? .any
    }
}

// MARK: depthwise backward-weights kernel

/// dW[c, kh, kw] = Σ_{n,oh,ow} dy[n,oh,ow,c] · x[n, oh·sh − ph + kh·dh, ow·sw − pw + kw·dw, c], and
/// db[c] = Σ dy. A channel-vectorised reduction over N·OH·OW per tap: each thread takes a range
/// of output rows and accumulates into its own [KH·KW + 1, C] buffer, summed at the end.
/// For 5-wide kernels the output columns where all five taps fall inside the image run five
/// taps per dy load; the few edge columns run tap by tap. Rows in the vertical padding are
/// skipped. oneDNN's depthwise 5×5 backward-weights on NHWC takes a generic path 15× slower
/// than its forward.
func depthwiseWeightGrad(_ x: Tensor, _ dy: Tensor, _ g: ConvGeometry) -> (Tensor, Tensor?) {
    let c = g.cin, taps = g.kh * g.kw, oh = g.oh, ow = g.ow
    let rows = g.n * oh
    let threads = max(1, min(Engine.threads, rows))
    let accLen = (taps + 1) * c
    let partials = Tensor.zeros([threads, accLen])
    let xp = x.pointer, dyp = dy.pointer, accBase = partials.pointer
    // Valid output columns of tap kw: 0 ≤ o·sw − pw + kw·dw < iw.
    func validColumns(_ kw: Int) -> Range<Int> {
        let off = kw * g.dw - g.pw
        let lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw
        // Floor division: Swift's `/` truncates toward zero, which for a tap right of a small
        // image (iw − 1 − off < 0) would admit column 0 and read past the row (garbage, NaN).
        let last = g.iw - 1 - off
        let hi = last < 0 ? 0 : min(ow, last / g.sw + 1)
        return lo..<max(lo, hi)
    }
    let columns = (0..<g.kw).map(validColumns)
    // The five-tap paths serve 5-wide kernels of up to 7 rows (SeaFormer's 5×5); others go tap by tap.
    let interior = g.kw == 5 && g.kh <= 7 ? columns[0].lowerBound..<max(columns[0].lowerBound, columns[4].upperBound) : 0..<0
    runOnThreads(threads) { t, nt in
        let acc = accBase + t * accLen
        for row in (rows * t / nt)..<(rows * (t + 1) / nt) {
            let n = row / oh, y = row % oh
            let dyRow = dyp + (n * oh + y) * ow * c
            // Kernel rows inside the image; the interior columns take them two at a time (ten
            // independent accumulator chains keep both FMA units busy; five leave them waiting).
            var validRows: (Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0)
            var valid = 0
            if !interior.isEmpty {
                withUnsafeMutableBytes(of: &validRows) { raw in
                    let v = raw.baseAddress!.assumingMemoryBound(to: Int.self)
                    for kh in 0..<g.kh {
                        let iy = y * g.sh - g.ph + kh * g.dh
                        if iy >= 0 && iy < g.ih { v[valid] = kh; valid += 1 }
                    }
                    var i = 0
                    while i < valid {
                        let ka = v[i], kb = i + 1 < valid ? v[i + 1] : -1
                        let xa = xp + (n * g.ih + y * g.sh - g.ph + ka * g.dh) * g.iw * c - g.pw * c
                        if kb >= 0 {
                            let xb = xp + (n * g.ih + y * g.sh - g.ph + kb * g.dh) * g.iw * c - g.pw * c
                            tenTaps(acc + ka * g.kw * c, acc + kb * g.kw * c, dyRow, xa, xb, interior, g.sw * c, g.dw * c, c)
                        } else {
                            fiveTaps(acc + ka * g.kw * c, dyRow, xa, interior, g.sw * c, g.dw * c, c)
                        }
                        i += 2
                    }
                }
            }
            for kh in 0..<g.kh {
                let iy = y * g.sh - g.ph + kh * g.dh
                if iy < 0 || iy >= g.ih { continue }
                // x + o·xStep + (kw·dw − pw)·c is tap kw of output column o.
                let xRow = xp + (n * g.ih + iy) * g.iw * c
                let accRow = acc + kh * g.kw * c
                if interior.isEmpty {
                    for kw in 0..<g.kw {
                        let cols = columns[kw], xOff = (kw * g.dw - g.pw) * c
                        tapAccumulate(accRow + kw * c, dyRow, xRow, cols.lowerBound, cols.upperBound, g.sw * c, xOff, c)
                    }
                } else {
                    // The few edge columns where some taps fall in the padding: valid taps only.
                    var o = 0
                    while o < ow {
                        if o == interior.lowerBound { o = interior.upperBound; continue }
                        for kw in 0..<g.kw where columns[kw].contains(o) {
                            axpy(accRow + kw * c, dyRow + o * c, xRow + o * g.sw * c + (kw * g.dw - g.pw) * c, c)
                        }
                        o += 1
                    }
                }
            }
            if g.hasBias { rowSum(acc + taps * c, dyRow, ow, c) }
        }
    }
    // Sum the per-thread partials and transpose [tap, c] to ohwi's [c, tap].
    let dw = Tensor(uninitializedShape: g.weightShape)
    let db = g.hasBias ? Tensor(uninitializedShape: [c]) : nil
    let dwp = dw.pointer
    for ch in 0..<c {
        for tap in 0..<taps {
            var s: Float = 0
            for t in 0..<threads { s += accBase[t * accLen + tap * c + ch] }
            dwp[ch * taps + tap] = s
        }
        if let db {
            var s: Float = 0
            for t in 0..<threads { s += accBase[t * accLen + taps * c + ch] }
            db.pointer[ch] = s
        }
    }
    return (dw, db)
}

/// Five horizontal taps at once over output `columns` (all five taps inside the image): one dy
/// load feeds five products, so loads per product drop from 2 to 1.2. `x + o·xStep` is tap 0.
@inline(__always)
private func fiveTaps(_ acc: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                      _ columns: Range<Int>, _ xStep: Int, _ tapStep: Int, _ c: Int) {
    typealias V = SIMD16<Float>
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    @inline(__always) func add(_ p: UnsafeMutablePointer<Float>, _ v: V) {
        UnsafeMutableRawPointer(p).storeBytes(of: load(p) + v, as: V.self)
    }
    var cb = 0
    while cb + 16 <= c {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V()
        for o in columns {
            let d = load(dy + o * c + cb)
            let xb = x + o * xStep + cb
            a0 += d * load(xb)
            a1 += d * load(xb + tapStep)
            a2 += d * load(xb + 2 * tapStep)
            a3 += d * load(xb + 3 * tapStep)
            a4 += d * load(xb + 4 * tapStep)
        }
        add(acc + cb, a0); add(acc + c + cb, a1); add(acc + 2 * c + cb, a2); add(acc + 3 * c + cb, a3); add(acc + 4 * c + cb, a4)
        cb += 16
    }
    if cb < c {  // channel tail: one tap at a time
        for k in 0..<5 {
            tapAccumulateScalar(acc + k * c, dy, x, columns.lowerBound, columns.upperBound, xStep, k * tapStep, c, from: cb)
        }
    }
}

/// `fiveTaps` for two kernel rows at once: one dy load feeds ten products.
@inline(__always)
private func tenTaps(_ accA: UnsafeMutablePointer<Float>, _ accB: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>,
                     _ xA: UnsafeMutablePointer<Float>, _ xB: UnsafeMutablePointer<Float>,
                     _ columns: Range<Int>, _ xStep: Int, _ tapStep: Int, _ c: Int) {
    typealias V = SIMD16<Float>
    var cb = 0
    while cb + 16 <= c {
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V()
        var b0 = V(), b1 = V(), b2 = V(), b3 = V(), b4 = V()
        for o in columns {
            let d = load16(dy + o * c + cb)
            let pa = xA + o * xStep + cb, pb = xB + o * xStep + cb
            a0 += d * load16(pa); b0 += d * load16(pb)
            a1 += d * load16(pa + tapStep); b1 += d * load16(pb + tapStep)
            a2 += d * load16(pa + 2 * tapStep); b2 += d * load16(pb + 2 * tapStep)
            a3 += d * load16(pa + 3 * tapStep); b3 += d * load16(pb + 3 * tapStep)
            a4 += d * load16(pa + 4 * tapStep); b4 += d * load16(pb + 4 * tapStep)
        }
        @inline(__always) func add(_ p: UnsafeMutablePointer<Float>, _ v: V) { store16(p, load16(p) + v) }
        add(accA + cb, a0); add(accA + c + cb, a1); add(accA + 2 * c + cb, a2); add(accA + 3 * c + cb, a3); add(accA + 4 * c + cb, a4)
        add(accB + cb, b0); add(accB + c + cb, b1); add(accB + 2 * c + cb, b2); add(accB + 3 * c + cb, b3); add(accB + 4 * c + cb, b4)
        cb += 16
    }
    if cb < c {
        for k in 0..<5 {
            tapAccumulateScalar(accA + k * c, dy, xA, columns.lowerBound, columns.upperBound, xStep, k * tapStep, c, from: cb)
            tapAccumulateScalar(accB + k * c, dy, xB, columns.lowerBound, columns.upperBound, xStep, k * tapStep, c, from: cb)
        }
    }
}

/// acc[0..<c] += d[0..<c] · x[0..<c].
@inline(__always)
private func axpy(_ acc: UnsafeMutablePointer<Float>, _ d: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>, _ c: Int) {
    var i = 0
    while i + 16 <= c { store16(acc + i, load16(acc + i) + load16(d + i) * load16(x + i)); i += 16 }
    while i < c { acc[i] += d[i] * x[i]; i += 1 }
}

@inline(__always)
private func tapAccumulateScalar(_ acc: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                                 _ lo: Int, _ hi: Int, _ xStep: Int, _ xOff: Int, _ c: Int, from: Int) {
    for ch in from..<c {
        var s: Float = 0
        for o in lo..<hi { s += dy[o * c + ch] * x[o * xStep + xOff + ch] }
        acc[ch] += s
    }
}

/// acc[0..<c] += Σ_{o in lo..<hi} dy[o·c ..< o·c + c] * x[o·xStep + xOff ..< … + c]. Four output
/// columns at a time into four 16-wide register accumulators: independent FMA chains (one chain
/// would wait on the FMA latency every step), two loads per FMA, no stores in the loop.
@inline(__always)
private func tapAccumulate(_ acc: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ x: UnsafeMutablePointer<Float>,
                           _ lo: Int, _ hi: Int, _ xStep: Int, _ xOff: Int, _ c: Int) {
    typealias V = SIMD16<Float>
    @inline(__always) func load(_ p: UnsafeMutablePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
    var cb = 0
    while cb + 16 <= c {
        var s0 = V(), s1 = V(), s2 = V(), s3 = V()
        let d = dy + cb, xs = x + xOff + cb
        var o = lo
        while o + 4 <= hi {
            s0 += load(d + o * c) * load(xs + o * xStep)
            s1 += load(d + (o + 1) * c) * load(xs + (o + 1) * xStep)
            s2 += load(d + (o + 2) * c) * load(xs + (o + 2) * xStep)
            s3 += load(d + (o + 3) * c) * load(xs + (o + 3) * xStep)
            o += 4
        }
        while o < hi {
            s0 += load(d + o * c) * load(xs + o * xStep)
            o += 1
        }
        let a = UnsafeMutableRawPointer(acc + cb)
        a.storeBytes(of: a.loadUnaligned(as: V.self) + ((s0 + s1) + (s2 + s3)), as: V.self)
        cb += 16
    }
    tapAccumulateScalar(acc, dy, x, lo, hi, xStep, xOff, c, from: cb)
}

@inline(__always)
private func rowSum(_ acc: UnsafeMutablePointer<Float>, _ dy: UnsafeMutablePointer<Float>, _ ow: Int, _ c: Int) {
    for o in 0..<ow {
        let d = dy + o * c
        for ch in 0..<c { acc[ch] += d[ch] }
    }
}

// MARK: public ops

/// Which implementation computes depthwise backward-weights for a geometry: ours for kernels of
/// 5×5 and larger (oneDNN's generic path there is 15× its forward), oneDNN's `jit_dw` otherwise.
func usesOwnDepthwiseWeightGrad(_ g: ConvGeometry) -> Bool {
    g.isDepthwise && (ConvTuning.ownDepthwiseWeightGrad ?? (g.kh * g.kw >= 25))
}

/// Overrides of the implementation choices, for the benchmark's comparisons (nil = default).
@_spi(Bench) public enum ConvTuning {
    /// 0: plain ohwi weights, 1: oneDNN's chosen layout with a reorder per call.
    nonisolated(unsafe) public static var weightFormat: Int?
    /// Force (true) or forbid (false) our depthwise backward-weights kernel.
    nonisolated(unsafe) public static var ownDepthwiseWeightGrad: Bool?
}

func conv2dImpl(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                groups: Int, op: String) -> Tensor {
    precondition(x.rank == 4, "\(op): input must be NHWC [N, H, W, C], got \(x.shape)")
    precondition(weight.rank == 4, "\(op): weight must be ohwi [Cout, KH, KW, Cin/groups], got \(weight.shape)")
    precondition(groups >= 1 && x.shape[3] % groups == 0 && weight.shape[0] % groups == 0,
                 "\(op): groups \(groups) must divide input channels \(x.shape[3]) and output channels \(weight.shape[0])")
    precondition(weight.shape[3] * groups == x.shape[3],
                 "\(op): weight \(weight.shape) expects \(weight.shape[3] * groups) input channels (Cin/groups × groups), input \(x.shape) has \(x.shape[3])")
    precondition(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                 "\(op): stride \(stride) and dilation \(dilation) must be >= 1, padding \(padding) >= 0")
    if let bias { precondition(bias.shape == [weight.shape[0]], "\(op): bias shape \(bias.shape), expected [\(weight.shape[0])]") }
    let g = ConvGeometry(n: x.shape[0], ih: x.shape[1], iw: x.shape[2], cin: x.shape[3], cout: weight.shape[0],
                         kh: weight.shape[1], kw: weight.shape[2], sh: stride.0, sw: stride.1, ph: padding.0, pw: padding.1,
                         dh: dilation.0, dw: dilation.1, groups: groups, hasBias: bias != nil)
    precondition(g.oh >= 1 && g.ow >= 1, "\(op): input \(x.shape) is smaller than the dilated kernel \(weight.shape) with padding \(padding)")
    let plan = ConvPlan.get(g)
    let out = plan.runForward(x, weight, bias)
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return out.record(inputs: inputs, name: op) { dy in
        let dx = x.requiresGrad ? plan.runBackwardData(dy, weight) : nil
        var dw: Tensor?, db: Tensor?
        if weight.requiresGrad || (bias?.requiresGrad ?? false) {
            (dw, db) = usesOwnDepthwiseWeightGrad(g) ? depthwiseWeightGrad(x, dy, g) : plan.runBackwardWeights(x, dy)
        }
        return bias == nil ? [dx, dw] : [dx, dw, db]
    }
}

/// 2-D convolution (cross-correlation, as torch.nn.functional.conv2d) on NHWC input `x [N, H, W, Cin]`
/// with ohwi `weight [Cout, KH, KW, Cin/groups]` and optional `bias [Cout]`; returns `[N, OH, OW, Cout]`,
/// `OH = (H + 2·padding − dilation·(KH − 1) − 1) / stride + 1`.
public func conv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                   groups: Int = 1) -> Tensor {
    countConv(conv2dImpl(x, weight, bias, stride: (stride, stride), padding: (padding, padding), dilation: (dilation, dilation), groups: groups, op: "conv2d"), weight, bias)
}

/// `conv2d` with per-axis (height, width) stride, symmetric padding and dilation.
public func conv2d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int), padding: (Int, Int) = (0, 0),
                   dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
    countConv(conv2dImpl(x, weight, bias, stride: stride, padding: padding, dilation: dilation, groups: groups, op: "conv2d"), weight, bias)
}

/// Model summaries: each output element costs Cin/groups·KH·KW MACs, plus one add for a bias.
@inline(__always)
private func countConv(_ out: Tensor, _ weight: Tensor, _ bias: Tensor?) -> Tensor {
    CostTrace.add(.convMACs, out.count * (weight.count / weight.shape[0]))
    if bias != nil { CostTrace.add(.convBias, out.count) }
    return out
}

/// 1-D convolution on channels-last `x [N, L, Cin]` with owi `weight [Cout, K, Cin/groups]` and
/// optional `bias [Cout]`; returns `[N, OL, Cout]` (torch.nn.functional.conv1d's semantics).
public func conv1d(_ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                   groups: Int = 1) -> Tensor {
    precondition(x.rank == 3, "conv1d: input must be [N, L, C], got \(x.shape)")
    precondition(weight.rank == 3, "conv1d: weight must be owi [Cout, K, Cin/groups], got \(weight.shape)")
    let y = conv2dImpl(x.reshape([x.shape[0], 1, x.shape[1], x.shape[2]]), weight.reshape([weight.shape[0], 1, weight.shape[1], weight.shape[2]]),
                       bias, stride: (1, stride), padding: (0, padding), dilation: (1, dilation), groups: groups, op: "conv1d")
    _ = countConv(y, weight, bias)
    return y.reshape([y.shape[0], y.shape[2], y.shape[3]])
}

/// Converts a PyTorch conv weight to the engine's layout: OIHW `[Cout, Cin/g, KH, KW]` → ohwi
/// `[Cout, KH, KW, Cin/g]`, or OIW → owi for conv1d. A copy for checkpoint loading (not recorded).
public func convWeightFromOIHW(_ w: Tensor) -> Tensor {
    precondition(w.rank == 4 || w.rank == 3, "convWeightFromOIHW: expected OIHW [Cout, Cin/g, KH, KW] or OIW, got \(w.shape)")
    let o = w.shape[0], i = w.shape[1], kh = w.rank == 4 ? w.shape[2] : 1, kw = w.shape[w.rank - 1]
    let out = Tensor(uninitializedShape: w.rank == 4 ? [o, kh, kw, i] : [o, kw, i])
    let s = w.pointer, d = out.pointer
    for a in 0..<o { for b in 0..<i { for y in 0..<kh { for x in 0..<kw {
        d[((a * kh + y) * kw + x) * i + b] = s[((a * i + b) * kh + y) * kw + x]
    } } } }
    return out
}

/// The oneDNN implementation name chosen for a pass ("forward", "backwardData", "backwardWeights")
/// of a convolution geometry, e.g. "brgconv:avx512_core"; for tests and benchmarks.
@_spi(Bench) public func convImplementation(input: [Int], weight: [Int], stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1,
                        bias: Bool = false, pass: String = "forward") -> String {
    let g = ConvGeometry(n: input[0], ih: input[1], iw: input[2], cin: input[3], cout: weight[0], kh: weight[1], kw: weight[2],
                         sh: stride, sw: stride, ph: padding, pw: padding, dh: dilation, dw: dilation, groups: groups, hasBias: bias)
    let plan = ConvPlan.get(g)
    switch pass {
    case "forward": return plan.forward.implName
    case "backwardData": return plan.backwardData.implName
    case "backwardWeights": return usesOwnDepthwiseWeightGrad(g) ? "vitlab:depthwise_wgrad" : plan.backwardWeights.implName
    default: preconditionFailure("convImplementation: unknown pass \(pass)")
    }
}

/// Our depthwise backward-weights kernel on its own (square kernel, bias gradient included), for
/// the benchmark; returns the ohwi weight gradient.
@_spi(Bench) public func depthwiseWeightGradient(_ x: Tensor, _ dy: Tensor, kernel: Int, stride: Int, padding: Int) -> Tensor {
    let g = ConvGeometry(n: x.shape[0], ih: x.shape[1], iw: x.shape[2], cin: x.shape[3], cout: x.shape[3], kh: kernel, kw: kernel,
                         sh: stride, sw: stride, ph: padding, pw: padding, dh: 1, dw: 1, groups: x.shape[3], hasBias: true)
    precondition(dy.shape == g.dstShape, "depthwiseWeightGradient: dy \(dy.shape), expected \(g.dstShape)")
    return depthwiseWeightGrad(x, dy, g).0
}

// MARK: unfold / fold (im2col and its adjoint)

/// Output grid of a k×k window sliding with `stride` over an `inSize` map padded by `padding`.
private func unfoldGrid(_ inSize: (Int, Int), kernel: Int, padding: Int, stride: Int) -> (Int, Int) {
    ((inSize.0 + 2 * padding - kernel) / stride + 1, (inSize.1 + 2 * padding - kernel) / stride + 1)
}

/// Gathers (`unfold`) or scatter-adds (`fold`) between an NHWC map [N, H, W, C] and its
/// columns [N, OH, OW, C·k·k]; column index c·k·k + ki·k + kj, PyTorch's `nn.Unfold` order at each
/// window. Out-of-map taps read 0 (unfold) or are dropped (fold).
private func im2col(_ map: UnsafeMutablePointer<Float>, _ cols: UnsafeMutablePointer<Float>, N: Int, H: Int, W: Int, C: Int,
                    OH: Int, OW: Int, kernel k: Int, padding p: Int, stride s: Int, scatter: Bool) {
    let kk = k * k
    // Folding adds overlapping windows into one map: split by sample only, so no two threads write one pixel.
    parallelFor(scatter ? N : N * OH, grain: 1) { r in
        for row in r {
            let rows = scatter ? (0..<OH) : (row % OH)..<(row % OH + 1)
            let n = scatter ? row : row / OH
            for oh in rows {
                for ow in 0..<OW {
                    let col = cols + ((n * OH + oh) * OW + ow) * C * kk
                    for ki in 0..<k {
                        let ih = oh * s - p + ki
                        for kj in 0..<k {
                            let iw = ow * s - p + kj
                            let inside = ih >= 0 && ih < H && iw >= 0 && iw < W
                            let tap = ki * k + kj
                            if scatter {
                                guard inside else { continue }
                                let m = map + ((n * H + ih) * W + iw) * C
                                for c in 0..<C { m[c] += col[c * kk + tap] }
                            } else if inside {
                                let m = map + ((n * H + ih) * W + iw) * C
                                for c in 0..<C { col[c * kk + tap] = m[c] }
                            } else {
                                for c in 0..<C { col[c * kk + tap] = 0 }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `nn.Unfold(kernel, padding, stride)` on NHWC `x` [N, H, W, C] → [N, OH, OW, C·k·k] (each
/// window's values, channel-major as PyTorch's `unfold` lays them out), OH = ⌊(H + 2p − k)/s⌋ + 1.
/// Its derivative is `fold`. Not counted in model summaries (mmcv has no hook for it).
public func unfold2d(_ x: Tensor, kernel: Int, padding: Int = 0, stride: Int = 1) -> Tensor {
    precondition(x.rank == 4 && kernel > 0 && stride > 0 && padding >= 0, "unfold2d: expected NHWC input and a positive kernel/stride, got \(x.shape)")
    let (N, H, W, C) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (OH, OW) = unfoldGrid((H, W), kernel: kernel, padding: padding, stride: stride)
    precondition(OH > 0 && OW > 0, "unfold2d: a \(kernel)×\(kernel) window does not fit a \(H)×\(W) map with padding \(padding)")
    let out = Tensor(uninitializedShape: [N, OH, OW, C * kernel * kernel])
    im2col(x.pointer, out.pointer, N: N, H: H, W: W, C: C, OH: OH, OW: OW, kernel: kernel, padding: padding, stride: stride, scatter: false)
    return out.record(inputs: [x], name: "unfold2d") { g in
        [fold2d(g, outputSize: (H, W), kernel: kernel, padding: padding, stride: stride)]
    }
}

/// `F.fold(cols, output_size, kernel, padding, stride)` on channels-last columns [N, OH, OW, C·k·k]
/// → NHWC [N, H, W, C]: every window's values are added back where `unfold2d` read them
/// (overlaps sum). Its derivative is `unfold2d`. Not counted in model summaries.
public func fold2d(_ cols: Tensor, outputSize: (Int, Int), kernel: Int, padding: Int = 0, stride: Int = 1) -> Tensor {
    let (H, W) = outputSize
    let (OH, OW) = unfoldGrid((H, W), kernel: kernel, padding: padding, stride: stride)
    precondition(cols.rank == 4 && cols.shape[1] == OH && cols.shape[2] == OW && cols.shape[3] % (kernel * kernel) == 0,
                 "fold2d: columns \(cols.shape) do not fit a \(kernel)×\(kernel) window grid \(OH)×\(OW) over \(H)×\(W)")
    let N = cols.shape[0], C = cols.shape[3] / (kernel * kernel)
    let out = Tensor.zeros([N, H, W, C])
    im2col(out.pointer, cols.pointer, N: N, H: H, W: W, C: C, OH: OH, OW: OW, kernel: kernel, padding: padding, stride: stride, scatter: true)
    return out.record(inputs: [cols], name: "fold2d") { g in
        [unfold2d(g, kernel: kernel, padding: padding, stride: stride)]
    }
}
