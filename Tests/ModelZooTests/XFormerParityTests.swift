import Foundation
import XCTest
import NeuralNet
import TensorEngine
@testable import ModelZoo

/// ViTLab's XFormer against the independent PyTorch reference (tools/reference/xformer_ref.py,
/// written from spec/xformer.md §1–2 in NCHW and MobileViT's [B·P, N, E] token layout):
/// `parity.py` exports fixed random weights under the reference's keys, a 2×70×90 input (odd
/// XF maps in every stage, so the resize-to-even unfold runs) and the float64 output; the
/// weights load strictly and the output must agree to 1e-4 of its largest magnitude. The
/// classifier's w_c are sized for 224 and resampled at run time; the segmentor's are sized for
/// 70×90. Without PyTorch the tests skip and say so.
final class XFormerParityTests: XCTestCase {
    func check(_ model: Module, _ name: String, forward: (Tensor) -> Tensor) throws {
        let (rel, scale) = try PyTorchParity.compare(model, name: name, reference: "xformer_ref.py", forward: forward)
        print("PyTorch parity \(name): max |Δ| / max |ref| = \(rel) (max |ref| \(scale))")
        XCTAssertGreaterThan(scale, 1e-2, "reference output is trivially small")
        XCTAssertLessThan(rel, 1e-4)
    }

    func testClassifierMatchesPyTorch() throws {
        let xfa = XFormerClassifier(backbone: XFormerBackbone(), numClasses: 10)
        try check(xfa, "xformer_cls") { xfa($0) }
        let mhsa = XFormerClassifier(backbone: XFormerBackbone(attention: MHSAConfig()), numClasses: 10)
        try check(mhsa, "xformer_mhsa_cls") { mhsa($0) }
    }

    func testSegmentorMatchesPyTorch() throws {
        let backbone = XFormerBackbone(imageSize: (70, 90))
        let head = AllMLPHead(inChannels: backbone.outChannels, embedDim: 256, numClasses: 19, projection: .convModule)
        let model = try EncoderDecoder(backbone: backbone, head: head, numClasses: 19)
        try check(model, "xformer_segformer") { model.logits($0) }
    }
}
