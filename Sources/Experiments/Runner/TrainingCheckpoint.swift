import DataPipeline
import Foundation
import HDF5Store
import TensorEngine

/// Everything a run needs to continue exactly where it stopped: the model's parameters and
/// buffers, the optimizer's per-parameter state, the random stream, the sampler position and
/// the loss values of the log window in progress. The schedule needs no state of its own: it is
/// a function of `iteration`. Layout (docs/hdf5-layout.md):
///
///     /model/<dotted path as groups>            float32, the tensor's shape
///     /optimizer/<parameter path>/<state>       float32 (exp_avg, exp_avg_sq, momentum_buffer, step)
///     /rng/global                               int64 [2]: seed, offset (bit patterns of UInt64)
///     /sampler/epoch, /sampler/index            int64 scalars
///     /log_window/loss                          float32 [k]: total losses since the last metrics row
///     /log_window/<term>                        float32 [k]: each weighted loss term (loss_ce, …) likewise
///     attributes on /: iter, seed, threads, version, git, config, created, best_*
public struct TrainingCheckpoint {
    /// Optimizer steps completed.
    public var iteration: Int
    public var model: [String: Tensor]
    public var optimizer: [String: Tensor]
    /// `RandomGenerator.global.state` after `iteration` steps.
    public var rng: [UInt64]
    public var sampler: SamplerState
    public var logWindow: [Float]
    /// The same window per named loss term.
    public var termWindows: [String: [Float]] = [:]
    public var seed: UInt64
    /// Engine threads of the run: results are bit-identical only at the same count.
    public var threads: Int
    /// The resolved config text (config.yaml of the run).
    public var config: String
    public var version = ViTLabVersion.string
    public var git = ViTLabVersion.gitDescription
    /// Best evaluation so far, for `keep_best`.
    public var best: BestScore?

    public init(iteration: Int, model: [String: Tensor], optimizer: [String: Tensor], rng: [UInt64], sampler: SamplerState,
                logWindow: [Float], termWindows: [String: [Float]] = [:], seed: UInt64, threads: Int, config: String, best: BestScore?) {
        self.iteration = iteration; self.model = model; self.optimizer = optimizer; self.rng = rng; self.sampler = sampler
        self.logWindow = logWindow; self.termWindows = termWindows; self.seed = seed; self.threads = threads; self.config = config; self.best = best
    }

    /// Writes the checkpoint atomically (temporary file, fsync, rename): a crash or a full disk
    /// leaves the previous file at `url` untouched.
    public func write(to url: URL) throws {
        try HDF5File.writeAtomically(to: url) { f in
            try Self.writeTensors(model, under: "model", in: f)
            try Self.writeTensors(optimizer, under: "optimizer", in: f)
            try f.write(rng.map { Int64(bitPattern: $0) }, shape: [rng.count], at: "rng/global")
            try f.write(Int64(sampler.epoch), at: "sampler/epoch")
            try f.write(Int64(sampler.index), at: "sampler/index")
            try f.write(logWindow, shape: [logWindow.count], at: "log_window/loss")
            for (name, values) in termWindows { try f.write(values, shape: [values.count], at: "log_window/" + name) }
            try f.setAttribute("iter", Int64(iteration))
            try f.setAttribute("seed", Int64(bitPattern: seed))
            try f.setAttribute("threads", Int64(threads))
            try f.setAttribute("version", version)
            try f.setAttribute("git", git)
            try f.setAttribute("config", config)
            try f.setAttribute("created", ISO8601DateFormatter().string(from: Date()))
            if let best {
                try f.setAttribute("best_metric", best.metric)
                try f.setAttribute("best_value", best.value)
                try f.setAttribute("best_iter", Int64(best.iteration))
            }
        }
    }

    /// Reads a checkpoint written by `write(to:)`.
    public static func read(from url: URL) throws -> TrainingCheckpoint {
        let f = try HDF5File.open(url, mode: .readOnly)
        defer { try? f.close() }
        let rng = try f.read(Int64.self, at: "rng/global").map { UInt64(bitPattern: $0) }
        var c = TrainingCheckpoint(
            iteration: Int(try f.attribute("iter", as: Int64.self)),
            model: try readTensors(under: "model", in: f),
            optimizer: try f.exists("optimizer") ? readTensors(under: "optimizer", in: f) : [:],
            rng: rng,
            sampler: SamplerState(epoch: Int(try f.readScalar(Int64.self, at: "sampler/epoch")),
                                  index: Int(try f.readScalar(Int64.self, at: "sampler/index"))),
            logWindow: try f.read(Float.self, at: "log_window/loss"),
            seed: UInt64(bitPattern: try f.attribute("seed", as: Int64.self)),
            threads: Int(try f.attribute("threads", as: Int64.self)),
            config: try f.stringAttribute("config"),
            best: nil)
        for name in try f.children("log_window") where name != "loss" { c.termWindows[name] = try f.read(Float.self, at: "log_window/" + name) }
        c.version = try f.stringAttribute("version")
        c.git = try f.stringAttribute("git")
        if try f.hasAttribute("best_metric") {
            c.best = BestScore(metric: try f.stringAttribute("best_metric"), value: try f.attribute("best_value", as: Double.self),
                               iteration: Int(try f.attribute("best_iter", as: Int64.self)))
        }
        return c
    }

    /// Only the model tensors of a checkpoint (for evaluation and fine-tuning): also accepts a
    /// file holding just a `/model` group, such as a converted official checkpoint.
    public static func readModel(from url: URL) throws -> [String: Tensor] {
        let f = try HDF5File.open(url, mode: .readOnly)
        defer { try? f.close() }
        return try readTensors(under: "model", in: f)
    }

    static func writeTensors(_ tensors: [String: Tensor], under root: String, in f: HDF5File) throws {
        try f.createGroup(root)
        for (key, t) in tensors.sorted(by: { $0.key < $1.key }) {
            try f.write(t.toArray(), shape: t.shape, at: root + "/" + HDF5Path.fromDotted(key))
        }
    }

    /// Every dataset below `root`, keyed by its dotted path relative to `root`.
    static func readTensors(under root: String, in f: HDF5File) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        func walk(_ path: String, _ dotted: [String]) throws {
            for child in try f.children(path) {
                let p = path + "/" + child
                switch try f.kind(of: p) {
                case .group: try walk(p, dotted + [child])
                case .dataset:
                    let shape = try f.shape(at: p)
                    out[(dotted + [child]).joined(separator: ".")] = Tensor(try f.read(Float.self, at: p), shape: shape)
                case nil: break
                }
            }
        }
        try walk(root, [])
        return out
    }
}

/// The best value of the `checkpoint.keep_best` metric so far and when it was reached.
public struct BestScore: Equatable {
    public var metric: String
    public var value: Double
    public var iteration: Int
    public init(metric: String, value: Double, iteration: Int) { self.metric = metric; self.value = value; self.iteration = iteration }
}
