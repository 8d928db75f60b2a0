import Foundation

// timm's RandAugment is defined on 8-bit PIL images: each op is a Pillow function (ImageOps,
// ImageEnhance, Image.transform) with Pillow's integer arithmetic. These are those functions on
// an 8-bit RGB buffer, written from their definitions and checked value for value against
// Pillow (tools/reference/pil_values.py → PILTransformTests).

/// An 8-bit image in row-major HWC order, as PIL holds "RGB".
struct ByteImage: Equatable {
    var height: Int, width: Int, channels: Int
    var bytes: [UInt8]

    /// Rounds and clamps a 0…255 float image (an 8-bit image after a resize is no longer integral).
    init(_ image: Image) {
        height = image.height; width = image.width; channels = image.channels
        bytes = image.pixels.map { UInt8(max(0, min(255, $0.rounded(.toNearestOrEven)))) }
    }

    init(height: Int, width: Int, channels: Int, bytes: [UInt8]) {
        self.height = height; self.width = width; self.channels = channels; self.bytes = bytes
    }

    var image: Image { Image(height: height, width: width, channels: channels, pixels: bytes.map(Float.init)) }

    /// Applies `lut[channel][value]` to every byte.
    func mapped(_ lut: [[UInt8]]) -> ByteImage {
        var out = self
        for i in 0..<bytes.count { out.bytes[i] = lut[i % channels][Int(bytes[i])] }
        return out
    }

    func histogram(channel: Int) -> [Int] {
        var h = [Int](repeating: 0, count: 256)
        for i in Swift.stride(from: channel, to: bytes.count, by: channels) { h[Int(bytes[i])] += 1 }
        return h
    }

    /// PIL's "L" conversion (ITU-R 601-2 luma in 16-bit fixed point), one value per pixel.
    var luma: [UInt8] {
        precondition(channels == 3, "luma needs an RGB image")
        return (0..<(height * width)).map { p in
            let r = UInt32(bytes[3 * p]), g = UInt32(bytes[3 * p + 1]), b = UInt32(bytes[3 * p + 2])
            return UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
    }
}

enum PILOps {
    /// `ImageOps.autocontrast(img)` (cutoff 0): each band stretched from its [min, max] to [0, 255].
    static func autocontrast(_ im: ByteImage) -> ByteImage {
        im.mapped((0..<im.channels).map { c in
            let h = im.histogram(channel: c)
            guard let lo = h.firstIndex(where: { $0 > 0 }), let hi = h.lastIndex(where: { $0 > 0 }), hi > lo else {
                return (0..<256).map { UInt8($0) }
            }
            let scale = 255.0 / Double(hi - lo), offset = -Double(lo) * scale
            return (0..<256).map { UInt8(max(0, min(255, Int(Double($0) * scale + offset)))) }
        })
    }

    /// `ImageOps.equalize(img)`: each band's cumulative histogram as its lookup table.
    static func equalize(_ im: ByteImage) -> ByteImage {
        im.mapped((0..<im.channels).map { c in
            let h = im.histogram(channel: c)
            let used = h.filter { $0 > 0 }
            let identity = (0..<256).map { UInt8($0) }
            guard used.count > 1 else { return identity }
            let step = (used.reduce(0, +) - used.last!) / 255
            guard step > 0 else { return identity }
            var n = step / 2
            return (0..<256).map { i in
                defer { n += h[i] }
                return UInt8(min(n / step, 255))
            }
        })
    }

    static func invert(_ im: ByteImage) -> ByteImage {
        im.mapped(Array(repeating: (0..<256).map { UInt8(255 - $0) }, count: im.channels))
    }

    /// `ImageOps.posterize(img, bits)`: keeps the `bits` high bits (timm: unchanged from 8 up).
    static func posterize(_ im: ByteImage, bits: Int) -> ByteImage {
        guard bits < 8 else { return im }
        let mask = UInt8(truncatingIfNeeded: ~((1 << (8 - max(bits, 0))) - 1))
        return im.mapped(Array(repeating: (0..<256).map { UInt8($0) & mask }, count: im.channels))
    }

    /// `ImageOps.solarize(img, threshold)`: values at or above the threshold inverted.
    static func solarize(_ im: ByteImage, threshold: Int) -> ByteImage {
        im.mapped(Array(repeating: (0..<256).map { $0 < threshold ? UInt8($0) : UInt8(255 - $0) }, count: im.channels))
    }

    /// timm's `solarize_add`: `add` added (saturating) to the values below the threshold.
    static func solarizeAdd(_ im: ByteImage, add: Int, threshold: Int = 128) -> ByteImage {
        im.mapped(Array(repeating: (0..<256).map { $0 < threshold ? UInt8(min(255, $0 + add)) : UInt8($0) }, count: im.channels))
    }

    /// `Image.blend(degenerate, img, factor)`, which ImageEnhance is built on: float32
    /// `d + factor·(s − d)`, truncated toward zero and clamped, as Pillow's ImagingBlend does.
    static func blend(_ degenerate: [UInt8], _ im: ByteImage, _ factor: Double) -> ByteImage {
        let a = Float(factor)
        var out = im
        for i in 0..<im.bytes.count {
            let d = Float(degenerate[i]), v = d + a * (Float(im.bytes[i]) - d)
            out.bytes[i] = UInt8(max(0, min(255, Int(v))))
        }
        return out
    }

    /// `ImageEnhance.Color(img).enhance(f)`: blend with the image's grey version.
    static func color(_ im: ByteImage, _ f: Double) -> ByteImage {
        let grey = im.luma
        return blend(grey.flatMap { Array(repeating: $0, count: im.channels) }, im, f)
    }

    /// `ImageEnhance.Contrast(img).enhance(f)`: blend with a flat image at the mean luma.
    static func contrast(_ im: ByteImage, _ f: Double) -> ByteImage {
        let grey = im.luma
        let mean = UInt8(Int(Double(grey.reduce(0) { $0 + Int($1) }) / Double(max(grey.count, 1)) + 0.5))
        return blend([UInt8](repeating: mean, count: im.bytes.count), im, f)
    }

    /// `ImageEnhance.Brightness(img).enhance(f)`: blend with black.
    static func brightness(_ im: ByteImage, _ f: Double) -> ByteImage {
        blend([UInt8](repeating: 0, count: im.bytes.count), im, f)
    }

    /// `ImageEnhance.Sharpness(img).enhance(f)`: blend with `ImageFilter.SMOOTH` (3×3 kernel
    /// 1 1 1 / 1 5 1 / 1 1 1 over 13; the one-pixel border is copied, as Pillow's filter does).
    static func sharpness(_ im: ByteImage, _ f: Double) -> ByteImage {
        var smooth = im.bytes
        let w = im.width, c = im.channels
        if im.height > 2 && w > 2 {
            for y in 1..<(im.height - 1) {
                for x in 1..<(w - 1) {
                    for k in 0..<c {
                        var s = 0
                        for dy in -1...1 {
                            for dx in -1...1 { s += Int(im.bytes[((y + dy) * w + x + dx) * c + k]) * (dx == 0 && dy == 0 ? 5 : 1) }
                        }
                        smooth[(y * w + x) * c + k] = UInt8(min(255, Int(Double(s) / 13 + 0.5)))
                    }
                }
            }
        }
        return blend(smooth, im, f)
    }

    enum Resample { case bilinear, bicubic }

    /// `img.transform(size, Image.AFFINE, matrix, resample, fillcolor=fill)`: output pixel
    /// centre (x + ½, y + ½) maps to (a·x' + b·y' + c, d·x' + e·y' + f) in the source; a point
    /// outside the source keeps the fill colour. Bilinear reads 2×2 and bicubic 4×4 pixels
    /// (Pillow's affine bicubic is the a = −1 cubic), with edge pixels repeated, and the result
    /// is truncated to 8 bits (Pillow's Geometry.c).
    static func affine(_ im: ByteImage, _ m: [Double], _ resample: Resample, fill: [UInt8]) -> ByteImage {
        let w = im.width, h = im.height, c = im.channels
        var out = ByteImage(height: h, width: w, channels: c, bytes: (0..<(h * w)).flatMap { _ in fill.prefix(c) })
        func px(_ y: Int, _ x: Int, _ k: Int) -> Double { Double(im.bytes[(y * w + min(max(x, 0), w - 1)) * c + k]) }
        func cubic(_ v1: Double, _ v2: Double, _ v3: Double, _ v4: Double, _ d: Double) -> Double {
            let p2 = -v1 + v3, p3 = 2 * (v1 - v2) + v3 - v4, p4 = -v1 + v2 - v3 + v4
            return v2 + d * (p2 + d * (p3 + d * p4))
        }
        for y in 0..<h {
            for x in 0..<w {
                let cx = Double(x) + 0.5, cy = Double(y) + 0.5
                var xin = m[0] * cx + m[1] * cy + m[2], yin = m[3] * cx + m[4] * cy + m[5]
                guard xin >= 0 && xin < Double(w) && yin >= 0 && yin < Double(h) else { continue }
                xin -= 0.5; yin -= 0.5
                let x0 = Int(xin.rounded(.down)), y0 = Int(yin.rounded(.down))
                let dx = xin - Double(x0), dy = yin - Double(y0)
                for k in 0..<c {
                    var v: Double
                    switch resample {
                    case .bilinear:
                        let top = min(max(y0, 0), h - 1)
                        let v1 = px(top, x0, k) + (px(top, x0 + 1, k) - px(top, x0, k)) * dx
                        let v2 = y0 + 1 >= 0 && y0 + 1 < h ? px(y0 + 1, x0, k) + (px(y0 + 1, x0 + 1, k) - px(y0 + 1, x0, k)) * dx : v1
                        v = v1 + (v2 - v1) * dy
                    case .bicubic:
                        func row(_ yy: Int) -> Double { cubic(px(yy, x0 - 1, k), px(yy, x0, k), px(yy, x0 + 1, k), px(yy, x0 + 2, k), dx) }
                        let v1 = row(min(max(y0 - 1, 0), h - 1))
                        let v2 = y0 >= 0 && y0 < h ? row(y0) : v1
                        let v3 = y0 + 1 >= 0 && y0 + 1 < h ? row(y0 + 1) : v2
                        let v4 = y0 + 2 >= 0 && y0 + 2 < h ? row(y0 + 2) : v3
                        v = cubic(v1, v2, v3, v4, dy)
                    }
                    out.bytes[(y * w + x) * c + k] = v <= 0 ? 0 : v >= 255 ? 255 : UInt8(v)
                }
            }
        }
        return out
    }

    /// `img.rotate(degrees, resample, fillcolor=fill)` about the image centre, same size.
    static func rotate(_ im: ByteImage, degrees: Double, _ resample: Resample, fill: [UInt8]) -> ByteImage {
        let turned = degrees.truncatingRemainder(dividingBy: 360)
        if turned == 0 { return im }
        // Pillow's matrix: cos/sin of −angle rounded to 15 decimals, about (w/2, h/2).
        let angle = -turned * .pi / 180
        func r15(_ v: Double) -> Double { (v * 1e15).rounded() / 1e15 }
        var m = [r15(cos(angle)), r15(sin(angle)), 0, r15(-sin(angle)), r15(cos(angle)), 0]
        let cx = Double(im.width) / 2, cy = Double(im.height) / 2
        m[2] = m[0] * -cx + m[1] * -cy + cx
        m[5] = m[3] * -cx + m[4] * -cy + cy
        return affine(im, m, resample, fill: fill)
    }
}
