import Foundation
import NeuralNet
import TensorEngine

/// Where XFA's L2 normalisation runs (spec §6 A5).
public enum XFANormAxis: String, CaseIterable, Codable {
    /// Per token over the D features: the paper's literal "along feature dimension D" (default).
    case feature
    /// Per feature over the N tokens: what the cited XCiT does; keeps A's scale resolution-free.
    case token
}

/// How XFA weighs tokens into the query context scores k_c = w_cᵀ·K̂ (spec §1.2, §6 A4).
public enum XFAContext: String, CaseIterable, Codable {
    /// A learned vector w_c over the reference token grid, init 1/N, resampled bilinearly (and
    /// rescaled by N_ref/N) when the grid differs (default; needs the stage's `tokenGrid`).
    case learned
    /// The parameter-free mean over tokens, w_c = 1/N at every resolution.
    case mean
}

/// How Eq. 5 is evaluated (spec §6 A9): both give the same output up to rounding.
public enum XFAEvaluation: String, CaseIterable, Codable {
    /// Materialise the D×D map A = λ·a·k_c, then V·A: the paper's O(N·D²) (default; the counts).
    case map
    /// λ·(V·a)·k_c: O(N·D), no D×D map.
    case factorised
}

/// Cross feature attention (XFormer, spec §1.2): a rank-1-per-head D×D feature map instead of
/// an N×N token map, without softmax. NHWC `[B, H, W, E]` in and out, the H·W tokens row-major.
///
/// ```
/// q, k, v = split(qkv_proj(x))                    [B, heads, N, d], d = D/heads
/// q̂, k̂ = q/‖q‖₂, k/‖k‖₂ (over d, or over N)       eps 1e-12 (F.normalize)
/// k_f = k̂·w_f                                     [B, heads, N, 1]   Eq. 4, w_f ∈ R^{d} per head
/// k_c = w_cᵀ·k̂                                    [B, heads, 1, d]   Eq. 3, w_c ∈ R^{N} shared
/// a   = k_fᵀ·q̂  (= (q̂ᵀk_f)ᵀ)                      [B, heads, 1, d]
/// A   = λ·aᵀ·k_c                                  [B, heads, d, d]   λ per head, init 1
/// y   = out_proj(v·A)
/// ```
/// Every product is a matmul so that the cost trace counts exactly the spec's 3·N·d + d² + N·d²
/// core MACs per head. State paths (ours; no official code): `qkv_proj`, `w_f` [heads, d],
/// `w_c` [N_ref] (learned context only), `temperature` [heads], `out_proj`.
public final class CrossFeatureAttention: Layer {
    public let qkvProj: Linear, outProj: Linear
    public let featureKernel: Tensor
    public let contextKernel: Tensor?
    public let temperature: Tensor
    public let heads: Int, qkvDim: Int
    public let referenceGrid: (Int, Int)?
    public let normAxis: XFANormAxis
    /// Switchable after construction: both orders use the same parameters.
    public var evaluation: XFAEvaluation

    public init(dim: Int, qkvDim: Int, heads: Int = 1, context: XFAContext = .learned, referenceGrid: (Int, Int)? = nil,
                normAxis: XFANormAxis = .feature, evaluation: XFAEvaluation = .map, generator: RandomGenerator = .global) {
        precondition(heads > 0 && qkvDim % heads == 0, "xfa: \(heads) heads must divide the q-k-v width \(qkvDim) (XFAConfig.check reports this)")
        precondition(context == .mean || referenceGrid != nil, "xfa: a learned context kernel needs the reference token grid (XFAConfig.check reports this)")
        self.heads = heads
        self.qkvDim = qkvDim
        self.normAxis = normAxis
        self.evaluation = evaluation
        qkvProj = Linear(dim, 3 * qkvDim, generator: generator)
        outProj = Linear(qkvDim, dim, generator: generator)
        featureKernel = Init.truncatedNormal([heads, qkvDim / heads], std: 0.02, generator: generator).asParameter()
        temperature = Tensor.ones([heads]).asParameter()
        if context == .learned, let grid = referenceGrid {
            self.referenceGrid = grid
            let n = grid.0 * grid.1
            contextKernel = Tensor.full([n], 1 / Float(n)).asParameter()
        } else {
            self.referenceGrid = nil
            contextKernel = nil
        }
    }

    override public var children: [(String, Module)] { [("qkv_proj", qkvProj), ("out_proj", outProj)] }
    override public var parameters: [(String, Tensor)] {
        [("w_f", featureKernel)] + (contextKernel.map { [("w_c", $0)] } ?? []) + [("temperature", temperature)]
    }

    /// w_c as `[1, 1, 1, N]` for an h×w token map: the learned kernel itself at the reference
    /// grid, else resized bilinearly and scaled by N_ref/N so that Σw_c is kept; 1/N for `mean`.
    func contextWeights(height h: Int, width w: Int) -> Tensor {
        let n = h * w
        guard let kernel = contextKernel, let (rh, rw) = referenceGrid else { return Tensor.full([1, 1, 1, n], 1 / Float(n)) }
        if rh == h && rw == w { return kernel.reshape([1, 1, 1, n]) }
        let resized = interpolateBilinear(kernel.reshape([1, rh, rw, 1]), size: (h, w), alignCorners: false)
        return (resized * (Float(rh * rw) / Float(n))).reshape([1, 1, 1, n])
    }

    /// Loading w_c trained at another grid (ImageNet 224 → a 1024 Cityscapes crop, spec §3.2):
    /// the checkpoint's length N_src gives its grid — square when N_src is a perfect square (the
    /// square ImageNet crops), else the factorisation nearest this model's aspect ratio — and it
    /// is resized bilinearly to the reference grid and scaled by N_src/N, as at run time.
    override public func resampledState(_ name: String, from tensor: Tensor) -> Tensor? {
        guard name == "w_c", tensor.rank == 1, let (rh, rw) = referenceGrid, tensor.count > 0 else { return nil }
        let n = tensor.count
        let root = Int(Double(n).squareRoot().rounded())
        var grid = (root, root)
        if root * root != n {
            let aspect = Double(rh) / Double(rw)
            let factors = (1...n).filter { n % $0 == 0 }.map { ($0, n / $0) }
            grid = factors.min { abs(log(Double($0.0) / Double($0.1) / aspect)) < abs(log(Double($1.0) / Double($1.1) / aspect)) }!
        }
        // Checkpoint values, not part of any graph.
        return withNoGrad {
            let resized = interpolateBilinear(tensor.reshape([1, grid.0, grid.1, 1]), size: (rh, rw), alignCorners: false)
            return (resized * (Float(n) / Float(rh * rw))).reshape([rh * rw])
        }
    }

    func l2Normalised(_ t: Tensor) -> Tensor {
        let axis = normAxis == .feature ? -1 : -2
        return t / t.square().sum(axes: [axis], keepDim: true).sqrt().clamp(min: 1e-12)
    }

    override public func forward(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4, "xfa: input must be B×H×W×C, got shape \(x.shape)")
        let (b, h, w) = (x.shape[0], x.shape[1], x.shape[2])
        let n = h * w, d = qkvDim / heads
        // [B, H, W, 3·D] is [B, N, 3, heads, d]: one permute gives [3, B, heads, N, d].
        let qkv = qkvProj(x).reshape([b, n, 3, heads, d]).permute([2, 0, 3, 1, 4])
        let q = l2Normalised(qkv.slice(axis: 0, start: 0, end: 1).reshape([b, heads, n, d]))
        let k = l2Normalised(qkv.slice(axis: 0, start: 1, end: 2).reshape([b, heads, n, d]))
        let v = qkv.slice(axis: 0, start: 2, end: 3).reshape([b, heads, n, d])
        let kf = matmul(k, featureKernel.reshape([heads, d, 1]))                 // [B, heads, N, 1]
        let kc = matmul(contextWeights(height: h, width: w), k)                  // [B, heads, 1, d]
        let a = matmul(kf.reshape([b, heads, 1, n]), q)                          // [B, heads, 1, d]
        let lambda = temperature.reshape([1, heads, 1, 1])
        let y: Tensor
        switch evaluation {
        case .map:
            let map = matmul(a.reshape([b, heads, d, 1]), kc) * lambda           // [B, heads, d, d], rank 1
            y = matmul(v, map)
        case .factorised:
            y = matmul(matmul(v, a.reshape([b, heads, d, 1])) * lambda, kc)      // [B, heads, N, d]
        }
        return outProj(y.permute([0, 2, 1, 3]).reshape([b, h, w, qkvDim]))
    }
}

/// `attention: {type: xfa, heads: 1, context: learned, norm_axis: feature, evaluation: map}`:
/// XFormer's cross feature attention in any backbone's attention slot. Its q-k-v width is the
/// stage's `heads·keyDim` (XFormer: 96); `heads` is XFA's own (default 1, the literal reading,
/// spec §6 A6) and must divide that width. The learned context kernel w_c has one weight per
/// token of the stage's reference grid, so it needs a backbone that fixes one (`tokenGrid`:
/// XFormer's `img_size`); elsewhere use `context: mean`.
public struct XFAConfig: AttentionConfig {
    public var heads = 1
    public var context: XFAContext = .learned
    public var normAxis: XFANormAxis = .feature
    public var evaluation: XFAEvaluation = .map
    var keyPath: [String] = []

    public init(heads: Int = 1, context: XFAContext = .learned, normAxis: XFANormAxis = .feature, evaluation: XFAEvaluation = .map) {
        self.heads = heads; self.context = context; self.normAxis = normAxis; self.evaluation = evaluation
    }

    public var typeName: String { "xfa" }

    enum CodingKeys: String, CodingKey { case type, heads, context, normAxis = "norm_axis", evaluation }

    public init(from decoder: Decoder) throws {
        keyPath = decoder.codingPath.map(\.stringValue)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        _ = c.contains(.type)
        heads = try c.decode(.heads, default: heads, atLeast: 1)
        context = try c.decode(.context, default: context)
        normAxis = try c.decode(.normAxis, default: normAxis)
        evaluation = try c.decode(.evaluation, default: evaluation)
    }

    func qkvDim(_ shape: AttentionShape) -> Int { shape.heads * shape.keyDim }

    public func check(_ shape: AttentionShape) throws {
        let at = (keyPath + ["heads"]).joined(separator: ".")
        let width = qkvDim(shape)
        guard width > 0, width % heads == 0 else {
            throw ConfigValueError(keyPath: at, message: "xfa splits the stage's \(width)-wide q-k-v into \(heads) heads, but \(heads) does not divide \(width)")
        }
        if context == .learned && shape.tokenGrid?.count != 2 {
            throw ConfigValueError(keyPath: (keyPath + ["context"]).joined(separator: "."),
                                   message: "xfa's learned context kernel w_c has one weight per token of a fixed reference grid, and this backbone fixes no input size for its stages (only xformer does, through img_size); use context: mean here")
        }
    }

    public func build(_ shape: AttentionShape) -> Layer {
        let grid = shape.tokenGrid.map { ($0[0], $0[1]) }
        return CrossFeatureAttention(dim: shape.dim, qkvDim: qkvDim(shape), heads: heads, context: context,
                                     referenceGrid: context == .learned ? grid : nil, normAxis: normAxis, evaluation: evaluation)
    }
}
