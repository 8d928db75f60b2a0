import XCTest
@testable import DataPipeline

/// Round trips through libspng and libjpeg-turbo, and typed errors for damaged files.
final class CodecTests: XCTestCase {
    private func gradient(h: Int, w: Int, c: Int) -> Image {
        var img = Image(height: h, width: w, channels: c)
        for i in 0..<img.pixels.count { img.pixels[i] = Float((i * 37 + i / 7) % 256) }
        return img
    }

    func testPNGRoundTripRGBAndGray() throws {
        let rgb = gradient(h: 8, w: 12, c: 3)
        XCTAssertEqual(try PNG.decode(PNG.encode(rgb), path: "rgb.png"), rgb)
        let gray = gradient(h: 5, w: 7, c: 1)
        XCTAssertEqual(try PNG.decode(PNG.encode(gray), path: "g.png", channels: nil), gray)
        // As an image, gray expands to three equal channels.
        let expanded = try PNG.decode(PNG.encode(gray), path: "g.png")
        XCTAssertEqual(expanded.channels, 3)
        XCTAssertEqual(Array(expanded.pixels[0..<3]), [gray.pixels[0], gray.pixels[0], gray.pixels[0]])
        // Gray PNG read as a label map gives its values.
        let lab = LabelMap(height: 5, width: 7, values: gray.pixels.map { UInt8($0) })
        XCTAssertEqual(try PNG.decodeLabel(PNG.encodeLabel(lab), path: "l.png"), lab)
    }

    func testPaletteRoundTripIndicesAndColours() throws {
        let palette: [[UInt8]] = [[128, 64, 128], [244, 35, 232], [70, 70, 70]]
        let values: [UInt8] = [0, 1, 2, 255, 2, 1, 0, 0, 1, 255, 2, 2]
        let label = LabelMap(height: 3, width: 4, values: values)
        let bytes = try PNG.encodeLabel(label, palette: palette)
        XCTAssertEqual(try PNG.decodeLabel(bytes, path: "p.png"), label, "label maps read palette INDICES")
        let asImage = try PNG.decode(bytes, path: "p.png")
        XCTAssertEqual(Array(asImage.pixels[3..<6]), [244, 35, 232], "images read palette COLOURS")
        XCTAssertEqual(Array(asImage.pixels[9..<12]), [0, 0, 0], "ignore (255) is padded black")
    }

    func testJPEGRoundTripIsClose() throws {
        // A smooth image survives quality-100 4:4:4 JPEG within a few levels.
        var img = Image(height: 16, width: 24, channels: 3)
        for y in 0..<16 { for x in 0..<24 { for c in 0..<3 {
            img.pixels[(y * 24 + x) * 3 + c] = Float(40 + 5 * x + 3 * y + 20 * c)
        } } }
        let back = try JPEG.decode(JPEG.encode(img, quality: 100), path: "x.jpg")
        XCTAssertEqual(back.height, 16); XCTAssertEqual(back.width, 24); XCTAssertEqual(back.channels, 3)
        let maxErr = zip(back.pixels, img.pixels).map { abs($0 - $1) }.max()!
        XCTAssertLessThanOrEqual(maxErr, 3)
        // Gray JPEGs decode to RGB.
        let g = try JPEG.decode(JPEG.encode(Image(height: 4, width: 4, channels: 1, fill: 100)), path: "g.jpg")
        XCTAssertEqual(g.channels, 3)
        XCTAssertEqual(g.pixels[0], 100, accuracy: 1)
    }

    func testFilesDispatchOnContentNotExtension() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("codec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let img = gradient(h: 4, w: 6, c: 3)
        let png = dir.appendingPathComponent("really_png.JPEG")
        try writeBytes(PNG.encode(img), to: png)
        XCTAssertEqual(try readImage(png), img)
        let lab = LabelMap(height: 2, width: 2, values: [0, 1, 2, 255])
        let lpath = dir.appendingPathComponent("l.png")
        try writeLabelMap(lab, to: lpath, palette: [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        XCTAssertEqual(try readLabelMap(lpath), lab)
    }

    func testTruncatedAndRandomFilesAreTypedErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("codec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let img = gradient(h: 32, w: 32, c: 3)
        let png = try PNG.encode(img), jpg = try JPEG.encode(img)
        var rng = SystemRandomNumberGenerator()
        let cases: [(String, [UInt8])] = [
            ("truncated.png", Array(png.prefix(png.count / 2))),
            ("truncated.jpg", Array(jpg.prefix(jpg.count / 2))),
            ("random.png", (0..<500).map { _ in UInt8.random(in: 0...255, using: &rng) }),
            ("random.jpg", [0xFF, 0xD8, 0xFF] + (0..<500).map { _ in UInt8.random(in: 0...255, using: &rng) }),
            ("empty.png", []),
        ]
        for (name, bytes) in cases {
            let url = dir.appendingPathComponent(name)
            try writeBytes(bytes, to: url)
            XCTAssertThrowsError(try readImage(url), name) { error in
                guard let e = error as? DataError, case .corruptFile = e else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue(e.message.contains(url.path), e.message)
            }
        }
        // A truncated palette label is an error too, and an RGB PNG is refused as a label map.
        let lab = try PNG.encodeLabel(LabelMap(height: 16, width: 16, fill: 3), palette: [[0, 0, 0]])
        XCTAssertThrowsError(try PNG.decodeLabel(Array(lab.prefix(lab.count - 20)), path: "/x/lab.png")) {
            XCTAssertTrue(($0 as? DataError)?.message.contains("/x/lab.png") == true, "\($0)")
        }
        XCTAssertThrowsError(try PNG.decodeLabel(png, path: "/x/colour.png")) {
            XCTAssertTrue(($0 as? DataError)?.message.contains("palette or grayscale") == true, "\($0)")
        }
        XCTAssertThrowsError(try readImage(dir.appendingPathComponent("missing.jpg"))) {
            XCTAssertTrue(($0 as? DataError)?.message.contains("missing.jpg") == true)
        }
    }
}
