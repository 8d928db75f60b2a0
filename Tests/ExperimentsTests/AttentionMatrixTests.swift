@testable import Experiments
import Foundation
import ModelZoo
import XCTest

/// The backbone × attention matrix (experiments/cross/): every registered backbone family with
/// every registered attention type either validates and builds (the `runexp info` trace, at a
/// small input) or fails validation with an error located at the sweep-file line that chose the
/// type and saying why; the sweep excludes exactly the failing cells and the table lists them as
/// not reproducible, so no cell is dropped silently.
final class AttentionMatrixTests: XCTestCase {
    static let sweepFile = repoRoot.appendingPathComponent("experiments/cross/attention_matrix.yaml").path
    static let tableFile = repoRoot.appendingPathComponent("experiments/cross/tables/attention_matrix.yaml").path

    /// "<backbone type>_<attention type>" of a point, as the sweep's run names and the table's row ids.
    static func cell(_ point: SweepPoint) -> String {
        let model = point.assignments.first { $0.key == "model" }!.value
        let attention = point.assignments.first { $0.key == "model.backbone.attention" }!.value
        return "\(model.node(at: ["backbone", "type"])!.scalar!)_\(attention["type"]!.scalar!)"
    }

    /// Every point of the grid, the excluded ones included.
    static func fullGrid() throws -> SweepPlan { try SweepPlan(try SweepFile.load(file: sweepFile, overrides: ["exclude=[]"])) }

    /// The proxy profile's overrides: the cells load without any dataset.
    static func proxy() throws -> [String] {
        try TablePlan.overrides(ofProfile: repoRoot.appendingPathComponent("experiments/_base_/profiles/proxy_matrix.yaml"))
    }

    /// Validates every cell as `runexp run` does and builds its model; returns the valid cells and
    /// the located error of each other cell.
    func validateEveryCell() throws -> (valid: Set<String>, failing: [String: String]) {
        let full = try Self.fullGrid(), proxy = try Self.proxy()
        var valid: Set<String> = [], failing: [String: String] = [:]
        for point in full.points {
            let name = Self.cell(point)
            do {
                let e = try Experiment.load(file: full.sweep.base.path, overrides: point.overrides + proxy)
                try Experiments.validate(e, options: .quick)
                XCTAssertGreaterThan(try e.buildModel().parameterCount, 0, name)
                valid.insert(name)
            } catch {
                failing[name] = "\(relocateToSweepFile(error, fixed: full.sweep.fixed, assignments: point.assignments))"
            }
        }
        return (valid, failing)
    }

    func testEveryCombinationValidatesOrIsExplainedByALocatedError() throws {
        let full = try Self.fullGrid()
        let families = Set(full.points.map { $0.assignments.first { $0.key == "model" }!.value.node(at: ["backbone", "type"])!.scalar! })
        let types = Set(full.points.map { $0.assignments.first { $0.key == "model.backbone.attention" }!.value["type"]!.scalar! })
        XCTAssertEqual(families, Set(ModelRegistry.backbones.names), "the matrix covers every registered backbone")
        XCTAssertEqual(types, Set(ModelRegistry.attentions.names), "the matrix covers every registered attention type")
        XCTAssertEqual(full.points.count, families.count * types.count)

        let (valid, failing) = try validateEveryCell()
        XCTAssertFalse(valid.isEmpty)
        for (name, message) in failing {
            // Located at the sweep line that set the attention, naming the key and the reason.
            XCTAssertTrue(message.contains("attention_matrix.yaml:") && message.contains("(model.backbone.attention"), "\(name): \(message)")
            XCTAssertTrue(message.contains("only xformer does") || message.contains("because") || message.contains("needs"), "\(name): no reason given: \(message)")
        }
        XCTAssertEqual(Set(failing.keys), Set(["seaformer", "s2aformer", "mit", "pvt_v2", "lvt"].map { "\($0)_xfa" }),
                       "xfa's learned context applies only in XFormer; anything else must validate")

        // The shipped sweep runs exactly the valid cells; the table lists every cell.
        let shipped = try SweepPlan.load(file: Self.sweepFile)
        XCTAssertEqual(Set(shipped.points.map(Self.cell)), valid)
        XCTAssertEqual(Set(shipped.points.map(\.name)), valid, "run names are the cells")
        let table = try TableSpec.load(file: Self.tableFile)
        XCTAssertEqual(Set(table.rows.filter(\.reproducible).map(\.id)), valid)
        XCTAssertEqual(Set(table.rows.filter { !$0.reproducible }.map(\.id)), Set(failing.keys))
        XCTAssertEqual(table.rows.count, full.points.count)
    }

    /// What `runexp info` does for each valid cell of one family: build the model and trace one
    /// forward, at the proxy's input size (the smallest at which every cell runs; proxy_matrix.yaml
    /// says why). One test per family keeps each test short.
    func traceEveryCell(of backbone: String) throws {
        let shipped = try SweepPlan.load(file: Self.sweepFile), proxy = try Self.proxy()
        let profile = try ConfigLoader.load(file: repoRoot.appendingPathComponent("experiments/_base_/profiles/proxy_matrix.yaml").path)
        let size = try XCTUnwrap(profile["data.train.dataset"]?["image_size"]?.scalar.flatMap { Int($0) })
        let cost = TableCost()
        let points = shipped.points.filter { Self.cell($0).hasPrefix(backbone + "_") }
        XCTAssertFalse(points.isEmpty, backbone)
        for point in points {
            let e = try Experiment.load(file: shipped.sweep.base.path, overrides: point.overrides + proxy)
            let c = try cost.cost(of: e, inputSize: [size, size])
            XCTAssertGreaterThan(c.macs ?? 0, 0, Self.cell(point))
            XCTAssertEqual(c.task, "segmentation", Self.cell(point))
        }
    }

    func testSeaFormerCellsRunAtTheProxySize() throws { try traceEveryCell(of: "seaformer") }
    func testXFormerCellsRunAtTheProxySize() throws { try traceEveryCell(of: "xformer") }
    func testS2AFormerCellsRunAtTheProxySize() throws { try traceEveryCell(of: "s2aformer") }
    func testMiTCellsRunAtTheProxySize() throws { try traceEveryCell(of: "mit") }
    func testPVTv2CellsRunAtTheProxySize() throws { try traceEveryCell(of: "pvt_v2") }
    func testLVTCellsRunAtTheProxySize() throws { try traceEveryCell(of: "lvt") }
}
