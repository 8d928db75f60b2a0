// vitlab-bench: speed of the engine's matmul and convolutions against raw oneDNN on this CPU.
// Usage: swift build -c release && .build/release/vitlab-bench [--threads N] [--batch B] [--input S] [--compare]
//   --threads  engine/oneDNN threads (default 2)
//   --batch, --input  the conv shapes are SeaFormer-T layers for a B×S×S input (default 8×256×256, a
//              training batch); shapes listed at 512 input are scaled by S/512
//   --compare  also time the weight-format and depthwise backward-weights alternatives
//   --filter S only the rows whose op name contains S (e.g. "dw 5")
//   --verbose  print raw oneDNN backward-data and backward-weights times separately
//   --rounds R measure the whole table R times (default 3) and keep each cell's best median: the
//              2 cores are shared, and a descheduled OpenMP thread stalls a whole parallel region
//   --kernels  only the kernel table; --models only the SeaFormer end-to-end table (ModelBench.swift)
//   --variants T,S   SeaFormer variants of the model table (default T,S); --quick small sizes, 1 repeat
//   --zoo      only the model-zoo table (ZooBench.swift: SegFormer-B0, MiT stage-1 attention, XFormer,
//              S2AFormer-T against PyTorch eager), which the full run prints after the SeaFormer table
//   --runtimes only the SeaFormer table against torch.compile, ONNX Runtime and OpenVINO (RuntimesBench.swift)
//   --loader   only the loader table (LoaderBench.swift), which the full run prints last
//   --step-ms T  the training step per batch of 8 the loader table compares against (default 830)
import CDNNL
import Foundation
import ModelZoo
@_spi(Bench) import TensorEngine

var threads = 2, batch = 8, input = 256, compare = false, filter = "", verbose = false, rounds = 3
var runKernels = true, runModels = true, quick = false
var runLoader = true, runZoo = true, runRuntimes = true, stepMs = 830.0
var variants: [SeaFormerVariant] = [.tiny, .small]
var argi = 1
let argv = CommandLine.arguments
while argi < argv.count {
    let a = argv[argi]
    func value() -> Int {
        argi += 1
        guard argi < argv.count, let v = Int(argv[argi]) else { fatalError("\(a) needs an integer value") }
        return v
    }
    switch a {
    case "--threads": threads = value()
    case "--batch": batch = value()
    case "--input": input = value()
    case "--compare": compare = true
    case "--verbose": verbose = true
    case "--rounds": rounds = value()
    case "--kernels": runModels = false; runLoader = false; runZoo = false; runRuntimes = false
    case "--models": runKernels = false; runLoader = false; runZoo = false; runRuntimes = false
    case "--zoo": runKernels = false; runModels = false; runLoader = false; runRuntimes = false
    case "--runtimes": runKernels = false; runModels = false; runLoader = false; runZoo = false
    case "--quick": quick = true
    case "--loader": runKernels = false; runModels = false; runZoo = false; runRuntimes = false
    case "--step-ms":
        argi += 1
        guard argi < argv.count, let v = Double(argv[argi]), v > 0 else { fatalError("--step-ms needs a positive number of milliseconds") }
        stepMs = v
    case "--variants":
        argi += 1
        let names = argi < argv.count ? argv[argi].split(separator: ",").map(String.init) : []
        variants = names.map { n in
            guard let v = SeaFormerVariant.allCases.first(where: { $0.rawValue.prefix(1).uppercased() == n.uppercased() || $0.rawValue == n }) else {
                fatalError("--variants takes letters T,S,B,L (or names), got \(n)")
            }
            return v
        }
    case "--filter":
        argi += 1
        filter = argi < argv.count ? argv[argi] : ""
    default: fatalError("unknown argument \(a); usage: vitlab-bench [--threads N] [--batch B] [--input S] [--compare] [--filter S] [--verbose] [--rounds R] [--kernels | --models | --zoo | --runtimes | --loader] [--variants T,S] [--quick] [--step-ms T]")
    }
    argi += 1
}
Engine.threads = threads
if !runKernels {
    if runModels { runModelBenchmarks(threads: threads, repeats: quick ? 1 : 10, trainRepeats: quick ? 1 : 5, variants: variants, quick: quick) }
    if runZoo { runZooBenchmarks(threads: threads, quick: quick) }
    if runRuntimes { runRuntimeBenchmarks(threads: threads, variants: variants, quick: quick) }
    if runLoader { runLoaderBenchmarks(stepMs: stepMs, quick: quick) }
    exit(0)
}

struct Row {
    var op, shape: String
    var fwd, raw, bwd, rawBwd: Double
    var flops: Double
}
var rows: [Row] = []
var impls: [(String, String, String)] = []
var round = 0
var notes: [String] = []
var kernelAlone: [String: Double] = [:], kernelOrder: [String] = []

func measureMatmul() {
    guard filter.isEmpty || "matmul".contains(filter) else { return }
    let n = 1024
    let a = Tensor.normal([n, n]), b = Tensor.normal([n, n])
    let c = Tensor.zeros([n, n])
    let fwd = medianMs { _ = withNoGrad { matmul(a, b) } }
    let raw = medianMs {
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withMutablePointer { pc in
            _ = dnnl_sgemm(78, 78, Int64(n), Int64(n), Int64(n), 1, pa.baseAddress, Int64(n), pb.baseAddress, Int64(n), 0, pc, Int64(n))
        } } }
    }
    a.requiresGrad = true; b.requiresGrad = true
    let g = Tensor.normal([n, n])
    let bwd = medianSplitMs(setup: { a.grad = nil; b.grad = nil; return matmul(a, b) }) { $0.backward(g) }
    if round == 0 { impls.append(("matmul 1024³", matmulImplementation([n, n], [n, n]), "dnnl_sgemm")) }
    rows.append(Row(op: "matmul", shape: "1024×1024×1024", fwd: fwd, raw: raw, bwd: bwd, rawBwd: 2 * raw, flops: 2 * Double(n * n * n)))
}


// MARK: convolutions

struct ConvShape {
    var name: String
    var cin, cout, k, stride, groups: Int
    var size512: Int  // input spatial size of the layer for a 512×512 image
}

let convs: [ConvShape] = [
    ConvShape(name: "dense 3×3 stem", cin: 3, cout: 16, k: 3, stride: 2, groups: 1, size512: 512),
    ConvShape(name: "dense 3×3", cin: 64, cout: 64, k: 3, stride: 1, groups: 1, size512: 64),
    ConvShape(name: "1×1", cin: 32, cout: 96, k: 1, stride: 1, groups: 1, size512: 64),
    ConvShape(name: "1×1", cin: 96, cout: 32, k: 1, stride: 1, groups: 1, size512: 64),
    ConvShape(name: "dw 3×3", cin: 96, cout: 96, k: 3, stride: 1, groups: 96, size512: 64),
    ConvShape(name: "dw 3×3", cin: 384, cout: 384, k: 3, stride: 1, groups: 384, size512: 8),
    ConvShape(name: "dw 5×5", cin: 48, cout: 48, k: 5, stride: 2, groups: 48, size512: 128),
    ConvShape(name: "dw 5×5", cin: 96, cout: 96, k: 5, stride: 1, groups: 96, size512: 64),
]

func isStem(_ c: ConvShape) -> Bool { c.cin == 3 }

func timeEngineConv(_ c: ConvShape, _ s: Int, label: String) -> (Double, Double) {
    let pad = c.k / 2
    let x = Tensor.normal([batch, s, s, c.cin]), w = Tensor.normal([c.cout, c.k, c.k, c.cin / c.groups], std: 0.1)
    let b = Tensor.normal([c.cout])
    let fwd = medianMs { _ = withNoGrad { conv2d(x, w, bias: b, stride: c.stride, padding: pad, groups: c.groups) } }
    // The stem's input is the image: training needs no gradient for it (and none is computed).
    x.requiresGrad = !isStem(c); w.requiresGrad = true; b.requiresGrad = true
    let y0 = withNoGrad { conv2d(x, w, bias: b, stride: c.stride, padding: pad, groups: c.groups) }
    let dy = Tensor.normal(y0.shape)
    let bwd = medianSplitMs(setup: { () -> Tensor in
        x.grad = nil; w.grad = nil; b.grad = nil
        return conv2d(x, w, bias: b, stride: c.stride, padding: pad, groups: c.groups)
    }) { $0.backward(dy) }
    return (fwd, bwd)
}

func measureConvs() {
    for c in convs where filter.isEmpty || "conv \(c.name)".contains(filter) {
        let s = max(1, c.size512 * input / 512)
        let pad = c.k / 2
        let out = (s + 2 * pad - c.k) / c.stride + 1
        let shape = "\(batch)×\(s)×\(s)×\(c.cin)→\(c.cout)" + (c.stride > 1 ? " s\(c.stride)" : "") + (isStem(c) ? " (no input grad)" : "")
        let (fwd, bwd) = timeEngineConv(c, s, label: c.name)
        let raw = RawConv(n: batch, h: s, w: s, cin: c.cin, cout: c.cout, k: c.k, stride: c.stride, pad: pad, groups: c.groups)
        let rawFwd = medianMs { raw.fwd.run() }
        let rawBwdData = medianMs { raw.bwdData.run() }, rawBwdWeights = medianMs { raw.bwdWeights.run() }
        let rawBwd = (isStem(c) ? 0 : rawBwdData) + rawBwdWeights
        if verbose && round == 0 { print("raw \(c.name) \(shape): bwd-data \(fmt(rawBwdData)) ms, bwd-weights \(fmt(rawBwdWeights)) ms") }
        let macs = Double(batch * out * out * c.cout * c.k * c.k * (c.cin / c.groups))
        rows.append(Row(op: "conv \(c.name)", shape: shape, fwd: fwd, raw: rawFwd, bwd: bwd, rawBwd: rawBwd, flops: 2 * macs))
        let e = ["forward", "backwardData", "backwardWeights"].map {
            convImplementation(input: [batch, s, s, c.cin], weight: [c.cout, c.k, c.k, c.cin / c.groups], stride: c.stride, padding: pad,
                               groups: c.groups, bias: true, pass: $0)
        }.joined(separator: " / ")
        if round == 0 { impls.append(("\(c.name) \(shape)", e, "\(raw.fwd.impl) / \(raw.bwdData.impl) / \(raw.bwdWeights.impl)")) }

        if compare && round == 0 {
            // Plain ohwi weights (no reorder): oneDNN falls back to its reference kernels; one
            // timed run is enough to show by how much.
            ConvTuning.weightFormat = 0
            let pe = ["forward", "backwardData", "backwardWeights"].map {
                convImplementation(input: [batch, s, s, c.cin], weight: [c.cout, c.k, c.k, c.cin / c.groups], stride: c.stride, padding: pad,
                                   groups: c.groups, bias: true, pass: $0)
            }.joined(separator: " / ")
            let x = Tensor.normal([batch, s, s, c.cin]), w = Tensor.normal([c.cout, c.k, c.k, c.cin / c.groups])
            let pf = medianMs(warmup: 1, minRuns: 1, maxRuns: 1) { _ = conv2d(x, w, stride: c.stride, padding: pad, groups: c.groups) }
            ConvTuning.weightFormat = nil
            notes.append("plain ohwi weights, \(c.name) \(shape): \(pe); forward \(fmt(pf)) ms")
        }
        if compare {
            if c.groups == c.cin {
                let own = c.k * c.k >= 25
                ConvTuning.ownDepthwiseWeightGrad = !own
                let (af, ab) = timeEngineConv(c, s, label: c.name)
                ConvTuning.ownDepthwiseWeightGrad = nil
                rows.append(Row(op: "  └ dw wgrad by \(own ? "oneDNN" : "own kernel")", shape: shape, fwd: af, raw: rawFwd, bwd: ab, rawBwd: rawBwd, flops: 2 * macs))
                let x = Tensor.normal([batch, s, s, c.cin]), dy = Tensor.normal([batch, out, out, c.cin])
                let kt = medianMs { _ = depthwiseWeightGradient(x, dy, kernel: c.k, stride: c.stride, padding: pad) }
                let key = "own depthwise wgrad kernel alone, \(c.name) \(shape)"
                kernelAlone[key] = min(kernelAlone[key] ?? .infinity, kt)
                if round == 0 { kernelOrder.append(key) }
            }
        }
    }

}

// MARK: report

var best: [Row] = []
for r in 0..<rounds {
    round = r
    rows = []
    measureMatmul()
    measureConvs()
    best = best.isEmpty ? rows : zip(best, rows).map { b, n in
        Row(op: b.op, shape: b.shape, fwd: min(b.fwd, n.fwd), raw: min(b.raw, n.raw), bwd: min(b.bwd, n.bwd), rawBwd: min(b.rawBwd, n.rawBwd), flops: b.flops)
    }
}
rows = best

print("threads \(threads); conv shapes: SeaFormer-T layers for a batch of \(batch) at \(input)×\(input) input (NHWC, with bias, padding k/2)")
print("engine bwd = full autograd backward (input, weight and bias gradients); raw = oneDNN primitives with format_tag_any everywhere, reorders excluded; raw bwd = backward-data + backward-weights (+bias)")
print("matmul raw = dnnl_sgemm on the same product (raw bwd = 2 × sgemm); times: best of \(rounds) rounds of (median after warm-up)")
print("")
print("| op | shape | engine fwd ms | raw fwd ms | raw/engine speed | engine bwd ms | raw bwd ms | bwd/fwd | GFLOPS fwd |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows {
    print("| \(r.op) | \(r.shape) | \(fmt(r.fwd)) | \(fmt(r.raw)) | \(fmt(100 * r.raw / r.fwd, 0))% | \(fmt(r.bwd)) | \(fmt(r.rawBwd)) | \(fmt(r.bwd / r.fwd, 2)) | \(fmt(r.flops / r.fwd / 1e6, 1)) |")
}
print("")
print("| op | engine impl (conv: fwd / bwd-data / bwd-weights) | raw impl |")
print("|---|---|---|")
for (s, e, r) in impls { print("| \(s) | \(e) | \(r) |") }
for k in kernelOrder { notes.append("\(k): \(fmt(kernelAlone[k]!)) ms") }
if !notes.isEmpty {
    print("")
    for n in notes { print("- \(n)") }
}

if runModels {
    runModelBenchmarks(threads: threads, repeats: quick ? 1 : 10, trainRepeats: quick ? 1 : 5, variants: variants, quick: quick)
}
if runZoo {
    runZooBenchmarks(threads: threads, quick: quick)
}
if runRuntimes {
    runRuntimeBenchmarks(threads: threads, variants: variants, quick: quick)
}
if runLoader {
    runLoaderBenchmarks(stepMs: stepMs, quick: quick)
}
