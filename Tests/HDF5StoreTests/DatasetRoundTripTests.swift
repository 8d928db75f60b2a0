import HDF5Store
import XCTest

final class DatasetRoundTripTests: XCTestCase {
    func testEveryTypeAndRankRoundTrips() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("a.h5")
        let f = try HDF5File.create(url)
        try f.write(Float(1.5), at: "scalars/f")
        try f.write(Double(-2.25), at: "scalars/d")
        try f.write(Int32(-7), at: "scalars/i32")
        try f.write(Int64(1) << 40, at: "scalars/i64")
        try f.write(UInt8(255), at: "scalars/u8")
        try f.write("héllo", at: "scalars/s")
        try f.write([Float](), shape: [0], at: "empty/f")
        try f.write([String](), shape: [0, 3], at: "empty/s")
        try f.write((0..<24).map { Float($0) * 0.5 }, shape: [2, 3, 4], at: "arrays/f3")
        try f.write((0..<6).map { Double($0) - 2.5 }, shape: [6], at: "arrays/d1")
        try f.write([Int32.min, 0, Int32.max, 5], shape: [2, 2], at: "arrays/i32")
        try f.write([Int64.min, Int64.max], shape: [2], at: "arrays/i64")
        try f.write((0..<16).map { UInt8($0 * 16) }, shape: [1, 2, 2, 2, 2], at: "arrays/u8")
        try f.write(["a", "bc", "", "ünï"], shape: [2, 2], at: "arrays/s")
        try f.close()

        let g = try HDF5File.open(url)
        XCTAssertEqual(try g.readScalar(Float.self, at: "scalars/f"), 1.5)
        XCTAssertEqual(try g.readScalar(Double.self, at: "/scalars/d"), -2.25)
        XCTAssertEqual(try g.readScalar(Int32.self, at: "scalars/i32"), -7)
        XCTAssertEqual(try g.readScalar(Int64.self, at: "scalars/i64"), 1 << 40)
        XCTAssertEqual(try g.readScalar(UInt8.self, at: "scalars/u8"), 255)
        XCTAssertEqual(try g.readString(at: "scalars/s"), "héllo")
        XCTAssertEqual(try g.shape(at: "scalars/f"), [])
        XCTAssertEqual(try g.read(Float.self, at: "empty/f"), [])
        XCTAssertEqual(try g.shape(at: "empty/f"), [0])
        XCTAssertEqual(try g.readStrings(at: "empty/s"), [])
        XCTAssertEqual(try g.shape(at: "empty/s"), [0, 3])
        XCTAssertEqual(try g.read(Float.self, at: "arrays/f3"), (0..<24).map { Float($0) * 0.5 })
        XCTAssertEqual(try g.shape(at: "arrays/f3"), [2, 3, 4])
        XCTAssertEqual(try g.read(Double.self, at: "arrays/d1"), [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
        XCTAssertEqual(try g.read(Int32.self, at: "arrays/i32"), [Int32.min, 0, Int32.max, 5])
        XCTAssertEqual(try g.read(Int64.self, at: "arrays/i64"), [Int64.min, Int64.max])
        XCTAssertEqual(try g.read(UInt8.self, at: "arrays/u8"), (0..<16).map { UInt8($0 * 16) })
        XCTAssertEqual(try g.shape(at: "arrays/u8"), [1, 2, 2, 2, 2])
        XCTAssertEqual(try g.readStrings(at: "arrays/s"), ["a", "bc", "", "ünï"])
    }

    func testGroupsChildrenExistsAndReplace() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("g.h5")
        let f = try HDF5File.create(url)
        let smb = try f.createGroup(HDF5Path.fromDotted("model.backbone.smb1"))
        XCTAssertEqual(smb.path, "/model/backbone/smb1")
        try smb.write([Float](repeating: 1, count: 4), shape: [2, 2], at: "conv/weight")
        try smb.write([Float](repeating: 2, count: 2), shape: [2], at: "conv/bias")
        try f.write([Float(3)], shape: [1], at: "/model/backbone/smb1/conv/bias") // replaces
        XCTAssertEqual(try f.read(Float.self, at: "model/backbone/smb1/conv/bias"), [3])
        XCTAssertEqual(try f.children(), ["model"])
        XCTAssertEqual(try f.group("model/backbone").children("smb1/conv"), ["bias", "weight"])
        XCTAssertEqual(try f.kind(of: "model/backbone"), .group)
        XCTAssertEqual(try f.kind(of: "model/backbone/smb1/conv/weight"), .dataset)
        XCTAssertTrue(try f.exists("model"))
        XCTAssertFalse(try f.exists("model/nope/deeper"))
        XCTAssertEqual(try f.createGroup("model/backbone").path, "/model/backbone") // existing is fine
        try f.remove("model/backbone/smb1/conv/bias")
        XCTAssertEqual(try smb.children("conv"), ["weight"])
    }

    func testAttributesOnFileGroupAndDataset() throws {
        let url = try makeTestDirectory(self).appendingPathComponent("attr.h5")
        let f = try HDF5File.create(url)
        try f.write([Float(1), 2], shape: [2], at: "model/w")
        try f.setAttribute("iter", Int64(1200))
        try f.setAttribute("seed", Int64(7))
        try f.setAttribute("git", "abc123")
        try f.setAttribute("lr", 2.5e-4)
        try f.setAttribute("mean", [Float(0.485), 0.456, 0.406], on: "model")
        try f.setAttribute("dims", [Int64(2)], on: "model/w")
        try f.setAttribute("iter", Int64(1300)) // replaces
        try f.setAttribute("empty", [Int64](), on: "model")
        try f.close()

        let g = try HDF5File.open(url)
        XCTAssertEqual(try g.attribute("iter", as: Int64.self), 1300)
        XCTAssertEqual(try g.attribute("lr", as: Double.self), 2.5e-4)
        XCTAssertEqual(try g.stringAttribute("git"), "abc123")
        XCTAssertEqual(try g.attributeArray("mean", as: Float.self, of: "model"), [0.485, 0.456, 0.406])
        XCTAssertEqual(try g.group("model").attributeArray("dims", as: Int64.self, of: "w"), [2])
        XCTAssertEqual(try g.attributeArray("empty", as: Int64.self, of: "model"), [])
        XCTAssertEqual(try g.attributeNames(), ["git", "iter", "lr", "seed"])
        XCTAssertTrue(try g.hasAttribute("seed"))
        XCTAssertFalse(try g.hasAttribute("version"))
    }
}
