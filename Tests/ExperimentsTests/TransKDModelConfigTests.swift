@testable import Experiments
import Foundation
import ModelZoo
import XCTest

/// The TransKD model bases (experiments/_base_/models/segformer_*.yaml, pvtv2_*.yaml) load,
/// validate (which builds the model) and build with their documented parameter counts, on the
/// synthetic dataset (6 classes through `model.num_classes`).
final class TransKDModelConfigTests: XCTestCase {
    func experiment(_ base: String, classes: Int = 20) throws -> (TempConfigDir, Experiment) {
        let d = try TempConfigDir()
        let model = repoRoot.appendingPathComponent("experiments/_base_/models/\(base).yaml").path
        let f = try d.write("x.yaml", """
        _base_: [\(model)]
        name: \(base)
        model: {num_classes: \(classes)}
        data:
          train:
            dataset: {type: synthetic, num_classes: \(classes), image_size: 64}
        train:
          iterations: 1
          optimizer: {type: adamw, lr: 6.0e-5}
        """)
        return (d, try Experiment.load(file: f))
    }

    func testEveryTransKDModelBaseValidatesAndBuildsWithItsCount() throws {
        let expected: [(String, Int)] = [("segformer_b0", 3_719_284), ("segformer_b1", 13_682_388), ("segformer_b2", 27_362_004),
                                         ("pvtv2_b0", 7_527_668), ("pvtv2_b2", 29_098_836), ("lvt", 3_837_176)]
        for (base, count) in expected {
            let (_, e) = try experiment(base)
            // `validate` builds the model with the same builders, so the large variants (debug
            // builds initialise 27M parameters slowly) are built once, by the count check.
            if count < 10_000_000 { try validate(e) }
            XCTAssertEqual(try e.buildModel().parameterCount, count, base)
        }
    }

    func testNYUClassCount() throws {
        let (_, e) = try experiment("segformer_b0", classes: 41)
        try validate(e)
        XCTAssertEqual(try e.buildModel().parameterCount, 3_724_681)
    }

    func testBadMiTAndHeadValuesAreLocated() throws {
        for (override, path) in [("model.backbone.variant=b9", "model.backbone.variant"), ("model.backbone.drop_path=1.5", "model.backbone.drop_path"),
                                 ("model.head.embed_dim=0", "model.head.embed_dim")] {
            let d = try TempConfigDir()
            let model = repoRoot.appendingPathComponent("experiments/_base_/models/segformer_b0.yaml").path
            let f = try d.write("x.yaml", "_base_: [\(model)]\nname: x\ndata: {train: {dataset: {type: synthetic, num_classes: 20}}}\ntrain: {iterations: 1, optimizer: {type: adamw, lr: 0.001}}\n")
            XCTAssertThrowsError(try validate(try Experiment.load(file: f, overrides: [override]))) { error in
                XCTAssertTrue("\(error)".contains("(\(path))"), "\(override): \(error)")
            }
        }
    }
}
