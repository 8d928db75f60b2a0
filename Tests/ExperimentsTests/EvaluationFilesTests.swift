@testable import Experiments
import Foundation
import XCTest

/// `runexp eval` results on disk: eval/<checkpoint>.h5, .json and _per_class.csv hold the same values.
final class EvaluationFilesTests: XCTestCase {
    func testRoundTripOfH5JSONAndPerClassCSV() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("eval-files-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = RunDirectory(dir)
        let checkpoint = run.checkpoint(iteration: 500)
        let result = EvaluationResult(metrics: ["aAcc": 0.75, "mIoU": 0.5, "mAcc": 0.625], metricOrder: ["aAcc", "mIoU", "mAcc"],
                                      perClass: ["iou": [0.25, 0.75, .nan], "acc": [0.5, 0.75, .nan]],
                                      classNames: ["wall", "sky, clear", "absent"], images: 4, seconds: 1.5)
        let files = EvaluationFiles(run: run, checkpoint: checkpoint)
        try files.write(result, checkpoint: checkpoint, iteration: 500)
        XCTAssertEqual(files.h5.path, dir.appendingPathComponent("eval/iter_500.h5").path)

        let back = try EvaluationFiles.readMetrics(files.h5)
        XCTAssertEqual(back.metrics, ["aAcc": 0.75, "mIoU": 0.5, "mAcc": 0.625])
        XCTAssertEqual(back.classNames, ["wall", "sky, clear", "absent"])
        XCTAssertEqual(Array(back.perClass["iou"]!.prefix(2)), [0.25, 0.75])
        XCTAssertTrue(back.perClass["iou"]![2].isNaN)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: files.json)) as! [String: Any]
        XCTAssertEqual(json["iteration"] as? Int, 500)
        XCTAssertEqual(json["images"] as? Int, 4)
        XCTAssertEqual((json["metrics"] as! [String: Double])["mIoU"], 0.5)
        XCTAssertEqual(json["metric_order"] as? [String], ["aAcc", "mIoU", "mAcc"])
        let iou = (json["per_class"] as! [String: [Any]])["iou"]!
        XCTAssertEqual(iou[1] as? Double, 0.75)
        XCTAssertTrue(iou[2] is NSNull)

        XCTAssertEqual(try String(contentsOf: files.perClassCSV, encoding: .utf8), """
            class,acc,iou
            wall,0.500000,0.250000
            "sky, clear",0.750000,0.750000
            absent,,

            """)
    }
}
