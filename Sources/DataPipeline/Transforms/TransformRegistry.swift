import Foundation
import TensorEngine

/// The transform registry: a config node's `type:` → a builder that reads the node's typed
/// config from a `Decoder` (ConfigCore's `Registry`, as every other kind). Any Decoder works:
/// the YAML experiment loader, JSON, tests.
public typealias TransformRegistry = Registry<Void, any Transform>

extension Registry where Context == Void, Product == any Transform {
    /// Builds a `Pipeline` from a config list of transform nodes.
    public func pipeline(from decoder: Decoder) throws -> Pipeline {
        var list = try decoder.unkeyedContainer()
        var steps: [any Transform] = []
        while !list.isAtEnd { steps.append(try build(from: try list.superDecoder())) }
        return Pipeline(steps)
    }

    /// Every built-in transform.
    public static var standard: TransformRegistry { StandardTransforms.registry }
}

/// The built-in transforms. The mmseg names are the snake_case of mmseg's classes.
public enum StandardTransforms {
    public static let registry: TransformRegistry = {
        let r = TransformRegistry(kind: "transform")
        r.register("random_resize") { try RandomResize(config: RandomResize.Config(from: $0)) }
        r.register("resize") { try Resize(config: Resize.Config(from: $0)) }
        r.register("random_crop") { try RandomCrop(config: RandomCrop.Config(from: $0)) }
        r.register("center_crop") { try CenterCrop(config: CenterCrop.Config(from: $0)) }
        r.register("random_resized_crop") { try RandomResizedCrop(config: RandomResizedCrop.Config(from: $0)) }
        r.register("random_flip") { try RandomFlip(config: RandomFlip.Config(from: $0)) }
        r.register("photometric_distortion") { try PhotometricDistortion(config: PhotometricDistortion.Config(from: $0)) }
        r.register("normalize") { try Normalize(config: Normalize.Config(from: $0)) }
        r.register("pad") { try Pad(config: Pad.Config(from: $0)) }
        r.register("random_erasing") { try RandomErasing(config: RandomErasing.Config(from: $0)) }
        r.register("rand_augment") { try RandAugment(config: RandAugment.Config(from: $0)) }
        return r
    }()
}

/// `pipeline: [{type: random_resize, ...}, ...]` decodes with the standard registry.
extension Pipeline: Decodable {
    public init(from decoder: Decoder) throws {
        self = try TransformRegistry.standard.pipeline(from: decoder)
    }
}
