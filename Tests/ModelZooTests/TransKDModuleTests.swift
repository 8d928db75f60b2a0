import NeuralNet
import TensorEngine
import TestSupport
import XCTest
@testable import ModelZoo

/// TransKD's distillation modules for SegFormer-B2 → B0 (student widths 32, 64, 160, 256;
/// teacher 64, 128, 320, 512): parameter counts equal spec/transkd.md §2.6 and the counter
/// (`transkd_count.py`) exactly, shapes follow the teacher's stages, and every parameter gets a
/// gradient.
final class TransKDModuleTests: XCTestCase {
    let student = [32, 64, 160, 256], teacher = [64, 128, 320, 512]

    func count(_ m: Module) -> Int { m.namedParameters().reduce(0) { $0 + $1.1.count } }

    /// Student stage features of a 64×128 image (strides 4, 8, 16, 32), NHWC.
    func studentFeatures(batch: Int) -> [Tensor] {
        zip(student, [4, 8, 16, 32]).enumerated().map { i, cs in
            Tensor.normal([batch, 64 / cs.1, 128 / cs.1, cs.0], generator: RandomGenerator(seed: UInt64(10 + i)))
        }
    }

    func assertEveryParameterHasAGradient(_ m: Module, skipping: Set<String> = [], file: StaticString = #filePath, line: UInt = #line) {
        for (name, p) in m.namedParameters() where !skipping.contains(name) {
            let g = p.grad?.toArray() ?? []
            XCTAssertTrue(g.contains { $0 != 0 }, "\(name) has no gradient", file: file, line: line)
        }
    }

    func testCrossSelectiveFusionCountsAndShapes() {
        let csf = CrossSelectiveFusion(studentChannels: student, teacherChannels: teacher)
        XCTAssertEqual(count(csf), 650_304)
        // skfs.0 is the deepest stage (the official list is reversed).
        XCTAssertEqual(csf.stages.modules.map(count), [312_448, 203_712, 86_592, 47_552])
        XCTAssertTrue(csf.namedParameters().contains { $0.0 == "skfs.1.fcs.0.bias" })
        XCTAssertTrue(csf.namedParameters().contains { $0.0 == "skfs.3.fc1.0.weight" })
        csf.train()
        let out = csf(studentFeatures(batch: 2))
        XCTAssertEqual(out.map(\.shape), [[2, 16, 32, 64], [2, 8, 16, 128], [2, 4, 8, 320], [2, 2, 4, 512]])
        out.enumerated().map { ($0.element * Float($0.offset + 1)).mean() }.reduce(Tensor.zeros([]), +).backward()
        // A batch of two takes `fc` (with BN); `fc1` is the batch-of-one path.
        assertEveryParameterHasAGradient(csf, skipping: Set((1...3).map { "skfs.\($0).fc1.0.weight" }))
    }

    func testSelectiveFusionWeightsSumToOneAndBatchOfOneUsesFc1() {
        let sk = SelectiveKernelFusion(inChannels: 8, midChannels: 16, outChannels: 4, fuse: true, squeeze: 8)
        sk.eval()
        let x = Tensor.normal([1, 4, 4, 8]), deeper = Tensor.normal([1, 2, 2, 16])
        // With equal fusion logits (A = B) the two inputs mix half and half.
        sk.fcs![1].weight.assign(from: sk.fcs![0].weight)
        sk.fcs![1].bias!.assign(from: sk.fcs![0].bias!)
        let (_, mid) = withNoGrad { sk(x, deeper: deeper) }
        let expected = withNoGrad { (sk.conv1(x) + interpolateNearest(deeper, size: (4, 4))) * 0.5 }
        assertClose(mid, expected, accuracy: 1e-5, nonTrivial: true)
        sk.train()
        let (out, _) = sk(x, deeper: deeper)
        out.mean().backward()
        XCTAssertNotNil(sk.fc1!.layers[0].parameters[0].1.grad, "a batch of one goes through fc1")
        XCTAssertNil(sk.fc!.layers[0].parameters[0].1.grad, "fc is the path for batches of two or more")
    }

    func testKnowledgeReviewFusionCounts() {
        let kr = KnowledgeReviewFusion(studentChannels: student, teacherChannels: teacher)
        XCTAssertEqual(count(kr), 625_926)
        XCTAssertTrue(kr.namedParameters().contains { $0.0 == "abfs.1.att_conv.0.weight" })
        let out = kr(studentFeatures(batch: 2))
        XCTAssertEqual(out.map(\.shape), [[2, 16, 32, 64], [2, 8, 16, 128], [2, 4, 8, 320], [2, 2, 4, 512]])
        out.map { $0.mean() }.reduce(Tensor.zeros([]), +).backward()
        assertEveryParameterHasAGradient(kr)
    }

    func testEmbeddingModulesAndTotalsEqualTheCounter() throws {
        let pea = PatchEmbeddingAlignment(studentChannels: student, teacherChannels: teacher)
        XCTAssertEqual(count(pea), 193_536)
        XCTAssertEqual(pea.projections.map { count($0.linear) }, [2_112, 8_320, 51_520, 131_584])
        XCTAssertEqual(count(PatchEmbeddingAlignment(studentChannels: student, teacherChannels: teacher, stages: [4])), 131_584)
        let gl = GlobalLocalContextMixer(dim: 256)
        XCTAssertEqual(count(gl), 656_130)
        XCTAssertEqual(Set(gl.namedParameters().map(\.0)), ["attn4.qkv.weight", "attn4.proj.weight", "attn4.proj.bias", "conv1.weight", "conv1.bias",
                                                           "conv2.weight", "conv2.bias", "atten_weight", "conv_weight"])
        let ea = EmbeddingAssistant(studentChannels: student, teacherChannels: teacher)
        XCTAssertEqual(count(ea), 970_952)
        for (i, w) in ea.fuseWeights.values.enumerated() { XCTAssertEqual(w.item(), 0.1 * Float(i + 1), accuracy: 1e-7) }

        // Totals of spec §2.6 with the SegFormer-B0 student (K = 20).
        let b0 = count(try MiTVariant.b0.segmentor(numClasses: 20))
        XCTAssertEqual(b0, 3_719_284)
        XCTAssertEqual(b0 + count(KnowledgeReviewFusion(studentChannels: student, teacherChannels: teacher)), 4_345_210)
        let base = b0 + count(CrossSelectiveFusion(studentChannels: student, teacherChannels: teacher)) + count(pea)
        XCTAssertEqual(base, 4_563_124)
        XCTAssertEqual(base + count(gl), 5_219_254)
        XCTAssertEqual(base + count(ea), 5_534_076)
    }

    func testGlobalLocalMixerMixesAttentionAndGatedConvolution() {
        let gl = GlobalLocalContextMixer(dim: 16, heads: 2)
        let e = Tensor.normal([2, 6, 16], generator: RandomGenerator(seed: 3))
        // With the attention weight at 0 only the gated convolution remains: conv1(e)·σ(conv2(e)),
        // each a kernel-3 convolution along the tokens with zero padding.
        gl.attentionWeight.assign(from: Tensor([0], shape: [1]))
        let local = withNoGrad { gl(e) }
        func conv(_ w: Tensor, _ b: Tensor) -> Tensor {
            // Token t sees t−1, t, t+1 (zero outside): Σ_k x[t+k−1]·W[:, :, k]ᵀ + b.
            let x = e.toArray(), wv = w.toArray(), bv = b.toArray()
            var out = [Float](repeating: 0, count: 2 * 6 * 16)
            for n in 0..<2 { for t in 0..<6 { for o in 0..<16 {
                var s = bv[o]
                for k in 0..<3 where t + k - 1 >= 0 && t + k - 1 < 6 {
                    for i in 0..<16 { s += x[(n * 6 + t + k - 1) * 16 + i] * wv[(o * 16 + i) * 3 + k] }
                }
                out[(n * 6 + t) * 16 + o] = s
            } } }
            return Tensor(out, shape: [2, 6, 16])
        }
        assertClose(local, conv(gl.conv1Weight, gl.conv1Bias) * conv(gl.conv2Weight, gl.conv2Bias).sigmoid(), accuracy: 1e-5, nonTrivial: true)
        gl.attentionWeight.assign(from: Tensor([1], shape: [1]))
        let x = e.detach().copy()
        x.requiresGrad = true
        gl(x).square().mean().backward()
        assertEveryParameterHasAGradient(gl)
    }

    func testEmbeddingAssistantShapesFollowTheTeacher() {
        let ea = EmbeddingAssistant(studentChannels: student, teacherChannels: teacher)
        let image = Tensor.normal([1, 64, 128, 3])
        let features = studentFeatures(batch: 1)
        let inputs = [image] + features.dropLast()
        for m in 0..<4 {
            let projected = Tensor.normal(Array(features[m].shape.prefix(3)) + [teacher[m]])
            XCTAssertEqual(ea.fuse(stage: m, projected: projected, input: inputs[m]).shape, projected.shape)
        }
    }
}
