import Foundation

/// Fills a table's cells from what runs wrote to disk: each run's metrics.h5 (the evaluations
/// during training; never stdout), the best or last evaluation as the spec says, mean ± std
/// over seeds; params and FLOPs from the row's model at the paper profile (the paper's numbers
/// are of the paper's model, whatever the profile trains).
public struct TableCollector {
    public let plan: TablePlan
    public let cost: TableCost
    public let throughput: TableThroughput

    public init(plan: TablePlan, cost: TableCost, throughput: TableThroughput = TableThroughput()) {
        self.plan = plan; self.cost = cost; self.throughput = throughput
    }

    /// One run's metric values (fractions) at the selected evaluation, nil when it has none yet.
    public static func evaluation(in runDirectory: URL, select: TableSpec.Selection, primary: [String]) throws -> [String: Double]? {
        let metrics = RunDirectory(runDirectory).metrics
        guard FileManager.default.fileExists(atPath: metrics.path) else { return nil }
        let log: MetricsLog
        do { log = try MetricsLog.read(from: metrics) } catch {
            throw TableError.metricsUnreadable(path: metrics.path, reason: "\(error)")
        }
        let rows = log.val.filter { !$0.metrics.isEmpty }
        guard let last = rows.last else { return nil }
        switch select {
        case .last: return last.metrics
        case .best:
            // "Best" is by the table's first metric the run recorded (mIoU for segmentation
            // tables), and every column reads that same evaluation, as checkpoint.keep_best does.
            guard let key = primary.first(where: { last.metrics[$0] != nil }) else { return last.metrics }
            return rows.max { ($0.metrics[key] ?? -.infinity) < ($1.metrics[key] ?? -.infinity) }!.metrics
        }
    }

    public func collect() throws -> TableResult {
        let spec = plan.spec
        let primary = spec.columns.compactMap { c -> String? in if case .metric(let n, _) = c.source { return n } else { return nil } }
        var rows: [TableResult.Row] = []
        for row in spec.rows {
            var cells: [String: TableCell] = [:]
            for c in spec.columns { cells[c.id] = TableCell(ours: nil, paper: row.paper[c.id], paperDigits: row.paperDigits[c.id]) }
            var note = row.reproducible ? nil : "not reproducible: \(row.reason ?? "")"
            if row.reproducible {
                let needsCost = spec.columns.contains { if case .cost = $0.source { return true } else { return false } }
                var task: String?
                if needsCost {
                    let paperExperiment = try TablePlan(spec: spec, profile: "paper").modelExperiment(of: row)
                    let c = try cost.cost(of: paperExperiment, inputSize: row.inputSize)
                    task = c.task
                    for col in spec.columns {
                        guard case .cost(let m) = col.source else { continue }
                        guard let n = c.value(of: m) else { continue }
                        cells[col.id]?.ours = TableAggregate([Double(n) * col.scale])
                    }
                }
                for col in spec.columns {
                    guard case .throughput(let p) = col.source else { continue }
                    let paperExperiment = try TablePlan(spec: spec, profile: "paper").modelExperiment(of: row)
                    cells[col.id]?.ours = TableAggregate([try throughput.imagesPerSecond(of: paperExperiment, protocol: p) * col.scale])
                }
                if let task {
                    let metricColumns = spec.columns.compactMap { c -> (String, String)? in
                        if case .metric(_, let t) = c.source { return (c.id, t.rawValue) } else { return nil }
                    }
                    if !metricColumns.isEmpty && !metricColumns.contains(where: { $0.1 == task }) {
                        throw TableError.metricNotProduced(id: row.id, location: row.location, task: task, columns: metricColumns.map(\.0))
                    }
                }
                var perSeed: [[String: Double]] = []
                for seed in spec.seeds {
                    if let e = try Self.evaluation(in: plan.runDirectory(row: row, seed: seed), select: spec.select, primary: primary) { perSeed.append(e) }
                }
                for col in spec.columns {
                    guard case .metric(let name, let colTask) = col.source else { continue }
                    if let task, task != colTask.rawValue { continue }   // a classifier row has no mIoU: left missing
                    cells[col.id]?.ours = TableAggregate(perSeed.compactMap { $0[name] }.map { $0 * col.scale })
                }
                // A table without metric columns (measured throughput, costs) reads no run.
                if primary.isEmpty { note = nil }
                else if perSeed.isEmpty { note = "no runs at profile \(plan.profile) yet" }
                else if perSeed.count < spec.seeds.count { note = "\(perSeed.count) of \(spec.seeds.count) seeds" }
            }
            rows.append(TableResult.Row(id: row.id, label: row.label, reproducible: row.reproducible, note: note, cells: cells))
        }
        return TableResult(name: spec.name, title: spec.title, profile: plan.profile, select: spec.select.rawValue,
                           seeds: spec.seeds, columns: spec.columns, rows: rows)
    }
}
