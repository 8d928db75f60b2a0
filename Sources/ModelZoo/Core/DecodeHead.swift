import NeuralNet
import TensorEngine

/// A segmentation decode head: multi-scale NHWC features in (highest resolution first, as a
/// `Backbone` returns them), per-pixel class logits `[N, h, w, numClasses]` out at the
/// resolution of the first feature it reads.
public protocol DecodeHead: Module {
    /// Channel count the head expects of each input feature, in order.
    var inChannels: [Int] { get }
    var numClasses: Int { get }
    func forward(_ features: [Tensor]) -> Tensor
}

extension DecodeHead {
    public func callAsFunction(_ features: [Tensor]) -> Tensor { scoped { forward(features) } }

    /// The programmer-error check every head runs on its inputs: a built model can only be fed
    /// by its own backbone, whose widths the head builder already checked against the config.
    func checkFeatures(_ features: [Tensor]) {
        precondition(features.count == inChannels.count,
                     "\(type(of: self)): expected \(inChannels.count) feature maps (widths \(inChannels)), got \(features.count)")
        for (i, f) in features.enumerated() {
            precondition(f.rank == 4 && f.shape[3] == inChannels[i],
                         "\(type(of: self)): feature \(i) has shape \(f.shape), expected NHWC with \(inChannels[i]) channels")
        }
    }
}

/// What a head builder knows besides its own config: the features of the backbone it sits on
/// and the class count of the model.
public struct HeadContext {
    public var features: [FeatureInfo]
    public var numClasses: Int
    /// The backbone family's own head widths (`Backbone.decoderWidths`), for configs that leave
    /// them out.
    public var decoderWidths: [Int]?
    public var generator: RandomGenerator

    public init(features: [FeatureInfo], numClasses: Int, decoderWidths: [Int]? = nil, generator: RandomGenerator = .global) {
        self.features = features; self.numClasses = numClasses; self.decoderWidths = decoderWidths; self.generator = generator
    }

    public var channels: [Int] { features.map(\.channels) }
}
