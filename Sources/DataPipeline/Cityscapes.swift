import Foundation

/// Cityscapes (`leftImg8bit` + `gtFine`): 19 train-id classes, 255 = ignore. Labels are the
/// `*_gtFine_labelTrainIds.png` files made by cityscapesScripts' createTrainIdLabelImgs.py; when
/// an image only has `*_gtFine_labelIds.png`, its 34 label ids are mapped to the 19 train ids
/// with the table in datasets/cityscapes.yaml, so the converter step is optional.
public final class CityscapesDataset: SegmentationFileDataset {
    static let expected = "leftImg8bit/{train,val,test}/<city>/<name>_leftImg8bit.png with gtFine/{train,val,test}/<city>/<name>_gtFine_labelTrainIds.png (or <name>_gtFine_labelIds.png)"

    /// `root` holds `leftImg8bit/` and `gtFine/`; `split` is train, val or test.
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([], dataset: "cityscapes")
        let meta = try options.metadata("cityscapes")
        guard ["train", "val", "test"].contains(split) else {
            throw DataError.invalidOption(dataset: "cityscapes", option: "split", problem: "'\(split)' is not a split of Cityscapes",
                                          remedy: "Use train, val or test")
        }
        let layout = DatasetLayout(dataset: "cityscapes", expected: Self.expected)
        let base = try layout.resolveRoot(root, subdirectories: ["cityscapes"], markers: ["leftImg8bit", "gtFine"])
        let items = try cityscapesStyleItems(
            layout: layout, meta: meta,
            imageDir: base.appendingPathComponent("leftImg8bit/\(split)"), imageSuffix: "_leftImg8bit.png",
            labelDir: base.appendingPathComponent("gtFine/\(split)"),
            trainIdSuffix: "_gtFine_labelTrainIds.png", labelIdSuffix: "_gtFine_labelIds.png")
        super.init(name: "cityscapes", classNames: meta.classNames, palette: meta.palette, items: items)
    }
}

/// Finds `<imageDir>/**/<key><imageSuffix>` and pairs each with `<labelDir>/**/<key><trainIdSuffix>`
/// (values are train ids) or, failing that, `<key><labelIdSuffix>` (raw label ids mapped through
/// the metadata id map). Shared by Cityscapes and ACDC, which use the same encoding.
func cityscapesStyleItems(layout: DatasetLayout, meta: DatasetMetadata, imageDir: URL, imageSuffix: String,
                          labelDir: URL, trainIdSuffix: String, labelIdSuffix: String) throws -> [SegmentationFileDataset.Item] {
    try layout.requireDirectory(imageDir, what: "image")
    try layout.requireDirectory(labelDir, what: "label")
    let images = layout.files(under: imageDir, suffixes: [imageSuffix], recursive: true)
    let trainIds = layout.files(under: labelDir, suffixes: [trainIdSuffix], recursive: true)
    let labelIds = layout.files(under: labelDir, suffixes: [labelIdSuffix], recursive: true)
    let labels = labelIds.merging(trainIds) { _, trainId in trainId }
    let pairs = try layout.pair(
        images: images, labels: labels,
        labelHint: { labelDir.appendingPathComponent($0 + trainIdSuffix).path + " or " + labelIdSuffix },
        imageHint: { imageDir.appendingPathComponent($0 + imageSuffix).path }, split: imageDir)
    guard let idMap = meta.idMap else {
        throw DataError.metadata(file: meta.file, key: "id_map", problem: "is required to read \(labelIdSuffix) files")
    }
    let trainIdEncoding = LabelEncoding.classIds(meta.numClasses)
    let labelIdEncoding = LabelEncoding.idMap(idMap, describing: "label ids")
    return pairs.map { p in
        SegmentationFileDataset.Item(image: p.image, label: p.label,
                                     encoding: trainIds[p.key] != nil ? trainIdEncoding : labelIdEncoding)
    }
}
