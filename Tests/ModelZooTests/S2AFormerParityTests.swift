import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// ViTLab's S2AFormer against the independent PyTorch reference (tools/reference/s2aformer_ref.py,
/// written from spec/s2aformer.md §1–2): `parity.py` exports fixed random weights under the
/// reference's state_dict keys (conv OIHW → OHWI), an NHWC input of 70×90 (which neither 32 nor
/// the reductions 8/4/2 divide, so every floor is exercised) and the reference output (float64);
/// the weights load strictly — the Swift module paths are the reference's keys — and the output
/// must agree to 1e-4 of its largest magnitude. Without PyTorch the tests skip and say so.
final class S2AFormerParityTests: XCTestCase {
    func check(_ model: Module, _ name: String, _ what: String, forward: (Tensor) -> Tensor) throws {
        let (rel, scale) = try PyTorchParity.compare(model, name: name, reference: "s2aformer_ref.py", forward: forward)
        print("PyTorch parity \(name) (\(what)): max |Δ| / max |ref| = \(rel) (max |ref| \(scale))")
        XCTAssertGreaterThan(scale, 1e-2, "reference output is trivially small")
        XCTAssertLessThan(rel, 1e-4)
    }

    /// The classifier: stem, every stage's SSA (reductions 8/4/2/1), LIM, IRFFN, the 1280 head
    /// and the two averaged classifiers.
    func testMiniClassifierMatchesPyTorch() throws {
        let model = S2AFormerVariant.mini.classifier(numClasses: 10)
        try check(model, "s2aformer_mini_cls", "logits") { model($0) }
    }

    /// One hybrid perception block (C 64, 2 heads, k = 4) on a 2×29×37 map: SSA with conv and with
    /// pooling reduction.
    func testHybridPerceptionBlockMatchesPyTorch() throws {
        for (name, reduction) in [("s2aformer_hpb", SpatialReductionKind.conv), ("s2aformer_hpb_pool", .pool)] {
            let shape = S2AFormerVariant.mini.architecture.attentionShapes[1]
            let block = HybridPerceptionBlock(dim: 64, attention: SSAConfig(reduction: reduction).build(shape))
            try check(block, name, "block output") { block($0) }
        }
    }

    /// S2AFormer-mini + FPN + Semantic FPN with BN (`fpn_head`, `norm: bn`).
    func testMiniSemanticFPNMatchesPyTorch() throws {
        let model = try S2AFormerVariant.mini.segmentor(numClasses: 20)
        try check(model, "s2aformer_mini_fpn", "logits") { model.logits($0) }
    }
}
