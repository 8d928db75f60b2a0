import NeuralNet
import TensorEngine

/// A model family (SeaFormer, later MiT, PVT, XFormer, S2AFormer): one folder that registers
/// its backbones, and any heads or attention types of its own, in one place.
public protocol ModelFamily {
    static func register(into registries: ModelRegistries)
}

/// The families this build knows. Adding a family is its folder plus one line here.
let modelFamilies: [ModelFamily.Type] = [
    SeaFormerFamily.self,
    MiTFamily.self,
    PVTFamily.self,
    LVTFamily.self,
    S2AFormerFamily.self,
    XFormerFamily.self,
]

/// Everything a model config can name, by kind. Builders read their own keys from the config
/// node (strict, located errors through the experiment loader) and take what the config cannot
/// know from the context: a head gets its backbone's `featureInfo`, an attention type its stage's
/// shape.
public final class ModelRegistries {
    /// `model.type`: whole models (encoder_decoder, image_classifier).
    public let models = Registry<ModelContext, any TaskModel>(kind: "model")
    /// `model.backbone.type`.
    public let backbones = Registry<BackboneContext, any Backbone>(kind: "backbone")
    /// `model.head.type`.
    public let heads = Registry<HeadContext, any DecodeHead>(kind: "head")
    /// `model.backbone.attention.type`: each type decodes its own keys and builds per stage.
    public let attentions = Registry<Void, any AttentionConfig>(kind: "attention")

    init() {
        StandardModels.register(into: self)
        StandardHeads.register(into: self)
        StandardAttentions.register(into: self)
        for family in modelFamilies { family.register(into: self) }
    }
}

/// What a whole-model builder receives besides its config.
public struct ModelContext {
    public var generator: RandomGenerator
    public init(generator: RandomGenerator = .global) { self.generator = generator }
}

/// The registries of this build.
public enum ModelRegistry {
    public static let shared = ModelRegistries()

    public static var models: Registry<ModelContext, any TaskModel> { shared.models }
    public static var backbones: Registry<BackboneContext, any Backbone> { shared.backbones }
    public static var heads: Registry<HeadContext, any DecodeHead> { shared.heads }
    public static var attentions: Registry<Void, any AttentionConfig> { shared.attentions }

    /// Builds a whole model from a `model:` node.
    public static func build(from decoder: Decoder, context: ModelContext = ModelContext()) throws -> any TaskModel {
        try models.build(from: decoder, context)
    }

    /// What `runexp list` shows, by kind.
    public static var names: [(kind: String, names: [String])] {
        [("models", models.names), ("backbones", backbones.names), ("heads", heads.names), ("attentions", attentions.names)]
    }
}
