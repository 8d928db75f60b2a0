@testable import Experiments
import Foundation
import ModelZoo
import XCTest

/// The S2AFormer model bases (experiments/_base_/models/s2aformer_*.yaml) load, validate (which
/// builds the model) and build with their documented parameter counts on the synthetic dataset,
/// and every bad S2AFormer value is a located config error.
final class S2AFormerModelConfigTests: XCTestCase {
    func experiment(_ base: String, classes: Int, overrides: [String] = []) throws -> (TempConfigDir, Experiment) {
        let d = try TempConfigDir()
        let model = repoRoot.appendingPathComponent("experiments/_base_/models/\(base).yaml").path
        let task = base.hasSuffix("_fpn") ? "segmentation" : "classification"
        let f = try d.write("x.yaml", """
        _base_: [\(model)]
        name: \(base)
        model: {num_classes: \(classes)}
        data:
          train:
            dataset: {type: synthetic, task: \(task), num_classes: \(Swift.min(classes, 255)), image_size: 64}
        train:
          iterations: 1
          optimizer: {type: adamw, lr: 1.0e-3}
        """)
        return (d, try Experiment.load(file: f, overrides: overrides))
    }

    /// mini and T are built (validate builds with the same builders); every base loads. The
    /// counts at 1000 / 150 classes are the ones in the files' comments (spec §5.1, §5.3).
    func testS2AFormerModelBasesValidateAndBuildWithTheirCounts() throws {
        for (base, classes, count) in [("s2aformer_mini", 1000, 5_018_316), ("s2aformer_t", 1000, 5_801_796),
                                       ("s2aformer_mini_fpn", 150, 6_252_178)] {
            // The synthetic dataset has at most 255 classes: validate (dataset and model agree) at 6,
            // count at the documented class count.
            try validate(try experiment(base, classes: 6).1)
            XCTAssertEqual(try experiment(base, classes: classes).1.buildModel().parameterCount, count, base)
        }
        for v in ["xs", "s", "m"] {
            for base in ["s2aformer_\(v)", "s2aformer_\(v)_fpn"] { XCTAssertNoThrow(try experiment(base, classes: 6), base) }
        }
        let (_, single) = try experiment("s2aformer_mini", classes: 1000, overrides: ["model.dist_head=false"])
        XCTAssertEqual(try single.buildModel().parameterCount, 3_737_316)
    }

    func testBadS2AFormerValuesAreLocated() throws {
        for (override, path) in [("model.backbone.variant=xl", "model.backbone.variant"), ("model.backbone.lim=maybe", "model.backbone.lim"),
                                 ("model.backbone.drop_path=1.5", "model.backbone.drop_path"), ("model.backbone.attention.reduction=max", "model.backbone.attention.reduction"),
                                 ("model.backbone.attention.scale=2", "model.backbone.attention.scale"), ("model.feature_dim=0", "model.feature_dim"),
                                 ("model.dropout=1", "model.dropout"), ("model.backbone.attention.window_size=2", "model.backbone.attention.window_size")] {
            let (_, e) = try experiment("s2aformer_mini", classes: 6, overrides: [override])
            XCTAssertThrowsError(try validate(e)) { error in
                XCTAssertTrue("\(error)".contains("(\(path))"), "\(override): \(error)")
            }
        }
        let (_, e) = try experiment("s2aformer_mini_fpn", classes: 6, overrides: ["model.head.norm=gn"])
        XCTAssertThrowsError(try validate(e)) { error in XCTAssertTrue("\(error)".contains("(model.head.norm)"), "\(error)") }
    }

    /// Other attention types sit in S2AFormer's slot, and SSA in the other families' slots.
    func testAttentionTypesCrossFamilies() throws {
        for type in ["global", "mit_sra", "sea", "conv"] {
            let (_, e) = try experiment("s2aformer_mini", classes: 6, overrides: ["model.backbone.attention={type: \(type)}"])
            try validate(e)
        }
        for base in ["segformer_b0", "pvtv2_b0", "lvt"] {
            let d = try TempConfigDir()
            let model = repoRoot.appendingPathComponent("experiments/_base_/models/\(base).yaml").path
            let f = try d.write("x.yaml", "_base_: [\(model)]\nname: x\nmodel: {num_classes: 6}\ndata: {train: {dataset: {type: synthetic, num_classes: 6, image_size: 64}}}\ntrain: {iterations: 1, optimizer: {type: adamw, lr: 0.001}}\n")
            try validate(try Experiment.load(file: f, overrides: ["model.backbone.attention={type: ssa, reduction: pool}"]))
        }
    }
}
