import Foundation
import TensorEngine

/// Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) over a classification batch, with
/// label smoothing, as timm's `Mixup` in batch mode: with probability `prob` the batch is mixed
/// with itself reversed (sample i with sample N−1−i); when both alphas are positive, CutMix is
/// chosen with probability `switchProb`. λ ~ Beta(α, α).
/// - mixup: `x ← λ·x + (1 − λ)·x_rev`;
/// - cutmix: a box of area ≈ (1 − λ)·H·W (side ratios √(1 − λ), centre uniform, clipped to the
///   image) is pasted from `x_rev`, and λ becomes 1 − box area / (H·W), the share actually kept;
/// - targets: `λ·smooth(y) + (1 − λ)·smooth(y_rev)`, smooth = (1 − ε)·onehot + ε/K.
/// Without mixing, the targets are just the smoothed one-hots.
public struct BatchMix: Equatable, Sendable {
    public var mixupAlpha: Double
    public var cutmixAlpha: Double
    public var prob: Double
    public var switchProb: Double
    public var labelSmoothing: Double

    public init(mixupAlpha: Double = 0, cutmixAlpha: Double = 0, prob: Double = 1, switchProb: Double = 0.5, labelSmoothing: Double = 0) {
        self.mixupAlpha = mixupAlpha; self.cutmixAlpha = cutmixAlpha; self.prob = prob
        self.switchProb = switchProb; self.labelSmoothing = labelSmoothing
    }

    /// What one call did, for logs and tests.
    public enum Kind: Equatable { case none, mixup, cutmix(top: Int, left: Int, height: Int, width: Int) }

    /// Mixes NHWC `images` and class indices `labels` [N]; returns the images, soft targets
    /// [N, numClasses], the λ used (1 when not mixed) and what was done.
    public func apply(images: Tensor, labels: Tensor, numClasses k: Int, random: RandomGenerator)
        -> (images: Tensor, targets: Tensor, lambda: Double, kind: Kind) {
        let eps = Float(labelSmoothing)
        let n = images.shape[0], H = images.shape[1], W = images.shape[2], C = images.shape[3]
        let own = Self.smoothed(labels.toArray(), k, eps)
        let active = (mixupAlpha > 0 || cutmixAlpha > 0) && random.drawChance(prob)
        guard active else { return (images, Tensor(own, shape: [n, k]), 1, .none) }
        let useCutmix = cutmixAlpha > 0 && (mixupAlpha <= 0 || random.drawChance(switchProb))
        var lambda = Self.beta(useCutmix ? cutmixAlpha : mixupAlpha, random)
        let x = images.toArray()
        var out = x
        let plane = H * W * C
        var kind = Kind.mixup
        if useCutmix {
            let ratio = (1 - lambda).squareRoot()
            let ch = Int(Double(H) * ratio), cw = Int(Double(W) * ratio)
            let cy = random.drawInt(0, H), cx = random.drawInt(0, W)
            let y0 = Swift.max(cy - ch / 2, 0), y1 = Swift.min(cy + ch / 2, H)
            let x0 = Swift.max(cx - cw / 2, 0), x1 = Swift.min(cx + cw / 2, W)
            for i in 0..<n {
                let j = n - 1 - i
                for y in y0..<y1 {
                    let row = (y * W + x0) * C, count = (x1 - x0) * C
                    for t in 0..<count { out[i * plane + row + t] = x[j * plane + row + t] }
                }
            }
            lambda = 1 - Double((y1 - y0) * (x1 - x0)) / Double(H * W)
            kind = .cutmix(top: y0, left: x0, height: y1 - y0, width: x1 - x0)
        } else {
            let l = Float(lambda)
            for i in 0..<n {
                let j = n - 1 - i
                for t in 0..<plane { out[i * plane + t] = l * x[i * plane + t] + (1 - l) * x[j * plane + t] }
            }
        }
        var targets = own
        let l = Float(lambda)
        for i in 0..<n {
            let j = n - 1 - i
            for c in 0..<k { targets[i * k + c] = l * own[i * k + c] + (1 - l) * own[j * k + c] }
        }
        return (Tensor(out, shape: images.shape), Tensor(targets, shape: [n, k]), lambda, kind)
    }

    static func smoothed(_ labels: [Float], _ k: Int, _ eps: Float) -> [Float] {
        var v = [Float](repeating: eps / Float(k), count: labels.count * k)
        for (i, y) in labels.enumerated() { v[i * k + Int(y)] += 1 - eps }
        return v
    }

    /// Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α, 1).
    static func beta(_ alpha: Double, _ random: RandomGenerator) -> Double {
        let x = gamma(alpha, random), y = gamma(alpha, random)
        return x + y > 0 ? x / (x + y) : 0.5
    }

    /// Gamma(α, 1) by Marsaglia and Tsang (2000); α < 1 through Gamma(α + 1)·U^(1/α).
    static func gamma(_ alpha: Double, _ random: RandomGenerator) -> Double {
        if alpha < 1 {
            let u = Swift.max(random.drawUniform(0, 1), 1e-12)
            return gamma(alpha + 1, random) * Foundation.pow(u, 1 / alpha)
        }
        let d = alpha - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            let z = Double(Tensor.normal([1], generator: random).item())
            let v = Foundation.pow(1 + c * z, 3)
            guard v > 0 else { continue }
            let u = Swift.max(random.drawUniform(0, 1), 1e-12)
            if Foundation.log(u) < 0.5 * z * z + d - d * v + d * Foundation.log(v) { return d * v }
        }
    }
}
