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
        print("| \(r.name) | \(ms1(r.ms)) | \(ms1(t?.ms)) | \(speedup(reference: t?.ms, ours: r.ms)) | \(ms1(r.netMs)) | \(ms1(t?.netMs)) | \(ms1(r.peakMB)) | \(ms1(t?.rssMB)) |")
    }
    print("\nViTLab peak MB: tensor memory of the step above what was live before it (BufferPool.peakBytes).")
    print("PyTorch peak RSS: the whole process (getrusage maxrss), in a fresh process per row; layout = its fastest of NCHW/channels_last.")
    if let note = torch.note { print("\n\(note)") }
}

struct TorchRow { var ms: Double; var netMs: Double?; var rssMB: Double? }

/// The SeaFormer rows of `bench_torch.py`; an explanation instead when it cannot run.
func torchReference(threads: Int, variants: [SeaFormerVariant], quick: Bool) -> (rows: [String: TorchRow], note: String?) {
    let letters = variants.map { String($0.rawValue.prefix(1)).uppercased() }.joined(separator: ",")
    let r = runReferenceScript("bench_torch.py", arguments: ["--threads", String(threads), "--models", letters] + (quick ? ["--quick"] : []))
    if let skipped = r.skipped { return ([:], skipped) }
    let rows = r.rows.compactMapValues { row -> TorchRow? in
        guard let ms = row["ms"] as? Double else { return nil }
        return TorchRow(ms: ms, netMs: row["net_ms"] as? Double, rssMB: row["maxrss_mb"] as? Double)
    }
    return (rows, "PyTorch \(r.torchVersion), \(threads) threads (torch.set_num_threads), eager mode.")
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
