import Foundation

/// ImageNet-1k classification in its usual on-disk forms: `train/<wnid>/*.JPEG`, and for
/// validation either the same class folders or a flat `val/` with a label file
/// (`val_labels.txt`: `<filename> <wnid or class index>` per line). Class index = position of
/// the wnid in sorted order (datasets/imagenet.yaml), the order every public checkpoint uses;
/// `options.classesFromFolders` instead takes the sorted folder names (for subsets).
public final class ImageNetDataset: Dataset {
    static let expected = "train/<wnid>/*.JPEG and val/<wnid>/*.JPEG, or a flat val/*.JPEG with val_labels.txt lines '<filename> <wnid or index>'"

    public let classNames: [String]
    /// Class ids (folder names) in class-index order.
    public let wnids: [String]
    let items: [(url: URL, classIndex: Int)]

    public var count: Int { items.count }

    /// `root` holds `train/` and/or `val/`; `split` is train or val.
    public init(root: URL, split: String, options: DatasetOptions = DatasetOptions()) throws {
        try options.allowOnly([.classesFromFolders], dataset: "imagenet")
        let layout = DatasetLayout(dataset: "imagenet", expected: Self.expected)
        guard split == "train" || split == "val" else {
            throw DataError.invalidOption(dataset: "imagenet", option: "split", problem: "'\(split)' is not a split of ImageNet", remedy: "Use train or val")
        }
        let base = try layout.resolveRoot(root, subdirectories: ["imagenet", "ILSVRC2012"], markers: [split])
        let splitDir = base.appendingPathComponent(split)
        let fm = FileManager.default
        let entries = ((try? fm.contentsOfDirectory(atPath: splitDir.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
        let folders = entries.filter { isDirectory(splitDir.appendingPathComponent($0)) }
        let imageSuffixes = [".jpeg", ".jpg", ".png"]

        if options.classesFromFolders {
            // The training folders define the classes so train and val agree even if a val
            // class folder is empty or the val split is flat.
            let trainDir = base.appendingPathComponent("train")
            let source = isDirectory(trainDir) ? trainDir : splitDir
            let names = ((try? fm.contentsOfDirectory(atPath: source.path)) ?? [])
                .filter { !$0.hasPrefix(".") && isDirectory(source.appendingPathComponent($0)) }.sorted()
            guard !names.isEmpty else { throw layout.error("no class folders to derive the class order from", at: source) }
            wnids = names
            classNames = names
        } else {
            let meta = try options.metadata("imagenet")
            wnids = meta.wnids ?? []
            classNames = meta.classNames
        }
        let index = Dictionary(uniqueKeysWithValues: wnids.enumerated().map { ($1, $0) })

        var items: [(URL, Int)] = []
        if !folders.isEmpty {
            for f in folders {
                guard let c = index[f] else {
                    throw layout.error("folder '\(f)' is not one of the \(wnids.count) classes" +
                                       (options.classesFromFolders ? "" : " in datasets/imagenet.yaml (set classes_from_folders for a subset)"),
                                       at: splitDir.appendingPathComponent(f))
                }
                let files = layout.files(under: splitDir.appendingPathComponent(f), suffixes: imageSuffixes, recursive: false, ignoreCase: true)
                items += files.values.sorted { $0.path < $1.path }.map { ($0, c) }
            }
            let stray = entries.filter { e in !folders.contains(e) && imageSuffixes.contains { e.lowercased().hasSuffix($0) } }
            if let s = stray.first {
                throw layout.error("image \(splitDir.appendingPathComponent(s).path) lies outside the class folders; it has no label", at: splitDir.appendingPathComponent(s))
            }
        } else {
            // Flat layout: labels come from the label file, paired by file name.
            let candidates = [splitDir.appendingPathComponent(options.valLabelFile), base.appendingPathComponent(options.valLabelFile)]
            guard let labelFile = candidates.first(where: { fm.fileExists(atPath: $0.path) }) else {
                throw layout.error("\(split)/ has no class folders and no label file \(options.valLabelFile) (looked in \(candidates.map(\.path).joined(separator: " and ")))", at: splitDir)
            }
            let images = Set(entries.filter { e in imageSuffixes.contains { e.lowercased().hasSuffix($0) } })
            guard let text = try? String(contentsOf: labelFile, encoding: .utf8) else {
                throw layout.error("the label file is unreadable", at: labelFile)
            }
            var labelled: [String: Int] = [:]
            for (n, line) in text.split(whereSeparator: \.isNewline).enumerated() {
                let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
                if fields.isEmpty || fields[0].hasPrefix("#") { continue }
                guard fields.count >= 2 else {
                    throw layout.error("line \(n + 1) is '\(line)', expected '<filename> <wnid or index>'", at: labelFile)
                }
                let c: Int
                if let i = Int(fields[1]) {
                    guard i >= 0 && i < wnids.count else {
                        throw DataError.labelOutOfRange(dataset: "imagenet", path: labelFile.path, value: i,
                                                        problem: "(line \(n + 1)) is outside class indices 0…\(wnids.count - 1)",
                                                        remedy: "Indices are 0-based positions in sorted wnid order; use wnids to be unambiguous")
                    }
                    c = i
                } else if let i = index[fields[1]] {
                    c = i
                } else {
                    throw layout.error("line \(n + 1) names class '\(fields[1])', which is not a known wnid", at: labelFile)
                }
                labelled[fields[0]] = c
            }
            if let missing = labelled.keys.sorted().first(where: { !images.contains($0) }) {
                throw layout.error("label file lists \(missing) but \(splitDir.appendingPathComponent(missing).path) does not exist", at: splitDir.appendingPathComponent(missing))
            }
            if let unlabelled = images.sorted().first(where: { labelled[$0] == nil }) {
                throw layout.error("image \(splitDir.appendingPathComponent(unlabelled).path) has no line in \(labelFile.path)", at: splitDir.appendingPathComponent(unlabelled))
            }
            items = images.sorted().map { (splitDir.appendingPathComponent($0), labelled[$0]!) }
        }
        guard !items.isEmpty else { throw layout.error("the split contains no images", at: splitDir) }
        self.items = items
    }

    public func load(_ index: Int) throws -> Sample {
        precondition(index >= 0 && index < items.count, "imagenet: index \(index) outside 0..<\(items.count)")
        return Sample(image: try readImage(items[index].url), classIndex: items[index].classIndex, source: items[index].url.path)
    }
}
