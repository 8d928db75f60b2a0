import NeuralNet
import TensorEngine

/// S2AFormer's ImageNet classifier (spec §1.3, CMT's head): the backbone's last map →
/// `head_conv` 1×1 conv C → 1280 (bias) → `head_bn` → SiLU (Swish) → global average pooling →
/// `head_drop` (dropout 0.1) → `head` Linear(1280, K), and with `distHead` a second
/// `head_dist` Linear(1280, K) whose logits are **averaged** with `head`'s in training and
/// evaluation (one cross entropy on the average).
///
/// The second classifier (spec §1.3, §6 row 11) is the open point of the reconstruction: with
/// one classifier every variant is exactly 1,281,000 parameters (one Linear(1280, 1000)) short
/// of the paper, for all five sizes, and the dense backbones do not contain it — what a
/// DeiT/LeViT-style distillation head kept without a teacher produces. It is on by default so
/// that the counts are the paper's (mini 5,018,316); `dist_head: false` gives the single-head
/// model (mini 3,737,316). Without a teacher the averaged pair is a linear map of rank ≤ 1280,
/// like one head, so the option changes the count and the initial function, not the capacity.
///
/// State paths: the backbone's own (`stem.*`, `patch_embed1.*`, `block1.*`, … no `backbone.`
/// prefix, so the same keys minus the head are what a segmentor's `backbone.` loads), then
/// `head_conv`, `head_bn`, `head`, `head_dist`. Head init: conv N(0, √(2/fan_out)) and Linear
/// trunc_normal(0.02), biases 0 (spec §1.6).
public final class S2AFormerClassifier: Module, ClassLogitsModel {
    public let backbone: any Backbone
    public let headConv: Conv2d
    public let headBN: BatchNorm
    public let headDrop: Dropout
    public let head: Linear
    public let headDist: Linear?
    public let numClasses: Int

    /// Width of the 1×1 conv before pooling (CMT's 1280).
    public static let defaultFeatureDim = 1280
    /// Names of this model's own parts; a backbone with a part of the same name cannot carry it.
    static let headNames = ["head_conv", "head_bn", "head_drop", "head", "head_dist"]

    public init(backbone: any Backbone, numClasses: Int = 1000, distHead: Bool = true, featureDim: Int = defaultFeatureDim,
                dropout: Float = 0.1, generator: RandomGenerator = .global) {
        precondition(!backbone.outChannels.isEmpty && numClasses > 0 && featureDim > 0,
                     "S2AFormerClassifier: needs backbone features and positive class and feature counts (the builder reports these as config errors)")
        self.backbone = backbone
        self.numClasses = numClasses
        headConv = Conv2d(backbone.outChannels.last!, featureDim, kernel: 1, generator: generator)
        headBN = BatchNorm(featureDim)
        headDrop = Dropout(dropout)
        head = Linear(featureDim, numClasses, generator: generator)
        headDist = distHead ? Linear(featureDim, numClasses, generator: generator) : nil
        super.init()
        let headParts: [Module] = [headConv, head] + (headDist.map { [$0] } ?? [])
        for part in headParts { applyTransformerInit(to: part, generator: generator) }
    }

    override public var children: [(String, Module)] {
        backbone.children + [("head_conv", headConv), ("head_bn", headBN), ("head_drop", headDrop), ("head", head)]
            + (headDist.map { [("head_dist", $0 as Module)] } ?? [])
    }
    override public var parameters: [(String, Tensor)] { backbone.parameters }
    override public var buffers: [(String, Tensor)] { backbone.buffers }

    /// Class logits `[N, numClasses]` of an NHWC image batch.
    public func forward(_ image: Tensor) -> Tensor {
        // The backbone object is not in the flattened tree: give it this module's mode.
        if backbone.isTraining != isTraining { backbone.train(isTraining) }
        let last = backbone.features(image).last!
        let pooled = adaptiveAvgPool2d(headBN(headConv(last)).silu(), outputSize: (1, 1))
        let features = headDrop(pooled.reshape([pooled.shape[0], pooled.shape[3]]))
        guard let headDist else { return head(features) }
        return (head(features) + headDist(features)) * 0.5
    }

    public func callAsFunction(_ image: Tensor) -> Tensor { scoped { forward(image) } }
    // Loss (`loss_cls`, one cross entropy on the averaged logits), predict and measured forward:
    // `ClassLogitsModel`'s.
}

/// `model: {type: s2aformer_classifier, backbone: {type: s2aformer, variant: t}, num_classes: 1000,
/// dist_head: true, feature_dim: 1280, dropout: 0.1}`. Any backbone can carry the head; the
/// paper's model is the `s2aformer` one.
struct S2AFormerClassifierConfig {
    enum Keys: String, CodingKey { case type, backbone, numClasses = "num_classes", distHead = "dist_head", featureDim = "feature_dim", dropout }

    static func build(from decoder: Decoder, context: ModelContext, backbones: Registry<BackboneContext, any Backbone>) throws -> S2AFormerClassifier {
        let c = try decoder.container(keyedBy: Keys.self)
        let classes = try c.decode(.numClasses, default: 1000, atLeast: 1)
        let distHead = try c.decode(.distHead, default: true)
        let featureDim = try c.decode(.featureDim, default: S2AFormerClassifier.defaultFeatureDim, atLeast: 1)
        let dropout = try c.decode(.dropout, default: Float(0.1), in: Float(0)..<Float(1))
        let backbone = try backbones.build(from: c.superDecoder(forKey: .backbone),
                                           BackboneContext(task: .classification, generator: context.generator))
        guard !backbone.featureInfo.isEmpty else {
            throw c.error(.backbone, "this backbone reports no features for the classifier to pool")
        }
        if let clash = backbone.children.map(\.0).first(where: S2AFormerClassifier.headNames.contains) {
            throw c.error(.backbone, "this backbone has a part named `\(clash)`, which would collide with the classifier's")
        }
        return S2AFormerClassifier(backbone: backbone, numClasses: classes, distHead: distHead, featureDim: featureDim,
                                   dropout: dropout, generator: context.generator)
    }
}
