import Foundation
@testable import DataPipeline

/// Tiny datasets (8×12 pixels, a few images) in each real on-disk layout, written by the
/// library's `DatasetFixtures`. Every image is a uniform colour derived from its number `k`, and
/// labels are patterns chosen by the test, so a test can tell which image a label was paired
/// with. The layouts live in one place (the library); this file only maps `k` to its image.
enum FixtureWriter {
    static let height = 8, width = 12

    /// A fresh temporary directory (removed by the caller's `defer`).
    static func tempRoot(_ tag: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vitlab-\(tag)-\(UUID().uuidString)", isDirectory: true)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The colour image number `k` is filled with (exact in PNG, within ±2 in JPEG).
    static func colour(_ k: Int) -> [Float] { [Float(20 * k + 10), Float(100 + 7 * k), Float(200 - 9 * k)] }

    static func image(_ k: Int) -> Image {
        var img = Image(height: height, width: width, channels: 3)
        let c = colour(k)
        for i in 0..<(height * width) { for ch in 0..<3 { img.pixels[3 * i + ch] = c[ch] } }
        return img
    }

    /// A label whose first pixels are `head` and the rest `fill`.
    static func label(_ head: [UInt8], fill: UInt8) -> LabelMap {
        var v = [UInt8](repeating: fill, count: height * width)
        for (i, x) in head.enumerated() { v[i] = x }
        return LabelMap(height: height, width: width, values: v)
    }

    static func writeImage(_ k: Int, to url: URL) throws { try DataPipeline.writeImage(image(k), to: url) }

    static func writeLabel(_ l: LabelMap, to url: URL, palette: [[UInt8]]? = nil) throws {
        try writeLabelMap(l, to: url, palette: palette)
    }

    static func touchDirectory(_ url: URL) {
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    static func writeText(_ text: String, to url: URL) throws { try DatasetFixtures.writeText(text, to: url) }

    // MARK: - layouts (each entry: file stem, image number k, raw label)

    /// ADE20K with palette label PNGs (palette PNGs must give their indices).
    static func ade20k(_ root: URL, split: String, _ entries: [(String, Int, LabelMap)]) throws {
        try DatasetFixtures.ade20k(root, split: split, entries.map { ($0.0, image($0.1), $0.2) }, palette: [[0, 0, 0], [120, 120, 120]])
    }

    static func cityscapes(_ root: URL, split: String, _ entries: [(city: String, stem: String, k: Int, label: LabelMap, trainIds: Bool)]) throws {
        try DatasetFixtures.cityscapes(root, split: split, entries.map { ($0.city, $0.stem, image($0.k), $0.label, $0.trainIds) })
    }

    static func acdc(_ root: URL, split: String, _ entries: [(condition: String, seq: String, stem: String, k: Int, label: LabelMap)]) throws {
        try DatasetFixtures.acdc(root, split: split, entries.map { ($0.condition, $0.seq, $0.stem, image($0.k), $0.label) })
    }

    static func pascalContext(_ root: URL, split: String, _ entries: [(String, Int, LabelMap)], extraListed: [String] = []) throws {
        try DatasetFixtures.pascalContext(root, split: split, entries.map { ($0.0, image($0.1), $0.2) }, extraListed: extraListed)
    }

    static func cocoStuff(_ root: URL, split: String, _ entries: [(stem: String, k: Int, label: LabelMap, trainIds: Bool)]) throws {
        try DatasetFixtures.cocoStuff(root, split: split, entries.map { ($0.stem, image($0.k), $0.label, $0.trainIds) })
    }

    static func nyuv2Extracted(_ root: URL, train: [(String, Int, LabelMap)], test: [(String, Int, LabelMap)]) throws {
        try DatasetFixtures.nyuv2Extracted(root, train: train.map { ($0.0, image($0.1), $0.2) }, test: test.map { ($0.0, image($0.1), $0.2) })
    }

    /// Image n of the .mat file is `image(n)`.
    static func nyuv2Mat(_ url: URL, rawLabels: [[UInt16]], userBlock: Bool = true) throws {
        try DatasetFixtures.nyuv2Mat(url, images: rawLabels.indices.map(image), rawLabels: rawLabels, userBlock: userBlock)
    }

    static func imagenetFolders(_ root: URL, split: String, _ entries: [(wnid: String, file: String, k: Int)]) throws {
        try DatasetFixtures.imagenetFolders(root, split: split, entries.map { ($0.wnid, $0.file, image($0.k)) })
    }

    static func imagenetFlatVal(_ root: URL, _ entries: [(file: String, k: Int, cls: String)], labelLines: [String]? = nil) throws {
        try DatasetFixtures.imagenetFlatVal(root, entries.map { ($0.file, image($0.k), $0.cls) }, labelLines: labelLines)
    }
}
