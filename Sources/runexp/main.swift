import ArgumentParser
import Experiments
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

// `runexp`: the command line over the Experiments module. Each subcommand parses, calls the
// library, and turns errors into one clear message on stderr and an exit code.

struct RunExp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runexp",
        abstract: "Train, evaluate and inspect ViTLab experiments described in YAML.",
        discussion: "Start with: runexp run experiments/quickstart.yaml   (docs/getting-started.md)",
        version: ViTLabVersion.string,
        subcommands: [Run.self, Eval.self, Info.self, Validate.self, List.self, Sweep.self, Table.self])
}

/// Options every subcommand that reads an experiment shares.
struct ExperimentOptions: ParsableArguments {
    @Argument(help: "The experiment file (YAML).")
    var experiment: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config value, e.g. --set train.iterations=200 (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Option(help: "Engine threads (default: VITLAB_THREADS, else OMP_NUM_THREADS, else all cores).")
    var threads: Int?

    func load() throws -> Experiment {
        if let threads {
            guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads)") }
            Engine.threads = threads
        }
        return try Experiment.load(file: experiment, overrides: overrides)
    }
}

/// A command-level failure with its message (exit 1).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`; a failure prints `error: <message>` on stderr and exits with the error's code.
func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let e as ValidationError {
        throw e
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("error: \(error)\n".utf8))
        throw ExitCode((error as? RunError)?.exitCode ?? 1)
    }
}

func quoted(_ s: String) -> String {
    s.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train an experiment (evaluating and checkpointing as its config says).")

    @OptionGroup var options: ExperimentOptions

    @Flag(help: "Continue from the run's last checkpoint (starts fresh when there is none).")
    var resume = false

    @Flag(help: "With --resume: continue even though the config changed (the differences are logged).")
    var acceptConfigChanges = false

    @Option(help: "The run directory (default: <output_dir>/<name> from the config).")
    var output: String?

    @Flag(help: "No console output (log.txt and metrics.h5 are still written).")
    var quiet = false

    func run() throws {
        try reporting {
            let e = try options.load()
            // Labels are decoded by `runexp validate`, not before every run.
            try Experiments.validate(e, options: .quick)
            // The command as the user typed it (.build/release/runexp, or runexp on PATH).
            var resumeCommand = [CommandLine.arguments[0], "run", options.experiment] + options.overrides.flatMap { ["--set", $0] }
            if let output { resumeCommand += ["--output", output] }
            if let t = options.threads { resumeCommand += ["--threads", String(t)] }
            let runOptions = RunOptions(directory: output.map { URL(fileURLWithPath: $0) }, resume: resume,
                                        resumeCommand: (resumeCommand + ["--resume"]).map(quoted).joined(separator: " "),
                                        acceptConfigChanges: acceptConfigChanges)
            let runner = try Runner(experiment: e, options: runOptions, hooks: [ConsoleReporter(echo: !quiet)])
            let summary = try runner.run()
            guard !quiet else { return }
            let dir = summary.directory
            print("""

            run:        \(dir.url.path)
            metrics:    \(dir.metrics.path)   (plot: python3 tools/plot_run.py \(dir.url.path))
            checkpoint: \(summary.lastCheckpoint?.path ?? "none")
            """)
            if let best = summary.best { print(String(format: "best:       %@ (%@ %.2f at iter %d)", dir.best.path, best.metric, best.value * 100, best.iteration)) }
            if let result = summary.lastEvaluation { print("\n" + result.table()) }
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Evaluate a checkpoint on the experiment's validation split.")

    @OptionGroup var options: ExperimentOptions

    @Option(help: "A checkpoint file, or 'last' / 'best' for the run's own.")
    var checkpoint = "last"

    @Option(help: "The run directory when --checkpoint is last/best (default: <output_dir>/<name>).")
    var output: String?

    @Option(help: "Save colourised predictions of the first N validation images.")
    var savePredictions = 0

    func run() throws {
        try reporting {
            let e = try options.load()
            try Experiments.validate(e, options: .quick)
            let run = RunDirectory(output.map { URL(fileURLWithPath: $0) }
                                   ?? URL(fileURLWithPath: e.config.outputDir).appendingPathComponent(e.config.name))
            let file: URL
            switch checkpoint {
            case "last":
                guard let last = try run.latestCheckpoint() else {
                    throw CommandError("\(run.url.path) has no checkpoint yet; train it with `runexp run \(options.experiment)` or pass --checkpoint FILE")
                }
                file = last
            case "best": file = run.best
            default: file = URL(fileURLWithPath: checkpoint)
            }
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw CommandError("no checkpoint at \(file.path)" + (checkpoint == "best" ? " (the run has not evaluated with checkpoint.keep_best yet)" : ""))
            }
            RandomGenerator.manualSeed(e.config.seed)
            let model = try e.buildModel()
            // A damaged or non-finite file is its own error; only a key/shape mismatch "does not fit".
            let state = try TrainingCheckpoint.readModel(from: file)
            do { try model.load(state: state) } catch {
                throw RunError.incompatibleCheckpoint(file: file.path, reason: "\(error)")
            }
            let evaluator = try Evaluator(experiment: e)
            // Predictions go beside the run the checkpoint belongs to: runs/x/predictions/iter_N/.
            let parent = file.deletingLastPathComponent()
            let runDir = parent.lastPathComponent == "checkpoints" ? parent.deletingLastPathComponent() : parent
            let predictions = RunDirectory(runDir).predictions.appendingPathComponent(file.deletingPathExtension().lastPathComponent)
            let interactive = isatty(STDOUT_FILENO) == 1
            print("evaluating \(file.path) on \(evaluator.imageCount) images")
            let result = try evaluator.evaluate(model, savePredictions: savePredictions, predictionDirectory: predictions) { done, total in
                if interactive { print("\r\u{1B}[2Kevaluating \(done)/\(total)", terminator: ""); fflush(stdout) }
            }
            if interactive { print("\r\u{1B}[2K", terminator: "") }
            print(result.table())
            // Kept beside the run (tables read these files, never this stdout).
            let files = EvaluationFiles(run: RunDirectory(runDir), checkpoint: file)
            let stem = file.deletingPathExtension().lastPathComponent
            try files.write(result, checkpoint: file, iteration: stem.hasPrefix("iter_") ? Int(stem.dropFirst(5)) : nil)
            print("\nresults: \(files.h5.path) (+ .json, _per_class.csv)")
            if savePredictions > 0 { print("\npredictions: \(predictions.path)  (NNNN_image.png, NNNN_pred.png, NNNN_label.png)") }
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the model summary: parameters, MACs, FLOPs and a per-module table.",
        discussion: "With --features: every tappable module path with its output shape at the input size (what distillation configs and feature taps name).")

    @OptionGroup var options: ExperimentOptions

    @Option(help: "Input size H or HxW (default: 512 for segmentors, 224 for classifiers).")
    var size: String?

    @Option(help: "Module tree depth of the table (with --features: default all).")
    var depth: Int?

    @Flag(help: "List every module path with its output shape instead of the cost table.")
    var features = false

    func run() throws {
        try reporting {
            let e = try options.load()
            RandomGenerator.manualSeed(e.config.seed)
            let model = try e.buildModel()
            let parts = try (size ?? (model.task == .segmentation ? "512" : "224")).split(separator: "x", omittingEmptySubsequences: false).map { s -> Int in
                guard let n = Int(s), n > 0 else { throw ValidationError("--size takes H or HxW with positive integers, got '\(size ?? "")'") }
                return n
            }
            guard parts.count == 1 || parts.count == 2 else { throw ValidationError("--size takes H or HxW, got '\(size ?? "")'") }
            let h = parts[0], w = parts.count == 2 ? parts[1] : parts[0]
            let image = Tensor.zeros([1, h, w, 3])
            print("\(e.config.name): \(type(of: model)) (\(model.task.rawValue), \(model.numClasses) classes), input 1x\(h)x\(w)x3 (NHWC)\n")
            if features {
                let depthLimit = depth ?? Int.max
                model.eval()
                let (_, recorder) = try FeatureTaps.record(model) { withNoGrad { model.measuredForward(image) } }
                let modules = model.namedModules().filter { !$0.0.isEmpty && $0.0.split(separator: ".").count <= depthLimit }
                let width = modules.map(\.0.count).max() ?? 0
                let typeWidth = modules.map { String(describing: type(of: $0.1)).count }.max() ?? 0
                for (path, module) in modules {
                    let shapes = recorder.outputs[path].map { $0.map { "\($0.shape)" }.joined(separator: ", ") } ?? "(not called in this pass)"
                    print(path.padding(toLength: width, withPad: " ", startingAt: 0) + "  "
                          + String(describing: type(of: module)).padding(toLength: typeWidth, withPad: " ", startingAt: 0) + "  " + shapes)
                }
                print("\nshapes are NHWC at batch 1; a path's output is what `distill` feature points and FeatureTaps.record read")
                return
            }
            let summary = ModelSummary.measure(model, depth: depth ?? 2) { withNoGrad { _ = model.measuredForward(image) } }
            print(summary.table())
        }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check experiment files (keys, types, registry names, files, value ranges) without running.")

    @Argument(help: "Experiment files.")
    var experiments: [String]

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config value (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    @Flag(help: "Skip decoding every label of the real datasets (the layout and class count are still checked).")
    var quick = false

    func run() throws {
        var failed = 0
        let interactive = isatty(STDOUT_FILENO) == 1
        for file in experiments {
            do {
                var shown = false
                let progress: ((String) -> Void)? = interactive ? { line in print("\r\u{1B}[2K" + line, terminator: ""); fflush(stdout); shown = true } : nil
                defer { if shown { print("\r\u{1B}[2K", terminator: ""); fflush(stdout) } }
                try Experiments.validate(try Experiment.load(file: file, overrides: overrides), options: ValidationOptions(decodeLabels: !quick, progress: progress))
                print("ok: \(file)")
            } catch {
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
                failed += 1
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List what the registries hold: models, backbones, heads, attentions, datasets, transforms, ...")

    @Argument(help: "Kinds to list (default: all).")
    var kinds: [String] = []

    func run() throws {
        let all = Catalog.kinds
        for kind in kinds where Catalog.names(of: kind) == nil {
            let hint = nearestName(to: kind, in: all.map(\.kind)).map { " (did you mean '\($0)'?)" } ?? ""
            FileHandle.standardError.write(Data("error: unknown kind '\(kind)'\(hint); kinds: \(all.map(\.kind).joined(separator: ", "))\n".utf8))
            throw ExitCode(1)
        }
        for (kind, names) in all where kinds.isEmpty || kinds.contains(kind) {
            print("\(kind): \(names.joined(separator: ", "))")
        }
    }
}

RunExp.main()
