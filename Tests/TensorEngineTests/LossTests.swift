import TestSupport
import XCTest
@testable import TensorEngine

final class LossTests: XCTestCase {
    func gen(_ s: UInt64) -> RandomGenerator { RandomGenerator(seed: s) }

    // Reference setup (Python): lg = seq(48, 1.3, 2.5).reshape(2,2,3,4) (NHWK), torch gets
    // lg.permute(0,3,1,2); tg = [0,3,255,1,2,2, 255,255,1,0,3,1] as [2,2,3]; w = [0.5,1,2,1.5];
    // F.cross_entropy(L, tg, weight=w, ignore_index=255, reduction=...).
    let logits = Tensor(sinSequence(48, 1.3, 2.5), shape: [2, 2, 3, 4])
    let target = Tensor([0, 3, 255, 1, 2, 2, 255, 255, 1, 0, 3, 1], shape: [2, 2, 3])
    let weight = Tensor([0.5, 1.0, 2.0, 1.5], shape: [4])

    func testCrossEntropyMatchesPyTorch() {
        let l = logits, t = target, w = weight
        assertValues(crossEntropy(logits: l, target: t), [3.0652573])
        assertValues(crossEntropy(logits: l, target: t, weight: w), [3.3843369])
        assertValues(crossEntropy(logits: l, target: t, reduction: .sum), [27.587317])
        assertValues(crossEntropy(logits: l, target: t, weight: w, reduction: .sum), [37.227707])
        assertValues(crossEntropy(logits: l, target: t, reduction: .none),
                     [2.7681477, 1.986081, 0.0, 4.1427999, 4.9003234, 3.5193086, 0.0, 0.0, 4.8569183, 0.88250101, 4.1060886, 0.42514607])
        assertValues(crossEntropy(logits: l, target: t, weight: w, reduction: .none),
                     [1.3840739, 2.9791214, 0.0, 4.1427999, 9.8006468, 7.0386171, 0.0, 0.0, 4.8569183, 0.4412505, 6.159133, 0.42514607])
        XCTAssertEqual(crossEntropy(logits: l, target: t, reduction: .none).shape, [2, 2, 3])
        // mmseg 0.19: F.cross_entropy(..., reduction='none') then .sum() / numel (ignored pixels count)
        assertValues(crossEntropy(logits: l, target: t, weight: w, reduction: .meanOverAll), [3.102309])
        // [N, K] logits with [N] targets; torch.nn.functional.cross_entropy on the same rows.
        let rows = l.reshape([12, 4])
        assertValues(crossEntropy(logits: rows, target: t.reshape([12]), weight: w), [3.3843369])
        // all pixels ignored: 0/0 as torch
        XCTAssertTrue(crossEntropy(logits: l, target: Tensor.full([2, 2, 3], 255)).item().isNaN)
    }

    func testCrossEntropyGradientMatchesPyTorch() {
        let l = logits.copy(); l.requiresGrad = true
        crossEntropy(logits: l, target: target, weight: weight).backward()
        // L.grad.permute(0,2,3,1) after the weighted mean
        assertValues(l.grad!, [-0.042600993, 0.031736284, 0.010353437, 0.00051127368, 0.00092576165, 0.014429837, 0.10229457, -0.11765016,
                               0, 0, 0, 0, 0.019283587, -0.089465611, 0.0032471828, 0.066934846, 0.1627086, 0.012162792, -0.1804647,
                               0.0055933059, 0.080635972, 0.094809391, -0.17643274, 0.00098739157, 0, 0, 0, 0, 0, 0, 0, 0, 0.0011497115,
                               -0.090202332, 0.011028755, 0.078023866, -0.026647871, 0.0010701079, 0.0012649723, 0.024312792, 0.11983532,
                               0.013286204, 0.00099592749, -0.13411745, 0.026553607, -0.031484157, 0.00443599, 0.00049455528], accuracy: 1e-6)
        let m = logits.copy(); m.requiresGrad = true
        crossEntropy(logits: m, target: target, weight: weight, reduction: .meanOverAll).backward()
        // (F.cross_entropy(..., reduction='none').sum() / numel).backward()
        assertValues(m.grad!.reshape([-1]).sum(axes: [0]), [0], accuracy: 1e-6)
        XCTAssertEqual(m.grad![0, 0, 0, 0], -0.039050911, accuracy: 1e-7)
        XCTAssertEqual(m.grad![0, 1, 1, 2], -0.16542597, accuracy: 1e-7)
        XCTAssertEqual(m.grad![1, 1, 2, 1], -0.028860476, accuracy: 1e-7)
    }

    func testCrossEntropyGradCheckAllReductions() {
        let l = Tensor.normal([2, 3, 5, 7], generator: gen(1))
        let labels: [Float] = (0..<30).map { (i: Int) -> Float in (i * 5) % 9 == 8 ? 255 : Float((i * 5) % 7) }
        let t = Tensor(labels, shape: [2, 3, 5])
        let tTorch = Tensor(labels.map { $0 == 255 ? -100 : $0 }, shape: [2, 3, 5])
        let w = Tensor.uniform([7], low: 0.5, high: 2, generator: gen(2))
        for reduction in [Reduction.mean, .sum, .none, .meanOverAll] {
            checkGradients([l]) { crossEntropy(logits: $0[0], target: t, weight: w, reduction: reduction) }
            checkGradients([l]) { crossEntropy(logits: $0[0], target: tTorch, ignoreIndex: -100, reduction: reduction) }
        }
        // Larger K and many pixels: matches the composite log-softmax formula.
        let big = Tensor.normal([3, 17, 150], std: 4, generator: gen(3))
        let bt = Tensor((0..<51).map { Float(($0 * 53) % 150) }, shape: [3, 17])
        let ls = big.logSoftmax(axis: -1).toArray()
        var expected: Float = 0
        for p in 0..<51 { expected -= ls[p * 150 + Int(bt.toArray()[p])] }
        XCTAssertEqual(crossEntropy(logits: big, target: bt).item(), expected / 51, accuracy: 1e-4)
    }

    // KL: s = seq(30,.7,2).reshape(2,3,5), t = seq(30,1.1,3,.3).reshape(2,3,5), T = 2:
    // F.kl_div(F.log_softmax(s/T,-1), F.softmax(t/T,-1), reduction='sum') / 6 * T*T
    func testKLDivergenceOverClassesMatchesPyTorch() {
        let s = Tensor(sinSequence(30, 0.7, 2), shape: [2, 3, 5]), t = Tensor(sinSequence(30, 1.1, 3, 0.3), shape: [2, 3, 5])
        assertValues(klDivergence(student: s, teacher: t, temperature: 2, scaleByTemperatureSquared: true), [2.263216], accuracy: 1e-5)
        // F.kl_div(..., reduction='none').sum(-1), unscaled
        let none = klDivergence(student: s, teacher: t, temperature: 2, scaleByTemperatureSquared: false, reduction: .none)
        XCTAssertEqual(none.shape, [2, 3])
        assertValues(none, [0.34497193, 0.64640415, 0.41783094, 0.15833563, 1.3715835, 0.45569837], accuracy: 1e-5)
        let sum = klDivergence(student: s, teacher: t, temperature: 2, scaleByTemperatureSquared: false, reduction: .sum)
        XCTAssertEqual(sum.item(), 2.263216 * 6 / 4, accuracy: 1e-4)
        let all = klDivergence(student: s, teacher: t, temperature: 2, scaleByTemperatureSquared: false, reduction: .meanOverAll)
        XCTAssertEqual(all.item(), 2.263216 * 6 / 4 / 30, accuracy: 1e-5)
        XCTAssertEqual(klDivergence(student: t, teacher: t, temperature: 3, scaleByTemperatureSquared: true).item(), 0, accuracy: 1e-6)
    }

    // Channel-wise distillation (mmrazor ChannelWiseDivergence) on NHWC [2, H·W=6, C=3], T = 4:
    // S, Tt = s2.permute(0,2,1), t2.permute(0,2,1); pt = softmax(Tt/T, -1);
    // sum(pt·log_softmax(Tt/T) − pt·log_softmax(S/T)) · T² / (N·C)
    func testKLDivergenceChannelWiseMatchesPyTorch() {
        let s = Tensor(sinSequence(36, 0.7, 2), shape: [2, 6, 3]), t = Tensor(sinSequence(36, 1.1, 3, 0.3), shape: [2, 6, 3])
        s.requiresGrad = true
        let loss = klDivergence(student: s, teacher: t, temperature: 4, axis: 1, scaleByTemperatureSquared: true)
        assertValues(loss, [2.7527149], accuracy: 1e-5)
        loss.backward()
        assertValues(s.grad!, [-0.024549879, -0.03744996, 0.010785207, 0.086825848, 0.083011329, 0.015434451, -0.092040837, -0.11864489,
                               -0.05344294, 0.044277474, 0.10325735, 0.0805564, -0.028715333, -0.04720417, -0.015799491, 0.014202771,
                               0.017030345, -0.037533633, -0.070850849, -0.023604896, 0.095182613, 0.11826266, 0.058027267, -0.046916682,
                               -0.11703494, -0.07628087, 0.01577506, 0.06587597, 0.068478674, 0.0099078165, -0.018549457, 0.0087855598,
                               0.033582922, 0.02229655, -0.035405766, -0.10753179], accuracy: 1e-6)
    }

    func testKLDivergenceGradCheckBothInputs() {
        let s = Tensor.normal([2, 5, 3], generator: gen(4)), t = Tensor.normal([2, 5, 3], std: 2, generator: gen(5))
        for axis in [-1, 1, 0] {
            for reduction in [Reduction.mean, .sum, .none, .meanOverAll] {
                checkGradients([s, t]) { klDivergence(student: $0[0], teacher: $0[1], temperature: 1.5, axis: axis, scaleByTemperatureSquared: true, reduction: reduction) }
            }
        }
    }

    // x = seq(12,1.9,4).reshape(3,4), y as below, pw = [2,.5,1,3], w = [[1],[.5],[2]]:
    // F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction='mean') and x.grad
    func testBCEWithLogitsMatchesPyTorch() {
        let x = Tensor(sinSequence(12, 1.9, 4), shape: [3, 4])
        let y = Tensor([1, 0, 0.5, 1, 0, 0, 1, 1, 1, 0.2, 0, 0], shape: [3, 4])
        let pw = Tensor([2, 0.5, 1, 3], shape: [4]), w = Tensor([1, 0.5, 2], shape: [3, 1])
        x.requiresGrad = true
        let l = binaryCrossEntropyWithLogits(x, y, weight: w, posWeight: pw)
        assertValues(l, [2.3484933])
        l.backward()
        assertValues(x.grad!, [-0.083333336, 0.081483305, -0.035031121, -0.22512388, 0.040816724, 0.017725404, -0.040638875, -0.0080334144,
                               -0.041678149, -0.01379457, 0.10759065, 0.16200671], accuracy: 1e-6)
        assertValues(binaryCrossEntropyWithLogits(x, y, posWeight: pw, reduction: .none),
                     [1.3862944, 3.8076508, 1.3066916, 6.922657, 3.8922882, 0.55409801, 3.7022903, 0.19927621, 0.26714164, 0.41102552, 1.0371709, 3.576988])
        assertValues(binaryCrossEntropyWithLogits(x, y, reduction: .sum), [21.884459])
        // Large logits stay finite.
        assertValues(binaryCrossEntropyWithLogits(Tensor([200, -200], shape: [2]), Tensor([0, 1], shape: [2]), reduction: .none), [200, 200])
    }

    func testElementwiseLossesAndGradients() {
        let a = Tensor([1, 2, 3, 4], shape: [2, 2]), b = Tensor([0, 2, 5, 3.5], shape: [2, 2])
        assertValues(mseLoss(a, b), [(1 + 0 + 4 + 0.25) / 4])
        assertValues(mseLoss(a, b, reduction: .sum), [5.25])
        assertValues(l1Loss(a, b, reduction: .none), [1, 0, 2, 0.5])
        assertValues(l1Loss(a, b), [3.5 / 4])
        let x = randomAvoiding([3, 5], kinks: [0], seed: 6), y = Tensor.normal([3, 5], generator: gen(7))
        let xt = Tensor.uniform([3, 5], low: 0, high: 1, generator: gen(8))
        let pw = Tensor.uniform([5], low: 0.5, high: 3, generator: gen(9)), w = Tensor.uniform([3, 1], low: 0.5, high: 2, generator: gen(10))
        for reduction in [Reduction.mean, .sum, .none] {
            checkGradients([x, y]) { mseLoss($0[0], $0[1], reduction: reduction) }
            checkGradients([x.copy(), Tensor.zeros([3, 5])]) { l1Loss($0[0], $0[1], reduction: reduction) }
            checkGradients([y, xt]) { binaryCrossEntropyWithLogits($0[0], $0[1], weight: w, posWeight: pw, reduction: reduction) }
            checkGradients([y, xt]) { binaryCrossEntropyWithLogits($0[0], $0[1], reduction: reduction) }
        }
    }
}
