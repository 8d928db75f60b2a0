import CSpng
import Foundation

/// PNG through libspng. Images and label maps are decoded differently on purpose: a palette
/// PNG read as an image is expanded to its colours, but read as a label map it yields the
/// palette INDICES, because that is how ADE20K, Pascal VOC/Context and our saved predictions
/// store class ids (the colours are only for viewing).
public enum PNG {
    /// Decodes a PNG to an image (HWC, 0…255). `channels: 3` (default) expands gray and palette
    /// PNGs to RGB and drops alpha; `channels: 1` returns luminance (gray PNGs unchanged);
    /// `channels: nil` keeps what the file stores (1 for gray, 3 otherwise). 16-bit samples are
    /// reduced to 8 bits. `path` only names the source in errors.
    public static func decode(_ bytes: [UInt8], path: String, channels: Int? = 3) throws -> Image {
        precondition(channels == nil || channels == 1 || channels == 3, "PNG.decode: channels must be 1, 3 or nil, got \(channels!)")
        return try withDecoder(bytes, path: path) { ctx, ihdr in
            let w = Int(ihdr.width), h = Int(ihdr.height)
            let rgb = try decodeImage(ctx, format: SPNG_FMT_RGB8, path: path)
            let storedGray = ihdr.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE.rawValue)
                || ihdr.color_type == UInt8(SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue)
            let outChannels = channels ?? (storedGray ? 1 : 3)
            var pixels = [Float](repeating: 0, count: w * h * outChannels)
            rgb.withUnsafeBufferPointer { s in
                pixels.withUnsafeMutableBufferPointer { d in
                    if outChannels == 3 {
                        for i in 0..<(w * h * 3) { d[i] = Float(s[i]) }
                    } else if storedGray {
                        for i in 0..<(w * h) { d[i] = Float(s[3 * i]) }
                    } else {
                        // ITU-R 601 luma, the weights PIL's convert("L") uses.
                        for i in 0..<(w * h) {
                            let v = (Float(s[3 * i]) * 299 + Float(s[3 * i + 1]) * 587 + Float(s[3 * i + 2]) * 114) / 1000
                            d[i] = v.rounded(.down)
                        }
                    }
                }
            }
            return Image(height: h, width: w, channels: outChannels, pixels: pixels)
        }
    }

    /// Decodes a label map: palette PNGs give their indices, grayscale PNGs their values
    /// (16-bit gray is accepted when every value fits in 0…255). Colour PNGs are refused: they
    /// are visualisations, and guessing ids from colours silently corrupts labels.
    public static func decodeLabel(_ bytes: [UInt8], path: String) throws -> LabelMap {
        try withDecoder(bytes, path: path) { ctx, ihdr in
            let w = Int(ihdr.width), h = Int(ihdr.height)
            let colorType = UInt32(ihdr.color_type)
            guard colorType == SPNG_COLOR_TYPE_INDEXED.rawValue || colorType == SPNG_COLOR_TYPE_GRAYSCALE.rawValue else {
                throw DataError.corruptFile(
                    path: path,
                    problem: "a label map must be a palette or grayscale PNG, this one has colour type \(colorType) (\(colorTypeName(colorType)))",
                    remedy: "Use the label-id files of the dataset (e.g. *_labelTrainIds.png or the annotation PNGs), not colour visualisations")
            }
            // SPNG_FMT_PNG returns the samples as stored (palette indices, raw gray values), rows
            // packed at the file's bit depth; expanding formats would turn indices into colours
            // or rescale low-bit-depth gray values.
            let raw = try decodeImage(ctx, format: SPNG_FMT_PNG, path: path)
            let depth = Int(ihdr.bit_depth)
            var values = [UInt8](repeating: 0, count: w * h)
            if depth == 16 {
                var largest = 0
                raw.withUnsafeBytes { r in
                    for i in 0..<(w * h) {
                        let v = Int(r.load(fromByteOffset: 2 * i, as: UInt16.self)) // host-endian (libspng)
                        largest = max(largest, v)
                        values[i] = UInt8(truncatingIfNeeded: v)
                    }
                }
                guard largest <= 255 else {
                    throw DataError.corruptFile(path: path, problem: "16-bit label map holds value \(largest), above the 0…255 range of class ids",
                                                remedy: "Convert the labels to 8-bit class ids (255 = ignore)")
                }
            } else {
                let rowBytes = (w * depth + 7) / 8
                let perByte = 8 / depth, mask = (1 << depth) - 1
                raw.withUnsafeBufferPointer { r in
                    for y in 0..<h {
                        let row = r.baseAddress! + y * rowBytes
                        if depth == 8 {
                            for x in 0..<w { values[y * w + x] = row[x] }
                        } else {
                            for x in 0..<w {
                                let byte = Int(row[x / perByte])
                                let shift = 8 - depth * (x % perByte + 1)
                                values[y * w + x] = UInt8((byte >> shift) & mask)
                            }
                        }
                    }
                }
            }
            return LabelMap(height: h, width: w, values: values)
        }
    }

    /// Encodes a 1-channel (gray) or 3-channel (RGB) image as an 8-bit PNG; values are clamped
    /// to 0…255 and rounded.
    public static func encode(_ image: Image, path: String = "<memory>") throws -> [UInt8] {
        guard image.channels == 1 || image.channels == 3 else {
            throw DataError.io(path: path, problem: "PNG encoding supports 1 or 3 channels, the image has \(image.channels)",
                               remedy: "Drop the extra channels before saving")
        }
        let colorType = image.channels == 1 ? SPNG_COLOR_TYPE_GRAYSCALE : SPNG_COLOR_TYPE_TRUECOLOR
        return try encodeRaw(clampToBytes(image.pixels), width: image.width, height: image.height,
                             colorType: colorType, palette: nil, path: path)
    }

    /// Encodes a label map. With a palette (one `[r, g, b]` per class, e.g. the dataset's
    /// colours) it is written as a palette PNG, which viewers show in colour while the stored
    /// indices stay the class ids; values beyond the palette (such as 255 = ignore) get black.
    /// Without a palette it is written as 8-bit grayscale.
    public static func encodeLabel(_ label: LabelMap, palette: [[UInt8]]? = nil, path: String = "<memory>") throws -> [UInt8] {
        guard let palette else {
            return try encodeRaw(label.values, width: label.width, height: label.height,
                                 colorType: SPNG_COLOR_TYPE_GRAYSCALE, palette: nil, path: path)
        }
        guard palette.count <= 256, palette.allSatisfy({ $0.count == 3 }) else {
            throw DataError.io(path: path, problem: "a PNG palette holds at most 256 [r, g, b] entries, got \(palette.count)",
                               remedy: "Pass one 3-value colour per class")
        }
        // PNG requires every index to be inside the palette, so pad it up to the largest value used.
        let needed = max(palette.count, Int(label.values.max() ?? 0) + 1)
        let padded = palette + Array(repeating: [0, 0, 0], count: needed - palette.count)
        return try encodeRaw(label.values, width: label.width, height: label.height,
                             colorType: SPNG_COLOR_TYPE_INDEXED, palette: padded, path: path)
    }

    // MARK: - libspng plumbing

    private static func withDecoder<T>(_ bytes: [UInt8], path: String, _ body: (OpaquePointer, spng_ihdr) throws -> T) throws -> T {
        guard bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 else {
            throw corrupt(path, "not a PNG file (no PNG signature)")
        }
        guard let ctx = spng_ctx_new(0) else {
            throw DataError.io(path: path, problem: "could not create a libspng context", remedy: "Check the libspng installation")
        }
        defer { spng_ctx_free(ctx) }
        // Bound what a damaged header can make us allocate (a flipped bit in IHDR must give an
        // error, not a 16-GB allocation): libspng's own per-side limit is set to ours, and the
        // pixel count is checked against `DecodeLimits` right after the header, before decoding.
        spng_set_image_limits(ctx, UInt32(DecodeLimits.maximumSide), UInt32(DecodeLimits.maximumSide))
        spng_set_chunk_limits(ctx, 1 << 26, 1 << 26)
        return try bytes.withUnsafeBytes { buf in
            var status = spng_set_png_buffer(ctx, buf.baseAddress, buf.count)
            var ihdr = spng_ihdr()
            if status == 0 { status = spng_get_ihdr(ctx, &ihdr) }
            guard status == 0 else {
                // libspng rejects a side above the limit before we see the header: read the
                // claimed size from IHDR ourselves (bytes 16…23, big-endian) for the message.
                if status == SPNG_EUSER_WIDTH.rawValue || status == SPNG_EUSER_HEIGHT.rawValue, bytes.count >= 24 {
                    func be32(_ i: Int) -> Int { Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]) }
                    try DecodeLimits.check(width: be32(16), height: be32(20), path: path, format: "PNG")
                }
                throw corrupt(path, "unreadable PNG header (\(message(status)))")
            }
            try DecodeLimits.check(width: Int(ihdr.width), height: Int(ihdr.height), path: path, format: "PNG")
            return try body(ctx, ihdr)
        }
    }

    private static func decodeImage(_ ctx: OpaquePointer, format: spng_format, path: String) throws -> [UInt8] {
        var size = 0
        var status = spng_decoded_image_size(ctx, Int32(format.rawValue), &size)
        guard status == 0 else { throw corrupt(path, "PNG cannot be decoded (\(message(status)))") }
        var out = [UInt8](repeating: 0, count: size)
        status = out.withUnsafeMutableBytes { spng_decode_image(ctx, $0.baseAddress, size, Int32(format.rawValue), 0) }
        guard status == 0 else { throw corrupt(path, "PNG data is damaged or truncated (\(message(status)))") }
        return out
    }

    private static func encodeRaw(_ samples: [UInt8], width: Int, height: Int, colorType: spng_color_type,
                                  palette: [[UInt8]]?, path: String) throws -> [UInt8] {
        guard let ctx = spng_ctx_new(Int32(SPNG_CTX_ENCODER.rawValue)) else {
            throw DataError.io(path: path, problem: "could not create a libspng encoder", remedy: "Check the libspng installation")
        }
        defer { spng_ctx_free(ctx) }
        var status = spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1)
        var ihdr = spng_ihdr(width: UInt32(width), height: UInt32(height), bit_depth: 8, color_type: UInt8(colorType.rawValue),
                             compression_method: 0, filter_method: 0, interlace_method: 0)
        if status == 0 { status = spng_set_ihdr(ctx, &ihdr) }
        if status == 0, let palette {
            var plte = spng_plte()
            plte.n_entries = UInt32(palette.count)
            withUnsafeMutableBytes(of: &plte.entries) { raw in
                let entries = raw.bindMemory(to: spng_plte_entry.self)
                for (i, c) in palette.enumerated() {
                    entries[i] = spng_plte_entry(red: c[0], green: c[1], blue: c[2], alpha: 255)
                }
            }
            status = spng_set_plte(ctx, &plte)
        }
        if status == 0 {
            status = samples.withUnsafeBytes {
                spng_encode_image(ctx, $0.baseAddress, $0.count, Int32(SPNG_FMT_PNG.rawValue), Int32(SPNG_ENCODE_FINALIZE.rawValue))
            }
        }
        guard status == 0 else {
            throw DataError.io(path: path, problem: "PNG encoding failed (\(message(status)))", remedy: "Check the image size and values")
        }
        var length = 0, error: Int32 = 0
        guard let buffer = spng_get_png_buffer(ctx, &length, &error), error == 0 else {
            throw DataError.io(path: path, problem: "PNG encoding failed (\(message(error)))", remedy: "Check the image size and values")
        }
        defer { free(buffer) }
        return Array(UnsafeRawBufferPointer(start: buffer, count: length))
    }

    private static func message(_ status: Int32) -> String { String(cString: spng_strerror(status)) }

    private static func colorTypeName(_ t: UInt32) -> String {
        switch t {
        case SPNG_COLOR_TYPE_TRUECOLOR.rawValue: return "RGB"
        case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA.rawValue: return "RGBA"
        case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA.rawValue: return "gray+alpha"
        default: return "unknown"
        }
    }

    private static func corrupt(_ path: String, _ problem: String) -> DataError {
        .corruptFile(path: path, problem: problem, remedy: "Re-download or re-extract this file, or remove it from the dataset")
    }
}
