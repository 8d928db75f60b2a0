import TensorEngine

/// An exponential moving average of a model's weights (timm's `ModelEmaV2`, what the papers'
/// ImageNet recipes evaluate): after every optimizer step, for every parameter and float
/// buffer, `ema ← decay·ema + (1 − decay)·value`. Batch-norm running statistics are averaged
/// too (they are buffers of the model being averaged); `num_batches_tracked` is copied.
///
/// The average is a plain state dict (same keys as the model's), so it is checkpointed beside
/// the raw weights (`/ema/…`), evaluated by loading it into a copy of the model, and selected
/// with `weights: ema` when initialising from a checkpoint.
public final class ModelEMA {
    public let decay: Float
    /// The averaged state, by the model's state keys.
    public private(set) var state: [String: Tensor]

    /// Starts the average at the model's current weights.
    public init(_ model: Module, decay: Float) {
        precondition((0..<1).contains(decay), "ModelEMA: decay must be in [0, 1), got \(decay); the config decoder checks this")
        self.decay = decay
        state = model.stateDict().mapValues { $0.detach().copy() }
    }

    /// Restores an average saved in a checkpoint (keys must be the model's).
    public init(decay: Float, state: [String: Tensor]) {
        self.decay = decay
        self.state = state
    }

    /// One update from the model's current weights.
    public func update(from model: Module) {
        let d = decay
        for (key, value) in model.stateDict() {
            guard let shadow = state[key] else { continue }
            if key.hasSuffix("num_batches_tracked") { shadow.assign(from: value); continue }
            value.withUnsafeBufferPointer { src in
                shadow.withMutablePointer { dst in
                    parallelFor(shadow.count, grain: 1 << 15) { r in
                        for j in r { dst[j] = d * dst[j] + (1 - d) * src[j] }
                    }
                }
            }
        }
    }
}
