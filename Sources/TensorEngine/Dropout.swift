import Foundation

// Dropout family: a mask from the engine's counter-based generator (so a seed reproduces it),
// scaled by 1/keep so the expectation is unchanged; identity when not training or p == 0.
// The mask broadcasts over the input (whole channels, whole samples), and the backward pass
// multiplies by the same mask.

/// Bernoulli(keep) mask of `shape`, already scaled by 1/keep (all zeros when keep == 0, as torch).
private func dropoutMask(_ shape: [Int], p: Float, generator: RandomGenerator, op: String) -> Tensor {
    precondition(p >= 0 && p <= 1, "\(op): drop probability \(p) is outside [0, 1]")
    let keep = 1 - p
    let mask = Tensor.bernoulli(shape, p: keep, generator: generator)
    let scale: Float = keep > 0 ? 1 / keep : 0
    let m = mask.pointer
    parallelFor(mask.count, grain: 1 << 15) { r in for i in r { m[i] *= scale } }
    return mask
}

/// `x · mask` with the mask broadcast; the gradient is `g · mask`.
private func applyMask(_ x: Tensor, _ mask: Tensor, name: String) -> Tensor {
    mapBinary(x, mask, name, *).record(inputs: [x], name: name) { g in [mapBinary(g, mask, name, *)] }
}

/// Zeroes each element with probability `p` and scales the rest by 1/(1 − p) (torch's dropout).
public func dropout(_ x: Tensor, p: Float, training: Bool, generator: RandomGenerator = .global) -> Tensor {
    guard training && p > 0 else { return x }
    return applyMask(x, dropoutMask(x.shape, p: p, generator: generator, op: "dropout"), name: "dropout")
}

/// Channel dropout for channels-last input [N, ..., C] (NHWC): zeroes whole channels per sample
/// (mask [N,1,1,C]), scaling the rest by 1/(1 − p) (torch's dropout2d on NCHW).
public func dropout2d(_ x: Tensor, p: Float, training: Bool, generator: RandomGenerator = .global) -> Tensor {
    precondition(x.rank >= 3, "dropout2d: expected channels-last input [N, H, W, C], got shape \(x.shape)")
    guard training && p > 0 else { return x }
    var maskShape = [Int](repeating: 1, count: x.rank)
    maskShape[0] = x.shape[0]
    maskShape[x.rank - 1] = x.shape[x.rank - 1]
    return applyMask(x, dropoutMask(maskShape, p: p, generator: generator, op: "dropout2d"), name: "dropout2d")
}

/// Stochastic depth (timm's drop_path): zeroes whole samples with probability `p` (mask
/// [N,1,...]), scaling kept samples by 1/(1 − p).
public func dropPath(_ x: Tensor, p: Float, training: Bool, generator: RandomGenerator = .global) -> Tensor {
    precondition(x.rank >= 1, "dropPath: expected a batch axis, got a rank-0 tensor")
    guard training && p > 0 else { return x }
    var maskShape = [Int](repeating: 1, count: x.rank)
    maskShape[0] = x.shape[0]
    return applyMask(x, dropoutMask(maskShape, p: p, generator: generator, op: "dropPath"), name: "drop_path")
}
