import Foundation
import XCTest
@testable import DataPipeline

/// The realistic generated datasets (`DatasetFixtures.write`) read back through `makeDataset`
/// with default options: right count and size, and labels that decode to exactly the synthetic
/// scene's classes (so each layout's label encoding — ADE20K/NYUv2 1-based, others train ids —
/// is written the way its loader reads it).
final class DatasetFixturesTests: XCTestCase {
    func testEveryTypeReadsBackItsSyntheticScenes() throws {
        let size = SizeHW(height: 20, width: 28), n = 4  // 4: one ACDC image per weather condition
        for type in DatasetFixtures.types {
            let root = FixtureWriter.tempRoot("gen-\(type)")
            defer { try? FileManager.default.removeItem(at: root) }
            try DatasetFixtures.write(type: type, root: root, count: n, size: size, seed: 5)
            let ds = try makeDataset(type: type, root: root, split: "train", options: DatasetFixtures.options(for: type))
            XCTAssertEqual(ds.count, n, type)
            let scenes = try SyntheticDataset(config: .init(numClasses: type == "imagenet" ? 4 : 6, imageSize: size, length: n, seed: 5,
                                                            task: type == "imagenet" ? .classification : .segmentation))
            let expected = try (0..<n).map { try scenes.load($0) }
            var seen = Set<Int>()
            for i in 0..<n {
                let s = try ds.load(i)
                XCTAssertEqual([s.image.height, s.image.width, s.image.channels], [20, 28, 3], type)
                if type == "imagenet" {
                    XCTAssertNotNil(s.classIndex)
                    continue
                }
                let match = expected.firstIndex { $0.label!.values == s.label!.values }
                XCTAssertNotNil(match, "\(type): sample \(i) label is none of the written scenes' labels")
                if let m = match { seen.insert(m) }
            }
            if type != "imagenet" { XCTAssertEqual(seen.count, n, type) }
        }
    }
}
