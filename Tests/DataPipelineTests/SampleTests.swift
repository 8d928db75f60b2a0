import XCTest
@testable import DataPipeline

final class SampleTests: XCTestCase {
    func testImageAndLabelShapes() {
        let img = Image(height: 2, width: 3, channels: 3, fill: 7)
        XCTAssertEqual(img.pixels.count, 18)
        let lab = LabelMap(height: 2, width: 3)
        XCTAssertEqual(lab.values, [UInt8](repeating: 255, count: 6))
        let s = Sample(image: img, label: lab, source: "x.png")
        XCTAssertEqual(s.originalSize.height, 2)
        XCTAssertEqual(s.originalSize.width, 3)
    }
}
