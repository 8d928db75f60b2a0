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
    /// The decoded schema; epoch-based settings are already converted to iterations.
    public private(set) var config: ExperimentConfig

    public init(root: ConfigNode) throws {
        self.root = root
        config = try ConfigDecoder(root).decode(ExperimentConfig.self)
        if config.train.epochs != nil {
            // Epochs are passes over the training set: its size turns them into iterations.
            let samples = try dataset("train").count
            config.train.resolveEpochs(trainingSamples: samples)
        }
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

    /// A split's dataset node decoded through `DatasetRegistry.standard` (strict keys, located
    /// errors), with its tree and key path for locating what opening it reports.
    public func datasetConfig(_ split: String) throws -> (config: any DatasetConfig, node: ConfigNode, path: [String]) {
        guard let s = split == "train" ? config.data.train : config.data.val else {
            throw ConfigError(.missingKey, at: root["data"]?.location, keyPath: "data.\(split)", message: "there is no '\(split)' data section")
        }
        let path = ["data", split, "dataset"]
        let config = try ConfigDecoder(s.dataset, at: path).with { try DatasetRegistry.standard.build(from: $0) }
        return (config, s.dataset, path)
    }

    /// Builds a split's dataset (its files are opened and paired here).
    public func dataset(_ split: String) throws -> Dataset {
        let (config, node, path) = try datasetConfig(split)
        return try Self.open(config, node: node, path: path)
    }

    /// `config.make()` with a `DataError` turned into a config error at the key it is about:
    /// the option a layout does not take, else `root` (the files under it).
    static func open(_ config: any DatasetConfig, node: ConfigNode, path: [String]) throws -> Dataset {
        do {
            return try config.make()
        } catch let e as DataError {
            throw located(e, node: node, path: path)
        }
    }

    static func located(_ e: DataError, node: ConfigNode, path: [String]) -> ConfigError {
        var key = "root"
        if case .invalidOption(_, let option, _, _) = e { key = option }
        return ConfigError(.file, at: node[key]?.location ?? node.location, keyPath: (path + [key]).joined(separator: "."), message: e.message)
    }
}
