import Foundation
import TensorEngine
import XCTest
@testable import DataPipeline

/// Mixup, CutMix, label smoothing and random erasing of the ImageNet recipe, seeded, against
/// their definitions.
final class ClassificationAugmentationTests: XCTestCase {
    /// Four 4×4 one-channel images filled with 0, 1, 2, 3; labels 0…3 of 4 classes.
    func batch() -> (Tensor, Tensor) {
        (Tensor((0..<4).flatMap { [Float](repeating: Float($0), count: 16) }, shape: [4, 4, 4, 1]), Tensor([0, 1, 2, 3], shape: [4]))
    }

    func testMixupBlendsEachSampleWithItsMirrorAndTheTargetsAlike() {
        let (x, y) = batch()
        let mix = BatchMix(mixupAlpha: 0.2, labelSmoothing: 0.1)
        let out = mix.apply(images: x, labels: y, numClasses: 4, random: RandomGenerator(seed: 5))
        XCTAssertEqual(out.kind, .mixup)
        let l = Float(out.lambda)
        XCTAssertTrue((0...1).contains(l))
        let pixels = out.images.toArray()
        XCTAssertEqual(pixels[0], l * 0 + (1 - l) * 3, accuracy: 1e-6, "sample 0 with sample 3")
        XCTAssertEqual(pixels[16], l * 1 + (1 - l) * 2, accuracy: 1e-6, "sample 1 with sample 2")
        let t = out.targets.toArray()
        // Sample 0: λ·smooth(0) + (1 − λ)·smooth(3), smooth = 0.9·onehot + 0.025.
        XCTAssertEqual(t[0], l * 0.925 + (1 - l) * 0.025, accuracy: 1e-6)
        XCTAssertEqual(t[3], l * 0.025 + (1 - l) * 0.925, accuracy: 1e-6)
        for row in 0..<4 { XCTAssertEqual(t[(row * 4)..<(row * 4 + 4)].reduce(0, +), 1, accuracy: 1e-6) }
    }

    func testCutMixPastesABoxAndLambdaIsTheShareKept() throws {
        let (x, y) = batch()
        let mix = BatchMix(cutmixAlpha: 1.0)
        var sawBox = false
        for seed in 0..<20 {
            let out = mix.apply(images: x, labels: y, numClasses: 4, random: RandomGenerator(seed: UInt64(seed)))
            guard case let .cutmix(top, left, h, w) = out.kind else { return XCTFail("cutmix only") }
            XCTAssertEqual(out.lambda, 1 - Double(h * w) / 16, accuracy: 1e-12)
            let p = out.images.toArray()
            for yy in 0..<4 {
                for xx in 0..<4 {
                    let inBox = yy >= top && yy < top + h && xx >= left && xx < left + w
                    XCTAssertEqual(p[yy * 4 + xx], inBox ? 3 : 0, "sample 0 at (\(yy), \(xx))")
                }
            }
            let t = out.targets.toArray()
            XCTAssertEqual(t[0], Float(out.lambda), accuracy: 1e-6)
            XCTAssertEqual(t[3], Float(1 - out.lambda), accuracy: 1e-6)
            if h * w > 0 { sawBox = true }
        }
        XCTAssertTrue(sawBox)
    }

    func testNoMixingGivesSmoothedOneHotsAndBetaHasItsMean() {
        let (x, y) = batch()
        let out = BatchMix(labelSmoothing: 0.2).apply(images: x, labels: y, numClasses: 4, random: RandomGenerator(seed: 1))
        XCTAssertEqual(out.kind, .none)
        XCTAssertEqual(out.images.toArray(), x.toArray())
        XCTAssertEqual(Array(out.targets.toArray().prefix(4)), [0.85, 0.05, 0.05, 0.05])
        // Beta(α, α) is symmetric with mean ½ and variance 1/(4(2α + 1)); 4000 seeded draws.
        let r = RandomGenerator(seed: 11)
        let draws = (0..<4000).map { _ in BatchMix.beta(0.2, r) }
        let mean = draws.reduce(0, +) / 4000
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4000
        XCTAssertEqual(mean, 0.5, accuracy: 0.03)
        XCTAssertEqual(variance, 1 / (4 * 1.4), accuracy: 0.02)
        XCTAssertEqual((0..<2000).map { _ in BatchMix.gamma(2.5, r) }.reduce(0, +) / 2000, 2.5, accuracy: 0.15, "Gamma(α) has mean α")
    }

    func testRandomErasingReplacesOneRectangleWithNoise() throws {
        let image = Image(height: 20, width: 30, channels: 3, fill: 7)
        let erase = RandomErasing(config: .init(prob: 1, mode: .pixel))
        var changedAtLeastOnce = false
        for seed in 0..<10 {
            var s = Sample(image: image, source: "t")
            try erase.apply(&s, random: RandomGenerator(seed: UInt64(seed)))
            let changed = (0..<600).filter { s.image.pixels[$0 * 3] != 7 }
            guard !changed.isEmpty else { continue }
            changedAtLeastOnce = true
            let ys = changed.map { $0 / 30 }, xs = changed.map { $0 % 30 }
            let h = ys.max()! - ys.min()! + 1, w = xs.max()! - xs.min()! + 1
            XCTAssertEqual(changed.count, h * w, "one solid rectangle")
            XCTAssertTrue(Double(h * w) / 600 >= 0.02 * 0.8 && Double(h * w) / 600 <= 1 / 3.0 * 1.2, "area \(h * w)")
        }
        XCTAssertTrue(changedAtLeastOnce)
        var untouched = Sample(image: image, source: "t")
        try RandomErasing(config: .init(prob: 0)).apply(&untouched, random: RandomGenerator(seed: 1))
        XCTAssertEqual(untouched.image, image)
        XCTAssertThrowsError(try JSONDecoder().decode(RandomErasing.Config.self, from: Data(#"{"prob": 1.5}"#.utf8))) {
            XCTAssertEqual("\($0)", "prob: must be in [0, 1], got 1.5")
        }
    }
}
