import Foundation

/// `name:` becomes a directory under `output_dir`, so it must name exactly one new directory:
/// '' would put checkpoints into `runs/` itself (beside every other run's folders), `.` the
/// same, `..` the parent, and `a/b` a nested folder another run's name could collide with.
func runNameProblem(_ name: String) -> String? {
    if name.trimmingCharacters(in: .whitespaces).isEmpty { return "must not be empty: it names the run directory <output_dir>/<name>" }
    if name == "." || name == ".." { return "'\(name)' is not a directory name of its own: the run would write into \(name == "." ? "output_dir itself" : "the parent of output_dir")" }
    if name.contains("/") { return "'\(name)' contains '/': a run name is one directory name (use output_dir: for the parent folder)" }
    if name.contains("\0") { return "contains a NUL character" }
    return nil
}

/// The most loader threads a split may ask for. Each worker holds a batch in flight, and more
/// threads than a few per core only add memory and contention; a typo like `workers: 1000`
/// would start a thousand threads.
var maximumLoaderWorkers: Int { max(8, 4 * ProcessInfo.processInfo.activeProcessorCount) }
