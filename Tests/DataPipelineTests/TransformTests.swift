import Foundation
import TensorEngine
import XCTest
@testable import DataPipeline

/// A 3×4 RGB image whose values are (i · 7.3) mod 255 (float32), as used for the OpenCV numbers.
private func testImage() -> Image {
    Image(height: 3, width: 4, channels: 3, pixels: (0..<36).map { Float((Double(Float($0) * 7.3)).truncatingRemainder(dividingBy: 255)) })
}

private func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(json.utf8))
}

/// Decodes a transform node through the registry.
private struct Built: Decodable {
    let transform: any Transform
    init(from decoder: Decoder) throws { transform = try TransformRegistry.standard.build(from: decoder) }
}

private func sample(_ h: Int, _ w: Int, labels: [UInt8]? = nil, fill: (Int) -> Float = { Float($0 % 251) }) -> Sample {
    let img = Image(height: h, width: w, channels: 3, pixels: (0..<(h * w * 3)).map(fill))
    return Sample(image: img, label: labels.map { LabelMap(height: h, width: w, values: $0) }, source: "test:\(h)x\(w)")
}

final class TransformTests: XCTestCase {
    // MARK: resampling kernels

    func testBilinearMatchesOpenCV() {
        let img = testImage()
        // cv2.resize(img, (7, 5), interpolation=cv2.INTER_LINEAR), cv2 5.0, float32 input; first/last values.
        let up = resizeBilinear(img, height: 5, width: 7)
        let upRef: [Float] = [0.0, 7.3, 14.6, 7.821429, 15.121429, 22.421429, 20.335714, 27.635715, 34.935715, 32.85, 40.15, 47.45]
        for (a, b) in zip(up.pixels.prefix(12), upRef) { XCTAssertEqual(a, b, accuracy: 1e-4) }
        XCTAssertEqual(up.pixels[76], 192.82430, accuracy: 1e-3)  // row 3, x 4: mixes in the 0.5 of the last pixel
        XCTAssertEqual(up.pixels[77], 189.19572, accuracy: 1e-3)
        XCTAssertEqual(up.pixels[104], 0.5, accuracy: 1e-4)
        // cv2.resize(img, (3, 2), INTER_LINEAR)
        let down = resizeBilinear(img, height: 2, width: 3)
        let downRef: [Float] = [25.55, 32.85, 40.15, 54.75, 62.05, 69.35, 83.95, 91.25, 98.55,
                                156.95, 164.25, 171.55, 186.15, 193.45, 200.75, 215.35, 222.65, 70.575]
        for (a, b) in zip(down.pixels, downRef) { XCTAssertEqual(a, b, accuracy: 1e-3) }
    }

    func testNearestMatchesOpenCV() {
        let lab = LabelMap(height: 3, width: 4, values: Array(0..<12))
        // cv2.resize(lab, (7, 5), interpolation=cv2.INTER_NEAREST)
        XCTAssertEqual(resizeNearest(lab, height: 5, width: 7).values,
                       [0, 0, 1, 1, 2, 2, 3, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7, 4, 4, 5, 5, 6, 6, 7, 8, 8, 9, 9, 10, 10, 11])
        XCTAssertEqual(resizeNearest(lab, height: 2, width: 3).values, [0, 1, 2, 4, 5, 6])
    }

    func testHSVMatchesOpenCV() {
        // cv2.cvtColor(float32 RGB, COLOR_RGB2HSV)
        let cases: [([Float], [Float])] = [([200, 50, 30], [7.0588236, 0.85, 200]), ([10, 240, 100], [143.47826, 0.9583333, 240]),
                                           ([30, 60, 220], [230.52632, 0.8636364, 220]), ([128, 128, 128], [0, 0, 128])]
        for (rgb, hsv) in cases {
            let (h, s, v) = rgbToHSV(rgb[0], rgb[1], rgb[2])
            XCTAssertEqual(h, hsv[0], accuracy: 1e-3); XCTAssertEqual(s, hsv[1], accuracy: 1e-5); XCTAssertEqual(v, hsv[2])
            let (r, g, b) = hsvToRGB(h, s, v)
            XCTAssertEqual(r, rgb[0], accuracy: 1e-3); XCTAssertEqual(g, rgb[1], accuracy: 1e-3); XCTAssertEqual(b, rgb[2], accuracy: 1e-3)
        }
        // H + 36°, S × 1.3 clipped to 1, back with COLOR_HSV2RGB
        let (h, s, v) = rgbToHSV(200, 50, 30)
        let (r, g, b) = hsvToRGB(h + 36, min(s * 1.3, 1), v)
        XCTAssertEqual(r, 200, accuracy: 1e-3); XCTAssertEqual(g, 143.52942, accuracy: 1e-2); XCTAssertEqual(b, 0, accuracy: 1e-3)
    }

    // MARK: resize

    func testRescaleSizeMatchesMMCV() {
        // mmcv.rescale_size((w, h), scale) for these shapes, computed with its formula in Python.
        let cases: [((Int, Int), (Int, Int), (Int, Int))] = [
            ((375, 500), (2048, 512), (512, 683)), ((1024, 2048), (2048, 512), (512, 1024)), ((300, 4000), (2048, 512), (154, 2048)),
            ((512, 512), (1433, 358), (358, 358)), ((333, 517), (1024, 256), (256, 397)), ((1080, 1920), (2048, 1024), (1024, 1820)),
        ]
        for (hw, scale, expected) in cases {
            let s = rescaleSize(height: hw.0, width: hw.1, scale: scale)
            XCTAssertEqual(s.height, expected.0, "\(hw) → \(scale)"); XCTAssertEqual(s.width, expected.1, "\(hw) → \(scale)")
        }
    }

    func testRandomResizeKeepsRatioWithinRangeAndNeverInterpolatesLabels() throws {
        let t = RandomResize(config: .init(scale: [64, 16], ratioRange: ClosedPair(0.5, 2.0)))
        let labels: [UInt8] = (0..<(12 * 20)).map { [0, 3, 7, 255][($0 / 7) % 4] }
        let s = sample(12, 20, labels: labels)
        var sizes = Set<Int>()
        for seed in 0..<20 {
            let out = try t(s, random: RandomGenerator(seed: UInt64(seed)))
            // Some ratio r in [0.5, 2) gave scale (int(64r), int(16r)); the size is mmcv's for it.
            let matches = stride(from: 0.5, to: 2.0, by: 0.0005).contains { r in
                let e = rescaleSize(height: 12, width: 20, scale: (Int(64 * r), Int(16 * r)))
                return e.height == out.image.height && e.width == out.image.width
            }
            XCTAssertTrue(matches, "size \(out.image.height)×\(out.image.width) is not a rescale of 12×20 within the ratio range")
            XCTAssertEqual(out.label!.height, out.image.height); XCTAssertEqual(out.label!.width, out.image.width)
            XCTAssertTrue(Set(out.label!.values).isSubset(of: [0, 3, 7, 255]))
            sizes.insert(out.image.height)
        }
        XCTAssertGreaterThan(sizes.count, 5, "the ratio should vary with the generator")
    }

    func testTestResizeWithSizeDivisorAndShortSide() throws {
        let s = sample(375, 500, labels: [UInt8](repeating: 1, count: 375 * 500))
        let r = Resize(config: try decode(Resize.Config.self, #"{"scale": [2048, 512], "size_divisor": 32}"#))
        let out = try r(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual([out.image.height, out.image.width], [512, 704])  // 512×683 then up to a multiple of 32
        XCTAssertEqual([out.label!.height, out.label!.width], [512, 704])
        let keep = Resize(config: try decode(Resize.Config.self, #"{"scale": [2048, 512], "resize_label": false}"#))
        let kept = try keep(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual([kept.image.height, kept.image.width, kept.label!.height, kept.label!.width], [512, 683, 375, 500])
        // timm eval: shorter side floor(224 / 0.875) = 256, longer int(256 · 400 / 300) = 341.
        let timm = Resize(config: try decode(Resize.Config.self, #"{"short_side": 224, "crop_pct": 0.875}"#))
        let c = try timm(sample(300, 400), random: RandomGenerator(seed: 0))
        XCTAssertEqual([c.image.height, c.image.width], [256, 341])
        let fixed = Resize(config: .init(scale: [30, 20], keepRatio: false))
        let f = try fixed(sample(7, 9), random: RandomGenerator(seed: 0))
        XCTAssertEqual([f.image.height, f.image.width], [20, 30])  // mmseg's scale is (w, h)
    }

    // MARK: crops

    func testRandomCropRespectsCatMaxRatio() throws {
        // 64×64, class 2 in columns < 12, class 1 elsewhere: a 32×32 crop is acceptable only at
        // x ≤ 4 (5 of 33 offsets), so most crops are dominated by class 1.
        let labels = (0..<(64 * 64)).map { UInt8($0 % 64 < 12 ? 2 : 1) }
        let s = sample(64, 64, labels: labels)
        func balanced(_ l: LabelMap) -> Bool {
            let twos = l.values.filter { $0 == 2 }.count
            return Double(max(twos, l.values.count - twos)) / Double(l.values.count) < 0.75 && twos > 0
        }
        let checked = RandomCrop(config: .init(cropSize: SizeHW(32), catMaxRatio: 0.75))
        let unchecked = RandomCrop(config: .init(cropSize: SizeHW(32)))
        var good = 0, goodUnchecked = 0
        for seed in 0..<100 {
            let a = try checked(s, random: RandomGenerator(seed: UInt64(seed)))
            let b = try unchecked(s, random: RandomGenerator(seed: UInt64(seed)))
            XCTAssertEqual([a.image.height, a.image.width, a.label!.height, a.label!.width], [32, 32, 32, 32])
            if balanced(a.label!) { good += 1 }
            if balanced(b.label!) { goodUnchecked += 1 }
        }
        // Expected: 1 − (28/33)^11 ≈ 84% with the check, 15% without.
        XCTAssertGreaterThan(good, 65)
        XCTAssertLessThan(goodUnchecked, 35)
        // The crop of the image is the same window as the crop of the label.
        let probe = sample(64, 64, labels: labels) { Float(($0 / 3) % 64 < 12 ? 2 : 1) }
        let p = try checked(probe, random: RandomGenerator(seed: 5))
        XCTAssertEqual(stride(from: 0, to: p.image.pixels.count, by: 3).map { UInt8(p.image.pixels[$0]) }, p.label!.values)
    }

    func testCatMaxRatioIgnoresIgnoreIndex() {
        let crop = RandomCrop(config: .init(cropSize: SizeHW(4), catMaxRatio: 0.75))
        let rect = PixelRect(y: 0, x: 0, height: 4, width: 4)
        // class 1 and ignore only: one real class → rejected however much is ignored
        XCTAssertFalse(crop.acceptable(LabelMap(height: 4, width: 4, values: (0..<16).map { $0 < 8 ? 1 : 255 }), rect))
        // 6 × class 1, 4 × class 2, 6 × ignore: 6/10 < 0.75 → accepted
        XCTAssertTrue(crop.acceptable(LabelMap(height: 4, width: 4, values: (0..<16).map { $0 < 6 ? 1 : $0 < 10 ? 2 : 255 }), rect))
        // 12 × class 1, 4 × class 2: 0.75 is not < 0.75
        XCTAssertFalse(crop.acceptable(LabelMap(height: 4, width: 4, values: (0..<16).map { $0 < 12 ? 1 : 2 }), rect))
    }

    func testRandomCropSmallerImageKeepsItsSize() throws {
        let out = try RandomCrop(config: .init(cropSize: SizeHW(height: 8, width: 4)))(sample(5, 9, labels: [UInt8](repeating: 0, count: 45)),
                                                                                     random: RandomGenerator(seed: 1))
        XCTAssertEqual([out.image.height, out.image.width, out.label!.height, out.label!.width], [5, 4, 5, 4])
    }

    func testCenterCropRoundsHalfToEven() throws {
        // 5×6 → 2×3: top = round(1.5) = 2, left = round(1.5) = 2 (Python's round, as torchvision).
        let s = sample(5, 6) { Float($0 / 3) }  // pixel value = its flat index
        let out = try CenterCrop(config: .init(size: SizeHW(height: 2, width: 3)))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(stride(from: 0, to: 18, by: 3).map { out.image.pixels[$0] }, [14, 15, 16, 20, 21, 22])
        let padded = try CenterCrop(config: .init(size: SizeHW(4)))(sample(2, 2) { _ in 9 }, random: RandomGenerator(seed: 0))
        XCTAssertEqual(stride(from: 0, to: 48, by: 3).map { padded.image.pixels[$0] }, [0, 0, 0, 0, 0, 9, 9, 0, 0, 9, 9, 0, 0, 0, 0, 0])
    }

    func testRandomResizedCrop() throws {
        let t = RandomResizedCrop(config: try decode(RandomResizedCrop.Config.self, #"{"size": 8}"#))
        XCTAssertEqual(t.config.ratio, ClosedPair(0.75, 4.0 / 3.0))
        for seed in 0..<10 {
            let r = t.drawRect(height: 40, width: 30, random: RandomGenerator(seed: UInt64(seed)))
            XCTAssertTrue(r.y >= 0 && r.x >= 0 && r.y + r.height <= 40 && r.x + r.width <= 30)
            let area = Double(r.height * r.width) / 1200
            XCTAssertTrue(area > 0.06 && area <= 1.05, "area fraction \(area)")
            let out = try t(sample(40, 30, labels: [UInt8](repeating: 4, count: 1200)), random: RandomGenerator(seed: UInt64(seed)))
            XCTAssertEqual([out.image.height, out.image.width, out.label!.height, out.label!.width], [8, 8, 8, 8])
        }
        // No draw fits a 10×100 strip with area ≥ 90%: central crop with the aspect clamped to 4/3.
        let strip = RandomResizedCrop(config: .init(size: SizeHW(8), scale: ClosedPair(0.9, 1)))
        XCTAssertEqual(strip.drawRect(height: 10, width: 100, random: RandomGenerator(seed: 3)), PixelRect(y: 0, x: 43, height: 10, width: 13))
    }

    // MARK: flip, photometric, normalize, pad

    func testFlipFlipsImageAndLabel() throws {
        let s = sample(2, 3, labels: [0, 1, 2, 3, 4, 5]) { Float($0) }
        let h = try RandomFlip(config: .init(prob: 1))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(h.label!.values, [2, 1, 0, 5, 4, 3])
        XCTAssertEqual(h.image.pixels, [6, 7, 8, 3, 4, 5, 0, 1, 2, 15, 16, 17, 12, 13, 14, 9, 10, 11])
        let v = try RandomFlip(config: .init(prob: 1, direction: .vertical))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(v.label!.values, [3, 4, 5, 0, 1, 2])
        XCTAssertEqual(Array(v.image.pixels.prefix(9)), [9, 10, 11, 12, 13, 14, 15, 16, 17])
        let none = try RandomFlip(config: .init(prob: 0))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(none.image, s.image); XCTAssertEqual(none.label, s.label)
        var flips = 0
        for seed in 0..<200 where try RandomFlip(config: .init())(s, random: RandomGenerator(seed: UInt64(seed))).label != s.label { flips += 1 }
        XCTAssertTrue((70...130).contains(flips), "p = 0.5 flipped \(flips)/200")
    }

    func testPhotometricChangesImageNeverLabel() throws {
        let t = PhotometricDistortion(config: .init())
        let labels = (0..<64).map { UInt8($0 % 5) }
        let s = sample(8, 8, labels: labels) { Float(($0 * 37) % 256) }
        var changed = 0
        for seed in 0..<12 {
            let random = RandomGenerator(seed: UInt64(seed))
            let out = try t(s, random: random)
            XCTAssertEqual(out.label, s.label)
            XCTAssertTrue(out.image.pixels.allSatisfy { $0 >= 0 && $0 <= 255 })
            let d = t.draw(RandomGenerator(seed: UInt64(seed)))
            if let b = d.brightness { XCTAssertTrue(abs(b) <= 32) }
            if let c = d.contrast { XCTAssertTrue(c >= 0.5 && c < 1.5) }
            if let h = d.hue { XCTAssertTrue(h >= -36 && h <= 34 && Int(h) % 2 == 0) }
            if out.image != s.image { changed += 1 }
            XCTAssertEqual(out.image == s.image, d.brightness == nil && d.contrast == nil && d.saturation == nil && d.hue == nil)
        }
        XCTAssertGreaterThan(changed, 8)
        // Brightness alone, by hand: +δ then clip.
        let gray = sample(1, 2) { $0 < 3 ? 250 : 10 }
        var seed: UInt64 = 0
        while true {
            let d = t.draw(RandomGenerator(seed: seed))
            if let b = d.brightness, d.contrast == nil, d.saturation == nil, d.hue == nil {
                let out = try t(gray, random: RandomGenerator(seed: seed))
                let hi: Float = min(250 + b, 255), lo: Float = max(10 + b, 0)
                XCTAssertEqual(out.image.pixels, [hi, hi, hi, lo, lo, lo])
                break
            }
            seed += 1
        }
    }

    func testNormalizeValues() throws {
        let s = Sample(image: Image(height: 1, width: 2, channels: 3, pixels: [123.675, 116.28, 103.53, 255, 0, 10]), source: "n")
        let out = try Normalize(config: .init())(s, random: RandomGenerator(seed: 0))
        let expected: [Float] = [0, 0, 0, (255 - 123.675) / 58.395, (0 - 116.28) / 57.12, (10 - 103.53) / 57.375]
        for (a, b) in zip(out.image.pixels, expected) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // to_rgb: false feeds BGR, as the same mmseg config would.
        let bgr = try Normalize(config: .init(mean: [1, 2, 3], std: [1, 2, 4], toRGB: false))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(Array(bgr.image.pixels.suffix(3)), [9, -1, 63])  // B, G, R: (10−1)/1, (0−2)/2, (255−3)/4
    }

    func testPadValues() throws {
        let s = sample(2, 3, labels: [1, 2, 3, 4, 5, 6]) { _ in 7 }
        let out = try Pad(config: .init(size: SizeHW(height: 3, width: 4)))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual(out.label!.values, [1, 2, 3, 255, 4, 5, 6, 255, 255, 255, 255, 255])
        XCTAssertEqual(stride(from: 0, to: 36, by: 3).map { out.image.pixels[$0] }, [7, 7, 7, 0, 7, 7, 7, 0, 0, 0, 0, 0])
        let div = try Pad(config: try decode(Pad.Config.self, #"{"size_divisor": 4, "seg_pad_val": 0}"#))(s, random: RandomGenerator(seed: 0))
        XCTAssertEqual([div.image.height, div.image.width], [4, 4])
        XCTAssertEqual(div.label!.values.filter { $0 == 0 }.count, 10)
        XCTAssertThrowsError(try Pad(config: .init(size: SizeHW(2)))(s, random: RandomGenerator(seed: 0))) { e in
            XCTAssertEqual((e as? TransformError)?.transform, "pad")
        }
    }

    // MARK: registry

    func testRegistryBuildsPipelineAndSuggestsNames() throws {
        let json = #"""
        [{"type": "random_resize", "scale": [64, 16], "ratio_range": [0.5, 2.0]},
         {"type": "random_crop", "crop_size": [16, 16], "cat_max_ratio": 0.75},
         {"type": "random_flip"}, {"type": "photometric_distortion"},
         {"type": "normalize"}, {"type": "pad", "size": 16}]
        """#
        let p = try decode(Pipeline.self, json)
        XCTAssertEqual(p.steps.count, 6)
        XCTAssertEqual((p.steps[1] as? RandomCrop)?.config.catMaxRatio, 0.75)
        let out = try p(sample(12, 20, labels: [UInt8](repeating: 3, count: 240)), random: RandomGenerator(seed: 9))
        XCTAssertEqual([out.image.height, out.image.width, out.label!.height, out.label!.width], [16, 16, 16, 16])

        XCTAssertThrowsError(try decode(Built.self, #"{"type": "random_flp"}"#)) { e in
            XCTAssertEqual((e as? RegistryError)?.suggestion, "random_flip")
            XCTAssertTrue("\(e)".contains("unknown transform 'random_flp'"), "\(e)")
        }
        XCTAssertThrowsError(try decode(Built.self, #"{"type": "random_crop", "crop_size": 8, "cat_max_ration": 0.5}"#)) { e in
            XCTAssertEqual((e as? ConfigValueError)?.suggestion, "cat_max_ratio")
        }
        XCTAssertThrowsError(try decode(Built.self, #"{"type": "pad"}"#)) { e in XCTAssertTrue(e is ConfigValueError, "\(e)") }
        XCTAssertThrowsError(try decode(Built.self, #"{"prob": 0.5}"#)) { e in XCTAssertTrue("\(e)".contains("no 'type:'"), "\(e)") }
        // Defaults are mmseg's.
        let crop = try XCTUnwrap(try decode(Built.self, #"{"type": "random_crop", "crop_size": [512, 1024]}"#).transform as? RandomCrop)
        XCTAssertEqual(crop.config, RandomCrop.Config(cropSize: SizeHW(height: 512, width: 1024), catMaxRatio: 1, ignoreIndex: 255))
        let photo = try XCTUnwrap(try decode(Built.self, #"{"type": "photometric_distortion"}"#).transform as? PhotometricDistortion)
        XCTAssertEqual(photo.config.brightnessDelta, 32); XCTAssertEqual(photo.config.hueDelta, 18)
    }
}
