import NeuralNet
import TensorEngine

/// TopFormer's `SimpleHead`, the "Simple head" of Table 13: every input is bilinearly resized
/// (align_corners false) to the size of the first and the maps are SUMMED (no fusion blocks),
/// then `linear_fuse` (ConvModule 1×1 + BN + ReLU, depthwise as TopFormer's configs set
/// `is_dw=True`), Dropout2d and `conv_seg`.
///
/// Channel handling. TopFormer's head has no projections: its backbone's injection modules
/// already give every map `channels` channels, and a sum needs equal widths. SeaFormer's
/// backbones give different widths (T: 32, 128, 160), and the official repo holds no config
/// for this combination, so with `projectInputs` (the default) each input first goes through
/// its own 1×1 ConvModule (conv + BN, no activation) to `channels`, at the input's own
/// resolution (a 1×1 conv and bilinear resizing commute, so projecting before resizing is the
/// cheaper order). These are `lateral_convs.{i}`, named after mmseg's FPN projections.
/// HYPOTHESIS, fitted to Table 13: with `channels` = the backbone's last width and a projection
/// on every input, ADE20K 512² models count S 4,020,134 params / 1.101 G mmcv FLOPs (paper
/// 4.0M / 1.10G) and B 8,657,590 / 1.844 G (paper 8.7M / 1.84G; light head 8.6M / 1.82G, the
/// "−0.1M, −0.02G" of §4.3); for T, channels 160 gives 1,696,886 / 0.640 G and channels 96
/// gives 1,666,230 / 0.588 G against the paper's 1.7M / 0.60G, so T's width is not pinned down.
/// With `projectInputs: false` the head is TopFormer's exactly and every input must already
/// have `channels` channels.
public final class SimpleHead: Module, DecodeHead {
    public let inChannels: [Int]
    public let channels: Int
    public let numClasses: Int
    /// `lateral_convs.{i}`: one projection per input, empty without `projectInputs`.
    public let lateralConvs: [ConvBN]
    /// The same projections as a list module, so their paths are `lateral_convs.0`, ….
    private let lateralList: Sequential
    /// `linear_fuse`: ConvModule 1×1 (depthwise when `depthwise`) + BN + ReLU.
    public let linearFuse: ConvBN
    public let dropout: Dropout2d
    /// `conv_seg`: 1×1 classifier with bias.
    public let convSeg: Conv2d

    public init(inChannels: [Int], channels: Int, numClasses: Int, dropout: Float = 0.1, depthwise: Bool = true,
                projectInputs: Bool = true, generator: RandomGenerator = .global) {
        precondition(!inChannels.isEmpty, "SimpleHead: needs at least one input")
        precondition(projectInputs || inChannels.allSatisfy { $0 == channels },
                     "SimpleHead: without input projections every input must have channels = \(channels), got \(inChannels)")
        precondition(numClasses > 0, "SimpleHead: numClasses must be positive, got \(numClasses)")
        self.inChannels = inChannels
        self.channels = channels
        self.numClasses = numClasses
        convSeg = classifierConv(channels, numClasses: numClasses, generator: generator)
        self.dropout = Dropout2d(dropout)
        linearFuse = convModule(channels, channels, groups: depthwise ? channels : 1, activation: .relu, generator: generator)
        lateralConvs = projectInputs
            ? inChannels.map { convModule($0, channels, activation: .none, generator: generator) }
            : []
        lateralList = Sequential(lateralConvs)
    }

    override public var children: [(String, Module)] {
        var c: [(String, Module)] = [("conv_seg", convSeg), ("dropout", dropout), ("linear_fuse", linearFuse)]
        if !lateralConvs.isEmpty { c.append(("lateral_convs", lateralList)) }
        return c
    }

    public func forward(_ features: [Tensor]) -> Tensor {
        checkFeatures(features)
        let inputs = lateralConvs.isEmpty ? features : zip(lateralConvs, features).map { $0.0($0.1) }
        let size = (inputs[0].shape[1], inputs[0].shape[2])
        // Summed in input order onto the first map, as TopFormer's `agg_res`.
        var x = inputs[0]
        for f in inputs.dropFirst() { x = x + interpolateBilinear(f, size: size, alignCorners: false) }
        return convSeg(dropout(linearFuse(x)))
    }
}

/// `head: {type: simple_head, channels: 96, dropout: 0.1, depthwise: true, project_inputs: true}`.
/// `channels` defaults to the last of the backbone family's head widths (SeaFormer: the
/// LightHead's `channels`), else to the width of the backbone's last feature.
public struct SimpleHeadConfig {
    public var channels: Int
    public var dropout: Float = 0.1
    public var depthwise = true
    public var projectInputs = true

    enum CodingKeys: String, CodingKey { case type, channels, dropout, depthwise, projectInputs = "project_inputs" }

    public init(from decoder: Decoder, context: HeadContext) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let features = context.channels
        channels = try c.decode(.channels, default: context.decoderWidths?.last ?? features.last ?? 1, atLeast: 1)
        dropout = try c.decode(.dropout, default: dropout, in: Float(0)..<Float(1))
        depthwise = try c.decode(.depthwise, default: depthwise)
        projectInputs = try c.decode(.projectInputs, default: projectInputs)
        guard !features.isEmpty else { throw ConfigValueError(path: decoder.codingPath, message: "simple_head needs at least one backbone feature") }
        if !projectInputs, let bad = features.firstIndex(where: { $0 != channels }) {
            throw c.error(.projectInputs, "false sums the backbone's features unprojected, so each must have channels = \(channels), but feature \(bad) has \(features[bad]) (features \(features)); set project_inputs: true")
        }
    }

    func build(_ context: HeadContext) -> SimpleHead {
        SimpleHead(inChannels: context.channels, channels: channels, numClasses: context.numClasses, dropout: dropout,
                   depthwise: depthwise, projectInputs: projectInputs, generator: context.generator)
    }
}
