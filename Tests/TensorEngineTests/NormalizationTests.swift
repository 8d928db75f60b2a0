import TestSupport
import XCTest
@testable import TensorEngine

final class NormalizationTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    // NHWC [2, 2, 3, 3]; the torch reference permutes to NCHW: x_nchw = x.permute(0, 3, 1, 2).
    let bnX: [Float] = [-0.626, -2.152, 1.749, 0.066, -0.151, 2.692, 0.184, -3.115, 2.322, -0.763, -0.65, 2.308,
                        0.62, 0.238, 3.117, 0.253, -2.353, 0.304, 1.067, -0.206, 2.44, 0.612, -0.359, 2.441,
                        0.284, -1.743, 2.563, 0.76, -0.477, 4.302, -0.969, -2.587, 3.203, 0.585, -2.2, 1.995]

    func testBatchNormTrainingStepMatchesTorch() {
        let x = Tensor(bnX, shape: [2, 2, 3, 3])
        let w = Tensor([1.5, -0.5, 0.75], shape: [3]), b = Tensor([0.1, 0.2, -0.3], shape: [3])
        let rm = Tensor([0.1, -0.2, 0.3], shape: [3]), rv = Tensor([1.0, 0.5, 2.0], shape: [3])
        x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
        let y = batchNorm(x, weight: w, bias: b, runningMean: rm, runningVar: rv, training: true, momentum: 0.1, eps: 1e-5)
        // F.batch_norm(x_nchw, rm, rv, w, b, training=True, momentum=0.1, eps=1e-5), permuted back to NHWC
        assertValues(y, [-1.84465003, 0.579608738, -0.882675231, -0.159895346, -0.32566154, -0.102188177, 0.127389416, 1.01527858,
                         -0.408423722, -2.17819262, -0.0999094844, -0.420010984, 1.18888223, -0.501648605, 0.249569133, 0.29537794,
                         0.670542896, -2.07864952, 2.27715588, -0.300779045, -0.310759366, 1.16940522, -0.231560484, -0.309931755,
                         0.370851099, 0.39457351, -0.208956778, 1.52972853, -0.178176224, 1.23035085, -2.6797235, 0.776406586,
                         0.32074821, 1.1036706, 0.601324379, -0.679069817], accuracy: 2e-6)
        // rm, rv after that call (updated in place with the unbiased variance)
        assertValues(rm, [0.107274994, -0.311291665, 0.515299976], accuracy: 1e-6)
        assertValues(rv, [0.941409349, 0.583248556, 1.88957727], accuracy: 1e-6)
        // y.backward(g) with g_nhwc = ((arange(36) % 7 - 3) / 4).reshape(2, 2, 3, 3)
        let g = Tensor((0..<36).map { (Float($0 % 7) - 3) / 4 }, shape: [2, 2, 3, 3])
        y.backward(g)
        assertValues(x.grad!, [-1.08644211, 0.160798788, -0.185847521, 0.0548916906, -0.0450086892, 0.475969881, 1.76411104,
                               0.209653273, -0.367808223, 0.266406775, 0.0348021425, 0.252329946, 0.724101305, -0.245260522,
                               -0.540100455, -1.34742451, 0.0342865922, -0.0418640599, -0.326791257, -0.161780298, 0.671910763,
                               -2.31125426, 0.280421048, -0.155709594, -0.160786107, -0.151220962, 0.470351696, 1.19424677,
                               0.385650784, -0.281575471, 0.470212281, -0.0944272429, 0.29130891, 0.758728445, -0.407914758,
                               -0.588965654], accuracy: 5e-6)
        assertValues(w.grad!, [3.0044179, 1.95578265, -0.572191894], accuracy: 2e-6)
        assertValues(b.grad!, [0.25, -0.25, -0.75], accuracy: 1e-6)
        // Eval with the updated stats: F.batch_norm(x_nchw, rm, rv, w, b, training=False, eps=1e-5)
        let e = batchNorm(Tensor(bnX, shape: [2, 2, 3, 3]), weight: w, bias: b, runningMean: rm, runningVar: rv, training: false)
        assertValues(e, [-1.03361762, 1.40510368, 0.373112053, 0.0361902975, 0.0950577483, 0.887616932, 0.218614191, 2.03557563,
                         0.685743392, -1.24541485, 0.421750844, 0.678104937, 0.892655015, -0.159618855, 1.11949885, 0.325285763,
                         1.53669751, -0.415286213, 1.58370149, 0.131066009, 0.750124693, 0.88028729, 0.231234446, 0.750670254,
                         0.373210728, 1.13733315, 0.81723398, 1.10909009, 0.308488518, 1.76603997, -1.56388366, 1.68989623,
                         1.16642082, 0.838546216, 1.43652916, 0.507330716], accuracy: 2e-6)
        assertValues(rm, [0.107274994, -0.311291665, 0.515299976], accuracy: 1e-6, "eval must not touch running stats")
    }

    /// Naive per-channel batch norm in Double.
    func naiveBatchNorm(_ x: Tensor, _ w: [Float], _ b: [Float], eps: Double = 1e-5) -> [Float] {
        let c = x.shape.last!, m = x.count / c, v = x.toArray()
        var out = [Float](repeating: 0, count: x.count)
        for ch in 0..<c {
            var mean = 0.0
            for r in 0..<m { mean += Double(v[r * c + ch]) }
            mean /= Double(m)
            var variance = 0.0
            for r in 0..<m { let d = Double(v[r * c + ch]) - mean; variance += d * d }
            variance /= Double(m)
            for r in 0..<m { out[r * c + ch] = Float((Double(v[r * c + ch]) - mean) / (variance + eps).squareRoot() * Double(w[ch]) + Double(b[ch])) }
        }
        return out
    }

    func testBatchNormMatchesNaiveMultithreadedAndOffsetData() {
        // 67k elements: two threads in the reductions; channel means far from zero.
        let x = Tensor.normal([4, 16, 32, 33], generator: gen(1)) * 0.01 + 1000
        let w = (0..<33).map { Float($0) * 0.1 - 1 }, b = (0..<33).map { Float($0) * 0.05 }
        let y = batchNorm(x, weight: Tensor(w, shape: [33]), bias: Tensor(b, shape: [33]), runningMean: nil, runningVar: nil, training: true)
        assertValues(y, naiveBatchNorm(x, w, b), accuracy: 1e-5)
        let z = Tensor.normal([3, 5, 7, 37], generator: gen(2))
        let y2 = batchNorm(z, weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
        assertValues(y2, naiveBatchNorm(z, [Float](repeating: 1, count: 37), [Float](repeating: 0, count: 37)), accuracy: 1e-5)
    }

    func testBatchNormGradients() {
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(3))
        let w = Tensor([1.2, -0.7, 0.4], shape: [3]), b = Tensor([0.1, 0.3, -0.2], shape: [3])
        checkGradients([x, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: nil, runningVar: nil, training: true) }
        let rm = Tensor([0.1, -0.2, 0.3], shape: [3]), rv = Tensor([1.5, 0.5, 2], shape: [3])
        checkGradients([x, w, b]) { batchNorm($0[0], weight: $0[1], bias: $0[2], runningMean: rm, runningVar: rv, training: false) }
        checkGradients([Tensor.normal([6, 5], generator: gen(4))]) {
            batchNorm($0[0], weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
        }
        // Only the parameters need gradients.
        let x2 = Tensor.normal([3, 4, 3], generator: gen(5))
        checkGradients([w, b]) { batchNorm(x2, weight: $0[0], bias: $0[1], runningMean: nil, runningVar: nil, training: true) }
        XCTAssertNil(x2.grad)
    }

    func testLayerNormMatchesTorch() {
        let x = Tensor([-0.23, -0.392, 0.543, -0.395, 0.206, -0.45, -0.573, -0.555, -1.531, -1.234, 1.82, -0.552, -1.325, 0.189, -0.838,
                        0.001, 0.842, -0.4, 1.039, 0.358, -0.003, -0.534, -1.882, -0.05, -1.045, -0.957, 0.034, 0.71, -1.535, -0.413], shape: [2, 3, 5])
        let w = Tensor([1.0, 0.5, -1.0, 2.0, 0.25], shape: [5]), b = Tensor([0.0, 0.1, 0.2, 0.3, 0.4], shape: [5])
        // F.layer_norm(x, [5], w, b, 1e-5)
        assertValues(layerNorm(x, weight: w, bias: b), [-0.476388335, -0.356943846, -1.41118622, -1.54397917, 0.575269878, 0.968892694,
                                                        0.44209826, -0.525859416, -2.76638556, 0.188561082, 1.78867531, -0.0873311684,
                                                        1.27966249, 0.902305305, 0.241124198, -0.693668842, 0.547955096, 1.65160131,
                                                        2.8365221, 0.395274758, 0.999301314, 0.220521629, 1.88387561, 2.16437244,
                                                        0.277836204, -0.67594254, 0.400232852, -1.27115381, -2.54081297, 0.406182408], accuracy: 2e-6)
        // F.layer_norm(x, [3, 5], None, None, 1e-5)
        assertValues(layerNorm(x, normalizedShape: [3, 5]), [0.155327961, -0.0468396805, 1.11999214, -0.0505835526, 0.699433506, -0.119220689,
                                                             -0.2727184, -0.250255316, -1.46825302, -1.09761226, 2.71362233, -0.246511444,
                                                             -1.21117568, 0.678218365, -0.603424728, 0.31488958, 1.34666419, -0.177074328,
                                                             1.5883522, 0.752872407, 0.30998221, -0.341471195, -1.99525511, 0.252320617,
                                                             -0.968387783, -0.860425711, 0.355375409, 1.18472099, -1.56954074, -0.19302325], accuracy: 2e-6)
    }

    func testLayerNormGradients() {
        for (i, d) in [3, 5, 37].enumerated() {  // 37: the 16-lane sums plus a tail
            let x = Tensor.normal([2, 5, d], generator: gen(UInt64(10 + i)))
            let w = Tensor.normal([d], mean: 1, std: 0.5, generator: gen(UInt64(20 + i))), b = Tensor.normal([d], generator: gen(UInt64(30 + i)))
            checkGradients([x, w, b]) { layerNorm($0[0], weight: $0[1], bias: $0[2]) }
            checkGradients([x]) { layerNorm($0[0]) }
        }
        let x = Tensor.normal([2, 5, 7, 3], generator: gen(40))
        let w = Tensor.normal([7, 3], mean: 1, std: 0.5, generator: gen(41)), b = Tensor.normal([7, 3], generator: gen(42))
        checkGradients([x, w, b]) { layerNorm($0[0], normalizedShape: [7, 3], weight: $0[1], bias: $0[2]) }
    }

    func testGroupNormMatchesTorch() {
        let x = Tensor([0.345, 0.52, -2.613, -1.696, -0.228, 0.28, 0.073, 1.113, 0.338, 0.454, 0.457, -0.865, 0.781, -0.927, 0.206, -0.333,
                        -0.073, -0.034, 0.963, 0.349, -0.921, -0.056, -0.702, 1.037, 1.922, -0.403, 0.124, 1.165, 0.923, 1.387, 1.375, 0.66], shape: [2, 2, 2, 4])
        let w = Tensor([1.0, -0.5, 2.0, 0.5], shape: [4]), b = Tensor([0.1, 0.0, -0.1, 0.3], shape: [4])
        // F.group_norm(x.permute(0, 3, 1, 2), 2, w, b, 1e-5), permuted back to NHWC
        assertValues(groupNorm(x, groups: 2, weight: w, bias: b), [0.398938656, -0.324287266, -3.88395762, -0.243590131, -0.7458691, -0.0845369622,
                                                                   0.830740333, 0.989059448, 0.384953231, -0.258355945, 1.50477016, 0.121070527,
                                                                   1.27003157, 1.12120736, 1.06419337, 0.354523569, -0.359945118, 0.208419099,
                                                                   0.975718677, 0.0855845138, -1.29724395, 0.220577464, -4.26708078, 0.627182961,
                                                                   1.84513879, 0.412347913, -1.66614842, 0.727945507, 0.740938842, -0.576900244,
                                                                   2.273036, 0.330405951], accuracy: 2e-6)
    }

    func testGroupNormGradientsAndSpecialCases() {
        let x = Tensor.normal([2, 5, 7, 6], generator: gen(50))
        let w = Tensor.normal([6], mean: 1, std: 0.5, generator: gen(51)), b = Tensor.normal([6], generator: gen(52))
        for groups in [1, 3, 6] {
            checkGradients([x, w, b]) { groupNorm($0[0], groups: groups, weight: $0[1], bias: $0[2]) }
        }
        checkGradients([x]) { groupNorm($0[0], groups: 2) }
        // groups = 1 on NHWC equals layer norm over everything but N (no affine).
        let a = groupNorm(x, groups: 1), ref = layerNorm(x, normalizedShape: [5, 7, 6])
        assertClose(a, ref, accuracy: 1e-5)
        // groups = C is instance norm: batch norm of each sample alone.
        let inst = groupNorm(x, groups: 6)
        for n in 0..<2 {
            let xs = Tensor(Array(x.toArray()[(n * 210)..<((n + 1) * 210)]), shape: [1, 5, 7, 6])
            let bn = batchNorm(xs, weight: nil, bias: nil, runningMean: nil, runningVar: nil, training: true)
            assertValues(Tensor(Array(inst.toArray()[(n * 210)..<((n + 1) * 210)]), shape: [210]), bn.toArray(), accuracy: 1e-5)
        }
    }
}
