import NeuralNet
import TensorEngine

/// A segmentor's parts do not fit together.
public struct SegmentorConfigError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public var description: String { message }
}

/// mmseg's `EncoderDecoder` without auxiliary heads (spec §1.3 "segmentor"): a backbone's
/// multi-scale features go through a decode head, whose logits (1/8 of the input for SeaFormer)
/// are bilinearly resized (align_corners false) to the label size for training and to the
/// image size for inference. Children are `backbone` and `decode_head`, the official prefixes.
public final class EncoderDecoder: Module, TaskModel {
    public var task: ModelTask { .segmentation }
    public let backbone: any Backbone
    public let decodeHead: any DecodeHead
    public let numClasses: Int

    public init(backbone: any Backbone, head: any DecodeHead, numClasses: Int) throws {
        guard backbone.outChannels == head.inChannels else {
            throw SegmentorConfigError(message: """
                the head expects features with channels \(head.inChannels) but the backbone gives \(backbone.outChannels) \
                (\(backbone.featureInfo.map(\.description).joined(separator: ", "))); build the head from the backbone's featureInfo
                """)
        }
        guard head.numClasses == numClasses else {
            throw SegmentorConfigError(message: "the head was built for \(head.numClasses) classes but the segmentor for \(numClasses)")
        }
        self.backbone = backbone
        self.decodeHead = head
        self.numClasses = numClasses
    }

    override public var children: [(String, Module)] { [("backbone", backbone), ("decode_head", decodeHead)] }

    /// Logits `[N, h, w, K]` at the head's resolution for an NHWC image batch (mmseg
    /// `encode_decode` before its resize).
    public func logits(_ image: Tensor) -> Tensor {
        precondition(image.rank == 4, "EncoderDecoder: expected an NHWC image batch, got shape \(image.shape)")
        return decodeHead(backbone.features(image))
    }

    /// Logits bilinearly resized to the label size `[N, labelH, labelW, K]`, what the training
    /// loss reads (mmseg `BaseDecodeHead.losses`).
    public func trainLogits(_ image: Tensor, labelSize: (Int, Int)) -> Tensor {
        interpolateBilinear(logits(image), size: labelSize, alignCorners: false)
    }

    /// The training loss: the head's logits bilinearly upsampled to the label size and scored by
    /// cross entropy (mmseg's `losses` of an EncoderDecoder). Fused, so the full-resolution
    /// K-class logits and their gradient are never built; equal to
    /// `crossEntropy(logits: trainLogits(image, labelSize:), target: labels, ...)`.
    /// `reduction: .meanOverAll` is mmseg 0.19's normalisation (sum over valid pixels / all pixels).
    public func loss(_ image: Tensor, labels: Tensor, classWeight: Tensor? = nil, ignoreIndex: Int = 255,
                     reduction: Reduction = .meanOverAll) -> Tensor {
        upsampledCrossEntropy(logits: logits(image), target: labels, alignCorners: false, weight: classWeight,
                              ignoreIndex: ignoreIndex, reduction: reduction)
    }

    /// Class indices `[N, H, W]` (as Float) at `outputSize` (default: the image size), the
    /// argmax of the logits mmseg's `inference` computes. Runs without recording gradients;
    /// call `eval()` first, as for any evaluation.
    ///
    /// mmseg resizes the logits to the network input size and then, in `whole` mode, again to
    /// the original image size; the last resize and the argmax are fused
    /// (`upsampleBilinearArgmax`), so the full-resolution logits are never built. When the
    /// output size equals the input size the second resize is the identity and one fused step
    /// from the head's logits suffices.
    /// The training step's loss terms: `loss_ce`, the decode head's cross entropy (see `loss`).
    public func losses(images: Tensor, labels: Tensor) -> [LossTerm] {
        [LossTerm("loss_ce", loss(images, labels: labels))]
    }

    public func measuredForward(_ images: Tensor) -> Tensor { logits(images) }

    public func predict(_ image: Tensor, mode: InferenceMode = .whole, outputSize: (Int, Int)? = nil) -> Tensor {
        precondition(image.rank == 4, "EncoderDecoder.predict: expected an NHWC image batch, got shape \(image.shape)")
        let inputSize = (image.shape[1], image.shape[2])
        let output = outputSize ?? inputSize
        return withNoGrad {
            switch mode {
            case .whole:
                let l = logits(image)
                if output == inputSize { return upsampleBilinearArgmax(logits: l, size: output, alignCorners: false) }
                return upsampleBilinearArgmax(logits: interpolateBilinear(l, size: inputSize, alignCorners: false),
                                              size: output, alignCorners: false)
            case let .slide(crop, stride):
                return upsampleBilinearArgmax(logits: slideLogits(image, crop: crop, stride: stride), size: output,
                                              alignCorners: false)
            }
        }
    }

    /// mmseg's `slide_inference` up to the final resize: a grid of crops `stride` apart
    /// (`grids = max(H − crop + stride − 1, 0) / stride + 1` per axis), each clipped to the image
    /// and shifted back inside it; every crop's logits are resized to the crop's size and summed
    /// into a full-size buffer, which is divided by the number of crops covering each pixel.
    /// Returns `[N, H, W, K]` at the input size.
    public func slideLogits(_ image: Tensor, crop: (Int, Int), stride: (Int, Int)) -> Tensor {
        precondition(crop.0 > 0 && crop.1 > 0 && stride.0 > 0 && stride.1 > 0,
                     "EncoderDecoder: slide inference needs positive crop and stride, got crop \(crop), stride \(stride)")
        let N = image.shape[0], H = image.shape[1], W = image.shape[2], K = numClasses
        let hGrids = Swift.max(H - crop.0 + stride.0 - 1, 0) / stride.0 + 1
        let wGrids = Swift.max(W - crop.1 + stride.1 - 1, 0) / stride.1 + 1
        let sum = Tensor.zeros([N, H, W, K])
        var counts = [Float](repeating: 0, count: H * W)
        return withNoGrad {
            for hi in 0..<hGrids {
                for wi in 0..<wGrids {
                    let y2 = Swift.min(hi * stride.0 + crop.0, H), x2 = Swift.min(wi * stride.1 + crop.1, W)
                    let y1 = Swift.max(y2 - crop.0, 0), x1 = Swift.max(x2 - crop.1, 0)
                    let ch = y2 - y1, cw = x2 - x1
                    let patch = image.slice(axis: 1, start: y1, end: y2).slice(axis: 2, start: x1, end: x2)
                    let l = interpolateBilinear(logits(patch), size: (ch, cw), alignCorners: false)
                    precondition(l.shape == [N, ch, cw, K], "EncoderDecoder: crop logits \(l.shape), expected \([N, ch, cw, K])")
                    // Adding in crop order reproduces mmseg's `preds += F.pad(crop_logits)` bit
                    // for bit (the padding adds zeros) without building a padded full-size copy.
                    sum.withMutablePointer { dst in
                        l.withUnsafeBufferPointer { src in
                            for n in 0..<N {
                                for y in 0..<ch {
                                    let d = dst + ((n * H + y1 + y) * W + x1) * K
                                    let s = src.baseAddress! + (n * ch + y) * cw * K
                                    for i in 0..<(cw * K) { d[i] += s[i] }
                                }
                            }
                        }
                    }
                    for y in y1..<y2 { for x in x1..<x2 { counts[y * W + x] += 1 } }
                }
            }
            return sum / Tensor(counts, shape: [1, H, W, 1])
        }
    }
}
