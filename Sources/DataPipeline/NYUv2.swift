import Foundation
import Yams

/// NYU Depth v2, 40-class segmentation (Gupta et al.'s NYU40 mapping), in either of two forms:
/// - the official `nyu_depth_v2_labeled.mat` (root is the file or its directory): raw 894-class
///   labels mapped to 40 classes with the table in datasets/nyuv2.yaml, split by the standard
///   795/654 index lists in datasets/nyuv2_splits.yaml (1-based, or `options.splitFile`);
/// - the extracted layout `images/<name>.png|jpg`, `labels40/<name>.png` (NYU40 ids 1…40,
///   0 = void) and `train.txt` / `test.txt` listing the names.
/// Raw 0 / NYU40 0 (unlabelled) becomes ignore; NYU40 id k becomes class k-1. The split is
/// train or test (`val` is accepted for test: NYUv2 has no separate validation set).
public final class NYUv2Dataset: SegmentationDataset {
    static let expected = "nyu_depth_v2_labeled.mat (HDF5 datasets images N×3×W×H, labels N×W×H) with datasets/nyuv2_splits.yaml, or images/<name>.png + labels40/<name>.png with train.txt / test.txt"

    private enum Backend {
        case files(SegmentationFileDataset)
        case mat(NYUv2MatFile, indices: [Int], encoding: LabelEncoding)
    }

    public let classNames: [String]
    public var palette: [[UInt8]]? { nil }
    private let backend: Backend

    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([.splitFile], dataset: "nyuv2")
        let meta = try options.metadata("nyuv2")
        classNames = meta.classNames
        let layout = DatasetLayout(dataset: "nyuv2", expected: Self.expected)
        let s = split == "val" ? "test" : split
        guard s == "train" || s == "test" else {
            throw DataError.invalidOption(dataset: "nyuv2", option: "split", problem: "'\(split)' is not a split of NYUv2", remedy: "Use train or test")
        }
        guard FileManager.default.fileExists(atPath: root.path) else {
            throw layout.error("the dataset root does not exist", at: root)
        }
        let matFile = root.pathExtension == "mat" ? root : root.appendingPathComponent("nyu_depth_v2_labeled.mat")
        if FileManager.default.fileExists(atPath: matFile.path) && !isDirectory(matFile) {
            guard let idMap = meta.idMap else {
                throw DataError.metadata(file: meta.file, key: "id_map", problem: "the 894 → 40 table is required to read the .mat file")
            }
            let volume = try NYUv2MatFile(url: matFile)
            let splitFile = options.splitFile ?? (options.metadataDirectory ?? DatasetMetadata.defaultDirectory).appendingPathComponent("nyuv2_splits.yaml")
            let indices = try Self.splitIndices(splitFile, split: s, count: volume.count, layout: layout)
            backend = .mat(volume, indices: indices, encoding: .idMap(idMap, rawValues: 1 << 16, describing: "raw NYUv2 class ids"))
        } else {
            guard options.splitFile == nil else {
                throw DataError.invalidOption(dataset: "nyuv2", option: "split_file", problem: "applies to the .mat layout only",
                                              remedy: "The extracted layout is split by train.txt / test.txt in the root")
            }
            let base = try layout.resolveRoot(root, subdirectories: ["nyuv2", "NYUv2"], markers: ["images", "labels40"])
            let list = base.appendingPathComponent("\(s).txt")
            guard FileManager.default.fileExists(atPath: list.path) else {
                throw layout.error("no nyu_depth_v2_labeled.mat here and no split list \(s).txt", at: list)
            }
            var items: [SegmentationFileDataset.Item] = []
            for entry in Array(Set(try layout.readList(list))).sorted() {
                let name = (entry as NSString).deletingPathExtension
                let candidates = ["png", "jpg"].map { base.appendingPathComponent("images/\(name).\($0)") }
                guard let image = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
                    throw layout.error("'\(entry)' is listed in \(list.path) but its image \(candidates[0].path) (or .jpg) is missing", at: candidates[0])
                }
                let label = base.appendingPathComponent("labels40/\(name).png")
                guard FileManager.default.fileExists(atPath: label.path) else {
                    throw layout.error("image \(image.path) has no label (looked for \(label.path))", at: label)
                }
                items.append(.init(image: image, label: label, encoding: .reduceZero(meta.numClasses)))
            }
            backend = .files(SegmentationFileDataset(name: "nyuv2", classNames: meta.classNames, palette: nil, items: items))
        }
    }

    /// The 1-based MATLAB indices of `split` from a YAML file with `train:` and `test:` lists,
    /// returned 0-based.
    static func splitIndices(_ url: URL, split: String, count: Int, layout: DatasetLayout) throws -> [Int] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw layout.error("the split index file is missing", at: url)
        }
        let node: Node
        do {
            guard let n = try Yams.compose(yaml: text) else { throw layout.error("the split index file is empty", at: url) }
            node = n
        } catch let e as DataError { throw e } catch {
            throw DataError.metadata(file: url.path, key: "-", problem: "not valid YAML: \(error)")
        }
        let reader = YAMLReader(file: url.path, node: node)
        try reader.rejectUnknownKeys(["train", "test"])
        let indices = try reader.ints(split)
        guard !indices.isEmpty else {
            throw layout.error("the '\(split)' index list is empty; fill it from the official splits.mat as the comment in the file explains, or set split_file", at: url)
        }
        if let bad = indices.first(where: { $0 < 1 || $0 > count }) {
            throw DataError.metadata(file: url.path, key: split, problem: "index \(bad) is outside 1…\(count) (1-based MATLAB indices into the .mat file)")
        }
        return indices.map { $0 - 1 }
    }

    public var count: Int {
        switch backend {
        case .files(let d): return d.count
        case .mat(_, let indices, _): return indices.count
        }
    }

    public func load(_ index: Int) throws -> Sample {
        switch backend {
        case .files(let d):
            return try d.load(index)
        case .mat(let volume, let indices, let encoding):
            precondition(index >= 0 && index < indices.count, "nyuv2: index \(index) outside 0..<\(indices.count)")
            let n = indices[index]
            let (image, raw) = try volume.sample(n)
            let source = "\(volume.path)#\(n + 1)"
            let label = try raw.withUnsafeBufferPointer {
                try encoding.apply($0, height: image.height, width: image.width, dataset: "nyuv2", path: source)
            }
            return Sample(image: image, label: label, source: source)
        }
    }
}
