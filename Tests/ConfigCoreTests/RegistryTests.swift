import Foundation
import XCTest
@testable import ConfigCore

/// The one registry every kind of part uses: builders, context, suggestions, defaults, ranges.
final class RegistryTests: XCTestCase {
    struct Widget { let name: String; let size: Int; let scale: Int }

    struct Node: Decodable {
        let widget: Widget
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: Key.self)
            widget = try RegistryTests.registry.build(from: try c.superDecoder(forKey: .widget), 10, defaultType: "square")
        }
        enum Key: String, CodingKey { case widget }
    }

    enum SizeKey: String, CodingKey { case type, size }

    /// Context = a scale the caller knows; the config gives the size.
    static let registry: Registry<Int, Widget> = {
        let r = Registry<Int, Widget>(kind: "widget")
        r.register("square", summary: "a square") { d, scale in
            let c = try d.container(keyedBy: SizeKey.self)
            return Widget(name: "square", size: try c.decode(.size, default: 2, in: 1...8), scale: scale)
        }
        r.register("circle") { _, scale in Widget(name: "circle", size: 0, scale: scale) }
        return r
    }()

    func build(_ json: String) throws -> Widget { try JSONDecoder().decode(Node.self, from: Data(json.utf8)).widget }

    func testBuildsWithContextAndDefaults() throws {
        let w = try build(#"{"widget": {"type": "square", "size": 3}}"#)
        XCTAssertEqual([w.name, "\(w.size)", "\(w.scale)"], ["square", "3", "10"])
        XCTAssertEqual(try build(#"{"widget": {}}"#).size, 2, "the default type and the default size")
        XCTAssertEqual(Self.registry.names, ["square", "circle"], "registration order")
        XCTAssertEqual(Self.registry.summary(of: "square"), "a square")
    }

    func testUnknownTypeSuggestsAndRangeNamesTheKey() {
        XCTAssertThrowsError(try build(#"{"widget": {"type": "sqare"}}"#)) {
            XCTAssertEqual("\($0)", "unknown widget 'sqare' (widget.type); did you mean 'square'?")
        }
        XCTAssertThrowsError(try build(#"{"widget": {"type": "hexagon"}}"#)) {
            XCTAssertEqual("\($0)", "unknown widget 'hexagon' (widget.type); known widgets: square, circle")
        }
        XCTAssertThrowsError(try build(#"{"widget": {"type": "square", "size": 9}}"#)) {
            XCTAssertEqual("\($0)", "widget.size: must be in [1, 8], got 9")
            XCTAssertEqual(($0 as? ConfigValueError)?.keyPath, "widget.size")
        }
    }

    func testNameSuggestion() {
        XCTAssertEqual(editDistance("seafomer", "seaformer"), 1)
        XCTAssertEqual(nearestName(to: "mIOU", in: ["mIoU", "mAcc"]), "mIoU")
        XCTAssertNil(nearestName(to: "zzzzzz", in: ["mIoU", "mAcc"]))
    }
}
