import Experiments
import Foundation
import XCTest

/// Writes YAML files into a fresh temporary directory; paths in messages are absolute there.
final class TempConfigDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("exp-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ rel: String, _ text: String) throws -> String {
        let f = url.appendingPathComponent(rel)
        try FileManager.default.createDirectory(at: f.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: f, atomically: true, encoding: .utf8)
        return f.path
    }
    func path(_ rel: String) -> String { url.appendingPathComponent(rel).standardizedFileURL.path }
}

func configError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
    do { try body() } catch let e as ConfigError { return e } catch { XCTFail("not a ConfigError: \(error)", file: file, line: line); return nil }
    XCTFail("no error thrown", file: file, line: line)
    return nil
}

final class ConfigLoaderTests: XCTestCase {
    func testMergeListReplaceAndLocationsFollowTheWinner() throws {
        let d = try TempConfigDir()
        try d.write("base/a.yaml", """
        train:
          iterations: 10
          batch_size: 4
        model:
          head: {embed_dims: [32, 64, 96], channels: 96}
        """)
        let top = try d.write("exp/x.yaml", """
        _base_: [../base/a.yaml]
        train:
          iterations: 20
        model:
          head: {embed_dims: [64, 96]}
        """)
        let n = try ConfigLoader.load(file: top)
        XCTAssertEqual(n.node(at: ["train", "iterations"])?.scalar, "20")
        XCTAssertEqual(n.node(at: ["train", "batch_size"])?.scalar, "4")
        // Lists replace, they do not concatenate or merge element-wise.
        XCTAssertEqual(n.node(at: ["model", "head", "embed_dims"])?.elements?.map(\.scalar), ["64", "96"])
        XCTAssertEqual(n.node(at: ["model", "head", "channels"])?.scalar, "96")
        XCTAssertEqual(n.node(at: ["train", "iterations"])?.location, SourceLocation(file: d.path("exp/x.yaml"), line: 3, column: 15))
        XCTAssertEqual(n.node(at: ["train", "batch_size"])?.location, SourceLocation(file: d.path("base/a.yaml"), line: 3, column: 15))
        XCTAssertNil(n["_base_"])
        // Keys keep the base's order, new keys follow.
        XCTAssertEqual(n.entries?.map(\.key), ["train", "model"])
    }

    func testDeleteReplacesTheMapping() throws {
        let d = try TempConfigDir()
        try d.write("a.yaml", "train:\n  optimizer: {type: sgd, lr: 0.01, momentum: 0.9}\n")
        let top = try d.write("b.yaml", "_base_: a.yaml\ntrain:\n  optimizer: {_delete_: true, type: adamw, lr: 0.001}\n")
        let n = try ConfigLoader.load(file: top)
        let opt = try XCTUnwrap(n.node(at: ["train", "optimizer"]))
        XCTAssertEqual(opt.entries?.map(\.key), ["type", "lr"])
        XCTAssertEqual(opt["type"]?.scalar, "adamw")
        XCTAssertNil(opt["momentum"])
    }

    func testNestedBasesAreRelativeToTheIncludingFile() throws {
        let d = try TempConfigDir()
        try d.write("_base_/models/m.yaml", "model: {num_classes: 150, type: encoder_decoder}\nseed: 1\n")
        try d.write("_base_/mid/m2.yaml", "_base_: [../models/m.yaml]\nseed: 2\n")
        let top = try d.write("exps/deep/x.yaml", "_base_: [../../_base_/mid/m2.yaml]\nmodel: {num_classes: 6}\n")
        let n = try ConfigLoader.load(file: top)
        XCTAssertEqual(n.node(at: ["model", "num_classes"])?.scalar, "6")
        XCTAssertEqual(n.node(at: ["model", "type"])?.scalar, "encoder_decoder")
        XCTAssertEqual(n["seed"]?.scalar, "2")
    }

    func testBaseCycleNamesTheChain() throws {
        let d = try TempConfigDir()
        try d.write("a.yaml", "_base_: [b.yaml]\nseed: 1\n")
        try d.write("b.yaml", "_base_: [a.yaml]\nseed: 2\n")
        let e = configError { _ = try ConfigLoader.load(file: d.path("a.yaml")) }
        XCTAssertEqual(e?.kind, .cycle)
        XCTAssertEqual(e?.description, "\(d.path("b.yaml")):1:10 (_base_): _base_ files include each other: "
                       + "\(d.path("a.yaml")) → \(d.path("b.yaml")) → \(d.path("a.yaml")). Remove one of the includes")
    }

    func testMissingBaseFileIsLocated() throws {
        let d = try TempConfigDir()
        let top = try d.write("x.yaml", "_base_: [nothere.yaml]\n")
        let e = configError { _ = try ConfigLoader.load(file: top) }
        XCTAssertEqual(e?.kind, .file)
        XCTAssertEqual(e?.location, SourceLocation(file: d.path("x.yaml"), line: 1, column: 10))
        XCTAssertTrue(e?.message.contains(d.path("nothere.yaml")) ?? false)
    }

    func testOverridesAreTypedYAML() throws {
        let n = try ConfigLoader.load(yaml: "model:\n  backbone: {variant: tiny}\ntrain: {iterations: 10}\n",
                                      overrides: ["model.backbone.variant=small", "train.iterations=100", "model.head.embed_dims=[64,96]"])
        XCTAssertEqual(n.node(at: ["model", "backbone", "variant"])?.scalar, "small")
        XCTAssertEqual(n.node(at: ["train", "iterations"])?.scalar, "100")
        XCTAssertEqual(n.node(at: ["model", "head", "embed_dims"])?.elements?.map(\.scalar), ["64", "96"])
        XCTAssertEqual(n.node(at: ["train", "iterations"])?.location.description, "--set train.iterations=100")
        XCTAssertEqual(configError { _ = try ConfigLoader.applyOverride("train.iterations", to: n) }?.kind, .override)
        XCTAssertEqual(configError { _ = try ConfigLoader.applyOverride("train.iterations.x=1", to: n) }?.description,
                       "--set train.iterations.x=1 (train.iterations.x): 'train.iterations' is the scalar '100' (set at --set train.iterations=100), which has no key 'x'")
    }
}
