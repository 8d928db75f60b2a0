import ConfigCore
import Foundation
import ModelZoo

/// One column of a table: where its value comes from and how it prints.
public struct TableColumn: Equatable {
    /// What a column reads.
    public enum Source: Equatable {
        /// Counted from the model built by the row's experiment at the table's input size.
        case cost(CostMeasure)
        /// An evaluation metric (as metrics.h5 / eval files store it, a fraction), for one task.
        case metric(name: String, task: ModelTask)
        /// A number ViTLab does not measure (on-device latency): the paper's value only; ours is missing.
        case paperOnly
        /// Measured on this machine when the table is collected: images per second of the row's
        /// model forward under the column's protocol (batch, input, threads, warm-up, repeats).
        case throughput(ThroughputProtocol)
    }

    /// The cost conventions of `runexp info` (docs/segformer.md): `flops` is mmcv's
    /// get_model_complexity_info (no matmul; SeaFormer's, and the dense-task GFLOPs of XFormer and
    /// S2AFormer), `flopsMMCVHooks` exactly what mmcv's module hooks count (TransKD's), `macs`
    /// conv + linear + matmul multiply-accumulates, attention included (the ImageNet GMACs of
    /// XFormer and S2AFormer). Each table names the one its paper used by the column it lists.
    public enum CostMeasure: String, Equatable { case params, flops, flopsMMCVHooks, macs }

    /// The key the rows' `paper:` values use: the column type, or the spec's `id:` when a table
    /// lists one type several times (three paper-only throughput columns, two measured inputs).
    public var id: String
    public var header: String
    public let source: Source
    /// Stored value × scale = printed value (params in M: 1e-6; FLOPs in G: 1e-9; metrics in %: 100).
    public let scale: Double
    /// Decimals printed when the paper's value does not fix the precision.
    public var digits: Int

    /// How a measured column was measured, printed with the table; nil for the other kinds.
    public var protocolNote: String? {
        if case .throughput(let p) = source { return "\(header): \(p.description)" }
        return nil
    }
}

/// The column types a table may list: `columns: [params, flops, miou]` or mappings with
/// `{type: miou, header: "mIoU (val)", digits: 2}`.
public enum TableColumns {
    public static let registry: Registry<Void, TableColumn> = {
        let r = Registry<Void, TableColumn>(kind: "table column")
        func add(_ column: TableColumn, _ summary: String) {
            r.register(column.id, summary: summary) { decoder, _ in try customised(column, decoder) }
        }
        add(TableColumn(id: "params", header: "Params(M)", source: .cost(.params), scale: 1e-6, digits: 2),
            "trainable parameters of the built model, in millions")
        add(TableColumn(id: "flops", header: "FLOPs(G)", source: .cost(.flops), scale: 1e-9, digits: 2),
            "mmcv get_model_complexity_info FLOPs at input_size, in G (the SeaFormer paper's convention)")
        add(TableColumn(id: "flops_hooks", header: "FLOPs(G)", source: .cost(.flopsMMCVHooks), scale: 1e-9, digits: 2),
            "exactly what mmcv's get_model_complexity_info module hooks count at input_size, in G: only ReLU-family activations, nn.Upsample outputs (the TransKD paper's convention)")
        add(TableColumn(id: "macs", header: "MACs(G)", source: .cost(.macs), scale: 1e-9, digits: 2),
            "conv + linear + matmul multiply-accumulates (attention included) at input_size, in G (XFormer's and S2AFormer's ImageNet GMACs)")
        add(TableColumn(id: "miou", header: "mIoU", source: .metric(name: "mIoU", task: .segmentation), scale: 100, digits: 1),
            "mean IoU in %, segmentation")
        add(TableColumn(id: "macc", header: "mAcc", source: .metric(name: "mAcc", task: .segmentation), scale: 100, digits: 1),
            "mean class accuracy in %, segmentation")
        add(TableColumn(id: "top1", header: "Top-1", source: .metric(name: "top1", task: .classification), scale: 100, digits: 1),
            "top-1 accuracy in %, classification")
        add(TableColumn(id: "top5", header: "Top-5", source: .metric(name: "top5", task: .classification), scale: 100, digits: 1),
            "top-5 accuracy in %, classification")
        add(TableColumn(id: "latency", header: "Latency(ms)", source: .paperOnly, scale: 1, digits: 0),
            "on-device latency in ms; ViTLab does not measure it (ARM phone), the paper's value is shown")
        add(TableColumn(id: "miou_test", header: "mIoU(test)", source: .paperOnly, scale: 1, digits: 1),
            "test-server mIoU (no public labels to score locally); the paper's value is shown")
        add(TableColumn(id: paperColumnType, header: "", source: .paperOnly, scale: 1, digits: 2),
            "a column of the paper's values only, named by its own `id` and `header` (`{type: paper, id: fog, header: Fog}`): "
                + "per-class or per-condition scores, GPU throughput, COCO AP, channel counts, …; rows' paper values use the id")
        add(TableColumn(id: "throughput", header: "Throughput(img/s)", source: .throughput(ThroughputProtocol()), scale: 1, digits: 1),
            "images/s of the row's model forward measured on this machine when the table is collected; "
                + "protocol keys batch, input_size, threads, warmup, repeats (printed with the table)")
        return r
    }()

    /// The type whose columns name themselves: a table may list several, each with its own `id`.
    static let paperColumnType = "paper"

    struct Options: Decodable {
        var type: String?
        var id: String?
        var header: String?
        var digits: Int?
        var batch: Int?
        var inputSize: [Int]?
        var threads: Int?
        var warmup: Int?
        var repeats: Int?

        enum CodingKeys: String, CodingKey {
            case type, id, header, digits, batch, inputSize = "input_size", threads, warmup, repeats
        }
    }

    static func customised(_ column: TableColumn, _ decoder: Decoder) throws -> TableColumn {
        // A bare name (`miou`) is a scalar with no options.
        guard let keyed = try? decoder.container(keyedBy: AnyConfigKey.self) else {
            if column.id == paperColumnType {
                throw ConfigValueError(path: decoder.codingPath, message: "a paper column needs its own id and header: write {type: paper, id: fog, header: Fog}")
            }
            return column
        }
        let o = try Options(from: decoder)
        var c = column
        let idPath = decoder.codingPath + [AnyConfigKey(stringValue: "id")]
        if let id = o.id {
            guard !id.isEmpty, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigValueError(path: idPath, message: "a column id is letters, digits and _, got '\(id)'")
            }
            // Another type's name would read as that column in the rows' `paper:` values.
            if id != column.id && registry.contains(id) {
                throw ConfigValueError(path: idPath, message: "'\(id)' is a column type; give this column another id (or list the built-in column as `\(id)`)")
            }
            c.id = id
            if column.id == paperColumnType { c.header = id }
        } else if column.id == paperColumnType {
            throw ConfigValueError(path: idPath, message: "a paper column needs an id (the key its rows' `paper:` values use): write {type: paper, id: fog, header: Fog}")
        }
        if let h = o.header { c.header = h }
        if let d = o.digits { c.digits = d }
        let protocolKeys = ["batch", "input_size", "threads", "warmup", "repeats"]
        if case .throughput(var p) = column.source {
            if let v = o.batch { p.batch = v }
            if let v = o.inputSize { p.inputSize = v }
            if let v = o.threads { p.threads = v }
            if let v = o.warmup { p.warmup = v }
            if let v = o.repeats { p.repeats = v }
            if let bad = p.problem {
                throw ConfigValueError(path: decoder.codingPath + [AnyConfigKey(stringValue: bad.key)], message: bad.message)
            }
            c = TableColumn(id: c.id, header: c.header, source: .throughput(p), scale: c.scale, digits: c.digits)
        } else if let key = protocolKeys.first(where: { keyed.contains(AnyConfigKey(stringValue: $0)) }) {
            throw ConfigValueError(path: decoder.codingPath + [AnyConfigKey(stringValue: key)],
                                   message: "'\(key)' is a protocol key of throughput columns; a \(column.id) column has only type, id, header, digits")
        }
        return c
    }

    /// Decodes `columns.<i>`: a type name or a mapping with `type:`; unknown types and keys are
    /// located errors that list what is allowed.
    static func decode(_ node: ConfigNode, keyPath: String) throws -> TableColumn {
        let path = keyPath.split(separator: ".").map(String.init)
        return try ConfigDecoder(node, at: path).with { decoder in
            if let name = node.scalar, !node.isNull {
                guard registry.contains(name) else {
                    throw ConfigError(.unknownName, at: node.location, keyPath: keyPath, message: "unknown table column '\(name)'",
                                      suggestion: nearestName(to: name, in: registry.names), remedy: "columns: \(registry.names.joined(separator: ", "))")
                }
                return try registry.build(name, from: decoder, ())
            }
            return try registry.build(from: decoder, ())
        }
    }
}
