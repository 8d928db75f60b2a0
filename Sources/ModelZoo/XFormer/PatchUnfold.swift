import TensorEngine

/// MobileViT's 2×2 unfolding (spec/xformer.md §1.1) on NHWC maps: `[B, h, w, E]` →
/// `[B·4, h'/2, w'/2, E]`, sequence `b·4 + ph·2 + pw` holding the pixels at intra-patch offset
/// (ph, pw) of every patch, tokens row-major over the patch grid. Each sequence is itself an
/// NHWC token map, so the attention slot sees the `[B, H, W, dim]` contract every attention
/// type implements. "Patch size 2" does not merge pixels: every pixel stays a token.
///
/// A map with an odd side is first resized bilinearly (align_corners false) to the next even
/// size, and `fold` resizes back (ml-cvnets `MobileViTBlock.unfolding`/`folding`); at 224 input
/// this happens only in stage 5 (7×7 → 8×8).
public enum PatchUnfold {
    public static let patch = 2

    /// The patch-grid size of an h×w map: ⌈h/2⌉ × ⌈w/2⌉.
    public static func grid(height h: Int, width w: Int) -> (Int, Int) { ((h + 1) / 2, (w + 1) / 2) }

    public static func unfold(_ x: Tensor) -> Tensor {
        let (b, h, w, e) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (nh, nw) = grid(height: h, width: w)
        let even = (nh * 2 == h && nw * 2 == w) ? x : interpolateBilinear(x, size: (nh * 2, nw * 2), alignCorners: false)
        // [B, nh, ph, nw, pw, E] → [B, ph, pw, nh, nw, E]
        return even.reshape([b, nh, 2, nw, 2, e]).permute([0, 2, 4, 1, 3, 5]).reshape([b * 4, nh, nw, e])
    }

    /// The exact inverse of `unfold` for a map of `height`×`width`.
    public static func fold(_ t: Tensor, height h: Int, width w: Int) -> Tensor {
        let (nh, nw, e) = (t.shape[1], t.shape[2], t.shape[3])
        let b = t.shape[0] / 4
        let map = t.reshape([b, 2, 2, nh, nw, e]).permute([0, 3, 1, 4, 2, 5]).reshape([b, nh * 2, nw * 2, e])
        return (nh * 2 == h && nw * 2 == w) ? map : interpolateBilinear(map, size: (h, w), alignCorners: false)
    }
}
