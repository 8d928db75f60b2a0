import Foundation

/// COCO-Stuff 164k: `images/{train2017,val2017}/*.jpg` with `annotations/<split>/<name>_labelTrainIds.png`
/// (train ids 0…170, 255 = ignore, made by mmseg's tools/dataset_converters/coco_stuff164k.py)
/// or, without the converter, the raw `annotations/<split>/<name>.png` stuffthingmaps (ids
/// 0…181, 255 = unlabelled) mapped to the 171 classes with the table in datasets/coco_stuff.yaml.
public final class COCOStuffDataset: SegmentationFileDataset {
    static let expected = "images/{train2017,val2017}/<name>.jpg with annotations/{train2017,val2017}/<name>_labelTrainIds.png (or the raw <name>.png)"

    /// `root` holds `images/` and `annotations/`; `split` is train/val (or train2017/val2017).
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([], dataset: "coco_stuff")
        let meta = try options.metadata("coco_stuff")
        let s = nativeSplit(split, ["train": "train2017", "val": "val2017"])
        guard s == "train2017" || s == "val2017" else {
            throw DataError.invalidOption(dataset: "coco_stuff", option: "split", problem: "'\(split)' is not a split of COCO-Stuff 164k",
                                          remedy: "Use train or val (train2017 / val2017)")
        }
        let layout = DatasetLayout(dataset: "coco_stuff", expected: Self.expected)
        let base = try layout.resolveRoot(root, subdirectories: ["coco_stuff164k"], markers: ["images", "annotations"])
        let imageDir = base.appendingPathComponent("images/\(s)"), labelDir = base.appendingPathComponent("annotations/\(s)")
        try layout.requireDirectory(imageDir, what: "\(s) image")
        try layout.requireDirectory(labelDir, what: "\(s) annotation")
        let trainIds = layout.files(under: labelDir, suffixes: ["_labelTrainIds.png"], recursive: false)
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
