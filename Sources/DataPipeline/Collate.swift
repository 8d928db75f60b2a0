import TensorEngine

/// A collated batch, ready for the engine.
public struct Batch {
    /// `[B, H, W, C]`, channels last.
    public let images: Tensor
    /// Segmentation: `[B, H, W]` class indices as floats (255 = ignore). Classification: `[B]`.
    /// nil when the samples carry no target.
    public let labels: Tensor?
    /// Dataset indices of the examples, in batch order.
    public let indices: [Int]
    public let sources: [String]
    /// Sizes before any transform, for resizing predictions back in evaluation.
    public let originalSizes: [(height: Int, width: Int)]
    /// The epoch the batch belongs to.
    public let epoch: Int
}

/// Stacks transformed samples. All images (and all label maps) must have one size: training
/// pipelines end in a crop + pad that guarantees it, and a mismatch names the two examples so
/// the missing step is easy to find.
public func collate(_ samples: [Sample], indices: [Int], epoch: Int) throws -> Batch {
    guard let first = samples.first else { throw LoaderError.invalidOption("cannot collate an empty batch") }
    let h = first.image.height, w = first.image.width, c = first.image.channels
    for s in samples.dropFirst() where s.image.height != h || s.image.width != w || s.image.channels != c {
        throw LoaderError.sizeMismatch(first: first.source, firstSize: "\(h)×\(w)×\(c)", other: s.source,
                                       otherSize: "\(s.image.height)×\(s.image.width)×\(s.image.channels)")
    }
    let plane = h * w * c
    let pixels = [Float](unsafeUninitializedCapacity: samples.count * plane) { buf, n in
        for (b, s) in samples.enumerated() {
            s.image.pixels.withUnsafeBufferPointer { (buf.baseAddress! + b * plane).initialize(from: $0.baseAddress!, count: plane) }
        }
        n = samples.count * plane
    }
    let images = Tensor(pixels, shape: [samples.count, h, w, c])

    var labels: Tensor?
    let withMaps = samples.filter { $0.label != nil }.count
    let withClass = samples.filter { $0.classIndex != nil }.count
    if withMaps == samples.count {
        let l0 = first.label!
        let n = l0.height * l0.width
        for s in samples.dropFirst() where s.label!.height != l0.height || s.label!.width != l0.width {
            throw LoaderError.sizeMismatch(first: first.source, firstSize: "label \(l0.height)×\(l0.width)", other: s.source,
                                           otherSize: "label \(s.label!.height)×\(s.label!.width)")
        }
        let values = [Float](unsafeUninitializedCapacity: samples.count * n) { buf, count in
            for (b, s) in samples.enumerated() {
                s.label!.values.withUnsafeBufferPointer { src in
                    let o = buf.baseAddress! + b * n
                    for i in 0..<n { (o + i).initialize(to: Float(src[i])) }
                }
            }
            count = samples.count * n
        }
        labels = Tensor(values, shape: [samples.count, l0.height, l0.width])
    } else if withClass == samples.count {
        labels = Tensor(samples.map { Float($0.classIndex!) }, shape: [samples.count])
    } else if withMaps + withClass > 0 {
        let ref = withMaps > 0 ? samples.first { $0.label != nil }! : samples.first { $0.classIndex != nil }!
        let odd = withMaps > 0 ? samples.first { $0.label == nil }! : samples.first { $0.classIndex == nil }!
        throw LoaderError.mixedTargets("\(ref.source) has a \(withMaps > 0 ? "label map" : "class index") but \(odd.source) does not")
    }
    return Batch(images: images, labels: labels, indices: indices, sources: samples.map(\.source),
                 originalSizes: samples.map(\.originalSize), epoch: epoch)
}
