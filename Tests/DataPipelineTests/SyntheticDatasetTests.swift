import Foundation
import TensorEngine
import XCTest
@testable import DataPipeline

final class SyntheticDatasetTests: XCTestCase {
    private func dataset(_ task: SyntheticDataset.Task = .segmentation, seed: UInt64 = 0, split: String = "train", classes: Int = 6) throws -> SyntheticDataset {
        try SyntheticDataset(config: .init(numClasses: classes, imageSize: SizeHW(48), length: 100, seed: seed, split: split, task: task))
    }

    func testDeterministicPerSeedAndIndex() throws {
        let a = try dataset(), b = try dataset()
        let s3 = try a.load(3)
        XCTAssertEqual(s3.image, try b.load(3).image)
        XCTAssertEqual(s3.label, try b.load(3).label)
        XCTAssertEqual(s3.source, "synthetic:train:3")
        XCTAssertNotEqual(s3.image, try a.load(4).image)
        XCTAssertNotEqual(s3.image, try dataset(seed: 1).load(3).image)
        XCTAssertNotEqual(s3.image, try dataset(split: "val").load(3).image)
        // Loading from several threads gives the same pixels (no shared state).
        var images = [Image?](repeating: nil, count: 8)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let img = try! a.load(i).image
            lock.lock(); images[i] = img; lock.unlock()
        }
        for i in 0..<8 { XCTAssertEqual(images[i], try a.load(i).image) }
    }

    func testSegmentationScenesCoverEveryClass() throws {
        let ds = try dataset()
        XCTAssertEqual(ds.classNames.count, 6)
        XCTAssertEqual(ds.classNames[0], "background")
        var seen = Set<UInt8>()
        var objects = 0, big = 0
        for i in 0..<30 {
            let s = try ds.load(i)
            XCTAssertEqual([s.image.height, s.image.width, s.image.channels], [48, 48, 3])
            XCTAssertTrue(s.image.pixels.allSatisfy { $0 >= 0 && $0 <= 255 })
            let present = Set(s.label!.values)
            XCTAssertTrue(present.allSatisfy { $0 < 6 }, "labels \(present)")
            XCTAssertGreaterThanOrEqual(present.count, 2, "every scene has background and at least one object")
            // Objects are big enough to survive a 1/8 downsampling: few are occluded to slivers
            // smaller than one 6×6 cell of the stride-8 feature map.
            for c in present where c != 0 {
                objects += 1
                if s.label!.values.filter({ $0 == c }).count >= 36 { big += 1 }
            }
            seen.formUnion(present)
        }
        XCTAssertGreaterThan(Double(big) / Double(objects), 0.85, "\(big) of \(objects) objects cover a stride-8 cell")
        XCTAssertEqual(seen, Set(0..<6))
    }

    func testColourAloneDoesNotSeparateClasses() throws {
        // Mean hue ranges of different classes overlap: for each pair of adjacent object classes
        // some pixels of one are closer in RGB to the other's mean than to their own.
        let ds = try SyntheticDataset(config: .init(imageSize: SizeHW(48), length: 60, noise: 0))
        var sums = [[Double]](repeating: [0, 0, 0, 0], count: 6)
        var pixels: [(UInt8, [Float])] = []
        for i in 0..<60 {
            let s = try ds.load(i)
            for p in stride(from: 0, to: s.label!.values.count, by: 7) {
                let c = s.label!.values[p], rgb = Array(s.image.pixels[(p * 3)..<(p * 3 + 3)])
                sums[Int(c)][0] += Double(rgb[0]); sums[Int(c)][1] += Double(rgb[1]); sums[Int(c)][2] += Double(rgb[2]); sums[Int(c)][3] += 1
                pixels.append((c, rgb))
            }
        }
        let means = sums.map { s in (0..<3).map { Float(s[$0] / max(s[3], 1)) } }
        func nearest(_ rgb: [Float]) -> Int {
            (0..<6).min { a, b in zip(rgb, means[a]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) < zip(rgb, means[b]).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) }!
        }
        let correct = pixels.filter { nearest($0.1) == Int($0.0) }.count
        XCTAssertLessThan(Double(correct) / Double(pixels.count), 0.7, "a nearest-mean-colour classifier should do poorly")
    }

    func testClassificationForm() throws {
        let ds = try dataset(.classification, classes: 4)
        XCTAssertEqual(ds.classNames.count, 4)
        var seen = Set<Int>()
        for i in 0..<30 {
            let s = try ds.load(i)
            XCTAssertNil(s.label)
            let c = try XCTUnwrap(s.classIndex)
            XCTAssertTrue((0..<4).contains(c))
            seen.insert(c)
        }
        XCTAssertEqual(seen, Set(0..<4))
    }

    func testConfigDecodingAndValidation() throws {
        let c = try JSONDecoder().decode(SyntheticDataset.Config.self, from: Data(#"{"type": "synthetic", "num_classes": 3, "image_size": [32, 64], "length": 5}"#.utf8))
        XCTAssertEqual(c.numClasses, 3); XCTAssertEqual(c.imageSize, SizeHW(height: 32, width: 64)); XCTAssertEqual(c.length, 5)
        let s = try SyntheticDataset(config: c).load(0)
        XCTAssertEqual([s.image.height, s.image.width], [32, 64])
        XCTAssertThrowsError(try JSONDecoder().decode(SyntheticDataset.Config.self, from: Data(#"{"num_clases": 3}"#.utf8))) { e in
            XCTAssertEqual((e as? ConfigValueError)?.suggestion, "num_classes")
        }
        XCTAssertThrowsError(try SyntheticDataset(config: .init(numClasses: 1)))
    }
}
