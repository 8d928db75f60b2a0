import Foundation
import TensorEngine

/// The procedural `synthetic` dataset: a scene per index, generated from (seed, split, index)
/// alone, so it needs no files and every worker, run and machine sees the same pixels.
///
/// Segmentation scenes are a cloudy two-colour background (class 0) with several overlapping
/// objects (classes 1…K−1). A class has a shape family (ellipse, rectangle, triangle, star,
/// blob), a texture (stripes, checker, dots, radial shading, speckle) and a hue centre; hues
/// of neighbouring classes overlap and the background takes any hue, so a per-pixel colour
/// lookup cannot solve the task — a model must use texture, shape and context. Objects have
/// random size, aspect, position and rotation, occlude each other in random order, and the
/// image gets pixel noise. Defaults (6 classes, radii ≥ 12% of the side) keep objects several
/// cells wide at 1/8 resolution, so a small model learns it in minutes.
///
/// `task: classification` draws one dominant object (label = its class, 0…K−1) with a few
/// small distractors of other classes behind it.
public final class SyntheticDataset: Dataset {
    public enum Task: String, Decodable, Equatable, Sendable { case segmentation, classification }

    /// `{type: synthetic, num_classes: 6, image_size: 128, length: 1000, seed: 0, split: train, task: segmentation}`
    public struct Config: Decodable, Equatable, Sendable {
        /// Segmentation: classes including background (≥ 2). Classification: object classes (≥ 2).
        public var numClasses = 6
        public var imageSize = SizeHW(128)
        public var length = 1000
        public var seed: UInt64 = 0
        /// Mixed into the seed so `train` and `val` hold different scenes with one config.
        public var split = "train"
        public var task = Task.segmentation
        /// Objects per segmentation scene, drawn uniformly in [low, high].
        public var objects = [2, 4]
        /// Standard deviation of the pixel noise (0…255 scale).
        public var noise: Float = 8

        public init(numClasses: Int = 6, imageSize: SizeHW = SizeHW(128), length: Int = 1000, seed: UInt64 = 0,
                    split: String = "train", task: Task = .segmentation, objects: [Int] = [2, 4], noise: Float = 8) {
            self.numClasses = numClasses; self.imageSize = imageSize; self.length = length; self.seed = seed
            self.split = split; self.task = task; self.objects = objects; self.noise = noise
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case type, numClasses = "num_classes", imageSize = "image_size", length, seed, split, task, objects, noise
        }

        public init(from decoder: Decoder) throws {
            try rejectUnknownKeys(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            numClasses = try c.decode(.numClasses, default: numClasses)
            imageSize = try c.decode(.imageSize, default: imageSize)
            length = try c.decode(.length, default: length)
            seed = try c.decode(.seed, default: seed)
            split = try c.decode(.split, default: split)
            task = try c.decode(.task, default: task)
            objects = try c.decode(.objects, default: objects)
            noise = try c.decode(.noise, default: noise)
            try validate(path: decoder.codingPath)
        }

        func validate(path: [CodingKey] = []) throws {
            func fail(_ key: CodingKeys, _ m: String) -> ConfigValueError { ConfigValueError(path: path + [key], message: m) }
            guard numClasses >= 2 && numClasses <= 255 else { throw fail(.numClasses, "must be in 2…255, got \(numClasses)") }
            // The sampler keeps a permutation of every index (8 bytes each), so the length is
            // an allocation too.
            guard length >= 1 && length <= 100_000_000 else { throw fail(.length, "must be in 1…100000000, got \(length)") }
            guard imageSize.height >= 16 && imageSize.width >= 16 else { throw fail(.imageSize, "must be at least 16×16, got \(imageSize)") }
            guard objects.count == 2, objects[0] >= 1, objects[0] <= objects[1] else { throw fail(.objects, "needs [min, max] with 1 ≤ min ≤ max, got \(objects)") }
            guard noise >= 0 && noise.isFinite else { throw fail(.noise, "must be a finite number ≥ 0, got \(noise)") }
        }
    }

    public let config: Config
    public let classNames: [String]
    public var count: Int { config.length }
    private let styles: [ClassStyle]
    private let splitKey: UInt64

    public init(config: Config) throws {
        try config.validate()
        self.config = config
        let objectClasses = config.task == .segmentation ? config.numClasses - 1 : config.numClasses
        styles = (0..<objectClasses).map { ClassStyle(objectIndex: $0, of: objectClasses) }
        let names = styles.enumerated().map { j, s in "\(s.shape.rawValue)_\(s.texture.rawValue)" + (j >= 25 ? "_\(j / 25)" : "") }
        classNames = config.task == .segmentation ? ["background"] + names : names
        splitKey = config.split.utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }  // FNV-1a
    }

    public func load(_ index: Int) throws -> Sample {
        precondition(index >= 0 && index < count, "SyntheticDataset.load: index \(index) outside 0..<\(count)")
        let key = DataSeed.combine(DataSeed.syntheticTag, config.seed, splitKey, UInt64(index))
        var draws = UniformStream(RandomGenerator(seed: key))
        let h = config.imageSize.height, w = config.imageSize.width
        var pixels = [Float](repeating: 0, count: h * w * 3)
        var labels = [UInt8](repeating: 0, count: h * w)
        let side = Float(min(h, w))
        var sceneObjects: [SceneObject] = []
        var classIndex: Int?
        switch config.task {
        case .segmentation:
            let n = draws.int(config.objects[0], config.objects[1] + 1)
            for _ in 0..<n {
                let j = draws.int(0, styles.count)
                sceneObjects.append(SceneObject(classValue: UInt8(j + 1), style: styles[j], radius: side * draws.uniform(0.12, 0.28),
                                                centre: (draws.uniform(0.1, 0.9) * Float(w), draws.uniform(0.1, 0.9) * Float(h)), &draws))
            }
        case .classification:
            let j = draws.int(0, styles.count)
            classIndex = j
            for _ in 0..<draws.int(0, 3) {
                var k = draws.int(0, styles.count - 1)
                if k >= j { k += 1 }
                sceneObjects.append(SceneObject(classValue: UInt8(k), style: styles[k], radius: side * draws.uniform(0.07, 0.13),
                                                centre: (draws.uniform(0.1, 0.9) * Float(w), draws.uniform(0.1, 0.9) * Float(h)), &draws))
            }
            sceneObjects.append(SceneObject(classValue: UInt8(j), style: styles[j], radius: side * draws.uniform(0.28, 0.4),
                                            centre: (draws.uniform(0.38, 0.62) * Float(w), draws.uniform(0.38, 0.62) * Float(h)), &draws))
        }
        let background = Background(&draws, key: key)
        pixels.withUnsafeMutableBufferPointer { px in
            labels.withUnsafeMutableBufferPointer { lb in
                background.paint(px.baseAddress!, height: h, width: w)
                for o in sceneObjects { o.paint(px.baseAddress!, lb.baseAddress!, height: h, width: w) }
                addNoise(px.baseAddress!, count: h * w * 3, std: config.noise, key: key)
            }
        }
        let image = Image(height: h, width: w, channels: 3, pixels: pixels)
        let source = "synthetic:\(config.split):\(index)"
        switch config.task {
        case .segmentation: return Sample(image: image, label: LabelMap(height: h, width: w, values: labels), source: source)
        case .classification: return Sample(image: image, classIndex: classIndex, source: source)
        }
    }
}

enum ShapeKind: String, CaseIterable {
    case ellipse, rectangle, triangle, star, blob
}

enum TextureKind: String, CaseIterable {
    case stripes, checker, dots, shaded, speckle
}

/// What makes a class recognisable. Shape and texture cycle at different rates so that with
/// more than five classes every class still differs from every other in some cue.
struct ClassStyle {
    let shape: ShapeKind
    let texture: TextureKind
    /// Hue centre in degrees; instances spread ±50°, overlapping the neighbouring classes.
    let hue: Float
    /// Texture period as a fraction of the image's short side.
    let period: Float

    init(objectIndex j: Int, of n: Int) {
        shape = ShapeKind.allCases[j % 5]
        texture = TextureKind.allCases[(j + j / 5) % 5]
        hue = Float(j) * 360 / Float(n) + 17
        period = 0.05 + 0.02 * Float(j % 3)
    }
}

/// SplitMix-style hash of (key, i) → two independent uniforms in [0, 1) with 24 bits each;
/// random access by coordinate is what textures and per-pixel noise need.
@inline(__always)
private func hashUnits(_ key: UInt64, _ i: UInt64) -> (Float, Float) {
    let z = DataSeed.mix(key ^ (i &* 0xD6E8_FEB8_6659_FD93))
    return (Float(z >> 40) * (1 / 16_777_216), Float((z >> 8) & 0xFF_FFFF) * (1 / 16_777_216))
}

private func rgb(h: Float, s: Float, v: Float) -> (Float, Float, Float) {
    var h = h.truncatingRemainder(dividingBy: 360)
    if h < 0 { h += 360 }
    return hsvToRGB(h, s, v)
}

/// One object instance: class, pose, two colours and texture phase.
private struct SceneObject {
    let classValue: UInt8
    let shape: ShapeKind, texture: TextureKind
    let cx: Float, cy: Float, rx: Float, ry: Float, cosT: Float, sinT: Float
    let colourA: (Float, Float, Float), colourB: (Float, Float, Float)
    let period: Float, phase: Float
    /// Blob outline harmonics: amplitude and phase of cos(2φ) and cos(3φ).
    let a2: Float, p2: Float, a3: Float, p3: Float
    let textureKey: UInt64

    init(classValue: UInt8, style: ClassStyle, radius: Float, centre: (Float, Float), _ d: inout UniformStream) {
        self.classValue = classValue
        shape = style.shape; texture = style.texture
        cx = centre.0; cy = centre.1
        let aspect = d.uniform(0.7, 1.4)
        rx = radius * aspect.squareRoot(); ry = radius / aspect.squareRoot()
        let theta = d.uniform(0, 2 * .pi)
        cosT = cos(theta); sinT = sin(theta)
        let hue = style.hue + d.uniform(-50, 50)
        let sat = d.uniform(0.35, 0.9), val = d.uniform(110, 240)
        colourA = rgb(h: hue, s: sat, v: val)
        colourB = rgb(h: hue + d.uniform(25, 55), s: sat * d.uniform(0.6, 1), v: val * d.uniform(0.35, 0.65))
        period = max(3, style.period * radius / 0.2 * d.uniform(0.85, 1.2))
        phase = d.uniform(0, 1)
        a2 = d.uniform(0.05, 0.2); p2 = d.uniform(0, 2 * .pi); a3 = d.uniform(0.05, 0.15); p3 = d.uniform(0, 2 * .pi)
        textureKey = UInt64(d.next() * 16_777_216) << 24 | UInt64(d.next() * 16_777_216)
    }

    /// Is the point at normalised local coordinates (nu, nv) inside the outline?
    @inline(__always)
    func inside(_ nu: Float, _ nv: Float) -> Bool {
        switch shape {
        case .ellipse: return nu * nu + nv * nv <= 1
        case .rectangle: return abs(nu) <= 0.85 && abs(nv) <= 0.85
        case .triangle:
            let u = nu / 1.25, v = nv / 1.25
            return v >= -0.5 && v <= 1 - 1.732_050_8 * abs(u)
        case .star:
            // Five rounded points (radius 0.3…1 before the 1.25 enlargement that gives it about
            // the area of the other shapes).
            let r2 = nu * nu + nv * nv
            if r2 > 1.5625 { return false }
            let r = r2.squareRoot() / 1.25, phi = atan2(nv, nu)
            return r <= 0.65 + 0.35 * cos(5 * phi)
        case .blob:
            let r2 = nu * nu + nv * nv
            if r2 > 1.8225 { return false }
            let phi = atan2(nv, nu)
            let rr = 1 + a2 * cos(2 * phi + p2) + a3 * cos(3 * phi + p3)
            return r2 <= rr * rr
        }
    }

    /// Texture value in [0, 1] at local pixel coordinates (u, v); it rotates with the object.
    @inline(__always)
    func textureValue(_ u: Float, _ v: Float, _ nu: Float, _ nv: Float) -> Float {
        switch texture {
        case .stripes: return 0.5 + 0.5 * sin(2 * .pi * (u / period + phase))
        case .checker:
            let a = Int((u / period + phase).rounded(.down)), b = Int((v / period).rounded(.down))
            return (a + b) & 1 == 0 ? 0.1 : 0.9
        case .dots:
            let fu = u / period + phase, fv = v / period
            let du = fu - fu.rounded(.down) - 0.5, dv = fv - fv.rounded(.down) - 0.5
            return du * du + dv * dv < 0.09 ? 1 : 0
        case .shaded: return min((nu * nu + nv * nv).squareRoot(), 1)
        case .speckle:
            let cell = period * 0.5
            let a = Int64((u / cell).rounded(.down)), b = Int64((v / cell).rounded(.down))
            return hashUnits(textureKey, UInt64(bitPattern: a &* 0x1_0000_0001 ^ b)).0
        }
    }

    func paint(_ px: UnsafeMutablePointer<Float>, _ labels: UnsafeMutablePointer<UInt8>, height: Int, width: Int) {
        let reach = max(rx, ry) * 1.35
        let x0 = max(0, Int(cx - reach)), x1 = min(width, Int(cx + reach) + 1)
        let y0 = max(0, Int(cy - reach)), y1 = min(height, Int(cy + reach) + 1)
        guard x0 < x1 && y0 < y1 else { return }
        for y in y0..<y1 {
            let dy = Float(y) + 0.5 - cy
            for x in x0..<x1 {
                let dx = Float(x) + 0.5 - cx
                let u = dx * cosT + dy * sinT, v = -dx * sinT + dy * cosT
                let nu = u / rx, nv = v / ry
                guard inside(nu, nv) else { continue }
                let t = textureValue(u, v, nu, nv)
                let p = px + (y * width + x) * 3
                p[0] = colourA.0 + (colourB.0 - colourA.0) * t
                p[1] = colourA.1 + (colourB.1 - colourA.1) * t
                p[2] = colourA.2 + (colourB.2 - colourA.2) * t
                labels[y * width + x] = classValue
            }
        }
    }
}

/// Two octaves of value noise blending two colours of any hue: "clouds" with no class's texture.
private struct Background {
    static let coarse = 4, fine = 11
    let colourA: (Float, Float, Float), colourB: (Float, Float, Float)
    let coarseGrid: [Float], fineGrid: [Float]

    init(_ d: inout UniformStream, key: UInt64) {
        let hue = d.uniform(0, 360)
        colourA = rgb(h: hue, s: d.uniform(0.05, 0.6), v: d.uniform(60, 230))
        colourB = rgb(h: hue + d.uniform(-90, 90), s: d.uniform(0.05, 0.6), v: d.uniform(60, 230))
        coarseGrid = (0..<((Self.coarse + 1) * (Self.coarse + 1))).map { _ in d.next() }
        fineGrid = (0..<((Self.fine + 1) * (Self.fine + 1))).map { _ in d.next() }
    }

    @inline(__always)
    private static func sample(_ grid: UnsafePointer<Float>, _ cells: Int, _ fx: Float, _ fy: Float) -> Float {
        let gx = fx * Float(cells), gy = fy * Float(cells)
        let ix = min(Int(gx), cells - 1), iy = min(Int(gy), cells - 1)
        var tx = gx - Float(ix), ty = gy - Float(iy)
        tx = tx * tx * (3 - 2 * tx); ty = ty * ty * (3 - 2 * ty)  // smoothstep: no lattice creases
        let s = cells + 1
        let a = grid[iy * s + ix], b = grid[iy * s + ix + 1], c = grid[(iy + 1) * s + ix], e = grid[(iy + 1) * s + ix + 1]
        return (a + (b - a) * tx) * (1 - ty) + (c + (e - c) * tx) * ty
    }

    func paint(_ px: UnsafeMutablePointer<Float>, height: Int, width: Int) {
        coarseGrid.withUnsafeBufferPointer { cg in
            fineGrid.withUnsafeBufferPointer { fg in
                for y in 0..<height {
                    let fy = (Float(y) + 0.5) / Float(height)
                    for x in 0..<width {
                        let fx = (Float(x) + 0.5) / Float(width)
                        let t = 0.75 * Self.sample(cg.baseAddress!, Self.coarse, fx, fy) + 0.25 * Self.sample(fg.baseAddress!, Self.fine, fx, fy)
                        let p = px + (y * width + x) * 3
                        p[0] = colourA.0 + (colourB.0 - colourA.0) * t
                        p[1] = colourA.1 + (colourB.1 - colourA.1) * t
                        p[2] = colourA.2 + (colourB.2 - colourA.2) * t
                    }
                }
            }
        }
    }
}

/// Triangular noise (sum of two uniforms, scaled to standard deviation `std`), then clipped to
/// the 0…255 range an 8-bit image would have.
private func addNoise(_ px: UnsafeMutablePointer<Float>, count: Int, std: Float, key: UInt64) {
    let scale = std * Float(6).squareRoot()
    let noiseKey = DataSeed.mix(key ^ 0x0015_E0F0)
    for i in 0..<count {
        var v = px[i]
        if std > 0 {
            let (a, b) = hashUnits(noiseKey, UInt64(i))
            v += (a + b - 1) * scale
        }
        px[i] = min(max(v, 0), 255)
    }
}
