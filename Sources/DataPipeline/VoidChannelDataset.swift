import Foundation

/// A segmentation dataset with one extra, never-labelled class at the end: TransKD's "void"
/// output channel (spec transkd.md §1.1, §3.5). TransKD's models predict K = N + 1 channels
/// (Cityscapes/ACDC 19 + 1, NYUv2 40 + 1): ignored pixels are relabelled as the void class,
/// which gets cross-entropy weight 0, and the mIoU drops the void channel.
///
/// Here the labels are left untouched (ignored pixels stay 255): a class of weight 0 adds
/// nothing to the weighted cross entropy's sum nor to its normaliser, so ignoring those
/// pixels is the same loss. Only the class list grows, so `model.num_classes` = N + 1 passes
/// every class-count check, and `scoredClassCount` = N tells the metric to leave the void
/// class out of its means (a void prediction still counts against the true class, as a miss).
/// Chosen with the dataset option `void_class: true`.
public final class VoidChannelDataset: SegmentationDataset, LabelCheckable {
    /// The dataset whose classes are scored.
    public let base: any Dataset
    /// The name of the appended class.
    public static let voidName = "void"

    public init(_ base: any Dataset) {
        self.base = base
    }

    public var count: Int { base.count }
    public var classNames: [String] { base.classNames + [Self.voidName] }
    /// The classes the metric averages over: all but the void channel.
    public var scoredClassCount: Int { base.classNames.count }
    /// The base palette with black for void (what saved predictions show for it).
    public var palette: [[UInt8]]? { (base as? SegmentationDataset)?.palette.map { $0 + [[0, 0, 0]] } }

    public func load(_ index: Int) throws -> Sample { try base.load(index) }

    public func checkLabel(_ index: Int) throws {
        try (base as? LabelCheckable)?.checkLabel(index)
    }
}
