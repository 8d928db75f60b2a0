import Foundation

/// A sweep expanded into its points: deterministic (the same file gives the same points, names
/// and indices), checked for duplicate names, and able to validate every point's experiment.
///
/// Order: the grid first (axes in file order, then zip groups, the last dimension varying
/// fastest, like `itertools.product`), then the explicit `runs:`; that list is repeated once per
/// seed with the seed outermost, and `exclude:` drops points. So appending a value to the FIRST
/// axis, a seed, or a run adds points at the end and keeps every existing index.
public struct SweepPlan {
    public let sweep: SweepFile
    /// `<output_dir>/<name>`, absolute.
    public let directory: URL
    public let points: [SweepPoint]

    public var manifestURL: URL { directory.appendingPathComponent("manifest.json") }
    public var logs: URL { directory.appendingPathComponent("logs", isDirectory: true) }
    public func log(of point: SweepPoint) -> URL { logs.appendingPathComponent("\(point.name).log") }

    /// Loads a sweep file and expands it.
    public static func load(file: String, overrides: [String] = []) throws -> SweepPlan {
        try SweepPlan(try SweepFile.load(file: file, overrides: overrides))
    }

    public init(_ sweep: SweepFile) throws {
        self.sweep = sweep
        directory = URL(fileURLWithPath: sweep.outputDir).appendingPathComponent(sweep.name, isDirectory: true).standardizedFileURL

        var combos: [[SweepAssignment]] = sweep.dimensions.isEmpty ? [] : [[]]
        for dimension in sweep.dimensions {
            combos = combos.flatMap { prefix in dimension.map { prefix + $0 } }
        }
        combos += sweep.runs
        if combos.isEmpty { combos = [[]] }
        if !sweep.seeds.isEmpty {
            combos = sweep.seeds.flatMap { seed in combos.map { $0 + [seed] } }
        }
        combos = combos.filter { point in
            !sweep.exclude.contains { entry in
                entry.allSatisfy { x in point.last(where: { $0.key == x.key })?.value == x.value }
            }
        }

        let namer = RunNameTemplate(template: sweep.runName?.template, location: sweep.runName?.location ?? sweep.root.location,
                                    sweptKeys: sweep.sweptKeys, shortNames: sweep.shortNames)
        var points: [SweepPoint] = []
        var byName: [String: Int] = [:]
        for (index, assignments) in combos.enumerated() {
            let swept = (sweep.fixed + assignments).map(\.override)
            let loaded = Result { try ConfigLoader.load(file: sweep.base.path, overrides: swept) }
            let config = try? loaded.get()
            let name: String
            do { name = try namer.name(index: index, assignments: assignments, config: config) } catch {
                // A placeholder that needs the config cannot be resolved when the config itself
                // does not load; that failure is the one to report.
                if case .failure(let loadError) = loaded { throw relocateToSweepFile(loadError, fixed: sweep.fixed, assignments: assignments) }
                throw error
            }
            let nameLocation = sweep.runName?.location ?? sweep.root.location
            try checkFileName(name, what: "run name of point \(index)", at: nameLocation, keyPath: "run_name")
            if let first = byName[name] {
                func describe(_ i: Int, _ a: [SweepAssignment]) -> String {
                    "point \(i) (" + (a.isEmpty ? "the base experiment" : a.map(\.override).joined(separator: ", ")) + ")"
                }
                throw ConfigError(.invalidValue, at: nameLocation, keyPath: "run_name",
                                  message: "\(describe(first, points[first].assignments)) and \(describe(index, assignments)) both get the run name '\(name)'",
                                  remedy: sweep.runName == nil ? "add run_name: with a placeholder for every swept key" : "add placeholders that tell them apart, e.g. {seed} or {index}")
            }
            byName[name] = index
            points.append(SweepPoint(index: index, name: name, assignments: assignments, overrides: swept + ["name=\(name)"],
                                     directory: directory.appendingPathComponent(name, isDirectory: true)))
        }
        self.points = points
    }

    /// The points with these indices (all when nil), or `SweepError.noSuchPoint`.
    public func select(_ indices: [Int]?) throws -> [SweepPoint] {
        guard let indices else { return points }
        return try indices.map { i in
            guard points.indices.contains(i) else { throw SweepError.noSuchPoint(index: i, count: points.count) }
            return points[i]
        }
    }

    /// Loads and validates the experiment of each point (all when nil) and returns them by index;
    /// throws `SweepError.invalidPoints` listing every point that fails, before anything runs.
    @discardableResult
    public func validate(_ selection: [SweepPoint]? = nil) throws -> [Int: Experiment] {
        var experiments: [Int: Experiment] = [:]
        var problems: [SweepError.PointProblem] = []
        for point in selection ?? points {
            do {
                let e = try Experiment.load(file: sweep.base.path, overrides: point.overrides)
                // Quick, as `runexp run` validates: the points share their datasets, and decoding
                // every label once per point would cost minutes per point on a real dataset.
                try Experiments.validate(e, options: .quick)
                experiments[point.index] = e
            } catch {
                let message = "\(relocate(error, point))"
                if let i = problems.firstIndex(where: { $0.message == message }) { problems[i].indices.append(point.index) }
                else { problems.append(.init(indices: [point.index], message: message)) }
            }
        }
        if !problems.isEmpty { throw SweepError.invalidPoints(sweep: sweep.name, problems: problems) }
        return experiments
    }

    /// An experiment error caused by a swept value says `--set key=value`; point it at the line of
    /// the sweep file that wrote the value instead.
    func relocate(_ error: Error, _ point: SweepPoint) -> Error {
        relocateToSweepFile(error, fixed: sweep.fixed, assignments: point.assignments)
    }
}

/// `error` with a `--set` location moved to the sweep-file line of the assignment behind that override.
func relocateToSweepFile(_ error: Error, fixed: [SweepAssignment], assignments: [SweepAssignment]) -> Error {
    if let many = error as? ValidationErrors {
        return ValidationErrors(errors: many.errors.map { relocateToSweepFile($0, fixed: fixed, assignments: assignments) })
    }
    guard let e = error as? ConfigError, let file = e.location?.file, file.hasPrefix("--set "),
          let a = (fixed + assignments).last(where: { $0.override == String(file.dropFirst(6)) }) else { return error }
    return ConfigError(e.kind, at: a.location, keyPath: e.keyPath, message: e.message, suggestion: e.suggestion, remedy: e.remedy)
}
