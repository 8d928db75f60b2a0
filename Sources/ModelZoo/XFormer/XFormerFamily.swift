import NeuralNet
import TensorEngine

/// XFormer (spec/xformer.md): registers the `xformer` backbone, the attention types `xfa`
/// (cross feature attention) and `mhsa` (plain multi-head self-attention, the Table 2 baseline),
/// usable by every family whose stages they fit, and the `xformer_classifier` model. Its
/// segmentor is the shared `encoder_decoder` with `segformer_head`.
public enum XFormerFamily: ModelFamily {
    public static func register(into r: ModelRegistries) {
        r.attentions.register("xfa", summary: "XFormer's cross feature attention: L2-normalised q/k, rank-1 D×D feature map, no softmax") {
            try XFAConfig(from: $0)
        }
        r.attentions.register("mhsa", summary: "plain multi-head self-attention (qkv Linear, softmax(qkᵀ/√d)v, out Linear)") {
            try MHSAConfig(from: $0)
        }
        r.backbones.register("xformer", summary: "XFormer: MobileViT-S layout with MV3 (SE) blocks and XF stages of cross feature attention") { d, ctx in
            let config = try XFormerBackboneConfig(from: d, attentions: r.attentions)
            return XFormerBackbone(architecture: config.architecture, attention: config.attention, imageSize: config.imageSize,
                                   generator: ctx.generator)
        }
        r.models.register("xformer_classifier", summary: "any backbone + XFormer's head: pool, dropout 0.1, Linear") { d, ctx in
            try XFormerClassifierConfig.build(from: d, context: ctx, backbones: r.backbones)
        }
    }
}

/// `backbone: {type: xformer, attention: {type: xfa}, img_size: 224, se: cin_4, dropout: 0.1}`.
/// `img_size` (an int or [H, W]) is the reference input whose token grids XFA's learned context
/// kernels are sized for (1024 for the Cityscapes crops); `se` the MV3 squeeze width (§6 A3);
/// `dropout` the transformer residual dropout.
public struct XFormerBackboneConfig {
    public var architecture = XFormerArchitecture()
    public var attention: any AttentionConfig = XFAConfig()
    public var imageSize = (224, 224)

    enum Keys: String, CodingKey { case type, attention, imgSize = "img_size", se, dropout }

    public init(from decoder: Decoder, attentions: Registry<Void, any AttentionConfig>) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        _ = c.contains(.type)
        if c.contains(.imgSize) {
            let sides: [Int]
            if let side = try? c.decode(Int.self, forKey: .imgSize) { sides = [side, side] } else {
                guard let pair = try? c.decode([Int].self, forKey: .imgSize), pair.count == 2 else {
                    throw c.error(.imgSize, "img_size is one side (224) or [height, width] ([1024, 2048])")
                }
                sides = pair
            }
            guard sides.allSatisfy({ $0 >= 32 }) else {
                throw c.error(.imgSize, "img_size \(sides) is below 32, XFormer's output stride")
            }
            imageSize = (sides[0], sides[1])
        }
        architecture.squeeze = try c.decode(.se, default: architecture.squeeze)
        architecture.dropout = try c.decode(.dropout, default: architecture.dropout, in: Float(0)..<Float(1))
        if c.contains(.attention) {
            attention = try attentions.build(from: c.superDecoder(forKey: .attention), defaultType: "xfa")
        }
        for shape in architecture.attentionShapes(imageSize: imageSize) { try attention.check(shape) }
    }
}

/// `model: {type: xformer_classifier, backbone: {type: xformer}, num_classes: 1000, dropout: 0.1}`.
struct XFormerClassifierConfig {
    enum Keys: String, CodingKey { case type, backbone, numClasses = "num_classes", dropout }

    static func build(from decoder: Decoder, context: ModelContext, backbones: Registry<BackboneContext, any Backbone>) throws -> XFormerClassifier {
        let c = try decoder.container(keyedBy: Keys.self)
        let classes = try c.decode(.numClasses, default: 1000, atLeast: 1)
        let dropout = try c.decode(.dropout, default: Float(0.1), in: Float(0)..<Float(1))
        let backbone = try backbones.build(from: c.superDecoder(forKey: .backbone),
                                           BackboneContext(task: .classification, generator: context.generator))
        guard !backbone.featureInfo.isEmpty else {
            throw c.error(.backbone, "this backbone reports no features for the classifier to pool")
        }
        if backbone.children.contains(where: { $0.0 == "classifier" }) {
            throw c.error(.backbone, "this backbone has a part named `classifier`, which would collide with the classifier head")
        }
        return XFormerClassifier(backbone: backbone, numClasses: classes, dropout: dropout, generator: context.generator)
    }
}
