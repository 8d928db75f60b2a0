import Foundation

// Geometry kernels shared by the resize, crop and flip transforms. They follow OpenCV, which
// mmcv calls: images by cv2.INTER_LINEAR, labels by cv2.INTER_NEAREST (a label is a class id;
// interpolating it would invent classes on every boundary).

/// A rectangle of source pixels: top-left corner and size.
struct PixelRect: Equatable {
    var y: Int, x: Int, height: Int, width: Int
}

/// cv2.resize(INTER_LINEAR) of a float image: half-pixel centres, coordinates clamped at the
/// border, no antialiasing on downscale (cv2 has none either). When `rect` is given, that
/// sub-rectangle is the source (torchvision's crop-then-resize without the copy).
func resizeBilinear(_ image: Image, height: Int, width: Int, from rect: PixelRect? = nil) -> Image {
    let r = rect ?? PixelRect(y: 0, x: 0, height: image.height, width: image.width)
    precondition(height > 0 && width > 0 && r.height > 0 && r.width > 0, "resizeBilinear: empty size \(height)×\(width) from \(r)")
    precondition(r.y >= 0 && r.x >= 0 && r.y + r.height <= image.height && r.x + r.width <= image.width,
                 "resizeBilinear: rect \(r) outside \(image.height)×\(image.width)")
    if rect == nil && height == image.height && width == image.width { return image }
    let c = image.channels, rowStride = image.width * c
    // cv2 works with scale = 1/(dst/src) in double and the coordinate in float; the same
    // arithmetic keeps the sample positions bit-identical.
    func taps(_ dst: Int, _ src: Int) -> (offset: [Int], next: [Int], frac: [Float]) {
        let scale = 1.0 / (Double(dst) / Double(src))
        var offset = [Int](repeating: 0, count: dst), next = offset, frac = [Float](repeating: 0, count: dst)
        for d in 0..<dst {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f -= Float(s)
            if s < 0 { f = 0; s = 0 }
            if s >= src - 1 { f = 0; s = src - 1 }
            offset[d] = s
            next[d] = min(s + 1, src - 1)
            frac[d] = f
        }
        return (offset, next, frac)
    }
    let xt = taps(width, r.width), yt = taps(height, r.height)
    var out = [Float](repeating: 0, count: height * width * c)
    let rowLen = width * c
    // Horizontal pass into two row buffers, then a vertical blend (cv2's order of operations);
    // a source row is interpolated once even when several output rows use it.
    var rows = [Float](repeating: 0, count: 2 * rowLen)
    image.pixels.withUnsafeBufferPointer { srcBuf in
        rows.withUnsafeMutableBufferPointer { rowBuf in
            out.withUnsafeMutableBufferPointer { outBuf in
                let src = srcBuf.baseAddress!, dst = outBuf.baseAddress!
                var row0 = rowBuf.baseAddress!, row1 = row0 + rowLen
                var have0 = -1, have1 = -1
                xt.offset.withUnsafeBufferPointer { xo in
                    xt.next.withUnsafeBufferPointer { xn in
                        xt.frac.withUnsafeBufferPointer { xf in
                            func horizontal(_ sy: Int, into buf: UnsafeMutablePointer<Float>) {
                                let s = src + (r.y + sy) * rowStride + r.x * c
                                for dx in 0..<width {
                                    let a1 = xf[dx], a0 = 1 - a1
                                    let p0 = s + xo[dx] * c, p1 = s + xn[dx] * c
                                    let o = buf + dx * c
                                    for k in 0..<c { o[k] = p0[k] * a0 + p1[k] * a1 }
                                }
                            }
                            for dy in 0..<height {
                                let sy0 = yt.offset[dy], sy1 = yt.next[dy], b1 = yt.frac[dy], b0 = 1 - b1
                                if have0 != sy0 {
                                    if have1 == sy0 { swap(&row0, &row1); swap(&have0, &have1) } else { horizontal(sy0, into: row0); have0 = sy0 }
                                }
                                if have1 != sy1 { horizontal(sy1, into: row1); have1 = sy1 }
                                let o = dst + dy * rowLen
                                for i in 0..<rowLen { o[i] = row0[i] * b0 + row1[i] * b1 }
                            }
                        }
                    }
                }
            }
        }
    }
    return Image(height: height, width: width, channels: c, pixels: out)
}

/// cv2.resize(INTER_NEAREST) of a label map: source index floor(d · src/dst), clamped — the
/// top-left-aligned rule cv2 uses (not half-pixel), so mmseg's label grids are reproduced.
func resizeNearest(_ label: LabelMap, height: Int, width: Int, from rect: PixelRect? = nil) -> LabelMap {
    let r = rect ?? PixelRect(y: 0, x: 0, height: label.height, width: label.width)
    precondition(height > 0 && width > 0 && r.height > 0 && r.width > 0, "resizeNearest: empty size \(height)×\(width) from \(r)")
    precondition(r.y >= 0 && r.x >= 0 && r.y + r.height <= label.height && r.x + r.width <= label.width,
                 "resizeNearest: rect \(r) outside \(label.height)×\(label.width)")
    if rect == nil && height == label.height && width == label.width { return label }
    func index(_ dst: Int, _ src: Int) -> [Int] {
        let inverse = 1.0 / (Double(dst) / Double(src))
        return (0..<dst).map { d in min(Int((Double(d) * inverse).rounded(.down)), src - 1) }
    }
    let xs = index(width, r.width), ys = index(height, r.height)
    var out = [UInt8](repeating: 0, count: height * width)
    label.values.withUnsafeBufferPointer { srcBuf in
        out.withUnsafeMutableBufferPointer { outBuf in
            xs.withUnsafeBufferPointer { xp in
                for dy in 0..<height {
                    let s = srcBuf.baseAddress! + (r.y + ys[dy]) * label.width + r.x
                    let o = outBuf.baseAddress! + dy * width
                    for dx in 0..<width { o[dx] = s[xp[dx]] }
                }
            }
        }
    }
    return LabelMap(height: height, width: width, values: out)
}

/// Copies a rectangle that lies inside the image.
func cropImage(_ image: Image, _ r: PixelRect) -> Image {
    precondition(r.y >= 0 && r.x >= 0 && r.y + r.height <= image.height && r.x + r.width <= image.width,
                 "cropImage: rect \(r) outside \(image.height)×\(image.width)")
    if r.y == 0 && r.x == 0 && r.height == image.height && r.width == image.width { return image }
    let c = image.channels, rowLen = r.width * c
    var out = [Float](repeating: 0, count: r.height * rowLen)
    image.pixels.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<r.height {
                (o.baseAddress! + y * rowLen).update(from: s.baseAddress! + ((r.y + y) * image.width + r.x) * c, count: rowLen)
            }
        }
    }
    return Image(height: r.height, width: r.width, channels: c, pixels: out)
}

/// Copies a rectangle that lies inside the label map.
func cropLabel(_ label: LabelMap, _ r: PixelRect) -> LabelMap {
    precondition(r.y >= 0 && r.x >= 0 && r.y + r.height <= label.height && r.x + r.width <= label.width,
                 "cropLabel: rect \(r) outside \(label.height)×\(label.width)")
    if r.y == 0 && r.x == 0 && r.height == label.height && r.width == label.width { return label }
    var out = [UInt8](repeating: 0, count: r.height * r.width)
    label.values.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<r.height {
                (o.baseAddress! + y * r.width).update(from: s.baseAddress! + (r.y + y) * label.width + r.x, count: r.width)
            }
        }
    }
    return LabelMap(height: r.height, width: r.width, values: out)
}

/// Places `image` at the top-left of a `height × width` canvas filled with `value` (mmcv.impad
/// with padding on the bottom and right), or centred at `(top, left)` when given.
func padImage(_ image: Image, height: Int, width: Int, top: Int = 0, left: Int = 0, value: Float) -> Image {
    precondition(top >= 0 && left >= 0 && top + image.height <= height && left + image.width <= width,
                 "padImage: \(image.height)×\(image.width) at (\(top), \(left)) does not fit \(height)×\(width)")
    let c = image.channels
    var out = [Float](repeating: value, count: height * width * c)
    image.pixels.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<image.height {
                (o.baseAddress! + ((top + y) * width + left) * c).update(from: s.baseAddress! + y * image.width * c, count: image.width * c)
            }
        }
    }
    return Image(height: height, width: width, channels: c, pixels: out)
}

/// The label counterpart of `padImage`.
func padLabel(_ label: LabelMap, height: Int, width: Int, top: Int = 0, left: Int = 0, value: UInt8) -> LabelMap {
    precondition(top >= 0 && left >= 0 && top + label.height <= height && left + label.width <= width,
                 "padLabel: \(label.height)×\(label.width) at (\(top), \(left)) does not fit \(height)×\(width)")
    var out = [UInt8](repeating: value, count: height * width)
    label.values.withUnsafeBufferPointer { s in
        out.withUnsafeMutableBufferPointer { o in
            for y in 0..<label.height {
                (o.baseAddress! + (top + y) * width + left).update(from: s.baseAddress! + y * label.width, count: label.width)
            }
        }
    }
    return LabelMap(height: height, width: width, values: out)
}
