import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// XFormer against spec/xformer.md §1–2, §5 and `xformer_count.py` (every expected figure is the
/// counter's exact integer). The counter's classifier MACs include the global pooling (H·W·640
/// adds); the cost trace's `macs` counts convs, linears and matmuls only, so the classifier
/// rows subtract that term. Interpolations count in neither.
final class XFormerModelTests: XCTestCase {
    /// Building the 5.5 M-parameter model dominates a debug run (≈4 s, mostly initialisation),
    /// so the tests share one; the variants are counted by building only the modules that differ.
    nonisolated(unsafe) static let shared = XFormerClassifier(backbone: XFormerBackbone())

    func parameters(_ m: Module, under prefix: String) -> Int {
        m.namedParameters().filter { $0.0.hasPrefix(prefix + ".") }.reduce(0) { $0 + $1.1.count }
    }

    /// The modules of `backbone` of one kind (every MV3 block, every attention slot).
    func modules<T>(_ m: Module, _ type: T.Type) -> [Module] { m.namedModules().map(\.1).filter { $0 is T } }
    func count(_ ms: [Module]) -> Int { ms.reduce(0) { $0 + $1.parameterCount } }

    /// The attention layers a config builds for XFormer's 2 + 3 + 4 slots at `size`.
    func attentionLayers(_ config: any AttentionConfig, size: (Int, Int)) -> [Module] {
        let a = XFormerArchitecture()
        return zip(a.attentionShapes(imageSize: size), a.depths).flatMap { shape, depth in (0..<depth).map { _ in config.build(shape) as Module } }
    }

    /// §5.2: totals and the stage breakdown of the full model; the MHSA variant, 4-head XFA, the
    /// 256 grid, the SE widths and the SegFormer segmentor (§2.1) at the Cityscapes sizes by
    /// swapping the parameters of the modules that differ (each built as the backbone builds it).
    func testParameterCountsEqualTheCounter() throws {
        let model = Self.shared
        XCTAssertEqual(model.parameterCount, 5_456_272, "XFormer @224")
        let stages = ["conv_1": 464, "layer_1": 4_548, "layer_2": 105_640, "layer_3": 610_234, "layer_4": 1_272_238,
                      "layer_5": 2_718_468, "conv_1x1_exp": 103_680, "classifier": 641_000]
        for (prefix, count) in stages { XCTAssertEqual(parameters(model, under: prefix), count, prefix) }
        let xfaOwn = model.namedParameters().filter { [".w_f", ".w_c", ".temperature"].contains(where: $0.0.hasSuffix) }
        XCTAssertEqual(xfaOwn.reduce(0) { $0 + $1.1.count }, 603 + 864 + 9, "w_c + w_f + λ @224")

        let xfa = count(modules(model, CrossFeatureAttention.self))
        XCTAssertEqual(xfa, count(attentionLayers(XFAConfig(), size: (224, 224))))
        let rest = model.parameterCount - xfa
        XCTAssertEqual(rest + count(attentionLayers(XFAConfig(), size: (256, 256))), 5_456_437, "@256: w_c follows N")
        XCTAssertEqual(rest + count(attentionLayers(MHSAConfig(), size: (224, 224))), 5_454_796, "XFormer-MHSA (§1.7)")
        XCTAssertEqual(rest + count(attentionLayers(XFAConfig(heads: 4), size: (224, 224))), 5_456_299, "XFA with 4 heads (A6)")

        let blocks = modules(model, MV3Block.self).map { $0 as! MV3Block }
        let mv3 = count(blocks)
        for (width, total) in [(SqueezeWidth.none, 5_375_964), (.hiddenQuarter, 5_691_628), (.hiddenEighth, 5_534_724)] {
            let swapped = blocks.map { b in
                MV3Block(b.expand.conv.inChannels, b.reduce.conv.outChannels, stride: b.depthwise.conv.stride.0, squeeze: width) as Module
            }
            XCTAssertEqual(model.parameterCount - mv3 + count(swapped), total, "SE \(width)")
        }
        let backbone = model.parameterCount - parameters(model, under: "classifier")
        let head = AllMLPHead(inChannels: [64, 96, 128, 640], embedDim: 256, numClasses: 19, projection: .convModule)
        for (size, total) in [((1024, 2048), 5_346_400), ((1024, 1024), 5_334_112)] {
            XCTAssertEqual(backbone - xfa + count(attentionLayers(XFAConfig(), size: size)) + head.parameterCount, total,
                           "SegFormer head @\(size) (Table 5: 5.3 M)")
        }
    }

    /// §5.3: 1.319 G MACs @224 in one traced forward, its attention core, the model at 64², the
    /// MHSA core per layer, and the segmentor at 64×128 — the counter's formula at a size cheap
    /// in a debug build (w_c resampling is neither a MAC nor a parameter change for the trace).
    /// The 1024×2048 segmentor (92.53 G) is traced with VITLAB_FULL_FLOPS=1.
    func testMACsEqualTheCounter() throws {
        let model = Self.shared
        model.eval()
        func trace(_ size: Int) -> CostTrace {
            let (logits, t) = CostTrace.trace { model(Tensor.zeros([1, size, size, 3])) }
            XCTAssertEqual(logits.shape, [1, 1000])
            return t
        }
        let t224 = trace(224)
        XCTAssertEqual(t224.macs(), 1_319_221_760 - 7 * 7 * 640, "XFormer @224 (1.319 G)")
        XCTAssertEqual(t224.total(.matmulMACs), 23_255_424, "XFA core @224")
        let t64 = trace(64)
        XCTAssertEqual(t64.macs(), 106_465_280 - 2 * 2 * 640, "XFormer @64")
        XCTAssertEqual(t64.total(.matmulMACs), 2_156_544)
        // MHSA core: 2·N²·D per sequence; the model total is the counter's (1.361 G @224).
        for (n, e) in [(196, 144), (49, 192), (16, 240)] {
            let mhsa = MHSAConfig().build(AttentionShape(dim: e, keyDim: 24, heads: 4, attnRatio: 1))
            let side = Int(Double(n).squareRoot())
            let (_, t) = CostTrace.trace { mhsa(Tensor.zeros([4, side, side, e])) }
            XCTAssertEqual(t.total(.matmulMACs), 4 * 2 * n * n * 96, "MHSA core, N = \(n)")
            XCTAssertEqual(t.total(.linearMACs), 4 * n * (e * 288 + 96 * e))
        }
        var sizes: [((Int, Int), Int)] = [((64, 128), 361_837_056)]
        if ProcessInfo.processInfo.environment["VITLAB_FULL_FLOPS"] == "1" { sizes.append(((1024, 2048), 92_525_707_776)) }
        let head = AllMLPHead(inChannels: [64, 96, 128, 640], embedDim: 256, numClasses: 19, projection: .convModule)
        let seg = try EncoderDecoder(backbone: model.backbone, head: head, numClasses: 19)
        seg.eval()
        for (size, macs) in sizes {
            let (logits, t) = CostTrace.trace { seg.logits(Tensor.zeros([1, size.0, size.1, 3])) }
            XCTAssertEqual(logits.shape, [1, size.0 / 4, size.1 / 4, 19])
            XCTAssertEqual(t.macs(), macs, "segmentor @\(size)")
        }
    }

    /// §5.7: feature maps at strides 4/8/16/32 (64, 96, 128, 640 ch), sizes the strides do not
    /// divide (⌈X/2⌉ per stride-2 conv, odd XF maps resized to even for the unfold), the stage
    /// sizes at 224/256/512/1024 from the architecture and a forward at 256.
    func testShapesAt224256512AndASizeThatDoesNotDivide() throws {
        let a = XFormerArchitecture()
        XCTAssertTrue(a.xfStageSizes(height: 224, width: 224).elementsEqual([(28, 28), (14, 14), (7, 7)], by: ==))
        XCTAssertTrue(a.xfStageSizes(height: 512, width: 512).elementsEqual([(64, 64), (32, 32), (16, 16)], by: ==))
        XCTAssertTrue(a.xfStageSizes(height: 1024, width: 1024).elementsEqual([(128, 128), (64, 64), (32, 32)], by: ==))
        XCTAssertEqual(a.attentionShapes(imageSize: (224, 224)).map { $0.tokenGrid! }, [[14, 14], [7, 7], [4, 4]], "N = 196, 49, 16")
        XCTAssertEqual(a.attentionShapes(imageSize: (256, 256)).map { $0.tokenGrid! }, [[16, 16], [8, 8], [4, 4]])
        let backbone = Self.shared.backbone
        backbone.eval()
        XCTAssertEqual(backbone.featureInfo.map(\.stride), [4, 8, 16, 32])
        XCTAssertEqual(backbone.featureInfo.map(\.module), ["layer_2", "layer_3", "layer_4", "conv_1x1_exp"])
        for (h, w) in [(256, 256), (70, 90), (96, 96)] {
            let x = Tensor.normal([1, h, w, 3], generator: RandomGenerator(seed: 1))
            let features = withNoGrad { backbone.features(x) }
            // Every stride-2 conv gives ⌈X/2⌉.
            func halved(_ x: Int, _ times: Int) -> Int { (0..<times).reduce(x) { r, _ in (r + 1) / 2 } }
            let expected = zip([2, 3, 4, 5], [64, 96, 128, 640]).map { [1, halved(h, $0.0), halved(w, $0.0), $0.1] }
            XCTAssertEqual(features.map(\.shape), expected, "\(h)×\(w)")
            XCTAssertTrue(features.allSatisfy { $0.toArray().allSatisfy(\.isFinite) }, "\(h)×\(w): finite")
        }
    }

    /// §1.1: the exact index mapping (sequence ph·2+pw, token nh·nw row-major), fold∘unfold =
    /// identity on even maps, and odd maps resized to even and back.
    func testUnfoldFoldIndexMapping() {
        let (h, w, c) = (4, 6, 2)
        let x = Tensor((0..<(h * w * c)).map(Float.init), shape: [1, h, w, c])
        let t = PatchUnfold.unfold(x)
        XCTAssertEqual(t.shape, [4, 2, 3, 2])
        let tv = t.toArray(), xv = x.toArray()
        for ph in 0..<2 { for pw in 0..<2 { for nh in 0..<2 { for nw in 0..<3 { for ch in 0..<c {
            let seq = ph * 2 + pw, token = nh * 3 + nw
            XCTAssertEqual(tv[(seq * 6 + token) * c + ch], xv[((nh * 2 + ph) * w + nw * 2 + pw) * c + ch])
        } } } } }
        XCTAssertEqual(PatchUnfold.fold(t, height: h, width: w).toArray(), xv)
        let odd = Tensor.normal([2, 7, 5, 3], generator: RandomGenerator(seed: 2))
        let u = PatchUnfold.unfold(odd)
        XCTAssertEqual(u.shape, [8, 4, 3, 3])
        XCTAssertEqual(PatchUnfold.fold(u, height: 7, width: 5).shape, [2, 7, 5, 3])
    }

    /// Eq. 5 literally, by loops over one sequence: q̂, k̂ per token, k_f = k̂·w_f, k_c = Σ w_c k̂,
    /// a = q̂ᵀ k_f, A = λ a k_cᵀ (rank 1), O = V·A; and the factorised order gives the same output.
    func testXFAMatchesTheEquationsAndTheFactorisedOrder() {
        RandomGenerator.manualSeed(5)
        let (e, d, h, w) = (6, 4, 2, 3)
        let attn = CrossFeatureAttention(dim: e, qkvDim: d, context: .learned, referenceGrid: (h, w))
        attn.contextKernel!.assign(from: Tensor.uniform([h * w], generator: RandomGenerator(seed: 9)))
        attn.temperature.assign(from: Tensor([0.7], shape: [1]))
        let x = Tensor.normal([1, h, w, e], generator: RandomGenerator(seed: 3))
        let y = withNoGrad { attn(x) }.toArray()
        // Literal reference.
        let n = h * w
        let qkv = withNoGrad { attn.qkvProj(x) }.toArray()
        func row(_ i: Int, _ part: Int) -> [Float] { (0..<d).map { qkv[i * 3 * d + part * d + $0] } }
        func unit(_ v: [Float]) -> [Float] { let s = Swift.max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12); return v.map { $0 / s } }
        let q = (0..<n).map { unit(row($0, 0)) }, k = (0..<n).map { unit(row($0, 1)) }, v = (0..<n).map { row($0, 2) }
        let wf = attn.featureKernel.toArray(), wc = attn.contextKernel!.toArray()
        let kf = k.map { kr in zip(kr, wf).reduce(0) { $0 + $1.0 * $1.1 } }
        var kc = [Float](repeating: 0, count: d), a = [Float](repeating: 0, count: d)
        for t in 0..<n { for i in 0..<d { kc[i] += wc[t] * k[t][i]; a[i] += q[t][i] * kf[t] } }
        var o = [Float](repeating: 0, count: n * d)
        for t in 0..<n { for j in 0..<d { for i in 0..<d { o[t * d + j] += v[t][i] * 0.7 * a[i] * kc[j] } } }
        let expected = withNoGrad { attn.outProj(Tensor(o, shape: [1, h, w, d])) }.toArray()
        for (u, r) in zip(y, expected) { XCTAssertEqual(u, r, accuracy: 1e-5) }
        attn.evaluation = .factorised
        let factorised = withNoGrad { attn(x) }.toArray()
        let scale = y.map(abs).max()!
        for (u, f) in zip(y, factorised) { XCTAssertEqual(u, f, accuracy: 1e-5 * scale) }

        // norm_axis: token (XCiT's): each feature column of q and k normalised over the N tokens.
        let byToken = CrossFeatureAttention(dim: e, qkvDim: d, context: .mean, normAxis: .token)
        let raw = withNoGrad { byToken.qkvProj(x) }.toArray()
        func column(_ part: Int, _ i: Int) -> [Float] { (0..<n).map { raw[$0 * 3 * d + part * d + i] } }
        let qc = (0..<d).map { unit(column(0, $0)) }, kc2 = (0..<d).map { unit(column(1, $0)) }   // [feature][token]
        let v2 = (0..<n).map { t in (0..<d).map { raw[t * 3 * d + 2 * d + $0] } }
        let wf2 = byToken.featureKernel.toArray()
        let kf2 = (0..<n).map { t in (0..<d).reduce(Float(0)) { $0 + kc2[$1][t] * wf2[$1] } }
        let kctx = (0..<d).map { i in kc2[i].reduce(0, +) / Float(n) }
        let a2 = (0..<d).map { i in (0..<n).reduce(Float(0)) { $0 + qc[i][$1] * kf2[$1] } }
        var o2 = [Float](repeating: 0, count: n * d)
        for t in 0..<n { for j in 0..<d { for i in 0..<d { o2[t * d + j] += v2[t][i] * a2[i] * kctx[j] } } }
        let expected2 = withNoGrad { byToken.outProj(Tensor(o2, shape: [1, h, w, d])) }.toArray()
        for (u, r) in zip(withNoGrad { byToken(x) }.toArray(), expected2) { XCTAssertEqual(u, r, accuracy: 1e-5) }
    }

    /// A4: at another grid w_c is resized bilinearly and rescaled by N_ref/N (Σ w_c kept); at the
    /// reference grid it is the kernel itself; `mean` is 1/N.
    func testContextKernelResamplesToOtherGrids() {
        let attn = CrossFeatureAttention(dim: 8, qkvDim: 4, referenceGrid: (2, 3))
        attn.contextKernel!.assign(from: Tensor([1, 2, 3, 4, 5, 6], shape: [6]))
        XCTAssertEqual(attn.contextWeights(height: 2, width: 3).toArray(), [1, 2, 3, 4, 5, 6])
        let resized = attn.contextWeights(height: 4, width: 6)
        XCTAssertEqual(resized.shape, [1, 1, 1, 24])
        XCTAssertEqual(resized.toArray().reduce(0, +), 21, accuracy: 1e-4)
        XCTAssertEqual(CrossFeatureAttention(dim: 8, qkvDim: 4, context: .mean).contextWeights(height: 2, width: 2).toArray(), [0.25, 0.25, 0.25, 0.25])
        XCTAssertEqual(withNoGrad { attn(Tensor.normal([2, 5, 7, 8], generator: RandomGenerator(seed: 1))) }.shape, [2, 5, 7, 8])
    }

    func testStatePaths() {
        let model = Self.shared
        let shapes = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.0, $0.1.shape) })
        let expected: [String: [Int]] = [
            "conv_1.conv.weight": [16, 3, 3, 3], "conv_1.bn.weight": [16],
            "layer_1.0.exp_1x1.conv.weight": [64, 1, 1, 16], "layer_1.0.conv_3x3.conv.weight": [64, 3, 3, 1],
            "layer_1.0.se.fc1.weight": [4, 1, 1, 64], "layer_1.0.se.fc2.bias": [64], "layer_1.0.red_1x1.bn.bias": [32],
            "layer_3.0.exp_1x1.conv.weight": [256, 1, 1, 64],
            "layer_3.1.local_rep.conv_3x3.conv.weight": [96, 3, 3, 96], "layer_3.1.local_rep.conv_1x1.weight": [144, 1, 1, 96],
            "layer_3.1.global_rep.0.norm1.weight": [144], "layer_3.1.global_rep.0.attn.qkv_proj.weight": [288, 144],
            "layer_3.1.global_rep.0.attn.w_f": [1, 96], "layer_3.1.global_rep.0.attn.w_c": [196],
            "layer_3.1.global_rep.0.attn.temperature": [1], "layer_3.1.global_rep.0.attn.out_proj.weight": [144, 96],
            "layer_3.1.global_rep.1.mlp.fc1.weight": [288, 144], "layer_3.1.global_rep.2.weight": [144],
            "layer_3.1.conv_proj.conv.weight": [96, 1, 1, 144], "layer_3.1.fusion.conv.weight": [96, 3, 3, 192],
            "layer_5.1.global_rep.3.mlp.fc1.weight": [720, 240], "layer_5.1.global_rep.0.attn.w_c": [16],
            "conv_1x1_exp.conv.weight": [640, 1, 1, 160], "classifier.fc.weight": [1000, 640],
        ]
        for (path, shape) in expected { XCTAssertEqual(shapes[path], shape, path) }
        XCTAssertNil(shapes["layer_3.1.local_rep.conv_1x1.bias"], "the 1×1 to E has no bias")
    }

    /// Bad values are config errors located at their key, never a crash in a forward pass.
    func testConfigErrorsNameTheirKey() throws {
        let shapes = XFormerArchitecture().attentionShapes(imageSize: (224, 224))
        let five = try attentionConfig(#"{"type": "xfa", "heads": 5}"#)
        XCTAssertThrowsError(try five.check(shapes[0])) {
            XCTAssertEqual("\($0)", "heads: xfa splits the stage's 96-wide q-k-v into 5 heads, but 5 does not divide 96")
        }
        let learned = try attentionConfig(#"{"type": "xfa"}"#)
        for shape in MiTVariant.b0.architecture.attentionShapes {
            XCTAssertThrowsError(try learned.check(shape)) { XCTAssertTrue("\($0)".hasPrefix("context: xfa's learned context kernel"), "\($0)") }
        }
        XCTAssertThrowsError(try attentionConfig(#"{"type": "xfa", "heads": 0}"#)) { XCTAssertTrue("\($0)".hasPrefix("heads:"), "\($0)") }
        XCTAssertThrowsError(try attentionConfig(#"{"type": "xfa", "norm_axis": "depth"}"#)) { XCTAssertTrue("\($0)".contains("norm_axis"), "\($0)") }
        for type in ["xfa", "mhsa"] {
            let config = try attentionConfig(trainableAttentionJSON(type))
            for shape in MiTVariant.b0.architecture.attentionShapes + SeaFormerBackbone.attentionShapes(SeaFormerVariant.tiny.architecture) + shapes {
                XCTAssertNoThrow(try config.check(shape), "\(type) serves \(shape)")
            }
        }
    }
}
