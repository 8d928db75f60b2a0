import Foundation

/// Reads an experiment file with its `_base_` chain and applies command-line overrides.
///
/// Merge rules (mmseg's): mappings merge key by key, recursively; lists and scalars replace;
/// a child mapping with `_delete_: true` replaces the base mapping instead of merging. Bases
/// listed in one `_base_` are merged left to right, then the file itself on top, so the
/// including file always wins. The node that wins keeps its own location, so errors point at
/// the file that actually set the value.
public enum ConfigLoader {
    /// Loads `file` (relative paths against the working directory), resolves `_base_`
    /// recursively (each path relative to the file that names it) and applies `overrides`
    /// (`a.b.c=value`, the argument of `--set`) last.
    public static func load(file: String, overrides: [String] = []) throws -> ConfigNode {
        let url = URL(fileURLWithPath: file).standardizedFileURL
        var root = try loadResolvingBases(url, chain: [])
        for o in overrides { root = try applyOverride(o, to: root) }
        return root
    }

    /// Parses YAML text (no `_base_` resolution: there is no file to resolve against) and
    /// applies overrides; for tests and for configs that arrive as text.
    public static func load(yaml: String, name: String = "<string>", overrides: [String] = []) throws -> ConfigNode {
        var root = try ConfigNode.parse(yaml: yaml, file: name)
        for o in overrides { root = try applyOverride(o, to: root) }
        return root
    }

    /// How a file is named in messages: relative to the working directory when inside it.
    static func displayName(_ url: URL) -> String {
        let cwd = FileManager.default.currentDirectoryPath
        let p = url.path
        return p.hasPrefix(cwd + "/") ? String(p.dropFirst(cwd.count + 1)) : p
    }

    private static func loadResolvingBases(_ url: URL, chain: [URL], includedAt: SourceLocation? = nil) throws -> ConfigNode {
        if let i = chain.firstIndex(of: url) {
            let cycle = (chain[i...] + [url]).map(displayName).joined(separator: " → ")
            throw ConfigError(.cycle, at: includedAt, keyPath: "_base_", message: "_base_ files include each other: \(cycle)",
                              remedy: "remove one of the includes")
        }
        let name = displayName(url)
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            let what = FileManager.default.fileExists(atPath: url.path) ? "cannot be read as UTF-8 text" : "does not exist"
            throw ConfigError(.file, at: includedAt, keyPath: includedAt == nil ? "" : "_base_",
                              message: "config file \(url.path) \(what)",
                              remedy: includedAt == nil ? nil : "_base_ paths are relative to the file that names them")
        }
        var node = try ConfigNode.parse(yaml: text, file: name)
        guard var entries = node.entries else {
            throw ConfigError(.typeMismatch, at: node.location, keyPath: "", message: "an experiment file must be a mapping, got \(node.kindName)")
        }
        guard let baseIndex = entries.firstIndex(where: { $0.key == "_base_" }) else { return node }
        let baseNode = entries.remove(at: baseIndex).value
        node.value = .mapping(entries)
        let paths: [ConfigNode]
        if let items = baseNode.elements { paths = items } else if baseNode.isNull { paths = [] } else { paths = [baseNode] }
        var merged: ConfigNode?
        for p in paths {
            guard let rel = p.scalar, !p.isNull else {
                throw ConfigError(.typeMismatch, at: p.location, keyPath: "_base_", message: "expected a file path, got \(p.kindName)")
            }
            let baseURL = URL(fileURLWithPath: rel, relativeTo: url.deletingLastPathComponent()).standardizedFileURL
            let base = try loadResolvingBases(baseURL, chain: chain + [url], includedAt: p.location)
            merged = merged.map { merge(base: $0, child: base) } ?? base
        }
        return merged.map { merge(base: $0, child: node) } ?? node
    }

    /// `child` over `base` by the rules above.
    public static func merge(base: ConfigNode, child: ConfigNode) -> ConfigNode {
        guard var childEntries = child.entries else { return child }
        if let d = childEntries.firstIndex(where: { $0.key == "_delete_" }) {
            let replace = childEntries[d].value.scalar.map { ["true", "True", "TRUE"].contains($0) } ?? false
            childEntries.remove(at: d)
            if replace { var c = child; c.value = .mapping(stripDeletes(childEntries)); return c }
        }
        guard var entries = base.entries else { var c = child; c.value = .mapping(stripDeletes(childEntries)); return c }
        // Key → position, so merging two mappings is linear in their sizes (a scan per key
        // would make a generated 200,000-key file take hours).
        var position = Dictionary(entries.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        for e in childEntries {
            if let i = position[e.key] {
                entries[i] = ConfigNode.Entry(key: e.key, keyLocation: e.keyLocation, value: merge(base: entries[i].value, child: e.value))
            } else {
                position[e.key] = entries.count
                entries.append(ConfigNode.Entry(key: e.key, keyLocation: e.keyLocation, value: merge(base: ConfigNode(.scalar("", quoted: false), at: e.keyLocation), child: e.value)))
            }
        }
        var out = child
        out.value = .mapping(entries)
        out.flow = child.flow && base.flow  // a one-line override must not fold a block mapping into one line
        return out
    }

    /// `_delete_` has no meaning once there is nothing left to delete from; it must not reach
    /// the schema (where it would be an unknown key) or the resolved YAML.
    private static func stripDeletes(_ entries: [ConfigNode.Entry]) -> [ConfigNode.Entry] {
        entries.filter { $0.key != "_delete_" }.map { e in
            var e = e
            if e.value.entries != nil { e.value = merge(base: ConfigNode(.scalar("", quoted: false), at: e.value.location), child: e.value) }
            return e
        }
    }

    // MARK: Overrides

    /// Applies `a.b.c=value`. The value is parsed as YAML (`small`, `100`, `[64, 96]`,
    /// `{type: sea}`). Missing intermediate mappings are created: whether the path exists in
    /// the SCHEMA is decided when the config is decoded, where an unknown key is reported at
    /// this override with the nearest valid key.
    public static func applyOverride(_ text: String, to root: ConfigNode) throws -> ConfigNode {
        let here = SourceLocation(file: "--set \(text)", line: 0, column: 0)
        guard let eq = text.firstIndex(of: "=") else {
            throw ConfigError(.override, at: here, keyPath: "", message: "an override is key.path=value, got no '='",
                              remedy: "write e.g. --set train.iterations=100")
        }
        let path = text[..<eq].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !path.isEmpty, !path.contains(where: { $0.isEmpty || $0.contains(" ") }) else {
            throw ConfigError(.override, at: here, keyPath: String(text[..<eq]), message: "malformed key path",
                              remedy: "write dotted keys without spaces, e.g. model.backbone.variant")
        }
        let valueText = String(text[text.index(after: eq)...])
        var value: ConfigNode
        do {
            value = try ConfigNode.parse(yaml: valueText, file: here.file)
        } catch let e as ConfigError {
            throw ConfigError(.override, at: here, keyPath: path.joined(separator: "."), message: "the value is not valid YAML: \(e.message)")
        }
        if valueText.trimmingCharacters(in: .whitespaces).isEmpty { value = ConfigNode(.scalar("", quoted: false), at: here) }
        relocate(&value, to: here)
        return try set(value, at: path[...], in: root, fullPath: path, here: here)
    }

    private static func relocate(_ n: inout ConfigNode, to loc: SourceLocation) {
        n.location = loc
        switch n.value {
        case .scalar: break
        case .sequence(var items):
            for i in items.indices { relocate(&items[i], to: loc) }
            n.value = .sequence(items)
        case .mapping(var entries):
            for i in entries.indices { entries[i].keyLocation = loc; relocate(&entries[i].value, to: loc) }
            n.value = .mapping(entries)
        }
    }

    private static func set(_ value: ConfigNode, at path: ArraySlice<String>, in node: ConfigNode, fullPath: [String], here: SourceLocation) throws -> ConfigNode {
        guard let key = path.first else { return value }
        let done = fullPath[..<(fullPath.count - path.count)].joined(separator: ".")
        var out = node
        switch node.value {
        case .mapping(var entries):
            if let i = entries.firstIndex(where: { $0.key == key }) {
                entries[i].value = try set(value, at: path.dropFirst(), in: entries[i].value, fullPath: fullPath, here: here)
                if path.count == 1 { entries[i].keyLocation = here }
            } else {
                let empty = ConfigNode(.mapping([]), at: here)
                entries.append(ConfigNode.Entry(key: key, keyLocation: here, value: try set(value, at: path.dropFirst(), in: empty, fullPath: fullPath, here: here)))
            }
            out.value = .mapping(entries)
        case .sequence(var items):
            guard let i = Int(key), items.indices.contains(i) else {
                throw ConfigError(.override, at: here, keyPath: fullPath.joined(separator: "."),
                                  message: "'\(done)' is a list of \(items.count) items; '\(key)' is not an index into it")
            }
            items[i] = try set(value, at: path.dropFirst(), in: items[i], fullPath: fullPath, here: here)
            out.value = .sequence(items)
        case .scalar:
            if node.isNull {  // `grad_clip: null` → `--set train.grad_clip.max_norm=1`
                return try set(value, at: path, in: ConfigNode(.mapping([]), at: here), fullPath: fullPath, here: here)
            }
            throw ConfigError(.override, at: here, keyPath: fullPath.joined(separator: "."),
                              message: "'\(done)' is the scalar \(node.kindName) (set at \(node.location)), which has no key '\(key)'")
        }
        return out
    }
}
