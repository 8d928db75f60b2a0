/// Counts the arithmetic of a forward pass, op by op, for model summaries.
///
/// Kinds follow what the papers report. `mmcvFLOPs` is the convention of mmcv's
/// `get_model_complexity_info` (which SeaFormer, TopFormer and the mmseg tools use): conv MACs +
/// conv bias adds + norms (numel, ×2 with affine) + activations (numel) + linear MACs + pooling
/// (input numel); it does not count matmul, interpolation, mean or other elementwise ops.
/// `macs` is conv + linear + every matmul (attention included).
///
/// `mmcvHookFLOPs` is mmcv's counter exactly as its module hooks see a model, the convention of
/// TransKD's figures (spec/transkd.md §5, transkd_count.py): like `mmcvFLOPs`, but activations
/// only of the ReLU family (mmcv has hooks for ReLU, ReLU6, LeakyReLU, PReLU, ELU; GELU, SiLU,
/// sigmoid, tanh and the hard variants count nothing) and `nn.Upsample` modules (output numel),
/// which modules report with `CostTrace.count(.upsample, n)`; functional interpolation counts
/// nothing in either.
public enum CostKind: String, CaseIterable {
    /// `activation`: ReLU-family activations; `smoothActivation`: every other activation.
    case convMACs, convBias, linearMACs, matmulMACs, norm, activation, smoothActivation, pool
    /// Output elements of an upsampling *module* (mmcv's `nn.Upsample` hook); functional resizes never count.
    case upsample
    /// MACs of convolutions a model calls functionally (`F.conv2d` on a shared weight, LVT's
    /// dilated q-conv): mmcv's hooks never see them; counted in `macs` only.
    case functionalConvMACs
}

public final class CostTrace {
    /// Counts by scope (the dotted path of the module running) and kind.
    public private(set) var counts: [String: [CostKind: Int]] = [:]
    /// The scope that new counts are attributed to; set by the module system while tracing.
    public var scope = ""

    nonisolated(unsafe) public private(set) static var current: CostTrace?

    public init() {}

    /// Runs `body` with counting on (and no autograd), returning its result and the counts.
    public static func trace<R>(_ body: () throws -> R) rethrows -> (R, CostTrace) {
        let t = CostTrace()
        let outer = current
        current = t
        defer { current = outer }
        let r = try withNoGrad(body)
        return (r, t)
    }

    /// Adds `n` to the running trace (if any) under the current scope: for modules whose cost a
    /// convention counts but no op reports (an upsampling module: `.upsample`).
    public static func count(_ kind: CostKind, _ n: Int) { add(kind, n) }

    nonisolated(unsafe) static var functionalDepth = 0

    /// Runs `body` as functional code (PyTorch `F.conv2d` rather than an `nn.Conv2d` module): its
    /// convolutions count as `.functionalConvMACs` (and their bias adds not at all), as mmcv's
    /// module hooks would miss them.
    public static func functional<R>(_ body: () throws -> R) rethrows -> R {
        functionalDepth += 1
        defer { functionalDepth -= 1 }
        return try body()
    }

    @inline(__always)
    static func add(_ kind: CostKind, _ n: Int) {
        guard let t = current else { return }
        if functionalDepth > 0 && (kind == .convMACs || kind == .convBias) {
            if kind == .convMACs { t.counts[t.scope, default: [:]][.functionalConvMACs, default: 0] += n }
            return
        }
        t.counts[t.scope, default: [:]][kind, default: 0] += n
    }

    /// Sum of one kind over scopes whose path is `prefix` or lies below it ("" = everything).
    public func total(_ kind: CostKind, under prefix: String = "") -> Int {
        counts.reduce(0) { acc, e in
            let inside = prefix.isEmpty || e.key == prefix || e.key.hasPrefix(prefix + ".")
            return acc + (inside ? e.value[kind, default: 0] : 0)
        }
    }

    public func mmcvFLOPs(under prefix: String = "") -> Int {
        [CostKind.convMACs, .convBias, .linearMACs, .norm, .activation, .smoothActivation, .pool].reduce(0) { $0 + total($1, under: prefix) }
    }

    /// mmcv's module hooks exactly (TransKD's convention): no smooth activations, upsampling modules counted.
    public func mmcvHookFLOPs(under prefix: String = "") -> Int {
        [CostKind.convMACs, .convBias, .linearMACs, .norm, .activation, .pool, .upsample].reduce(0) { $0 + total($1, under: prefix) }
    }

    public func macs(under prefix: String = "") -> Int {
        [CostKind.convMACs, .linearMACs, .matmulMACs, .functionalConvMACs].reduce(0) { $0 + total($1, under: prefix) }
    }
}
