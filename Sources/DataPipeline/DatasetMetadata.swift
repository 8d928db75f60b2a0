import Foundation
import Yams

/// A table from the raw label ids stored in a dataset's files to class indices (Cityscapes
/// labelId → trainId, COCO-Stuff 182 → 171, NYUv2 894 → 40). Kept as data (datasets/*.yaml)
/// because these tables are facts about the datasets, checked against their sources, not logic.
public struct LabelIdMap: Equatable {
    /// Raw id described by `table[0]`.
    public var firstId: Int
    /// Raw ids that mean "unlabelled" and become `LabelMap.ignore`.
    public var ignoreIds: [Int]
    /// Added to every table value except 255 (NYU40 ids are 1-based, class indices 0-based).
    public var valueOffset: Int
    /// One entry per raw id from `firstId`: the class (before `valueOffset`), or 255 = ignore.
    public var table: [Int]

    public init(firstId: Int, ignoreIds: [Int], valueOffset: Int, table: [Int]) {
        self.firstId = firstId; self.ignoreIds = ignoreIds; self.valueOffset = valueOffset; self.table = table
    }

    /// The class index of a raw id, 255 for ignore, nil for an id the table does not cover.
    public func classIndex(ofRawId raw: Int) -> Int? {
        if ignoreIds.contains(raw) { return Int(LabelMap.ignore) }
        let i = raw - firstId
        guard i >= 0, i < table.count else { return nil }
        return table[i] == 255 ? 255 : table[i] + valueOffset
    }
}

/// Everything a loader needs to know about a dataset besides its files, read from
/// `datasets/<name>.yaml`: class names in label order, palette, ignore index, label-id map and
/// (classification) the synset order. Loaded at run time so the tables can be checked and
/// corrected without recompiling.
public struct DatasetMetadata: Equatable {
    public enum Task: String { case segmentation, classification }

    public var name: String
    public var task: Task
    public var numClasses: Int
    public var classNames: [String]
    /// One `[r, g, b]` per class (nil when the dataset defines none).
    public var palette: [[UInt8]]?
    public var ignoreIndex: Int
    /// Raw label 0 means "unlabelled" and the classes are stored as 1…N.
    public var reduceZeroLabel: Bool
    public var idMap: LabelIdMap?
    /// Classification: the WordNet ids in class-index order.
    public var wnids: [String]?
    /// ACDC: the weather conditions the dataset has.
    public var conditions: [String]?
    /// The YAML file it was read from (for messages).
    public var file: String

    /// Loads `<directory>/<name>.yaml` (directory defaults to `DatasetMetadata.defaultDirectory`).
    public static func load(_ name: String, directory: URL? = nil) throws -> DatasetMetadata {
        let dir = directory ?? defaultDirectory
        return try load(file: dir.appendingPathComponent("\(name).yaml"))
    }

    /// The `datasets/` directory: `$VITLAB_DATASETS_DIR` if set, else the one in this source
    /// tree (ViTLab is always built from source on the machine that runs it), else
    /// `./datasets`.
    public static var defaultDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["VITLAB_DATASETS_DIR"], !env.isEmpty {
            return URL(fileURLWithPath: env, isDirectory: true)
        }
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("datasets", isDirectory: true)
        if FileManager.default.fileExists(atPath: fromSource.path) { return fromSource }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("datasets", isDirectory: true)
    }

    /// Parses and validates one metadata file; every inconsistency is a `DataError.metadata`
    /// naming the file, the key and (where known) the line.
    public static func load(file url: URL) throws -> DatasetMetadata {
        let path = url.path
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw DataError.metadata(file: path, key: "-", problem: "cannot read the dataset metadata file; datasets/ must hold one YAML per dataset (set VITLAB_DATASETS_DIR if it lives elsewhere)")
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw DataError.metadata(file: path, key: "-", problem: "the file is empty")
            }
            root = node
        } catch let e as DataError {
            throw e
        } catch {
            throw DataError.metadata(file: path, key: "-", problem: "not valid YAML: \(error)")
        }
        let r = YAMLReader(file: path, node: root)
        let known: Set<String> = ["name", "task", "num_classes", "ignore_index", "reduce_zero_label", "classes",
                                  "palette", "id_map", "wnids", "conditions"]
        try r.rejectUnknownKeys(known)

        let name = try r.string("name")
        let expectedName = url.deletingPathExtension().lastPathComponent
        guard name == expectedName else {
            throw DataError.metadata(file: path, key: "name", problem: "is '\(name)' but the file is \(expectedName).yaml; they must agree")
        }
        let taskName = try r.string("task")
        guard let task = Task(rawValue: taskName) else {
            throw DataError.metadata(file: path, key: "task", problem: "'\(taskName)' is not one of segmentation, classification")
        }
        let numClasses = try r.int("num_classes")
        guard numClasses > 0, task == .classification || numClasses <= 255 else {
            throw DataError.metadata(file: path, key: "num_classes", problem: "\(numClasses) is outside 1…255 (255 is the ignore label)")
        }
        let classes = try r.strings("classes")
        guard classes.count == numClasses else {
            throw DataError.metadata(file: path, key: "classes", problem: "lists \(classes.count) names but num_classes is \(numClasses)")
        }
        var meta = DatasetMetadata(name: name, task: task, numClasses: numClasses, classNames: classes, palette: nil,
                                   ignoreIndex: 255, reduceZeroLabel: false, idMap: nil, wnids: nil, conditions: nil, file: path)
        if r.has("ignore_index") {
            meta.ignoreIndex = try r.int("ignore_index")
            guard meta.ignoreIndex == 255 else {
                throw DataError.metadata(file: path, key: "ignore_index", problem: "must be 255 (the pipeline's ignore label), got \(meta.ignoreIndex)")
            }
        }
        if r.has("reduce_zero_label") { meta.reduceZeroLabel = try r.bool("reduce_zero_label") }
        if r.has("palette") {
            let rows = try r.intRows("palette")
            guard rows.count == numClasses else {
                throw DataError.metadata(file: path, key: "palette", problem: "has \(rows.count) colours but num_classes is \(numClasses)")
            }
            for (i, row) in rows.enumerated() where row.count != 3 || row.contains(where: { $0 < 0 || $0 > 255 }) {
                throw DataError.metadata(file: path, key: "palette", problem: "entry \(i) is \(row); each colour must be [r, g, b] in 0…255")
            }
            meta.palette = rows.map { $0.map { UInt8($0) } }
        }
        if r.has("id_map") {
            let m = try r.child("id_map")
            try m.rejectUnknownKeys(["first_id", "ignore_ids", "value_offset", "table"])
            let map = LabelIdMap(firstId: try m.int("first_id"), ignoreIds: m.has("ignore_ids") ? try m.ints("ignore_ids") : [],
                                 valueOffset: m.has("value_offset") ? try m.int("value_offset") : 0, table: try m.ints("table"))
            guard map.firstId >= 0, !map.table.isEmpty else {
                throw DataError.metadata(file: path, key: "id_map", problem: "needs first_id ≥ 0 and a non-empty table")
            }
            for (i, v) in map.table.enumerated() where v != 255 && !(0..<numClasses).contains(v + map.valueOffset) {
                throw DataError.metadata(file: path, key: "id_map.table",
                                         problem: "raw id \(map.firstId + i) maps to \(v) (+ offset \(map.valueOffset)), outside classes 0…\(numClasses - 1) and not 255")
            }
            meta.idMap = map
        }
        if r.has("wnids") {
            let w = try r.strings("wnids")
            guard w.count == numClasses else {
                throw DataError.metadata(file: path, key: "wnids", problem: "lists \(w.count) synsets but num_classes is \(numClasses)")
            }
            guard w == w.sorted(), Set(w).count == w.count else {
                throw DataError.metadata(file: path, key: "wnids", problem: "must be unique and in sorted order (the class-index order of sorted class folders)")
            }
            meta.wnids = w
        }
        if r.has("conditions") { meta.conditions = try r.strings("conditions") }
        if task == .classification && meta.wnids == nil {
            throw DataError.metadata(file: path, key: "wnids", problem: "classification datasets list their class ids (folder names) in order")
        }
        return meta
    }
}

/// Typed access to a YAML mapping with errors that name the file, the key and its line.
struct YAMLReader {
    let file: String
    let node: Node
    let prefix: String

    init(file: String, node: Node, prefix: String = "") {
        self.file = file; self.node = node; self.prefix = prefix
    }

    private func fail(_ key: String, _ problem: String, _ at: Node? = nil) -> DataError {
        let line = (at ?? node).mark.map { " (line \($0.line))" } ?? ""
        return .metadata(file: file, key: prefix + key, problem: problem + line)
    }

    private func value(_ key: String) throws -> Node {
        guard let map = node.mapping else { throw fail(key, "expected a mapping here") }
        guard let v = map[key] else { throw fail(key, "is required but missing") }
        return v
    }

    func has(_ key: String) -> Bool { node.mapping?[key] != nil }

    func rejectUnknownKeys(_ known: Set<String>) throws {
        guard let map = node.mapping else { throw fail("-", "expected a mapping at the top level") }
        for (k, _) in map {
            let key = k.string ?? "?"
            if !known.contains(key) {
                throw fail(key, "unknown key; valid keys are \(known.sorted().joined(separator: ", "))", k)
            }
        }
    }

    func string(_ key: String) throws -> String {
        let v = try value(key)
        guard let s = v.scalar?.string else { throw fail(key, "must be a string", v) }
        return s
    }

    func int(_ key: String) throws -> Int {
        let v = try value(key)
        guard let i = v.int else { throw fail(key, "must be an integer", v) }
        return i
    }

    func bool(_ key: String) throws -> Bool {
        let v = try value(key)
        guard let b = v.bool else { throw fail(key, "must be true or false", v) }
        return b
    }

    func strings(_ key: String) throws -> [String] {
        let v = try value(key)
        guard let seq = v.sequence else { throw fail(key, "must be a list", v) }
        return try seq.map { item in
            guard let s = item.scalar?.string else { throw fail(key, "every entry must be a string", item) }
            return s
        }
    }

    func ints(_ key: String) throws -> [Int] {
        let v = try value(key)
        guard let seq = v.sequence else { throw fail(key, "must be a list of integers", v) }
        return try seq.map { item in
            guard let i = item.int else { throw fail(key, "every entry must be an integer", item) }
            return i
        }
    }

    func intRows(_ key: String) throws -> [[Int]] {
        let v = try value(key)
        guard let seq = v.sequence else { throw fail(key, "must be a list of lists", v) }
        return try seq.map { row in
            guard let r = row.sequence else { throw fail(key, "every entry must be a list of integers", row) }
            return try r.map { item in
                guard let i = item.int else { throw fail(key, "every entry must be a list of integers", item) }
                return i
            }
        }
    }

    func child(_ key: String) throws -> YAMLReader {
        let v = try value(key)
        guard v.mapping != nil else { throw fail(key, "must be a mapping", v) }
        return YAMLReader(file: file, node: v, prefix: prefix + key + ".")
    }
}
