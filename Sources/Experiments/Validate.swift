import DataPipeline
import Foundation
import ModelZoo

/// Checks everything a run would trip over, without building anything heavy: every key known,
/// every type right, every registry name registered, every file there, every value in range.
/// Meant for `runexp validate` and for CI over all experiment files; `_base_` files and types
/// were already checked by loading. The model is built by the registry builders `run` uses
/// (a few MB of parameters; no forward pass); transforms are built too.
public func validate(_ experiment: Experiment, options: ValidationOptions = ValidationOptions()) throws {
    try ExperimentValidator(experiment, options: options).run()
}

struct ExperimentValidator {
    let e: Experiment
    let options: ValidationOptions
    var c: ExperimentConfig { e.config }

    init(_ e: Experiment, options: ValidationOptions = ValidationOptions()) { self.e = e; self.options = options }

    func fail(_ path: [String], _ message: String, remedy: String? = nil) -> ConfigError {
        var p = path
        var loc: SourceLocation?
        while loc == nil && !p.isEmpty {
            loc = e.root.node(at: p)?.location
            if loc == nil { p.removeLast() }
        }
        return ConfigError(.invalidValue, at: loc ?? e.root.location, keyPath: path.joined(separator: "."), message: message, remedy: remedy)
    }

    func require(_ ok: Bool, _ path: [String], _ message: @autoclosure () -> String) throws {
        if !ok { throw fail(path, message()) }
    }

    /// Runs every check and reports all problems found (one error, or `ValidationErrors`).
    func run() throws {
        var errors: [Error] = []
        func collect(_ body: () throws -> Void) { do { try body() } catch { errors.append(error) } }
        var modelInfo: (numClasses: Int?, segmentation: Bool) = (nil, true)
        collect { modelInfo = try checkModel() }
        collect { try checkData(numClasses: modelInfo.numClasses) }
        errors += checkDatasets(numClasses: modelInfo.numClasses)
        collect { try checkTrain() }
        collect { try checkFinite() }
        collect { try checkEval(segmentation: modelInfo.segmentation) }
        collect { try checkMemory() }
        if errors.count == 1 { throw errors[0] }
        if errors.count > 1 { throw ValidationErrors(errors: errors) }
    }

    // MARK: model

    /// Builds the model with the same builders `run` uses (so a config that validates builds;
    /// every failure is a located config error) and returns what the other checks need.
    func checkModel() throws -> (numClasses: Int?, segmentation: Bool) {
        // Loading the `init` checkpoints too: a missing file or keys that do not fit fail here.
        let (model, _) = try e.buildInitialisedModel()
        return (model.task == .segmentation ? model.numClasses : nil, model.task == .segmentation)
    }

    // MARK: data

    func checkData(numClasses: Int?) throws {
        try checkSplit("train", c.data.train, numClasses: numClasses)
        if let val = c.data.val { try checkSplit("val", val, numClasses: numClasses) }
        if let b = c.data.train.batchSize, b != c.train.batchSize, e.root.node(at: ["train", "batch_size"]) != nil {
            throw fail(["data", "train", "batch_size"], "is \(b) but train.batch_size is \(c.train.batchSize)", remedy: "set the training batch in one place")
        }
    }

    func checkSplit(_ split: String, _ s: DataSplitConfig, numClasses: Int?) throws {
        let base = ["data", split]
        if let b = s.batchSize { try require(b >= 1, base + ["batch_size"], "must be at least 1, got \(b)") }
        try require(s.workers >= 0, base + ["workers"], "must be ≥ 0, got \(s.workers)")
        let (dataset, node, path) = try e.datasetConfig(split)
        if let sc = dataset as? SyntheticDataset.Config {
            if let n = numClasses, sc.task == .segmentation, n != sc.numClasses {
                throw fail(path + ["num_classes"], "the synthetic dataset has \(sc.numClasses) classes but model.num_classes is \(n)",
                           remedy: "make them equal")
            }
        } else if let root = dataset.root {
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir) || !isDir.boolValue {
                // The loader fails fast on a missing root, with the expected layout in its message.
                _ = try Experiment.open(dataset, node: node, path: path)
            }
        }
        if s.pipeline != nil { _ = try e.pipeline(split) }
    }

    // MARK: train

    func checkTrain() throws {
        let t = c.train, p = ["train"]
        try require(t.iterations > 0, p + ["iterations"], "must be > 0, got \(t.iterations)")
        try require(t.batchSize >= 1, p + ["batch_size"], "must be at least 1, got \(t.batchSize)")
        try require(t.logInterval >= 1, p + ["log_interval"], "must be at least 1, got \(t.logInterval)")
        if let g = t.gradClip { try require(g > 0, p + ["grad_clip", "max_norm"], "must be > 0, got \(g)") }
        let o = t.optimizer, op = p + ["optimizer"]
        try require(o.lr >= 0, op + ["lr"], "must be ≥ 0, got \(o.lr)")
        try require(o.weightDecay >= 0, op + ["weight_decay"], "must be ≥ 0, got \(o.weightDecay)")
        let s = t.schedule, sp = p + ["schedule"]
        for problem in s.settings.problems(lr: o.lr, iterations: t.iterations) {
            try require(false, sp + [problem.key], problem.message)
        }
        try require(s.warmup.iterations >= 0 && s.warmup.iterations < t.iterations, sp + ["warmup", "iterations"],
                    "must be in 0..<\(t.iterations) (train.iterations), got \(s.warmup.iterations)")
        try require(s.warmup.ratio > 0 && s.warmup.ratio <= 1, sp + ["warmup", "ratio"], "must be in (0, 1], got \(s.warmup.ratio)")
    }

    // MARK: eval, checkpoint

    func checkEval(segmentation: Bool) throws {
        let v = c.eval, p = ["eval"]
        if let i = v.interval { try require(i >= 1, p + ["interval"], "must be at least 1, got \(i)") }
        if let crop = v.crop, let stride = v.stride {
            try require(stride.height <= crop.height && stride.width <= crop.width, p + ["stride"],
                        "must not exceed the crop \(crop) (windows would skip pixels), got \(stride)")
        }
        let task: ModelTask = segmentation ? .segmentation : .classification
        let metrics = v.metrics ?? MetricRegistry.scoring(task).defaultMetrics
        try require(!metrics.isEmpty, p + ["metrics"], "needs at least one metric")
        let allowed = MetricRegistry.names(for: task)
        if let bad = metrics.first(where: { !allowed.contains($0) }) {
            throw fail(p + ["metrics"], "'\(bad)' is not a \(task.rawValue) metric", remedy: "use \(allowed.joined(separator: ", "))")
        }
        let k = c.checkpoint, kp = ["checkpoint"]
        if let i = k.interval { try require(i >= 1, kp + ["interval"], "must be at least 1, got \(i)") }
        try require(k.keepLast >= 1, kp + ["keep_last"], "must be at least 1, got \(k.keepLast)")
        if let best = k.keepBest {
            let isEMA = best.hasPrefix(MetricsLog.emaPrefix)
            let base = isEMA ? String(best.dropFirst(MetricsLog.emaPrefix.count)) : best
            try require(metrics.contains(base), kp + ["keep_best"], "'\(base)' is not among eval.metrics \(metrics)")
            if isEMA { try require(c.train.ema != nil, kp + ["keep_best"], "'\(best)' scores the EMA weights, but train.ema is not set") }
            try require(c.data.val != nil, kp + ["keep_best"], "needs a data.val section to evaluate on")
        }
    }
}
