import Foundation
import TensorEngine

/// Options a dataset `type:` may take besides root and split. Each loader reads the fields it
/// understands and rejects the ones that make no sense for it (`invalidOption`), so a typo'd
/// experiment fails at construction, not after hours of training.
public struct DatasetOptions {
    /// Pascal Context: 60 (with background) or 59 (background ignored, reduce-zero-label).
    public var numClasses: Int?
    /// ACDC: which weather conditions to include (default: all of fog, night, rain, snow).
    public var conditions: [String]?
    /// NYUv2 .mat layout: the split index file (default datasets/nyuv2_splits.yaml).
    public var splitFile: URL?
    /// ImageNet: derive the class order from the sorted class folder names instead of
    /// datasets/imagenet.yaml (for subsets such as ImageNet-100).
    public var classesFromFolders: Bool
    /// ImageNet flat val/: the label file name, looked up in val/ then in the root.
    public var valLabelFile: String
    /// Where the metadata YAMLs live (default `DatasetMetadata.defaultDirectory`).
    public var metadataDirectory: URL?

    public init(numClasses: Int? = nil, conditions: [String]? = nil, splitFile: URL? = nil, classesFromFolders: Bool = false,
                valLabelFile: String = "val_labels.txt", metadataDirectory: URL? = nil) {
        self.numClasses = numClasses; self.conditions = conditions; self.splitFile = splitFile
        self.classesFromFolders = classesFromFolders; self.valLabelFile = valLabelFile
        self.metadataDirectory = metadataDirectory
    }

    func metadata(_ name: String) throws -> DatasetMetadata {
        try DatasetMetadata.load(name, directory: metadataDirectory)
    }

    /// Options a loader understands; any other one that is set is an error for `dataset`.
    enum Field: String { case numClasses = "num_classes", conditions, splitFile = "split_file", classesFromFolders = "classes_from_folders" }

    func allowOnly(_ allowed: Set<Field>, dataset: String) throws {
        let set: [Field] = [numClasses != nil ? .numClasses : nil, conditions != nil ? .conditions : nil,
                            splitFile != nil ? .splitFile : nil, classesFromFolders ? .classesFromFolders : nil].compactMap { $0 }
        if let f = set.first(where: { !allowed.contains($0) }) {
            throw DataError.invalidOption(dataset: dataset, option: f.rawValue, problem: "does not apply to this dataset",
                                          remedy: "Remove it from the dataset section of the experiment")
        }
    }
}

/// Builds a dataset from its root directory, split name and options.
public typealias DatasetFactory = (_ root: URL, _ split: String, _ options: DatasetOptions) throws -> Dataset

/// The dataset registry: `type:` names → factories. The real layouts are registered here;
/// other modules or files add theirs with `DatasetRegistry.register` (the extension point for
/// the procedural `synthetic` dataset), and `makeDataset` looks names up.
public enum DatasetRegistry {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var factories: [String: DatasetFactory] = [
        "ade20k": { try ADE20KDataset(root: $0, split: $1, options: $2) },
        "cityscapes": { try CityscapesDataset(root: $0, split: $1, options: $2) },
        "pascal_context": { try PascalContextDataset(root: $0, split: $1, options: $2) },
        "coco_stuff": { try COCOStuffDataset(root: $0, split: $1, options: $2) },
        "nyuv2": { try NYUv2Dataset(root: $0, split: $1, options: $2) },
        "acdc": { try ACDCDataset(root: $0, split: $1, options: $2) },
        "imagenet": { try ImageNetDataset(root: $0, split: $1, options: $2) },
    ]

    /// Registers (or replaces) a dataset type.
    public static func register(_ type: String, _ factory: @escaping DatasetFactory) {
        lock.lock(); defer { lock.unlock() }
        factories[type] = factory
    }

    /// All registered type names, sorted.
    public static var types: [String] {
        lock.lock(); defer { lock.unlock() }
        return factories.keys.sorted()
    }

    static func factory(_ type: String) -> DatasetFactory? {
        lock.lock(); defer { lock.unlock() }
        return factories[type]
    }
}

/// Builds the dataset registered as `type` (ade20k, cityscapes, pascal_context, coco_stuff,
/// nyuv2, acdc, imagenet, and whatever else has been registered) for `split`.
public func makeDataset(type: String, root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws -> Dataset {
    guard let factory = DatasetRegistry.factory(type) else {
        let known = DatasetRegistry.types
        throw DataError.unknownDataset(name: type, known: known, suggestion: nearestName(to: type, in: known))
    }
    return try factory(root, split, options)
}

