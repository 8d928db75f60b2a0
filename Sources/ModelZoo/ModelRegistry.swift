import NeuralNet
import TensorEngine

/// A config value that cannot be used, with the key it came from.
public struct ModelConfigError: Error, CustomStringConvertible, Equatable {
    public let key: String
    public let message: String
    public var description: String { "\(key): \(message)" }
}

/// `backbone: {type: seaformer, variant: tiny, attention: {...}, drop_path: 0.1}`
public struct SeaFormerBackboneConfig: Decodable, Equatable {
    public var variant: SeaFormerVariant = .tiny
    public var attention = AttentionSpec()
    public var dropPath: Float = 0.1

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable { case type, variant, attention, dropPath = "drop_path" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        variant = try c.decode(.variant, default: variant)
        attention = try c.decode(.attention, default: attention)
        dropPath = try c.decode(.dropPath, default: dropPath)
        guard (0..<1).contains(dropPath) else {
            throw ModelConfigError(key: "drop_path", message: "must be in [0, 1), got \(dropPath)")
        }
        try AttentionRegistry.validate(attention)
    }
}

/// `head: {type: light_head | simple_head, embed_dims: [64, 96], channels: 96, dropout: 0.1, fusion: sigmoid_mul}`
/// `embed_dims` defaults to the variant's official widths; `channels` must equal its last entry.
public struct SegmentationHeadConfig: Decodable, Equatable {
    public var embedDims: [Int]?
    public var channels: Int?
    public var dropout: Float = 0.1
    public var fusion: FusionMode = .sigmoidMul

    enum CodingKeys: String, CodingKey, CaseIterable { case type, embedDims = "embed_dims", channels, dropout, fusion }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        embedDims = try c.decodeIfPresent([Int].self, forKey: .embedDims)
        channels = try c.decodeIfPresent(Int.self, forKey: .channels)
        dropout = try c.decode(.dropout, default: dropout)
        fusion = try c.decode(.fusion, default: fusion)
        if let dims = embedDims, dims.isEmpty || dims.contains(where: { $0 < 1 }) {
            throw ModelConfigError(key: "embed_dims", message: "needs positive widths, got \(dims)")
        }
        if let channels, let last = embedDims?.last, channels != last {
            throw ModelConfigError(key: "channels", message: "must equal the last of embed_dims (\(last)): linear_fuse reads the last fusion's output; got \(channels)")
        }
    }
}

/// Builders of the parts a model config names, and of whole models from a `model:` node:
/// `{type: encoder_decoder, backbone: {...}, head: {...}, num_classes: 150}` or
/// `{type: image_classifier, backbone: {...}, num_classes: 1000}`.
public enum ModelRegistry {
    public static let backbones: Registry<SeaFormerBackbone> = {
        let r = Registry<SeaFormerBackbone>(kind: "backbone")
        r.register("seaformer") { d in
            let c = try SeaFormerBackboneConfig(from: d)
            return SeaFormerBackbone(variant: c.variant, attention: c.attention, dropPath: c.dropPath)
        }
        return r
    }()

    public static let heads: Registry<SegmentationHeadKind> = {
        let r = Registry<SegmentationHeadKind>(kind: "head")
        for kind in SegmentationHeadKind.allCases { r.register(kind.rawValue) { _ in kind } }
        return r
    }()

    public static let models: Registry<Module> = {
        let r = Registry<Module>(kind: "model")
        r.register("encoder_decoder") { d in try buildSegmentor(d) }
        r.register("image_classifier") { d in
            let c = try d.container(keyedBy: ModelKeys.self)
            let backboneNode = try c.superDecoder(forKey: .backbone)
            _ = try backbones.typeName(in: backboneNode)
            let backbone = try SeaFormerBackboneConfig(from: backboneNode)
            let classes = try c.decode(.numClasses, default: 1000)
            return backbone.variant.classifier(numClasses: try positiveClasses(classes), attention: backbone.attention, dropPath: backbone.dropPath)
        }
        return r
    }()

    /// What `runexp list` shows, by kind.
    public static var names: [(kind: String, names: [String])] {
        [("models", models.names), ("backbones", backbones.names), ("heads", heads.names), ("attentions", AttentionRegistry.names)]
    }

    enum ModelKeys: String, CodingKey, CaseIterable { case type, backbone, head, numClasses = "num_classes" }

    private static func positiveClasses(_ n: Int) throws -> Int {
        guard n >= 1 else { throw ModelConfigError(key: "num_classes", message: "must be at least 1, got \(n)") }
        return n
    }

    private static func buildSegmentor(_ d: Decoder) throws -> Module {
        let c = try d.container(keyedBy: ModelKeys.self)
        let backboneNode = try c.superDecoder(forKey: .backbone)
        _ = try backbones.typeName(in: backboneNode)  // an unknown type fails here, with a suggestion
        let backbone = try SeaFormerBackboneConfig(from: backboneNode)
        let headNode = try c.superDecoder(forKey: .head)
        let kind = try heads.build(from: headNode)
        let head = try SegmentationHeadConfig(from: headNode)
        let classes = try positiveClasses(try c.decode(Int.self, forKey: .numClasses))
        return try backbone.variant.segmentor(numClasses: classes, attention: backbone.attention, head: kind, headEmbedDims: head.embedDims,
                                              fusion: head.fusion, dropPath: backbone.dropPath, dropout: head.dropout)
    }
}
