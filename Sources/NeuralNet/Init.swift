import Foundation
import TensorEngine

/// Weight initialisers the specs name. Each takes the fan values explicitly: with OHWI conv
/// weights the fan cannot be read off the shape the way PyTorch reads OIHW.
/// For a conv, fanIn = Cin/groups·KH·KW and fanOut = Cout·KH·KW (PyTorch's convention).
public enum Init {
    /// PyTorch's default for Conv/Linear weights: kaiming-uniform with a = √5, i.e.
    /// U(−1/√fanIn, 1/√fanIn). Also the default bias init.
    public static func pytorchDefault(_ shape: [Int], fanIn: Int, generator: RandomGenerator = .global) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        return Tensor.uniform(shape, low: -bound, high: bound, generator: generator)
    }

    /// Kaiming (He) normal for ReLU: N(0, 2/fan) with fan = fanOut (mmcv ConvModule) or fanIn.
    public static func kaimingNormal(_ shape: [Int], fan: Int, generator: RandomGenerator = .global) -> Tensor {
        Tensor.normal(shape, std: (2 / Float(fan)).squareRoot(), generator: generator)
    }

    /// SeaFormer's and MobileNet's conv init N(0, √(2/n)), n = k·k·Cout/groups.
    public static func convNormal(_ shape: [Int], kernel: (Int, Int), outChannels: Int, groups: Int,
                                  generator: RandomGenerator = .global) -> Tensor {
        let n = kernel.0 * kernel.1 * outChannels / groups
        return Tensor.normal(shape, std: (2 / Float(n)).squareRoot(), generator: generator)
    }

    /// timm's trunc_normal_(std) with absolute bounds ±2.
    public static func truncatedNormal(_ shape: [Int], std: Float = 0.02, generator: RandomGenerator = .global) -> Tensor {
        Tensor.truncatedNormal(shape, std: std, a: -2, b: 2, generator: generator)
    }

    /// N(mean, std), e.g. N(0, 0.01) for classifier heads and `randn` positional embeddings.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1, generator: RandomGenerator = .global) -> Tensor {
        Tensor.normal(shape, mean: mean, std: std, generator: generator)
    }
}
