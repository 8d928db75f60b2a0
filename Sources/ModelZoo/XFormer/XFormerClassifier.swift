import NeuralNet
import TensorEngine

/// XFormer's ImageNet classifier (spec §1.6, MobileViT's head): the backbone's last map
/// (`conv_1x1_exp`, 640 ch) → global average pooling → dropout 0.1 → `classifier.fc`
/// Linear(640, K). State paths: the backbone's own (no `backbone.` prefix, as ml-cvnets' single
/// module), then `classifier.fc`; a segmentor's `backbone.` loads the same keys minus the head.
public final class XFormerClassifier: Module, ClassLogitsModel {
    public let backbone: any Backbone
    public let classifier: XFormerClassifierHead
    public let numClasses: Int

    public init(backbone: any Backbone, numClasses: Int = 1000, dropout: Float = 0.1, generator: RandomGenerator = .global) {
        precondition(!backbone.outChannels.isEmpty && numClasses > 0, "XFormerClassifier: needs backbone features and a positive class count (the builder reports these)")
        self.backbone = backbone
        self.numClasses = numClasses
        classifier = XFormerClassifierHead(backbone.outChannels.last!, numClasses, dropout: dropout, generator: generator)
        super.init()
        applyTransformerInit(to: classifier, generator: generator)
    }

    override public var children: [(String, Module)] { backbone.children + [("classifier", classifier)] }
    override public var parameters: [(String, Tensor)] { backbone.parameters }
    override public var buffers: [(String, Tensor)] { backbone.buffers }

    public func forward(_ image: Tensor) -> Tensor {
        // The backbone object is not in the flattened tree: give it this module's mode.
        if backbone.isTraining != isTraining { backbone.train(isTraining) }
        let last = backbone.features(image).last!
        let pooled = adaptiveAvgPool2d(last, outputSize: (1, 1))
        return classifier(pooled.reshape([pooled.shape[0], pooled.shape[3]]))
    }

    public func callAsFunction(_ image: Tensor) -> Tensor { scoped { forward(image) } }
}

/// `classifier`: dropout then `fc`.
public final class XFormerClassifierHead: Layer {
    public let drop: Dropout, fc: Linear
    public init(_ inFeatures: Int, _ classes: Int, dropout: Float, generator: RandomGenerator = .global) {
        drop = Dropout(dropout)
        fc = Linear(inFeatures, classes, generator: generator)
    }
    // `drop` is listed (it has no state) so that train()/eval() reach it.
    override public var children: [(String, Module)] { [("drop", drop), ("fc", fc)] }
    override public func forward(_ x: Tensor) -> Tensor { fc(drop(x)) }
}
