import NeuralNet
import TensorEngine

/// A feature extractor that a segmentor's decode head or a classifier's pooling layer reads.
///
/// `features(_:)` returns NHWC maps ordered from the highest resolution to the lowest, one per
/// entry of `outChannels` (their channel counts, in the same order). SeaFormer-T/S/B give three
/// maps at 1/8, 1/32 and 1/64 of the input; SeaFormer-L gives four at 1/8, 1/16, 1/32 and 1/64
/// (spec §1.3 "backbone", §6 row 14). A classifier uses only the last map.
public protocol Backbone: Module {
    /// Multi-scale feature maps of an NHWC image batch, highest resolution first.
    func features(_ x: Tensor) -> [Tensor]
    /// Channel count of each map `features(_:)` returns, in the same order.
    var outChannels: [Int] { get }
}
