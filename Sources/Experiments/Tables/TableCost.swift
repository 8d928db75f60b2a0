import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// Params and FLOPs of a row's model, built through the same `Experiment.buildModel` a run uses
/// and traced once at the table's input size. Tracing a model is the slow part of a table
/// (seconds each in a debug build) and many rows share a model, so results are cached by a
/// hash of the canonical `model:` node and the input shape, in memory and optionally in a
/// JSON file that later invocations reuse.
public final class TableCost {
    public struct Cost: Codable, Equatable {
        public var params: Int
        /// FLOPs in the "mmcv" convention (SeaFormer's figures; no matmul).
        public var flops: Int
        /// FLOPs in the "mmcv hooks" convention (TransKD's figures) and conv + linear + matmul MACs
        /// (XFormer's and S2AFormer's ImageNet GMACs). Optional so that a cache file written before
        /// they existed still decodes; such an entry is traced again.
        public var mmcvHookFLOPs: Int?
        public var macs: Int?
        public var task: String

        public init(params: Int, flops: Int, mmcvHookFLOPs: Int?, macs: Int?, task: String) {
            self.params = params; self.flops = flops; self.mmcvHookFLOPs = mmcvHookFLOPs; self.macs = macs; self.task = task
        }

        /// The number a cost column shows (unscaled).
        public func value(of measure: TableColumn.CostMeasure) -> Int? {
            switch measure {
            case .params: return params
            case .flops: return flops
            case .flopsMMCVHooks: return mmcvHookFLOPs
            case .macs: return macs
            }
        }
    }

    private var cache: [String: Cost] = [:]
    private let file: URL?
    /// How many models this instance actually built and traced (the rest came from the cache).
    public private(set) var traced = 0

    public init(cacheFile: URL? = nil) {
        file = cacheFile
        if let file, let data = try? Data(contentsOf: file), let c = try? JSONDecoder().decode([String: Cost].self, from: data) {
            cache = c
        }
    }

    /// The cache key: FNV-1a of the resolved model node's YAML and the input shape.
    public static func key(modelYAML: String, inputSize: [Int]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (modelYAML + "|" + inputSize.map(String.init).joined(separator: "x")).utf8 {
            h ^= UInt64(b); h = h &* 0x0000_0100_0000_01b3
        }
        return String(h, radix: 16)
    }

    /// The node with every collection in block style. Flow style is presentation (not part of
    /// `ConfigNode` equality): a base's `backbone: {type: mit}` merged with an experiment's block
    /// `backbone:` section must hash like the base alone.
    static func blockStyled(_ node: ConfigNode) -> ConfigNode {
        var n = node
        n.flow = false
        switch node.value {
        case .mapping(let entries):
            n.value = .mapping(entries.map { ConfigNode.Entry(key: $0.key, keyLocation: $0.keyLocation, value: blockStyled($0.value)) })
        case .sequence(let items):
            n.value = .sequence(items.map(blockStyled))
        case .scalar:
            break
        }
        return n
    }

    public func cost(of experiment: Experiment, inputSize: [Int]) throws -> Cost {
        // Hashed without its `init` sections: where the weights come from changes no count, so
        // a row initialised from ImageNet weights shares its trace with the one from scratch.
        let modelYAML = try Self.blockStyled(experiment.splitInit().0).yaml()
        let k = Self.key(modelYAML: modelYAML, inputSize: inputSize)
        if let hit = cache[k], hit.mmcvHookFLOPs != nil, hit.macs != nil { return hit }
        RandomGenerator.manualSeed(experiment.config.seed)
        let model = try experiment.buildModel()
        model.eval()
        let image = Tensor.zeros([1, inputSize[0], inputSize[1], 3])
        let summary = ModelSummary.measure(model, depth: 0) { withNoGrad { _ = model.measuredForward(image) } }
        let c = Cost(params: summary.parameters, flops: summary.mmcvFLOPs, mmcvHookFLOPs: summary.mmcvHookFLOPs, macs: summary.macs,
                     task: model.task.rawValue)
        traced += 1
        cache[k] = c
        if let file {
            try? FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .prettyPrinted]
            if let data = try? enc.encode(cache) { try? data.write(to: file, options: .atomic) }
        }
        return c
    }
}
