import TensorEngine

/// Where a sampler stands: the epoch and the position of the next example within that epoch's
/// order. With the seed and the dataset size this is everything needed to continue a run's
/// batch sequence exactly — checkpoints store it, resume restores it.
public struct SamplerState: Codable, Equatable, Sendable, CustomStringConvertible {
    public var epoch: Int
    /// Index into the epoch's (shuffled) order of the next example to hand out.
    public var index: Int

    public init(epoch: Int = 0, index: Int = 0) { self.epoch = epoch; self.index = index }

    public var description: String { "epoch \(epoch), index \(index)" }
}

/// Batches of dataset indices, epoch after epoch: each epoch is a fresh permutation keyed by
/// (seed, epoch) — not a stream continued from the last epoch — so any epoch's order can be
/// rebuilt from the state alone. `dropLast` drops an epoch's incomplete tail (training), and
/// `epochs: nil` never ends (iteration-based training); evaluation uses `shuffle: false,
/// dropLast: false, epochs: 1`.
public struct InfiniteSampler: Sendable {
    public let count: Int
    public let batchSize: Int
    public let shuffle: Bool
    public let dropLast: Bool
    public let seed: UInt64
    /// nil: infinite.
    public let epochs: Int?
    public private(set) var state: SamplerState
    private var order: [Int] = []
    private var orderEpoch = -1

    public init(count: Int, batchSize: Int, shuffle: Bool = true, dropLast: Bool = true, seed: UInt64 = 0,
                epochs: Int? = nil, state: SamplerState = SamplerState()) throws {
        guard count >= 1 else { throw LoaderError.emptyDataset }
        guard batchSize >= 1 else { throw LoaderError.invalidOption("batch_size must be at least 1, got \(batchSize)") }
        if dropLast && batchSize > count {
            throw LoaderError.invalidOption("batch_size \(batchSize) is larger than the dataset (\(count) examples) and drop_last is set: no batch would ever be produced")
        }
        guard state.epoch >= 0 && state.index >= 0 && state.index <= count else {
            throw LoaderError.invalidOption("sampler state (\(state)) does not fit a dataset of \(count) examples")
        }
        self.count = count; self.batchSize = batchSize; self.shuffle = shuffle; self.dropLast = dropLast
        self.seed = seed; self.epochs = epochs; self.state = state
    }

    /// The order of examples in `epoch`: Fisher–Yates driven by the (seed, epoch) stream.
    public static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var p = Array(0..<count)
        var draws = UniformStream(RandomGenerator(seed: DataSeed.combine(DataSeed.shuffleTag, seed, UInt64(epoch))))
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) { p.swapAt(i, draws.int(0, i + 1)) }
        }
        return p
    }

    /// The next batch's dataset indices and the epoch they belong to; nil when `epochs` are done.
    public mutating func next() -> (indices: [Int], epoch: Int)? {
        // An epoch ends when fewer than a full batch (drop_last) or no examples remain.
        let remaining = count - state.index
        if remaining == 0 || (dropLast && remaining < batchSize) {
            state = SamplerState(epoch: state.epoch + 1, index: 0)
        }
        if let epochs, state.epoch >= epochs { return nil }
        if orderEpoch != state.epoch {
            order = shuffle ? Self.permutation(count: count, seed: seed, epoch: state.epoch) : Array(0..<count)
            orderEpoch = state.epoch
        }
        let end = min(state.index + batchSize, count)
        let batch = Array(order[state.index..<end])
        let epoch = state.epoch
        state.index = end
        return (batch, epoch)
    }
}
