import Foundation

/// PASCAL-Context on VOC2010: labels in `SegmentationClassContext/` as made by mmseg's
/// tools/dataset_converters/pascal_context.py (values 0…59, 0 = background), images listed in
/// `ImageSets/SegmentationContext/{train,val}.txt`. `options.numClasses` = 60 (default) keeps
/// background as a class; 59 ignores it and shifts the rest down (reduce-zero-label), the
/// setting most papers report as "Pascal Context 59".
public final class PascalContextDataset: SegmentationFileDataset {
    static let expected = "VOCdevkit/VOC2010/JPEGImages/<name>.jpg and VOCdevkit/VOC2010/SegmentationClassContext/<name>.png for every <name> in VOCdevkit/VOC2010/ImageSets/SegmentationContext/{train,val}.txt"

    /// `root` is `VOC2010`, `VOCdevkit` or the directory holding `VOCdevkit`; `split` is train or val.
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([.numClasses], dataset: "pascal_context")
        let meta = try options.metadata("pascal_context")
        let n = options.numClasses ?? meta.numClasses
        guard n == meta.numClasses || n == meta.numClasses - 1 else {
            throw DataError.invalidOption(dataset: "pascal_context", option: "num_classes", problem: "is \(n)",
                                          remedy: "Use 60 (background is a class) or 59 (background ignored)")
        }
        let layout = DatasetLayout(dataset: "pascal_context", expected: Self.expected)
        let base = try layout.resolveRoot(root, subdirectories: ["VOC2010", "VOCdevkit/VOC2010"],
                                          markers: ["JPEGImages", "SegmentationClassContext"])
        let list = base.appendingPathComponent("ImageSets/SegmentationContext/\(split).txt")
        guard FileManager.default.fileExists(atPath: list.path) else {
            throw layout.error("split '\(split)' has no list file", at: list)
        }
        var items: [Item] = []
        let reduce = n == meta.numClasses - 1
        let encoding: LabelEncoding = reduce ? .reduceZero(n) : .classIds(n)
        for name in Array(Set(try layout.readList(list))).sorted() {
            let image = base.appendingPathComponent("JPEGImages/\(name).jpg")
            let label = base.appendingPathComponent("SegmentationClassContext/\(name).png")
            guard FileManager.default.fileExists(atPath: image.path) else {
                throw layout.error("'\(name)' is listed in \(list.path) but its image \(image.path) is missing", at: image)
            }
            guard FileManager.default.fileExists(atPath: label.path) else {
                throw layout.error("image \(image.path) has no label (looked for \(label.path))", at: label)
            }
            items.append(Item(image: image, label: label, encoding: encoding))
        }
        super.init(name: "pascal_context", classNames: reduce ? Array(meta.classNames.dropFirst()) : meta.classNames,
                   palette: reduce ? meta.palette.map { Array($0.dropFirst()) } : meta.palette, items: items)
    }
}
