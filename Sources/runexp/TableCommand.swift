import ArgumentParser
import Experiments
import Foundation

// `runexp table T.yaml`: a paper table side by side with ours (docs/tables.md). The library
// (Experiments/Tables) does the work; this command parses flags, prints or writes the table.

struct Table: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect (and with --run, first run) a paper table and print it beside the paper's values.",
        discussion: "Table specs live in experiments/<paper>/tables/; see docs/tables.md and docs/reproduction.md.")

    @Argument(help: "The table spec (YAML).")
    var spec: String

    @Option(help: "The profile the rows run at: paper (the experiments as written) or one the spec lists (proxy).")
    var profile = "paper"

    @Flag(name: .customLong("run"), help: "Run the rows' missing seeds first (resumable; finished runs are skipped).")
    var runMissing = false

    @Option(help: "With --run: seeds run at once within a row.")
    var jobs = 1

    @Option(help: "With --run: engine threads per run (default: cores / jobs).")
    var threads: Int?

    @Flag(help: "With --run: rerun runs that failed before.")
    var retryFailed = false

    @Option(help: "markdown, csv, latex or json.")
    var format = "markdown"

    @Option(help: "Write the table to this file instead of stdout.")
    var output: String?

    @Option(help: "The params/FLOPs cache (default: <output_dir>/cost_cache.json).")
    var costCache: String?

    func run() throws {
        guard let fmt = TableFormat(rawValue: format) else {
            throw ValidationError("--format must be one of \(TableFormat.allCases.map(\.rawValue).joined(separator: ", ")), got '\(format)'")
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        try reporting {
            let table = try TableSpec.load(file: spec)
            let plan = try TablePlan(spec: table, profile: profile)
            // Running needs every row's data; collecting only needs the configs and models.
            try plan.validate(full: runMissing)
            var failed = false
            if runMissing {
                // Progress goes to stderr so `--format json > t.json` stays clean.
                let options = SweepRunOptions(jobs: jobs, threads: threads, retryFailed: retryFailed,
                                              echo: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
                let reports = try TableRunner(plan: plan, options: options).run()
                failed = reports.contains { $0.report.exitCode != 0 }
            }
            let cacheURL = URL(fileURLWithPath: costCache ?? URL(fileURLWithPath: table.outputDir).appendingPathComponent("cost_cache.json").path)
            let result = try TableCollector(plan: plan, cost: TableCost(cacheFile: cacheURL)).collect()
            let text = TableRenderer.render(result, as: fmt)
            if let output {
                try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
                FileHandle.standardError.write(Data("table written to \(output)\n".utf8))
            } else {
                print(text, terminator: "")
            }
            if failed { throw CommandError("some runs failed; the table shows what finished (rerun with --retry-failed)") }
        }
    }
}
