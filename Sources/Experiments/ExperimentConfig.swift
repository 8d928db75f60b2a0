import DataPipeline
import Foundation

// The experiment schema. Every default is written next to its field; docs/config-reference.md
// lists the same keys. Sections decode with the strict ConfigDecoder, so a key that is not
// read here is an error, and the struct inits only read keys and check types — value ranges
// and cross-section consistency are `ExperimentConfig.check()`'s (called by `validate`).

/// The root of an experiment file.
public struct ExperimentConfig: Decodable {
    /// Run name; the run directory is `<output_dir>/<name>`. Required.
    public var name: String
    /// Seeds parameter init, data order and augmentation. Default 0.
    public var seed: UInt64 = 0
    /// Parent of run directories. Default "runs".
    public var outputDir = "runs"
    /// The `model:` node, kept as a tree: it is built by `ModelRegistry.models`, whose
    /// builders read their own configs. Required.
    public var model: ConfigNode
    public var data: DataConfig
    public var train: TrainConfig
    /// Default: evaluate at the end of training with the task's metrics.
    public var eval = EvalConfig()
    public var checkpoint = CheckpointConfig()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, seed, outputDir = "output_dir", model, data, train, eval, checkpoint, distill
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if c.contains(.distill) {
            let node = try c.decode(ConfigNode.self, forKey: .distill)
            throw ConfigError(.unsupported, at: node.location, keyPath: "distill",
                              message: "distillation arrives with the KD work; this build cannot run a 'distill' section",
                              remedy: "remove the section (or train the student alone)")
        }
        name = try c.decode(String.self, forKey: .name)
        if let problem = runNameProblem(name) { throw ConfigValueError(keyPath: "name", message: problem) }
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        outputDir = try c.decodeIfPresent(String.self, forKey: .outputDir) ?? outputDir
        if outputDir.isEmpty { throw ConfigValueError(keyPath: "output_dir", message: "must not be empty (default: runs)") }
        model = try c.decode(ConfigNode.self, forKey: .model)
        data = try c.decode(DataConfig.self, forKey: .data)
        train = try c.decode(TrainConfig.self, forKey: .train)
        eval = try c.decodeIfPresent(EvalConfig.self, forKey: .eval) ?? eval
        checkpoint = try c.decodeIfPresent(CheckpointConfig.self, forKey: .checkpoint) ?? checkpoint
    }
}

// MARK: - data

/// `data: {train: {...}, val: {...}}`.
public struct DataConfig: Decodable {
    public var train: DataSplitConfig
    /// Optional: without it there is no evaluation.
    public var val: DataSplitConfig?

    enum CodingKeys: String, CodingKey { case train, val }
}

/// One split: where samples come from, how they are transformed, how they are batched.
public struct DataSplitConfig: Decodable {
    /// `{type: synthetic, ...}` or `{type: <DatasetRegistry type>, root, split, ...}`; kept as a
    /// tree because synthetic and real datasets read different keys.
    public var dataset: ConfigNode
    /// Transform nodes, `[{type: random_resize, ...}, ...]`; kept as a tree and built by
    /// `TransformRegistry.standard` (validate builds them: transforms are cheap). Default [].
    public var pipeline: ConfigNode?
    /// Samples per batch. Train split: defaults to `train.batch_size` (setting both to different
    /// values is an error). Val split: default 1 (whole images differ in size).
    public var batchSize: Int?
    /// Loader worker threads. Default 2 (the machine has 2 cores).
    public var workers = 2

    enum CodingKeys: String, CodingKey { case dataset, pipeline, batchSize = "batch_size", workers }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataset = try c.decode(ConfigNode.self, forKey: .dataset)
        pipeline = try c.decodeIfPresent(ConfigNode.self, forKey: .pipeline)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize)
        workers = try c.decodeIfPresent(Int.self, forKey: .workers) ?? workers
        guard (0...maximumLoaderWorkers).contains(workers) else {
            throw ConfigValueError(keyPath: pathString(c.codingPath + [CodingKeys.workers]),
                                  message: "must be in 0…\(maximumLoaderWorkers) (4 threads per core of the \(ProcessInfo.processInfo.activeProcessorCount) here, at least 8), got \(workers)")
        }
    }
}

/// A real dataset node: `{type: ade20k, root: data/ade/ADEChallengeData2016, split: training, ...}`.
/// Relative roots are relative to the working directory (where runs are started), as in mmseg.
public struct RealDatasetConfig: Decodable {
    public var type: String
    public var root: String
    /// The split's directory/list name in the dataset's own layout (ADE20K: training|validation).
    public var split: String
    /// The `DatasetOptions` fields, same names.
    public var numClasses: Int?
    public var conditions: [String]?
    public var splitFile: String?
    /// Default false.
    public var classesFromFolders = false
    /// Default "val_labels.txt".
    public var valLabelFile = "val_labels.txt"
    /// Default: `datasets/` of the repository.
    public var metadataDir: String?

    enum CodingKeys: String, CodingKey {
        case type, root, split, numClasses = "num_classes", conditions, splitFile = "split_file"
        case classesFromFolders = "classes_from_folders", valLabelFile = "val_label_file", metadataDir = "metadata_dir"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        root = try c.decode(String.self, forKey: .root)
        split = try c.decode(String.self, forKey: .split)
        numClasses = try c.decodeIfPresent(Int.self, forKey: .numClasses)
        conditions = try c.decodeIfPresent([String].self, forKey: .conditions)
        splitFile = try c.decodeIfPresent(String.self, forKey: .splitFile)
        classesFromFolders = try c.decodeIfPresent(Bool.self, forKey: .classesFromFolders) ?? classesFromFolders
        valLabelFile = try c.decodeIfPresent(String.self, forKey: .valLabelFile) ?? valLabelFile
        metadataDir = try c.decodeIfPresent(String.self, forKey: .metadataDir)
    }

    public var options: DatasetOptions {
        DatasetOptions(numClasses: numClasses, conditions: conditions, splitFile: splitFile.map { URL(fileURLWithPath: $0) },
                       classesFromFolders: classesFromFolders, valLabelFile: valLabelFile,
                       metadataDirectory: metadataDir.map { URL(fileURLWithPath: $0) })
    }
}

// MARK: - train

public struct TrainConfig: Decodable {
    /// Optimizer steps. Required, > 0.
    public var iterations: Int
    /// Training batch. Default 8, ≥ 1.
    public var batchSize = 8
    public var optimizer: OptimizerConfig
    /// Default: poly, power 1, no warm-up.
    public var schedule = ScheduleConfig()
    /// Clip the global gradient norm to this value; null (default) = no clipping.
    public var gradClip: Float?
    /// Iterations between log lines / metric rows. Default 50.
    public var logInterval = 50

    enum CodingKeys: String, CodingKey { case iterations, batchSize = "batch_size", optimizer, schedule, gradClip = "grad_clip", logInterval = "log_interval" }
    enum ClipKeys: String, CodingKey { case maxNorm = "max_norm" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iterations = try c.decode(Int.self, forKey: .iterations)
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        optimizer = try c.decode(OptimizerConfig.self, forKey: .optimizer)
        schedule = try c.decodeIfPresent(ScheduleConfig.self, forKey: .schedule) ?? schedule
        // `grad_clip: {max_norm: 1.0}` (mmseg's spelling) or `grad_clip: null`.
        if try c.contains(.gradClip) && !c.decodeNil(forKey: .gradClip) {
            gradClip = try c.nestedContainer(keyedBy: ClipKeys.self, forKey: .gradClip).decode(Float.self, forKey: .maxNorm)
        }
        logInterval = try c.decodeIfPresent(Int.self, forKey: .logInterval) ?? logInterval
    }
}

public enum OptimizerType: String, CaseIterable, Decodable { case sgd, adam, adamw }

/// `{type: adamw, lr: 3e-4, weight_decay: 0.01, betas: [0.9, 0.999], paramwise: [...]}`.
public struct OptimizerConfig: Decodable {
    public var type: OptimizerType
    /// Base learning rate. Required, ≥ 0.
    public var lr: Float
    /// Default: 0.01 for adamw, 0 for adam and sgd.
    public var weightDecay: Float
    /// sgd only. Default 0.9.
    public var momentum: Float = 0.9
    /// adam/adamw only. Default [0.9, 0.999].
    public var betas: [Float] = [0.9, 0.999]
    /// adam/adamw only. Default 1e-8.
    public var eps: Float = 1e-8
    /// Per-parameter multipliers: the first rule whose `key` is a substring of a parameter's
    /// name applies (mmseg's paramwise_cfg.custom_keys). Default [].
    public var paramwise: [ParamRuleConfig] = []

    enum CodingKeys: String, CodingKey { case type, lr, weightDecay = "weight_decay", momentum, betas, eps, paramwise }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(OptimizerType.self, forKey: .type)
        lr = try c.decode(Float.self, forKey: .lr)
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? (type == .adamw ? 0.01 : 0)
        // Keys of the other optimizers are not asked for, so the strict check rejects them
        // (momentum on adamw is a recipe mistake, not a no-op).
        if type == .sgd {
            momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? momentum
        } else {
            betas = try c.decodeIfPresent([Float].self, forKey: .betas) ?? betas
            eps = try c.decodeIfPresent(Float.self, forKey: .eps) ?? eps
        }
        paramwise = try c.decodeIfPresent([ParamRuleConfig].self, forKey: .paramwise) ?? []
    }
}

/// `{key: decode_head, lr_mult: 10, decay_mult: 1}`.
public struct ParamRuleConfig: Decodable, Equatable {
    public var key: String
    /// Default 1.
    public var lrMult: Float = 1
    /// Default 1.
    public var decayMult: Float = 1

    enum CodingKeys: String, CodingKey { case key, lrMult = "lr_mult", decayMult = "decay_mult" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        lrMult = try c.decodeIfPresent(Float.self, forKey: .lrMult) ?? 1
        decayMult = try c.decodeIfPresent(Float.self, forKey: .decayMult) ?? 1
    }
}

public enum ScheduleType: String, CaseIterable, Decodable { case poly, cosine, step }

/// `{type: poly, power: 1.0, min_lr: 0, warmup: {iterations: 1500, ratio: 1e-6}}`.
public struct ScheduleConfig: Decodable {
    /// Default poly.
    public var type: ScheduleType = .poly
    /// poly only. Default 1.0.
    public var power: Float = 1
    /// poly/cosine. Default 0.
    public var minLR: Float = 0
    /// step only: iterations at which lr is multiplied by `gamma`. Required for step, ascending.
    public var milestones: [Int] = []
    /// step only. Default 0.1.
    public var gamma: Float = 0.1
    /// Default: none.
    public var warmup = WarmupConfig()

    public init() {}

    enum CodingKeys: String, CodingKey { case type, power, minLR = "min_lr", milestones, gamma, warmup }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(ScheduleType.self, forKey: .type) ?? .poly
        switch type {
        case .poly:
            power = try c.decodeIfPresent(Float.self, forKey: .power) ?? power
            minLR = try c.decodeIfPresent(Float.self, forKey: .minLR) ?? minLR
        case .cosine:
            minLR = try c.decodeIfPresent(Float.self, forKey: .minLR) ?? minLR
        case .step:
            milestones = try c.decode([Int].self, forKey: .milestones)
            gamma = try c.decodeIfPresent(Float.self, forKey: .gamma) ?? gamma
        }
        warmup = try c.decodeIfPresent(WarmupConfig.self, forKey: .warmup) ?? warmup
    }
}

/// Linear warm-up from `ratio · lr` to the scheduled lr over `iterations` (mmseg's LinearLR).
public struct WarmupConfig: Decodable {
    /// Default 0 (no warm-up).
    public var iterations = 0
    /// Default 1e-6.
    public var ratio: Float = 1e-6

    public init() {}
    enum CodingKeys: String, CodingKey { case iterations, ratio }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iterations = try c.decodeIfPresent(Int.self, forKey: .iterations) ?? 0
        ratio = try c.decodeIfPresent(Float.self, forKey: .ratio) ?? ratio
    }
}

// MARK: - eval, checkpoint

public enum EvalMode: String, CaseIterable, Decodable { case whole, slide }

public struct EvalConfig: Decodable {
    /// Iterations between evaluations; nil (default) = only after the last iteration.
    public var interval: Int?
    /// Default whole.
    public var mode: EvalMode = .whole
    /// slide only, required there: window size, an integer or [h, w].
    public var crop: SizeHW?
    /// slide only, required there: window step.
    public var stride: SizeHW?
    /// Names from `MetricRegistry` valid for the model's task (checked by `validate`, which
    /// builds the model). Default: the task's defaults ([mIoU]; [top1, top5] for classifiers).
    public var metrics: [String]?

    public init() {}
    enum CodingKeys: String, CodingKey { case interval, mode, crop, stride, metrics }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interval = try c.decodeIfPresent(Int.self, forKey: .interval)
        mode = try c.decodeIfPresent(EvalMode.self, forKey: .mode) ?? .whole
        if mode == .slide {
            crop = try c.decode(SizeHW.self, forKey: .crop)
            stride = try c.decode(SizeHW.self, forKey: .stride)
        }
        metrics = try c.decodeIfPresent([String].self, forKey: .metrics)
        for (i, name) in (metrics ?? []).enumerated() where MetricRegistry.definition(name) == nil {
            throw ConfigValueError(path: c.codingPath + [CodingKeys.metrics, IndexKey(i)], message: "unknown metric '\(name)'",
                                   suggestion: nearestName(to: name, in: MetricRegistry.names))
        }
    }
}

public struct CheckpointConfig: Decodable {
    /// Iterations between checkpoints; nil (default) = the eval interval (or only at the end).
    public var interval: Int?
    /// Periodic checkpoints kept on disk. Default 2.
    public var keepLast = 2
    /// Also keep the checkpoint with the best value of this metric (one of eval.metrics);
    /// null (default) = none.
    public var keepBest: String?

    public init() {}
    enum CodingKeys: String, CodingKey { case interval, keepLast = "keep_last", keepBest = "keep_best" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        interval = try c.decodeIfPresent(Int.self, forKey: .interval)
        keepLast = try c.decodeIfPresent(Int.self, forKey: .keepLast) ?? keepLast
        keepBest = try c.decodeIfPresent(String.self, forKey: .keepBest)
        if let name = keepBest, MetricRegistry.definition(name) == nil {
            throw c.error(.keepBest, "unknown metric '\(name)'", suggestion: nearestName(to: name, in: MetricRegistry.names))
        }
    }
}

/// A list position in a coding path (error locations inside lists).
struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ i: Int) { stringValue = "\(i)"; intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.init(intValue) }
}
