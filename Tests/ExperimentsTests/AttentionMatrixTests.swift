@testable import Experiments
import Foundation
import ModelZoo
import XCTest

/// The backbone × attention matrix (experiments/cross/): every registered backbone family with
/// every registered attention type either validates (which builds the model against its
/// backbone) or fails validation with an error located at the sweep-file line that chose the
/// type and saying why; the sweep excludes exactly the failing cells and the table lists them as
/// not reproducible, so no cell is dropped silently. That every valid cell also trains and
/// evaluates at the proxy's 96×96 is what the proxy table run shows (docs/reproduction.md).
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

    /// The cell names the shipped sweep runs (the excluded ones are absent).
    static func shippedCells() throws -> Set<String> { Set(try SweepPlan.load(file: sweepFile).points.map(cell)) }

    /// The matrix covers every registered backbone and attention type, the sweep's run names are
    /// the cells, and the table lists every cell: the sweep's cells as reproducible rows, the
    /// excluded ones as not reproducible with a reason.
    func testMatrixCoversTheRegistriesAndTheTableListsEveryCell() throws {
        let full = try Self.fullGrid()
        let families = Set(full.points.map { $0.assignments.first { $0.key == "model" }!.value.node(at: ["backbone", "type"])!.scalar! })
        let types = Set(full.points.map { $0.assignments.first { $0.key == "model.backbone.attention" }!.value["type"]!.scalar! })
        XCTAssertEqual(families, Set(ModelRegistry.backbones.names), "the matrix covers every registered backbone")
        XCTAssertEqual(types, Set(ModelRegistry.attentions.names), "the matrix covers every registered attention type")
        XCTAssertEqual(full.points.count, families.count * types.count)
        let shipped = try SweepPlan.load(file: Self.sweepFile)
        XCTAssertEqual(Set(shipped.points.map(\.name)), Set(shipped.points.map(Self.cell)), "run names are the cells")
        let excluded = Set(full.points.map(Self.cell)).subtracting(shipped.points.map(Self.cell))
        XCTAssertEqual(excluded, Set(["seaformer", "s2aformer", "mit", "pvt_v2", "lvt"].map { "\($0)_xfa" }))
        let table = try TableSpec.load(file: Self.tableFile)
        XCTAssertEqual(table.rows.count, full.points.count)
        XCTAssertEqual(Set(table.rows.filter(\.reproducible).map(\.id)), Set(shipped.points.map(Self.cell)))
        XCTAssertEqual(Set(table.rows.filter { !$0.reproducible }.map(\.id)), excluded)
        XCTAssertTrue(table.rows.filter { !$0.reproducible }.allSatisfy { ($0.reason ?? "").contains("fixed token grid") })
    }

    /// Every cell of one family, the excluded ones included, validated as `runexp validate` does at
    /// the proxy profile (which builds the model against its backbone): a cell the sweep runs must
    /// validate; an excluded one must fail with an error located at the sweep line that chose the
    /// attention type and saying why. One test per family keeps each short.
    func validateEveryCell(of backbone: String) throws {
        let full = try Self.fullGrid(), proxy = try Self.proxy(), shipped = try Self.shippedCells()
        let points = full.points.filter { Self.cell($0).hasPrefix(backbone + "_") }
        XCTAssertEqual(points.count, ModelRegistry.attentions.names.count, backbone)
        for point in points {
            let name = Self.cell(point)
            do {
                let e = try Experiment.load(file: full.sweep.base.path, overrides: point.overrides + proxy)
                try Experiments.validate(e, options: .quick)
                XCTAssertTrue(shipped.contains(name), "\(name) validates but the sweep excludes it")
            } catch {
                let message = "\(relocateToSweepFile(error, fixed: full.sweep.fixed, assignments: point.assignments))"
                XCTAssertFalse(shipped.contains(name), "\(name) is in the sweep but does not validate: \(message)")
                XCTAssertTrue(message.contains("attention_matrix.yaml:") && message.contains("(model.backbone.attention"), "\(name): \(message)")
                XCTAssertTrue(message.contains("fixed reference grid") && message.contains("use context: mean"), "\(name): no reason given: \(message)")
            }
        }
    }

    func testSeaFormerCellsValidateOrAreExplained() throws { try validateEveryCell(of: "seaformer") }
    func testXFormerCellsValidateOrAreExplained() throws { try validateEveryCell(of: "xformer") }
    func testS2AFormerCellsValidateOrAreExplained() throws { try validateEveryCell(of: "s2aformer") }
    func testMiTCellsValidateOrAreExplained() throws { try validateEveryCell(of: "mit") }
    func testPVTv2CellsValidateOrAreExplained() throws { try validateEveryCell(of: "pvt_v2") }
    func testLVTCellsValidateOrAreExplained() throws { try validateEveryCell(of: "lvt") }
}
