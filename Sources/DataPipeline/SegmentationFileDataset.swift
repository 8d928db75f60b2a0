import Foundation

/// A dataset that can describe its classes' colours (for saving predictions as palette PNGs).
public protocol SegmentationDataset: Dataset {
    /// One `[r, g, b]` per class, in label order (nil when the dataset defines none).
    var palette: [[UInt8]]? { get }
}

/// A segmentation dataset whose examples are (image file, label file) pairs already matched by
/// name. The real-layout loaders (ADE20K, Cityscapes, ...) are subclasses that only find and
/// pair their files; decoding, label mapping and checks live here once.
public class SegmentationFileDataset: SegmentationDataset {
    struct Item {
        let image: URL
        let label: URL
        let encoding: LabelEncoding
    }

    /// The dataset's registry name (used in messages).
    public let name: String
    public let classNames: [String]
    public let palette: [[UInt8]]?
    let items: [Item]

    init(name: String, classNames: [String], palette: [[UInt8]]?, items: [Item]) {
        self.name = name; self.classNames = classNames; self.palette = palette; self.items = items
    }

    public var count: Int { items.count }

    /// The image and label files of example `index` (for tools and messages).
    public func files(_ index: Int) -> (image: URL, label: URL) { (items[index].image, items[index].label) }

    public func load(_ index: Int) throws -> Sample {
        precondition(index >= 0 && index < items.count, "\(name): index \(index) outside 0..<\(items.count)")
        let item = items[index]
        let image = try readImage(item.image)
        let label = try item.encoding.apply(readLabelMap(item.label), dataset: name, path: item.label.path)
        guard label.height == image.height, label.width == image.width else {
            throw DataError.layout(dataset: name, path: item.label.path,
                                   problem: "label is \(label.height)×\(label.width) but its image \(item.image.path) is \(image.height)×\(image.width)",
                                   expected: "each label map has exactly its image's size")
        }
        return Sample(image: image, label: label, source: item.image.path)
    }
}
