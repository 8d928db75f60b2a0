import Foundation
import XCTest
import HDF5Store
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
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = ProcessInfo.processInfo.environment["VITLAB_PARITY_DIR"]
        ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vitlab-parity-v1").path

    func referenceFile(_ model: String) throws -> URL {
        let url = URL(fileURLWithPath: Self.directory).appendingPathComponent("\(model).h5")
        let script = Self.repoRoot.appendingPathComponent("tools/reference/parity.py").path
        let reference = Self.repoRoot.appendingPathComponent("tools/reference/mit_ref.py").path
        func modified(_ path: String) -> Date? { (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        // A cached file is reused only while it is newer than the scripts that wrote it.
        if let made = modified(url.path), [script, reference].allSatisfy({ (modified($0) ?? .distantPast) <= made }) { return url }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, "--out", Self.directory, "--models", model]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch {
            throw XCTSkip("PyTorch parity: cannot run python3 (\(error)), so the reference logits cannot be generated; see tools/reference/README.md")
        }
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        switch p.terminationStatus {
        case 0: return url
        case 3, 127:
            throw XCTSkip("PyTorch parity: PyTorch is not installed, so tools/reference/parity.py cannot generate the reference (python3 -m pip install torch h5py; see tools/reference/README.md): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        default:
            if stderr.contains("No module named 'h5py'") || stderr.contains("No module named 'numpy'") {
                throw XCTSkip("PyTorch parity: h5py/numpy missing for tools/reference/parity.py (python3 -m pip install -r tools/requirements.txt)")
            }
            XCTFail("tools/reference/parity.py failed (exit \(p.terminationStatus)): \(stderr)")
            throw XCTSkip("reference generation failed")
        }
    }

    func tensor(_ file: HDF5File, _ path: String) throws -> Tensor {
        Tensor(try file.read(Float.self, at: path), shape: try file.shape(at: path))
    }

    /// Loads the reference weights strictly, runs the model and returns (max |Δ| / max |ref|, ref max).
    func compare(_ model: EncoderDecoder, name: String) throws -> (Float, Float) {
        let file = try HDF5File.open(try referenceFile(name))
        defer { try? file.close() }
        var state: [String: Tensor] = [:]
        let shapes = model.stateDict().mapValues(\.shape)
        for key in try file.children("weights") {
            let t = try tensor(file, "weights/\(key)")
            // HDF5 scalars (num_batches_tracked) read back as one element; the model holds them as rank 0.
            state[key] = shapes[key] == [] && t.count == 1 ? t.reshape([]) : t
        }
        try model.load(state: state)
        model.eval()
        let input = try tensor(file, "input"), expected = try tensor(file, "logits")
        let logits = withNoGrad { model.logits(input) }
        XCTAssertEqual(logits.shape, expected.shape)
        let a = logits.toArray(), b = expected.toArray()
        let scale = b.map(Swift.abs).max() ?? 0
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? .infinity
        return (err / Swift.max(scale, 1e-12), scale)
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
