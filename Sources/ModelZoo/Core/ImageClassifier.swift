import NeuralNet
import TensorEngine

/// The ImageNet classification model of `seaformer-cls/seaformer.py` (spec §1.3 "classification
/// model", §6 row 18): the backbone's last feature map → global average pooling → `linear`.
/// No dropout, no extra conv or norm. Parameters: backbone + C_last·K + K (SeaFormer-T:
/// 1,620,096 + 161,000 = 1,781,096, spec §1.5).
///
/// State paths. The official classifier is one module whose stages (`smb1`, `trans1`, …) sit
/// next to `linear`, so its checkpoints have no `backbone.` prefix. This module therefore lists
/// the backbone's own parameters, buffers and children as its own, beside `linear`: official
/// classification checkpoints load one to one, and the same keys minus `linear.*` are what a
/// segmentor's `backbone` loads from them (spec §1.4).
public final class ImageClassifier: Module, ClassLogitsModel {
    public let backbone: any Backbone
    /// `linear`: Linear(C_last, numClasses), PyTorch default init (the official classifier
    /// never calls `init_weights`, spec §1.4).
    public let linear: Linear
    public let numClasses: Int

    public init(backbone: any Backbone, numClasses: Int = 1000, generator: RandomGenerator = .global) {
        precondition(!backbone.outChannels.isEmpty, "ImageClassifier: the backbone reports no output channels")
        precondition(numClasses > 0, "ImageClassifier: numClasses must be positive, got \(numClasses)")
        precondition(!backbone.children.contains { $0.0 == "linear" } && !backbone.parameters.contains { $0.0.hasPrefix("linear") },
                     "ImageClassifier: the backbone already has a part named `linear`, which would collide with the classifier")
        self.backbone = backbone
        self.numClasses = numClasses
        linear = Linear(backbone.outChannels.last!, numClasses, generator: generator)
    }

    override public var children: [(String, Module)] { backbone.children + [("linear", linear)] }
    override public var parameters: [(String, Tensor)] { backbone.parameters }
    override public var buffers: [(String, Tensor)] { backbone.buffers }

    /// Class logits `[N, numClasses]` of an NHWC image batch.
    public func forward(_ image: Tensor) -> Tensor {
        // `train()`/`eval()` reach the backbone's parts but not the backbone object itself (it is
        // not in the flattened tree); give it this module's mode before it runs.
        if backbone.isTraining != isTraining { backbone.train(isTraining) }
        let last = backbone.features(image).last!
        let pooled = adaptiveAvgPool2d(last, outputSize: (1, 1))
        return linear(pooled.reshape([pooled.shape[0], pooled.shape[3]]))
    }

    public func callAsFunction(_ image: Tensor) -> Tensor { scoped { forward(image) } }

    /// The classifier over `backbone`, or a config error (at `path`, the backbone node) when the
    /// backbone cannot carry one.
    static func checked(backbone: any Backbone, numClasses: Int, generator: RandomGenerator, at path: [CodingKey]) throws -> ImageClassifier {
        guard !backbone.featureInfo.isEmpty else {
            throw ConfigValueError(path: path, message: "this backbone reports no features for the classifier to pool")
        }
        if backbone.children.contains(where: { $0.0 == "linear" }) || backbone.parameters.contains(where: { $0.0.hasPrefix("linear") }) {
            throw ConfigValueError(path: path, message: "this backbone has a part named `linear`, which would collide with the classifier's")
        }
        return ImageClassifier(backbone: backbone, numClasses: numClasses, generator: generator)
    }
}

/// A classification model whose `callAsFunction` gives the class logits `[N, numClasses]`: the
/// loss, prediction and measured forward every such model shares (`ImageClassifier`,
/// `S2AFormerClassifier`).
public protocol ClassLogitsModel: TaskModel {
    func callAsFunction(_ images: Tensor) -> Tensor
}

extension ClassLogitsModel {
    public var task: ModelTask { .classification }

    /// `loss_cls`: cross entropy of the class logits against class indices `[N]`, or against
    /// soft targets `[N, numClasses]` (label smoothing, mixup, cutmix).
    public func losses(images: Tensor, labels: Tensor) -> [LossTerm] {
        let logits = self(images)
        if labels.rank == 2 { return [LossTerm("loss_cls", softTargetCrossEntropy(logits: logits, target: labels))] }
        return [LossTerm("loss_cls", crossEntropy(logits: logits, target: labels))]
    }

    /// Class logits `[N, numClasses]`; `mode` and `outputSize` do not apply to classification.
    public func predict(_ images: Tensor, mode: InferenceMode = .whole, outputSize: (Int, Int)? = nil) -> Tensor {
        withNoGrad { self(images) }
    }

    public func measuredForward(_ images: Tensor) -> Tensor { self(images) }
}
