import Foundation

/// One finished training iteration, as hooks see it.
public struct IterationRecord {
    /// Iterations completed, including this one (1-based).
    public var iteration: Int
    public var total: Int
    /// The total loss (Σ weighted terms).
    public var loss: Float
    /// Each weighted loss term by name, in the model's order.
    public var terms: [(name: String, value: Float)]
    /// Base learning rate the step used.
    public var lr: Double
    public var images: Int
    /// Wall time of the iteration, data wait included.
    public var seconds: Double
}

/// Observers of a run (mmengine's hooks): progress display, logging, anything a test or a
/// sweep wants to record. Every method has an empty default; hooks must not change the run.
public protocol RunnerHook: AnyObject {
    func beforeRun(_ runner: Runner)
    func afterIteration(_ runner: Runner, _ record: IterationRecord)
    /// A row was added to `metrics.h5`'s train series.
    func afterLogRow(_ runner: Runner, _ row: MetricsLog.TrainRow)
    func beforeEvaluation(_ runner: Runner)
    /// `done` of `total` validation images processed.
    func evaluationProgress(_ runner: Runner, done: Int, total: Int)
    func afterEvaluation(_ runner: Runner, _ result: EvaluationResult)
    func afterCheckpoint(_ runner: Runner, _ file: URL)
    /// A message for the log (resume notes, warnings).
    func note(_ runner: Runner, _ message: String)
    /// `error` is nil when training completed.
    func afterRun(_ runner: Runner, error: Error?)
}

public extension RunnerHook {
    func beforeRun(_ runner: Runner) {}
    func afterIteration(_ runner: Runner, _ record: IterationRecord) {}
    func afterLogRow(_ runner: Runner, _ row: MetricsLog.TrainRow) {}
    func beforeEvaluation(_ runner: Runner) {}
    func evaluationProgress(_ runner: Runner, done: Int, total: Int) {}
    func afterEvaluation(_ runner: Runner, _ result: EvaluationResult) {}
    func afterCheckpoint(_ runner: Runner, _ file: URL) {}
    func note(_ runner: Runner, _ message: String) {}
    func afterRun(_ runner: Runner, error: Error?) {}
}
