import NeuralNet
import TensorEngine

/// Multi-head self-attention inside non-overlapping windows of windowSize×windowSize tokens
/// (SeaFormer Eq. 2; the "Local" rows of Tables 8 and 9, window 4), with SEA's projections
/// (see `ProjectedAttention`). No shifted windows and no relative position bias: Table 9
/// compares token mixers with everything else equal.
///
/// When H or W is not a multiple of the window, q, k and v are zero-padded at the bottom/right
/// to the next multiple, padded keys are masked out of the softmax (they never receive weight,
/// so a border window attends only to its real tokens) and the output is cropped back. The
/// padding comes after the projections so that their batch norms see only real pixels, and
/// the crop comes before `proj` for the same reason.
final class LocalAttention: ProjectedAttention {
    let windowSize: Int

    /// Added to the score of a padded key: finite (no inf arithmetic anywhere), and exp of it
    /// underflows to exactly 0 after the softmax's max-subtraction.
    static let maskedScore: Float = -1e9

    init(_ shape: AttentionShape, windowSize: Int) {
        precondition(windowSize > 0, "local attention: windowSize must be positive, got \(windowSize)")
        self.windowSize = windowSize
        super.init(shape, variant: "local")
    }

    override func attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let (b, h, w) = (q.shape[0], q.shape[1], q.shape[2])
        // A window larger than the map is one window over every token: clamping it to the map's
        // longer side gives the same attention (padded keys get no weight) without padding the
        // map to window² tokens (window_size 1000 would otherwise allocate 10¹² scores).
        let ws = Swift.min(windowSize, Swift.max(h, w))
        let rows = (h + ws - 1) / ws, cols = (w + ws - 1) / ws
        let hp = rows * ws, wp = cols * ws
        let windows = rows * cols, tokens = ws * ws
        let padding = [(0, 0), (0, hp - h), (0, wp - w), (0, 0)]

        // Window partition and head split in one permute per tensor:
        // [B, rows, ws, cols, ws, nh, c] → [B, rows, cols, nh, ws, ws, c] = [B, windows, nh, L, c].
        func partition(_ t: Tensor, _ c: Int, keysTransposed: Bool) -> Tensor {
            let grid = t.pad(padding).reshape([b, rows, ws, cols, ws, heads, c])
            return keysTransposed
                ? grid.permute([0, 1, 3, 5, 6, 2, 4]).reshape([b, windows, heads, c, tokens])
                : grid.permute([0, 1, 3, 5, 2, 4, 6]).reshape([b, windows, heads, tokens, c])
        }
        let qh = partition(q, keyDim, keysTransposed: false)
        let kT = partition(k, keyDim, keysTransposed: true)
        let vh = partition(v, valueDim, keysTransposed: false)
        let mask = hp == h && wp == w ? nil : paddedKeyMask(h: h, w: w, rows: rows, cols: cols, window: ws)
        let y = scaledDotProduct(qh, kT, vh, scoreBias: mask)      // [B, windows, nh, L, d]
        // Undo the partition: [B, rows, cols, nh, ws, ws, d] → [B, rows, ws, cols, ws, nh, d].
        let map = y.reshape([b, rows, cols, heads, ws, ws, valueDim])
            .permute([0, 1, 4, 2, 5, 3, 6])
            .reshape([b, hp, wp, heads * valueDim])
        return map.slice(axis: 1, end: h).slice(axis: 2, end: w)
    }

    /// [windows, 1, 1, L]: 0 for a real key, `maskedScore` for a padded one; broadcasts over
    /// batch, heads and queries of the scores [B, windows, nh, L, L]. Every window holds at least
    /// one real token (its top-left one), so no softmax row is fully masked.
    func paddedKeyMask(h: Int, w: Int, rows: Int, cols: Int, window ws: Int) -> Tensor {
        var values = [Float](repeating: 0, count: rows * cols * ws * ws)
        for r in 0..<rows {
            for c in 0..<cols {
                for i in 0..<ws {
                    for j in 0..<ws where r * ws + i >= h || c * ws + j >= w {
                        values[((r * cols + c) * ws + i) * ws + j] = Self.maskedScore
                    }
                }
            }
        }
        return Tensor(values, shape: [rows * cols, 1, 1, ws * ws])
    }
}

/// `attention: {type: local, window_size: 4}`.
public struct LocalAttentionConfig: AttentionConfig {
    public var typeName: String { "local" }
    /// Window side in tokens, ≥ 1 (Table 9 uses 4).
    public var windowSize = 4

    public init(windowSize: Int = 4) { self.windowSize = windowSize }

    enum CodingKeys: String, CodingKey { case type, windowSize = "window_size" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        windowSize = try c.decode(.windowSize, default: windowSize)
        guard windowSize >= 1 else {
            throw c.error(.windowSize, "local attention needs a window of at least 1 token, got \(windowSize); Table 9 uses 4")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer { LocalAttention(shape, windowSize: windowSize) }
}
