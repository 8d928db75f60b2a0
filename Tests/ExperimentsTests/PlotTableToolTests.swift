@testable import Experiments
import Foundation
import XCTest

/// tools/plot_table.py reads the JSON `runexp table --format json` writes (rendered here from a
/// small table) and plots metric against cost with Pareto fronts. Needs python3 with matplotlib.
final class PlotTableToolTests: XCTestCase {
    func testPlotsPaperAndOursWithParetoFronts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-table-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        guard try runPython(["-c", "import matplotlib"], in: dir).status == 0 else { throw XCTSkip("python3 with matplotlib not available") }
        let flops = TableColumn(id: "flops", header: "FLOPs(G)", source: .cost(.flops), scale: 1e-9, digits: 2)
        let miou = TableColumn(id: "miou", header: "mIoU", source: .metric(name: "mIoU", task: .segmentation), scale: 100, digits: 1)
        func row(_ id: String, _ f: Double?, _ m: [Double], _ pf: Double?, _ pm: Double?) -> TableResult.Row {
            .init(id: id, label: id, reproducible: true, note: nil,
                  cells: ["flops": TableCell(ours: f.flatMap { TableAggregate([$0]) }, paper: pf), "miou": TableCell(ours: TableAggregate(m), paper: pm)])
        }
        let t = TableResult(name: "t", title: "T", profile: "proxy", select: "best", seeds: [0], columns: [flops, miou], rows: [
            row("tiny", 0.61, [20.0], 0.6, 35.8), row("small", 1.09, [19.0], 1.1, 39.4), row("base", 1.83, [25.0], 1.8, 41.0),
            row("other", nil, [], 2.8, 32.0),   // paper only: on the paper side, below the front
        ])
        let json = dir.appendingPathComponent("t.json"), png = dir.appendingPathComponent("t.png")
        try TableRenderer.json(t).write(to: json, atomically: true, encoding: .utf8)
        let r = try runPython(["tools/plot_table.py", json.path, "--x", "flops", "--y", "miou", "--output", png.path], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains("paper other 2.8 32"), r.stdout)
        XCTAssertTrue(lines.contains("ours tiny 0.61 20"), r.stdout)
        XCTAssertFalse(lines.contains { $0.hasPrefix("ours other") }, r.stdout)
        XCTAssertTrue(lines.contains("paper pareto: tiny small base"), r.stdout)
        XCTAssertTrue(lines.contains("ours pareto: tiny base"), r.stdout)
        let header = try Data(contentsOf: png).prefix(8)
        XCTAssertEqual(Array(header), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let bad = try runPython(["tools/plot_table.py", json.path, "--y", "top1"], in: dir)
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.stderr.contains("the table has no column 'top1'; columns: flops, miou"), bad.stderr)
    }
}
