import NeuralNet
import TensorEngine

/// SeaFormer++'s upsample module for multi-resolution distillation (spec/seaformer.md §2.3,
/// Fig. 5): the student's low-resolution stage feature goes through a MobileNetV2 block
/// (expansion 4, 5×5 depthwise) and is resized ×2 (bilinear) to its previous stage's
/// resolution; that previous-stage feature, through conv + BN + sigmoid, gives per-pixel weights
/// that multiply it; a second MobileNetV2 block refines the product. The paper gives no code:
/// the guide kernel (1×1), the interpolation (bilinear, align_corners false) and the refinement
/// expansion (2) are the spec's hypotheses, fitted to the paper's parameter counts, and are
/// options here. State paths: `guide` (`c`, `bn`), `low`, `refine` (MV2 `conv.*`).
public final class FeatureUpsampleModule: Module {
    public let guide: ConvBN
    public let low: InvertedResidual, refine: InvertedResidual

    /// `channels` of the feature, `guideChannels` of the previous stage's output.
    public init(channels: Int, guideChannels: Int, guideKernel: Int = 1, kernel: Int = 5, lowExpansion: Double = 4,
                refineExpansion: Double = 2) {
        guide = ConvBN(guideChannels, channels, kernel: guideKernel, padding: guideKernel / 2)
        low = InvertedResidual(channels, channels, kernel: kernel, stride: 1, expansion: lowExpansion)
        refine = InvertedResidual(channels, channels, kernel: kernel, stride: 1, expansion: refineExpansion)
    }

    override public var children: [(String, Module)] { [("guide", guide), ("low", low), ("refine", refine)] }

    /// The feature `x` lifted to the size of `previous` (the previous stage's output).
    public func forward(_ x: Tensor, previous: Tensor) -> Tensor {
        let size = (previous.shape[1], previous.shape[2])
        let weights = guide(previous).sigmoid()
        return refine(interpolateBilinear(low(x), size: size) * weights)
    }

    public func callAsFunction(_ x: Tensor, previous: Tensor) -> Tensor { scoped { forward(x, previous: previous) } }
}

/// A SeaFormer backbone whose head features are lifted ×2 by `FeatureUpsampleModule`s: the
/// SeaFormer++ distillation student (spec/seaformer.md §2.1–2.3), which sees the image at half
/// the teacher's resolution and hands its head (and the distillation losses) features at the
/// teacher's resolution. Its state paths are the SeaFormer backbone's (`smb*`, `trans*`, so an
/// ImageNet or teacher checkpoint loads as into a plain backbone) plus `upsample.{i}`, one per
/// head feature; its feature info has the same widths at half the strides.
public final class UpsampledSeaFormerBackbone: Module, Backbone {
    public let backbone: SeaFormerBackbone
    public let upsample: ModuleList<FeatureUpsampleModule>
    public let featureInfo: [FeatureInfo]
    /// Per head feature, the index of the stage that produces it (its guide is the stage before).
    let stageOfFeature: [Int]

    public var decoderWidths: [Int]? { backbone.decoderWidths }

    public init(backbone: SeaFormerBackbone, refineExpansion: Double = 2, guideKernel: Int = 1) {
        self.backbone = backbone
        let a = backbone.architecture
        let firstSEA = a.stages.count - a.depths.count
        let stageOutputs = a.channels.dropFirst().map { $0 }
        stageOfFeature = backbone.featureInfo.map { info in
            if info.module.hasPrefix("trans"), let j = Int(info.module.dropFirst(5)) { return firstSEA + j - 1 }
            if info.module.hasPrefix("smb"), let n = Int(info.module.dropFirst(3)) { return n - 1 }
            preconditionFailure("UpsampledSeaFormerBackbone: feature module \(info.module) is not a SeaFormer stage")
        }
        upsample = ModuleList(zip(backbone.featureInfo, stageOfFeature).map { info, stage in
            precondition(stage >= 1, "UpsampledSeaFormerBackbone: the first stage's output has no previous stage to guide it")
            return FeatureUpsampleModule(channels: info.channels, guideChannels: stageOutputs[stage - 1], guideKernel: guideKernel,
                                         refineExpansion: refineExpansion)
        })
        featureInfo = zip(backbone.featureInfo.indices, backbone.featureInfo).map { i, info in
            FeatureInfo(channels: info.channels, stride: info.stride / 2, module: "upsample.\(i)")
        }
    }

    override public var children: [(String, Module)] { backbone.children + [("upsample", upsample)] }

    /// The SEA segmentation init (spec §1.4: convs N(0, √(2/n)), BN 1/0) on the backbone and the
    /// upsample modules alike.
    public func initializeSegmentationWeights(generator: RandomGenerator = .global) {
        backbone.initializeSegmentationWeights(generator: generator)
        for (_, module) in upsample.namedModules() {
            if let conv = module as? Conv2d {
                conv.weight.assign(from: Init.convNormal(conv.weight.shape, kernel: conv.kernel, outChannels: conv.outChannels,
                                                         groups: conv.groups, generator: generator))
                conv.bias?.assign(from: Tensor.zeros(conv.bias!.shape))
            }
        }
    }

    /// Every stage's output (after its SEA layers), finest first.
    func stageOutputs(_ x: Tensor) -> [Tensor] {
        let firstSEA = backbone.smbs.count - backbone.transformers.count
        var outputs: [Tensor] = []
        var y = x
        for (i, smb) in backbone.smbs.enumerated() {
            y = smb(y)
            if i >= firstSEA { y = backbone.transformers[i - firstSEA](y) }
            outputs.append(y)
        }
        return outputs
    }

    public func features(_ x: Tensor) -> [Tensor] {
        scoped {
            precondition(x.rank == 4 && x.shape[3] == 3, "UpsampledSeaFormerBackbone: expected [B, H, W, 3] images, got \(x.shape)")
            let outputs = stageOutputs(x)
            // The 1/8 spatial-branch feature is smb2's output, which has no SEA layer in any variant.
            return zip(upsample.modules, stageOfFeature).map { module, stage in module(outputs[stage], previous: outputs[stage - 1]) }
        }
    }
}
