import DataPipeline
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// How `Runner` is asked to run.
public struct RunOptions {
    /// The run directory; default `<output_dir>/<name>` from the config.
    public var directory: URL?
    /// Continue from `last_checkpoint` (a fresh start when the directory has none).
    public var resume = false
    /// Shown when the run is interrupted: the command that continues it.
    public var resumeCommand: String?
    /// Stop after this many iterations in this process (the run's total is unchanged): for
    /// splitting a run across jobs, and for tests of resume.
    public var stopAfter: Int?
    /// Resume even though the config differs from the run's `config.yaml` (e.g. a lower lr after
    /// a divergence). The differences are logged and config.yaml is replaced; the result is then
    /// no longer what an uninterrupted run would give.
    public var acceptConfigChanges = false

    public init(directory: URL? = nil, resume: Bool = false, resumeCommand: String? = nil, stopAfter: Int? = nil,
                acceptConfigChanges: Bool = false) {
        self.directory = directory; self.resume = resume; self.resumeCommand = resumeCommand; self.stopAfter = stopAfter
        self.acceptConfigChanges = acceptConfigChanges
    }
}

/// What a finished (or stopped) run produced.
public struct RunSummary {
    public var directory: RunDirectory
    public var iteration: Int
    public var total: Int
    /// The last evaluation of this process (nil when none ran).
    public var lastEvaluation: EvaluationResult?
    public var lastCheckpoint: URL?
    public var best: BestScore?
    public var metrics: MetricsLog
}

/// The iteration-based training loop (mmengine's IterBasedTrainLoop + its checkpoint, logger
/// and evaluation hooks, in one place): builds the model, optimizer, schedule and loader from
/// an experiment; trains; evaluates every `eval.interval`; checkpoints every
/// `checkpoint.interval`; resumes exactly; stops cleanly on SIGINT/SIGTERM and on a
/// non-finite loss.
///
/// Exact resume: a checkpoint holds the model, the optimizer state, the global random stream
/// (dropout, drop path), the sampler position (augmentations are seeded per sample, so
/// no data is replayed) and the unfinished log window. With the same thread count, a resumed
/// run computes the same losses bit for bit as an uninterrupted one.
public final class Runner {
    public let experiment: Experiment
    public let directory: RunDirectory
    public let model: any TaskModel
    public let optimizer: Optimizer
    public let schedule: LRSchedule
    public let options: RunOptions
    public var hooks: [RunnerHook]
    /// Iterations completed.
    public private(set) var iteration = 0
    public var total: Int { experiment.config.train.iterations }
    public private(set) var metrics: MetricsLog
    public private(set) var best: BestScore?
    public private(set) var lastCheckpoint: URL?
    /// The checkpoint this run resumed from, if any.
    public private(set) var resumedFrom: URL?

    private var sampler = SamplerState()
    private var logWindow: [Float] = []
    private var termWindows: [String: [Float]] = [:]
    private var windowImages = 0
    private var windowSeconds = 0.0
    private var evaluator: Evaluator?
    private var lastEvaluation: EvaluationResult?
    private let configText: String
    /// This process's exclusive claim on the run directory, held until `run()` returns.
    private var lock: RunLock?
    /// Whether metrics.h5 was written by this process (so a vanished file is noticed).
    var metricsWritten = false

    /// Prepares everything that can fail before training: the run directory (writable, room
    /// for checkpoints), the model and optimizer, and, with `resume`, the checkpoint.
    public init(experiment: Experiment, options: RunOptions = RunOptions(), hooks: [RunnerHook] = []) throws {
        self.experiment = experiment
        self.options = options
        self.hooks = hooks
        let c = experiment.config
        let runDirectory = RunDirectory(options.directory ?? URL(fileURLWithPath: c.outputDir).appendingPathComponent(c.name))
        directory = runDirectory
        // The lock comes first, before the (slow) model build: a second writer fails at once,
        // and everything below reads or cleans files another writer could be changing.
        try runDirectory.makeDirectories(runDirectory.url)
        lock = try RunLock(directory: runDirectory)
        configText = try experiment.resolvedYAML()
        metrics = MetricsLog(runName: c.name)

        RandomGenerator.manualSeed(c.seed)
        model = try experiment.buildModel()
        try Self.freeze(c.train.freeze, in: model, experiment: experiment)
        model.train()
        optimizer = c.train.optimizer.make(for: model)
        if let e = c.train.ema { ema = ModelEMA(model, decay: e.decay) }
        if c.train.mixing != nil && model.task != .classification {
            throw ConfigError(.invalidValue, at: experiment.root.node(at: ["train", "mixing"])?.location, keyPath: "train.mixing",
                              message: "label smoothing, mixup and cutmix apply to image classifiers; this model does \(model.task.rawValue)")
        }
        schedule = c.train.schedule.make(baseLR: c.train.optimizer.lr, iterations: c.train.iterations)

        let debris = directory.removeDebris()
        if !debris.isEmpty {
            pendingNotes.append("removed \(debris.count) temporary file(s) left by an interrupted write: \(debris.joined(separator: ", "))")
        }
        if !options.resume, let existing = try directory.latestCheckpoint() {
            throw RunError.runExists(path: directory.url.path, checkpoint: "checkpoints/" + existing.lastPathComponent)
        }
        let parameterFloats = model.namedParameters().reduce(0) { $0 + $1.1.count }
        let stateFloats = model.stateDict().values.reduce(0) { $0 + $1.count }
        let bytes = Int64(4 * (stateFloats + parameterFloats * c.train.optimizer.stateTensorsPerParameter)) + (1 << 20)
        // keep_last periodic files, best.h5, and the next one being written beside them; a
        // resumed run's checkpoints on disk already hold part of that room.
        try directory.prepare(checkpointBytes: bytes, copies: c.checkpoint.keepLast + (c.checkpoint.keepBest != nil ? 2 : 1),
                              existingBytes: options.resume ? directory.existingCheckpointBytes() : 0)
        if options.resume, let point = try directory.resumePoint(total: c.train.iterations) {
            try restore(from: point)
        } else {
            // `init` sections load only into a fresh run: a resumed one has its own weights.
            let report = try experiment.initialise(model, try experiment.splitInit().1)
            pendingNotes.append(contentsOf: report.lines)
            initReport = report.lines
            metrics.initReport = report.lines
        }
        if c.data.val != nil {
            let evaluator = try Evaluator(experiment: experiment)
            // Caught here, before training, not at the first evaluation hours later.
            if model.task == .segmentation && evaluator.classNames.count != model.numClasses {
                throw ConfigError(.invalidValue, at: experiment.root.node(at: ["model", "num_classes"])?.location, keyPath: "model.num_classes",
                                  message: "is \(model.numClasses) but the validation dataset has \(evaluator.classNames.count) classes",
                                  remedy: "set model.num_classes to \(evaluator.classNames.count)")
            }
            self.evaluator = evaluator
        }
    }

    /// Loads a checkpoint of this run after checking that the config is the one it started with.
    /// The reference is the config stored INSIDE the checkpoint, not config.yaml: that file can
    /// be deleted or edited, and a resume must never silently continue under another config.
    private func restore(from point: ResumePoint) throws {
        let file = point.file, checkpoint = point.checkpoint
        pendingNotes.append(contentsOf: point.notes)
        if checkpoint.config != configText {
            let old: ConfigNode
            do { old = try ConfigLoader.load(yaml: checkpoint.config, name: file.path + " (config attribute)") } catch {
                throw CheckpointError.unreadableConfig(file: file.path, reason: "\(error)")
            }
            let differences = configDifferences(old: old, new: experiment.root)
            if !differences.isEmpty {
                guard options.acceptConfigChanges else { throw RunError.configChanged(run: directory.url.path, differences: differences) }
                pendingNotes.append("resuming with a changed config (--accept-config-changes):\n  " + differences.joined(separator: "\n  "))
                configChangeAccepted = true
            }
        }
        if !configChangeAccepted, (try? String(contentsOf: directory.config, encoding: .utf8)) != checkpoint.config {
            let state = FileManager.default.fileExists(atPath: directory.config.path) ? "differs from" : "is missing; it should hold"
            pendingNotes.append("warning: \(directory.config.path) \(state) the config recorded in \(file.lastPathComponent); rewriting it from the checkpoint")
            configFileNeedsRewrite = true
        }
        do {
            try model.load(state: checkpoint.model)
            try optimizer.load(state: checkpoint.optimizer)
            if let e = experiment.config.train.ema {
                guard let saved = checkpoint.ema else {
                    throw RunError.incompatibleCheckpoint(file: file.path, reason: "the config keeps a model EMA (train.ema) but the checkpoint has no /ema weights")
                }
                ema = ModelEMA(decay: e.decay, state: saved)
            }
        } catch {
            throw RunError.incompatibleCheckpoint(file: file.path, reason: "\(error)")
        }
        iteration = checkpoint.iteration
        RandomGenerator.global.state = checkpoint.rng
        sampler = checkpoint.sampler
        logWindow = checkpoint.logWindow
        termWindows = checkpoint.termWindows
        best = checkpoint.best
        lastCheckpoint = file
        resumedFrom = file
        if FileManager.default.fileExists(atPath: directory.metrics.path) {
            metrics = try MetricsLog.read(from: directory.metrics)
            metrics.drop(after: iteration)
        }
        if checkpoint.threads != Engine.threads {
            pendingNotes.append("warning: the checkpoint was written with \(checkpoint.threads) threads and this process uses \(Engine.threads); results will differ from an uninterrupted run in the last bits")
        }
    }
    private var pendingNotes: [String] = []
    /// The model EMA (`train.ema`), updated after every optimizer step.
    public private(set) var ema: ModelEMA?
    /// A second instance of the model that evaluations load the EMA weights into.
    private var emaModel: (any TaskModel)?
    /// What `init` sections loaded (log.txt and every checkpoint's `init` attribute).
    public private(set) var initReport: [String] = []
    private var configChangeAccepted = false
    private var configFileNeedsRewrite = false

    /// Trains to `train.iterations` (or `stopAfter`), evaluating and checkpointing on the way.
    /// Throws `RunError.interrupted` after a SIGINT/SIGTERM (with a checkpoint written) and
    /// `RunError.nonFinite` when the loss diverges (no checkpoint written).
    @discardableResult
    public func run() throws -> RunSummary {
        StopSignal.install()
        defer { StopSignal.uninstall(); lock?.release(); lock = nil }
        do {
            try train()
            hooks.forEach { $0.afterRun(self, error: nil) }
        } catch {
            hooks.forEach { $0.afterRun(self, error: error) }
            throw error
        }
        return RunSummary(directory: directory, iteration: iteration, total: total, lastEvaluation: lastEvaluation,
                          lastCheckpoint: lastCheckpoint, best: best, metrics: metrics)
    }

    private func train() throws {
        let c = experiment.config
        // A fresh start (even in a directory whose earlier attempt stopped before its first
        // checkpoint) records its own config; a resumed run keeps the one it started with.
        if resumedFrom == nil || configChangeAccepted || configFileNeedsRewrite { try writeAtomically(configText, to: directory.config) }
        hooks.forEach { $0.beforeRun(self) }
        if let from = resumedFrom { note("resumed from \(from.path) at iteration \(iteration)/\(total)") }
        else if options.resume { note("--resume: no checkpoint in \(directory.url.path); starting from iteration 0") }
        pendingNotes.forEach(note)
        guard iteration < total else {
            note("the run is already complete (\(iteration)/\(total) iterations)")
            return
        }
        let loader = try DataLoader(dataset: experiment.dataset("train"), transform: experiment.pipeline("train"),
                                    options: .init(batchSize: experiment.trainBatchSize, workers: c.data.train.workers, seed: c.seed),
                                    resumeFrom: sampler)
        defer { loader.shutdown() }
        let trained = optimizer.parameters.map(\.tensor)
        let stopAt = options.stopAfter.map { min(total, iteration + $0) } ?? total
        var lastTick = Date()

        while iteration < stopAt {
            let lr = Double(schedule.lr(at: iteration))
            optimizer.lr = Float(lr)
            guard let batch = try nextBatch(loader) else { preconditionFailure("an iteration-based loader never ends") }
            let terms = try lossTerms(batch, iteration: iteration)
            let loss = terms.total
            let value = loss.item()
            let termValues = terms.map { (name: $0.name, value: $0.weighted.item()) }
            guard value.isFinite else {
                throw RunError.nonFinite(what: "loss is \(value)", iteration: iteration + 1, lr: lr, lastCheckpoint: lastCheckpoint?.path)
            }
            optimizer.zeroGrad()
            loss.backward()
            if let maxNorm = c.train.gradClip {
                let norm = clipGradNorm(trained, maxNorm: maxNorm)
                guard norm.isFinite else {
                    optimizer.zeroGrad()
                    throw RunError.nonFinite(what: "gradient norm is \(norm)", iteration: iteration + 1, lr: lr, lastCheckpoint: lastCheckpoint?.path)
                }
            } else if let bad = firstNonFiniteGradient() {
                // Without clipping there is no norm to look at; a NaN gradient would otherwise
                // reach the weights silently (a weight only padding ever meets keeps the loss finite).
                optimizer.zeroGrad()
                throw RunError.nonFinite(what: "gradient of \(bad) is not finite", iteration: iteration + 1, lr: lr, lastCheckpoint: lastCheckpoint?.path)
            }
            optimizer.step()
            ema?.update(from: model)
            optimizer.zeroGrad()
            iteration += 1
            sampler = loader.samplerState

            let now = Date()
            let seconds = now.timeIntervalSince(lastTick)
            lastTick = now
            logWindow.append(value)
            for t in termValues { termWindows[t.name, default: []].append(t.value) }
            windowImages += batch.indices.count
            windowSeconds += seconds
            let record = IterationRecord(iteration: iteration, total: total, loss: value, terms: termValues, lr: lr, images: batch.indices.count, seconds: seconds)
            hooks.forEach { $0.afterIteration(self, record) }

            if iteration % c.train.logInterval == 0 || iteration == total { try logRow(lr: lr) }
            var improved = false
            if evaluator != nil, (c.eval.interval.map { iteration % $0 == 0 } ?? false) || iteration == total {
                improved = try evaluateSavingProgress()
            }
            let checkpointInterval = c.checkpoint.interval ?? c.eval.interval
            let stopping = StopSignal.pending != nil || iteration == stopAt
            if (checkpointInterval.map { iteration % $0 == 0 } ?? false) || stopping || improved {
                let state = checkpointState()
                if (checkpointInterval.map { iteration % $0 == 0 } ?? false) || stopping { try writeCheckpoint(state) }
                if improved { try state.write(to: directory.best) }
            }
            if let signal = StopSignal.pending {
                throw RunError.interrupted(signal: signal, iteration: iteration, total: total, checkpoint: lastCheckpoint?.path ?? "?",
                                           resume: resumeCommand)
            }
            lastTick = Date()  // evaluation and checkpoint time is not training throughput
        }
    }

    /// The first trained parameter whose gradient holds a NaN or an infinity (one pass over the
    /// gradients, a few milliseconds next to a training step).
    private func firstNonFiniteGradient() -> String? {
        for p in optimizer.parameters {
            guard let g = p.tensor.grad else { continue }
            let finite = g.withUnsafeBufferPointer { b -> Bool in
                var sum: Float = 0
                for v in b { sum += v * 0 }  // NaN·0 and ∞·0 are NaN; finite values add 0
                return sum == 0
            }
            if !finite { return p.name }
        }
        return nil
    }

    /// The named loss terms of a batch (the model's `losses`; their weighted sum is trained).
    private func lossTerms(_ batch: Batch, iteration: Int) throws -> [LossTerm] {
        guard let labels = batch.labels else {
            throw RunError.incompatibleCheckpoint(file: batch.sources.first ?? "?", reason: "training samples carry no labels")
        }
        if let mixing = experiment.config.train.mixing {
            // Drawn from (seed, iteration), not the global stream: a resumed run mixes the same
            // way without checkpointing another generator.
            let random = RandomGenerator(seed: DataSeed.combine(experiment.config.seed, 0x6d69_7875_70, UInt64(iteration)))
            let mixed = mixing.mix.apply(images: batch.images, labels: labels, numClasses: model.numClasses, random: random)
            return model.losses(images: mixed.images, labels: mixed.targets)
        }
        return model.losses(images: batch.images, labels: labels)
    }

    /// `train.freeze`: each path's parameters stop training and its batch norms stay in eval
    /// mode (mmseg's `frozen_stages` + `norm_eval`); an unknown path is a located error.
    static func freeze(_ paths: [String], in model: Module, experiment: Experiment) throws {
        let modules = Dictionary(model.namedModules().map { ($0.0, $0.1) }, uniquingKeysWith: { a, _ in a })
        for (i, path) in paths.enumerated() {
            guard let m = modules[path] else {
                throw ConfigError(.invalidValue, at: experiment.root.node(at: ["train", "freeze", "\(i)"])?.location, keyPath: "train.freeze.\(i)",
                                  message: "no module '\(path)' in this model", suggestion: nearestName(to: path, in: Array(modules.keys)),
                                  remedy: "runexp info EXPERIMENT --features lists every module path")
            }
            m.freeze()
            m.pinEvalMode()
        }
    }

    private func logRow(lr: Double) throws {
        guard !logWindow.isEmpty else { return }
        func mean(_ xs: [Float]) -> Float { Float(xs.reduce(0.0) { $0 + Double($1) } / Double(xs.count)) }
        var losses = termWindows.filter { !$0.value.isEmpty }.mapValues(mean)
        losses[MetricsLog.totalLoss] = mean(logWindow)
        let row = MetricsLog.TrainRow(iteration: iteration, losses: losses, lr: lr,
                                      throughput: windowSeconds > 0 ? Float(Double(windowImages) / windowSeconds) : 0)
        metrics.train.append(row)
        try writeMetrics()
        logWindow.removeAll()
        termWindows.removeAll()
        windowImages = 0
        windowSeconds = 0
        hooks.forEach { $0.afterLogRow(self, row) }
    }

    /// Evaluates, records the result, and says whether the `keep_best` metric improved.
    func evaluate() throws -> Bool {
        guard let evaluator else { return false }
        hooks.forEach { $0.beforeEvaluation(self) }
        let result = try evaluator.evaluate(model) { done, total in self.hooks.forEach { $0.evaluationProgress(self, done: done, total: total) } }
        lastEvaluation = result
        if !result.perClass.isEmpty { metrics.classNames = result.classNames }
        var values = result.metrics
        if let ema {
            // The averaged weights are scored beside the raw ones, as `ema_<metric>`.
            let averaged = try emaModel ?? {
                // Building draws from the global stream; restore it so training is unchanged.
                let saved = RandomGenerator.global.state
                defer { RandomGenerator.global.state = saved }
                let m = try experiment.buildModel()
                try Self.freeze(experiment.config.train.freeze, in: m, experiment: experiment)
                return m
            }()
            emaModel = averaged
            try averaged.load(state: ema.state)
            let emaResult = try evaluator.evaluate(averaged)
            for (k, v) in emaResult.metrics { values[MetricsLog.emaPrefix + k] = v }
            note("eval (EMA weights): " + emaResult.summary())
        }
        metrics.val.append(MetricsLog.ValRow(iteration: iteration, metrics: values,
                                             perClass: result.perClass.mapValues { $0.map { Float($0) } }))
        try writeMetrics()
        hooks.forEach { $0.afterEvaluation(self, result) }
        guard let key = experiment.config.checkpoint.keepBest, let value = values[key], !value.isNaN else { return false }
        if let b = best, b.value >= value { return false }
        best = BestScore(metric: key, value: value, iteration: iteration)
        return true
    }

    func checkpointState() -> TrainingCheckpoint {
        TrainingCheckpoint(iteration: iteration, model: model.stateDict(), optimizer: optimizer.stateDict(), rng: RandomGenerator.global.state,
                           sampler: sampler, logWindow: logWindow, termWindows: termWindows, seed: experiment.config.seed, threads: Engine.threads,
                           config: configText, best: best, ema: ema?.state)
    }

    /// Writes `iter_N.h5`, points `last_checkpoint` at it, then removes periodic checkpoints
    /// beyond `keep_last` (oldest first; never the one just written).
    func writeCheckpoint(_ state: TrainingCheckpoint) throws {
        let file = directory.checkpoint(iteration: iteration)
        try state.write(to: file)
        try directory.setLastCheckpoint(file)
        lastCheckpoint = file
        let keep = experiment.config.checkpoint.keepLast
        let all = directory.periodicCheckpoints()
        for old in all.dropLast(keep) where old.url != file { try? FileManager.default.removeItem(at: old.url) }
        hooks.forEach { $0.afterCheckpoint(self, file) }
    }

    func note(_ message: String) { hooks.forEach { $0.note(self, message) } }

    /// The command that continues this run, for messages.
    var resumeCommand: String { options.resumeCommand ?? "runexp run \(experiment.root.location.file) --resume" }
}

/// The settings that differ between two configs, one line per key path:
/// `train.optimizer.lr: 1.0e-3 → 0.5` (`(absent)` for keys only one side has).
func configDifferences(old: ConfigNode, new: ConfigNode) -> [String] {
    let a = old.leaves(), b = new.leaves()
    let before = Dictionary(a, uniquingKeysWith: { x, _ in x }), after = Dictionary(b, uniquingKeysWith: { x, _ in x })
    var lines: [String] = []
    for (path, value) in a where after[path] != value { lines.append("\(path): \(value) → \(after[path] ?? "(absent)")") }
    for (path, value) in b where before[path] == nil { lines.append("\(path): (absent) → \(value)") }
    return lines
}

extension ConfigNode {
    /// Every scalar with its dotted key path (list items by index), in document order.
    func leaves(prefix: String = "") -> [(String, String)] {
        switch value {
        case .scalar(let s, _): return [(prefix, isNull ? "null" : s)]
        case .sequence(let items):
            return items.isEmpty ? [(prefix, "[]")] : items.enumerated().flatMap { $1.leaves(prefix: prefix + "[\($0)]") }
        case .mapping(let entries):
            return entries.isEmpty ? [(prefix, "{}")] : entries.flatMap { $0.value.leaves(prefix: prefix.isEmpty ? $0.key : prefix + "." + $0.key) }
        }
    }
}
