import XCTest
import TensorEngine
@testable import NeuralNet

/// A two-level tree with parameters and a buffer, to exercise paths, modes and state loading.
private final class Leaf: Module {
    let weight = Tensor.ones([2, 3]).asParameter()
    let bias = Tensor.zeros([2]).asParameter()
    let runningMean = Tensor.zeros([2])
    override var parameters: [(String, Tensor)] { [("weight", weight), ("bias", bias)] }
    override var buffers: [(String, Tensor)] { [("running_mean", runningMean)] }
}

private final class Tree: Module {
    let conv = Leaf()
    let head = Leaf()
    override var children: [(String, Module)] { [("conv", conv), ("decode_head", head)] }
}

final class ModuleTests: XCTestCase {
    func testDottedPathsInTreeOrder() {
        let m = Tree()
        XCTAssertEqual(m.namedParameters().map(\.0), ["conv.weight", "conv.bias", "decode_head.weight", "decode_head.bias"])
        XCTAssertEqual(m.namedBuffers().map(\.0), ["conv.running_mean", "decode_head.running_mean"])
        XCTAssertEqual(m.namedModules().map(\.0), ["", "conv", "decode_head"])
        XCTAssertEqual(m.parameterCount, 16, "buffers are not parameters")
    }

    func testTrainEvalAndFreeze() {
        let m = Tree()
        m.eval()
        XCTAssertFalse(m.head.isTraining)
        m.train()
        XCTAssertTrue(m.conv.isTraining)
        m.conv.freeze()
        XCTAssertEqual(m.parameterCount, 8)
        XCTAssertFalse(m.conv.weight.requiresGrad)
        m.conv.unfreeze()
        XCTAssertEqual(m.parameterCount, 16)
    }

    func testStateRoundTrip() throws {
        let a = Tree(), b = Tree()
        a.conv.weight.assign(from: Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        a.head.runningMean.assign(from: Tensor([7, 8], shape: [2]))
        let weightBefore = b.conv.weight
        try b.load(state: a.stateDict())
        XCTAssertEqual(b.conv.weight.toArray(), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(b.head.runningMean.toArray(), [7, 8])
        XCTAssertTrue(b.conv.weight === weightBefore, "loading writes into the existing tensors")
        XCTAssertEqual(a.stateKeys.count, 6)
    }

    func testStrictLoadListsEveryProblemAndChangesNothing() {
        let m = Tree()
        var state = Tree().stateDict()
        state["conv.weight"] = Tensor.full([3, 2], 9)
        state.removeValue(forKey: "decode_head.bias")
        state["decode_head.conv_seg.weight"] = Tensor.zeros([1])
        XCTAssertThrowsError(try m.load(state: state)) { error in
            guard let e = error as? StateLoadError else { return XCTFail("wrong error type \(error)") }
            XCTAssertEqual(e.missing, ["decode_head.bias"])
            XCTAssertEqual(e.unexpected, ["decode_head.conv_seg.weight"])
            XCTAssertEqual(e.mismatched, ["conv.weight: checkpoint [3, 2] vs model [2, 3]"])
            XCTAssertTrue(e.description.contains("missing keys"))
        }
        XCTAssertEqual(m.conv.bias.toArray(), [0, 0])
        XCTAssertEqual(m.conv.weight.toArray(), [1, 1, 1, 1, 1, 1])
    }

    /// A segmentor checkpoint wrapped by DataParallel (`module.` keys) into a bare backbone: the
    /// key map strips `module.`, the prefix selects `conv.` and removes it.
    func testLoadWithKeyMapAndPrefix() throws {
        let source = Tree()
        source.conv.weight.assign(from: Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3]))
        let wrapped = Dictionary(uniqueKeysWithValues: source.stateDict().map { ("module." + $0.key, $0.value) })
        let leaf = Leaf()
        let report = try leaf.load(state: wrapped, prefix: "conv.", map: [try KeyMapRule(pattern: "^module\\.", replacement: "")])
        XCTAssertEqual(leaf.weight.toArray(), [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(report.loaded, ["weight", "bias", "running_mean"])
        XCTAssertTrue(report.isComplete, "decode_head.* is outside the prefix, so it is not unexpected")
        XCTAssertEqual(try KeyMapRule(pattern: "^backbone\\.(.*)$", replacement: "$1").apply("backbone.smb1.conv.weight"), "smb1.conv.weight")
        XCTAssertThrowsError(try KeyMapRule(pattern: "([", replacement: "")) {
            XCTAssertEqual("\($0)", "map: '([' is not a valid regular expression")
        }
    }

    /// A new class count: the head's weights are excluded, everything else must load; a
    /// non-strict load copies what matches and reports the rest.
    func testExcludeAndNonStrictReport() throws {
        let source = Tree()
        source.conv.weight.assign(from: Tensor.full([2, 3], 4))
        var state = source.stateDict()
        state["decode_head.weight"] = Tensor.zeros([5, 3])
        let m = Tree()
        XCTAssertThrowsError(try m.load(state: state))
        let excluded = try m.load(state: state, exclude: ["^decode_head\\.weight$"])
        XCTAssertEqual(excluded.excluded, ["decode_head.weight"])
        XCTAssertTrue(excluded.isComplete)
        XCTAssertEqual(m.conv.weight.toArray(), [Float](repeating: 4, count: 6))
        XCTAssertEqual(m.head.weight.toArray(), [Float](repeating: 1, count: 6), "excluded keys keep their values")
        state["extra.tensor"] = Tensor.zeros([1])
        let loose = try Tree().load(state: state, strict: false)
        XCTAssertEqual(loose.mismatched, ["decode_head.weight: checkpoint [5, 3] vs model [2, 3]"])
        XCTAssertEqual(loose.unexpected, ["extra.tensor"])
        XCTAssertEqual(loose.loaded.count, 5)
        XCTAssertEqual(loose.description, """
            loaded 5 tensors
            unexpected keys (in the state, not in the model): extra.tensor
            shape mismatches: decode_head.weight: checkpoint [5, 3] vs model [2, 3]
            """)
    }
}
