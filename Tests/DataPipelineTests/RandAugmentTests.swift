import Foundation
import TensorEngine
import XCTest
@testable import DataPipeline

/// timm's RandAugment: the policy string, the level-to-argument mappings (checked against the
/// Pillow values of PILTransformTests at the levels that give the same arguments), and the
/// transform's draws.
final class RandAugmentTests: XCTestCase {
    func config(_ json: String) throws -> RandAugment.Config {
        try JSONDecoder().decode(RandAugment.Config.self, from: Data(json.utf8))
    }

    /// The 6×5 image of PILTransformTests: `(x·53 + y·29 + k·71) mod 256`.
    let rgb: ByteImage = {
        var bytes: [UInt8] = []
        for i in 0..<90 {
            let y = i / 18, x = i / 3 % 6, k = i % 3
            bytes.append(UInt8((x * 53 + y * 29 + k * 71) % 256))
        }
        return ByteImage(height: 5, width: 6, channels: 3, bytes: bytes)
    }()

    func testPolicyStringIsTimms() throws {
        let c = try config(#"{"policy": "rand-m9-mstd0.5"}"#)
        XCTAssertEqual([c.magnitude, c.magnitudeStd, c.magnitudeMax, c.prob], [9, 0.5, 10, 0.5])
        XCTAssertEqual(c.numOps, 2)
        XCTAssertFalse(c.increasing)
        XCTAssertEqual(c.fill, [124, 116, 104], "timm's img_mean: round(255 · ImageNet mean)")
        XCTAssertEqual(c.interpolation, .random)
        let d = try config(#"{"policy": "rand-m7-n3-mstd101-inc1-p0.8-mmax12"}"#)
        XCTAssertEqual(d.magnitude, 7)
        XCTAssertEqual(d.numOps, 3)
        XCTAssertEqual(d.magnitudeStd, .infinity, "mstd > 100 means uniform, as timm")
        XCTAssertTrue(d.increasing)
        XCTAssertEqual(d.prob, 0.8)
        XCTAssertEqual(d.magnitudeMax, 12)
        let defaults = try config("{}")
        XCTAssertEqual([defaults.magnitude, defaults.magnitudeStd], [10, 0], "timm's defaults")
    }

    func testBadSettingsAreLocatedErrors() {
        func message(_ json: String) -> String {
            do { _ = try config(json); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(#"{"policy": "rnd-m9"}"#).contains("must start with 'rand'"), message(#"{"policy": "rnd-m9"}"#))
        XCTAssertTrue(message(#"{"policy": "rand-q3"}"#).contains("unknown setting 'q'"))
        XCTAssertTrue(message(#"{"policy": "rand-mstd"}"#).contains("has no value"))
        XCTAssertTrue(message(#"{"policy": "rand-m9", "magnitude": 5}"#).contains("is set by policy 'rand-m9' already"))
        XCTAssertTrue(message(#"{"num_ops": 0}"#).contains("must be in [1, 16]"))
        XCTAssertTrue(message(#"{"fill": [1, 2]}"#).contains("three values"))
        XCTAssertTrue(message(#"{"interpolation": "bilinear"}"#).contains("as Pillow does"))
        XCTAssertTrue(message(#"{"magnitude_std": "huge"}"#).contains("a number or 'inf'"))
        XCTAssertTrue(message(#"{"magnitud": 9}"#).contains("unknown key 'magnitud'"))
    }

    /// The level → argument mappings: at magnitude 9 posterize keeps int(0.9·4) = 3 bits and
    /// solarize inverts from int(0.9·256) = 230; colour factors are level·1.8 + 0.1 (0.9 → 1.72,
    /// 0.2 → 0.46); rotation is ±30·level degrees, shear ±0.3·level, translation
    /// ±0.45·level·side.
    func testLevelsMapToTimmsArguments() {
        let ra = RandAugment(config: RandAugment.Config())
        let g = RandomGenerator(seed: 3)
        XCTAssertEqual(ra.apply(.posterize, level: 0.9, to: rgb, random: g), PILOps.posterize(rgb, bits: 3))
        XCTAssertEqual(ra.apply(.solarize, level: 0.9, to: rgb, random: g), PILOps.solarize(rgb, threshold: 230))
        XCTAssertEqual(ra.apply(.solarizeAdd, level: 0.9, to: rgb, random: g), PILOps.solarizeAdd(rgb, add: 99))
        XCTAssertEqual(ra.apply(.color, level: 0.9, to: rgb, random: g), PILOps.color(rgb, 1.72))
        XCTAssertEqual(ra.apply(.contrast, level: 0.2, to: rgb, random: g), PILOps.contrast(rgb, 0.46))
        XCTAssertEqual(ra.apply(.autoContrast, level: 0.9, to: rgb, random: g), PILOps.autocontrast(rgb))
        let fill: [UInt8] = [124, 116, 104]
        for seed in 0..<8 {
            let rotated = ra.apply(.rotate, level: 0.9, to: rgb, random: RandomGenerator(seed: UInt64(seed)))
            let candidates = [27.0, -27.0].flatMap { d in [PILOps.Resample.bilinear, .bicubic].map { PILOps.rotate(rgb, degrees: d, $0, fill: fill) } }
            XCTAssertTrue(candidates.contains(rotated), "rotation by ±27° (seed \(seed))")
            let moved = ra.apply(.translateXRel, level: 0.9, to: rgb, random: RandomGenerator(seed: UInt64(seed)))
            let shifts = [2.43, -2.43].flatMap { p in [PILOps.Resample.bilinear, .bicubic].map { PILOps.affine(rgb, [1, 0, p, 0, 1, 0], $0, fill: fill) } }
            XCTAssertTrue(shifts.contains(moved), "translation by ±0.45·0.9·6 px (seed \(seed))")
        }
        let increasing = RandAugment(config: { var c = RandAugment.Config(); c.increasing = true; return c }())
        XCTAssertEqual(increasing.apply(.posterize, level: 0.9, to: rgb, random: g), PILOps.posterize(rgb, bits: 1), "4 − int(0.9·4)")
        XCTAssertEqual(increasing.apply(.solarize, level: 0.9, to: rgb, random: g), PILOps.solarize(rgb, threshold: 26), "256 − 230")
    }

    /// Each op fires with probability `prob`: with one op per image, about half of 400 images
    /// come out untouched at p = 0.5 (ops that change nothing on this image aside), none at p = 1.
    func testOpsFireWithTheirProbabilityAndSeedsRepeat() throws {
        let image = rgb.image
        func run(_ c: RandAugment.Config, seed: UInt64) throws -> Image {
            var s = Sample(image: image, source: "test")
            try RandAugment(config: c).apply(&s, random: RandomGenerator(seed: seed))
            return s.image
        }
        var c = RandAugment.Config()
        c.numOps = 1
        c.magnitude = 9
        c.magnitudeStd = 0.5
        var untouched = 0
        for seed in 0..<400 where try run(c, seed: UInt64(seed)) == image { untouched += 1 }
        XCTAssertEqual(Double(untouched) / 400, 0.5, accuracy: 0.1)
        c.prob = 1
        var changed = 0
        for seed in 0..<100 where try run(c, seed: UInt64(seed)) != image { changed += 1 }
        XCTAssertGreaterThan(changed, 85, "equalize leaves this small image alone; every other op changes it")
        XCTAssertEqual(try run(c, seed: 7), try run(c, seed: 7))
        let out = try run(c, seed: 11)
        XCTAssertTrue(out.pixels.allSatisfy { $0 == $0.rounded() && (0...255).contains($0) }, "8-bit values, as Pillow's")
        var grey = Sample(image: Image(height: 2, width: 2, channels: 1, pixels: [1, 2, 3, 4]), source: "grey.png")
        XCTAssertThrowsError(try RandAugment(config: c).apply(&grey, random: RandomGenerator(seed: 1))) {
            XCTAssertTrue("\($0)".contains("needs an RGB image"), "\($0)")
        }
    }

    func testRegisteredAsATransform() throws {
        let pipeline = try JSONDecoder().decode(Pipeline.self, from: Data(#"[{"type": "rand_augment", "policy": "rand-m9-mstd0.5"}]"#.utf8))
        var s = Sample(image: rgb.image, source: "test")
        try pipeline.apply(&s, random: RandomGenerator(seed: 2))
        XCTAssertEqual(s.image.height, 5)
    }
}
