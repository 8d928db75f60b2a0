import Foundation
import HDF5Store
import ModelZoo
import NeuralNet
import TensorEngine

/// SeaFormer against the deployment runtimes (issue 16's yardsticks), same CPU, same threads,
/// same run, same weights: ViTLab's network and full predict at 512×512 batch 1 and its training
/// step at 8×256×256, beside PyTorch eager, `torch.compile`, ONNX Runtime and OpenVINO from
/// `tools/reference/bench_runtimes.py`, which loads the weights ViTLab writes here. Ratios are
/// the other runtime's time over ViTLab's (above 1: ViTLab is faster).
func runRuntimeBenchmarks(threads: Int, variants: [SeaFormerVariant], quick: Bool) {
    let size = quick ? 128 : 512, trainSize = quick ? 64 : 256, trainBatch = quick ? 2 : 8
    let repeats = quick ? 1 : 10
    let weights = FileManager.default.temporaryDirectory.appendingPathComponent("vitlab-bench-weights-\(getpid())")
    try? FileManager.default.createDirectory(at: weights, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: weights) }

    struct Ours { var net: Double; var predict: Double; var train: Double }
    var ours: [SeaFormerVariant: Ours] = [:]
    for variant in variants {
        RandomGenerator.manualSeed(0)
        let model = try! variant.segmentor(numClasses: 150)
        do {
            try HDF5File.writeAtomically(to: weights.appendingPathComponent("seaformer_\(variant.rawValue).h5")) { f in
                for (key, t) in model.stateDict() { try f.write(t.toArray(), shape: t.shape, at: "model/" + HDF5Path.fromDotted(key)) }
            }
        } catch {
            print("runtimes: could not write the weights for the reference (\(error)); its columns use their own weights")
        }
        model.eval()
        let image = Tensor.normal([1, size, size, 3])
        let net = medianOfRuns(repeats: repeats, warmup: 2) { _ = withNoGrad { model.logits(image) } }
        let predict = medianOfRuns(repeats: repeats, warmup: 2) { _ = model.predict(image) }
        model.train()
        let batch = Tensor.normal([trainBatch, trainSize, trainSize, 3])
        let labels = Tensor((0..<(trainBatch * trainSize * trainSize)).map { Float(($0 / 97) % 150) }, shape: [trainBatch, trainSize, trainSize])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 2.5e-4, weightDecay: 0.01)
        let train = medianOfRuns(repeats: max(1, repeats / 2), warmup: 1) {
            opt.zeroGrad()
            model.loss(batch, labels: labels).backward()
            opt.step()
        }
        ours[variant] = Ours(net: net, predict: predict, train: train)
    }

    let letters = variants.map { String($0.rawValue.prefix(1)).uppercased() }.joined(separator: ",")
    let r = runReferenceScript("bench_runtimes.py", arguments: ["--threads", String(threads), "--models", letters, "--weights", weights.path]
                               + (quick ? ["--quick"] : []))
    print("\n## SeaFormer against the deployment runtimes (\(threads) threads, same run, same weights)\n")
    print("Inference at \(size)×\(size), batch 1; each cell is ms, and in brackets the runtime's time over ViTLab's.\n")
    print("| model | part | ViTLab | PyTorch eager | torch.compile | ONNX Runtime | OpenVINO |")
    print("|---|---|---:|---:|---:|---:|---:|")
    func cell(_ row: [String: Any]?, _ key: String, _ mine: Double) -> String {
        guard let v = row?[key] as? Double else { return "–" }
        return "\(ms1(v)) (\(speedup(reference: v, ours: mine)))"
    }
    for variant in variants {
        guard let o = ours[variant] else { continue }
        let row = r.rows["seaformer_\(variant.rawValue)_infer_\(size)_b1"]
        print("| \(variant.rawValue) | network | \(ms1(o.net)) | \(cell(row, "eager_net_ms", o.net)) | \(cell(row, "compile_net_ms", o.net)) | \(cell(row, "ort_net_ms", o.net)) | \(cell(row, "openvino_net_ms", o.net)) |")
        print("| \(variant.rawValue) | predict | \(ms1(o.predict)) | \(cell(row, "eager_ms", o.predict)) | \(cell(row, "compile_ms", o.predict)) | \(cell(row, "ort_ms", o.predict)) | \(cell(row, "openvino_ms", o.predict)) |")
    }
    print("\nTraining step at \(trainBatch)×\(trainSize)×\(trainSize) (forward, loss at label size, backward, AdamW):\n")
    print("| model | ViTLab | PyTorch eager | torch.compile | compile time s |")
    print("|---|---:|---:|---:|---:|")
    for variant in variants {
        guard let o = ours[variant] else { continue }
        let row = r.rows["seaformer_\(variant.rawValue)_train_\(trainSize)_b\(trainBatch)"]
        print("| \(variant.rawValue) | \(ms1(o.train)) | \(cell(row, "eager_ms", o.train)) | \(cell(row, "compile_ms", o.train)) | \((row?["compile_compile_s"] as? Double).map { String($0) } ?? "–") |")
    }
    if let skipped = r.skipped { print("\n\(skipped)") } else {
        print("\nPyTorch \(r.torchVersion); torch.compile compile times (s) are apart from the step: "
              + variants.compactMap { v in (r.rows["seaformer_\(v.rawValue)_infer_\(size)_b1"]?["compile_compile_s"] as? Double).map { "\(v.rawValue) predict \($0)" } }.joined(separator: ", "))
        if let missing = r.extra["skipped"] as? [String: String], !missing.isEmpty {
            print("Columns left empty: " + missing.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; "))
        }
    }
}
