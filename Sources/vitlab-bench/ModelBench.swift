import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// SeaFormer-T and -S end to end, against PyTorch eager on the same CPU in the same run:
/// inference at 512×512 batch 1 (network + upsample + argmax, as mmseg's whole mode) and one
/// training step at batch 8 × 256×256 (forward, loss at label resolution, backward, AdamW).
/// The PyTorch column comes from `tools/reference/bench_torch.py` (skipped with a message when
/// torch is not installed).
func runModelBenchmarks(threads: Int, repeats: Int, trainRepeats: Int, variants: [SeaFormerVariant], quick: Bool) {
    struct Row { var name: String; var ms: Double; var netMs: Double?; var peakMB: Double }
    var rows: [Row] = []
    let classes = 150
    let inferSize = quick ? 128 : 512, trainSize = quick ? 64 : 256, trainBatch = quick ? 2 : 8
    for variant in variants {
        RandomGenerator.manualSeed(0)
        let model = try! variant.segmentor(numClasses: classes)
        // Inference.
        model.eval()
        let image = Tensor.normal([1, inferSize, inferSize, 3])
        BufferPool.shared.resetPeak()
        let base = BufferPool.shared.liveBytes
        let full = medianOfRuns(repeats: repeats, warmup: 2) { _ = withNoGrad { model.predict(image) } }
        let net = medianOfRuns(repeats: repeats, warmup: 1) { _ = withNoGrad { model.logits(image) } }
        rows.append(Row(name: "seaformer_\(variant.rawValue)_infer_\(inferSize)_b1", ms: full, netMs: net,
                        peakMB: Double(BufferPool.shared.peakBytes - base) / 1_048_576))
        // Training step.
        model.train()
        let batch = Tensor.normal([trainBatch, trainSize, trainSize, 3])
        let labels = Tensor(Tensor.uniform([trainBatch, trainSize, trainSize]).toArray().map { Float(Int($0 * Float(classes)) % classes) },
                            shape: [trainBatch, trainSize, trainSize])
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 2.5e-4, weightDecay: 0.01)
        BufferPool.shared.resetPeak()
        let trainBase = BufferPool.shared.liveBytes
        let step = medianOfRuns(repeats: trainRepeats, warmup: 1) {
            opt.zeroGrad()
            model.loss(batch, labels: labels).backward()
            opt.step()
        }
        rows.append(Row(name: "seaformer_\(variant.rawValue)_train_\(trainSize)_b\(trainBatch)", ms: step, netMs: nil,
                        peakMB: Double(BufferPool.shared.peakBytes - trainBase) / 1_048_576))
    }

    let torch = torchReference(threads: threads, variants: variants, quick: quick)
    print("\n## SeaFormer end to end (\(threads) threads; ViTLab vs PyTorch eager, same run)\n")
    print("| row | ViTLab ms | PyTorch ms | PyTorch / ViTLab | ViTLab net ms | PyTorch net ms | ViTLab peak MB | PyTorch peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows {
        let t = torch.rows[r.name]
        func f(_ v: Double?) -> String { v.map { String(format: "%.1f", $0) } ?? "–" }
        let ratio = t.map { String(format: "%.2f×", $0.ms / r.ms) } ?? "–"
        print("| \(r.name) | \(f(r.ms)) | \(f(t?.ms)) | \(ratio) | \(f(r.netMs)) | \(f(t?.netMs)) | \(f(r.peakMB)) | \(f(t?.rssMB)) |")
    }
    print("\nViTLab peak MB: tensor memory of the step above what was live before it (BufferPool.peakBytes).")
    print("PyTorch peak RSS: the whole process (getrusage maxrss), in a fresh process per row; layout = its fastest of NCHW/channels_last.")
    if let note = torch.note { print("\n\(note)") }
}

struct TorchRow { var ms: Double; var netMs: Double?; var rssMB: Double? }

/// Runs the PyTorch reference script and reads its JSON; an explanation instead when it cannot.
func torchReference(threads: Int, variants: [SeaFormerVariant], quick: Bool) -> (rows: [String: TorchRow], note: String?) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/reference/bench_torch.py").path
    guard FileManager.default.fileExists(atPath: script) else {
        return ([:], "PyTorch column skipped: \(script) not found.")
    }
    let letters = variants.map { String($0.rawValue.prefix(1)).uppercased() }.joined(separator: ",")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, "--threads", String(threads), "--models", letters] + (quick ? ["--quick"] : [])
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return ([:], "PyTorch column skipped: could not run python3 (\(error)).") }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus == 3 {
        return ([:], "PyTorch column skipped: torch is not installed (pip install torch), so there is no reference in this run.")
    }
    guard p.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let list = json["rows"] as? [[String: Any]] else {
        return ([:], "PyTorch column skipped: bench_torch.py failed (exit \(p.terminationStatus)); run it by hand to see why.")
    }
    var rows: [String: TorchRow] = [:]
    for r in list {
        guard let name = r["name"] as? String, let ms = r["ms"] as? Double else { continue }
        rows[name] = TorchRow(ms: ms, netMs: r["net_ms"] as? Double, rssMB: r["maxrss_mb"] as? Double)
    }
    let version = json["torch_version"] as? String ?? "?"
    return (rows, "PyTorch \(version), \(threads) threads (torch.set_num_threads), eager mode.")
}

/// Median wall time in ms of `repeats` runs after `warmup` runs.
func medianOfRuns(repeats: Int, warmup: Int, _ body: () -> Void) -> Double {
    for _ in 0..<warmup { body() }
    var times: [Double] = []
    for _ in 0..<max(repeats, 1) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
    }
    times.sort()
    return times[times.count / 2]
}
