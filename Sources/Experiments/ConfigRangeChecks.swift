import DataPipeline
import Foundation

// Value checks of `validate` that Validate.swift's section checks do not make: numbers that
// must be finite (NaN fails every `>=` but infinity passes), and a pre-flight estimate of the
// memory the data side of training needs, so an impossible image or batch size is a located
// error before the run, not an allocation failure inside an op.

extension ExperimentValidator {
    func checkFinite() throws {
        let o = c.train.optimizer, op = ["train", "optimizer"]
        for (key, value) in [("lr", o.lr), ("weight_decay", o.weightDecay)] {
            try require(value.isFinite, op + [key], "must be a finite number, got \(value)")
        }
        for (i, r) in o.paramwise.enumerated() {
            try require(r.lrMult.isFinite, op + ["paramwise", "\(i)", "lr_mult"], "must be a finite number, got \(r.lrMult)")
            try require(r.decayMult.isFinite, op + ["paramwise", "\(i)", "decay_mult"], "must be a finite number, got \(r.decayMult)")
        }
        if let g = c.train.gradClip { try require(g.isFinite, ["train", "grad_clip", "max_norm"], "must be a finite number, got \(g)") }
    }

    /// Bytes the data side of a training step holds at least: the batches in flight (the
    /// prefetch window, one per worker being built, the one the model is using) of images
    /// (3 floats per pixel) and labels (1 float per pixel). The model's activations come on
    /// top (typically several times more), so exceeding physical memory with this lower
    /// bound alone means the run cannot fit. nil when the sample size is not known from the
    /// config (a real dataset without a cropping transform).
    func dataBytesPerStep() -> (bytes: Double, pixels: SizeHW, path: [String])? {
        guard let size = trainSampleSize() else { return nil }
        let batch = Double(e.trainBatchSize)
        let inFlight = Double(4 + c.data.train.workers + 1)
        return (batch * inFlight * Double(size.0.height) * Double(size.0.width) * 4 * 4, size.0, size.1)
    }

    /// The size of a training sample after the pipeline: the last fixed-size transform
    /// (random_crop, center_crop, random_resized_crop, pad with size), else the synthetic
    /// dataset's image_size.
    func trainSampleSize() -> (SizeHW, [String])? {
        let base = ["data", "train"]
        for (i, step) in (c.data.train.pipeline?.elements ?? []).enumerated().reversed() {
            guard let type = step["type"]?.scalar else { continue }
            let key: String
            switch type {
            case "random_crop": key = "crop_size"
            case "center_crop", "random_resized_crop", "pad": key = "size"
            default: continue
            }
            guard let node = step[key], let size = try? ConfigDecoder(node).decode(SizeHW.self, strict: false) else { continue }
            return (size, base + ["pipeline", "\(i)", key])
        }
        let dataset = c.data.train.dataset
        if dataset["type"]?.scalar == "synthetic" {
            let node = dataset["image_size"]
            let size = node.flatMap { try? ConfigDecoder($0).decode(SizeHW.self, strict: false) } ?? SyntheticDataset.Config().imageSize
            return (size, base + ["dataset", "image_size"])
        }
        return nil
    }

    func checkMemory(physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws {
        guard let (bytes, size, path) = dataBytesPerStep(), bytes > Double(physicalMemory) else { return }
        throw fail(path, String(format: "%@ samples in batches of %d need at least %.1f GiB for the data alone (the batches the loader holds in flight), more than the %.1f GiB of memory here",
                                size.description, e.trainBatchSize, bytes / Double(1 << 30), Double(physicalMemory) / Double(1 << 30)),
                   remedy: "lower the image/crop size, train.batch_size or data.train.workers")
    }
}
