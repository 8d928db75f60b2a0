import XCTest
@testable import DataPipeline

/// Loaders against tiny datasets in each real layout (FixtureWriter): pairing by name, label
/// mapping, split selection, filters, and every user-facing error naming its path.
final class DatasetLoaderTests: XCTestCase {
    typealias F = FixtureWriter
    var roots: [URL] = []

    override func tearDown() {
        for r in roots { try? FileManager.default.removeItem(at: r) }
        roots = []
    }

    func root(_ tag: String) -> URL { let r = F.tempRoot(tag); roots.append(r); return r }

    /// Asserts `body` throws a DataError whose message contains every one of `fragments`.
    func assertDataError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Any) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? DataError else { return XCTFail("not a DataError: \(error)", file: file, line: line) }
            for f in fragments { XCTAssertTrue(e.message.contains(f), "'\(f)' not in: \(e.message)", file: file, line: line) }
        }
    }

    /// Image number of a loaded sample, recovered from its uniform colour (JPEG within ±2).
    func imageNumber(_ s: Sample) -> Int { Int(((s.image.pixels[0] - 10) / 20).rounded()) }

    // MARK: ADE20K

    func testADE20KPairsByNameAndReducesZeroLabel() throws {
        let r = root("ade")
        // Stems sort differently from k, so positional pairing would mismatch.
        try F.ade20k(r, split: "training", [("ADE_train_00000003", 1, F.label([0, 1, 150, 255], fill: 3)),
                                            ("ADE_train_00000001", 2, F.label([0, 1, 150, 255], fill: 4)),
                                            ("ADE_train_00000002", 0, F.label([0, 1, 150, 255], fill: 5))])
        try F.ade20k(r, split: "validation", [("ADE_val_00000001", 4, F.label([7], fill: 7))])
        let ds = try ADE20KDataset(root: r, split: "train")
        XCTAssertEqual(ds.count, 3)
        XCTAssertEqual(ds.classNames.count, 150)
        XCTAssertEqual(ds.classNames[0], "wall")
        let expectK = [2, 0, 1], expectFill: [UInt8] = [3, 4, 2] // fill - 1 after reduce-zero
        for i in 0..<3 {
            let s = try ds.load(i)
            XCTAssertTrue(s.source.hasSuffix("ADE_train_0000000\(i + 1).jpg"))
            XCTAssertEqual(imageNumber(s), expectK[i])
            XCTAssertEqual(Array(s.label!.values[0..<5]), [255, 0, 149, 255, expectFill[i]])
        }
        // Split selection; the parent or the ADEChallengeData2016 folder both work as root.
        let val = try ADE20KDataset(root: r.appendingPathComponent("ADEChallengeData2016"), split: "val")
        XCTAssertEqual(val.count, 1)
        XCTAssertEqual(try val.load(0).label!.values[0], 6)
    }

    func testADE20KErrorsNameThePath() throws {
        let r = root("ade-err")
        try F.ade20k(r, split: "training", [("a", 0, F.label([], fill: 1)), ("b", 1, F.label([151], fill: 1))])
        let base = r.appendingPathComponent("ADEChallengeData2016")
        // Label value outside 0…150 (checked when the label is loaded).
        let ds = try ADE20KDataset(root: r, split: "train")
        XCTAssertNoThrow(try ds.load(0))
        assertDataError(["ade20k", "151", base.appendingPathComponent("annotations/training/b.png").path]) { try ds.load(1) }
        // Decoy image without a label.
        let decoy = base.appendingPathComponent("images/training/c.jpg")
        try F.writeImage(2, to: decoy)
        assertDataError([decoy.path, "has no label", "ADEChallengeData2016/images"]) { try ADE20KDataset(root: r, split: "train") }
        try FileManager.default.removeItem(at: decoy)
        // Label without an image.
        let orphan = base.appendingPathComponent("annotations/training/z.png")
        try F.writeLabel(F.label([], fill: 0), to: orphan)
        assertDataError([orphan.path, "has no image"]) { try ADE20KDataset(root: r, split: "train") }
        // Missing root, missing and empty split.
        let missing = r.appendingPathComponent("nope")
        assertDataError(["ade20k", missing.path, "does not exist"]) { try ADE20KDataset(root: missing, split: "train") }
        assertDataError(["validation image directory", base.appendingPathComponent("images/validation").path]) { try ADE20KDataset(root: r, split: "val") }
        F.touchDirectory(base.appendingPathComponent("images/validation"))
        F.touchDirectory(base.appendingPathComponent("annotations/validation"))
        assertDataError(["no images", base.appendingPathComponent("images/validation").path]) { try ADE20KDataset(root: r, split: "val") }
        assertDataError(["split", "'test'"]) { try ADE20KDataset(root: r, split: "test") }
    }

    // MARK: Cityscapes and ACDC

    func testCityscapesTrainIdsAndLabelIds() throws {
        let r = root("city")
        try F.cityscapes(r, split: "train", [
            ("zurich", "zurich_000001_000019", 1, F.label([0, 5, 18, 255], fill: 13), true),
            // labelIds: 7 road → 0, 26 car → 13, 0 unlabelled → 255, 33 bicycle → 18, 9 parking → 255
            ("aachen", "aachen_000000_000019", 2, F.label([7, 26, 0, 33, 9], fill: 11), false),
        ])
        try F.cityscapes(r, split: "val", [("lindau", "lindau_000000_000019", 3, F.label([], fill: 0), true)])
        let ds = try CityscapesDataset(root: r, split: "train")
        XCTAssertEqual(ds.count, 2)
        let a = try ds.load(0), z = try ds.load(1)
        XCTAssertTrue(a.source.hasSuffix("aachen/aachen_000000_000019_leftImg8bit.png"))
        XCTAssertEqual(imageNumber(a), 2); XCTAssertEqual(imageNumber(z), 1)
        XCTAssertEqual(Array(a.label!.values[0..<6]), [0, 13, 255, 18, 255, 2], "34 label ids → 19 train ids")
        XCTAssertEqual(Array(z.label!.values[0..<5]), [0, 5, 18, 255, 13])
        XCTAssertEqual(try CityscapesDataset(root: r, split: "val").count, 1)

        // A labelId outside 0…33, a trainId outside 0…18, a decoy image.
        try F.writeLabel(F.label([34], fill: 7), to: r.appendingPathComponent("gtFine/train/aachen/aachen_000000_000019_gtFine_labelIds.png"))
        try F.writeLabel(F.label([19], fill: 1), to: r.appendingPathComponent("gtFine/train/zurich/zurich_000001_000019_gtFine_labelTrainIds.png"))
        let ds2 = try CityscapesDataset(root: r, split: "train")
        assertDataError(["34", "aachen_000000_000019_gtFine_labelIds.png", "label ids 0…33"]) { try ds2.load(0) }
        assertDataError(["19", "zurich_000001_000019_gtFine_labelTrainIds.png"]) { try ds2.load(1) }
        let decoy = r.appendingPathComponent("leftImg8bit/train/bonn/bonn_000000_000019_leftImg8bit.png")
        try F.writeImage(0, to: decoy)
        assertDataError([decoy.path, "gtFine/train/bonn/bonn_000000_000019_gtFine_labelTrainIds.png"]) { try CityscapesDataset(root: r, split: "train") }
    }

    func testACDCConditionFilter() throws {
        let r = root("acdc")
        try F.acdc(r, split: "train", [("fog", "GOPR0475", "GOPR0475_frame_000041", 0, F.label([1], fill: 0)),
                                       ("night", "GOPR0351", "GOPR0351_frame_000159", 1, F.label([2], fill: 0)),
                                       ("rain", "GOPR0400", "GOPR0400_frame_000001", 2, F.label([3], fill: 0)),
                                       ("snow", "GOPR0122", "GOPR0122_frame_000161", 3, F.label([18], fill: 255))])
        XCTAssertEqual(try ACDCDataset(root: r, split: "train").count, 4)
        let night = try ACDCDataset(root: r, split: "train", options: DatasetOptions(conditions: ["night", "snow"]))
        XCTAssertEqual(night.count, 2)
        XCTAssertEqual(night.classNames.count, 19)
        let s = try night.load(1)
        XCTAssertTrue(s.source.contains("rgb_anon/snow/train/GOPR0122/"))
        XCTAssertEqual(imageNumber(s), 3)
        XCTAssertEqual(Array(s.label!.values[0..<2]), [18, 255])
        assertDataError(["conditions", "'haze'", "fog, night, rain, snow"]) {
            try ACDCDataset(root: r, split: "train", options: DatasetOptions(conditions: ["haze"]))
        }
        assertDataError(["acdc", r.appendingPathComponent("rgb_anon/fog/val").path]) { try ACDCDataset(root: r, split: "val") }
    }

    // MARK: Pascal Context

    func testPascalContext60And59() throws {
        let r = root("pc")
        let entries = [("2008_000002", 0, F.label([0, 1, 59], fill: 4)), ("2008_000001", 1, F.label([0, 1, 59], fill: 5))]
        try F.pascalContext(r, split: "train", entries)
        try F.pascalContext(r, split: "val", [("2008_000009", 2, F.label([], fill: 0))])
        let ds60 = try PascalContextDataset(root: r, split: "train")
        XCTAssertEqual(ds60.classNames.count, 60)
        XCTAssertEqual(ds60.palette?.count, 60)
        let s0 = try ds60.load(0)
        XCTAssertTrue(s0.source.hasSuffix("2008_000001.jpg"))
        XCTAssertEqual(imageNumber(s0), 1)
        XCTAssertEqual(Array(s0.label!.values[0..<4]), [0, 1, 59, 5])
        let ds59 = try PascalContextDataset(root: r.appendingPathComponent("VOCdevkit"), split: "train", options: DatasetOptions(numClasses: 59))
        XCTAssertEqual(ds59.classNames.count, 59)
        XCTAssertEqual(ds59.classNames[0], "aeroplane")
        XCTAssertEqual(ds59.palette?.first, [180, 120, 120])
        XCTAssertEqual(Array(try ds59.load(0).label!.values[0..<4]), [255, 0, 58, 4], "59 classes: background ignored, others shift down")
        XCTAssertEqual(try PascalContextDataset(root: r, split: "val").count, 1)

        assertDataError(["num_classes", "59"]) { try PascalContextDataset(root: r, split: "train", options: DatasetOptions(numClasses: 21)) }
        // A listed image without a label, and a listed name without an image.
        let base = r.appendingPathComponent("VOCdevkit/VOC2010")
        try F.writeImage(3, to: base.appendingPathComponent("JPEGImages/2008_000003.jpg"))
        try F.pascalContext(r, split: "train", entries, extraListed: ["2008_000003"])
        assertDataError([base.appendingPathComponent("SegmentationClassContext/2008_000003.png").path, "has no label"]) {
            try PascalContextDataset(root: r, split: "train")
        }
        try F.pascalContext(r, split: "train", entries, extraListed: ["2008_000777"])
        assertDataError([base.appendingPathComponent("JPEGImages/2008_000777.jpg").path, "is missing"]) {
            try PascalContextDataset(root: r, split: "train")
        }
        assertDataError([base.appendingPathComponent("ImageSets/SegmentationContext/test.txt").path]) { try PascalContextDataset(root: r, split: "test") }
        // Label value 60 is out of range for 60 classes.
        try F.pascalContext(r, split: "train", [("2008_000002", 0, F.label([60], fill: 0))])
        assertDataError(["60", "2008_000002.png", "0…59"]) { try PascalContextDataset(root: r, split: "train").load(0) }
    }

    // MARK: COCO-Stuff

    func testCOCOStuffTrainIdsAndRaw182() throws {
        let r = root("coco")
        try F.cocoStuff(r, split: "train2017", [
            ("000000000009", 0, F.label([0, 170, 255], fill: 3), true),
            // raw: 12 → 11, 26 → 24, 181 → 170, 255 → 255, unused id 11 → 255
            ("000000000025", 1, F.label([12, 26, 181, 255, 11], fill: 0), false),
        ])
        let ds = try COCOStuffDataset(root: r, split: "train")
        XCTAssertEqual(ds.count, 2)
        XCTAssertEqual(ds.classNames.count, 171)
        XCTAssertEqual(Array(try ds.load(0).label!.values[0..<4]), [0, 170, 255, 3])
        let raw = try ds.load(1)
        XCTAssertEqual(imageNumber(raw), 1)
        XCTAssertEqual(Array(raw.label!.values[0..<6]), [11, 24, 170, 255, 255, 0])
        // Out of range: train id 171, raw id 200.
        try F.writeLabel(F.label([171], fill: 0), to: r.appendingPathComponent("annotations/train2017/000000000009_labelTrainIds.png"))
        try F.writeLabel(F.label([200], fill: 0), to: r.appendingPathComponent("annotations/train2017/000000000025.png"))
        let bad = try COCOStuffDataset(root: r, split: "train")
        assertDataError(["171", "000000000009_labelTrainIds.png"]) { try bad.load(0) }
        assertDataError(["200", "annotations/train2017/000000000025.png", "raw COCO-Stuff ids 0…181"]) { try bad.load(1) }
        let decoy = r.appendingPathComponent("images/train2017/000000000030.jpg")
        try F.writeImage(2, to: decoy)
        assertDataError([decoy.path, "000000000030_labelTrainIds.png"]) { try COCOStuffDataset(root: r, split: "train") }
        assertDataError(["coco_stuff", r.appendingPathComponent("images/val2017").path]) { try COCOStuffDataset(root: r, split: "val") }
    }

    /// The 10k release (SeaFormer's Table 5) after mmseg's converter: train2014/test2014 folders,
    /// train ids 1…171 with 0 unlabelled, read with reduce_zero_label; val means test.
    func testCOCOStuff10kReducesZeroLabel() throws {
        let r = root("coco10k").appendingPathComponent("coco_stuff10k")
        try F.cocoStuff(r, split: "train2014", [("COCO_train2014_000000000077", 0, F.label([0, 1, 171, 255], fill: 5), true)])
        try F.cocoStuff(r, split: "test2014", [
            ("COCO_train2014_000000000049", 1, F.label([2], fill: 0), true),
            ("COCO_train2014_000000000139", 2, F.label([172], fill: 1), true),
        ])
        // The root may be the folder above coco_stuff10k/, as with 164k.
        let train = try COCOStuffDataset(root: r.deletingLastPathComponent(), split: "train")
        XCTAssertEqual(train.count, 1)
        XCTAssertEqual(Array(try train.load(0).label!.values[0..<5]), [255, 0, 170, 255, 4])
        let test = try COCOStuffDataset(root: r, split: "val")
        XCTAssertEqual(test.count, 2)
        XCTAssertEqual(try COCOStuffDataset(root: r, split: "test2014").count, 2)
        XCTAssertEqual(Array(try test.load(0).label!.values[0..<2]), [1, 255])
        assertDataError(["172", "COCO_train2014_000000000139_labelTrainIds.png"]) { try test.load(1) }
        assertDataError(["'train2017' is not a split of COCO-Stuff 10k", "Use train or test (train2014 / test2014)"]) { try COCOStuffDataset(root: r, split: "train2017") }
        // A raw .mat-era label is not read: the converter's PNG is asked for by path.
        try F.writeImage(3, to: r.appendingPathComponent("images/train2014/COCO_train2014_000000000241.jpg"))
        assertDataError([r.appendingPathComponent("annotations/train2014/COCO_train2014_000000000241_labelTrainIds.png").path, "coco_stuff10k.py"]) {
            try COCOStuffDataset(root: r, split: "train")
        }
    }

    // MARK: NYUv2

    /// Split file listing 1-based indices.
    func nyuSplits(_ dir: URL, train: [Int], test: [Int]) throws -> URL {
        let url = dir.appendingPathComponent("splits.yaml")
        try F.writeText("train: \(train)\ntest: \(test)\n", to: url)
        return url
    }

    func testNYUv2MatWithAndWithoutUserBlock() throws {
        let r = root("nyu")
        // raw ids: 21 wall → NYU40 1 → 0; 11 floor → 2 → 1; 0 → ignore; 894 → 40 → 39; 3 cabinet → 3 → 2.
        let px = F.height * F.width
        func raw(_ head: [UInt16], _ fill: UInt16) -> [UInt16] { head + Array(repeating: fill, count: px - head.count) }
        let labels = [raw([21, 11, 0, 894], 3), raw([21], 11), raw([0], 21)]
        for userBlock in [true, false] {
            let mat = r.appendingPathComponent(userBlock ? "ub/nyu_depth_v2_labeled.mat" : "plain/nyu_depth_v2_labeled.mat")
            F.touchDirectory(mat.deletingLastPathComponent())
            try F.nyuv2Mat(mat, rawLabels: labels, userBlock: userBlock)
            if userBlock {
                let head = try Data(contentsOf: mat).prefix(520)
                XCTAssertEqual(Array(head[512..<520]), [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A], "HDF5 superblock after the 512-byte user block")
            }
            let splits = try nyuSplits(r, train: [3, 1], test: [2])
            let train = try NYUv2Dataset(root: mat.deletingLastPathComponent(), split: "train", options: DatasetOptions(splitFile: splits))
            XCTAssertEqual(train.count, 2)
            XCTAssertEqual(train.classNames.count, 40)
            let a = try train.load(0), b = try train.load(1)
            XCTAssertEqual(a.image, F.image(2), "MATLAB-transposed storage reads back as HWC")
            XCTAssertEqual(a.label!.values[0], 255)
            XCTAssertEqual(a.label!.values[1], 0)
            XCTAssertEqual(b.image, F.image(0))
            XCTAssertEqual(Array(b.label!.values[0..<5]), [0, 1, 255, 39, 2])
            XCTAssertTrue(b.source.hasSuffix("nyu_depth_v2_labeled.mat#1"))
            let test = try NYUv2Dataset(root: mat, split: "val", options: DatasetOptions(splitFile: splits))
            XCTAssertEqual(test.count, 1)
            XCTAssertEqual(try test.load(0).label!.values[1], 1)
        }
        // Errors: index outside 1…N, empty list, raw id beyond 894, not HDF5.
        let mat = r.appendingPathComponent("ub/nyu_depth_v2_labeled.mat")
        let badSplit = try nyuSplits(r, train: [4], test: [1])
        assertDataError([badSplit.path, "index 4", "1…3"]) { try NYUv2Dataset(root: mat, split: "train", options: DatasetOptions(splitFile: badSplit)) }
        let empty = try nyuSplits(r, train: [], test: [1])
        assertDataError([empty.path, "empty", "splits.mat"]) { try NYUv2Dataset(root: mat, split: "train", options: DatasetOptions(splitFile: empty)) }
        try F.nyuv2Mat(mat, rawLabels: [raw([895], 0)])
        let one = try nyuSplits(r, train: [1], test: [1])
        assertDataError(["895", mat.path, "raw NYUv2 class ids 1…894"]) {
            try NYUv2Dataset(root: mat, split: "train", options: DatasetOptions(splitFile: one)).load(0)
        }
        try F.writeText("MATLAB 5.0 MAT-file", to: mat)
        assertDataError([mat.path, "not an HDF5"]) { try NYUv2Dataset(root: mat, split: "train", options: DatasetOptions(splitFile: one)) }
    }

    func testNYUv2MappingIsDataFromTheYAML() throws {
        // A synthetic 5-id table in a private metadata directory drives the mapping.
        let r = root("nyu-table")
        let meta = r.appendingPathComponent("meta")
        let names = (1...40).map { "\"c\($0)\"" }.joined(separator: ", ")
        try F.writeText("""
            name: nyuv2
            task: segmentation
            num_classes: 40
            classes: [\(names)]
            id_map: {first_id: 1, ignore_ids: [0], value_offset: -1, table: [40, 1, 255, 2, 7]}
            """, to: meta.appendingPathComponent("nyuv2.yaml"))
        let px = F.height * F.width
        try F.nyuv2Mat(r.appendingPathComponent("nyu_depth_v2_labeled.mat"),
                       rawLabels: [[0, 1, 2, 3, 4, 5] + Array(repeating: 1, count: px - 6)])
        try F.writeText("train: [1]\ntest: [1]\n", to: meta.appendingPathComponent("nyuv2_splits.yaml"))
        let ds = try NYUv2Dataset(root: r, split: "train", options: DatasetOptions(metadataDirectory: meta))
        XCTAssertEqual(Array(try ds.load(0).label!.values[0..<6]), [255, 39, 0, 255, 1, 6])
        // The shipped table: 894 entries, every NYU40 class reachable.
        let real = try DatasetMetadata.load("nyuv2")
        XCTAssertEqual(real.idMap?.table.count, 894)
        XCTAssertEqual(Set(real.idMap!.table), Set(1...40))
    }

    /// The shipped split is the standard one: 795 train + 654 test, disjoint, covering all 1449
    /// labeled images; the test list starts 1, 2, 9, 14 as splits.mat's testNdxs does.
    func testShippedNYUv2SplitIsTheStandard795And654() throws {
        let file = DatasetMetadata.defaultDirectory.appendingPathComponent("nyuv2_splits.yaml")
        let layout = DatasetLayout(dataset: "nyuv2", expected: "")
        let train = try NYUv2Dataset.splitIndices(file, split: "train", count: 1449, layout: layout)
        let test = try NYUv2Dataset.splitIndices(file, split: "test", count: 1449, layout: layout)
        XCTAssertEqual(train.count, 795)
        XCTAssertEqual(test.count, 654)
        XCTAssertTrue(Set(train).isDisjoint(with: test))
        XCTAssertEqual(Set(train + test), Set(0..<1449))
        XCTAssertEqual(Array(test.prefix(6)), [0, 1, 8, 13, 14, 15], "0-based")
        XCTAssertEqual(Array(train.prefix(4)), [2, 3, 4, 5])
    }

    func testNYUv2ExtractedLayout() throws {
        let r = root("nyu-ext")
        try F.nyuv2Extracted(r, train: [("0003", 0, F.label([0, 1, 40], fill: 2)), ("0001", 1, F.label([], fill: 1))],
                             test: [("0002", 2, F.label([], fill: 3))])
        let ds = try NYUv2Dataset(root: r, split: "train")
        XCTAssertEqual(ds.count, 2)
        let s = try ds.load(1)
        XCTAssertEqual(imageNumber(s), 0)
        XCTAssertEqual(Array(s.label!.values[0..<4]), [255, 0, 39, 1])
        XCTAssertEqual(try NYUv2Dataset(root: r, split: "test").count, 1)
        try F.writeText("0001\n0004\n", to: r.appendingPathComponent("test.txt"))
        try F.writeImage(4, to: r.appendingPathComponent("images/0004.png"))
        assertDataError([r.appendingPathComponent("labels40/0004.png").path, "has no label"]) { try NYUv2Dataset(root: r, split: "test") }
        assertDataError(["nyuv2", "does not exist"]) { try NYUv2Dataset(root: r.appendingPathComponent("x"), split: "test") }
    }

    // MARK: ImageNet

    func testImageNetFoldersAndBothValLayouts() throws {
        let r = root("inet")
        try F.imagenetFolders(r, split: "train", [("n01443537", "n01443537_1.JPEG", 1), ("n01440764", "n01440764_2.JPEG", 0),
                                                  ("n01440764", "n01440764_1.JPEG", 2), ("n15075141", "n15075141_9.JPEG", 3)])
        let train = try ImageNetDataset(root: r, split: "train")
        XCTAssertEqual(train.count, 4)
        XCTAssertEqual(train.classNames.count, 1000)
        let labels = try (0..<4).map { try train.load($0).classIndex! }
        XCTAssertEqual(labels, [0, 0, 1, 999], "class index = position of the wnid in sorted order")
        XCTAssertEqual(imageNumber(try train.load(0)), 2, "n01440764_1 first")

        // Folder val layout.
        let r2 = root("inet-val")
        try F.imagenetFolders(r2, split: "val", [("n01443537", "ILSVRC2012_val_00000001.JPEG", 0)])
        XCTAssertEqual(try ImageNetDataset(root: r2, split: "val").load(0).classIndex, 1)

        // Flat val with wnids and indices.
        try F.imagenetFlatVal(r, [("ILSVRC2012_val_00000002.JPEG", 0, "n15075141"), ("ILSVRC2012_val_00000001.JPEG", 1, "1")])
        let val = try ImageNetDataset(root: r, split: "val")
        XCTAssertEqual(try (0..<2).map { try val.load($0).classIndex! }, [1, 999])
        XCTAssertEqual(imageNumber(try val.load(0)), 1)

        // Subsets: classes from the sorted train folders.
        let sub = try ImageNetDataset(root: r, split: "val", options: DatasetOptions(classesFromFolders: true))
        XCTAssertEqual(sub.wnids, ["n01440764", "n01443537", "n15075141"])

        // Errors: unlabelled decoy, label for a missing file, unknown wnid, index out of range, unknown folder.
        let decoy = r.appendingPathComponent("val/ILSVRC2012_val_00000003.JPEG")
        try FileManager.default.copyItem(at: r.appendingPathComponent("val/ILSVRC2012_val_00000001.JPEG"), to: decoy)
        assertDataError([decoy.path, "val_labels.txt"]) { try ImageNetDataset(root: r, split: "val") }
        try FileManager.default.removeItem(at: decoy)
        try F.writeText("ILSVRC2012_val_00000001.JPEG 1\nILSVRC2012_val_00000002.JPEG 2\nILSVRC2012_val_00000009.JPEG 3\n",
                        to: r.appendingPathComponent("val/val_labels.txt"))
        assertDataError([r.appendingPathComponent("val/ILSVRC2012_val_00000009.JPEG").path, "does not exist"]) { try ImageNetDataset(root: r, split: "val") }
        try F.writeText("ILSVRC2012_val_00000001.JPEG n99999999\nILSVRC2012_val_00000002.JPEG 2\n", to: r.appendingPathComponent("val/val_labels.txt"))
        assertDataError(["n99999999", "val_labels.txt"]) { try ImageNetDataset(root: r, split: "val") }
        try F.writeText("ILSVRC2012_val_00000001.JPEG 1000\nILSVRC2012_val_00000002.JPEG 2\n", to: r.appendingPathComponent("val/val_labels.txt"))
        assertDataError(["1000", "val_labels.txt", "0…999"]) { try ImageNetDataset(root: r, split: "val") }
        F.touchDirectory(r.appendingPathComponent("train/cats"))
        assertDataError([r.appendingPathComponent("train/cats").path, "classes_from_folders"]) { try ImageNetDataset(root: r, split: "train") }
    }

    // MARK: registry

    func testRegistryFactoryAndExtensionPoint() throws {
        XCTAssertEqual(Array(DatasetRegistry.standard.names.prefix(8)), ["synthetic", "ade20k", "cityscapes", "pascal_context", "coco_stuff", "nyuv2", "acdc", "imagenet"])
        let r = root("reg")
        try F.ade20k(r, split: "training", [("a", 0, F.label([], fill: 1))])
        XCTAssertEqual(try makeDataset(type: "ade20k", root: r, split: "train").count, 1)
        assertDataError(["'ade20'", "Did you mean 'ade20k'"]) { try makeDataset(type: "ade20", root: r, split: "train") }
        assertDataError(["ade20k", "conditions"]) { try makeDataset(type: "ade20k", root: r, split: "train", options: DatasetOptions(conditions: ["fog"])) }
        final class Tiny: Dataset {
            var count: Int { 1 }
            var classNames: [String] { ["x"] }
            func load(_ index: Int) throws -> Sample { Sample(image: Image(height: 1, width: 1, channels: 3), source: "tiny:0") }
        }
        StandardDatasets.registerLayout("test_tiny") { _, _, _ in Tiny() }
        XCTAssertEqual(try makeDataset(type: "test_tiny", root: r, split: "train").count, 1)
        XCTAssertEqual(try DatasetNode.decode(#"{"type": "test_tiny", "root": "\#(r.path)", "split": "train"}"#).make().count, 1)
    }

    /// A dataset node decodes through the registry from any Decoder (JSON here): each type reads
    /// its own keys, and a key no dataset reads is an error naming it and the valid ones.
    func testRegistryDecodesDatasetNodes() throws {
        let r = root("node")
        try F.ade20k(r, split: "training", [("a", 0, F.label([], fill: 1)), ("b", 1, F.label([], fill: 2))])
        let ade = try DatasetNode.decode(#"{"type": "ade20k", "root": "\#(r.path)", "split": "training"}"#)
        XCTAssertEqual(ade.typeName, "ade20k")
        XCTAssertEqual(ade.root?.path, r.path)
        XCTAssertEqual(try ade.make().count, 2)
        let synthetic = try DatasetNode.decode(#"{"type": "synthetic", "num_classes": 3, "length": 5}"#)
        XCTAssertEqual(synthetic.root, nil)
        XCTAssertEqual(try synthetic.make().count, 5)
        XCTAssertEqual(try synthetic.make().classNames.count, 3)
        XCTAssertThrowsError(try DatasetNode.decode(#"{"type": "ade20k", "root": "x", "split": "training", "crop": 5}"#)) {
            XCTAssertEqual(($0 as? ConfigValueError)?.keyPath, "crop")
            XCTAssertTrue("\($0)".contains("unknown key 'crop'"), "\($0)")
        }
        XCTAssertThrowsError(try DatasetNode.decode(#"{"type": "ade2k", "root": "x", "split": "training"}"#)) {
            XCTAssertEqual(($0 as? RegistryError)?.suggestion, "ade20k")
        }
        XCTAssertThrowsError(try DatasetNode.decode(#"{"type": "ade20k", "split": "training"}"#)) {
            guard case DecodingError.keyNotFound(let key, _) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(key.stringValue, "root")
        }
    }
}

/// Decodes one dataset node through `DatasetRegistry.standard` with Foundation's JSON decoder.
private struct DatasetNode: Decodable {
    let config: any DatasetConfig
    init(from decoder: Decoder) throws { config = try DatasetRegistry.standard.build(from: decoder) }
    static func decode(_ json: String) throws -> any DatasetConfig {
        try JSONDecoder().decode(DatasetNode.self, from: Data(json.utf8)).config
    }
}
