import Foundation
import XCTest
import TensorEngine
@testable import ModelZoo

/// Decodes an `attention:` node through the registry (JSON stands in for the YAML loader).
func attentionConfig(_ json: String) throws -> any AttentionConfig {
    struct Node: Decodable {
        let config: any AttentionConfig
        init(from decoder: Decoder) throws {
            config = try ModelRegistry.attentions.build(from: decoder, defaultType: "sea")
        }
    }
    return try JSONDecoder().decode(Node.self, from: Data(json.utf8)).config
}

/// Each attention type owns its config: names, defaults and checks (strict keys are tested
/// through the experiment loader, ExperimentConfigTests, since JSONDecoder ignores extra keys).
final class AttentionConfigTests: XCTestCase {
    func testEveryTypeDecodesItsOwnConfig() throws {
        XCTAssertEqual(ModelRegistry.attentions.names, ["sea", "sea_adaptive", "global", "axial", "local", "conv", "mit_sra", "lvt_csa", "lvt_rasa", "ssa", "xfa", "mhsa"])
        for name in ModelRegistry.attentions.names {
            XCTAssertEqual(try attentionConfig(#"{"type": "\#(name)"}"#).typeName, name)
        }
        XCTAssertEqual(try attentionConfig("{}").typeName, "sea", "SeaFormer's own attention when type is left out")
        XCTAssertEqual(EnhanceInput(rawValue: "concat_qkv"), .concatQKV)
        XCTAssertEqual(MaskWidth(rawValue: "nh_kd"), .nhKd)
        let d = SeaAttentionConfig()
        XCTAssertFalse(d.adaptive)
        XCTAssertEqual(d.enhanceMode, .mul)
        XCTAssertTrue(d.positionalEmbedding)
        let sea = try XCTUnwrap(try attentionConfig(#"{"type": "sea", "squeeze": "max", "positional_embedding": false}"#) as? SeaAttentionConfig)
        XCTAssertEqual(sea.squeeze, .max)
        XCTAssertFalse(sea.positionalEmbedding)
        let adaptive = try XCTUnwrap(try attentionConfig(#"{"type": "sea_adaptive", "mask_width": "heads"}"#) as? SeaAttentionConfig)
        XCTAssertEqual(adaptive.maskWidth, .heads)
        XCTAssertEqual(adaptive.squeeze, .adaptive)
        let local = try XCTUnwrap(try attentionConfig(#"{"type": "local", "window_size": 7}"#) as? LocalAttentionConfig)
        XCTAssertEqual(local.windowSize, 7)
    }

    func testBadValuesNameTheirKey() {
        XCTAssertThrowsError(try attentionConfig(#"{"type": "local", "window_size": 0}"#)) {
            XCTAssertEqual("\($0)", "window_size: local attention needs a window of at least 1 token, got 0; Table 9 uses 4")
        }
        XCTAssertThrowsError(try attentionConfig(#"{"type": "slow"}"#)) {
            XCTAssertEqual("\($0)", "unknown attention 'slow'; known attentions: sea, sea_adaptive, global, axial, local, conv, mit_sra, lvt_csa, lvt_rasa, ssa, xfa, mhsa")
        }
    }

    /// A window larger than the map is one window over all tokens: clamped, it gives global
    /// attention's output over the same projections instead of allocating window² scores.
    func testAHugeWindowIsOneWindow() {
        let shape = AttentionShape(dim: 8, keyDim: 2, heads: 2)
        RandomGenerator.manualSeed(3)
        let huge = LocalAttentionConfig(windowSize: 1000).build(shape)
        RandomGenerator.manualSeed(3)
        let exact = LocalAttentionConfig(windowSize: 5).build(shape)
        let x = Tensor.normal([1, 5, 3, 8], generator: RandomGenerator(seed: 4))
        XCTAssertEqual(huge(x).toArray(), exact(x).toArray())
    }
}
