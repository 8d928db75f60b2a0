import Foundation

/// ADE20K as distributed for the SceneParsing benchmark (`ADEChallengeData2016`): 150 classes,
/// annotation PNGs with 0 = unlabelled and 1…150 = classes, read with reduce-zero-label
/// (0 → ignore, v → v-1) as every published ADE20K number does.
public final class ADE20KDataset: SegmentationFileDataset {
    static let expected = "ADEChallengeData2016/images/{training,validation}/*.jpg and ADEChallengeData2016/annotations/{training,validation}/*.png with the same file names"

    /// `root` is `ADEChallengeData2016` or its parent; `split` is train/val (or training/validation).
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([], dataset: "ade20k")
        let meta = try options.metadata("ade20k")
        let layout = DatasetLayout(dataset: "ade20k", expected: Self.expected)
        let s = nativeSplit(split, ["train": "training", "val": "validation"])
        guard s == "training" || s == "validation" else {
            throw DataError.invalidOption(dataset: "ade20k", option: "split", problem: "'\(split)' is not a split of ADE20K",
                                          remedy: "Use train or val (training / validation)")
        }
        let base = try layout.resolveRoot(root, subdirectories: ["ADEChallengeData2016"], markers: ["images", "annotations"])
        let imageDir = base.appendingPathComponent("images/\(s)"), labelDir = base.appendingPathComponent("annotations/\(s)")
        try layout.requireDirectory(imageDir, what: "\(s) image")
        try layout.requireDirectory(labelDir, what: "\(s) annotation")
        let pairs = try layout.pair(
            images: layout.files(under: imageDir, suffixes: [".jpg"], recursive: false),
            labels: layout.files(under: labelDir, suffixes: [".png"], recursive: false),
            labelHint: { labelDir.appendingPathComponent("\($0).png").path },
            imageHint: { imageDir.appendingPathComponent("\($0).jpg").path }, split: imageDir)
        let encoding: LabelEncoding = meta.reduceZeroLabel ? .reduceZero(meta.numClasses) : .classIds(meta.numClasses)
        super.init(name: "ade20k", classNames: meta.classNames, palette: meta.palette,
                   items: pairs.map { Item(image: $0.image, label: $0.label, encoding: encoding) })
    }
}
