@testable import Experiments
import Foundation
import HDF5Store
import ModelZoo
import NeuralNet
import TensorEngine
import XCTest

/// tools/convert_checkpoint.py in both directions for every family, checked on logits against
/// the PyTorch references (tools/reference/conversion_parity.py) with random weights: no network
/// access. Needs python3 with torch and h5py (`python3 -m pip install torch h5py`); skipped
/// otherwise, with a message.
final class ConversionTests: XCTestCase {
    /// The ViTLab model of each `conversion_parity.py` model name, as the reference builds it.
    static let models: [(name: String, family: String, build: () throws -> EncoderDecoder)] = [
        ("seaformer_t", "seaformer", { try XCTUnwrap(try SeaFormerVariant.tiny.segmentor(numClasses: 6)) }),
        ("segformer_b0", "mit", { try MiTVariant.b0.segmentor(numClasses: 20) }),
        ("pvtv2_b0", "pvtv2", { try PVTv2Variant.b0.segmentor(numClasses: 20) }),
        ("lvt", "lvt", { try LVT.segmentor(numClasses: 20) }),
        ("s2aformer_mini_fpn", "s2aformer", { try S2AFormerVariant.mini.segmentor(numClasses: 20) }),
        ("xformer_segformer", "xformer", {
            let backbone = XFormerBackbone(imageSize: (70, 90))
            let head = AllMLPHead(inChannels: backbone.outChannels, embedDim: 256, numClasses: 19, projection: .convModule)
            return try EncoderDecoder(backbone: backbone, head: head, numClasses: 19)
        }),
    ]

    func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
        let scale = b.map(Swift.abs).max() ?? 1
        return zip(a, b).map { Swift.abs($0 - $1) }.max()! / Swift.max(scale, 1e-6)
    }

    /// Redraws every tensor of `model`: weights keep their scale (normal with the tensor's own
    /// standard deviation), and every norm affine, bias and running statistic gets a non-trivial
    /// value (the initial γ = 1, β = 0, unit statistics and small classifiers give logits too
    /// small to compare relatively).
    func redraw(_ model: Module, seed: UInt64) throws {
        let g = RandomGenerator(seed: seed)
        var state: [String: Tensor] = [:]
        for (key, t) in model.stateDict() where t.count > 0 && !key.hasSuffix("num_batches_tracked") {
            if key.hasSuffix("running_var") {
                state[key] = Tensor.uniform(t.shape, low: 0.5, high: 1.5, generator: g)
            } else if key.hasSuffix("running_mean") || key.hasSuffix("bias") {
                state[key] = Tensor.uniform(t.shape, low: -0.2, high: 0.2, generator: g)
            } else if t.shape.count == 1 {
                state[key] = Tensor.uniform(t.shape, low: 0.5, high: 1.5, generator: g)
            } else {
                let v = t.toArray(), mean = v.reduce(0, +) / Float(v.count)
                let std = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(v.count)).squareRoot()
                state[key] = Tensor.normal(t.shape, std: std > 0 ? std : 0.02, generator: g)
            }
        }
        try model.load(state: state, strict: false)
    }

    func testTheFamilyListMatchesTheConverter() throws {
        let dir = try temporaryDirectory()
        let r = try runPython(["tools/reference/conversion_parity.py", "models"], in: dir)
        if r.status == 3 { throw XCTSkip("python3 with torch not available (python3 -m pip install torch h5py)") }
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, Self.models.map { "\($0.name) \($0.family)\n" }.joined())
        let families = try runPython(["tools/convert_checkpoint.py", "families"], in: dir)
        XCTAssertEqual(families.stdout, "seaformer: 0 renames\nmit: 0 renames\npvtv2: 0 renames\nlvt: 3 renames\ns2aformer: 0 renames\nxformer: 0 renames\n")
    }

    /// Official → ViTLab: each reference model's checkpoint, converted, loads strictly and gives
    /// the reference's logits. ViTLab → official: the same ViTLab model with every tensor redrawn
    /// (weights that never came from PyTorch), converted back, loads strictly into the reference
    /// and gives ViTLab's logits. One Python process per direction for all families.
    func testOfficialToViTLabAndBackGiveTheSameLogitsForEveryFamily() throws {
        let dir = try temporaryDirectory()
        guard try runPython(["-c", "import torch, h5py"], in: dir).status == 0 else {
            throw XCTSkip("python3 with torch and h5py not available (python3 -m pip install torch h5py): conversion parity not checked")
        }
        let made = try runPython(["tools/reference/conversion_parity.py", "make", dir.path, "--model", "all"], in: dir)
        XCTAssertEqual(made.status, 0, made.stderr)
        guard made.status == 0 else { return }
        var ours: [String: [Float]] = [:], forward: [String: Float] = [:]
        for (name, family, build) in Self.models {
            let model = try build()
            model.eval()
            try model.load(state: TrainingCheckpoint.readModel(from: dir.appendingPathComponent("\(name).converted.h5")))
            let ref = try HDF5File.open(dir.appendingPathComponent("\(name).reference.h5"), mode: .readOnly)
            let x = Tensor(try ref.read(Float.self, at: "input"), shape: try ref.shape(at: "input"))
            let expected = try ref.read(Float.self, at: "logits")
            let expectedShape = try ref.shape(at: "logits")
            try ref.close()
            let logits = withNoGrad { model.logits(x) }
            XCTAssertEqual(logits.shape, expectedShape, name)
            forward[name] = maxRelativeError(logits.toArray(), expected)
            XCTAssertLessThan(forward[name]!, 1e-4, "\(family) official → ViTLab: max relative error \(forward[name]!)")

            try redraw(model, seed: 7)
            try HDF5File.writeAtomically(to: dir.appendingPathComponent("\(name).vitlab.h5")) { f in
                try TrainingCheckpoint.writeTensors(model.stateDict(), under: "model", in: f)
            }
            ours[name] = withNoGrad { model.logits(x) }.toArray()
        }
        let back = try runPython(["tools/reference/conversion_parity.py", "reverse", dir.path, "--model", "all"], in: dir)
        XCTAssertEqual(back.status, 0, back.stderr)
        guard back.status == 0 else { return }
        for (name, family, _) in Self.models {
            let rev = try HDF5File.open(dir.appendingPathComponent("\(name).reverse.h5"), mode: .readOnly)
            let theirs = try rev.read(Float.self, at: "logits")
            try rev.close()
            XCTAssertGreaterThan(theirs.map(Swift.abs).max() ?? 0, 1e-3, "\(name): reverse logits trivially small")
            let reverse = maxRelativeError(ours[name]!, theirs)
            XCTAssertLessThan(reverse, 1e-4, "\(family) ViTLab → official: max relative error \(reverse)")
            print("conversion parity \(family) (\(name)): official→ViTLab \(forward[name]!), ViTLab→official \(reverse) (max |Δ| / max |logit|)")
        }
    }

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("convert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testUserErrorsExitWithOneLine() throws {
        let dir = try temporaryDirectory()
        let r = try runPython(["tools/convert_checkpoint.py", "to-vitlab", "/nonexistent.pth", dir.appendingPathComponent("x.h5").path, "--family", "segformr"], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr, "convert_checkpoint: unknown family 'segformr'; known: seaformer, mit, pvtv2, lvt, s2aformer, xformer\n")
    }
}
