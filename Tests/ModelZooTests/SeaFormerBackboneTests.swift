import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

final class SeaFormerBackboneTests: XCTestCase {
    func testBackboneParameterCountsMatchTheOfficialCode() {
        // spec §1.5: the backbone alone is identical in the cls and seg code.
        let expected: [(SeaFormerVariant, Int)] = [(.tiny, 1_620_096), (.small, 3_912_656), (.base, 8_485_664), (.large, 13_725_504)]
        for (variant, count) in expected {
            XCTAssertEqual(SeaFormerBackbone(variant: variant).parameterCount, count, "\(variant)")
        }
    }
}
