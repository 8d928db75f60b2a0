import DataPipeline
@testable import Experiments
import Foundation
import TensorEngine
import XCTest

/// What TransKD's experiments need beyond the models (spec transkd.md §1.1, §3.5): the void
/// output channel (`void_class`), scored as TransKD scores it; the mmcv-hook FLOP column and the
/// paper-only columns its tables list; `init: null` (the proxy profile trains from scratch).
final class TransKDProtocolTests: XCTestCase {
    var dirs: [TempConfigDir] = []

    /// A two-image Cityscapes layout (train-id labels with ignored pixels) and an experiment on it.
    func cityscapesExperiment(numClasses: Int, voidClass: Bool = true) throws -> Experiment {
        let d = try TempConfigDir()
        dirs.append(d)
        let root = d.url.appendingPathComponent("cityscapes")
        var values = [UInt8](repeating: 3, count: 64 * 64)
        for i in 0..<512 { values[i] = 255 }
        let label = LabelMap(height: 64, width: 64, values: values)
        try DatasetFixtures.cityscapes(root, split: "train", [("aachen", "aachen_000000_000019", Image(height: 64, width: 64, channels: 3, fill: 90), label, true),
                                                              ("aachen", "aachen_000001_000019", Image(height: 64, width: 64, channels: 3, fill: 40), label, true)])
        let f = try d.write("x.yaml", """
        _base_: [\(repoRoot.appendingPathComponent("experiments/_base_/models/segformer_b0.yaml").path)]
        name: void_channel
        model: {num_classes: \(numClasses)}
        data:
          train:
            dataset: {type: cityscapes, root: \(root.path), split: train, void_class: \(voidClass)}
            workers: 0
        train:
          iterations: 1
          optimizer: {type: adamw, lr: 6.0e-5}
        """)
        return try Experiment.load(file: f)
    }

    func testVoidClassAddsAnUnlabelledLastClassAndLeavesTheLabelsAlone() throws {
        let e = try cityscapesExperiment(numClasses: 20)
        try validate(e)   // K = 20 over Cityscapes' 19 classes: the class-count checks pass
        let dataset = try e.dataset("train")
        XCTAssertEqual(dataset.classNames.count, 20)
        XCTAssertEqual(dataset.classNames.last, "void")
        XCTAssertEqual((dataset as? VoidChannelDataset)?.scoredClassCount, 19)
        XCTAssertEqual((dataset as? SegmentationDataset)?.palette?.count, 20)
        let plain = try cityscapesExperiment(numClasses: 19, voidClass: false).dataset("train")
        // Ignored pixels stay ignored: a class of CE weight 0 is the same loss as an ignored pixel.
        XCTAssertEqual(try dataset.load(0).label?.values, try plain.load(0).label?.values)
        XCTAssertEqual(Set(try dataset.load(0).label!.values), [3, 255])

        // Without the void channel the model's K = 20 is one too many, located at num_classes.
        let err = try XCTUnwrap(validationMessages { try validate(try cityscapesExperiment(numClasses: 20, voidClass: false)) })
        XCTAssertTrue(err.contains("(model.num_classes): is 20 but the train dataset (cityscapes"), err)
        XCTAssertTrue(err.contains("has 19 classes"), err)
    }

    func testVoidClassOnlyAppliesToSegmentationDatasets() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let root = d.url.appendingPathComponent("imagenet")
        try DatasetFixtures.imagenetFolders(root, split: "train", [("n01440764", "a.JPEG", Image(height: 8, width: 8, channels: 3, fill: 1))])
        let f = try d.write("x.yaml", """
        name: cls
        model: {type: image_classifier, backbone: {type: seaformer, variant: tiny}, num_classes: 1000}
        data:
          train: {dataset: {type: imagenet, root: \(root.path), split: train, void_class: true}}
        train: {iterations: 1, optimizer: {type: adamw, lr: 1.0e-3}}
        """)
        let e = try Experiment.load(file: f)
        XCTAssertThrowsError(try e.dataset("train")) { error in
            XCTAssertTrue("\(error)".contains("void_class"), "\(error)")
            XCTAssertTrue("\(error)".contains("applies to segmentation datasets only"), "\(error)")
            XCTAssertTrue("\(error)".contains("x.yaml:"), "located: \(error)")
        }
    }

    /// TransKD's iouEval: the void channel is dropped from the mean, and predicting it on a
    /// labelled pixel is a miss (a false negative) for the pixel's class.
    func testTheMetricLeavesTheVoidChannelOutOfTheMeans() {
        let labels = Tensor([0, 0, 1, 1, 255], shape: [1, 1, 5])
        let prediction = Tensor([0, 2, 1, 0, 2], shape: [1, 1, 5])
        var scored = SegmentationMetric(numClasses: 3, scoredClasses: 2)
        scored.update(prediction: prediction, label: labels)
        // Class 0: 1 hit of 2 labelled, predicted twice -> 1 / 3. Class 1: 1 / 2. Void: NaN.
        XCTAssertEqual(scored.perClassIoU[0], 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(scored.perClassIoU[1], 1.0 / 2, accuracy: 1e-12)
        XCTAssertTrue(scored.perClassIoU[2].isNaN)
        XCTAssertEqual(scored.mIoU, 5.0 / 12, accuracy: 1e-12)
        XCTAssertEqual(scored.mAcc, 0.5, accuracy: 1e-12)
        XCTAssertEqual(scored.aAcc, 0.5, accuracy: 1e-12)
        XCTAssertEqual(MetricRegistry.definition("mDice")!.compute(scored), (2.0 / 4 + 2.0 / 3) / 2, accuracy: 1e-12)
        // Scored as an ordinary class, the predicted-but-never-labelled void would count IoU 0.
        var all = SegmentationMetric(numClasses: 3)
        all.update(prediction: prediction, label: labels)
        XCTAssertEqual(all.mIoU, (1.0 / 3 + 1.0 / 2) / 3, accuracy: 1e-12)
    }

    func testFlopsHooksColumnReadsTheHookCountAndPaperColumnsNameThemselves() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let exp = try d.write("exp.yaml", """
        _base_: [\(repoRoot.appendingPathComponent("experiments/_base_/models/segformer_b0.yaml").path)]
        name: b0
        data: {train: {dataset: {type: synthetic, num_classes: 20, image_size: 64}}}
        train: {iterations: 1, optimizer: {type: adamw, lr: 6.0e-5}}
        """)
        let specFile = try d.write("t.yaml", """
        name: demo
        output_dir: \(d.url.appendingPathComponent("runs").path)
        input_size: [64, 128]
        columns: [params, flops, flops_hooks, {type: paper, id: fog, header: Fog}, {type: paper, id: channels, header: "Channels", digits: 0}, miou]
        rows:
          - {id: b0, experiment: exp.yaml, paper: {params: 3.72, flops_hooks: 13.67, fog: 52.10}}
          - {id: kd, reproducible: false, reason: "distillation: issue 15", paper: {channels: 32, miou: 68.58}}
        """)
        _ = exp
        let spec = try TableSpec.load(file: specFile)
        XCTAssertEqual(spec.columns.map(\.id), ["params", "flops", "flops_hooks", "fog", "channels", "miou"])
        XCTAssertEqual(spec.columns.map(\.header), ["Params(M)", "FLOPs(G)", "FLOPs(G)", "Fog", "Channels", "mIoU"])
        XCTAssertEqual(spec.columns[2].source, .cost(.flopsMMCVHooks))
        XCTAssertEqual(spec.columns[3].source, .paperOnly)
        XCTAssertEqual(spec.columns[4].digits, 0)
        let result = try TableCollector(plan: try TablePlan(spec: spec, profile: "paper"), cost: TableCost()).collect()
        let b0 = result.rows[0].cells
        // MiT-B0 at 64x128 (docs/segformer.md: FLOPs proportional to the area, 13,674,020,864 at 512x1024):
        // the hook convention leaves out GELU, which the SeaFormer convention counts.
        XCTAssertEqual(b0["flops_hooks"]?.ours?.mean ?? 0, 13_674_020_864 / 64 * 1e-9, accuracy: 1e-12)
        XCTAssertGreaterThan(b0["flops"]?.ours?.mean ?? 0, b0["flops_hooks"]?.ours?.mean ?? 0)
        XCTAssertNil(b0["fog"]?.ours)
        XCTAssertEqual(b0["fog"]?.paper, 52.10)
        XCTAssertEqual(result.rows[1].cells["channels"]?.paper, 32)

        func message(_ columns: String) throws -> String {
            let f = try d.write("bad.yaml", "name: bad\ncolumns: \(columns)\nrows: [{id: a, reproducible: false, reason: x}]\n")
            do { _ = try TableSpec.load(file: f); XCTFail("expected an error for \(columns)"); return "" } catch { return "\(error)" }
        }
        let bare = try message("[miou, paper]")
        XCTAssertTrue(bare.contains("bad.yaml:2:17 (columns.1): a paper column needs its own id and header"), bare)
        let noID = try message("[{type: paper, header: Fog}]")
        XCTAssertTrue(noID.contains("(columns.0.id): a paper column needs an id"), noID)
        let builtIn = try message("[{type: paper, id: miou}]")
        XCTAssertTrue(builtIn.contains("(columns.0.id): 'miou' is a column type"), builtIn)
        let otherType = try message("[{type: macs, id: flops}]")
        XCTAssertTrue(otherType.contains("(columns.0.id): 'flops' is a column type"), otherType)
        let twice = try message("[{type: paper, id: fog}, {type: paper, id: fog}]")
        XCTAssertTrue(twice.contains("column 'fog' is listed twice"), twice)
    }

    /// `init: null` is no initialisation; TransKD's proxy profile is the shared proxy plus that line.
    func testInitNullAndTheTransKDProxyProfile() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let f = try d.write("x.yaml", """
        _base_: [\(repoRoot.appendingPathComponent("experiments/transkd/segformer_b0_in1k-pre_512x1024_1000e_1x2_cityscapes.yaml").path)]
        """)
        let withInit = try Experiment.load(file: f)
        XCTAssertEqual(try withInit.splitInit().1.map(\.config.checkpoint), ["weights/mit_b0.h5"])
        let profiles = repoRoot.appendingPathComponent("experiments/_base_/profiles")
        let shared = try TablePlan.overrides(ofProfile: profiles.appendingPathComponent("proxy.yaml"))
        let transkd = try TablePlan.overrides(ofProfile: profiles.appendingPathComponent("proxy_transkd.yaml"))
        XCTAssertEqual(transkd, shared + ["model.backbone.init=null"])
        let proxied = try Experiment.load(file: f, overrides: transkd)
        XCTAssertTrue(try proxied.splitInit().1.isEmpty)
        XCTAssertNil(try proxied.splitInit().0.node(at: ["backbone", "init"]))
        XCTAssertEqual(try proxied.buildModel().parameterCount, 3_715_686)   // B0 at the proxy's 6 classes
    }

    /// The messages of a `validate` failure (all of them), or nil when it passes.
    func validationMessages(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as ValidationErrors { return e.errors.map { "\($0)" }.joined(separator: "\n") } catch { return "\(error)" }
    }
}
