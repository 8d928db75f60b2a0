@testable import Experiments
import Foundation
import XCTest

/// The column kinds added for XFormer's and S2AFormer's tables: `macs`, the named paper-only
/// `paper` column, and the measured `throughput` column (its protocol decodes, bad options are
/// located errors, and a collected cell is present, positive and printed with its protocol;
/// timing values are never asserted).
final class TableMeasuredColumnTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("table-measured-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ text: String) throws -> String {
        let f = dir.appendingPathComponent("t.yaml")
        try text.write(to: f, atomically: true, encoding: .utf8)
        return f.path
    }

    func error(_ columns: String) throws -> String {
        let text = "columns: \(columns)\nrows: [{id: a, reproducible: false, reason: r}]\n"
        do { _ = try TableSpec.load(file: try write(text)); XCTFail("expected an error for \(columns)"); return "" } catch { return "\(error)" }
    }

    func testColumnsDecodeWithIdsHeadersAndProtocol() throws {
        let spec = try TableSpec.load(file: try write("""
            columns:
              - {type: macs, header: GMACs, digits: 3}
              - {type: paper, id: gpu, header: "GPU(img/s)", digits: 0}
              - {type: paper, id: onnx, header: "ONNX(img/s)"}
              - {type: throughput, id: cpu_here, batch: 4, input_size: [96, 128], threads: 1, warmup: 0, repeats: 2}
              - throughput
            rows:
              - {id: a, reproducible: false, reason: "another paper's model", paper: {macs: 0.43, gpu: 6330, onnx: 118.26}}
            """))
        XCTAssertEqual(spec.columns.map(\.id), ["macs", "gpu", "onnx", "cpu_here", "throughput"])
        XCTAssertEqual(spec.columns[0].source, .cost(.macs))
        XCTAssertEqual(spec.columns[0].header, "GMACs")
        XCTAssertEqual(spec.columns[1].source, .paperOnly)
        XCTAssertEqual(spec.columns[2].header, "ONNX(img/s)")
        XCTAssertEqual(spec.rows[0].paper, ["macs": 0.43, "gpu": 6330, "onnx": 118.26])
        guard case .throughput(let p) = spec.columns[3].source else { return XCTFail("not a throughput column") }
        XCTAssertEqual([p.batch, p.threads, p.warmup, p.repeats], [4, 1, 0, 2])
        XCTAssertEqual(p.inputSize, [96, 128])
        // The defaults of a bare `throughput`.
        guard case .throughput(let d) = spec.columns[4].source else { return XCTFail("not a throughput column") }
        XCTAssertEqual([d.batch, d.threads, d.warmup, d.repeats], [16, 2, 1, 5])
        XCTAssertEqual(spec.columns[3].protocolNote,
                       "Throughput(img/s): measured here, batch 4, 96×128, 1 thread, 0 warm-up + 2 timed forwards (median), fp32, eval mode without autograd, \(ThroughputProtocol.build) build")
        XCTAssertNil(spec.columns[0].protocolNote)
    }

    func testBadColumnOptionsAreLocatedErrors() throws {
        let zero = try error("[{type: throughput, batch: 0}]")
        XCTAssertTrue(zero.contains("t.yaml:1:") && zero.contains("batch") && zero.contains("must be at least 1, got 0"), zero)
        let size = try error("[{type: throughput, input_size: [224]}]")
        XCTAssertTrue(size.contains("input_size") && size.contains("[H, W]"), size)
        let misplaced = try error("[{type: params, repeats: 3}]")
        XCTAssertTrue(misplaced.contains("repeats") && misplaced.contains("protocol key of throughput columns"), misplaced)
        let anonymous = try error("[{type: paper, header: GPU}]")
        XCTAssertTrue(anonymous.contains("needs an id"), anonymous)
        let bare = try error("[paper]")
        XCTAssertTrue(bare.contains("needs its own id and header"), bare)
        let twice = try error("[{type: paper, id: gpu, header: A}, {type: paper, id: gpu, header: B}]")
        XCTAssertTrue(twice.contains("'gpu' is listed twice"), twice)
        let badID = try error("[{type: paper, id: \"gpu time\", header: A}]")
        XCTAssertTrue(badID.contains("letters, digits and _"), badID)
    }

    /// One S2AFormer-mini forward at 32×32, batch 1, once: the cell exists, is positive, and every
    /// output format says how it was measured.
    func testThroughputCellIsMeasuredAndPrintedWithItsProtocol() throws {
        let experiment = repoRoot.appendingPathComponent("experiments/s2aformer/s2aformer_mini_imagenet.yaml").path
        let spec = try TableSpec.load(file: try write("""
            output_dir: \(dir.path)/runs
            columns:
              - {type: throughput, id: cpu_here, header: "CPU here(img/s)", batch: 1, input_size: [32, 32], threads: 1, warmup: 0, repeats: 1}
              - {type: paper, id: cpu, header: "CPU(img/s)", digits: 2}
            rows:
              - {id: mini, experiment: \(experiment), paper: {cpu: 58.21}}
              - {id: other, reproducible: false, reason: "another paper's model", paper: {cpu: 45.57}}
            """))
        let throughput = TableThroughput()
        let result = try TableCollector(plan: try TablePlan(spec: spec, profile: "paper"), cost: TableCost(), throughput: throughput).collect()
        let cell = try XCTUnwrap(result.rows[0].cells["cpu_here"]?.ours)
        XCTAssertGreaterThan(cell.mean, 0)
        XCTAssertEqual(cell.n, 1)
        XCTAssertNil(result.rows[1].cells["cpu_here"]?.ours, "a row ViTLab cannot build is not measured")
        XCTAssertEqual(result.rows[0].cells["cpu"]?.paper, 58.21)
        XCTAssertEqual(throughput.measured, 1)
        XCTAssertNil(result.rows[0].note, "a table without metric columns reads no run, so no seed is missing")
        let note = "CPU here(img/s): measured here, batch 1, 32×32, 1 thread, 0 warm-up + 1 timed forward (median)"
        XCTAssertTrue(TableRenderer.render(result, as: .markdown).contains("- " + note), TableRenderer.render(result, as: .markdown))
        XCTAssertTrue(TableRenderer.render(result, as: .latex).contains("% CPU here(img/s): measured here, batch 1, 32$\\times$32, 1 thread"),
                      TableRenderer.render(result, as: .latex))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(TableRenderer.render(result, as: .json).utf8)) as? [String: Any])
        let columns = try XCTUnwrap(json["columns"] as? [[String: Any]])
        XCTAssertEqual(columns[0]["kind"] as? String, "measured")
        let proto = try XCTUnwrap(columns[0]["protocol"] as? [String: Any])
        XCTAssertEqual(proto["batch"] as? Int, 1)
        XCTAssertEqual(proto["input_size"] as? [Int], [32, 32])
        XCTAssertEqual(proto["threads"] as? Int, 1)
        XCTAssertEqual(proto["repeats"] as? Int, 1)
        XCTAssertEqual(proto["statistic"] as? String, "median")
        XCTAssertEqual(columns[1]["kind"] as? String, "paper_only")
    }
}
