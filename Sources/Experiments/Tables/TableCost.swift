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
        /// mmcv FLOPs (no matmul).
        public var flops: Int
        /// conv + linear + matmul MACs; nil in cache files written before the `macs` column,
        /// which makes such an entry a miss.
        public var macs: Int?
        public var task: String
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

    public func cost(of experiment: Experiment, inputSize: [Int]) throws -> Cost {
        let modelYAML = try experiment.root["model"].map { try $0.yaml() } ?? ""
        let k = Self.key(modelYAML: modelYAML, inputSize: inputSize)
        if let hit = cache[k], hit.macs != nil { return hit }
        RandomGenerator.manualSeed(experiment.config.seed)
        let model = try experiment.buildModel()
        model.eval()
        let image = Tensor.zeros([1, inputSize[0], inputSize[1], 3])
        let summary = ModelSummary.measure(model, depth: 0) { withNoGrad { _ = model.measuredForward(image) } }
        let c = Cost(params: summary.parameters, flops: summary.mmcvFLOPs, macs: summary.macs, task: model.task.rawValue)
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
