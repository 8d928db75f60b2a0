import Foundation
import HDF5Store
import NeuralNet
import TensorEngine
import XCTest
@testable import ModelZoo

/// The distillation modules against their PyTorch references (tools/reference/distill_ref.py,
/// written from the specs in NCHW with the official key names): a CSF stage and a Knowledge
/// Review stage with fusion, the GL-Mixer and SeaFormer++'s upsample module, each loaded strictly
/// with the reference's perturbed weights and compared in eval mode to 1e-4 of the largest output.
/// The references are generated on first use (they need PyTorch; without it the test skips).
final class DistillationParityTests: XCTestCase {
    static let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vitlab-distill-parity-\(getpid())")

    override class func tearDown() { try? FileManager.default.removeItem(at: directory) }

    static func referenceFiles() throws -> URL {
        if FileManager.default.fileExists(atPath: directory.appendingPathComponent("upsample.h5").path) { return directory }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", PyTorchParity.repoRoot.appendingPathComponent("tools/reference/distill_ref.py").path, directory.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        if p.terminationStatus == 3 || stderr.contains("No module named") {
            throw XCTSkip("distillation parity: PyTorch/h5py not installed (python3 -m pip install -r tools/reference/requirements.txt)")
        }
        guard p.terminationStatus == 0 else {
            XCTFail("tools/reference/distill_ref.py failed (exit \(p.terminationStatus)): \(stderr)")
            throw XCTSkip("reference generation failed")
        }
        return directory
    }

    /// Loads `name`'s weights into `module` strictly and returns the file's tensors.
    func reference(_ name: String, into module: Module) throws -> [String: Tensor] {
        let file = try HDF5File.open(try Self.referenceFiles().appendingPathComponent("\(name).h5"))
        defer { try? file.close() }
        let shapes = module.stateDict().mapValues(\.shape)
        var state: [String: Tensor] = [:]
        for key in try file.children("weights") {
            let t = try PyTorchParity.tensor(file, "weights/\(key)")
            state[key] = shapes[key] == [] && t.count == 1 ? t.reshape([]) : t
        }
        try module.load(state: state)
        module.eval()
        var tensors: [String: Tensor] = [:]
        for key in ["x", "y", "out", "mid"] where (try? file.shape(at: key)) != nil { tensors[key] = try PyTorchParity.tensor(file, key) }
        return tensors
    }

    func assertMatches(_ ours: Tensor, _ theirs: Tensor, _ what: String) {
        XCTAssertEqual(ours.shape, theirs.shape, what)
        let a = ours.toArray(), b = theirs.toArray()
        let scale = b.map(Swift.abs).max() ?? 0
        let err = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? .infinity
        XCTAssertGreaterThan(scale, 1e-2, "\(what): reference output trivially small")
        XCTAssertLessThan(err / Swift.max(scale, 1e-12), 1e-4, "\(what): max |Δ| \(err), max |ref| \(scale)")
    }

    func testFusionStagesMatchPyTorch() throws {
        let sk = SelectiveKernelFusion(inChannels: 24, midChannels: 16, outChannels: 20, fuse: true, squeeze: 8)
        let r = try reference("sk", into: sk)
        let (out, mid) = withNoGrad { sk(r["x"]!, deeper: r["y"]!) }
        assertMatches(out, r["out"]!, "CSF stage output")
        assertMatches(mid, r["mid"]!, "CSF stage mid")
        let abf = AttentionBasedFusion(inChannels: 24, midChannels: 16, outChannels: 20, fuse: true)
        let a = try reference("abf", into: abf)
        let (aOut, aMid) = withNoGrad { abf(a["x"]!, deeper: a["y"]!) }
        assertMatches(aOut, a["out"]!, "ABF output")
        assertMatches(aMid, a["mid"]!, "ABF mid")
    }

    func testGlobalLocalMixerAndUpsampleModuleMatchPyTorch() throws {
        let gl = GlobalLocalContextMixer(dim: 32, heads: 4)
        let g = try reference("gl", into: gl)
        assertMatches(withNoGrad { gl(g["x"]!) }, g["out"]!, "GL-Mixer")
        let up = FeatureUpsampleModule(channels: 16, guideChannels: 8)
        let u = try reference("upsample", into: up)
        assertMatches(withNoGrad { up(u["x"]!, previous: u["y"]!) }, u["out"]!, "upsample module")
    }
}
