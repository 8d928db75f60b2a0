import Dispatch
import Foundation
import ModelZoo
import NeuralNet
import TensorEngine

/// How a `throughput` column is measured. Papers rarely state it (S2AFormer's Table V gives
/// only the CPU model), so ViTLab states its own and prints it with the table: a cell is only
/// comparable with cells measured under the same protocol, on the same machine and build.
public struct ThroughputProtocol: Equatable, CustomStringConvertible {
    /// Images per forward.
    public var batch = 16
    /// H, W of the random input.
    public var inputSize = [224, 224]
    /// Engine threads during the measurement (the machine's cores are shared with nothing else
    /// the table starts: rows run before collecting).
    public var threads = 2
    /// Untimed forwards first (buffer pools, oneDNN primitive caches).
    public var warmup = 1
    /// Timed forwards; the cell is batch / median time.
    public var repeats = 5

    public init() {}

    /// The first invalid field as (key, message), nil when the protocol is usable.
    var problem: (key: String, message: String)? {
        if batch < 1 { return ("batch", "must be at least 1, got \(batch)") }
        if inputSize.count != 2 || !inputSize.allSatisfy({ $0 > 0 }) { return ("input_size", "must be [H, W] with positive integers") }
        if threads < 1 { return ("threads", "must be at least 1, got \(threads)") }
        if warmup < 0 { return ("warmup", "must be 0 or more, got \(warmup)") }
        if repeats < 1 { return ("repeats", "must be at least 1, got \(repeats)") }
        return nil
    }

    /// The build the measurement ran in: a debug build is several times slower than release.
    public static var build: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    public var description: String {
        "measured here, batch \(batch), \(inputSize[0])×\(inputSize[1]), \(threads) thread\(threads == 1 ? "" : "s"), "
            + "\(warmup) warm-up + \(repeats) timed forward\(repeats == 1 ? "" : "s") (median), fp32, eval mode without autograd, "
            + "\(Self.build) build"
    }
}

/// Measures `throughput` cells: builds the row's model at the paper profile (as `TableCost`
/// does), switches the engine to the protocol's thread count, runs the warm-up forwards and
/// times the rest one by one. Results are kept per (model, protocol) for one collection, so rows
/// sharing a model are measured once; they are not cached on disk, because a timing belongs to
/// the machine's state when it was taken.
public final class TableThroughput {
    private var cache: [String: Double] = [:]
    /// How many models this instance actually timed.
    public private(set) var measured = 0

    public init() {}

    public func imagesPerSecond(of experiment: Experiment, protocol p: ThroughputProtocol) throws -> Double {
        let modelYAML = try experiment.root["model"].map { try $0.yaml() } ?? ""
        let k = TableCost.key(modelYAML: modelYAML, inputSize: p.inputSize + [p.batch, p.threads, p.warmup, p.repeats])
        if let hit = cache[k] { return hit }
        RandomGenerator.manualSeed(experiment.config.seed)
        let model = try experiment.buildModel()
        model.eval()
        let savedThreads = Engine.threads
        Engine.threads = p.threads
        defer { Engine.threads = savedThreads }
        let images = Tensor.normal([p.batch, p.inputSize[0], p.inputSize[1], 3], generator: RandomGenerator(seed: 0))
        var seconds: [Double] = []
        withNoGrad {
            for _ in 0..<p.warmup { _ = model.measuredForward(images) }
            for _ in 0..<p.repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                // The engine is eager: the forward has finished computing when it returns.
                _ = model.measuredForward(images)
                seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
        }
        seconds.sort()
        let median = seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        let value = Double(p.batch) / max(median, 1e-9)
        measured += 1
        cache[k] = value
        return value
    }
}
