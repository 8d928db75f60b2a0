import NeuralNet
import TensorEngine
@testable import ModelZoo

// Probes that the whole-model training tests of every family share: which parameters a loss
// does not reach, and whether a model can memorise a few images.

/// Labels uniform in 0..<classes, reproducible from `seed`.
func randomLabels(_ shape: [Int], classes: Int, seed: UInt64) -> Tensor {
    Tensor(Tensor.uniform(shape, generator: RandomGenerator(seed: seed)).toArray().map { Float(Int($0 * Float(classes)) % classes) }, shape: shape)
}

/// The parameters whose gradient is absent or all zero after one backward pass of a 5-class
/// loss on 2 random `size`×`size` images.
func parametersWithoutGradient(_ model: EncoderDecoder, size: Int = 64) -> [String] {
    let image = Tensor.normal([2, size, size, 3], generator: RandomGenerator(seed: 2))
    model.loss(image, labels: randomLabels([2, size, size], classes: 5, seed: 3)).backward()
    return model.namedParameters().filter { _, p in
        guard let g = p.grad else { return true }
        return g.toArray().allSatisfy { $0 == 0 }
    }.map(\.0)
}

/// AdamW on `batch` fixed 64×64 images whose 4-class labels are constant over blocks of a
/// `grid`×`grid` layout (so logits at the model's output stride can represent them): the
/// (first, last) mean loss over `steps` steps. The first is near ln 4 = 1.39.
func overfitSegmentation(_ model: EncoderDecoder, batch: Int, grid: Int, steps: Int, lr: Float) -> (first: Float, last: Float) {
    model.train()
    let image = Tensor.normal([batch, 64, 64, 3], generator: RandomGenerator(seed: 8))
    let coarse = randomLabels([batch, grid, grid], classes: 4, seed: 9)
    let labels = interpolateNearest(coarse.reshape([batch, grid, grid, 1]), size: (64, 64)).reshape([batch, 64, 64])
    let opt = Adam.adamW(parameters: optimizedParameters(model.namedParameters()), lr: lr, weightDecay: 0)
    var first: Float = 0, last: Float = 0
    for step in 0..<steps {
        opt.zeroGrad()
        let loss = model.loss(image, labels: labels, reduction: .mean)
        loss.backward()
        opt.step()
        if step == 0 { first = loss.item() }
        last = loss.item()
    }
    return (first, last)
}

/// The `attention:` node the every-type gradient loops put in a backbone's slot: the type's
/// defaults, except a 2-token window for `local` (the small test maps) and the parameter-free
/// context for `xfa` (its learned w_c needs a reference token grid, which only XFormer fixes;
/// `XFAConfig.check` says so for the others).
func trainableAttentionJSON(_ type: String) -> String {
    switch type {
    case "local": return #"{"type": "local", "window_size": 2}"#
    case "xfa": return #"{"type": "xfa", "context": "mean"}"#
    default: return #"{"type": "\#(type)"}"#
    }
}
