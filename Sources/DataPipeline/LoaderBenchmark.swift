import Foundation
import TensorEngine

/// The SeaFormer ADE20K training pipeline (spec §3.1–3.2): Resize (2048, 512) ratio 0.5–2 keep
/// ratio → RandomCrop 512 cat_max 0.75 → flip 0.5 → PhotoMetricDistortion → Normalize → Pad 512.
public func seaformerTrainPipeline(scale: [Int] = [2048, 512], crop: Int = 512) -> Pipeline {
    Pipeline([
        RandomResize(config: .init(scale: scale, ratioRange: ClosedPair(0.5, 2.0), keepRatio: true)),
        RandomCrop(config: .init(cropSize: SizeHW(crop), catMaxRatio: 0.75)),
        RandomFlip(config: .init(prob: 0.5)),
        PhotometricDistortion(config: .init()),
        Normalize(config: .init()),
        Pad(config: .init(size: SizeHW(crop))),
    ])
}

/// Loader throughput, and where a single thread spends its time per image.
public struct LoaderBenchmarkResult: CustomStringConvertible {
    public let imageSize: Int
    public let batchSize: Int
    public let workers: Int
    public let images: Int
    public let seconds: Double
    public var imagesPerSecond: Double { Double(images) / seconds }
    /// Milliseconds per image on one thread: "generate" (stands in for decoding), then each step.
    public let stageMilliseconds: [(stage: String, ms: Double)]

    public var description: String {
        let stages = stageMilliseconds.map { "\($0.stage) \(String(format: "%.2f", $0.ms))" }.joined(separator: ", ")
        return String(format: "loader: %.1f images/s (%d×%d synthetic, batch %d, %d workers, %d images in %.2f s); per image on one thread (ms): ",
                      imagesPerSecond, imageSize, imageSize, batchSize, workers, images, seconds) + stages
    }
}

/// Measures images/s generated + augmented by the synthetic dataset through the SeaFormer
/// ADE20K train pipeline, batched by a `DataLoader` with `workers` threads. One batch is taken
/// first to warm up the workers and the buffer pool. Release builds only give meaningful numbers.
public func benchmarkLoader(imageSize: Int = 512, batchSize: Int = 8, batches: Int = 12, workers: Int = 2,
                            profileSamples: Int = 8, seed: UInt64 = 0) throws -> LoaderBenchmarkResult {
    let dataset = try SyntheticDataset(config: .init(numClasses: 6, imageSize: SizeHW(imageSize), length: 1000, seed: seed))
    let pipeline = seaformerTrainPipeline(crop: imageSize)

    // Per-stage profile on this thread.
    let names = ["random_resize", "random_crop", "random_flip", "photometric_distortion", "normalize", "pad"]
    var totals = [Double](repeating: 0, count: names.count + 1)
    for i in 0..<profileSamples {
        var t0 = DispatchTime.now().uptimeNanoseconds
        var s = try dataset.load(i)
        var t1 = DispatchTime.now().uptimeNanoseconds
        totals[0] += Double(t1 - t0)
        let random = RandomGenerator.forSample(seed: seed, epoch: 0, index: i)
        for (k, step) in pipeline.steps.enumerated() {
            t0 = t1
            try step.apply(&s, random: random)
            t1 = DispatchTime.now().uptimeNanoseconds
            totals[k + 1] += Double(t1 - t0)
        }
    }
    let stages = zip(["generate"] + names, totals).map { ($0, $1 / Double(max(profileSamples, 1)) / 1e6) }

    let loader = try DataLoader(dataset: dataset, transform: pipeline,
                                options: .init(batchSize: batchSize, workers: workers, prefetch: max(2, 2 * workers), seed: seed))
    defer { loader.shutdown() }
    _ = try loader.next()
    let start = DispatchTime.now().uptimeNanoseconds
    var images = 0
    for _ in 0..<batches { images += try loader.next()!.images.shape[0] }
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return LoaderBenchmarkResult(imageSize: imageSize, batchSize: batchSize, workers: workers, images: images, seconds: seconds,
                                 stageMilliseconds: stages)
}
