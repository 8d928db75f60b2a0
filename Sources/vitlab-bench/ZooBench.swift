import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// The model-zoo rows (issues 13 and 14) against PyTorch eager on the same CPU in the same run:
/// SegFormer-B0 at TransKD's 512×1024 (inference and a batch-2 training step), MiT-B0's stage-1
/// attention alone (32768 queries against 512 reduced keys: matmul and softmax), XFormer and
/// S2AFormer-T classifiers at 224 (inference, a batch-8 step, S2AFormer's Table V throughput at
/// batch 16) and the XFormer segmentor at Cityscapes' full 1024×2048. The PyTorch column comes
/// from `tools/reference/bench_zoo_torch.py` on the reference models (skipped with a message when
/// torch is not installed). Row names are shared with that script.
func runZooBenchmarks(threads: Int, quick: Bool) {
    let repeats = quick ? 1 : 5, warmup = quick ? 1 : 2
    let (segH, segW) = quick ? (128, 256) : (512, 1024)
    let cls = quick ? 64 : 224
    let (xsH, xsW) = quick ? (128, 256) : (1024, 2048)

    struct Row { var name: String; var ms: Double; var netMs: Double?; var note: String }
    var rows: [Row] = []

    func infer(_ name: String, _ model: any TaskModel, _ shape: [Int], predict: Bool, repeats: Int = repeats, note: String = "") {
        model.eval()
        let x = Tensor.normal(shape)
        let net = medianOfRuns(repeats: repeats, warmup: warmup) { _ = withNoGrad { model.measuredForward(x) } }
        if predict {
            let full = medianOfRuns(repeats: repeats, warmup: warmup) { _ = model.predict(x, mode: .whole, outputSize: nil) }
            rows.append(Row(name: name, ms: full, netMs: net, note: note))
        } else {
            rows.append(Row(name: name, ms: net, netMs: nil, note: note))
        }
    }

    func train(_ name: String, _ model: any TaskModel, _ shape: [Int], labels: Tensor) {
        model.train()
        let x = Tensor.normal(shape)
        let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: 6e-5, weightDecay: 0.01)
        let step = medianOfRuns(repeats: repeats, warmup: warmup) {
            opt.zeroGrad()
            model.losses(images: x, labels: labels).total.backward()
            opt.step()
        }
        rows.append(Row(name: name, ms: step, netMs: nil, note: ""))
    }

    func classLabels(_ n: Int, _ classes: Int) -> Tensor {
        Tensor((0..<n).map { Float(($0 * 7919) % classes) }, shape: [n])
    }

    // SegFormer-B0, K = 20 (TransKD's Cityscapes output with the void channel).
    RandomGenerator.manualSeed(0)
    let segformer = try! MiTVariant.b0.segmentor(numClasses: 20)
    infer("segformer_b0_infer_\(segH)x\(segW)_b1", segformer, [1, segH, segW, 3], predict: true)
    let segLabels = Tensor((0..<(2 * segH * segW)).map { Float(($0 / 64) % 20) }, shape: [2, segH, segW])
    train("segformer_b0_train_\(segH)x\(segW)_b2", segformer, [2, segH, segW, 3], labels: segLabels)

    // MiT-B0 stage 1 attention alone: C 32, 1 head, sr 8 on the 1/4 map.
    let attention = SpatialReductionAttention(dim: 32, heads: 1, ratio: 8)
    let tokens = Tensor.normal([2, segH / 4, segW / 4, 32])
    let one = tokens.narrow(axis: 0, start: 0, length: 1)
    let fwd = medianOfRuns(repeats: repeats * 2, warmup: warmup) { _ = withNoGrad { attention(one) } }
    tokens.requiresGrad = true
    let g = Tensor.normal(tokens.shape)
    let fwdBwd = medianOfRuns(repeats: repeats * 2, warmup: warmup) {
        tokens.grad = nil
        for (_, p) in attention.namedParameters() { p.grad = nil }
        attention(tokens).backward(g)
    }
    rows.append(Row(name: "mit_b0_stage1_attn_\(segH)x\(segW)_b2", ms: fwdBwd, netMs: fwd,
                    note: "ms: forward + backward at batch 2; net: forward at batch 1"))

    // XFormer classifier (1000 classes) and the Cityscapes segmentor at 1024×2048.
    RandomGenerator.manualSeed(0)
    let xformer = XFormerClassifier(backbone: XFormerBackbone(), numClasses: 1000)
    infer("xformer_infer_\(cls)_b1", xformer, [1, cls, cls, 3], predict: false)
    train("xformer_train_\(cls)_b8", xformer, [8, cls, cls, 3], labels: classLabels(8, 1000))
    let xBackbone = XFormerBackbone(imageSize: (xsH, xsW))
    let xHead = AllMLPHead(inChannels: xBackbone.outChannels, embedDim: 256, numClasses: 19, projection: .convModule)
    let xSegmentor = try! EncoderDecoder(backbone: xBackbone, head: xHead, numClasses: 19)
    infer("xformer_segformer_infer_\(xsH)x\(xsW)_b1", xSegmentor, [1, xsH, xsW, 3], predict: false, repeats: max(1, repeats / 3),
          note: "network to the 1/4 logits")

    // S2AFormer-T classifier (both heads averaged, 1000 classes).
    RandomGenerator.manualSeed(0)
    let s2a = S2AFormerVariant.t.classifier(numClasses: 1000)
    infer("s2aformer_t_infer_\(cls)_b1", s2a, [1, cls, cls, 3], predict: false)
    train("s2aformer_t_train_\(cls)_b8", s2a, [8, cls, cls, 3], labels: classLabels(8, 1000))
    infer("s2aformer_t_throughput_\(cls)_b16", s2a, [16, cls, cls, 3], predict: false, note: "img/s = 16000 / ms")

    let torch = zooTorchReference(threads: threads, quick: quick)
    print("\n## Model zoo end to end (\(threads) threads; ViTLab vs PyTorch eager on the reference models, same run)\n")
    print("| row | ViTLab ms | PyTorch ms | PyTorch / ViTLab | ViTLab net ms | PyTorch net ms | PyTorch layout | note |")
    print("|---|---:|---:|---:|---:|---:|---|---|")
    for r in rows {
        let t = torch.rows[r.name]
        var note = r.note
        if r.name.contains("throughput") {
            let batch = 16.0
            note = String(format: "ViTLab %.1f img/s", batch * 1000 / r.ms) + (t.map { String(format: ", PyTorch %.1f img/s", batch * 1000 / $0.ms) } ?? "")
        }
        if let busy = t?.othersCPU, busy > 0.1 { note += (note.isEmpty ? "" : "; ") + String(format: "other processes used %.0f%% of the CPU during the PyTorch row", busy * 100) }
        print("| \(r.name) | \(ms1(r.ms)) | \(ms1(t?.ms)) | \(speedup(reference: t?.ms, ours: r.ms)) | \(ms1(r.netMs)) | \(ms1(t?.netMs)) | \(t?.layout ?? "–") | \(note) |")
    }
    print("\nSegmentor rows: ms = predict (network, bilinear upsample to the input size, argmax); net = the network to its logits.")
    print("Training rows: forward, loss (segmentation: upsampled to the label size, ignore 255), backward, AdamW; PyTorch uses fused AdamW.")
    if let note = torch.note { print("\n\(note)") }
}

struct ZooTorchRow { var ms: Double; var netMs: Double?; var layout: String?; var othersCPU: Double? }

/// The rows of `bench_zoo_torch.py`; an explanation instead when it cannot run.
func zooTorchReference(threads: Int, quick: Bool) -> (rows: [String: ZooTorchRow], note: String?) {
    let r = runReferenceScript("bench_zoo_torch.py", arguments: ["--threads", String(threads)] + (quick ? ["--quick"] : []))
    if let skipped = r.skipped { return ([:], skipped) }
    let rows = r.rows.compactMapValues { row -> ZooTorchRow? in
        guard let ms = row["ms"] as? Double else { return nil }
        return ZooTorchRow(ms: ms, netMs: row["net_ms"] as? Double, layout: row["layout"] as? String, othersCPU: row["others_cpu"] as? Double)
    }
    return (rows, "PyTorch \(r.torchVersion), \(threads) threads (torch.set_num_threads), eager mode, faster of NCHW and channels_last per row.")
}
