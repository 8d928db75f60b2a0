import Foundation

/// `runexp table --run`: runs what a table is missing, row by row, through `SweepRunner`
/// (each row is a one-point-per-seed sweep, so finished seeds are skipped, interrupted ones
/// resume, failed ones rerun only with `retryFailed`).
public struct TableRunner {
    public let plan: TablePlan
    public let options: SweepRunOptions

    public init(plan: TablePlan, options: SweepRunOptions) {
        self.plan = plan; self.options = options
    }

    /// Runs every reproducible row; returns the rows' reports in order. Validates every row first,
    /// so a bad row fails before hours of training on the good ones.
    public func run() throws -> [(row: String, report: SweepRunReport)] {
        let rows = plan.spec.rows.filter(\.reproducible)
        let sweeps = try rows.map { row -> (TableRow, SweepPlan) in (row, try plan.sweep(of: row)) }
        for (_, s) in sweeps { _ = try s.validate(s.points) }
        var reports: [(row: String, report: SweepRunReport)] = []
        for (row, s) in sweeps {
            let report = try SweepRunner(plan: s, options: options).run()
            reports.append((row.id, report))
            if report.signal != nil { break }   // stopped by a signal: do not start the next row
        }
        return reports
    }
}
