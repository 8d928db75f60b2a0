import NeuralNet
import TensorEngine

/// The two ways a model is composed from parts, for every family:
/// `{type: encoder_decoder, backbone: {...}, head: {...}, num_classes: 150}` and
/// `{type: image_classifier, backbone: {...}, num_classes: 1000}`.
enum StandardModels {
    enum Keys: String, CodingKey { case type, backbone, head, numClasses = "num_classes" }

    static func register(into r: ModelRegistries) {
        r.models.register("encoder_decoder", summary: "any backbone + decode head, mmseg's EncoderDecoder") { d, ctx in
            let c = try d.container(keyedBy: Keys.self)
            let classes = try c.decode(Int.self, forKey: .numClasses)
            guard classes >= 1 else { throw c.error(.numClasses, "must be at least 1, got \(classes)") }
            let backbone = try r.backbones.build(from: c.superDecoder(forKey: .backbone),
                                                 BackboneContext(task: .segmentation, generator: ctx.generator))
            let head = try r.heads.build(from: c.superDecoder(forKey: .head),
                                         HeadContext(features: backbone.featureInfo, numClasses: classes,
                                                     decoderWidths: backbone.decoderWidths, generator: ctx.generator))
            return try EncoderDecoder(backbone: backbone, head: head, numClasses: classes)
        }
        r.models.register("image_classifier", summary: "any backbone + global average pooling + linear") { d, ctx in
            let c = try d.container(keyedBy: Keys.self)
            let classes = try c.decode(.numClasses, default: 1000)
            guard classes >= 1 else { throw c.error(.numClasses, "must be at least 1, got \(classes)") }
            let backbone = try r.backbones.build(from: c.superDecoder(forKey: .backbone),
                                                 BackboneContext(task: .classification, generator: ctx.generator))
            return try ImageClassifier.checked(backbone: backbone, numClasses: classes, generator: ctx.generator,
                                               at: d.codingPath + [Keys.backbone])
        }
    }
}
