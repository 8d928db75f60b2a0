import Foundation
import XCTest
import HDF5Store
import NeuralNet
import TensorEngine

/// What the PyTorch parity tests share (MiTParityTests, S2AFormerParityTests): the reference
/// files `tools/reference/parity.py` writes (generated on first use — it needs PyTorch; without
/// it the test skips and says so; VITLAB_PARITY_DIR reuses a directory), a strict load of their
/// weights and the error measure, max |Δ| / max |ref|.
enum PyTorchParity {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let directory = ProcessInfo.processInfo.environment["VITLAB_PARITY_DIR"]
        ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vitlab-parity-v1").path

    /// The file of `model`, regenerated when it is older than parity.py or `reference` (the
    /// `tools/reference/` script that defines the model).
    static func referenceFile(_ model: String, reference: String) throws -> URL {
        let url = URL(fileURLWithPath: directory).appendingPathComponent("\(model).h5")
        let script = repoRoot.appendingPathComponent("tools/reference/parity.py").path
        let referencePath = repoRoot.appendingPathComponent("tools/reference/\(reference)").path
        func modified(_ path: String) -> Date? { (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date }
        // A cached file is reused only while it is newer than the scripts that wrote it.
        if let made = modified(url.path), [script, referencePath].allSatisfy({ (modified($0) ?? .distantPast) <= made }) { return url }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, "--out", directory, "--models", model]
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

    static func tensor(_ file: HDF5File, _ path: String) throws -> Tensor {
        Tensor(try file.read(Float.self, at: path), shape: try file.shape(at: path))
    }

    /// Loads the file's weights into `model` strictly, puts it in eval mode, runs `forward` on the
    /// file's input and returns (max |Δ| / max |ref|, max |ref|).
    static func compare(_ model: Module, name: String, reference: String, forward: (Tensor) -> Tensor) throws -> (Float, Float) {
        let file = try HDF5File.open(try referenceFile(name, reference: reference))
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
        let output = withNoGrad { forward(input) }
        XCTAssertEqual(output.shape, expected.shape)
        let a = output.toArray(), b = expected.toArray()
        let scale = b.map(Swift.abs).max() ?? 0
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? .infinity
        return (err / Swift.max(scale, 1e-12), scale)
    }
}
