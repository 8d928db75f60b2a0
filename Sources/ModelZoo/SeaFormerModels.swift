import NeuralNet
import TensorEngine

extension SeaFormerBackbone: Backbone {
    public func features(_ x: Tensor) -> [Tensor] { scoped { forward(x) } }
}

/// Which decode head a SeaFormer segmentor uses (Table 13).
public enum SegmentationHeadKind: String, CaseIterable, Codable {
    case lightHead = "light_head"
    case simpleHead = "simple_head"
}

extension SeaFormerVariant {
    /// LightHead fusion widths of the official configs (`embed_dims`; spec §1.2).
    public var headEmbedDims: [Int] {
        switch self {
        case .tiny: return [64, 96]
        case .small: return [96, 128]
        case .base: return [128, 160]
        case .large: return [128, 160, 192]
        }
    }

    /// Builds the segmentation model of the official configs: backbone + LightHead (or the
    /// simple head of Table 13) in mmseg's EncoderDecoder, with the segmentation init of §1.4.
    /// `headEmbedDims` overrides the fusion widths (Table 12); the head's `channels` is the last.
    public func segmentor(numClasses: Int, attention: AttentionSpec = AttentionSpec(), head: SegmentationHeadKind = .lightHead,
                          headEmbedDims: [Int]? = nil, fusion: FusionMode = .sigmoidMul, dropPath: Float = 0.1,
                          dropout: Float = 0.1, generator: RandomGenerator = .global) throws -> EncoderDecoder {
        let backbone = SeaFormerBackbone(variant: self, attention: attention, dropPath: dropPath)
        backbone.initializeSegmentationWeights(generator: generator)
        let dims = headEmbedDims ?? self.headEmbedDims
        let decodeHead: any DecodeHead
        switch head {
        case .lightHead:
            decodeHead = LightHead(inChannels: backbone.outChannels, embedDims: dims, channels: dims.last!, numClasses: numClasses,
                                   dropout: dropout, fusion: fusion, generator: generator)
        case .simpleHead:
            decodeHead = SimpleHead(inChannels: backbone.outChannels, channels: dims.last!, numClasses: numClasses, dropout: dropout,
                                    generator: generator)
        }
        return try EncoderDecoder(backbone: backbone, head: decodeHead, numClasses: numClasses)
    }

    /// The ImageNet classifier (GAP + Linear over the last feature), with the classification init.
    public func classifier(numClasses: Int = 1000, attention: AttentionSpec = AttentionSpec(), dropPath: Float = 0.1,
                           generator: RandomGenerator = .global) -> ImageClassifier {
        ImageClassifier(backbone: SeaFormerBackbone(variant: self, attention: attention, dropPath: dropPath), numClasses: numClasses,
                        generator: generator)
    }
}
