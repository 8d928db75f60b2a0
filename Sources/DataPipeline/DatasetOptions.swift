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
    /// Segmentation datasets: append TransKD's never-labelled "void" class (`VoidChannelDataset`),
    /// so a model with one output channel more than the dataset's classes trains and scores.
    public var voidClass: Bool = false

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

