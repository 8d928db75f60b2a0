import XCTest
import TensorEngine
@testable import NeuralNet

final class LayerTests: XCTestCase {
    func testConvBNPathsAndCounts() {
        let m = ConvBN(128, 256, kernel: 1)
        XCTAssertEqual(m.namedParameters().map(\.0), ["c.weight", "bn.weight", "bn.bias"])
        XCTAssertEqual(m.namedBuffers().map(\.0), ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"])
        XCTAssertEqual(m.parameterCount, 128 * 256 + 2 * 256)
        XCTAssertEqual(ConvBN(8, 8, convName: "conv").namedParameters().first!.0, "conv.weight")
        XCTAssertEqual(m.conv.weight.shape, [256, 1, 1, 128], "OHWI weight layout")
    }

    /// SeaFormer's `Mlp(128, ratio 2)` has exactly 68,864 parameters (spec §5.8).
    func testSeaFormerFFNParameterCount() {
        let ffn = Sequential([ConvBN(128, 256), Conv2d(256, 256, kernel: 3, padding: 1, groups: 256, bias: true), Activation(.relu6), ConvBN(256, 128)])
        XCTAssertEqual(ffn.parameterCount, 68_864)
        XCTAssertEqual(ffn.namedParameters().map(\.0).prefix(4), ["0.c.weight", "0.bn.weight", "0.bn.bias", "1.weight"])
        let y = ffn(Tensor.normal([2, 5, 7, 128], generator: RandomGenerator(seed: 1)))
        XCTAssertEqual(y.shape, [2, 5, 7, 128])
    }

    func testBatchNormTracksBatchesAndSwitchesMode() {
        let bn = BatchNorm(3, weightInit: 0)
        XCTAssertEqual(bn.weight.toArray(), [0, 0, 0], "bn_weight_init = 0")
        let x = Tensor.normal([4, 2, 2, 3], mean: 5, std: 2, generator: RandomGenerator(seed: 2))
        _ = bn(x)
        _ = bn(x)
        XCTAssertEqual(bn.numBatchesTracked.item(), 2)
        XCTAssertNotEqual(bn.runningMean.toArray(), [0, 0, 0])
        bn.eval()
        let before = bn.runningMean.toArray()
        _ = bn(x)
        XCTAssertEqual(bn.runningMean.toArray(), before, "eval mode leaves running stats alone")
        XCTAssertEqual(bn.numBatchesTracked.item(), 2)
    }

    func testDefaultInitBounds() {
        let conv = Conv2d(4, 6, kernel: 3, groups: 2, generator: RandomGenerator(seed: 3))
        let bound = 1 / Float(2 * 9).squareRoot()  // fan_in = Cin/groups · k·k
        XCTAssertLessThanOrEqual(conv.weight.toArray().map(Swift.abs).max()!, bound)
        XCTAssertEqual(conv.fanOut, 54)
        let lin = Linear(16, 3, generator: RandomGenerator(seed: 4))
        XCTAssertLessThanOrEqual(lin.bias!.toArray().map(Swift.abs).max()!, 0.25)
        XCTAssertEqual(lin(Tensor.ones([5, 16])).shape, [5, 3])
    }

    func testDropoutLayersFollowMode() {
        let x = Tensor.ones([2, 3, 3, 4])
        let d = Sequential([Dropout(0.5), Dropout2d(0.5), DropPath(0.5)])
        d.eval()
        XCTAssertEqual(d(x).toArray(), x.toArray())
        d.train()
        XCTAssertNotEqual(d(x).toArray(), x.toArray())
    }

    func testActivationKindsByConfigName() {
        XCTAssertEqual(ActivationKind(rawValue: "hard_sigmoid"), .hardSigmoid)
        let x = Tensor([-4, 0, 4], shape: [3])
        XCTAssertEqual(ActivationKind.relu6.apply(x * 2).toArray(), [0, 0, 6])
        XCTAssertEqual(ActivationKind.none.apply(x).toArray(), x.toArray())
    }
}
