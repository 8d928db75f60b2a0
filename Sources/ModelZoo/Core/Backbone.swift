@_exported import ConfigCore
import NeuralNet
import TensorEngine

/// One output of a backbone (timm's `feature_info` entry): what a head or a distiller needs to
/// know about a feature map before any image has gone through the model.
public struct FeatureInfo: Equatable, CustomStringConvertible {
    /// Channel count of the NHWC map.
    public var channels: Int
    /// Down-sampling factor against the input (the map is ceil(H/stride) × ceil(W/stride) for
    /// the stride-2 convolutions every family here uses).
    public var stride: Int
    /// Dotted path, relative to the backbone, of the module whose output this is: what
    /// feature taps and distillation configs name.
    public var module: String

    public init(channels: Int, stride: Int, module: String) {
        self.channels = channels; self.stride = stride; self.module = module
    }

    public var description: String { "\(module) (\(channels) ch, 1/\(stride))" }
}

/// A feature extractor that a segmentor's decode head or a classifier reads.
///
/// `features(_:)` returns NHWC maps ordered from the highest resolution to the lowest, one per
/// entry of `featureInfo`. Heads are built from `featureInfo`, so any head fits any backbone
/// whose features it can take; the head's builder says which it cannot.
public protocol Backbone: Module {
    /// Multi-scale feature maps of an NHWC image batch `[B, H, W, 3]`, highest resolution first.
    func features(_ x: Tensor) -> [Tensor]
    /// One entry per map that `features(_:)` returns, in the same order.
    var featureInfo: [FeatureInfo] { get }
    /// The fusion widths of the family's own decode head (SeaFormer: LightHead's `embed_dims`
    /// of the official config of that size), used when a head config leaves them out; nil when
    /// the family has no such convention and the head config must say.
    var decoderWidths: [Int]? { get }
}

extension Backbone {
    public var decoderWidths: [Int]? { nil }
    /// Channel count of each feature map, in order.
    public var outChannels: [Int] { featureInfo.map(\.channels) }
    /// Stride of each feature map, in order.
    public var outStrides: [Int] { featureInfo.map(\.stride) }
}

/// What a model builder tells the backbone builder: the task decides the initialisation (the
/// official segmentation code re-initialises a backbone before loading ImageNet weights).
public struct BackboneContext {
    public var task: ModelTask
    public var generator: RandomGenerator

    public init(task: ModelTask, generator: RandomGenerator = .global) {
        self.task = task; self.generator = generator
    }
}
