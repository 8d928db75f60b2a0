@testable import Experiments
import Foundation
import XCTest

/// `runexp table --run` end to end on a toy profile: two seeds of one quickstart row trained
/// for a few iterations, then collected from their metrics.h5 with params from the model.
final class TableRunTests: XCTestCase {
    func testRunThenCollectATinyProxyTable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("table-run-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Toy scale as the sweep tests use it: 64x64, 4 iterations, evaluations at 2 and 4.
        try """
            train.iterations: 4
            train.batch_size: 2
            train.log_interval: 1
            train.schedule.warmup.iterations: 1
            data.train.dataset: {type: synthetic, num_classes: 6, image_size: 64, length: 16, split: train}
            data.train.workers: 1
            data.val.dataset: {type: synthetic, num_classes: 6, image_size: 64, length: 4, split: val}
            eval.interval: 2
            checkpoint.interval: 2

            """.write(to: dir.appendingPathComponent("toy.yaml"), atomically: true, encoding: .utf8)
        try """
            name: toy_table
            output_dir: \(dir.appendingPathComponent("runs").path)
            seeds: [0, 1]
            select: best
            input_size: [64, 64]
            profiles: {toy: toy.yaml}
            columns: [params, miou, macc, top1]
            rows:
              - {id: quick, label: "SeaFormer-T quickstart", experiment: \(repoRoot.appendingPathComponent("experiments/quickstart.yaml").path), paper: {miou: 35.0}}
              - {id: absent, label: "Not here", reproducible: false, reason: "no model", paper: {miou: 1.0}}

            """.write(to: dir.appendingPathComponent("t.yaml"), atomically: true, encoding: .utf8)

        let before = try SweepTestSupport.runexp(["table", "t.yaml", "--profile", "toy", "--format", "csv"], in: dir)
        XCTAssertEqual(before.status, 0, before.stderr)
        // Before any run: params already (from the model), every metric missing (n 0), never zero.
        XCTAssertTrue(before.stdout.contains("quick,SeaFormer-T quickstart,1.6533,,1,,,,,0,35.0,,,,0,,,,,0,,,no runs at profile toy yet")
                      || before.stdout.contains("quick,SeaFormer-T quickstart,1.6534,,1,,,,,0,35.0,,,,0,,,,,0,,,no runs at profile toy yet"), before.stdout)

        let ran = try SweepTestSupport.runexp(["table", "t.yaml", "--profile", "toy", "--run", "--jobs", "2", "--format", "json", "--output", "t.json"], in: dir)
        XCTAssertEqual(ran.status, 0, ran.stderr)
        XCTAssertTrue(ran.stderr.contains("sweep quick: 2 done"), ran.stderr)

        // The expected cells, from the runs' own metrics.h5 (best mIoU evaluation of each seed).
        var mious: [Double] = [], maccs: [Double] = []
        for seed in [0, 1] {
            let run = dir.appendingPathComponent("runs/toy_table/toy/quick/s\(seed)")
            let log = try MetricsLog.read(from: RunDirectory(run).metrics)
            XCTAssertEqual(log.val.map(\.iteration), [2, 4])
            let best = log.val.max { $0.metrics["mIoU"]! < $1.metrics["mIoU"]! }!
            mious.append(best.metrics["mIoU"]! * 100); maccs.append(best.metrics["mAcc"]! * 100)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("t.json"))) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        XCTAssertEqual(rows.map { $0["id"] as! String }, ["quick", "absent"])
        let cells = rows[0]["cells"] as! [String: [String: Any]]
        let expected = TableAggregate(mious)!
        XCTAssertEqual(cells["miou"]!["n"] as? Int, 2)
        XCTAssertEqual(cells["miou"]!["mean"] as! Double, expected.mean, accuracy: 1e-9)
        XCTAssertEqual(cells["miou"]!["std"] as! Double, expected.std!, accuracy: 1e-9)
        XCTAssertEqual(cells["miou"]!["delta"] as! Double, expected.mean - 35.0, accuracy: 1e-9)
        XCTAssertEqual(cells["macc"]!["mean"] as! Double, TableAggregate(maccs)!.mean, accuracy: 1e-9)
        // SeaFormer-T at 6 classes; a segmentor has no top-1: missing (n 0, null), never zero.
        XCTAssertEqual(cells["params"]!["mean"] as! Double, 1.654_611 - (19 - 6) * 97 * 1e-6, accuracy: 1e-9)
        XCTAssertEqual(cells["top1"]!["n"] as? Int, 0)
        XCTAssertTrue(cells["top1"]!["mean"] is NSNull)
        XCTAssertTrue((rows[1]["cells"] as! [String: [String: Any]])["miou"]!["mean"] is NSNull)

        // Running again starts nothing (both seeds are done) and prints the same numbers.
        let again = try SweepTestSupport.runexp(["table", "t.yaml", "--profile", "toy", "--run"], in: dir)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stderr.contains("sweep quick: 2 already done"), again.stderr)
        XCTAssertTrue(again.stdout.contains(String(format: "%.1f ± %.1f (n=2)", expected.mean, expected.std!)), again.stdout)
    }
}
