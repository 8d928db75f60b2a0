import Foundation
import TensorEngine

/// The transform registry: a config node's `type:` → a builder that reads the node's typed
/// config from a `Decoder` (the same pattern as ModelZoo's `Registry`, which DataPipeline may not
/// import). Any Decoder works: the YAML experiment loader, JSON, tests.
public final class TransformRegistry: @unchecked Sendable {
    private var builders: [String: (Decoder) throws -> any Transform] = [:]

    public init() {}

    public func register(_ name: String, _ builder: @escaping (Decoder) throws -> any Transform) {
        precondition(builders[name] == nil, "transform '\(name)' is registered twice")
        builders[name] = builder
    }

    /// Registered `type:` names, sorted.
    public var names: [String] { builders.keys.sorted() }

    /// Builds the transform named by the node's `type:` key.
    public func build(from decoder: Decoder) throws -> any Transform {
        let c = try decoder.container(keyedBy: AnyConfigKey.self)
        let typeKey = AnyConfigKey(stringValue: "type")
        guard c.contains(typeKey) else {
            throw DataConfigError(path: decoder.codingPath, message: "transform has no 'type:' key; known transforms: \(names.joined(separator: ", "))")
        }
        let name = try c.decode(String.self, forKey: typeKey)
        guard let builder = builders[name] else {
            let hint = nearestName(to: name, in: names)
            throw DataConfigError(path: decoder.codingPath + [typeKey],
                                  message: "unknown transform '\(name)'" + (hint == nil ? "; known transforms: \(names.joined(separator: ", "))" : ""),
                                  suggestion: hint)
        }
        return try builder(decoder)
    }

    /// Builds a `Pipeline` from a config list of transform nodes.
    public func pipeline(from decoder: Decoder) throws -> Pipeline {
        var list = try decoder.unkeyedContainer()
        var steps: [any Transform] = []
        while !list.isAtEnd { steps.append(try build(from: try list.superDecoder())) }
        return Pipeline(steps)
    }

    /// Every built-in transform. The mmseg names are the snake_case of mmseg's classes.
    public static let standard: TransformRegistry = {
        let r = TransformRegistry()
        r.register("random_resize") { try RandomResize(config: RandomResize.Config(from: $0)) }
        r.register("resize") { try Resize(config: Resize.Config(from: $0)) }
        r.register("random_crop") { try RandomCrop(config: RandomCrop.Config(from: $0)) }
        r.register("center_crop") { try CenterCrop(config: CenterCrop.Config(from: $0)) }
        r.register("random_resized_crop") { try RandomResizedCrop(config: RandomResizedCrop.Config(from: $0)) }
        r.register("random_flip") { try RandomFlip(config: RandomFlip.Config(from: $0)) }
        r.register("photometric_distortion") { try PhotometricDistortion(config: PhotometricDistortion.Config(from: $0)) }
        r.register("normalize") { try Normalize(config: Normalize.Config(from: $0)) }
        r.register("pad") { try Pad(config: Pad.Config(from: $0)) }
        return r
    }()
}

/// `pipeline: [{type: random_resize, ...}, ...]` decodes with the standard registry.
extension Pipeline: Decodable {
    public init(from decoder: Decoder) throws {
        self = try TransformRegistry.standard.pipeline(from: decoder)
    }
}
