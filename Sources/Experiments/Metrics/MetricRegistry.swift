import ModelZoo
import TensorEngine

/// Accumulates a task's predictions against labels over one evaluation pass; metrics are
/// read off it at the end.
public protocol MetricAccumulator {
    mutating func update(prediction: Tensor, labels: Tensor)
    /// Per-class tables by name (segmentation: `iou`, `acc`), in class order; empty when the
    /// task has none.
    var perClassTables: [String: [Double]] { get }
}

/// One registered metric: `eval.metrics` and `checkpoint.keep_best` name it, metrics.h5 stores
/// it as `/val/<name>`.
public struct MetricDefinition {
    public let name: String
    public let task: ModelTask
    public let summary: String
    let compute: (any MetricAccumulator) -> Double
}

/// How a task is scored: the accumulator its predictions go into and the metrics it reports
/// when a config does not choose (`eval.metrics`).
public struct TaskScoring {
    public let task: ModelTask
    public let defaultMetrics: [String]
    /// `scoredClasses`: the leading classes the dataset labels (fewer than `numClasses` when the
    /// model has output-only channels such as TransKD's void channel).
    let makeAccumulator: (_ numClasses: Int, _ scoredClasses: Int) -> any MetricAccumulator
}

/// The metrics and task scorings of this build. The evaluator asks the model's task which
/// accumulator to fill and which metrics to compute; adding a metric is one `metric(...)` line.
public enum MetricRegistry {
    public static let scorings: [ModelTask: TaskScoring] = [
        .segmentation: TaskScoring(task: .segmentation, defaultMetrics: ["mIoU"]) { SegmentationMetric(numClasses: $0, scoredClasses: $1) },
        .classification: TaskScoring(task: .classification, defaultMetrics: ["top1", "top5"]) { _, _ in ClassificationMetric() },
    ]

    /// Every metric, in the order tables print them.
    public static let metrics: [MetricDefinition] = [
        metric("aAcc", .segmentation, "pixel accuracy over all labelled pixels (mmseg)") { (m: SegmentationMetric) in m.aAcc },
        metric("mIoU", .segmentation, "mean over classes of intersection / union (mmseg, NaN classes left out)") { (m: SegmentationMetric) in m.mIoU },
        metric("mAcc", .segmentation, "mean over classes of per-class pixel accuracy (mmseg)") { (m: SegmentationMetric) in m.mAcc },
        metric("mDice", .segmentation, "mean over classes of 2·|P∩L| / (|P| + |L|) (mmseg's Dice)") { (m: SegmentationMetric) in nanMean(m.intersection.indices.map { c in m.isScored(c) && m.predicted[c] + m.labelled[c] > 0 ? 2 * m.intersection[c] / (m.predicted[c] + m.labelled[c]) : .nan }) },
        metric("top1", .classification, "top-1 accuracy") { (m: ClassificationMetric) in m.top1 },
        metric("top5", .classification, "top-5 accuracy") { (m: ClassificationMetric) in m.top5 },
    ]

    /// A metric over accumulator `A`; the cast cannot fail because a task's metrics are only
    /// ever read off that task's own accumulator.
    static func metric<A: MetricAccumulator>(_ name: String, _ task: ModelTask, _ summary: String,
                                             _ compute: @escaping (A) -> Double) -> MetricDefinition {
        MetricDefinition(name: name, task: task, summary: summary) { compute($0 as! A) }
    }

    public static var names: [String] { metrics.map(\.name) }

    /// The metrics a task provides, in table order.
    public static func names(for task: ModelTask) -> [String] { metrics.filter { $0.task == task }.map(\.name) }

    public static func definition(_ name: String) -> MetricDefinition? { metrics.first { $0.name == name } }

    public static func scoring(_ task: ModelTask) -> TaskScoring {
        guard let s = scorings[task] else { preconditionFailure("no scoring registered for task \(task.rawValue)") }
        return s
    }
}
