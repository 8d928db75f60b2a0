import TestSupport
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

final class SeaFormerBackboneTests: XCTestCase {
    override func setUp() {
        RandomGenerator.manualSeed(7)
    }

    /// SeaFormer-L takes seconds to initialise in a debug build: build it once.
    nonisolated(unsafe) private static let large = SeaFormerBackbone(variant: .large)

    private func tiny(_ configure: (inout SeaAttentionConfig) -> Void = { _ in }) -> SeaFormerBackbone {
        var spec = SeaAttentionConfig()
        configure(&spec)
        return SeaFormerBackbone(variant: .tiny, attention: spec)
    }

    // MARK: parameter counts (spec §1.5, §5)

    func testBackboneParameterCountsMatchTheOfficialCode() {
        // The backbone alone is identical in the cls and seg code.
        let expected: [(SeaFormerVariant, Int)] = [(.tiny, 1_620_096), (.small, 3_912_656), (.base, 8_485_664)]
        for (variant, count) in expected {
            XCTAssertEqual(SeaFormerBackbone(variant: variant).parameterCount, count, "\(variant)")
        }
        XCTAssertEqual(Self.large.parameterCount, 13_725_504)
    }

    func testSingleModuleCounts() {
        // spec §5 #8: Sea_Attention(dim=128, key_dim=16, heads=4) and Mlp(128, ratio 2).
        XCTAssertEqual(SeaAttention(dim: 128, keyDim: 16, heads: 4).parameterCount, 123_136)
        XCTAssertEqual(SeaFormerMlp(128, mlpRatio: 2).parameterCount, 68_864)
    }

    func testPositionalEmbeddingSwitch() {
        // Table 12 / spec §1.6: 4 tables [1, nh_kd, 16] per layer: 4·16·(64·2 + 96·2) = 20,480.
        let model = tiny { $0.positionalEmbedding = false }
        XCTAssertEqual(model.parameterCount, 1_620_096 - 20_480)
        XCTAssertFalse(model.stateKeys.contains { $0.contains("pos_emb") })
    }

    func testTable6SwitchesChangeCountsAsDerived() {
        // T: stage 5 dim 128, nh_kd 64, dh 128, detail width W = 2·nh_kd + dh = 256;
        //    stage 6 dim 160, nh_kd 96, dh 192, W = 384; two layers per stage.
        // A Conv1×1+BN a→b has a·b + 2b parameters.
        // attention off: proj_encode_row/column (dh² + 2dh each), proj (dh·dim + 2dim), pos (4·nh_kd·16)
        //   stage 5: 2·16,640 + 16,640 + 4,096 = 54,016; stage 6: 2·37,248 + 31,040 + 6,144 = 111,680
        //   → −2·(54,016 + 111,680) = −331,392
        XCTAssertEqual(tiny { $0.attentionBranch = false }.parameterCount, 1_620_096 - 331_392)
        // detail off: dwconv (9W + 2W) and pwconv (W·dim + 2dim)
        //   stage 5: 2,816 + 33,024 = 35,840; stage 6: 4,224 + 61,760 = 65,984 → −203,648
        XCTAssertEqual(tiny { $0.detailEnhancement = false }.parameterCount, 1_620_096 - 203_648)
        // conv(x): enhance_conv dim→dim, dwconv and pwconv on dim channels instead of W
        //   stage 5: 16,640 + 1,408 + 16,640 = 34,688 (was 35,840: −1,152)
        //   stage 6: 25,920 + 1,760 + 25,920 = 53,600 (was 65,984: −12,384) → −2·13,536 = −27,072
        XCTAssertEqual(tiny { $0.enhanceInput = .conv }.parameterCount, 1_620_096 - 27_072)
        // upconv(x): an extra enhance_conv dim→W, dw/pw unchanged
        //   stage 5: 128·256 + 512 = 33,280; stage 6: 160·384 + 768 = 62,208 → +190,976
        XCTAssertEqual(tiny { $0.enhanceInput = .upconv }.parameterCount, 1_620_096 + 190_976)
        // Add instead of Mul: no parameters change.
        XCTAssertEqual(tiny { $0.enhanceMode = .add }.parameterCount, 1_620_096)
        // Detail only with conv(x): no q/k/v either. SEA total of T is 726,016; what stays is
        // 2·(34,688 + 53,600) = 176,576.
        let detailOnly = tiny { $0.attentionBranch = false; $0.enhanceInput = .conv }
        XCTAssertEqual(detailOnly.parameterCount, 1_620_096 - 726_016 + 176_576)
        XCTAssertFalse(detailOnly.stateKeys.contains { $0.contains("to_q") })
    }

    func testTable7SqueezeSwitchesAndAdaptiveMaskWidths() {
        // max pooling: no parameters.
        XCTAssertEqual(tiny { $0.squeeze = .max }.parameterCount, 1_620_096)
        // sea + adaptive squeeze (broadcast expand): two masks dim→m per layer, dim·m + 2m each.
        //   m = 1: 2·130 (stage 5) and 2·162 (stage 6), two layers each → +1,168
        XCTAssertEqual(tiny { $0.squeeze = .adaptive }.parameterCount, 1_620_096 + 1_168)
        // sea_adaptive: four masks (A_W, A_H, E_W, E_H) per layer.
        //   m = 1:     2·(4·130 + 4·162)                          = 2,336
        //   m = heads: 2·(4·(128·4 + 8) + 4·(160·4 + 8))          = 9,344
        //   m = nh_kd: 2·(4·(128·64 + 128) + 4·(160·96 + 192))    = 190,976
        for (width, delta) in [(MaskWidth.one, 2_336), (.heads, 9_344), (.nhKd, 190_976)] {
            let model = tiny { $0.adaptive = true; $0.squeeze = .adaptive; $0.maskWidth = width }
            XCTAssertEqual(model.parameterCount, 1_620_096 + delta, "\(width)")
        }
    }

    func testValidationRejectsASEALayerWithoutBranches() throws {
        XCTAssertEqual(try attentionConfig(#"{"type": "sea"}"#).typeName, "sea")
        XCTAssertThrowsError(try attentionConfig(#"{"type": "sea", "detail_enhancement": false, "attention_branch": false}"#)) { error in
            XCTAssertEqual("\(error)", "detail_enhancement: sea needs at least one of its two branches (Table 6), but detail_enhancement and attention_branch are both false; set one of them to true")
        }
        XCTAssertEqual(ModelRegistry.attentions.names, ["sea", "sea_adaptive", "global", "axial", "local", "conv", "mit_sra", "lvt_csa", "lvt_rasa", "ssa", "xfa", "mhsa"])
    }

    // MARK: structure

    func testStatePathsAreTheOfficialOnes() {
        let model = tiny()
        let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
        let expectations: [(String, [Int])] = [
            ("smb1.stem_block.0.c.weight", [16, 3, 3, 3]),                 // OHWI
            ("smb1.layer1.conv.0.c.weight", [16, 3, 3, 1]),                // t = 1: dw first
            ("smb1.layer1.conv.2.c.weight", [16, 1, 1, 16]),
            ("smb1.layer2.conv.0.c.weight", [64, 1, 1, 16]),               // t = 4: expand, dw, project
            ("smb1.layer2.conv.2.c.weight", [64, 3, 3, 1]),
            ("smb1.layer2.conv.4.bn.weight", [16]),
            ("smb5.layer1.conv.2.c.weight", [768, 3, 3, 1]),
            ("trans1.transformer_blocks.0.attn.to_q.c.weight", [64, 1, 1, 128]),
            ("trans1.transformer_blocks.1.attn.to_v.bn.bias", [128]),
            ("trans1.transformer_blocks.0.attn.proj.1.c.weight", [128, 1, 1, 128]),
            ("trans1.transformer_blocks.0.attn.proj_encode_row.1.bn.weight", [128]),
            ("trans1.transformer_blocks.0.attn.proj_encode_column.1.c.weight", [128, 1, 1, 128]),
            ("trans2.transformer_blocks.1.attn.pos_emb_rowq.pos_embed", [1, 96, 16]),
            ("trans2.transformer_blocks.1.attn.pos_emb_columnk.pos_embed", [1, 96, 16]),
            ("trans2.transformer_blocks.0.attn.dwconv.c.weight", [384, 3, 3, 1]),
            ("trans2.transformer_blocks.0.attn.pwconv.c.weight", [160, 1, 1, 384]),
            ("trans2.transformer_blocks.0.mlp.fc1.c.weight", [640, 1, 1, 160]),
            ("trans2.transformer_blocks.0.mlp.dwconv.weight", [640, 3, 3, 1]),
            ("trans2.transformer_blocks.0.mlp.dwconv.bias", [640]),
            ("trans2.transformer_blocks.1.mlp.fc2.bn.weight", [160]),
        ]
        for (path, shape) in expectations {
            XCTAssertEqual(params[path]?.shape, shape, path)
        }
        XCTAssertTrue(model.stateKeys.contains("smb3.layer2.conv.4.bn.running_var"))
        XCTAssertTrue(model.stateKeys.allSatisfy { $0.hasPrefix("smb") || $0.hasPrefix("trans") })
        XCTAssertEqual(model.children.map(\.0), ["smb1", "smb2", "smb3", "smb4", "smb5", "trans1", "trans2"])
        // The MV2 residual rule (spec §6 #16).
        XCTAssertEqual(model.smbs[0].layers.map(\.usesResidual), [true, false, true])
        XCTAssertEqual(model.smbs[0].layers[1].hiddenChannels, 64)
        XCTAssertEqual(Self.large.children.map(\.0).suffix(3), ["trans1", "trans2", "trans3"])
    }

    func testDropPathRatesRestartInEveryStage() {
        XCTAssertEqual(SeaFormerBasicLayer.dropPathRates(depth: 2, maximum: 0.1), [0, 0.1])
        XCTAssertEqual(SeaFormerBasicLayer.dropPathRates(depth: 1, maximum: 0.1), [0])
        let small = SeaFormerBackbone(variant: .small)
        for stage in small.transformers {
            let rates = stage.transformerBlocks.layers.map { ($0 as! SeaFormerBlock).dropPath.p }
            XCTAssertEqual(rates[0], 0)
            XCTAssertEqual(rates[1], 0.05, accuracy: 1e-7)
            XCTAssertEqual(rates[2], 0.1, accuracy: 1e-7)
        }
        // eval() must reach the stateless drop-path modules.
        small.eval()
        XCTAssertTrue(small.namedModules().allSatisfy { !($0.1 is DropPath) || !$0.1.isTraining })
    }

    func testOutputChannelsAndStrides() {
        let t = tiny()
        XCTAssertEqual(t.outChannels, [32, 128, 160])
        XCTAssertEqual(t.outStrides, [8, 32, 64])
        let l = Self.large
        XCTAssertEqual(l.outChannels, [128, 192, 256, 320])
        XCTAssertEqual(l.outStrides, [8, 16, 32, 64])
        XCTAssertEqual(SeaFormerBackbone(variant: .small).outChannels, [48, 160, 192])
        XCTAssertEqual(SeaFormerBackbone(variant: .base).outChannels, [64, 192, 256])
    }

    // MARK: forward

    func testOutputShapes() {
        let t = tiny()
        t.eval()
        withNoGrad {
            XCTAssertEqual(t(Tensor.normal([1, 64, 64, 3])).map(\.shape), [[1, 8, 8, 32], [1, 2, 2, 128], [1, 1, 1, 160]])
            // 75×50: 38×25 → 19×13 → 10×7 (1/8) → 5×4 → 3×2 (1/32) → 2×1 (1/64), ceil halvings.
            XCTAssertEqual(t(Tensor.normal([2, 75, 50, 3])).map(\.shape), [[2, 10, 7, 32], [2, 3, 2, 128], [2, 2, 1, 160]])
        }
        let l = Self.large
        l.eval()
        withNoGrad {
            XCTAssertEqual(l(Tensor.normal([1, 64, 64, 3])).map(\.shape),
                           [[1, 8, 8, 128], [1, 4, 4, 192], [1, 2, 2, 256], [1, 1, 1, 320]])
        }
    }

    func testPositionalInterpolationFrom16To16IsTheIdentityAndHalvingAveragesPairs() {
        let pe = SqueezeAxialPositionalEmbedding(channels: 3)
        let stored = pe.posEmbed.toArray()   // [1, 3, 16], channel-major
        let same = pe.table(length: 16)      // [1, 16, 3]
        XCTAssertEqual(same.shape, [1, 16, 3])
        for l in 0..<16 { for c in 0..<3 { XCTAssertEqual(same.toArray()[l * 3 + c], stored[c * 16 + l]) } }
        let half = pe.table(length: 8).toArray()
        for l in 0..<8 { for c in 0..<3 {
            XCTAssertEqual(half[l * 3 + c], (stored[c * 16 + 2 * l] + stored[c * 16 + 2 * l + 1]) / 2, accuracy: 1e-6)
        } }
    }

    func testClassificationInitStartsTheAttentionBranchAtZero() {
        // spec §1.4: γ = 0 in proj ⇒ the attention branch is 0 and the block gives 0.5·detail.
        let attn = SeaAttention(dim: 16, keyDim: 4, heads: 2)
        XCTAssertEqual(attn.proj!.layers.compactMap { ($0 as? ConvBN)?.bn.weight.toArray() }.first!, [Float](repeating: 0, count: 16))
        attn.eval()
        withNoGrad {
            let x = Tensor.normal([1, 5, 6, 16])
            let detail = attn.pwconv!(attn.dwconv!(concat([attn.toQ!(x), attn.toK!(x), attn.toV!(x)], axis: 3)).relu6())
            assertClose(attn(x), detail * 0.5, accuracy: 1e-6)
        }
    }

    func testSegmentationInitFollowsInitWeights() {
        let model = tiny()
        RandomGenerator.manualSeed(3)
        model.initializeSegmentationWeights()
        let params = Dictionary(uniqueKeysWithValues: model.namedParameters())
        // BN γ = 1 everywhere, including the projections that start at 0 in classification.
        XCTAssertEqual(Set(params["trans1.transformer_blocks.0.attn.proj.1.bn.weight"]!.toArray()), [1])
        XCTAssertEqual(Set(params["trans2.transformer_blocks.1.attn.proj_encode_row.1.bn.bias"]!.toArray()), [0])
        XCTAssertEqual(Set(params["trans2.transformer_blocks.0.mlp.dwconv.bias"]!.toArray()), [0])
        // N(0, √(2/n)), n = k·k·Cout/groups: the 1×1 conv 160→640 has n = 640 and 102,400 values;
        // the dw 3×3 conv of smb5 has n = 9 (groups = Cout) and 6,912 values.
        for (path, n) in [("trans2.transformer_blocks.0.mlp.fc1.c.weight", 640.0), ("smb5.layer1.conv.2.c.weight", 9.0)] {
            let w = params[path]!.toArray().map(Double.init)
            let mean = w.reduce(0, +) / Double(w.count)
            let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
            XCTAssertEqual(std, (2 / n).squareRoot(), accuracy: 0.03 * (2 / n).squareRoot(), path)
        }
    }

    func testEveryParameterOfTinyGetsAGradient() {
        // 65×65 gives 3×3 at 1/32 and 2×2 at 1/64, so both axial attentions have more than one
        // key and the positional tables of q and k receive gradients. Segmentation init makes
        // every BN γ = 1 (classification's γ = 0 would block the attention branch at init).
        let model = SeaFormerBackbone(variant: .tiny, dropPath: 0)
        model.initializeSegmentationWeights()
        let features = model(Tensor.normal([2, 65, 65, 3]))
        XCTAssertEqual(features.map(\.shape), [[2, 9, 9, 32], [2, 3, 3, 128], [2, 2, 2, 160]])
        // Random weights: a plain sum of a BN output has no gradient.
        let loss = features.map { ($0 * Tensor.normal($0.shape)).sum() }.reduce(Tensor(scalar: 0), +)
        loss.backward()
        for (path, p) in model.namedParameters() {
            let g = p.grad?.toArray() ?? []
            XCTAssertTrue(g.contains { $0 != 0 } && g.allSatisfy(\.isFinite), "no gradient for \(path)")
        }
    }

    /// Every Table 6/7 switch and every sea_adaptive mask width builds, runs and trains: all
    /// parameters of the attention get a gradient (BN γ set to 1 as segmentation init does).
    func testEveryAttentionSwitchBuildsRunsAndTrains() {
        var specs: [SeaAttentionConfig] = []
        for width in MaskWidth.allCases { var s = SeaAttentionConfig(adaptive: true); s.maskWidth = width; specs.append(s) }
        for squeeze in SqueezeKind.allCases { var s = SeaAttentionConfig(); s.squeeze = squeeze; specs.append(s) }
        for input in EnhanceInput.allCases { var s = SeaAttentionConfig(); s.enhanceInput = input; specs.append(s) }
        var s = SeaAttentionConfig(); s.enhanceMode = .add; specs.append(s)
        s = SeaAttentionConfig(); s.attentionBranch = false; specs.append(s)
        s = SeaAttentionConfig(); s.detailEnhancement = false; specs.append(s)
        s = SeaAttentionConfig(); s.positionalEmbedding = false; specs.append(s)
        for spec in specs {
            let attn = spec.build(AttentionShape(dim: 24, keyDim: 4, heads: 3))
            for case let bn as BatchNorm in attn.namedModules().map(\.1) { bn.weight.assign(from: Tensor.ones(bn.weight.shape)) }
            let x = Tensor.normal([2, 5, 4, 24])
            let y = attn(x)
            XCTAssertEqual(y.shape, x.shape, "\(spec)")
            (y * Tensor.normal(y.shape)).sum().backward()
            for (path, p) in attn.namedParameters() {
                XCTAssertTrue(p.grad?.toArray().contains { $0 != 0 } ?? false, "\(spec): no gradient for \(path)")
            }
        }
        // One full backbone with the SeaFormer++ attention.
        var adaptive = SeaAttentionConfig(adaptive: true)
        adaptive.maskWidth = .heads
        let model = SeaFormerBackbone(variant: .tiny, attention: adaptive)
        model.eval()
        withNoGrad {
            XCTAssertEqual(model(Tensor.normal([1, 64, 64, 3])).map(\.shape), [[1, 8, 8, 32], [1, 2, 2, 128], [1, 1, 1, 160]])
        }
    }
}
