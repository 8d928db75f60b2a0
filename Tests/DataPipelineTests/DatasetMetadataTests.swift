import XCTest
@testable import DataPipeline

/// The shipped datasets/*.yaml load and validate, and a broken file names itself and the key.
final class DatasetMetadataTests: XCTestCase {
    func testShippedMetadataLoadsWithExpectedCounts() throws {
        let expected: [(String, Int, Bool, Int?)] = [
            ("ade20k", 150, true, nil), ("cityscapes", 19, false, 34), ("acdc", 19, false, 34),
            ("pascal_context", 60, false, nil), ("coco_stuff", 171, false, 182), ("nyuv2", 40, false, 894),
        ]
        for (name, n, reduce, mapCount) in expected {
            let m = try DatasetMetadata.load(name)
            XCTAssertEqual(m.numClasses, n, name)
            XCTAssertEqual(m.classNames.count, n, name)
            XCTAssertEqual(m.reduceZeroLabel, reduce, name)
            XCTAssertEqual(m.idMap?.table.count, mapCount, name)
            if name != "nyuv2" { XCTAssertEqual(m.palette?.count, n, name) }
        }
        let city = try DatasetMetadata.load("cityscapes")
        XCTAssertEqual(city.classNames.first, "road"); XCTAssertEqual(city.classNames.last, "bicycle")
        XCTAssertEqual(city.palette?[13], [0, 0, 142])
        // labelId → trainId spot checks from cityscapesScripts labels.py.
        XCTAssertEqual([7, 8, 11, 26, 33, 0, 9, 29].map { city.idMap!.classIndex(ofRawId: $0)! }, [0, 1, 2, 13, 18, 255, 255, 255])
        let coco = try DatasetMetadata.load("coco_stuff")
        XCTAssertEqual(coco.classNames[11], "stop sign")
        XCTAssertEqual([0, 12, 91, 181, 255, 11].map { coco.idMap!.classIndex(ofRawId: $0)! }, [0, 11, 80, 170, 255, 255])
        let nyu = try DatasetMetadata.load("nyuv2")
        // raw 21 wall → 0, 11 floor → 1, 3 cabinet → 2, 4 ceiling → 21, 0 unlabelled → ignore
        XCTAssertEqual([21, 11, 3, 4, 0].map { nyu.idMap!.classIndex(ofRawId: $0)! }, [0, 1, 2, 21, 255])
        let inet = try DatasetMetadata.load("imagenet")
        XCTAssertEqual(inet.wnids?.count, 1000)
        XCTAssertEqual(inet.wnids?.first, "n01440764"); XCTAssertEqual(inet.classNames.first, "tench")
        XCTAssertEqual(inet.wnids?.last, "n15075141")
    }

    func testBrokenMetadataNamesFileAndKey() throws {
        let dir = FixtureWriter.tempRoot("meta")
        defer { try? FileManager.default.removeItem(at: dir) }
        func check(_ yaml: String, _ fragments: [String]) throws {
            let url = dir.appendingPathComponent("cityscapes.yaml")
            try FixtureWriter.writeText(yaml, to: url)
            XCTAssertThrowsError(try DatasetMetadata.load("cityscapes", directory: dir)) { error in
                let m = (error as? DataError)?.message ?? "\(error)"
                for f in [url.path] + fragments { XCTAssertTrue(m.contains(f), "'\(f)' not in: \(m)") }
            }
        }
        let head = "name: cityscapes\ntask: segmentation\nnum_classes: 2\nclasses: [a, b]\n"
        try check(head + "palette: [[1, 2, 3]]\n", ["'palette'", "1 colours", "num_classes is 2"])
        try check(head + "palette: [[1, 2, 3], [1, 2, 300]]\n", ["'palette'", "entry 1"])
        try check(head + "id_map: {first_id: 0, table: [0, 1, 2]}\n", ["'id_map.table'", "raw id 2"])
        try check(head + "colours: []\n", ["'colours'", "unknown key", "line 5"])
        try check("name: cityscapes\ntask: segmentation\nnum_classes: 3\nclasses: [a, b]\n", ["'classes'", "2 names"])
        try check("name: ade\ntask: segmentation\nnum_classes: 2\nclasses: [a, b]\n", ["'name'"])
        try check("name: cityscapes\n  bad: [\n", ["not valid YAML"])
        XCTAssertThrowsError(try DatasetMetadata.load("nope", directory: dir)) {
            XCTAssertTrue(($0 as? DataError)?.message.contains(dir.appendingPathComponent("nope.yaml").path) == true)
        }
    }
}
