import ArgumentParser
import Experiments
import Foundation

// `runexp sweep plan|run|status|submit`: sweeps over one experiment (docs/sweeps.md). The library
// (Experiments/Sweep) does the work; these commands parse flags, print, and map outcomes to
// exit codes.

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan, run, inspect and submit sweeps (grids, zips, explicit runs, seeds) of an experiment.",
        discussion: "A sweep file names a base experiment and the values to vary; see docs/sweeps.md.",
        subcommands: [SweepPlanCommand.self, SweepRunCommand.self, SweepStatusCommand.self, SweepSubmitCommand.self])
}

/// The sweep file and `--set` overrides of its own keys (`--set seeds=[0]`, `--set base=x.yaml`).
struct SweepFileOptions: ParsableArguments {
    @Argument(help: "The sweep file (YAML).")
    var sweep: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a key of the sweep file, e.g. --set seeds=[0] (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    func load() throws -> SweepPlan { try SweepPlan.load(file: sweep, overrides: overrides) }
}

struct SweepPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan",
        abstract: "Expand and validate the sweep and write its manifest (index, name, overrides, run directory, status).")

    @OptionGroup var file: SweepFileOptions

    @Flag(help: "Accept a sweep file change that moves or removes points that already have a status (statuses follow run names).")
    var acceptChanges = false

    func run() throws {
        try reporting {
            let plan = try file.load()
            try plan.validate()
            let store = ManifestStore(plan.manifestURL)
            let manifest = try store.update { m -> SweepManifest in
                m = try SweepManifest.reconcile(plan: plan, with: m, acceptChanges: acceptChanges)
                return m!
            }
            print("sweep \(plan.sweep.name): \(plan.points.count) point\(plan.points.count == 1 ? "" : "s") of \(plan.sweep.base.path)")
            print("manifest: \(plan.manifestURL.path)")
            let width = plan.points.map(\.name.count).max() ?? 4
            for (p, e) in zip(plan.points, manifest.points) {
                let values = p.assignments.map(\.override).joined(separator: " ")
                print("\(String(p.index).padding(toLength: 5, withPad: " ", startingAt: 0))\(p.name.padding(toLength: width + 2, withPad: " ", startingAt: 0))\(e.status.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0))\(values)")
            }
        }
    }
}

/// `--index 3 --index 0-2,5`.
func parseIndices(_ specs: [String]) throws -> [Int] {
    var out: [Int] = []
    for spec in specs {
        for part in spec.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let lo = Int(bounds[0]), let hi = Int(bounds.last!), lo >= 0, lo <= hi else {
                throw ValidationError("--index takes indices and ranges such as 3 or 0-2,5; got '\(spec)'")
            }
            out += Array(lo...hi)
        }
    }
    var seen = Set<Int>()
    return out.filter { seen.insert($0).inserted }
}

struct SweepRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run",
        abstract: "Run points on this machine, each as its own `runexp run` process (idempotent: done points are skipped, interrupted ones resume).")

    @OptionGroup var file: SweepFileOptions

    @Option(name: .customLong("index"), help: ArgumentHelp("Run only these points: an index or ranges like 0-2,5 (repeatable).", valueName: "I"))
    var indices: [String] = []

    @Flag(help: "Run every point (the default when no --index is given).")
    var all = false

    @Option(help: "Points run at once (parallel processes).")
    var jobs = 1

    @Option(help: "Engine threads per point (default: cores / jobs; SLURM_CPUS_PER_TASK under Slurm).")
    var threads: Int?

    @Flag(help: "Run points that failed before (otherwise they are reported and skipped).")
    var retryFailed = false

    func validate() throws {
        if all && !indices.isEmpty { throw ValidationError("give --all or --index, not both") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1, got \(jobs)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        var code: Int32 = 0
        try reporting {
            let plan = try file.load()
            let selected = indices.isEmpty ? nil : try parseIndices(indices)
            let runner = SweepRunner(plan: plan, options: SweepRunOptions(indices: selected, jobs: jobs, threads: threads, retryFailed: retryFailed))
            code = try runner.run().exitCode
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct SweepStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status",
        abstract: "Show each point: done / running / failed / interrupted / pending, progress, times and errors.")

    @OptionGroup var file: SweepFileOptions

    func run() throws {
        try reporting {
            print(try SweepStatusTable(plan: try file.load()).text(), terminator: "")
        }
    }
}

struct SweepSubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "submit",
        abstract: "Submit the points that are not done as one Slurm job array (task N runs `runexp sweep run FILE --index N`).")

    @OptionGroup var file: SweepFileOptions

    @Flag(help: "Submit to Slurm with sbatch (the only scheduler so far).")
    var slurm = false

    @Option(help: "sbatch --partition.")
    var partition: String?

    @Option(help: "sbatch --time per task (e.g. 30, 4:00:00, 1-00).")
    var time: String?

    @Option(help: "sbatch --cpus-per-task; also the engine threads of each point.")
    var cpusPerTask = 1

    @Option(help: "Array tasks running at once (--array=…%K).")
    var maxParallel: Int?

    @Option(help: "Seconds before the time limit at which a task checkpoints and requeues itself (--signal=B:USR1@S).")
    var signalGrace = 60

    @Option(name: .customLong("sbatch-arg"), help: ArgumentHelp("An extra sbatch directive, e.g. --sbatch-arg=--account=proj (repeatable).", valueName: "arg"))
    var sbatchArgs: [String] = []

    @Flag(help: "Include points that failed before (their tasks run with --retry-failed).")
    var retryFailed = false

    @Flag(help: "Write the batch script but do not submit it.")
    var dryRun = false

    func validate() throws {
        if !slurm { throw ValidationError("say where to submit: --slurm (the only scheduler so far); `runexp sweep run` runs locally") }
        if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1, got \(cpusPerTask)") }
        if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1, got \(maxParallel)") }
        if signalGrace < 1 { throw ValidationError("--signal-grace must be at least 1 second, got \(signalGrace)") }
    }

    func run() throws {
        try reporting {
            let plan = try file.load()
            var options = SlurmSubmission.Options()
            options.partition = partition; options.time = time; options.cpusPerTask = cpusPerTask
            options.maxParallel = maxParallel; options.signalGrace = signalGrace; options.retryFailed = retryFailed
            options.extra = sbatchArgs
            let submission = SlurmSubmission(plan: plan, options: options, sweepOverrides: file.overrides)
            let result = try submission.run(submit: !dryRun)
            guard !result.indices.isEmpty else {
                print("sweep \(plan.sweep.name): nothing to submit (every point is done\(retryFailed ? "" : " or failed; --retry-failed includes failed ones"))")
                return
            }
            let array = submission.arraySpec(result.indices)
            if let job = result.jobId {
                print("submitted job array \(job) (--array=\(array), \(result.indices.count) task\(result.indices.count == 1 ? "" : "s"))")
                print("script:   \(result.script.path)")
                print("output:   \(submission.slurmDirectory.path)/\(job)_<index>.out")
                print("progress: runexp sweep status \(file.sweep)   (squeue -j \(job))")
            } else {
                print("wrote \(result.script.path) (--array=\(array)); submit it with: sbatch \(result.script.path)")
            }
        }
    }
}
