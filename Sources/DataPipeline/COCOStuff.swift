import Foundation

/// COCO-Stuff, either release, told apart by its image folders:
/// - 164k: `images/{train2017,val2017}/*.jpg` with `annotations/<split>/<name>_labelTrainIds.png`
///   (train ids 0…170, 255 = ignore, made by mmseg's tools/dataset_converters/coco_stuff164k.py)
///   or, without the converter, the raw `annotations/<split>/<name>.png` stuffthingmaps (ids
///   0…181, 255 = unlabelled) mapped to the 171 classes with the table in datasets/coco_stuff.yaml.
/// - 10k (SeaFormer's Table 5): `images/{train2014,test2014}/*.jpg` with
///   `annotations/<split>/<name>_labelTrainIds.png` as mmseg's coco_stuff10k.py converter writes
///   them from the release's .mat files: train ids 1…171 with 0 = unlabelled, read with
///   mmseg's `reduce_zero_label=True` (id − 1, 0 → ignore), so both releases give classes 0…170.
public final class COCOStuffDataset: SegmentationFileDataset {
    static let expected = "images/{train2017,val2017}/<name>.jpg (164k) or images/{train2014,test2014}/<name>.jpg (10k) with annotations/<split>/<name>_labelTrainIds.png (164k also the raw <name>.png)"

    /// `root` holds `images/` and `annotations/`; `split` is train/val (train2017/val2017) for
    /// 164k, train/test (train2014/test2014; val means test, as the paper evaluates on it) for 10k.
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([], dataset: "coco_stuff")
        let meta = try options.metadata("coco_stuff")
        let layout = DatasetLayout(dataset: "coco_stuff", expected: Self.expected)
        let base = try layout.resolveRoot(root, subdirectories: ["coco_stuff164k", "coco_stuff10k"], markers: ["images", "annotations"])
        let is10k = FileManager.default.fileExists(atPath: base.appendingPathComponent("images/train2014").path)
            || FileManager.default.fileExists(atPath: base.appendingPathComponent("images/test2014").path)
        let s = nativeSplit(split, is10k ? ["train": "train2014", "val": "test2014", "test": "test2014"] : ["train": "train2017", "val": "val2017"])
        let splits = is10k ? ["train2014", "test2014"] : ["train2017", "val2017"]
        guard splits.contains(s) else {
            throw DataError.invalidOption(dataset: "coco_stuff", option: "split", problem: "'\(split)' is not a split of COCO-Stuff \(is10k ? "10k" : "164k") (found at \(base.path))",
                                          remedy: is10k ? "Use train or test (train2014 / test2014)" : "Use train or val (train2017 / val2017)")
        }
        let imageDir = base.appendingPathComponent("images/\(s)"), labelDir = base.appendingPathComponent("annotations/\(s)")
        try layout.requireDirectory(imageDir, what: "\(s) image")
        try layout.requireDirectory(labelDir, what: "\(s) annotation")
        let trainIds = layout.files(under: labelDir, suffixes: ["_labelTrainIds.png"], recursive: false)
        if is10k {
            // The 10k release ships .mat labels; only the converter's PNGs are read.
            let pairs = try layout.pair(
                images: layout.files(under: imageDir, suffixes: [".jpg"], recursive: false), labels: trainIds,
                labelHint: { labelDir.appendingPathComponent("\($0)_labelTrainIds.png").path + " (convert the .mat labels with mmseg's tools/dataset_converters/coco_stuff10k.py)" },
                imageHint: { imageDir.appendingPathComponent("\($0).jpg").path }, split: imageDir)
            let encoding = LabelEncoding.reduceZero(meta.numClasses)
            super.init(name: "coco_stuff", classNames: meta.classNames, palette: meta.palette,
                       items: pairs.map { Item(image: $0.image, label: $0.label, encoding: encoding) })
            return
        }
        let raw = layout.files(under: labelDir, suffixes: [".png"], recursive: false).filter { !$0.key.hasSuffix("_labelTrainIds") }
        let pairs = try layout.pair(
            images: layout.files(under: imageDir, suffixes: [".jpg"], recursive: false),
            labels: raw.merging(trainIds) { _, t in t },
            labelHint: { labelDir.appendingPathComponent("\($0)_labelTrainIds.png").path + " or \($0).png" },
            imageHint: { imageDir.appendingPathComponent("\($0).jpg").path }, split: imageDir)
        guard let idMap = meta.idMap else {
            throw DataError.metadata(file: meta.file, key: "id_map", problem: "is required to read raw COCO-Stuff annotations")
        }
        let trainIdEncoding = LabelEncoding.classIds(meta.numClasses)
        let rawEncoding = LabelEncoding.idMap(idMap, describing: "raw COCO-Stuff ids")
        super.init(name: "coco_stuff", classNames: meta.classNames, palette: meta.palette,
                   items: pairs.map { Item(image: $0.image, label: $0.label, encoding: trainIds[$0.key] != nil ? trainIdEncoding : rawEncoding) })
    }
}
