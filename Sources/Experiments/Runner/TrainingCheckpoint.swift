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
///     attributes on /: iter, seed, threads, version, git, config, created, best_*, checksum
///     attribute crc32 (int64) on every dataset: the CRC-32 of its raw bytes
///
/// HDF5 checksums its own metadata but not raw data, so every dataset carries the CRC-32 of
/// its bytes and `read` verifies them: a flipped bit is an error naming the tensor, never a
/// silently different model.
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
    /// False for a file without `/optimizer` (a model-only file): it cannot be resumed.
    public var hasOptimizerState = true

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
            try writeChecked(f, rng.map { Int64(bitPattern: $0) }, shape: [rng.count], at: "rng/global")
            try writeChecked(f, [Int64(sampler.epoch)], shape: [], at: "sampler/epoch")
            try writeChecked(f, [Int64(sampler.index)], shape: [], at: "sampler/index")
            try writeChecked(f, logWindow, shape: [logWindow.count], at: "log_window/loss")
            for (name, values) in termWindows { try writeChecked(f, values, shape: [values.count], at: "log_window/" + name) }
            try f.setAttribute("checksum", checkpointChecksumName)
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

    /// Reads a checkpoint written by `write(to:)`, verifying every dataset's CRC-32 and that
    /// model and optimizer tensors are finite. Failures are `CheckpointError`s naming the file
    /// and tensor. A checkpoint without `/optimizer` reads with an empty optimizer state (the
    /// runner refuses to resume from it).
    public static func read(from url: URL) throws -> TrainingCheckpoint {
        do {
            let f = try HDF5File.open(url, mode: .readOnly)
            defer { try? f.close() }
            let verify = try f.hasAttribute("checksum")
            let rng = try readChecked(f, Int64.self, at: "rng/global", verify: verify).map { UInt64(bitPattern: $0) }
            func scalar(_ path: String) throws -> Int {
                let v = try readChecked(f, Int64.self, at: path, verify: verify)
                guard v.count == 1 else { throw CheckpointError.unreadable(file: url.path, reason: "\(path) holds \(v.count) values, not one") }
                return Int(v[0])
            }
            var c = TrainingCheckpoint(
                iteration: Int(try f.attribute("iter", as: Int64.self)),
                model: try readTensors(under: "model", in: f, verify: verify),
                optimizer: try f.exists("optimizer") ? readTensors(under: "optimizer", in: f, verify: verify) : [:],
                rng: rng,
                sampler: SamplerState(epoch: try scalar("sampler/epoch"), index: try scalar("sampler/index")),
                logWindow: try readChecked(f, Float.self, at: "log_window/loss", verify: verify),
                seed: UInt64(bitPattern: try f.attribute("seed", as: Int64.self)),
                threads: Int(try f.attribute("threads", as: Int64.self)),
                config: try f.stringAttribute("config"),
                best: nil)
            for name in try f.children("log_window") where name != "loss" {
                c.termWindows[name] = try readChecked(f, Float.self, at: "log_window/" + name, verify: verify)
            }
            c.version = try f.stringAttribute("version")
            c.git = try f.stringAttribute("git")
            c.hasOptimizerState = try f.exists("optimizer")
            if try f.hasAttribute("best_metric") {
                c.best = BestScore(metric: try f.stringAttribute("best_metric"), value: try f.attribute("best_value", as: Double.self),
                                   iteration: Int(try f.attribute("best_iter", as: Int64.self)))
            }
            return c
        } catch let e as CheckpointError {
            throw e.located(in: url)
        } catch let e as HDF5Error {
            throw CheckpointError.unreadable(file: url.path, reason: e.description)
        }
    }

    /// Only the model tensors of a checkpoint (for evaluation and fine-tuning): also accepts a
    /// file holding just a `/model` group, such as a converted official checkpoint (those carry
    /// no checksums; ViTLab's own files are verified).
    public static func readModel(from url: URL) throws -> [String: Tensor] {
        do {
            let f = try HDF5File.open(url, mode: .readOnly)
            defer { try? f.close() }
            return try readTensors(under: "model", in: f, verify: try f.hasAttribute("checksum"))
        } catch let e as CheckpointError {
            throw e.located(in: url)
        }
    }

    static func writeTensors(_ tensors: [String: Tensor], under root: String, in f: HDF5File) throws {
        try f.createGroup(root)
        for (key, t) in tensors.sorted(by: { $0.key < $1.key }) {
            try writeChecked(f, t.toArray(), shape: t.shape, at: root + "/" + HDF5Path.fromDotted(key))
        }
    }

    /// Every dataset below `root`, keyed by its dotted path relative to `root`, checksums
    /// verified when `verify` and values checked to be finite.
    static func readTensors(under root: String, in f: HDF5File, verify: Bool) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        func walk(_ path: String, _ dotted: [String]) throws {
            for child in try f.children(path) {
                let p = path + "/" + child
                switch try f.kind(of: p) {
                case .group: try walk(p, dotted + [child])
                case .dataset:
                    let shape = try f.shape(at: p)
                    let values = try readChecked(f, Float.self, at: p, verify: verify)
                    let name = root + "." + (dotted + [child]).joined(separator: ".")
                    let bad = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
                    if bad > 0 { throw CheckpointError.nonFinite(file: "", tensor: name, count: bad, total: values.count) }
                    out[(dotted + [child]).joined(separator: ".")] = Tensor(values, shape: shape)
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
