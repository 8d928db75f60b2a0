import Foundation
import TensorEngine

/// A loader misconfiguration or a batch that cannot be assembled. Errors thrown by a dataset or
/// a transform are not wrapped: `next()` rethrows them as they were thrown.
public enum LoaderError: Error, CustomStringConvertible, Equatable {
    case emptyDataset
    case invalidOption(String)
    /// Two samples of one batch differ in size; names both examples and their sizes.
    case sizeMismatch(first: String, firstSize: String, other: String, otherSize: String)
    case mixedTargets(String)
    /// `next()` after `shutdown()`.
    case shutDown

    public var description: String {
        switch self {
        case .emptyDataset: return "the dataset has no examples"
        case .invalidOption(let m): return "loader: \(m)"
        case let .sizeMismatch(a, sa, b, sb):
            return "cannot batch \(a) (\(sa)) with \(b) (\(sb)): all samples of a batch must have one size; end the pipeline with random_crop + pad (training) or use batch_size 1 (evaluation)"
        case .mixedTargets(let m): return "cannot batch: \(m)"
        case .shutDown: return "the loader was shut down"
        }
    }
}

/// Batches from a dataset through a transform pipeline, assembled by background threads.
///
/// Workers are Foundation threads, not the engine's OpenMP pool: they run while the model
/// computes on that pool, and a transform must never block a compute thread. Each worker claims
/// the next batch from the sampler and builds it whole; finished batches are handed out in
/// sampler order whatever order they finish in, and at most `prefetch` batches are in flight
/// (claimed but not yet taken), which bounds memory. A sample's augmentation is seeded by
/// (seed, epoch, index), so batches are identical for any worker count and after a resume.
public final class DataLoader {
    public struct Options: Sendable {
        public var batchSize: Int
        public var shuffle = true
        /// Drop each epoch's incomplete last batch (training).
        public var dropLast = true
        /// nil: iterate forever (iteration-based training); evaluation uses 1.
        public var epochs: Int?
        /// Background threads; 0 builds batches on the caller's thread inside `next()`.
        public var workers = 2
        /// Batches claimed ahead of the consumer.
        public var prefetch = 4
        public var seed: UInt64 = 0

        public init(batchSize: Int, shuffle: Bool = true, dropLast: Bool = true, epochs: Int? = nil,
                    workers: Int = 2, prefetch: Int = 4, seed: UInt64 = 0) {
            self.batchSize = batchSize; self.shuffle = shuffle; self.dropLast = dropLast; self.epochs = epochs
            self.workers = workers; self.prefetch = prefetch; self.seed = seed
        }

        /// In order, every example once, the last batch possibly short.
        public static func evaluation(batchSize: Int = 1, workers: Int = 2) -> Options {
            Options(batchSize: batchSize, shuffle: false, dropLast: false, epochs: 1, workers: workers)
        }
    }

    private let core: LoaderCore

    /// Starts the workers. `resumeFrom` is a `samplerState` saved by an earlier loader with the
    /// same dataset, options and seed; the first batch is then the one that loader would have
    /// produced next.
    public init(dataset: any Dataset, transform: any Transform, options: Options, resumeFrom state: SamplerState = SamplerState()) throws {
        guard options.workers >= 0 else { throw LoaderError.invalidOption("workers must be ≥ 0, got \(options.workers)") }
        guard options.prefetch >= 1 else { throw LoaderError.invalidOption("prefetch must be ≥ 1, got \(options.prefetch)") }
        let sampler = try InfiniteSampler(count: dataset.count, batchSize: options.batchSize, shuffle: options.shuffle,
                                          dropLast: options.dropLast, seed: options.seed, epochs: options.epochs, state: state)
        // Settle the engine's thread count on this (the training) thread: its lazy first read
        // calls omp_set_num_threads, which applies to the calling thread only, and a worker's
        // first random draw would otherwise be the one to trigger it.
        _ = Engine.threads
        core = LoaderCore(dataset: dataset, transform: transform, sampler: sampler, seed: options.seed, prefetch: options.prefetch)
        core.start(workers: options.workers)
    }

    deinit { core.stop() }

    /// The next batch in sampler order; nil when a finite loader is done. Rethrows the error a
    /// dataset or transform threw while building this batch (the batch is then skipped: the
    /// following call continues with the next one).
    public func next() throws -> Batch? { try core.next() }

    /// Sampler position after the last batch `next()` returned (or failed on): what a
    /// checkpoint stores. Batches prefetched but not yet taken are not counted.
    public var samplerState: SamplerState { core.consumerState }

    /// Stops the workers and waits for them (a batch being built is finished first); later
    /// `next()` calls throw `LoaderError.shutDown`.
    public func shutdown() { core.stop() }
}

/// State shared by the consumer and the workers, guarded by one condition variable.
private final class LoaderCore: @unchecked Sendable {
    let dataset: any Dataset
    let transform: any Transform
    let seed: UInt64
    let prefetch: Int
    private let cond = NSCondition()
    private var sampler: InfiniteSampler
    private var claimed = 0, delivered = 0
    private var exhausted = false, stopping = false
    private var running = 0
    private var synchronous = false
    private var finished: [Int: (result: Result<Batch, Error>, after: SamplerState)] = [:]
    private var _consumerState: SamplerState

    init(dataset: any Dataset, transform: any Transform, sampler: InfiniteSampler, seed: UInt64, prefetch: Int) {
        self.dataset = dataset; self.transform = transform; self.sampler = sampler; self.seed = seed; self.prefetch = prefetch
        _consumerState = sampler.state
    }

    var consumerState: SamplerState {
        cond.lock(); defer { cond.unlock() }
        return _consumerState
    }

    func start(workers: Int) {
        synchronous = workers == 0
        running = workers
        for i in 0..<workers {
            let t = Thread { [self] in workerLoop() }
            t.name = "vitlab-loader-\(i)"
            t.stackSize = 8 << 20
            t.start()
        }
    }

    /// Loads, transforms and collates one batch; any error is returned, never raised in the thread.
    func build(_ indices: [Int], epoch: Int) -> Result<Batch, Error> {
        Result {
            var samples: [Sample] = []
            samples.reserveCapacity(indices.count)
            for i in indices {
                var s = try dataset.load(i)
                try transform.apply(&s, random: .forSample(seed: seed, epoch: epoch, index: i))
                samples.append(s)
            }
            return try collate(samples, indices: indices, epoch: epoch)
        }
    }

    private func workerLoop() {
        cond.lock()
        while true {
            while !stopping && !exhausted && claimed - delivered >= prefetch { cond.wait() }
            if stopping || exhausted { break }
            guard let (indices, epoch) = sampler.next() else { exhausted = true; cond.broadcast(); break }
            let seq = claimed, after = sampler.state
            claimed += 1
            cond.unlock()
            let result = build(indices, epoch: epoch)
            cond.lock()
            finished[seq] = (result, after)
            cond.broadcast()
        }
        running -= 1
        cond.broadcast()
        cond.unlock()
    }

    func next() throws -> Batch? {
        cond.lock()
        if synchronous {
            guard !stopping else { cond.unlock(); throw LoaderError.shutDown }
            guard let (indices, epoch) = sampler.next() else { cond.unlock(); return nil }
            _consumerState = sampler.state
            cond.unlock()
            return try build(indices, epoch: epoch).get()
        }
        defer { cond.unlock() }
        while true {
            if let done = finished.removeValue(forKey: delivered) {
                delivered += 1
                _consumerState = done.after
                cond.broadcast()  // a slot in the prefetch window is free
                return try done.result.get()
            }
            if stopping { throw LoaderError.shutDown }
            if exhausted && delivered == claimed { return nil }
            cond.wait()
        }
    }

    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        while running > 0 { cond.wait() }
        finished.removeAll()
        cond.unlock()
    }
}
