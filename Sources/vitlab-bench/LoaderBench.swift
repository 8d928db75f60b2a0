import DataPipeline
import Foundation

/// The `--loader` table: images/s decoded + augmented per dataset type (DataPipeline's
/// `benchmarkDatasetLoaders`, generated files), against the rate a training step of `stepMs`
/// per batch consumes. The step is not measured here (the model table does that at 256²); the
/// default 830 ms is the measured SeaFormer-T train step at 256² b8 (207 ms, docs/performance.md)
/// ×4 for 512², so the table shows the loader's headroom without a 512² training run.
func runLoaderBenchmarks(stepMs: Double, quick: Bool) {
    let batch = 8
    let needed = Double(batch) / (stepMs / 1000)
    print("")
    print("loader: DataLoader, 2 workers, batch \(batch); segmentation: SeaFormer ADE20K train pipeline at 512×512 crops; imagenet: random_resized_crop 224 + flip + normalize")
    let results: [DatasetLoaderBenchmarkResult]
    do {
        results = try benchmarkDatasetLoaders(imagesPerType: quick ? 8 : 32, batchSize: batch, batches: quick ? 1 : 8, workers: 2) {
            FileHandle.standardError.write(Data("  \($0)\n".utf8))
        }
    } catch {
        print("loader benchmark failed: \(error)")
        return
    }
    print("training step \(fmt(stepMs, 0)) ms per batch of \(batch) (--step-ms) needs \(fmt(needed, 1)) images/s")
    print("")
    print("| dataset type | image on disk | pipeline | images/s | ms / batch of \(batch) | headroom vs \(fmt(needed, 1)) images/s |")
    print("|---|---|---|---:|---:|---:|")
    for r in results {
        let disk = r.format == "generated" ? "\(r.imageSize.height)×\(r.imageSize.width), generated in memory"
            : "\(r.imageSize.height)×\(r.imageSize.width) \(r.format), \(fmt(r.bytesPerImage / 1024, 0)) KB"
        print("| \(r.type) | \(disk) | \(r.pipeline) | \(fmt(r.imagesPerSecond, 1)) | \(fmt(r.msPerBatch, 0)) | \(fmt(r.imagesPerSecond / needed, 1))× |")
    }
}
