import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// Builds models from config nodes; JSON stands in for the YAML loader (both give a Decoder).
final class ModelRegistryTests: XCTestCase {
    struct Node: Decodable {
        let model: Module
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            model = try ModelRegistry.build(from: try c.superDecoder(forKey: .model))
        }
        enum Key: String, CodingKey { case model }
    }

    func build(_ json: String) throws -> Module {
        try JSONDecoder().decode(Node.self, from: Data(json.utf8)).model
    }

    func testBuildsTheOfficialTinySegmentor() throws {
        let m = try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer", "variant": "tiny", "attention": {"type": "sea"}, "drop_path": 0.1}, "head": {"type": "light_head", "embed_dims": [64, 96], "channels": 96, "dropout": 0.1}, "num_classes": 150}}"#)
        XCTAssertEqual(m.parameterCount, 1_667_318)
        XCTAssertTrue(m is EncoderDecoder)
    }

    func testAblationSwitchesAndClassifier() throws {
        let noPos = try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer", "attention": {"type": "sea", "positional_embedding": false}}, "head": {"type": "light_head"}, "num_classes": 150}}"#)
        XCTAssertEqual(noPos.parameterCount, 1_646_838)
        let cls = try build(#"{"model": {"type": "image_classifier", "backbone": {"type": "seaformer", "variant": "small"}}}"#)
        XCTAssertEqual(cls.parameterCount, 4_105_656)
    }

    func testUnknownNamesSuggestTheNearest() {
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seafomer"}, "head": {"type": "light_head"}, "num_classes": 2}}"#)) { e in
            XCTAssertEqual("\(e)", "unknown backbone 'seafomer' (model.backbone.type); did you mean 'seaformer'?")
        }
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer"}, "head": {"type": "fancy"}, "num_classes": 2}}"#)) { e in
            XCTAssertEqual("\(e)", "unknown head 'fancy' (model.head.type); known heads: light_head, simple_head, segformer_head, fpn_head")
        }
        XCTAssertThrowsError(try build(#"{"model": {"backbone": {}}}"#)) { e in
            XCTAssertTrue("\(e)".contains("model config at model has no 'type:' key"), "\(e)")
        }
    }

    func testBadValuesNameTheirKey() {
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer", "attention": {"type": "sea", "detail_enhancement": false, "attention_branch": false}}, "head": {"type": "light_head"}, "num_classes": 2}}"#)) { e in
            XCTAssertTrue("\(e)".hasPrefix("model.backbone.attention.detail_enhancement: sea needs at least one"), "\(e)")
        }
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer"}, "head": {"type": "light_head", "embed_dims": [64, 96], "channels": 64}, "num_classes": 2}}"#)) { e in
            XCTAssertTrue("\(e)".hasPrefix("model.head.channels: must equal the last of embed_dims (96)"), "\(e)")
        }
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer", "attention": {"type": "local", "window_size": 0}}, "head": {"type": "light_head"}, "num_classes": 2}}"#)) { e in
            XCTAssertTrue("\(e)".hasPrefix("model.backbone.attention.window_size:"), "\(e)")
        }
        XCTAssertThrowsError(try build(#"{"model": {"type": "encoder_decoder", "backbone": {"type": "seaformer"}, "head": {"type": "light_head"}, "num_classes": 0}}"#)) { e in
            XCTAssertEqual("\(e)", "model.num_classes: must be at least 1, got 0")
        }
    }

    func testListsEveryRegistry() {
        let names = Dictionary(uniqueKeysWithValues: ModelRegistry.names.map { ($0.kind, $0.names) })
        XCTAssertEqual(names["models"], ["encoder_decoder", "image_classifier", "s2aformer_classifier", "xformer_classifier"])
        XCTAssertEqual(names["heads"], ["light_head", "simple_head", "segformer_head", "fpn_head"])
        XCTAssertEqual(names["attentions"], ["sea", "sea_adaptive", "global", "axial", "local", "conv", "mit_sra", "lvt_csa", "lvt_rasa", "ssa", "xfa", "mhsa"])
        XCTAssertEqual(editDistance("seafomer", "seaformer"), 1)
    }
}
