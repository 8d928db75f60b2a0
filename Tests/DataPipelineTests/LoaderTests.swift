import Foundation
import TensorEngine
import XCTest
@testable import DataPipeline

/// A dataset error type the loader must pass through unchanged.
private struct BrokenFile: Error, Equatable { let index: Int }

/// Tiny images whose pixels encode the index; throws at `failAt`; sizes vary when `ragged`.
private final class TinyDataset: Dataset {
    let count: Int
    let failAt: Set<Int>
    let ragged: Bool
    let classification: Bool
    var classNames: [String] { ["a", "b", "c"] }

    init(count: Int, failAt: Set<Int> = [], ragged: Bool = false, classification: Bool = false) {
        self.count = count; self.failAt = failAt; self.ragged = ragged; self.classification = classification
    }

    func load(_ index: Int) throws -> Sample {
        if failAt.contains(index) { throw BrokenFile(index: index) }
        let h = ragged ? 4 + index % 3 : 4, w = 5
        let img = Image(height: h, width: w, channels: 3, fill: Float(index))
        if classification { return Sample(image: img, classIndex: index % 3, source: "tiny:\(index)") }
        return Sample(image: img, label: LabelMap(height: h, width: w, fill: UInt8(index % 3)), source: "tiny:\(index)")
    }
}

/// Adds a random amount to every pixel, so batches show whether augmentation is reproducible.
private struct Jitter: Transform {
    func apply(_ sample: inout Sample, random: RandomGenerator) throws {
        let d = Float(random.drawUniform(0, 1))
        for i in sample.image.pixels.indices { sample.image.pixels[i] += d }
    }
}

final class LoaderTests: XCTestCase {
    private func batches(_ loader: DataLoader, _ n: Int) throws -> [[Float]] {
        try (0..<n).map { _ in try XCTUnwrap(try loader.next()).images.toArray() }
    }

    func testSameSeedSameBatchesForAnyWorkerCount() throws {
        let ds = try SyntheticDataset(config: .init(imageSize: SizeHW(24), length: 10))
        let pipeline = try JSONDecoder().decode(Pipeline.self, from: Data(#"""
            [{"type": "random_resize", "scale": [48, 16], "ratio_range": [0.5, 2.0]},
             {"type": "random_crop", "crop_size": 16, "cat_max_ratio": 0.75}, {"type": "random_flip"},
             {"type": "photometric_distortion"}, {"type": "normalize"}, {"type": "pad", "size": 16}]
            """#.utf8))
        func run(workers: Int, seed: UInt64) throws -> [[Float]] {
            let l = try DataLoader(dataset: ds, transform: pipeline, options: .init(batchSize: 3, workers: workers, prefetch: 3, seed: seed))
            defer { l.shutdown() }
            return try batches(l, 7)  // crosses two epoch boundaries (3 batches per epoch)
        }
        let a = try run(workers: 2, seed: 1)
        XCTAssertEqual(a, try run(workers: 2, seed: 1))
        XCTAssertEqual(a, try run(workers: 0, seed: 1))
        XCTAssertEqual(a, try run(workers: 3, seed: 1))
        XCTAssertNotEqual(a, try run(workers: 2, seed: 2))
    }

    func testRestoredSamplerStateGivesTheNextBatch() throws {
        let ds = TinyDataset(count: 10)
        let options = DataLoader.Options(batchSize: 3, workers: 2, seed: 7)
        let full = try DataLoader(dataset: ds, transform: Jitter(), options: options)
        var states: [SamplerState] = [full.samplerState]
        var seen: [[Float]] = []
        for _ in 0..<8 {
            seen.append(try XCTUnwrap(try full.next()).images.toArray())
            states.append(full.samplerState)
        }
        full.shutdown()
        XCTAssertEqual(states[1], SamplerState(epoch: 0, index: 3))
        XCTAssertEqual(states[3], SamplerState(epoch: 0, index: 9))
        // Resume after every prefix (including mid-epoch and at an epoch's dropped tail).
        for k in [1, 3, 4, 6] {
            let data = try JSONEncoder().encode(states[k])  // what a checkpoint stores
            let restored = try JSONDecoder().decode(SamplerState.self, from: data)
            let resumed = try DataLoader(dataset: ds, transform: Jitter(), options: options, resumeFrom: restored)
            XCTAssertEqual(try XCTUnwrap(try resumed.next()).images.toArray(), seen[k], "resume at \(states[k])")
            XCTAssertEqual(try XCTUnwrap(try resumed.next()).images.toArray(), seen[k + 1])
            resumed.shutdown()
        }
    }

    func testShuffledEpochsAreDistinctPermutations() throws {
        var s = try InfiniteSampler(count: 10, batchSize: 4, seed: 3)
        var epochs: [[Int]] = [[], [], []]
        while let (idx, e) = s.next(), e < 3 { epochs[e] += idx }
        for e in epochs {
            XCTAssertEqual(e.count, 8)  // drop_last: two full batches per epoch
            XCTAssertEqual(Set(e).count, 8)
        }
        XCTAssertNotEqual(epochs[0], epochs[1])
        XCTAssertEqual(InfiniteSampler.permutation(count: 10, seed: 3, epoch: 1).prefix(8).map { $0 }, epochs[1])
        XCTAssertThrowsError(try InfiniteSampler(count: 3, batchSize: 4))
    }

    func testWorkerErrorSurfacesAsTypedError() throws {
        let ds = TinyDataset(count: 9, failAt: [4])
        let l = try DataLoader(dataset: ds, transform: Jitter(), options: .init(batchSize: 3, shuffle: false, epochs: 1, workers: 2))
        XCTAssertEqual(try l.next()?.indices, [0, 1, 2])
        XCTAssertThrowsError(try l.next()) { e in XCTAssertEqual(e as? BrokenFile, BrokenFile(index: 4)) }
        XCTAssertEqual(l.samplerState, SamplerState(epoch: 0, index: 6))
        XCTAssertEqual(try l.next()?.indices, [6, 7, 8])  // the loader continues after a failed batch
        XCTAssertNil(try l.next())
        XCTAssertNil(try l.next())
        l.shutdown()
        XCTAssertThrowsError(try l.next()) { e in XCTAssertEqual(e as? LoaderError, .shutDown) }
        // The same in synchronous mode.
        let sync = try DataLoader(dataset: ds, transform: Jitter(), options: .init(batchSize: 3, shuffle: false, epochs: 1, workers: 0))
        _ = try sync.next()
        XCTAssertThrowsError(try sync.next()) { e in XCTAssertEqual(e as? BrokenFile, BrokenFile(index: 4)) }
    }

    func testBatchShapesAndEvaluationOrder() throws {
        let l = try DataLoader(dataset: TinyDataset(count: 5), transform: Pipeline([]), options: .evaluation(batchSize: 2))
        let b = try XCTUnwrap(try l.next())
        XCTAssertEqual(b.images.shape, [2, 4, 5, 3])
        XCTAssertEqual(b.labels?.shape, [2, 4, 5])
        XCTAssertEqual(b.labels?[1, 3, 4], 1)
        XCTAssertEqual(b.images[1, 0, 0, 2], 1)
        XCTAssertEqual(b.sources, ["tiny:0", "tiny:1"])
        XCTAssertEqual(try l.next()?.indices, [2, 3])
        XCTAssertEqual(try l.next()?.images.shape, [1, 4, 5, 3])  // the short last batch is kept
        XCTAssertNil(try l.next())

        let c = try DataLoader(dataset: TinyDataset(count: 4, classification: true), transform: Pipeline([]), options: .evaluation(batchSize: 4))
        let cb = try XCTUnwrap(try c.next())
        XCTAssertEqual(cb.labels?.shape, [4])
        XCTAssertEqual(cb.labels?.toArray(), [0, 1, 2, 0])
    }

    func testSizeMismatchNamesTheSources() throws {
        let l = try DataLoader(dataset: TinyDataset(count: 4, ragged: true), transform: Pipeline([]), options: .evaluation(batchSize: 2))
        XCTAssertThrowsError(try l.next()) { e in
            guard case let .sizeMismatch(a, _, b, _)? = e as? LoaderError else { return XCTFail("\(e)") }
            XCTAssertEqual([a, b], ["tiny:0", "tiny:1"])
            XCTAssertTrue("\(e)".contains("random_crop + pad"))
        }
    }

    func testShutdownStopsBlockedWorkers() throws {
        // Workers blocked on a full prefetch window must exit; deinit must not hang either.
        for _ in 0..<5 {
            let l = try DataLoader(dataset: TinyDataset(count: 50), transform: Jitter(), options: .init(batchSize: 2, workers: 2, prefetch: 1))
            _ = try l.next()
            l.shutdown()
        }
        _ = try DataLoader(dataset: TinyDataset(count: 50), transform: Jitter(), options: .init(batchSize: 2, workers: 2, prefetch: 1))
    }

    func testBenchmarkRuns() throws {
        let r = try benchmarkLoader(imageSize: 32, batchSize: 2, batches: 2, workers: 2, profileSamples: 1)
        XCTAssertEqual(r.images, 4)
        XCTAssertEqual(r.stageMilliseconds.map(\.stage).first, "generate")
    }
}
