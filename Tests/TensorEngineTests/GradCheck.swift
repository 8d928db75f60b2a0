import TestSupport
import XCTest
@testable import TensorEngine

/// Finite-difference gradient check. Seeds the backward pass with a random cotangent `w`, so the
/// checked scalar is `Σ f(x)·w` (every output element matters), and compares each input's
/// analytic gradient with central differences on up to `maxProbes` elements per input.
/// Float32 arithmetic: the step is 1e-2 and tolerances are relative; pick inputs away from
/// kinks (relu at 0, max ties) by more than the step.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, atol: Float = 2e-3, rtol: Float = 2e-2, maxProbes: Int = 40,
                    seed: UInt64 = 99, file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor]) -> Tensor) {
    for x in inputs { x.requiresGrad = true; x.grad = nil }
    let out = f(inputs)
    let gen = RandomGenerator(seed: seed)
    let w = Tensor.normal(out.shape, generator: gen)
    let wv = w.toArray()
    out.backward(w)
    func loss() -> Double {
        let y = withNoGrad { f(inputs) }.toArray()
        var s = 0.0
        for i in 0..<y.count { s += Double(y[i]) * Double(wv[i]) }
        return s
    }
    for (k, x) in inputs.enumerated() {
        guard let grad = x.grad else { XCTFail("input \(k) got no gradient", file: file, line: line); continue }
        XCTAssertEqual(grad.shape, x.shape, "gradient shape of input \(k)", file: file, line: line)
        let analytic = grad.toArray()
        let probes = x.count <= maxProbes ? Array(0..<x.count)
            : (0..<maxProbes).map { Int(RandomGenerator.philox(counter: UInt64($0), key: seed).0) % x.count }
        for i in probes {
            let orig = x.withMutablePointer { $0[i] }
            x.withMutablePointer { $0[i] = orig + eps }
            let up = loss()
            x.withMutablePointer { $0[i] = orig - eps }
            let down = loss()
            x.withMutablePointer { $0[i] = orig }
            let numeric = Float((up - down) / Double(2 * eps))
            let a = analytic[i]
            if Swift.abs(a - numeric) > atol + rtol * Swift.abs(numeric) {
                XCTFail("input \(k) element \(i): analytic \(a) vs numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// Random inputs whose values keep at least `margin` away from the given kink points.
func randomAvoiding(_ shape: [Int], kinks: [Float], margin: Float = 0.05, scale: Float = 2, seed: UInt64) -> Tensor {
    let t = Tensor.uniform(shape, low: -scale, high: scale, generator: RandomGenerator(seed: seed))
    t.withMutablePointer { p in
        for i in 0..<t.count {
            for k in kinks where Swift.abs(p[i] - k) < margin { p[i] = k + (p[i] >= k ? margin : -margin) * 2 }
        }
    }
    return t
}
