import XCTest
import TensorEngine
@testable import NeuralNet

final class OptimizerTests: XCTestCase {
    /// Three steps with gradients [0.5, 0.25], [-0.3, 1.0], [0.2, 0.2] from p = [1, -2], lr 0.1,
    /// weight decay 0.01; expected values printed by torch.optim (SGD momentum 0.9, Adam, AdamW).
    func run(_ make: ([OptimizedParameter]) -> Optimizer) -> [[Float]] {
        let p = Tensor([1, -2], shape: [2]).asParameter()
        let opt = make(optimizedParameters([("w", p)]))
        var out: [[Float]] = []
        for g in [[0.5, 0.25], [-0.3, 1.0], [0.2, 0.2]] as [[Float]] {
            p.grad = Tensor(g, shape: [2])
            opt.step()
            out.append(p.toArray())
        }
        return out
    }

    func assertTrajectory(_ got: [[Float]], _ expected: [[Float]], file: StaticString = #filePath, line: UInt = #line) {
        for (a, b) in zip(got, expected) {
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 2e-6, file: file, line: line) }
        }
    }

    func testSGDMomentumMatchesTorch() {
        assertTrajectory(run { SGD(parameters: $0, lr: 0.1, momentum: 0.9, weightDecay: 0.01) },
                         [[0.949, -2.023], [0.93215102, -2.1416769], [0.89605474, -2.2663445]])
        assertTrajectory(run { SGD(parameters: $0, lr: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) },
                         [[0.9031, -2.0437], [0.91707414, -2.2484469], [0.86372119, -2.3782866]])
    }

    func testAdamAndAdamWMatchTorch() {
        assertTrajectory(run { Adam(parameters: $0, lr: 0.1, weightDecay: 0.01) },
                         [[0.9, -2.1], [0.87870127, -2.1877606], [0.84177166, -2.2657061]])
        assertTrajectory(run { Adam.adamW(parameters: $0, lr: 0.1, weightDecay: 0.01) },
                         [[0.899, -2.098], [0.87895125, -2.1843395], [0.84332955, -2.2614388]])
    }

    func testParameterRulesLongestKeyWins() {
        let named = [("backbone.conv.weight", Tensor.ones([1]).asParameter()),
                     ("decode_head.conv_seg.weight", Tensor.ones([1]).asParameter()),
                     ("backbone.trans1.pos_emb_rowq", Tensor.ones([1]).asParameter())]
        let rules = [ParameterRule(key: "head", lrMult: 10), ParameterRule(key: "pos_emb", decayMult: 0),
                     ParameterRule(key: "decode_head.conv_seg", lrMult: 5)]
        let ps = optimizedParameters(named, rules: rules)
        XCTAssertEqual(ps.map(\.lrMult), [1, 5, 1])
        XCTAssertEqual(ps.map(\.decayMult), [1, 1, 0])
        named[0].1.requiresGrad = false
        XCTAssertEqual(optimizedParameters(named, rules: rules).map(\.name), ["decode_head.conv_seg.weight", "backbone.trans1.pos_emb_rowq"],
                       "frozen parameters are not optimised")
    }

    func testLRMultiplierScalesTheStep() {
        let a = Tensor([1], shape: [1]).asParameter(), b = Tensor([1], shape: [1]).asParameter()
        let opt = SGD(parameters: optimizedParameters([("x", a), ("head.y", b)], rules: [ParameterRule(key: "head", lrMult: 10)]), lr: 0.01)
        a.grad = Tensor([1], shape: [1]); b.grad = Tensor([1], shape: [1])
        opt.step()
        XCTAssertEqual(a.item(), 0.99, accuracy: 1e-7)
        XCTAssertEqual(b.item(), 0.9, accuracy: 1e-7)
    }

    func testStateRoundTripContinuesIdentically() throws {
        func make(_ p: Tensor) -> Adam { Adam.adamW(parameters: optimizedParameters([("w", p)]), lr: 0.05) }
        let p1 = Tensor([1, 2, 3], shape: [3]).asParameter()
        let o1 = make(p1)
        for _ in 0..<3 { p1.grad = p1 * 0.5; o1.step() }
        let saved = o1.stateDict()
        XCTAssertEqual(Set(saved.keys), ["w.exp_avg", "w.exp_avg_sq", "w.step"])
        XCTAssertEqual(saved["w.step"]!.item(), 3)
        let p2 = p1.detach().copy().asParameter()
        let o2 = make(p2)
        try o2.load(state: saved)
        for _ in 0..<2 { p1.grad = p1 * 0.5; o1.step(); p2.grad = p2 * 0.5; o2.step() }
        XCTAssertEqual(p1.toArray(), p2.toArray())
        XCTAssertThrowsError(try o2.load(state: ["v.exp_avg": Tensor.zeros([3])])) { e in
            XCTAssertTrue("\(e)".contains("'v.exp_avg' names no trained parameter"), "\(e)")
        }
        XCTAssertThrowsError(try o2.load(state: ["w.exp_avg": Tensor.zeros([4])])) { e in
            XCTAssertTrue("\(e)".contains("shape [4]"), "\(e)")
        }
    }

    func testClipGradNorm() {
        let a = Tensor([0, 0], shape: [2]).asParameter(), b = Tensor([0], shape: [1]).asParameter()
        a.grad = Tensor([3, 0], shape: [2]); b.grad = Tensor([4], shape: [1])
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 1), 5, accuracy: 1e-6)
        XCTAssertEqual(a.grad!.toArray()[0], 0.6, accuracy: 1e-6)
        XCTAssertEqual(b.grad!.item(), 0.8, accuracy: 1e-6)
        XCTAssertEqual(clipGradNorm([a, b], maxNorm: 10), 1, accuracy: 1e-5)
        XCTAssertEqual(b.grad!.item(), 0.8, accuracy: 1e-6, "under the limit: unchanged")
    }
}

final class ScheduleTests: XCTestCase {
    func testPolyWithWarmupMatchesMMCV() {
        // mmseg SeaFormer: poly power 1, min 0, linear warm-up 1500 iterations from ratio 1e-6.
        let s = LinearWarmup(PolySchedule(baseLR: 2.5e-4, totalIterations: 160_000), iterations: 1500, startRatio: 1e-6)
        XCTAssertEqual(s.lr(at: 0), 2.5e-4 * 1e-6, accuracy: 1e-15)
        // t = 750: regular 2.5e-4·(1 − 750/160000); warm-up factor 1 − 0.5·(1 − 1e-6).
        XCTAssertEqual(s.lr(at: 750), 2.5e-4 * (1 - 750.0 / 160_000) * (0.5 + 0.5e-6), accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 1500), 2.5e-4 * (1 - 1500.0 / 160_000), accuracy: 1e-10)
        XCTAssertEqual(s.lr(at: 160_000), 0)
        XCTAssertEqual(PolySchedule(baseLR: 1, totalIterations: 100, power: 0.9, minLR: 1e-4).lr(at: 50),
                       (1 - 1e-4) * Float(pow(0.5, 0.9)) + 1e-4, accuracy: 1e-7)
    }

    func testCosineAndStep() {
        let c = CosineSchedule(baseLR: 1, totalIterations: 100, minLR: 0.1)
        XCTAssertEqual(c.lr(at: 0), 1, accuracy: 1e-7)
        XCTAssertEqual(c.lr(at: 50), 0.55, accuracy: 1e-6)
        XCTAssertEqual(c.lr(at: 100), 0.1, accuracy: 1e-7)
        let s = StepSchedule(baseLR: 1, milestones: [10, 20], gamma: 0.5)
        XCTAssertEqual([0, 9, 10, 19, 20, 99].map { s.lr(at: $0) }, [1, 1, 0.5, 0.5, 0.25, 0.25])
        XCTAssertEqual(StepSchedule(baseLR: 1, stepSize: 30, totalIterations: 100).milestones, [30, 60, 90])
    }
}
