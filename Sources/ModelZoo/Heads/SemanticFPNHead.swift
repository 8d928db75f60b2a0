import Foundation
import NeuralNet
import TensorEngine

/// A conv with bias followed by an optional activation, no norm: mmcv's `ConvModule` with
/// `norm_cfg=None` (bias on), child `conv` so paths read `….conv.weight`.
public final class ConvAct: Layer {
    public let conv: Conv2d
    public let activation: ActivationKind
    init(_ inChannels: Int, _ outChannels: Int, kernel: Int, activation: ActivationKind, generator: RandomGenerator) {
        conv = Conv2d(inChannels, outChannels, kernel: kernel, padding: kernel / 2, generator: generator)
        self.activation = activation
    }
    override public var children: [(String, Module)] { [("conv", conv)] }
    override public func forward(_ x: Tensor) -> Tensor { activation.apply(conv(x)) }
}

/// `nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False)` as a module: mmcv's
/// module hooks count its output elements (`CostKind.upsample`), functional resizes count nothing.
public final class Upsample2x: Layer {
    override public func forward(_ x: Tensor) -> Tensor {
        let y = interpolateBilinear(x, size: (2 * x.shape[1], 2 * x.shape[2]), alignCorners: false)
        CostTrace.count(.upsample, y.count)
        return y
    }
}

/// mmseg's `FPN` neck as TransKD's PVTv2 uses it (spec/transkd.md §1.4; `num_outs` = inputs, no
/// extra convs): `lateral_convs.{i}` 1×1 C_i → out (bias, no norm, no activation); top-down
/// `lat[i−1] += nearest(lat[i], size of lat[i−1])`; `fpn_convs.{i}` 3×3 out → out (bias).
/// Convs are Xavier-uniform with bias 0 (mmseg's FPN `init_weights`).
public final class FPNNeck: Module {
    public let lateralConvs: [ConvAct]
    public let fpnConvs: [ConvAct]
    private let lateralList: Sequential, fpnList: Sequential

    public init(inChannels: [Int], outChannels: Int, generator: RandomGenerator = .global) {
        lateralConvs = inChannels.map { ConvAct($0, outChannels, kernel: 1, activation: .none, generator: generator) }
        fpnConvs = inChannels.map { _ in ConvAct(outChannels, outChannels, kernel: 3, activation: .none, generator: generator) }
        lateralList = Sequential(lateralConvs)
        fpnList = Sequential(fpnConvs)
        super.init()
        for m in lateralConvs + fpnConvs {
            let w = m.conv.weight
            let fanIn = w.shape[1] * w.shape[2] * w.shape[3], fanOut = w.shape[0] * w.shape[1] * w.shape[2]
            let a = (6 / Float(fanIn + fanOut)).squareRoot()
            w.assign(from: Tensor.uniform(w.shape, low: -a, high: a, generator: generator))
            m.conv.bias!.assign(from: Tensor.zeros(m.conv.bias!.shape))
        }
    }

    override public var children: [(String, Module)] { [("lateral_convs", lateralList), ("fpn_convs", fpnList)] }

    public func forward(_ features: [Tensor]) -> [Tensor] {
        var laterals = zip(lateralConvs, features).map { $0.0($0.1) }
        for i in stride(from: laterals.count - 1, to: 0, by: -1) {
            let size = (laterals[i - 1].shape[1], laterals[i - 1].shape[2])
            laterals[i - 1] = laterals[i - 1] + interpolateNearest(laterals[i], size: size)
        }
        return zip(fpnConvs, laterals).map { $0.0($0.1) }
    }

    public func callAsFunction(_ features: [Tensor]) -> [Tensor] { scoped { forward(features) } }
}

/// Semantic FPN (mmseg's `FPNHead`, Kirillov et al.) with the FPN neck in front, TransKD's PVTv2
/// decoder (spec §1.4). Level i (stride s_i) gets max(1, log2(s_i/s_0)) blocks of [3×3 conv →
/// `channels` (bias, no norm) + ReLU (+ `Upsample2x` when s_i > s_0)] (`scale_heads.{i}.{j}`);
/// the levels are summed at level 0's size (an extra bilinear resize when a doubled map does not
/// land exactly on it, e.g. inputs that 32 does not divide), then Dropout2d and `conv_seg`
/// (1×1 → K). Logits at level 0's resolution (1/4 for PVTv2).
///
/// The neck is the head's child `neck` (EncoderDecoder has no neck slot): mmseg checkpoints'
/// `neck.*` keys load with the key map `^neck\. → decode_head.neck.`. With `neck: false` the
/// scale heads read the backbone's maps directly (mmseg's FPNHead without an FPN).
///
/// `norm: bn` is mmseg's FPNHead with `norm_cfg=BN` (its `fpn_r50` config, S2AFormer's ADE20K
/// set-up, spec/s2aformer.md §2.2): each scale-head conv is a ConvModule, conv without bias →
/// BN → ReLU (`scale_heads.{i}.{j}.conv`, `.bn`). The default `none` is TransKD's PVTv2 head.
public final class SemanticFPNHead: Module, DecodeHead {
    public let inChannels: [Int]
    public let channels: Int
    public let numClasses: Int
    public let neck: FPNNeck?
    public let scaleHeads: [Sequential]
    private let scaleList: Sequential
    public let dropout: Dropout2d
    public let convSeg: Conv2d

    /// - Parameters: `features` the backbone's (strides must be s_0·2^j, ascending);
    ///   `fpnChannels` the neck's width (nil: no neck).
    public init(features: [FeatureInfo], numClasses: Int, channels: Int = 128, fpnChannels: Int? = 256, norm: SemanticFPNNorm = .none,
                dropout: Float = 0.1, generator: RandomGenerator = .global) {
        precondition(!features.isEmpty && numClasses > 0, "SemanticFPNHead: needs features and a positive class count")
        inChannels = features.map(\.channels)
        self.channels = channels
        self.numClasses = numClasses
        neck = fpnChannels.map { FPNNeck(inChannels: features.map(\.channels), outChannels: $0, generator: generator) }
        let s0 = features[0].stride
        scaleHeads = features.map { f in
            let levels = Int(log2(Double(f.stride / s0)).rounded())
            var layers: [Layer] = []
            for j in 0..<Swift.max(1, levels) {
                let cin = j == 0 ? (fpnChannels ?? f.channels) : channels
                switch norm {
                case .none:
                    let conv = ConvAct(cin, channels, kernel: 3, activation: .relu, generator: generator)
                    conv.conv.weight.assign(from: Init.kaimingNormal(conv.conv.weight.shape, fan: conv.conv.fanOut, generator: generator))
                    conv.conv.bias!.assign(from: Tensor.zeros([channels]))
                    layers.append(conv)
                case .bn:
                    layers.append(convModule(cin, channels, kernel: 3, activation: .relu, generator: generator))
                }
                if levels > 0 { layers.append(Upsample2x()) }
            }
            return Sequential(layers)
        }
        scaleList = Sequential(scaleHeads)
        self.dropout = Dropout2d(dropout)
        convSeg = classifierConv(channels, numClasses: numClasses, generator: generator)
    }

    override public var children: [(String, Module)] {
        (neck.map { [("neck", $0 as Module)] } ?? []) + [("scale_heads", scaleList), ("dropout", dropout), ("conv_seg", convSeg)]
    }

    public func forward(_ features: [Tensor]) -> Tensor {
        checkFeatures(features)
        let maps = neck.map { $0(features) } ?? features
        var out = scaleHeads[0](maps[0])
        let size = (out.shape[1], out.shape[2])
        for i in 1..<maps.count {
            var y = scaleHeads[i](maps[i])
            if (y.shape[1], y.shape[2]) != size { y = interpolateBilinear(y, size: size, alignCorners: false) }
            out = out + y
        }
        return convSeg(dropout(out))
    }
}

/// The norm of the Semantic FPN scale-head convs (mmseg's `norm_cfg`).
public enum SemanticFPNNorm: String, CaseIterable, Codable {
    /// Conv with bias + ReLU, no norm (TransKD's PVTv2 head).
    case none
    /// Conv without bias + BN + ReLU (mmseg `fpn_r50`, S2AFormer's ADE20K head).
    case bn
}

/// `head: {type: fpn_head, channels: 128, fpn_channels: 256, neck: true, norm: none, dropout: 0.1}`.
public struct SemanticFPNHeadConfig {
    public var channels = 128
    public var fpnChannels = 256
    public var neck = true
    public var norm: SemanticFPNNorm = .none
    public var dropout: Float = 0.1

    enum CodingKeys: String, CodingKey { case type, channels, fpnChannels = "fpn_channels", neck, norm, dropout }

    public init(from decoder: Decoder, context: HeadContext) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        channels = try c.decode(.channels, default: channels, atLeast: 1)
        fpnChannels = try c.decode(.fpnChannels, default: fpnChannels, atLeast: 1)
        neck = try c.decode(.neck, default: neck)
        norm = try c.decode(.norm, default: norm)
        dropout = try c.decode(.dropout, default: dropout, in: Float(0)..<Float(1))
        let strides = context.features.map(\.stride)
        guard let s0 = strides.first else {
            throw ConfigValueError(path: decoder.codingPath, message: "fpn_head needs at least one backbone feature")
        }
        for (i, s) in strides.enumerated() {
            let ratio = s / s0
            guard s % s0 == 0, ratio > 0, ratio & (ratio - 1) == 0, i == 0 || s >= strides[i - 1] else {
                throw ConfigValueError(path: decoder.codingPath + [AnyConfigKey.type],
                                       message: "fpn_head upsamples level i by 2× steps to the first level, so the backbone's strides must be the first stride times powers of two, ascending; got \(strides) (\(context.features.map(\.description).joined(separator: ", ")))")
            }
        }
    }

    func build(_ context: HeadContext) -> SemanticFPNHead {
        SemanticFPNHead(features: context.features, numClasses: context.numClasses, channels: channels,
                        fpnChannels: neck ? fpnChannels : nil, norm: norm, dropout: dropout, generator: context.generator)
    }
}
