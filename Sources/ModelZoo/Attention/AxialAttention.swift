import NeuralNet
import TensorEngine

/// The spatial axis along which an `AxisAttention` lets tokens attend.
enum AttentionAxis: String {
    /// Each row's W tokens attend to each other; rows are independent.
    case row
    /// Each column's H tokens attend to each other; columns are independent.
    case column
}

/// Multi-head self-attention along one axis of the full-resolution map (no squeezing), with
/// SEA's projections (see `ProjectedAttention`).
final class AxisAttention: ProjectedAttention {
    let axis: AttentionAxis

    init(_ shape: AttentionShape, axis: AttentionAxis) {
        self.axis = axis
        super.init(shape, variant: "axial (\(axis.rawValue))")
    }

    override func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let (b, h, w) = (q.shape[0], q.shape[1], q.shape[2])
        // View [B, H, W, nh·c] as [B, H, W, nh, c] (free), then one permute per tensor puts the
        // independent lines and the heads in front and the attended axis next to the channels.
        // Row: lines are (B, H), tokens W. Column: lines are (B, W), tokens H.
        let toHeads: [Int], toKeysT: [Int], back: [Int]
        switch axis {
        case .row:
            toHeads = [0, 1, 3, 2, 4]      // [B, H, nh, W, c]
            toKeysT = [0, 1, 3, 4, 2]      // [B, H, nh, kd, W]
            back = [0, 1, 3, 2, 4]         // [B, H, nh, W, d] → [B, H, W, nh, d]
        case .column:
            toHeads = [0, 2, 3, 1, 4]      // [B, W, nh, H, c]
            toKeysT = [0, 2, 3, 4, 1]      // [B, W, nh, kd, H]
            back = [0, 3, 1, 2, 4]         // [B, W, nh, H, d] → [B, H, W, nh, d]
        }
        let qh = q.reshape([b, h, w, heads, keyDim]).permute(toHeads)
        let kT = k.reshape([b, h, w, heads, keyDim]).permute(toKeysT)
        let vh = v.reshape([b, h, w, heads, valueDim]).permute(toHeads)
        return scaledDotProduct(qh, kT, vh).permute(back).reshape([b, h, w, heads * valueDim])
    }
}

/// Axial attention (Ho et al. 2019; SeaFormer Eq. 3 and §2.2: "computes self-attention over a
/// single axis at a time and stacks a horizontal and a vertical axial attention module"): a row
/// attention, then a column attention, each on the full-resolution map.
///
/// Readings (docs/attention-variants.md):
/// - Each axis is a complete attention module with its own `to_q`/`to_k`/`to_v`/`proj`
///   (children `row` and `column`). Table 8 reports Axial-Swin at 36.2M vs Swin's 27.5M: +8.7M,
///   which is Swin-T's attention parameters (4C² per block, 8.6M) counted twice, i.e. two full
///   attention modules per block; in the SeaFormer-T pipeline this gives 1.63M (classification)
///   against Table 9's 1.6M, where shared projections would give Global's 1.3M.
/// - The two are stacked as two residual attention layers: `r = row(x)`,
///   `out = r + column(x + r)`, so the enclosing block's `x + out` equals
///   `y + column(y)` with `y = x + row(x)`. The inner residual is needed because `proj` starts
///   with BN γ = 0 (SEA's init): without it the column module would see an all-zero map at
///   initialisation, its batch norms would normalise a constant, and no gradient would reach
///   the row module. At initialisation `out = row(x) + column(x)`, which is Eq. 3's sum of the
///   two axial attentions.
final class AxialAttention: Layer {
    let row: AxisAttention
    let column: AxisAttention

    init(_ shape: AttentionShape) {
        row = AxisAttention(shape, axis: .row)
        column = AxisAttention(shape, axis: .column)
    }

    override var children: [(String, Module)] { [("row", row), ("column", column)] }

    override func forward(_ x: Tensor) -> Tensor {
        let r = row(x)
        return r + column(x + r)
    }
}

/// `attention: {type: axial}`: no switches of its own.
public struct AxialAttentionConfig: AttentionConfig {
    public var typeName: String { "axial" }
    public init() {}
    public init(from decoder: Decoder) throws { try decodeTypeOnly(decoder) }
    public func build(_ shape: AttentionShape) -> Layer { AxialAttention(shape) }
}
