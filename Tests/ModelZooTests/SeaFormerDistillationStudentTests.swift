import NeuralNet
import TensorEngine
import TestSupport
import XCTest
@testable import ModelZoo

/// The SeaFormer++ distillation student (spec/seaformer.md §2.3): a SeaFormer backbone at half
/// the teacher's resolution with one upsample module per head feature, and the LightHead on the
/// lifted features. Parameters and FLOPs equal `seaformer_count.py`'s `kd_student` (ADE20K, 150
/// classes, a 256×256 student input for the 512×512 teacher).
final class SeaFormerDistillationStudentTests: XCTestCase {
    func student(_ variant: SeaFormerVariant, refineExpansion: Double = 2) throws -> EncoderDecoder {
        let backbone = UpsampledSeaFormerBackbone(backbone: SeaFormerBackbone(variant: variant), refineExpansion: refineExpansion)
        backbone.initializeSegmentationWeights()
        let dims = variant.headEmbedDims
        let head = LightHead(inChannels: backbone.outChannels, embedDims: dims, channels: dims.last!, numClasses: 150)
        return try EncoderDecoder(backbone: backbone, head: head, numClasses: 150)
    }

    func count(_ m: Module) -> Int { m.namedParameters().reduce(0) { $0 + $1.1.count } }

    func testCountsEqualTheCounter() throws {
        // kd_student(name, 512, 512): total and the upsample modules' share, refinement E = 2.
        for (variant, total, modules) in [(SeaFormerVariant.tiny, 2_270_198, 602_880), (.small, 4_886_566, 896_448),
                                          (.base, 10_051_542, 1_445_888), (.large, 16_930_838, 2_979_328)] {
            let model = try student(variant)
            XCTAssertEqual(count(model), total, "\(variant)")
            XCTAssertEqual(count((model.backbone as! UpsampledSeaFormerBackbone).upsample), modules, "\(variant)")
        }
    }

    func testFLOPsShapesAndStatePaths() throws {
        let model = try student(.tiny)
        model.eval()
        let image = Tensor.zeros([1, 256, 256, 3])
        let summary = ModelSummary.measure(model, depth: 0) { withNoGrad { _ = model.measuredForward(image) } }
        XCTAssertEqual(summary.mmcvFLOPs, 309_807_104)
        let backbone = model.backbone as! UpsampledSeaFormerBackbone
        // Head features at the teacher's strides (1/8, 1/32, 1/64 of 512 = of 256 at 1/4, 1/16, 1/32).
        XCTAssertEqual(backbone.featureInfo.map(\.stride), [4, 16, 32])
        XCTAssertEqual(withNoGrad { backbone.features(image) }.map(\.shape), [[1, 64, 64, 32], [1, 16, 16, 128], [1, 8, 8, 160]])
        // The backbone's own paths are kept, so a SeaFormer checkpoint loads into it.
        let plain = SeaFormerBackbone(variant: .tiny).stateDict()
        let keys = Set(backbone.stateDict().keys)
        XCTAssertTrue(Set(plain.keys).isSubset(of: keys))
        XCTAssertEqual(keys.subtracting(plain.keys).allSatisfy { $0.hasPrefix("upsample.") }, true)
    }

    func testGradientsReachTheUpsampleModules() throws {
        let model = try student(.tiny)
        model.train()
        let image = Tensor.normal([2, 64, 64, 3])
        let labels = Tensor((0..<(2 * 64 * 64)).map { Float($0 % 150) }, shape: [2, 64, 64])
        model.losses(images: image, labels: labels).total.backward()
        for (name, p) in model.namedParameters() where name.hasPrefix("backbone.upsample") {
            XCTAssertTrue(p.grad?.toArray().contains { $0 != 0 } ?? false, "\(name) has no gradient")
        }
    }
}
