import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// ViTLab's SegFormer-B0 and PVTv2-B0 + Semantic FPN against the independent PyTorch reference
/// (tools/reference/mit_ref.py): `parity.py` exports fixed random weights under the official
/// state_dict keys (conv OIHW → OHWI), an NHWC input of 70×90 (which 32 does not divide) and the
/// reference logits (float64); the weights load strictly and the logits must agree to 1e-4 of
/// their largest magnitude. The reference file is generated on first use (it needs PyTorch;
/// without it the test skips and says so); set VITLAB_PARITY_DIR to reuse a directory.
final class MiTParityTests: XCTestCase {
    func compare(_ model: EncoderDecoder, name: String) throws -> (Float, Float) {
        try PyTorchParity.compare(model, name: name, reference: "mit_ref.py") { model.logits($0) }
    }

    func testSegFormerB0MatchesPyTorch() throws {
        let (rel, scale) = try compare(try MiTVariant.b0.segmentor(numClasses: 20), name: "segformer_b0")
        print("PyTorch parity segformer_b0 (2×70×90): max |Δ| / max |ref| = \(rel) (max |ref| \(scale))")
        XCTAssertGreaterThan(scale, 1e-2, "reference logits are trivially small")
        XCTAssertLessThan(rel, 1e-4)
    }

    func testPVTv2B0WithSemanticFPNMatchesPyTorch() throws {
        let (rel, scale) = try compare(try PVTv2Variant.b0.segmentor(numClasses: 20), name: "pvtv2_b0")
        print("PyTorch parity pvtv2_b0 + FPN (2×70×90): max |Δ| / max |ref| = \(rel) (max |ref| \(scale))")
        XCTAssertGreaterThan(scale, 1e-2, "reference logits are trivially small")
        XCTAssertLessThan(rel, 1e-4)
    }
}

extension MiTParityTests {
    /// LVT exercises unfold/fold, the per-tap grouped conv of CSA, the dilated shared-weight q-conv
    /// and RASA's recursion against the reference.
    func testLVTMatchesPyTorch() throws {
        let (rel, scale) = try compare(try LVT.segmentor(numClasses: 20), name: "lvt")
        print("PyTorch parity lvt (2×70×90): max |Δ| / max |ref| = \(rel) (max |ref| \(scale))")
        XCTAssertGreaterThan(scale, 1e-2, "reference logits are trivially small")
        XCTAssertLessThan(rel, 1e-4)
    }
}
