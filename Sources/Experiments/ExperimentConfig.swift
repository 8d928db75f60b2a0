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
    /// `{type: synthetic, ...}` or `{type: ade20k, root, split, ...}`; kept as a tree and
    /// decoded by `DatasetRegistry.standard`, where each type reads its own keys.
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

// MARK: - train

public struct TrainConfig: Decodable {
    /// Optimizer steps. Required unless `epochs` is given (then derived: epochs × ⌊N / batch⌋,
    /// the last partial batch of an epoch dropped as timm's training loader does), > 0.
    public var iterations: Int
    /// Epoch-based schedules (ImageNet recipes): the run's length in passes over the training
    /// set; `iterations` and every `*_epochs` setting are converted with `iterationsPerEpoch`.
    public var epochs: Double?
    /// ⌊N / batch⌋ once `epochs` is resolved (nil for iteration-based runs).
    public var iterationsPerEpoch: Int?
    /// Training batch. Default 8, ≥ 1.
    public var batchSize = 8
    public var optimizer: OptimizerConfig
    /// Default: poly, power 1, no warm-up.
    public var schedule = ScheduleConfig()
    /// Clip the global gradient norm to this value; null (default) = no clipping.
    public var gradClip: Float?
    /// Iterations between log lines / metric rows. Default 50.
    public var logInterval = 50
    /// Module paths whose parameters are not trained and whose batch norms stay in eval mode
    /// (`[backbone.smb1, backbone.smb2]`). Default [].
    public var freeze: [String] = []
    /// Model EMA (`{decay: 0.9999}`): averaged weights updated after every step, checkpointed
    /// as `/ema` and evaluated beside the raw ones (`ema_<metric>`). Default: none.
    public var ema: EMAConfig?
    /// Classification targets: label smoothing, mixup and cutmix. Default: none.
    public var mixing: MixingConfig?

    enum CodingKeys: String, CodingKey {
        case iterations, epochs, batchSize = "batch_size", optimizer, schedule, gradClip = "grad_clip", logInterval = "log_interval"
        case freeze, ema, mixing
    }
    enum ClipKeys: String, CodingKey { case maxNorm = "max_norm" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        epochs = try c.decodeIfPresent(Double.self, forKey: .epochs)
        if let e = epochs {
            guard e > 0 && e.isFinite else { throw c.error(.epochs, "must be a positive number of epochs, got \(e)") }
            guard !c.contains(.iterations) else { throw c.error(.iterations, "give either train.iterations or train.epochs, not both") }
            iterations = 0  // resolved by `Experiment` from the training set's size
        } else {
            iterations = try c.decode(Int.self, forKey: .iterations)
        }
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? batchSize
        optimizer = try c.decode(OptimizerConfig.self, forKey: .optimizer)
        schedule = try c.decodeIfPresent(ScheduleConfig.self, forKey: .schedule) ?? schedule
        // `grad_clip: {max_norm: 1.0}` (mmseg's spelling) or `grad_clip: null`.
        if try c.contains(.gradClip) && !c.decodeNil(forKey: .gradClip) {
            gradClip = try c.nestedContainer(keyedBy: ClipKeys.self, forKey: .gradClip).decode(Float.self, forKey: .maxNorm)
        }
        logInterval = try c.decodeIfPresent(Int.self, forKey: .logInterval) ?? logInterval
        freeze = try c.decode(.freeze, default: freeze)
        ema = try c.decodeIfPresent(EMAConfig.self, forKey: .ema)
        mixing = try c.decodeIfPresent(MixingConfig.self, forKey: .mixing)
        if epochs == nil, let bad = schedule.epochSetting {
            throw ConfigValueError(path: c.codingPath + [CodingKeys.schedule] + bad, message: "is in epochs, so the run needs train.epochs (not train.iterations)")
        }
    }

    /// Converts the epoch-based settings once the training set's size is known.
    mutating func resolveEpochs(trainingSamples n: Int) {
        guard let e = epochs else { return }
        let perEpoch = Swift.max(1, n / batchSize)
        iterationsPerEpoch = perEpoch
        iterations = Swift.max(1, Int((e * Double(perEpoch)).rounded(.up)))
        schedule.resolveEpochs(iterationsPerEpoch: perEpoch, epochs: e, totalIterations: iterations)
    }
}

/// `ema: {decay: 0.9999}` (timm's `--model-ema-decay`).
public struct EMAConfig: Decodable {
    public var decay: Float
    enum CodingKeys: String, CodingKey { case decay }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        decay = try c.decode(.decay, default: Float(0.9998), in: Float(0)..<Float(1))
    }
}

/// `mixing: {label_smoothing: 0.1, mixup: 0.2, cutmix: 0.0, prob: 1.0, switch_prob: 0.5}`: the
/// targets of classification training (timm's `--smoothing`, `--mixup`, `--cutmix`,
/// `--mixup-prob`, `--mixup-switch-prob`); mixing needs an image classifier.
public struct MixingConfig: Decodable {
    public var mix: BatchMix
    enum CodingKeys: String, CodingKey { case labelSmoothing = "label_smoothing", mixup, cutmix, prob, switchProb = "switch_prob" }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mix = BatchMix(mixupAlpha: try c.decode(.mixup, default: 0.0, atLeast: 0.0),
                       cutmixAlpha: try c.decode(.cutmix, default: 0.0, atLeast: 0.0),
                       prob: try c.decode(.prob, default: 1.0, in: 0.0...1.0),
                       switchProb: try c.decode(.switchProb, default: 0.5, in: 0.0...1.0),
                       labelSmoothing: try c.decode(.labelSmoothing, default: 0.0, in: 0.0..<1.0))
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
        if let name = keepBest, MetricRegistry.definition(name.hasPrefix(MetricsLog.emaPrefix) ? String(name.dropFirst(MetricsLog.emaPrefix.count)) : name) == nil {
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
