import XCTest
import TensorEngine
@testable import Experiments

final class MetricTests: XCTestCase {
    /// 2×2 prediction against a label with one ignored pixel:
    /// class 0: label area 2, predicted 1, intersection 1, union 2; class 1: 1, 2, 1, 2.
    func testIoUAccuracyAndIgnoredPixels() {
        var m = SegmentationMetric(numClasses: 3)
        m.update(prediction: Tensor([0, 1, 1, 1], shape: [1, 2, 2]), label: Tensor([0, 1, 255, 0], shape: [1, 2, 2]))
        XCTAssertEqual(m.perClassIoU[0], 0.5)
        XCTAssertEqual(m.perClassIoU[1], 0.5)
        XCTAssertTrue(m.perClassIoU[2].isNaN, "class absent from prediction and label")
        XCTAssertEqual(m.mIoU, 0.5, "absent classes are left out of the mean")
        XCTAssertEqual(m.mAcc, 0.75)
        XCTAssertEqual(m.aAcc, 2.0 / 3.0, accuracy: 1e-12)
        // Dice per class 2·I/(P+L): class 0 2·1/(1+2), class 1 2·1/(2+1), class 2 absent (NaN, left out).
        XCTAssertEqual(MetricRegistry.definition("mDice")!.compute(m), 2.0 / 3.0, accuracy: 1e-12)
    }

    func testAccumulatesOverBatches() {
        var m = SegmentationMetric(numClasses: 2)
        m.update(prediction: Tensor([0, 0], shape: [1, 1, 2]), label: Tensor([0, 1], shape: [1, 1, 2]))
        m.update(prediction: Tensor([1, 1], shape: [1, 1, 2]), label: Tensor([1, 1], shape: [1, 1, 2]))
        // class 0: inter 1, union 2; class 1: inter 2, union 3.
        XCTAssertEqual(m.perClassIoU[0], 0.5)
        XCTAssertEqual(m.perClassIoU[1], 2.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.aAcc, 0.75)
    }

    func testTopK() {
        var m = ClassificationMetric()
        let scores = Tensor([0.1, 0.5, 0.2, 0.0, 0.0, 0.0,    // target 1: top-1 hit
                             0.9, 0.1, 0.2, 0.3, 0.4, 0.5,    // target 5: rank 2 → top-5 hit only
                             0.9, 0.8, 0.7, 0.6, 0.5, 0.0],   // target 5: rank 6 → miss
                            shape: [3, 6])
        m.update(scores: scores, labels: Tensor([1, 5, 5], shape: [3]))
        XCTAssertEqual(m.top1, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(m.top5, 2.0 / 3.0, accuracy: 1e-12)
    }
}
