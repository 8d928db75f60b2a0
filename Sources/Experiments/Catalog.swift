import DataPipeline
import ModelZoo

/// Every name a config can use, by kind: what `runexp list` prints.
public enum Catalog {
    public static var kinds: [(kind: String, names: [String])] {
        ModelRegistry.names + [
            ("datasets", DatasetRegistry.standard.names),
            ("transforms", TransformRegistry.standard.names),
            ("optimizers", OptimizerRegistry.standard.names),
            ("schedules", ScheduleRegistry.standard.names),
            ("metrics", MetricRegistry.names),
            ("eval_modes", EvalMode.allCases.map(\.rawValue)),
        ]
    }

    /// The names of one kind; nil (with the known kinds) when `kind` is not one.
    public static func names(of kind: String) -> [String]? { kinds.first { $0.kind == kind }?.names }
}
