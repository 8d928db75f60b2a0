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

    let (images, seconds) = try timeLoader(dataset, pipeline, batchSize: batchSize, batches: batches, workers: workers, seed: seed)
    return LoaderBenchmarkResult(imageSize: imageSize, batchSize: batchSize, workers: workers, images: images, seconds: seconds,
                                 stageMilliseconds: stages)
}

/// The ImageNet training pipeline: RandomResizedCrop 224 (scale 0.08–1) → flip 0.5 → Normalize.
public func classificationTrainPipeline(size: Int = 224) -> Pipeline {
    Pipeline([
        RandomResizedCrop(config: .init(size: SizeHW(size))),
        RandomFlip(config: .init(prob: 0.5)),
        Normalize(config: .init()),
    ])
}

/// Throughput of one dataset type read from generated files (decode + augment + collate).
public struct DatasetLoaderBenchmarkResult {
    public let type: String
    /// Size of the generated images (the crop size for `synthetic`, which has no files).
    public let imageSize: SizeHW
    /// "JPEG", "PNG" or "generated".
    public let format: String
    /// Mean bytes of one image file (0 for `synthetic`).
    public let bytesPerImage: Double
    public let pipeline: String
    public let batchSize: Int
    public let images: Int
    public let seconds: Double
    public var imagesPerSecond: Double { Double(images) / seconds }
    public var msPerBatch: Double { 1000 * seconds * Double(batchSize) / Double(images) }
}

/// Measures images/s through a `DataLoader` (`workers` threads, batches of `batchSize`) for
/// each dataset type in `types` (`DatasetFixtures.types` plus `synthetic`), reading files
/// written by `DatasetFixtures.write` at each dataset's typical size into a temporary directory
/// (removed afterwards). Segmentation types use the SeaFormer ADE20K train pipeline with
/// `crop`×`crop` crops; `imagenet` uses `classificationTrainPipeline()`. Cityscapes and ACDC
/// get `imagesPerType / 2` files: at 2 MP each, writing them dominates the run otherwise, and
/// the loader cycles through them anyway. One batch warms up first; `batches` are timed. The
/// files were just written, so they are read from the page cache, as in training on a machine
/// whose RAM holds the dataset. `progress` gets one line per type as it is generated.
public func benchmarkDatasetLoaders(types: [String] = DatasetFixtures.types + ["synthetic"], imagesPerType: Int = 32,
                                    batchSize: Int = 8, batches: Int = 4, workers: Int = 2, crop: Int = 512, seed: UInt64 = 0,
                                    progress: (String) -> Void = { _ in }) throws -> [DatasetLoaderBenchmarkResult] {
    let fm = FileManager.default
    let tmp = fm.temporaryDirectory.appendingPathComponent("vitlab-loader-bench-\(UUID().uuidString)", isDirectory: true)
    defer { try? fm.removeItem(at: tmp) }
    var results: [DatasetLoaderBenchmarkResult] = []
    for type in types {
        let dataset: Dataset, size: SizeHW, format: String, bytes: Double
        if type == "synthetic" {
            size = SizeHW(crop)
            dataset = try SyntheticDataset(config: .init(numClasses: 6, imageSize: size, length: 1000, seed: seed))
            format = "generated"; bytes = 0
        } else {
            let root = tmp.appendingPathComponent(type, isDirectory: true)
            let big = type == "cityscapes" || type == "acdc"
            let count = max(big ? imagesPerType / 2 : imagesPerType, 4, batchSize)
            size = DatasetFixtures.typicalSize(type)
            let t0 = DispatchTime.now().uptimeNanoseconds
            try DatasetFixtures.write(type: type, root: root, count: count, size: size, seed: seed)
            let files = imageFiles(under: root)
            bytes = Double(files.reduce(0) { $0 + $1.bytes }) / Double(max(files.count, 1))
            format = files.first.map { isPNG($0.url) ? "PNG" : "JPEG" } ?? "?"
            progress("\(type): wrote \(count) images in " + String(format: "%.1f s", Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9))
            dataset = try makeDataset(type: type, root: root, split: "train", options: DatasetFixtures.options(for: type))
        }
        let classification = type == "imagenet"
        let pipeline = classification ? classificationTrainPipeline() : seaformerTrainPipeline(crop: crop)
        let (images, seconds) = try timeLoader(dataset, pipeline, batchSize: batchSize, batches: batches, workers: workers, seed: seed)
        results.append(DatasetLoaderBenchmarkResult(
            type: type, imageSize: size, format: format, bytesPerImage: bytes,
            pipeline: classification ? "random_resized_crop 224, flip, normalize" : "SeaFormer ADE20K train, crop \(crop)",
            batchSize: batchSize, images: images, seconds: seconds))
    }
    return results
}

/// The image files of a generated dataset (label directories excluded), with their sizes.
private func imageFiles(under root: URL) -> [(url: URL, bytes: Int)] {
    let labelDirs: Set<String> = ["annotations", "gtFine", "gt", "labels40", "SegmentationClassContext"]
    guard let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey]) else { return [] }
    var out: [(URL, Int)] = []
    for case let url as URL in e {
        let ext = url.pathExtension.lowercased()
        guard ["jpg", "jpeg", "png"].contains(ext) else { continue }
        let rel = url.path.dropFirst(root.path.count).split(separator: "/").map(String.init)
        guard !rel.contains(where: labelDirs.contains) else { continue }
        out.append((url, (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0))
    }
    return out
}

private func isPNG(_ url: URL) -> Bool {
    guard let h = FileHandle(forReadingAtPath: url.path) else { return false }
    defer { try? h.close() }
    return h.readData(ofLength: 1).first == 0x89
}

/// Images delivered and seconds taken for `batches` batches after one warm-up batch (which
/// starts the worker threads and fills the buffer pool).
private func timeLoader(_ dataset: Dataset, _ pipeline: Pipeline, batchSize: Int, batches: Int, workers: Int,
                        seed: UInt64) throws -> (images: Int, seconds: Double) {
    let loader = try DataLoader(dataset: dataset, transform: pipeline,
                                options: .init(batchSize: batchSize, workers: workers, prefetch: max(2, 2 * workers), seed: seed))
    defer { loader.shutdown() }
    _ = try loader.next()
    let start = DispatchTime.now().uptimeNanoseconds
    var images = 0
    for _ in 0..<batches { images += try loader.next()!.images.shape[0] }
    return (images, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}
