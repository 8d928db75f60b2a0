import HDF5Store
import XCTest

final class ErrorTests: XCTestCase {
    func testOpenMissingFileNamesIt() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("missing.h5")
        XCTAssertThrowsError(try HDF5File.open(url)) { e in
            let err = e as? HDF5Error
            XCTAssertEqual(err?.file, url.path)
            XCTAssertEqual(err?.reason, "no such file")
        }
    }

    func testOpenNonHDF5File() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("text.h5")
        try Data("not hdf5".utf8).write(to: url)
        XCTAssertThrowsError(try HDF5File.open(url)) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "not an HDF5 file")
        }
    }

    func testMissingPathListsSiblings() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("e.h5")
        let f = try HDF5File.create(url)
        try f.write([Float(1)], shape: [1], at: "model/weight")
        try f.write([Float(1)], shape: [1], at: "model/bias")
        XCTAssertThrowsError(try f.read(Float.self, at: "model/wieght")) { e in
            let err = e as? HDF5Error
            XCTAssertEqual(err?.object, "/model/wieght")
            XCTAssertEqual(err?.file, url.path)
            XCTAssertEqual(err?.remedy, "The group /model contains: bias, weight.")
            XCTAssertTrue("\(e)".contains("'/model/wieght'") && "\(e)".contains(url.path), "\(e)")
        }
        XCTAssertThrowsError(try f.read(Float.self, at: "nope/deeper")) { e in
            XCTAssertEqual((e as? HDF5Error)?.object, "/nope/deeper")
        }
        XCTAssertThrowsError(try f.stringAttribute("git", of: "model")) { e in
            XCTAssertEqual((e as? HDF5Error)?.object, "/model")
            XCTAssertTrue("\(e)".contains("attribute git"), "\(e)")
        }
    }

    func testWrongTypeSaysStoredType() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("t.h5")
        let f = try HDF5File.create(url)
        try f.write([Int64(3)], shape: [1], at: "n")
        try f.write("x", at: "s")
        XCTAssertThrowsError(try f.read(Float.self, at: "n")) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "it is stored as int64, not float32")
            XCTAssertEqual((e as? HDF5Error)?.object, "/n")
        }
        XCTAssertThrowsError(try f.read(Int32.self, at: "n"))
        XCTAssertThrowsError(try f.readStrings(at: "n")) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "it is stored as int64, not string")
        }
        XCTAssertThrowsError(try f.read(UInt8.self, at: "s"))
        XCTAssertThrowsError(try f.read(Float.self, at: "/")) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "it is a group, not a dataset")
        }
    }

    func testReadOnlyAndClosedFiles() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("r.h5")
        try HDF5File.create(url).close()
        let f = try HDF5File.open(url)
        XCTAssertThrowsError(try f.write(Float(1), at: "x")) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "the file is open read-only")
        }
        try f.close()
        XCTAssertThrowsError(try f.children()) { e in
            XCTAssertEqual((e as? HDF5Error)?.reason, "the file is closed")
        }
    }
}
