import HDF5Store
import XCTest

final class SeriesTests: XCTestCase {
    func testAppendsSurviveReopen() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("metrics.h5")
        do {
            let f = try HDF5File.create(url)
            let loss = try f.series(Float.self, at: "train/loss", chunk: 4)
            try loss.append(2.5)
            try loss.append(contentsOf: [2.0, 1.75])
            let iter = try f.series(Int64.self, at: "train/iter")
            try iter.append(contentsOf: [10, 20, 30])
            let iou = try f.rowSeries(Double.self, at: "val/per_class_iou", width: 3, chunkRows: 2)
            try iou.append([0.1, 0.2, 0.3])
            try f.close()
        }
        let f = try HDF5File.open(url, mode: .readWrite)
        let loss = try f.series(Float.self, at: "train/loss", chunk: 4)
        XCTAssertEqual(try loss.count(), 3)
        try loss.append(contentsOf: [1.5, 1.25, 1.0, 0.75, 0.5]) // crosses two chunk boundaries
        try f.series(Int64.self, at: "train/iter").append(40)
        let iou = try f.rowSeries(Double.self, at: "val/per_class_iou", width: 3)
        try iou.append([0.4, 0.5, 0.6])
        try f.close()

        let g = try HDF5File.open(url)
        XCTAssertEqual(try g.read(Float.self, at: "train/loss"), [2.5, 2.0, 1.75, 1.5, 1.25, 1.0, 0.75, 0.5])
        XCTAssertEqual(try g.read(Int64.self, at: "train/iter"), [10, 20, 30, 40])
        XCTAssertEqual(try g.shape(at: "val/per_class_iou"), [2, 3])
        XCTAssertEqual(try g.rowSeries(Double.self, at: "val/per_class_iou", width: 3).rows(), [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    }

    func testReopeningWithOtherTypeOrWidthIsAnError() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("m.h5")
        let f = try HDF5File.create(url)
        _ = try f.series(Float.self, at: "train/loss")
        _ = try f.rowSeries(Float.self, at: "val/iou", width: 4)
        XCTAssertThrowsError(try f.series(Double.self, at: "train/loss")) { e in
            XCTAssertTrue("\(e)".contains("/train/loss") && "\(e)".contains("float32"), "\(e)")
        }
        XCTAssertThrowsError(try f.rowSeries(Float.self, at: "val/iou", width: 5)) { e in
            XCTAssertTrue("\(e)".contains("/val/iou"), "\(e)")
        }
    }
}
