import Foundation
import TensorEngine

/// A decoded `data.<split>.dataset` node: what the config says about one split's samples.
/// Decoding (strict keys, located errors) happens when the experiment is validated or loaded;
/// `make()` opens the files (or generates the scenes), which is when a missing directory or a
/// damaged file shows up, as a `DataError` naming it.
public protocol DatasetConfig {
    /// The `type:` name.
    var typeName: String { get }
    /// The directory the dataset reads; nil for generated data.
    var root: URL? { get }
    func make() throws -> Dataset
}

/// `data.<split>.dataset: {type: …}` → a dataset config (ConfigCore's `Registry`, as every
/// other kind of part): `synthetic` and each layout on disk.
public typealias DatasetRegistry = Registry<Void, any DatasetConfig>

extension Registry where Context == Void, Product == any DatasetConfig {
    /// `synthetic` and every built-in layout, plus what `StandardDatasets.registerLayout` added.
    public static var standard: DatasetRegistry { StandardDatasets.registry }
}

/// Builds a dataset from its root directory, split name and options.
public typealias DatasetFactory = (_ root: URL, _ split: String, _ options: DatasetOptions) throws -> Dataset

/// The built-in datasets: the procedural `synthetic` one and the real layouts. A layout is
/// registered once, as a factory; its config node (`root`, `split` and the `DatasetOptions`
/// keys) and the programmatic `makeDataset(type:root:split:options:)` both go through it.
public enum StandardDatasets {
    public static let registry: DatasetRegistry = {
        let r = DatasetRegistry(kind: "dataset")
        r.register("synthetic", summary: "procedural scenes (segmentation) or shapes (classification), no files") {
            try SyntheticDataset.Config(from: $0)
        }
        for layout in builtInLayouts { add(layout.type, summary: layout.summary, layout.factory, to: r) }
        return r
    }()

    private static let builtInLayouts: [(type: String, summary: String, factory: DatasetFactory)] = [
        ("ade20k", "ADEChallengeData2016 (150 classes)", { try ADE20KDataset(root: $0, split: $1, options: $2) }),
        ("cityscapes", "leftImg8bit + gtFine (19 classes)", { try CityscapesDataset(root: $0, split: $1, options: $2) }),
        ("pascal_context", "VOC2010 + Pascal Context labels (59 or 60 classes)", { try PascalContextDataset(root: $0, split: $1, options: $2) }),
        ("coco_stuff", "COCO-Stuff 10k/164k (171 classes)", { try COCOStuffDataset(root: $0, split: $1, options: $2) }),
        ("nyuv2", "NYU Depth v2 (40 classes), folder or .mat layout", { try NYUv2Dataset(root: $0, split: $1, options: $2) }),
        ("acdc", "ACDC adverse conditions (19 Cityscapes classes)", { try ACDCDataset(root: $0, split: $1, options: $2) }),
        ("imagenet", "ImageNet-1K class folders (classification)", { try ImageNetDataset(root: $0, split: $1, options: $2) }),
    ]

    nonisolated(unsafe) private static var layouts: [String: DatasetFactory] = [:]
    private static let lock = NSLock()

    private static func add(_ type: String, summary: String, _ factory: @escaping DatasetFactory, to r: DatasetRegistry) {
        lock.lock(); defer { lock.unlock() }
        precondition(layouts[type] == nil, "dataset '\(type)' is registered twice")
        layouts[type] = factory
        r.register(type, summary: summary) { try LayoutDatasetConfig(from: $0, type: type, factory: factory) }
    }

    /// Adds a dataset stored in a layout on disk, named `type` in configs (and in
    /// `makeDataset`): the extension point for other modules and tests.
    public static func registerLayout(_ type: String, summary: String = "", _ factory: @escaping DatasetFactory) {
        add(type, summary: summary, factory, to: registry)
    }

    static func layout(_ type: String) -> DatasetFactory? {
        _ = registry
        lock.lock(); defer { lock.unlock() }
        return layouts[type]
    }

    /// The layout type names, sorted.
    public static var layoutTypes: [String] {
        _ = registry
        lock.lock(); defer { lock.unlock() }
        return layouts.keys.sorted()
    }
}

/// `{type: ade20k, root: data/ade/ADEChallengeData2016, split: training, ...}`. Relative roots
/// are relative to the working directory (where runs are started), as in mmseg.
public struct LayoutDatasetConfig: DatasetConfig {
    public let typeName: String
    public var directory: URL
    /// The split's directory/list name in the dataset's own layout (ADE20K: training|validation).
    public var split: String
    public var options: DatasetOptions
    let factory: DatasetFactory

    public var root: URL? { directory }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, root, split, numClasses = "num_classes", conditions, splitFile = "split_file"
        case classesFromFolders = "classes_from_folders", valLabelFile = "val_label_file", metadataDir = "metadata_dir"
        case voidClass = "void_class"
    }

    init(from decoder: Decoder, type: String, factory: @escaping DatasetFactory) throws {
        try rejectUnknownKeys(decoder, CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        typeName = type
        self.factory = factory
        directory = URL(fileURLWithPath: try c.decode(String.self, forKey: .root))
        split = try c.decode(String.self, forKey: .split)
        options = DatasetOptions(numClasses: try c.decodeIfPresent(Int.self, forKey: .numClasses),
                                 conditions: try c.decodeIfPresent([String].self, forKey: .conditions),
                                 splitFile: try c.decodeIfPresent(String.self, forKey: .splitFile).map { URL(fileURLWithPath: $0) },
                                 classesFromFolders: try c.decode(.classesFromFolders, default: false),
                                 valLabelFile: try c.decode(.valLabelFile, default: "val_labels.txt"),
                                 metadataDirectory: try c.decodeIfPresent(String.self, forKey: .metadataDir).map { URL(fileURLWithPath: $0) })
        options.voidClass = try c.decode(.voidClass, default: false)
    }

    public func make() throws -> Dataset {
        let dataset = try factory(directory, split, options)
        guard options.voidClass else { return dataset }
        // A classifier's labels are class indices with no ignore value for a void class to stand for.
        guard dataset is SegmentationDataset else {
            throw DataError.invalidOption(dataset: typeName, option: "void_class", problem: "applies to segmentation datasets only",
                                          remedy: "Remove it from the dataset section of the experiment")
        }
        return VoidChannelDataset(dataset)
    }
}

extension SyntheticDataset.Config: DatasetConfig {
    public var typeName: String { "synthetic" }
    public var root: URL? { nil }
    public func make() throws -> Dataset { try SyntheticDataset(config: self) }
}

/// Builds the dataset registered as the layout `type` (ade20k, cityscapes, pascal_context,
/// coco_stuff, nyuv2, acdc, imagenet, and whatever else has been registered) for `split`.
public func makeDataset(type: String, root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws -> Dataset {
    guard let factory = StandardDatasets.layout(type) else {
        let known = StandardDatasets.layoutTypes
        throw DataError.unknownDataset(name: type, known: known, suggestion: nearestName(to: type, in: known))
    }
    return try factory(root, split, options)
}
