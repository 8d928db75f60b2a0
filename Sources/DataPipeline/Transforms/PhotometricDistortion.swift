import Foundation
import TensorEngine

/// mmseg `PhotoMetricDistortion`, in mmseg's order and with its coin flips:
/// brightness (p ½, + U[−δb, δb)) → mode = randint(2) → [mode 1: contrast (p ½, × U[lo, hi))]
/// → saturation (p ½, S × U[lo, hi)) → hue (p ½, H + randint(−δh, δh) in OpenCV's uint8 hue
/// units of 2°) → [mode 0: contrast]. Every step clips to 0…255 as mmseg's `convert` does.
///
/// Differences from mmseg, on purpose: values stay float (mmseg truncates to uint8 after each
/// step; that loses up to one grey level per step and biases the image darker), and HSV is
/// OpenCV's float conversion (H in degrees, S in 0…1), under which saturation and hue can share
/// one HSV round trip — exact in float, where mmseg's uint8 round trip is lossy.
/// The label is never touched.
public struct PhotometricDistortion: Transform {
    /// `{type: photometric_distortion, brightness_delta: 32, contrast_range: [0.5, 1.5], saturation_range: [0.5, 1.5], hue_delta: 18}`
    public struct Config: Decodable, Equatable {
        public var brightnessDelta = 32.0
        public var contrastRange = ClosedPair(0.5, 1.5)
        public var saturationRange = ClosedPair(0.5, 1.5)
        public var hueDelta = 18

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, brightnessDelta = "brightness_delta", contrastRange = "contrast_range", saturationRange = "saturation_range", hueDelta = "hue_delta"
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            brightnessDelta = try c.decode(.brightnessDelta, default: brightnessDelta)
            contrastRange = try c.decode(.contrastRange, default: contrastRange)
            saturationRange = try c.decode(.saturationRange, default: saturationRange)
            hueDelta = try c.decode(.hueDelta, default: hueDelta)
            guard brightnessDelta >= 0 else { throw c.error(.brightnessDelta, "must be ≥ 0, got \(brightnessDelta)") }
            // mmseg draws randint(-hue_delta, hue_delta), an empty range at 0: a config error
            // here rather than the sampler's precondition failing inside a loader thread.
            guard hueDelta >= 1 && hueDelta <= 180 else { throw c.error(.hueDelta, "must be in 1…180 (the hue shift is drawn from [-hue_delta, hue_delta)), got \(hueDelta)") }
            guard contrastRange.low >= 0 else { throw c.error(.contrastRange, "factors must be ≥ 0") }
            guard saturationRange.low >= 0 else { throw c.error(.saturationRange, "factors must be ≥ 0") }
        }
    }

    public let config: Config
    public init(config: Config) { self.config = config }

    /// The random choices for one image; nil = step skipped.
    struct Draw: Equatable {
        var brightness: Float?
        var contrastFirst: Bool
        var contrast: Float?
        var saturation: Float?
        /// Hue shift in degrees (OpenCV uint8 units × 2).
        var hue: Float?
    }

    /// Draws in mmseg's order, so a step's coin is consumed even when the step is off.
    func draw(_ random: RandomGenerator) -> Draw {
        let d = config.brightnessDelta
        let brightness: Float? = random.drawInt(0, 2) == 1 ? Float(random.drawUniform(-d, d)) : nil
        let contrastFirst = random.drawInt(0, 2) == 1
        var contrast: Float?
        if contrastFirst, random.drawInt(0, 2) == 1 { contrast = Float(random.drawUniform(config.contrastRange.low, config.contrastRange.high)) }
        let saturation: Float? = random.drawInt(0, 2) == 1 ? Float(random.drawUniform(config.saturationRange.low, config.saturationRange.high)) : nil
        let hue: Float? = random.drawInt(0, 2) == 1 ? Float(2 * random.drawInt(-config.hueDelta, config.hueDelta)) : nil
        if !contrastFirst, random.drawInt(0, 2) == 1 { contrast = Float(random.drawUniform(config.contrastRange.low, config.contrastRange.high)) }
        return Draw(brightness: brightness, contrastFirst: contrastFirst, contrast: contrast, saturation: saturation, hue: hue)
    }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        let d = draw(random)
        guard sample.image.channels == 3 else {
            throw TransformError(transform: "photometric_distortion", source: sample.source, message: "needs a 3-channel image, got \(sample.image.channels)")
        }
        if d.brightness == nil && d.contrast == nil && d.saturation == nil && d.hue == nil { return }
        let n = sample.image.height * sample.image.width
        sample.image.pixels.withUnsafeMutableBufferPointer { p in
            distort(p.baseAddress!, pixels: n, d)
        }
    }
}

/// All steps are per pixel once the draws are fixed, so they run fused in one pass.
private func distort(_ p: UnsafeMutablePointer<Float>, pixels n: Int, _ d: PhotometricDistortion.Draw) {
    let beta = d.brightness ?? 0
    let alphaFirst: Float = d.contrastFirst ? (d.contrast ?? 1) : 1
    let alphaLast: Float = d.contrastFirst ? 1 : (d.contrast ?? 1)
    let doHSV = d.saturation != nil || d.hue != nil
    let sat = d.saturation ?? 1, hue = d.hue ?? 0
    @inline(__always) func clip(_ v: Float) -> Float { min(max(v, 0), 255) }
    for i in 0..<n {
        let px = p + i * 3
        var r = px[0], g = px[1], b = px[2]
        if d.brightness != nil { r = clip(r + beta); g = clip(g + beta); b = clip(b + beta) }
        if alphaFirst != 1 { r = clip(r * alphaFirst); g = clip(g * alphaFirst); b = clip(b * alphaFirst) }
        if doHSV {
            var (h, s, v) = rgbToHSV(r, g, b)
            s = min(max(s * sat, 0), 1)
            h += hue
            if h >= 360 { h -= 360 } else if h < 0 { h += 360 }
            (r, g, b) = hsvToRGB(h, s, v)
        }
        if alphaLast != 1 { r = clip(r * alphaLast); g = clip(g * alphaLast); b = clip(b * alphaLast) }
        px[0] = r; px[1] = g; px[2] = b
    }
}

/// OpenCV's float RGB→HSV (`RGB2HSV_f`): H in [0, 360), S in [0, 1], V in the input's range.
@inline(__always)
func rgbToHSV(_ r: Float, _ g: Float, _ b: Float) -> (Float, Float, Float) {
    let v = max(r, g, b), vmin = min(r, g, b)
    var diff = v - vmin
    let s = diff / (abs(v) + .ulpOfOne)
    diff = 60 / (diff + .ulpOfOne)
    var h: Float
    if v == r { h = (g - b) * diff } else if v == g { h = (b - r) * diff + 120 } else { h = (r - g) * diff + 240 }
    if h < 0 { h += 360 }
    return (h, s, v)
}

/// OpenCV's float HSV→RGB (`HSV2RGB_f`), sector table included.
@inline(__always)
func hsvToRGB(_ h: Float, _ s: Float, _ v: Float) -> (Float, Float, Float) {
    if s == 0 { return (v, v, v) }
    var h = h * (6 / 360)
    while h < 0 { h += 6 }
    while h >= 6 { h -= 6 }
    var sector = Int(h.rounded(.down))
    h -= Float(sector)
    if sector < 0 || sector >= 6 { sector = 0; h = 0 }
    let t0 = v, t1 = v * (1 - s), t2 = v * (1 - s * h), t3 = v * (1 - s * (1 - h))
    // OpenCV's table gives (b, g, r) indices into [t0, t1, t2, t3] per sector.
    switch sector {
    case 0: return (t0, t3, t1)
    case 1: return (t2, t0, t1)
    case 2: return (t1, t0, t3)
    case 3: return (t1, t2, t0)
    case 4: return (t3, t1, t0)
    default: return (t0, t1, t2)
    }
}
