import TestSupport
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// A stand-in for SeaFormer-T's backbone: strided ConvBNs with T's output layout
/// ([32, 128, 160] at 1/8, 1/32, 1/64; stride-2 convs give ceil(H/2) as the real one does).
final class FakeTinyBackbone: Module, Backbone {
    let toEighth: Sequential, toThirtySecond: Sequential, toSixtyFourth: ConvBN
    let featureInfo = [FeatureInfo(channels: 32, stride: 8, module: "a"), FeatureInfo(channels: 128, stride: 32, module: "b"),
                       FeatureInfo(channels: 160, stride: 64, module: "c")]

    init(generator: RandomGenerator) {
        func down(_ a: Int, _ b: Int) -> ConvBN {
            ConvBN(a, b, kernel: 3, stride: 2, padding: 1, activation: .relu, generator: generator)
        }
        toEighth = Sequential([down(3, 16), down(16, 32), down(32, 32)])
        toThirtySecond = Sequential([down(32, 64), down(64, 128)])
        toSixtyFourth = down(128, 160)
    }

    override var children: [(String, Module)] {
        [("smb1", toEighth), ("smb2", toThirtySecond), ("smb3", toSixtyFourth)]
    }

    func features(_ x: Tensor) -> [Tensor] {
        let a = toEighth(x), b = toThirtySecond(a), c = toSixtyFourth(b)
        return [a, b, c]
    }
}

final class HeadTests: XCTestCase {
    func tinyLightHead(seed: UInt64 = 1, fusion: FusionMode = .sigmoidMul) -> LightHead {
        LightHead(inChannels: [32, 128, 160], embedDims: [64, 96], channels: 96, numClasses: 150, fusion: fusion,
                  generator: RandomGenerator(seed: seed))
    }

    func tinyFeatures(batch: Int = 2, seed: UInt64 = 7) -> [Tensor] {
        let g = RandomGenerator(seed: seed)
        return [Tensor.normal([batch, 8, 10, 32], generator: g), Tensor.normal([batch, 2, 3, 128], generator: g),
                Tensor.normal([batch, 1, 2, 160], generator: g)]
    }

    func count(_ m: Module, prefix: String) -> Int {
        m.namedParameters().filter { $0.0.hasPrefix(prefix + ".") }.reduce(0) { $0 + $1.1.count }
    }

    // MARK: light head

    /// Spec §5.8: LightHead of T with 150 classes = 47,222 params.
    func testLightHeadTinyParameterCountAndBreakdown() {
        let h = tinyLightHead()
        XCTAssertEqual(h.parameterCount, 47_222)
        XCTAssertEqual(count(h, prefix: "fuse1.local_embedding"), 2_176)
        XCTAssertEqual(count(h, prefix: "fuse1.global_act"), 8_320)
        XCTAssertEqual(count(h, prefix: "fuse2.local_embedding"), 6_336)
        XCTAssertEqual(count(h, prefix: "fuse2.global_act"), 15_552)
        XCTAssertEqual(count(h, prefix: "linear_fuse"), 288)
        XCTAssertEqual(count(h, prefix: "conv_seg"), 14_550)
    }

    /// Spec §1.5 head breakdown: S 77,462, B 119,990, L 226,006 (150 classes).
    func testLightHeadCountsOfTheOtherVariants() {
        let g = RandomGenerator(seed: 2)
        XCTAssertEqual(LightHead(inChannels: [48, 160, 192], embedDims: [96, 128], channels: 128, numClasses: 150, generator: g).parameterCount, 77_462)
        XCTAssertEqual(LightHead(inChannels: [64, 192, 256], embedDims: [128, 160], channels: 160, numClasses: 150, generator: g).parameterCount, 119_990)
        XCTAssertEqual(LightHead(inChannels: [128, 192, 256, 320], embedDims: [128, 160, 192], channels: 192, numClasses: 150, generator: g).parameterCount, 226_006)
    }

    func testLightHeadStatePathsAreTheOfficialOnes() {
        let h = tinyLightHead()
        var expected = ["conv_seg.weight", "conv_seg.bias", "linear_fuse.conv.weight", "linear_fuse.bn.weight", "linear_fuse.bn.bias"]
        for f in ["fuse1", "fuse2"] {
            for part in ["local_embedding", "global_act"] {
                expected += ["\(f).\(part).conv.weight", "\(f).\(part).bn.weight", "\(f).\(part).bn.bias"]
            }
        }
        XCTAssertEqual(h.namedParameters().map(\.0), expected)
        XCTAssertEqual(h.namedBuffers().map(\.0).prefix(3),
                       ["linear_fuse.bn.running_mean", "linear_fuse.bn.running_var", "linear_fuse.bn.num_batches_tracked"])
        let shapes = Dictionary(uniqueKeysWithValues: h.namedParameters().map { ($0.0, $0.1.shape) })
        XCTAssertEqual(shapes["linear_fuse.conv.weight"], [96, 1, 1, 1], "depthwise 1×1 (is_dw)")
        XCTAssertEqual(shapes["conv_seg.weight"], [150, 1, 1, 96])
        XCTAssertEqual(shapes["fuse2.global_act.conv.weight"], [96, 1, 1, 160])
        XCTAssertEqual(shapes["fuse2.local_embedding.conv.weight"], [96, 1, 1, 64])
    }

    /// Spec §1.4: ConvModule convs kaiming-normal (fan_out, relu), BN γ=1 β=0; conv_seg N(0, 0.01), bias 0.
    func testLightHeadInit() {
        let h = tinyLightHead(seed: 3)
        func std(_ t: Tensor) -> Float {
            let v = t.toArray(), m = v.reduce(0, +) / Float(v.count)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Float(v.count)).squareRoot()
        }
        XCTAssertEqual(std(h.convSeg.weight), 0.01, accuracy: 0.0005)
        XCTAssertEqual(h.convSeg.bias!.toArray(), [Float](repeating: 0, count: 150))
        let local2 = h.fusions[1].localEmbedding.conv.weight   // [96,1,1,64]: fan_out 96
        XCTAssertEqual(std(local2), (2 / Float(96)).squareRoot(), accuracy: 0.006)
        let global2 = h.fusions[1].globalAct.conv.weight       // [96,1,1,160]: fan_out 96
        XCTAssertEqual(std(global2), (2 / Float(96)).squareRoot(), accuracy: 0.005)
        XCTAssertEqual(h.fusions[0].localEmbedding.bn.weight.toArray(), [Float](repeating: 1, count: 64))
        XCTAssertEqual(h.linearFuse.bn.bias.toArray(), [Float](repeating: 0, count: 96))
    }

    func testLightHeadOutputIsAtTheFirstFeatureResolution() {
        let h = tinyLightHead()
        let y = h(tinyFeatures())
        XCTAssertEqual(y.shape, [2, 8, 10, 150])
    }

    /// The head is exactly fuse1 → fuse2 → linear_fuse → (dropout, identity in eval) → conv_seg.
    func testLightHeadComposition() {
        let h = tinyLightHead()
        h.eval()
        let f = tinyFeatures()
        let x = h.fusions[1](local: h.fusions[0](local: f[0], global: f[1]), global: f[2])
        assertClose(h(f), h.convSeg(h.linearFuse(x)), accuracy: 0)
        XCTAssertEqual(h.linearFuse.activation, .relu)
        XCTAssertEqual(h.linearFuse.conv.groups, 96, "depthwise (is_dw)")
    }

    /// Each Table-11 mode is the formula it names; sigmoid modes gate BEFORE the bilinear resize.
    func testFusionModesFollowTheirFormulas() {
        let g = RandomGenerator(seed: 11)
        let local = Tensor.normal([2, 6, 7, 8], generator: g), global = Tensor.normal([2, 2, 3, 12], generator: g)
        var outputs: [FusionMode: [Float]] = [:]
        for mode in FusionMode.allCases {
            let b = FusionBlock(inp: 8, oup: 12, embedDim: 5, mode: mode, generator: RandomGenerator(seed: 5))
            b.eval()
            // Make the BN affine non-trivial so that the context branch leaves h_sigmoid's linear range.
            b.globalAct.bn.weight.assign(from: Tensor.full([5], 4))
            let l = b.localEmbedding(local), c = b.globalAct(global)
            let expected: Tensor
            switch mode {
            case .add: expected = l + interpolateBilinear(c, size: (6, 7))
            case .mul: expected = l * interpolateBilinear(c, size: (6, 7))
            case .sigmoidAdd: expected = l + interpolateBilinear(c.hardSigmoid(), size: (6, 7))
            case .sigmoidMul: expected = l * interpolateBilinear(c.hardSigmoid(), size: (6, 7))
            }
            let y = b(local: local, global: global)
            XCTAssertEqual(y.shape, [2, 6, 7, 5])
            assertClose(y, expected, accuracy: 0, "\(mode)")
            outputs[mode] = y.toArray()
            if mode == .sigmoidMul {
                let gateAfterResize = l * interpolateBilinear(c, size: (6, 7)).hardSigmoid()
                XCTAssertNotEqual(y.toArray(), gateAfterResize.toArray(), "the gate must come before the resize")
            }
        }
        XCTAssertNotEqual(outputs[.add], outputs[.mul])
        XCTAssertNotEqual(outputs[.sigmoidAdd], outputs[.sigmoidMul])
        XCTAssertNotEqual(outputs[.add], outputs[.sigmoidAdd])
        XCTAssertEqual(FusionMode(rawValue: "sigmoid_mul"), .sigmoidMul)
    }

    func testEveryFusionModeRunsInTheHeadWithTheSameParameters() {
        var results: [[Float]] = []
        for mode in FusionMode.allCases {
            let h = tinyLightHead(seed: 4, fusion: mode)
            XCTAssertEqual(h.parameterCount, 47_222, "\(mode)")
            h.eval()
            let y = h(tinyFeatures())
            XCTAssertEqual(y.shape, [2, 8, 10, 150])
            results.append(y.toArray())
        }
        XCTAssertEqual(Set(results.map { $0.prefix(50).description }).count, 4, "the four modes give four different outputs")
    }

    // MARK: simple head

    /// Table 13 hypothesis (see SimpleHead): T with channels 96 → 46,134 head params; 160 → 76,790.
    func testSimpleHeadCountsShapeAndPaths() {
        let h96 = SimpleHead(inChannels: [32, 128, 160], channels: 96, numClasses: 150, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(h96.parameterCount, 46_134)
        XCTAssertEqual(1_620_096 + h96.parameterCount, 1_666_230, "SeaFormer-T + simple head (96)")
        let h160 = SimpleHead(inChannels: [32, 128, 160], channels: 160, numClasses: 150, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(h160.parameterCount, 76_790)
        XCTAssertEqual(count(h160, prefix: "lateral_convs.2"), 160 * 160 + 2 * 160)
        XCTAssertEqual(count(h160, prefix: "linear_fuse"), 160 + 2 * 160)
        XCTAssertEqual(h96.namedParameters().map(\.0).prefix(6),
                       ["conv_seg.weight", "conv_seg.bias", "linear_fuse.conv.weight", "linear_fuse.bn.weight", "linear_fuse.bn.bias",
                        "lateral_convs.0.conv.weight"])
        XCTAssertEqual(h96(tinyFeatures()).shape, [2, 8, 10, 150])
        // The Table-13 fit for S and B (channels = last backbone width; backbone counts from spec §1.5).
        let s = SimpleHead(inChannels: [48, 160, 192], channels: 192, numClasses: 150, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(3_912_656 + s.parameterCount, 4_020_134)
        let b = SimpleHead(inChannels: [64, 192, 256], channels: 256, numClasses: 150, generator: RandomGenerator(seed: 1))
        XCTAssertEqual(8_485_664 + b.parameterCount, 8_657_590)
    }

    /// Without projections it is TopFormer's head: resize to the first map, sum, linear_fuse, conv_seg.
    func testSimpleHeadWithoutProjectionsIsTopFormers() {
        let h = SimpleHead(inChannels: [16, 16, 16], channels: 16, numClasses: 5, projectInputs: false,
                           generator: RandomGenerator(seed: 8))
        XCTAssertEqual(h.parameterCount, (16 + 32) + (16 * 5 + 5))
        XCTAssertFalse(h.namedParameters().contains { $0.0.hasPrefix("lateral_convs") })
        h.eval()
        let g = RandomGenerator(seed: 9)
        let f = [Tensor.normal([1, 8, 8, 16], generator: g), Tensor.normal([1, 4, 4, 16], generator: g), Tensor.normal([1, 2, 2, 16], generator: g)]
        let sum = f[0] + interpolateBilinear(f[1], size: (8, 8)) + interpolateBilinear(f[2], size: (8, 8))
        assertClose(h(f), h.convSeg(h.linearFuse(sum)), accuracy: 0)
    }

    // MARK: segmentor

    func tinySegmentor(seed: UInt64 = 1, classes: Int = 6) throws -> EncoderDecoder {
        let g = RandomGenerator(seed: seed)
        let head = LightHead(inChannels: [32, 128, 160], embedDims: [64, 96], channels: 96, numClasses: classes, generator: g)
        return try EncoderDecoder(backbone: FakeTinyBackbone(generator: g), head: head, numClasses: classes)
    }

    func image(_ shape: [Int], seed: UInt64 = 21) -> Tensor { Tensor.normal(shape, generator: RandomGenerator(seed: seed)) }

    func testSegmentorPathsAndConfigErrors() throws {
        let m = try tinySegmentor()
        XCTAssertTrue(m.stateKeys.allSatisfy { $0.hasPrefix("backbone.") || $0.hasPrefix("decode_head.") })
        XCTAssertTrue(m.stateKeys.contains("decode_head.fuse2.global_act.conv.weight"))
        XCTAssertTrue(m.stateKeys.contains("backbone.smb1.0.c.weight"))
        let g = RandomGenerator(seed: 1)
        let wrongWidths = LightHead(inChannels: [32, 128, 192], embedDims: [64, 96], channels: 96, numClasses: 6, generator: g)
        XCTAssertThrowsError(try EncoderDecoder(backbone: FakeTinyBackbone(generator: g), head: wrongWidths, numClasses: 6)) {
            XCTAssertTrue("\($0)".contains("the head expects features with channels [32, 128, 192] but the backbone gives [32, 128, 160]"), "\($0)")
        }
        let wrongClasses = LightHead(inChannels: [32, 128, 160], embedDims: [64, 96], channels: 96, numClasses: 6, generator: g)
        XCTAssertThrowsError(try EncoderDecoder(backbone: FakeTinyBackbone(generator: g), head: wrongClasses, numClasses: 150)) {
            XCTAssertEqual("\($0)", "the head was built for 6 classes but the segmentor for 150")
        }
    }

    func testTrainLogitsMatchTheLabelSizeAndBackpropagate() throws {
        let m = try tinySegmentor()
        let x = image([2, 64, 48, 3])
        XCTAssertEqual(m.logits(x).shape, [2, 8, 6, 6], "1/8 of the input")
        let y = m.trainLogits(x, labelSize: (64, 48))
        XCTAssertEqual(y.shape, [2, 64, 48, 6])
        y.mean().backward()
        XCTAssertNotNil(m.decodeHead.namedParameters().first { $0.0 == "conv_seg.weight" }?.1.grad)
        XCTAssertNotNil(m.namedParameters().first { $0.0 == "backbone.smb1.0.c.weight" }?.1.grad)
    }

    func testWholePredictIsTheArgmaxOfUpsampledLogits() throws {
        let m = try tinySegmentor()
        m.eval()
        let x = image([2, 40, 56, 3])
        let logits = m.logits(x)
        let p = m.predict(x)
        XCTAssertEqual(p.shape, [2, 40, 56])
        XCTAssertEqual(p.toArray(), interpolateBilinear(logits, size: (40, 56)).argmax(axis: 3).toArray())
        // Original size ≠ input size: mmseg resizes to the input size, then to the original size.
        let q = m.predict(x, outputSize: (53, 71))
        XCTAssertEqual(q.shape, [2, 53, 71])
        let twice = interpolateBilinear(interpolateBilinear(logits, size: (40, 56)), size: (53, 71))
        XCTAssertEqual(q.toArray(), twice.argmax(axis: 3).toArray())
    }

    func testSlideWithOneFullCropEqualsWhole() throws {
        let m = try tinySegmentor()
        m.eval()
        let x = image([2, 40, 56, 3])
        XCTAssertEqual(m.predict(x, mode: .slide(crop: (40, 56), stride: (20, 28))).toArray(), m.predict(x).toArray())
        // A crop larger than the image is clipped to it: again one crop.
        XCTAssertEqual(m.predict(x, mode: .slide(crop: (64, 64), stride: (32, 32))).toArray(), m.predict(x).toArray())
    }

    /// mmseg's slide_inference written out naively: pad each crop's logits to the full size and add.
    func naiveSlide(_ m: EncoderDecoder, _ img: Tensor, crop: Int, stride: Int) -> Tensor {
        let N = img.shape[0], H = img.shape[1], W = img.shape[2], K = m.numClasses
        let hGrids = max(H - crop + stride - 1, 0) / stride + 1, wGrids = max(W - crop + stride - 1, 0) / stride + 1
        var preds = Tensor.zeros([N, H, W, K]), countMat = Tensor.zeros([N, H, W, 1])
        var crops: [(Int, Int, Int, Int)] = []
        for hIdx in 0..<hGrids {
            for wIdx in 0..<wGrids {
                var y1 = hIdx * stride, x1 = wIdx * stride
                let y2 = min(y1 + crop, H), x2 = min(x1 + crop, W)
                y1 = max(y2 - crop, 0); x1 = max(x2 - crop, 0)
                crops.append((y1, y2, x1, x2))
                let cropImg = img.slice(axis: 1, start: y1, end: y2).slice(axis: 2, start: x1, end: x2)
                let cropLogit = interpolateBilinear(m.logits(cropImg), size: (y2 - y1, x2 - x1))
                preds = preds + cropLogit.pad([(0, 0), (y1, H - y2), (x1, W - x2), (0, 0)])
                countMat = countMat + Tensor.ones([N, y2 - y1, x2 - x1, 1]).pad([(0, 0), (y1, H - y2), (x1, W - x2), (0, 0)])
            }
        }
        XCTAssertEqual(crops.count, hGrids * wGrids)
        return preds / countMat
    }

    func testSlideWithOverlappingCropsMatchesANaiveReimplementation() throws {
        let m = try tinySegmentor(seed: 3, classes: 7)
        m.eval()
        let x = image([2, 20, 28, 3], seed: 4)
        // H: 2 rows of crops (0–16, 4–20 shifted back inside), W: 3 columns (0–16, 8–24, 12–28).
        let naive = naiveSlide(m, x, crop: 16, stride: 8)
        let fast = withNoGrad { m.slideLogits(x, crop: (16, 16), stride: (8, 8)) }
        XCTAssertEqual(fast.toArray(), naive.toArray(), "summing in crop order is mmseg's arithmetic exactly")
        let p = m.predict(x, mode: .slide(crop: (16, 16), stride: (8, 8)))
        XCTAssertEqual(p.shape, [2, 20, 28])
        XCTAssertEqual(p.toArray(), naive.argmax(axis: 3).toArray())
        let q = m.predict(x, mode: .slide(crop: (16, 16), stride: (8, 8)), outputSize: (25, 31))
        XCTAssertEqual(q.toArray(), interpolateBilinear(naive, size: (25, 31)).argmax(axis: 3).toArray())
        // Overlap matters: the slide result is not the whole-image one here.
        XCTAssertNotEqual(withNoGrad { interpolateBilinear(m.logits(x), size: (20, 28)) }.toArray(), naive.toArray())
    }

    // MARK: classifier

    func testClassifierOutputCountAndOfficialPaths() {
        let g = RandomGenerator(seed: 12)
        let backbone = FakeTinyBackbone(generator: g)
        let backboneCount = backbone.parameterCount
        let c = ImageClassifier(backbone: backbone, numClasses: 1000, generator: g)
        XCTAssertEqual(c.parameterCount, backboneCount + 160 * 1000 + 1000)
        XCTAssertEqual(1_620_096 + 160 * 1000 + 1000, 1_781_096, "SeaFormer-T classifier, spec §1.5")
        XCTAssertEqual(c.namedParameters().first!.0, "smb1.0.c.weight", "no backbone. prefix, as the official cls checkpoints")
        XCTAssertEqual(c.namedParameters().suffix(2).map(\.0), ["linear.weight", "linear.bias"])
        XCTAssertEqual(Set(c.stateKeys.filter { !$0.hasPrefix("linear.") }), Set(backbone.stateKeys))
        let x = image([2, 32, 32, 3])
        let y = c(x)
        XCTAssertEqual(y.shape, [2, 1000])
        // The logits are linear(GAP(last feature)).
        let last = backbone.features(x).last!
        assertClose(c.linear(last.mean(axes: [1, 2])), y, accuracy: 1e-5)
    }

    func testClassifierPassesItsModeToTheBackbone() {
        let g = RandomGenerator(seed: 13)
        let backbone = FakeTinyBackbone(generator: g)
        let c = ImageClassifier(backbone: backbone, numClasses: 10, generator: g)
        c.eval()
        XCTAssertFalse(backbone.toEighth.layers[0].isTraining, "eval() reaches the backbone's parts")
        let x = image([2, 16, 16, 3])
        let a = c(x), b = c(x)
        XCTAssertFalse(backbone.isTraining)
        XCTAssertEqual(a.toArray(), b.toArray(), "eval mode: BN uses running statistics")
        c.train()
        _ = c(x)
        XCTAssertTrue(backbone.isTraining)
    }
}

final class SegmentorLossTests: XCTestCase {
    func testFusedLossEqualsUpsampleThenCrossEntropy() throws {
        let backbone = FakeBackboneForLoss()
        let head = LightHead(inChannels: [8, 16, 16], embedDims: [8, 12], channels: 12, numClasses: 5)
        let model = try EncoderDecoder(backbone: backbone, head: head, numClasses: 5)
        model.eval()
        let image = Tensor.normal([2, 32, 24, 3], generator: RandomGenerator(seed: 1))
        let labels = Tensor(Tensor.uniform([2, 32, 24], generator: RandomGenerator(seed: 2)).toArray().map { Float(Int($0 * 5)) }, shape: [2, 32, 24])
        let fused = model.loss(image, labels: labels)
        let plain = crossEntropy(logits: model.trainLogits(image, labelSize: (32, 24)), target: labels, reduction: .meanOverAll)
        XCTAssertEqual(fused.item(), plain.item(), accuracy: 1e-6)
    }
}

/// Three strided ConvBNs giving 1/8, 1/32 and 1/64 features of widths 8, 16, 16.
private final class FakeBackboneForLoss: Module, Backbone {
    let a = ConvBN(3, 8, kernel: 3, stride: 8, padding: 1)
    let b = ConvBN(8, 16, kernel: 3, stride: 4, padding: 1)
    let c = ConvBN(16, 16, kernel: 3, stride: 2, padding: 1)
    var featureInfo: [FeatureInfo] { [FeatureInfo(channels: 8, stride: 2, module: "a"), FeatureInfo(channels: 16, stride: 4, module: "b"), FeatureInfo(channels: 16, stride: 8, module: "c")] }
    override var children: [(String, Module)] { [("a", a), ("b", b), ("c", c)] }
    func features(_ x: Tensor) -> [Tensor] { let fa = a(x), fb = b(fa); return [fa, fb, c(fb)] }
}
