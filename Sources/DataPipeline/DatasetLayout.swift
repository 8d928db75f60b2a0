import Foundation

/// Shared helpers for reading real dataset layouts: finding the root, listing files, and pairing
/// images with labels BY NAME. Pairing by sorted position would silently shift every label by
/// one the moment a single file is missing, so a missing partner is always an error instead.
struct DatasetLayout {
    let dataset: String
    /// The layout description repeated in every error message.
    let expected: String

    func error(_ problem: String, at url: URL) -> DataError {
        .layout(dataset: dataset, path: url.path, problem: problem, expected: expected)
    }

    /// The first candidate (root itself, or root/<sub> for each sub) that contains all `markers`.
    /// Accepting the parent as well as the dataset folder lets configs point at either.
    func resolveRoot(_ root: URL, subdirectories: [String], markers: [String]) throws -> URL {
        guard isDirectory(root) else {
            throw error("the dataset root directory does not exist", at: root)
        }
        let candidates = [root] + subdirectories.map { root.appendingPathComponent($0, isDirectory: true) }
        for c in candidates where markers.allSatisfy({ FileManager.default.fileExists(atPath: c.appendingPathComponent($0).path) }) {
            return c
        }
        let missing = markers.first { !FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) } ?? markers[0]
        throw error("the root exists but '\(missing)' was not found in it\(subdirectories.isEmpty ? "" : " or in \(subdirectories.joined(separator: ", "))")", at: root)
    }

    /// A split directory that must exist.
    func requireDirectory(_ url: URL, what: String) throws {
        guard isDirectory(url) else { throw error("the \(what) directory is missing", at: url) }
    }

    /// Files under `dir` whose name ends in one of `suffixes` (case-insensitive when
    /// `ignoreCase`), as relative paths (recursive) mapped to their key: the relative path with
    /// the matched suffix removed. Hidden files are skipped.
    func files(under dir: URL, suffixes: [String], recursive: Bool, ignoreCase: Bool = false) -> [String: URL] {
        var out: [String: URL] = [:]
        let fm = FileManager.default
        let relPaths: [String]
        if recursive {
            relPaths = (fm.enumerator(atPath: dir.path)?.allObjects as? [String]) ?? []
        } else {
            relPaths = (try? fm.contentsOfDirectory(atPath: dir.path)) ?? []
        }
        for rel in relPaths {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") { continue }
            let cmp = ignoreCase ? rel.lowercased() : rel
            guard let suffix = suffixes.first(where: { cmp.hasSuffix(ignoreCase ? $0.lowercased() : $0) }) else { continue }
            let url = dir.appendingPathComponent(rel)
            if isDirectory(url) { continue }
            out[String(rel.dropLast(suffix.count))] = url
        }
        return out
    }

    /// Pairs images and labels with equal keys, sorted by key. Images without a label and labels
    /// without an image are one error that names the first file (with the partner that was
    /// looked for) and lists the others, up to `listed` of each kind, so a partly extracted
    /// dataset is fixed in one go rather than one file per attempt.
    func pair(images: [String: URL], labels: [String: URL], labelHint: (String) -> String, imageHint: (String) -> String,
              split: URL, listed: Int = 10) throws -> [(key: String, image: URL, label: URL)] {
        let lonelyImages = images.keys.filter { labels[$0] == nil }.sorted()
        let lonelyLabels = labels.keys.filter { images[$0] == nil }.sorted()
        func others(_ keys: ArraySlice<String>, _ files: [String: URL], _ what: String) -> String {
            guard !keys.isEmpty else { return "" }
            let shown = keys.prefix(listed).map { files[$0]!.path }
            let more = keys.count > listed ? ", … (\(keys.count - listed) more)" : ""
            return "; \(keys.count) more \(what): \(shown.joined(separator: ", "))\(more)"
        }
        if let key = lonelyImages.first {
            var problem = "image \(images[key]!.path) has no label (looked for \(labelHint(key)))" + others(lonelyImages.dropFirst(), images, "images lack labels")
            if !lonelyLabels.isEmpty { problem += others(lonelyLabels[...], labels, "labels lack images").replacingOccurrences(of: "; \(lonelyLabels.count) more", with: "; \(lonelyLabels.count)") }
            throw error(problem, at: images[key]!)
        }
        if let key = lonelyLabels.first {
            throw error("label \(labels[key]!.path) has no image (looked for \(imageHint(key)))" + others(lonelyLabels.dropFirst(), labels, "labels lack images"), at: labels[key]!)
        }
        guard !images.isEmpty else { throw error("the split contains no images", at: split) }
        return images.keys.sorted().map { (key: $0, image: images[$0]!, label: labels[$0]!) }
    }

    /// Names listed in a split file (one per line; blank lines and `#` comments skipped; only the
    /// first whitespace-separated field is used).
    func readList(_ url: URL) throws -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw error("the split list file is missing or unreadable", at: url)
        }
        let names = text.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty || t.hasPrefix("#") { return nil }
            return t.split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        guard !names.isEmpty else { throw error("the split list file is empty", at: url) }
        return names
    }
}

func isDirectory(_ url: URL) -> Bool {
    var dir: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &dir) && dir.boolValue
}

/// Maps the generic split names to a dataset's own folder names (`train` → `training` for
/// ADE20K), passing native names through, so experiments can say train/val everywhere.
func nativeSplit(_ split: String, _ aliases: [String: String]) -> String { aliases[split] ?? split }
