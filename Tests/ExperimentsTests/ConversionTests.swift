@testable import Experiments
import Foundation
import HDF5Store
import ModelZoo
import NeuralNet
import TensorEngine
import XCTest

/// tools/convert_checkpoint.py in both directions, checked on logits against the PyTorch
/// reference (tools/reference/seaformer_ref.py) with random weights: no network access.
/// Needs python3 with torch and h5py (`python3 -m pip install torch h5py`); skipped otherwise.
final class ConversionTests: XCTestCase {
    func tinySegmentor() throws -> EncoderDecoder {
        try XCTUnwrap(try SeaFormerVariant.tiny.segmentor(numClasses: 6))
    }

    func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map(Swift.abs).max() ?? 1
        return zip(a, b).map { Swift.abs($0 - $1) }.max()! / Swift.max(scale, 1e-6)
    }

    func testOfficialToViTLabAndBackGiveTheSameLogits() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        guard try runPython(["-c", "import torch, h5py"], in: dir).status == 0 else {
            throw XCTSkip("python3 with torch and h5py not available (python3 -m pip install torch h5py): conversion parity not checked")
        }
        let made = try runPython(["tools/reference/conversion_parity.py", "make", dir.path], in: dir)
        XCTAssertEqual(made.status, 0, made.stderr)

        // Official → ViTLab: the converted file loads strictly and gives the reference's logits.
        let model = try tinySegmentor()
        model.eval()
        try model.load(state: TrainingCheckpoint.readModel(from: dir.appendingPathComponent("converted.h5")))
        let ref = try HDF5File.open(dir.appendingPathComponent("reference.h5"), mode: .readOnly)
        let x = Tensor(try ref.read(Float.self, at: "input"), shape: try ref.shape(at: "input"))
        let expected = try ref.read(Float.self, at: "logits")
        try ref.close()
        let logits = withNoGrad { model.logits(x) }
        XCTAssertEqual(logits.shape, [1, 8, 12, 6])
        let forward = maxRelativeError(logits.toArray(), expected)
        XCTAssertLessThan(forward, 1e-4, "official → ViTLab: max relative error \(forward)")

        // ViTLab → official: a ViTLab model of its own (other seed) converted back and loaded by the reference.
        RandomGenerator.manualSeed(42)
        let own = try tinySegmentor()
        // Live batch norms, as the reference's: the segmentation init's γ = 1, β = 0, unit
        // statistics and N(0, 0.01) classifier give logits too small to compare relatively.
        let g = RandomGenerator(seed: 7)
        for (_, m) in own.namedModules() {
            guard let bn = m as? BatchNorm else { continue }
            bn.weight.assign(from: Tensor.uniform(bn.weight.shape, low: 0.5, high: 1.5, generator: g))
            bn.bias.assign(from: Tensor.uniform(bn.bias.shape, low: -0.2, high: 0.2, generator: g))
            bn.runningMean.assign(from: Tensor.uniform(bn.runningMean.shape, low: -0.1, high: 0.1, generator: g))
            bn.runningVar.assign(from: Tensor.uniform(bn.runningVar.shape, low: 0.5, high: 1.5, generator: g))
        }
        own.eval()
        try HDF5File.writeAtomically(to: dir.appendingPathComponent("vitlab.h5")) { f in
            try TrainingCheckpoint.writeTensors(own.stateDict(), under: "model", in: f)
        }
        let back = try runPython(["tools/reference/conversion_parity.py", "reverse", dir.path], in: dir)
        XCTAssertEqual(back.status, 0, back.stderr)
        let rev = try HDF5File.open(dir.appendingPathComponent("reverse.h5"), mode: .readOnly)
        let theirs = try rev.read(Float.self, at: "logits")
        try rev.close()
        let reverse = maxRelativeError(withNoGrad { own.logits(x) }.toArray(), theirs)
        XCTAssertLessThan(reverse, 1e-4, "ViTLab → official: max relative error \(reverse)")
        print("conversion parity: official→ViTLab \(forward), ViTLab→official \(reverse) (max |Δ| / max |logit|)")
    }

    func testUserErrorsExitWithOneLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let r = try runPython(["tools/convert_checkpoint.py", "to-vitlab", "/nonexistent.pth", dir.appendingPathComponent("x.h5").path, "--family", "segformr"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "convert_checkpoint: unknown family 'segformr'; known: seaformer, mit, pvtv2, s2aformer\n")
    }
}
