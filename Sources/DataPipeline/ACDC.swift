import Foundation

/// ACDC (adverse conditions: fog, night, rain, snow), labelled with Cityscapes' 19 train-id
/// classes. `options.conditions` selects conditions (default: all four), so e.g. a night-only
/// evaluation is a config change.
public final class ACDCDataset: SegmentationFileDataset {
    static let expected = "rgb_anon/<condition>/{train,val}/<sequence>/<name>_rgb_anon.png with gt/<condition>/{train,val}/<sequence>/<name>_gt_labelTrainIds.png (or <name>_gt_labelIds.png), condition ∈ fog, night, rain, snow"

    /// The conditions included, in order.
    public let conditions: [String]

    /// `root` holds `rgb_anon/` and `gt/`; `split` is train or val (test has no public labels).
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([.conditions], dataset: "acdc")
        let meta = try options.metadata("acdc")
        let all = meta.conditions ?? ["fog", "night", "rain", "snow"]
        let chosen = options.conditions ?? all
        if let bad = chosen.first(where: { !all.contains($0) }) {
            throw DataError.invalidOption(dataset: "acdc", option: "conditions", problem: "contains '\(bad)'",
                                          remedy: "Choose from \(all.joined(separator: ", "))")
        }
        guard !chosen.isEmpty else {
            throw DataError.invalidOption(dataset: "acdc", option: "conditions", problem: "is empty", remedy: "List at least one condition or leave it out for all")
        }
        guard ["train", "val", "test"].contains(split) else {
            throw DataError.invalidOption(dataset: "acdc", option: "split", problem: "'\(split)' is not a split of ACDC", remedy: "Use train or val")
        }
        let layout = DatasetLayout(dataset: "acdc", expected: Self.expected)
        let base = try layout.resolveRoot(root, subdirectories: ["acdc", "ACDC"], markers: ["rgb_anon", "gt"])
        var items: [Item] = []
        for c in chosen {
            items += try cityscapesStyleItems(
                layout: layout, meta: meta,
                imageDir: base.appendingPathComponent("rgb_anon/\(c)/\(split)"), imageSuffix: "_rgb_anon.png",
                labelDir: base.appendingPathComponent("gt/\(c)/\(split)"),
                trainIdSuffix: "_gt_labelTrainIds.png", labelIdSuffix: "_gt_labelIds.png")
        }
        conditions = chosen
        super.init(name: "acdc", classNames: meta.classNames, palette: meta.palette, items: items)
    }
}
