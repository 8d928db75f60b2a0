import TensorEngine
import XCTest

/// Asserts two tensors have the same shape and values within `accuracy`, relative to the
/// reference's magnitude above 1 and absolute below it: |a − b| ≤ accuracy · max(1, |b|).
/// With `nonTrivial`, also fails when the reference is all (near) zeros, so a comparison of two
/// dead outputs cannot pass.
public func assertClose(_ a: Tensor, _ b: Tensor, accuracy: Float = 1e-5, _ message: String = "", nonTrivial: Bool = false,
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape \(message)", file: file, line: line)
    guard a.shape == b.shape else { return }
    let x = a.toArray(), y = b.toArray()
    for i in 0..<x.count where !(Swift.abs(x[i] - y[i]) <= accuracy * Swift.max(1, Swift.abs(y[i]))) {
        XCTFail("element \(i): \(x[i]) vs \(y[i]) \(message)", file: file, line: line)
        return
    }
    if nonTrivial {
        XCTAssertGreaterThan(y.map(Swift.abs).max() ?? 0, 1e-3, "reference is trivially zero \(message)", file: file, line: line)
    }
}

/// Asserts a tensor's values equal `expected` within `accuracy` (same rule as `assertClose`).
public func assertValues(_ a: Tensor, _ expected: [Float], accuracy: Float = 1e-5, _ message: String = "",
                         file: StaticString = #filePath, line: UInt = #line) {
    let x = a.toArray()
    XCTAssertEqual(x.count, expected.count, "count \(message)", file: file, line: line)
    for i in 0..<Swift.min(x.count, expected.count) where !(Swift.abs(x[i] - expected[i]) <= accuracy * Swift.max(1, Swift.abs(expected[i]))) {
        XCTFail("element \(i): \(x[i]) vs expected \(expected[i]) \(message)", file: file, line: line)
        return
    }
}
