import Foundation
import HDF5Store
import ModelZoo
import NeuralNet
import TensorEngine

/// `model.init` / `model.backbone.init` / `model.head.init`: initialise (part of) a freshly
/// built model from a checkpoint (mmengine's `load_from` / `init_cfg`, timm's
/// `checkpoint_path`). Distinct from `--resume`, which restores optimizer, schedule, RNG and
/// sampler and continues the same run.
///
/// ```yaml
/// model:
///   backbone:
///     init: {checkpoint: runs/seaformer_tiny_imagenet/best.h5, weights: ema, drop: ['^linear\.']}
/// ```
public struct ModelInitConfig: Decodable {
    /// A ViTLab checkpoint (`runexp run` output or `tools/convert_checkpoint.py` output).
    public var checkpoint: String
    /// `model` (default) or `ema`: which weights of the checkpoint to load.
    public var weights: Weights = .model
    /// Only checkpoint keys under this prefix are used, with it removed (`backbone.` to take a
    /// segmentor's backbone).
    public var prefix = ""
    /// Missing, unexpected or shape-mismatched keys are an error listing them all (default);
    /// with false, what matches is loaded and the report goes to log.txt and metrics.h5's `init_report`.
    public var strict = true
    /// Key rewrites applied to checkpoint keys first: `[{pattern: '^module\.', replacement: ''}]`.
    public var map: [KeyMapRule] = []
    /// Checkpoint keys to ignore (regular expressions), e.g. a classifier's `^linear\.`.
    public var drop: [String] = []
    /// Model keys to leave as initialised (regular expressions), e.g. `decode_head.conv_seg`.
    public var exclude: [String] = []

    public enum Weights: String, CaseIterable, Decodable { case model, ema }

    enum CodingKeys: String, CodingKey { case checkpoint, weights, prefix, strict, map, drop, exclude }
    enum RuleKeys: String, CodingKey { case pattern, replacement }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        checkpoint = try c.decode(String.self, forKey: .checkpoint)
        weights = try c.decode(.weights, default: weights)
        prefix = try c.decode(.prefix, default: prefix)
        strict = try c.decode(.strict, default: strict)
        drop = try c.decode(.drop, default: drop)
        exclude = try c.decode(.exclude, default: exclude)
        if c.contains(.map) {
            var list = try c.nestedUnkeyedContainer(forKey: .map)
            var i = 0
            while !list.isAtEnd {
                let r = try list.nestedContainer(keyedBy: RuleKeys.self)
                let pattern = try r.decode(String.self, forKey: .pattern)
                do { map.append(try KeyMapRule(pattern: pattern, replacement: try r.decode(.replacement, default: ""))) } catch {
                    throw ConfigValueError(path: c.codingPath + [CodingKeys.map, IndexKey(i), RuleKeys.pattern],
                                           message: "'\(pattern)' is not a valid regular expression")
                }
                i += 1
            }
        }
        for (key, list) in [(CodingKeys.drop, drop), (.exclude, exclude)] {
            for (i, p) in list.enumerated() where (try? NSRegularExpression(pattern: p)) == nil {
                throw ConfigValueError(path: c.codingPath + [key, IndexKey(i)], message: "'\(p)' is not a valid regular expression")
            }
        }
    }
}

/// One `init` section with where it sits: the module it loads into (`""` = the whole model).
struct ModelInitTarget {
    let module: String
    let config: ModelInitConfig
    let keyPath: [String]
}

/// What initialisation did, one line per target, for log.txt and the run's attributes.
public struct ModelInitReport: CustomStringConvertible {
    public var lines: [String] = []
    public var description: String { lines.joined(separator: "\n") }
}

extension Experiment {
    /// The parts of the model node that `init` sections may sit in, and the module each loads into.
    static let initSites: [(path: [String], module: String)] = [(["model"], ""), (["model", "backbone"], "backbone"), (["model", "head"], "decode_head")]

    /// The model node without its `init` sections (what the registry builders read) and the
    /// decoded sections.
    func splitInit() throws -> (ConfigNode, [ModelInitTarget]) {
        var model = config.model
        var targets: [ModelInitTarget] = []
        for site in Self.initSites {
            let rel = Array(site.path.dropFirst())
            guard let node = model.node(at: rel), let initNode = node["init"] else { continue }
            // `init: null` is no initialisation: a table profile uses it to train rows from scratch.
            if initNode.isNull {
                model = model.removing(key: "init", at: rel)
                continue
            }
            let path = site.path + ["init"]
            let decoded = try ConfigDecoder(initNode, at: path).decode(ModelInitConfig.self)
            targets.append(ModelInitTarget(module: site.module, config: decoded, keyPath: path))
            model = model.removing(key: "init", at: rel)
        }
        return (model, targets)
    }

    /// Loads every `init` section into `model` and returns the report. A strict section whose
    /// keys do not line up is a located config error listing them; nothing is loaded then.
    func initialise(_ model: any TaskModel, _ targets: [ModelInitTarget]) throws -> ModelInitReport {
        var report = ModelInitReport()
        for t in targets {
            let at = root.node(at: t.keyPath)?.location
            let where_ = t.keyPath.joined(separator: ".")
            guard let module = t.module.isEmpty ? model : model.namedModules().first(where: { $0.0 == t.module })?.1 else {
                throw ConfigError(.invalidValue, at: at, keyPath: where_, message: "this model has no '\(t.module)' to initialise")
            }
            let file = URL(fileURLWithPath: t.config.checkpoint)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw ConfigError(.file, at: root.node(at: t.keyPath + ["checkpoint"])?.location, keyPath: where_ + ".checkpoint",
                                  message: "no checkpoint at \(file.path)", remedy: "give a ViTLab checkpoint (runs/<name>/best.h5, checkpoints/iter_N.h5, or tools/convert_checkpoint.py output)")
            }
            let group = t.config.weights == .ema ? "ema" : "model"
            var state: [String: Tensor]
            do {
                let f = try HDF5File.open(file, mode: .readOnly)
                defer { try? f.close() }
                guard try f.exists(group) else {
                    throw ConfigError(.invalidValue, at: root.node(at: t.keyPath + ["weights"])?.location ?? at, keyPath: where_ + ".weights",
                                      message: "\(file.path) has no /\(group) weights" + (group == "ema" ? " (the run that wrote it had no train.ema)" : ""))
                }
                state = try TrainingCheckpoint.readTensors(under: group, in: f, verify: try f.hasAttribute("checksum"))
            } catch let e as ConfigError { throw e } catch {
                throw ConfigError(.file, at: at, keyPath: where_ + ".checkpoint", message: "cannot read \(file.path): \(error)")
            }
            let drops = t.config.drop.compactMap { try? NSRegularExpression(pattern: $0) }
            let dropped = state.keys.filter { k in drops.contains { $0.firstMatch(in: k, range: NSRange(k.startIndex..., in: k)) != nil } }
            for k in dropped { state.removeValue(forKey: k) }
            let loaded: StateLoadReport
            do {
                loaded = try module.load(state: state, prefix: t.config.prefix, strict: t.config.strict, map: t.config.map, exclude: t.config.exclude)
            } catch let e as StateLoadError {
                throw ConfigError(.invalidValue, at: at, keyPath: where_, message: "\(file.path) does not fit \(t.module.isEmpty ? "the model" : t.module): " + e.report.description.replacingOccurrences(of: "\n", with: "; "),
                                  remedy: "adjust prefix, map, drop or exclude, or set strict: false to load what matches")
            }
            let target = t.module.isEmpty ? "model" : t.module
            var line = "init \(target) from \(file.path) (\(group)): " + loaded.description.replacingOccurrences(of: "\n", with: "; ")
            if !dropped.isEmpty { line += "; dropped \(dropped.count) checkpoint keys" }
            report.lines.append(line)
        }
        return report
    }
}

extension ConfigNode {
    /// This tree with `key` removed from the mapping at `path`.
    func removing(key: String, at path: [String]) -> ConfigNode {
        var copy = self
        guard let entries = copy.entries else { return copy }
        if path.isEmpty {
            copy.value = .mapping(entries.filter { $0.key != key })
            return copy
        }
        copy.value = .mapping(entries.map { e in
            var e = e
            if e.key == path[0] { e.value = e.value.removing(key: key, at: Array(path.dropFirst())) }
            return e
        })
        return copy
    }
}
