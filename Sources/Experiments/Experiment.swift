import DataPipeline
import Foundation
import TensorEngine
import ModelZoo
import NeuralNet

/// A loaded experiment: the merged tree (after `_base_` and `--set`) and its decoded schema.
/// Loading already rejects unknown keys and wrong types outside the sub-trees that registries
/// read (`model`, dataset nodes, pipelines); `validate` checks those and every value range.
public struct Experiment {
    /// The fully merged config; the source of `resolvedYAML()`.
    public let root: ConfigNode
    public let config: ExperimentConfig

    public init(root: ConfigNode) throws {
        self.root = root
        config = try ConfigDecoder(root).decode(ExperimentConfig.self)
    }

    /// `ConfigLoader.load(file:overrides:)` + decoding.
    public static func load(file: String, overrides: [String] = []) throws -> Experiment {
        try Experiment(root: ConfigLoader.load(file: file, overrides: overrides))
    }

    /// The merged config as YAML, written into every run so it can be reproduced without the
    /// `_base_` files or the command line.
    public func resolvedYAML() throws -> String { try root.yaml() }

    /// Builds the model through `ModelRegistry.models` (strict keys, located errors). `run`,
    /// `eval`, `info` and `validate` all build through here, so a config that validates builds.
    /// `init` sections (`model.init`, `model.backbone.init`, `model.head.init`) are not the
    /// builders' and are applied by `buildInitialisedModel`.
    public func buildModel() throws -> any TaskModel {
        let (node, _) = try splitInit()
        return try ConfigDecoder(node, at: ["model"]).with { try ModelRegistry.build(from: $0) }
    }

    /// `buildModel()` and then every `init` section loaded, with the report of what was loaded.
    public func buildInitialisedModel() throws -> (any TaskModel, ModelInitReport) {
        let (node, targets) = try splitInit()
        let model = try ConfigDecoder(node, at: ["model"]).with { try ModelRegistry.build(from: $0) }
        return (model, try initialise(model, targets))
    }

    /// The training batch: `data.train.batch_size` if set, else `train.batch_size`.
    public var trainBatchSize: Int { config.data.train.batchSize ?? config.train.batchSize }

    /// Builds the transform pipeline of a split (`"train"` or `"val"`).
    public func pipeline(_ split: String) throws -> Pipeline {
        guard let s = split == "train" ? config.data.train : config.data.val, let node = s.pipeline else { return Pipeline([]) }
        return try ConfigDecoder(node, at: ["data", split, "pipeline"]).decode(Pipeline.self)
    }

    /// Builds a split's dataset (synthetic, or a real layout through `makeDataset`).
    public func dataset(_ split: String) throws -> Dataset {
        guard let s = split == "train" ? config.data.train : config.data.val else {
            throw ConfigError(.missingKey, at: root["data"]?.location, keyPath: "data.\(split)", message: "there is no '\(split)' data section")
        }
        let path = ["data", split, "dataset"]
        switch try datasetType(s.dataset, path: path) {
        case "synthetic":
            return try SyntheticDataset(config: try ConfigDecoder(s.dataset, at: path).decode(SyntheticDataset.Config.self))
        default:
            let c = try ConfigDecoder(s.dataset, at: path).decode(RealDatasetConfig.self)
            do {
                return try makeDataset(type: c.type, root: URL(fileURLWithPath: c.root), split: c.split, options: c.options)
            } catch let e as DataError {
                throw ConfigError(.file, at: s.dataset["root"]?.location ?? s.dataset.location, keyPath: (path + ["root"]).joined(separator: "."), message: e.message)
            }
        }
    }

    /// The dataset node's `type:`, checked against `synthetic` and the DatasetRegistry.
    func datasetType(_ node: ConfigNode, path: [String]) throws -> String {
        let known = ["synthetic"] + DatasetRegistry.types
        guard let t = node["type"], let name = t.scalar, !t.isNull else {
            throw ConfigError(.missingKey, at: node.location, keyPath: path.joined(separator: "."), message: "dataset config has no 'type:' key",
                              remedy: "known datasets: \(known.joined(separator: ", "))")
        }
        guard known.contains(name) else {
            let hint = nearestName(to: name, in: known)
            throw ConfigError(.unknownName, at: t.location, keyPath: (path + ["type"]).joined(separator: "."), message: "unknown dataset '\(name)'",
                              suggestion: hint, remedy: hint == nil ? "known datasets: \(known.joined(separator: ", "))" : nil)
        }
        return name
    }
}
