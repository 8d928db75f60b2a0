import NeuralNet

/// What a stage tells the module in its attention slot. Every type maps `[B, H, W, dim]` to
/// `[B, H, W, dim]`; the rest describes the stage so that each type can lay out its heads:
/// SEA and the Table 9 baselines read `keyDim`/`attnRatio`; spatial-reduction attention (MiT,
/// PVTv2) reads `spatialReduction`; a type that needs the map's size at build time (strip or
/// window attention) derives it from `stride` and the input size.
public struct AttentionShape: Equatable {
    /// Channels in and out.
    public var dim: Int
    /// Query/key width per head.
    public var keyDim: Int
    public var heads: Int
    /// Value width per head = attnRatio · keyDim (SeaFormer: 2).
    public var attnRatio: Int
    /// The activation of the stage (SeaFormer: ReLU6), for types whose projections use one.
    public var activation: ActivationKind
    /// Keys and values are spatially reduced by this factor (MiT's `sr_ratio`); 1 = none.
    public var spatialReduction: Int
    /// Down-sampling of the stage's map against the input image.
    public var stride: Int
    /// The (rows, cols) token map the attention sees at the backbone's reference input size,
    /// for types with parameters tied to the token count (XFA's learned context kernel w_c);
    /// nil when the backbone fixes no reference size (every family but XFormer).
    public var tokenGrid: [Int]?

    public init(dim: Int, keyDim: Int, heads: Int, attnRatio: Int = 2, activation: ActivationKind = .relu6,
                spatialReduction: Int = 1, stride: Int = 1, tokenGrid: [Int]? = nil) {
        self.dim = dim; self.keyDim = keyDim; self.heads = heads; self.attnRatio = attnRatio; self.activation = activation
        self.spatialReduction = spatialReduction; self.stride = stride; self.tokenGrid = tokenGrid
    }

    /// Value width per head.
    public var valueDim: Int { attnRatio * keyDim }
}
