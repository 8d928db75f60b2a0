import Foundation
import TensorEngine

/// Parameters and arithmetic of a model, measured by tracing one forward pass: the engine counts
/// every op (`CostTrace`), and each layer that runs names the scope its ops belong to.
///
/// Conventions (stated in every printed table): **params** are trainable parameters (buffers
/// such as BN running statistics excluded); **MACs** are multiply–accumulates of convolutions,
/// linear layers and every matmul (attention included); **FLOPs (mmcv)** follow mmcv's
/// `get_model_complexity_info`, the tool behind the SeaFormer/TopFormer numbers: conv MACs +
/// conv bias adds + norms + activations + linear + pooling, without matmul, interpolation, mean
/// or elementwise ops; **FLOPs (mmcv hooks)** are what mmcv's module hooks count, TransKD's
/// convention (transkd_count.py): the same, but only ReLU-family activations (no GELU, SiLU,
/// sigmoid, hard-swish) and with `nn.Upsample` modules (output numel).
public struct ModelSummary {
    public struct Row: Equatable {
        public let path: String
        public let type: String
        public let parameters: Int
        public let macs: Int
        public let mmcvFLOPs: Int
        public let mmcvHookFLOPs: Int
    }

    public let rows: [Row]
    public let parameters: Int
    public let macs: Int
    public let mmcvFLOPs: Int
    /// TransKD's convention (mmcv's module hooks exactly); see the type's documentation.
    public let mmcvHookFLOPs: Int

    /// Scopes of the layers of the model being traced, by identity.
    nonisolated(unsafe) static var scopes: [ObjectIdentifier: String] = [:]

    /// Traces `forward` (which should run `model` once, batch 1 for per-image figures) and
    /// tabulates modules down to `depth` levels of the tree.
    public static func measure(_ model: Module, depth: Int = 2, forward: () -> Void) -> ModelSummary {
        let modules = model.namedModules()
        let outer = scopes
        scopes = Dictionary(modules.map { (ObjectIdentifier($0.1), $0.0) }, uniquingKeysWith: { a, _ in a })
        defer { scopes = outer }
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        let (_, trace) = CostTrace.trace(forward)
        let rows = modules.filter { !$0.0.isEmpty && $0.0.split(separator: ".").count <= depth }.map { path, m in
            Row(path: path, type: String(describing: type(of: m)), parameters: m.parameterCount,
                macs: trace.macs(under: path), mmcvFLOPs: trace.mmcvFLOPs(under: path), mmcvHookFLOPs: trace.mmcvHookFLOPs(under: path))
        }
        return ModelSummary(rows: rows, parameters: model.parameterCount, macs: trace.macs(), mmcvFLOPs: trace.mmcvFLOPs(),
                            mmcvHookFLOPs: trace.mmcvHookFLOPs())
    }

    /// A plain-text table: one row per module, then the totals and the conventions.
    public func table() -> String {
        func g(_ n: Int) -> String { String(format: "%.3f G", Double(n) / 1e9) }
        func num(_ n: Int) -> String {
            let s = String(n)
            return String(s.reversed().enumerated().map { $0.offset > 0 && $0.offset % 3 == 0 ? [",", $0.element] : [$0.element] }.joined().reversed())
        }
        let pathWidth = max(6, rows.map(\.path.count).max() ?? 0)
        var lines = [String(format: "%@  %-22@ %12@ %12@ %14@ %20@", "module".padding(toLength: pathWidth, withPad: " ", startingAt: 0), "type", "params", "MACs", "FLOPs (mmcv)", "FLOPs (mmcv hooks)")]
        for r in rows {
            let indent = String(repeating: "  ", count: r.path.split(separator: ".").count - 1)
            lines.append(String(format: "%@  %-22@ %12@ %12@ %14@ %20@", (indent + r.path.split(separator: ".").last!).padding(toLength: pathWidth, withPad: " ", startingAt: 0),
                                r.type, num(r.parameters), g(r.macs), g(r.mmcvFLOPs), g(r.mmcvHookFLOPs)))
        }
        lines.append(String(format: "%@  %-22@ %12@ %12@ %14@ %20@", "total".padding(toLength: pathWidth, withPad: " ", startingAt: 0), "", num(parameters), g(macs), g(mmcvFLOPs), g(mmcvHookFLOPs)))
        lines.append("params: trainable (buffers excluded). MACs: conv (functional ones too) + linear + matmul (attention included).")
        lines.append("FLOPs (mmcv): conv MACs + bias + norm + activation + linear + pool; no matmul, interpolation, mean or elementwise (SeaFormer's figures).")
        lines.append("FLOPs (mmcv hooks): as mmcv's module hooks count (TransKD's figures): ReLU-family activations only (no GELU/SiLU/sigmoid), nn.Upsample modules counted.")
        return lines.joined(separator: "\n")
    }
}
