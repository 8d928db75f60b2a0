import TensorEngine

/// One augmentation or preprocessing step. Transforms are immutable values, shared by all loader
/// workers; every random decision is drawn from the generator passed in, which the loader
/// derives from (seed, epoch, sample index) — so a sample's augmentation never depends on which
/// worker ran it or when.
public protocol Transform {
    /// Applies the step to `sample` in place. Throws `TransformError` when the sample cannot be
    /// transformed (e.g. an image larger than the pad size).
    func apply(_ sample: inout Sample, random: RandomGenerator) throws
}

/// A sample that a transform cannot process, with the sample's source for the message.
public struct TransformError: Error, CustomStringConvertible, Equatable {
    /// The transform's registered name (`pad`, `random_crop`, …).
    public let transform: String
    public let source: String
    public let message: String

    public init(transform: String, source: String, message: String) {
        self.transform = transform; self.source = source; self.message = message
    }

    public var description: String { "\(transform) on \(source): \(message)" }
}

/// Transforms applied in order (mmseg's `Compose`); built from a config list with
/// `TransformRegistry.pipeline(from:)`.
public struct Pipeline: Transform {
    public var steps: [any Transform]

    public init(_ steps: [any Transform]) { self.steps = steps }

    public func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        for step in steps { try step.apply(&sample, random: random) }
    }
}

extension Transform {
    /// Convenience for tests and one-off use: returns the transformed copy.
    public func callAsFunction(_ sample: Sample, random: RandomGenerator) throws -> Sample {
        var s = sample
        try apply(&s, random: random)
        return s
    }
}

/// Geometric transforms move image and label together, so they must cover the same pixels; a
/// mismatch (e.g. after `resize` with `resize_label: false`) is a config error, not a crash.
func requireAlignedLabel(_ sample: Sample, _ transform: String) throws {
    if let l = sample.label, l.height != sample.image.height || l.width != sample.image.width {
        throw TransformError(transform: transform, source: sample.source,
                             message: "label \(l.height)×\(l.width) does not match image \(sample.image.height)×\(sample.image.width)")
    }
}
