import NeuralNet
import TensorEngine

/// What a model predicts; evaluation and metrics are chosen by the task, never by the model's type.
public enum ModelTask: String, CaseIterable, Codable, Sendable {
    /// Per-pixel class labels (`predict` gives `[N, H, W]` class indices as Float).
    case segmentation
    /// Image class scores (`predict` gives `[N, numClasses]` logits).
    case classification
}

/// One named term of a training loss (mmengine's `parse_losses`): the total that is
/// back-propagated is Σ weight · value, and every term is logged under its name.
public struct LossTerm {
    /// `loss_ce`, `loss_cls`, later `loss_kd_*`, `loss_aux`: the series name in metrics.h5.
    public var name: String
    public var weight: Float
    /// A scalar tensor (unweighted).
    public var value: Tensor

    public init(_ name: String, _ value: Tensor, weight: Float = 1) {
        self.name = name; self.value = value; self.weight = weight
    }

    /// `weight · value`, the term's share of the total.
    public var weighted: Tensor { weight == 1 ? value : value * weight }
}

extension Array where Element == LossTerm {
    /// Σ weight · value over the terms, in order (so the sum is the same bit for bit every run).
    public var total: Tensor {
        precondition(!isEmpty, "a training step must return at least one loss term")
        return dropFirst().reduce(self[0].weighted) { $0 + $1.weighted }
    }
}

/// A model the runner can train and evaluate: it names its task, returns named loss terms for a
/// labelled batch, and predicts for evaluation. Segmentors and classifiers composed from any
/// backbone and head conform; so will distillation wrappers.
public protocol TaskModel: Module {
    var task: ModelTask { get }
    var numClasses: Int { get }
    /// The loss terms of one training batch (NHWC images, labels as the task defines them).
    func losses(images: Tensor, labels: Tensor) -> [LossTerm]
    /// The task's prediction for evaluation, without recording gradients (call `eval()` first):
    /// segmentation class maps at `outputSize` (default: the image size), classification logits.
    func predict(_ images: Tensor, mode: InferenceMode, outputSize: (Int, Int)?) -> Tensor
    /// One forward pass as `runexp info` measures it: segmentors to the head's logits,
    /// classifiers to the class logits.
    func measuredForward(_ images: Tensor) -> Tensor
}

/// How a segmentor covers an image at evaluation (mmseg's `test_cfg.mode`); classifiers ignore it.
public enum InferenceMode {
    /// One pass over the whole image (every SeaFormer config, spec §3.1).
    case whole
    /// Overlapping crops of `crop` (H, W) every `stride` (H, W) pixels; logits of overlapping
    /// crops are averaged.
    case slide(crop: (Int, Int), stride: (Int, Int))
}
