import NeuralNet
import TensorEngine

/// Learnable positional embedding of a squeezed axis (official `SqueezeAxialPositionalEmbedding`,
/// spec §6 #6): a `[1, C, 16]` table, stored in PyTorch's shape so checkpoints load unchanged,
/// linearly interpolated (align_corners=False) to the squeezed length and added.
public final class SqueezeAxialPositionalEmbedding: Module {
    /// `[1, channels, length]`, initialised `randn` as `torch.randn`.
    public let posEmbed: Tensor

    public init(channels: Int, length: Int = 16) {
        posEmbed = Init.normal([1, channels, length]).asParameter()
    }

    override public var parameters: [(String, Tensor)] { [("pos_embed", posEmbed)] }

    /// The table resampled to `length` positions, channels-last: `[1, length, C]`.
    public func table(length: Int) -> Tensor {
        // The engine's 1-D resize works on [N, L, C]; the stored table is torch's [1, C, L].
        interpolateLinear1d(posEmbed.permute([0, 2, 1]), size: length)
    }

    /// `z` is a squeezed map `[B, L, C]`; returns `z + interp(pos_embed, L)`.
    public func callAsFunction(_ z: Tensor) -> Tensor {
        z + table(length: z.shape[1])
    }
}

/// SeaFormer's squeeze-enhanced axial attention (official `Sea_Attention`, spec §1.3), with the
/// ablation switches of Tables 6, 7 and 12 and SeaFormer++'s adaptive squeeze/expand (§1.7).
/// Input and output are NHWC `[B, H, W, dim]`.
///
/// v1 (the default spec) computes, with q, k, v = Conv1×1+BN of x:
/// - detail branch: `pwconv(act(dwconv(cat[q, k, v])))`;
/// - attention branch: q, k, v are squeezed along W ("row", length H) and along H ("column",
///   length W), positional embeddings are added to the squeezed q and k, multi-head softmax
///   attention runs along each axis (scale kd^-0.5, channel = head·kd + j), each result goes
///   through `proj_encode_row/column` (act → Conv1×1+BN, γ=0), and
///   `proj(act(v + (row + column)))` broadcasts them back over the grid;
/// - output `h_sigmoid(attention) · detail`.
///
/// How the switches are read (spec §4 Tables 6, 7, 12; the paper's text does not spell out
/// every wiring, so these are our definitions):
/// - `enhanceInput`: `concat_qkv` feeds `cat[q, k, v]` (width 2·nh_kd + dh) to the detail
///   branch; `conv` feeds `enhance_conv(x)`, a Conv1×1+BN dim→dim, so dwconv/pwconv work on dim
///   channels; `upconv` feeds `enhance_conv(x)`, a Conv1×1+BN dim→2·nh_kd+dh, so dwconv/pwconv
///   keep their v1 widths. With `conv`/`upconv` q, k and v serve the attention branch only.
/// - `detailEnhancement: false`: the output is the attention branch alone, `proj(…)`, without
///   the h_sigmoid (the hard sigmoid exists to gate the detail branch; a lone residual branch
///   should not be confined to [0, 1]).
/// - `attentionBranch: false`: the output is the detail branch alone; q, k, v are built only
///   if the detail branch reads them (`concat_qkv`), and no attention parts are built.
/// - `enhanceMode: add`: `attention + detail`, again without the h_sigmoid gate.
/// - `squeeze` (type `sea`): `mean` (v1), `max` (amax over the axis), or `adaptive`: the
///   SeaFormer++ masked squeeze below, with v1's broadcast expand.
/// - `positionalEmbedding: false` drops the four `pos_emb_*` tables (Table 12).
/// - type `sea_adaptive` (Table 7 last row, spec §1.7 "faithful reading"): squeeze masks
///   `A_W = squeeze_mask_row(x)`, `A_H = squeeze_mask_column(x)` and expand masks
///   `E_W = expand_mask_row(x)`, `E_H = expand_mask_column(x)`, each a Conv1×1+BN
///   dim→maskWidth with no squashing; `row = mean_W(t·A_W)` and `column = mean_H(t·A_H)` for
///   t = q, k, v (the masks are shared by q, k and v: "repeats on k and v"), and the expand is
///   `v + (row·E_W + column·E_H)`. `squeeze` is ignored by this type.
///   Mask widths: `1` — one mask for every channel; `heads` — mask channel h weights every
///   channel of head h; `nh_kd` — mask channel h·kd + j weights q/k channel h·kd + j, and
///   for the dh-wide v (and the expanded results) the head's kd masks repeat along its
///   d = attnRatio·kd channels (channel h·d + r·kd + j uses mask h·kd + j).
public final class SeaAttention: Layer {
    public let dim: Int, keyDim: Int, heads: Int
    /// nh_kd = heads·keyDim (C_qk); valueDim = attnRatio·keyDim per head; dh = heads·valueDim (C_v).
    public let nhKd: Int, valueDim: Int, dh: Int
    public let scale: Float
    public let activation: ActivationKind
    public let enhanceInput: EnhanceInput, enhanceMode: EnhanceMode
    public let squeezeKind: SqueezeKind
    public let adaptiveExpand: Bool

    public let toQ: ConvBN?, toK: ConvBN?, toV: ConvBN?
    public let proj: Sequential?, projEncodeRow: Sequential?, projEncodeColumn: Sequential?
    public let posEmbRowQ: SqueezeAxialPositionalEmbedding?, posEmbRowK: SqueezeAxialPositionalEmbedding?
    public let posEmbColumnQ: SqueezeAxialPositionalEmbedding?, posEmbColumnK: SqueezeAxialPositionalEmbedding?
    public let squeezeMaskRow: ConvBN?, squeezeMaskColumn: ConvBN?
    public let expandMaskRow: ConvBN?, expandMaskColumn: ConvBN?
    public let enhanceConv: ConvBN?
    public let dwconv: ConvBN?, pwconv: ConvBN?

    /// Length of the learnable positional tables (spec §1.2: L = 16 everywhere).
    public static let positionalLength = 16

    public convenience init(dim: Int, keyDim: Int, heads: Int, attnRatio: Int = 2) {
        self.init(SeaAttentionConfig(), AttentionShape(dim: dim, keyDim: keyDim, heads: heads, attnRatio: attnRatio))
    }

    public init(_ spec: SeaAttentionConfig, _ shape: AttentionShape) {
        precondition(spec.detailEnhancement || spec.attentionBranch,
                     "SeaAttention: detailEnhancement and attentionBranch are both off; SeaAttentionConfig reports this as a config error")
        let dim = shape.dim, heads = shape.heads, nhKd = shape.keyDim * heads, dh = shape.attnRatio * shape.keyDim * heads
        self.dim = dim; keyDim = shape.keyDim; self.heads = heads
        self.nhKd = nhKd; valueDim = shape.attnRatio * shape.keyDim; self.dh = dh
        scale = 1 / Float(keyDim).squareRoot()
        activation = shape.activation
        enhanceInput = spec.enhanceInput; enhanceMode = spec.enhanceMode
        let adaptive = spec.adaptive
        squeezeKind = adaptive ? .adaptive : spec.squeeze
        adaptiveExpand = adaptive

        let attention = spec.attentionBranch
        let detail = spec.detailEnhancement
        let needsQKV = attention || (detail && spec.enhanceInput == .concatQKV)
        toQ = needsQKV ? ConvBN(dim, nhKd) : nil
        toK = needsQKV ? ConvBN(dim, nhKd) : nil
        toV = needsQKV ? ConvBN(dim, dh) : nil

        // γ = 0 in the three projections (bn_weight_init=0): with PyTorch-default init the
        // attention branch starts at 0 (spec §1.4).
        func projection(_ cin: Int, _ cout: Int) -> Sequential {
            Sequential([Activation(shape.activation), ConvBN(cin, cout, bnWeightInit: 0)])
        }
        proj = attention ? projection(dh, dim) : nil
        projEncodeRow = attention ? projection(dh, dh) : nil
        projEncodeColumn = attention ? projection(dh, dh) : nil
        let positional = attention && spec.positionalEmbedding
        func table() -> SqueezeAxialPositionalEmbedding? {
            positional ? SqueezeAxialPositionalEmbedding(channels: nhKd, length: Self.positionalLength) : nil
        }
        posEmbRowQ = table(); posEmbRowK = table()
        posEmbColumnQ = table(); posEmbColumnK = table()

        let maskWidth: Int
        switch spec.maskWidth {
        case .one: maskWidth = 1
        case .heads: maskWidth = heads
        case .nhKd: maskWidth = nhKd
        }
        let squeezeMasks = attention && squeezeKind == .adaptive
        squeezeMaskRow = squeezeMasks ? ConvBN(dim, maskWidth) : nil
        squeezeMaskColumn = squeezeMasks ? ConvBN(dim, maskWidth) : nil
        expandMaskRow = attention && adaptive ? ConvBN(dim, maskWidth) : nil
        expandMaskColumn = attention && adaptive ? ConvBN(dim, maskWidth) : nil

        let enhanceWidth = 2 * nhKd + dh
        let detailWidth: Int
        switch spec.enhanceInput {
        case .concatQKV:
            detailWidth = enhanceWidth; enhanceConv = nil
        case .conv:
            detailWidth = dim; enhanceConv = detail ? ConvBN(dim, dim) : nil
        case .upconv:
            detailWidth = enhanceWidth; enhanceConv = detail ? ConvBN(dim, enhanceWidth) : nil
        }
        dwconv = detail ? ConvBN(detailWidth, detailWidth, kernel: 3, padding: 1, groups: detailWidth) : nil
        pwconv = detail ? ConvBN(detailWidth, dim) : nil
    }

    override public var children: [(String, Module)] {
        // Official registration order first, then the parts the official code does not have.
        let named: [(String, Module?)] = [
            ("to_q", toQ), ("to_k", toK), ("to_v", toV),
            ("proj", proj), ("proj_encode_row", projEncodeRow),
            ("pos_emb_rowq", posEmbRowQ), ("pos_emb_rowk", posEmbRowK),
            ("proj_encode_column", projEncodeColumn),
            ("pos_emb_columnq", posEmbColumnQ), ("pos_emb_columnk", posEmbColumnK),
            ("squeeze_mask_row", squeezeMaskRow), ("squeeze_mask_column", squeezeMaskColumn),
            ("expand_mask_row", expandMaskRow), ("expand_mask_column", expandMaskColumn),
            ("enhance_conv", enhanceConv),
            ("dwconv", dwconv), ("pwconv", pwconv),
        ]
        return named.compactMap { name, module in module.map { (name, $0) } }
    }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[3] == dim, "SeaAttention: expected [B, H, W, \(dim)], got \(x.shape)")
        let q = toQ.map { $0(x) }, k = toK.map { $0(x) }, v = toV.map { $0(x) }

        var detail: Tensor?
        if let dwconv, let pwconv {
            let input = enhanceConv.map { $0(x) } ?? concat([q!, k!, v!], axis: 3)
            detail = pwconv(activation.apply(dwconv(input)))
        }
        var attention: Tensor?
        if let proj, let q, let k, let v {
            attention = proj(axialContext(x, q: q, k: k, v: v))
        }

        switch (attention, detail) {
        case let (a?, d?): return enhanceMode == .mul ? a.hardSigmoid() * d : a + d
        case let (a?, nil): return a
        case let (nil, d?): return d
        case (nil, nil): preconditionFailure("SeaAttention: no branch is built")
        }
    }

    /// `v + (row + column)` (or its adaptively expanded form): the input of `proj`.
    private func axialContext(_ x: Tensor, q: Tensor, k: Tensor, v: Tensor) -> Tensor {
        let B = x.shape[0], H = x.shape[1], W = x.shape[2]
        let maskRow = squeezeMaskRow.map { $0(x) }, maskColumn = squeezeMaskColumn.map { $0(x) }

        // Row: squeeze W (NHWC axis 2) → sequences of length H.
        var qRow = squeeze(q, axis: 2, mask: maskRow), kRow = squeeze(k, axis: 2, mask: maskRow)
        if let posEmbRowQ, let posEmbRowK { qRow = posEmbRowQ(qRow); kRow = posEmbRowK(kRow) }
        let row = attend(qRow, kRow, squeeze(v, axis: 2, mask: maskRow)).reshape([B, H, 1, dh])
        let encodedRow = projEncodeRow!(row)

        // Column: squeeze H (NHWC axis 1) → sequences of length W.
        var qColumn = squeeze(q, axis: 1, mask: maskColumn), kColumn = squeeze(k, axis: 1, mask: maskColumn)
        if let posEmbColumnQ, let posEmbColumnK { qColumn = posEmbColumnQ(qColumn); kColumn = posEmbColumnK(kColumn) }
        let column = attend(qColumn, kColumn, squeeze(v, axis: 1, mask: maskColumn)).reshape([B, 1, W, dh])
        let encodedColumn = projEncodeColumn!(column)

        if let expandMaskRow, let expandMaskColumn {
            return v + (masked(encodedRow, by: expandMaskRow(x)) + masked(encodedColumn, by: expandMaskColumn(x)))
        }
        return v + (encodedRow + encodedColumn)   // broadcast expand, the official order of sums
    }

    /// Squeezes NHWC `t` along `axis` (1 = H, 2 = W) to `[B, L, C]`.
    private func squeeze(_ t: Tensor, axis: Int, mask: Tensor?) -> Tensor {
        switch squeezeKind {
        case .mean: return t.mean(axes: [axis])
        case .max: return t.amax(axes: [axis])
        // Eq. 4: (1/W)·Σ_w t·A — a mean of the masked map.
        case .adaptive: return masked(t, by: mask!).mean(axes: [axis])
        }
    }

    /// `t · mask` with the mask's channels spread over heads as the type's doc says. The two
    /// operands broadcast spatially, so this is also the adaptive expand of a `[B, H, 1, C]`
    /// row by a `[B, H, W, m]` mask.
    private func masked(_ t: Tensor, by mask: Tensor) -> Tensor {
        let m = mask.shape[3]
        if m == 1 { return t * mask }
        let perHead = m / heads, channels = t.shape[3]
        let tHeads = t.reshape(Array(t.shape.prefix(3)) + [heads, channels / (heads * perHead), perHead])
        let mHeads = mask.reshape(Array(mask.shape.prefix(3)) + [heads, 1, perHead])
        let y = tHeads * mHeads
        return y.reshape(Array(y.shape.prefix(3)) + [channels])
    }

    /// Multi-head softmax attention over squeezed sequences: q, k `[B, L, nh_kd]`,
    /// v `[B, L, dh]` → `[B, L, dh]`, channel = head·d + j as in the official reshape.
    private func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor) -> Tensor {
        let B = q.shape[0], L = q.shape[1]
        let qh = q.reshape([B, L, heads, keyDim]).permute([0, 2, 1, 3])   // B nh L kd
        let kh = k.reshape([B, L, heads, keyDim]).permute([0, 2, 3, 1])   // B nh kd L
        let vh = v.reshape([B, L, heads, valueDim]).permute([0, 2, 1, 3]) // B nh L d
        // Scores scaled after the product, as the official code: outputs match it bit for bit.
        return scaledDotProductAttention(qh, kh, vh, scale: scale, scaling: .scores)
            .permute([0, 2, 1, 3]).reshape([B, L, dh])
    }
}
