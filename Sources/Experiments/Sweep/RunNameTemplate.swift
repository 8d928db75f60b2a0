import ConfigCore
import Foundation

/// Names the runs of a sweep. With `run_name: "sea_{model.backbone.attention.type}_s{seed}"` each
/// `{…}` is replaced by
/// - `{index}`: the point's index;
/// - a swept key (`{seed}`, `{model.backbone.attention.type}`): the point's value;
/// - any other key path of the point's merged config (`{train.iterations}`, `{model.backbone.variant}`);
/// - a unique dotted suffix of a swept key (`{type}`, `{attention.type}`): the short form.
/// Without a template the name is `label=value` per swept key the point sets, joined by `_`,
/// where the label is the shortest unique suffix of the key (`short_names: true`, the default)
/// or the whole key path. Values are sanitised for directory names (`/`, spaces → `-`).
struct RunNameTemplate {
    let template: String?
    let location: SourceLocation
    let sweptKeys: [String]
    let shortNames: Bool

    /// The name of a point; `config` is its merged config tree when it loads (nil when the base
    /// file itself is broken: then only swept values and `{index}` can be used).
    func name(index: Int, assignments: [SweepAssignment], config: ConfigNode?) throws -> String {
        guard let template else { return generated(assignments, config: config) }
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else {
                throw ConfigError(.invalidValue, at: location, keyPath: "run_name", message: "unclosed '{' in \"\(template)\"",
                                  remedy: "write placeholders as {key.path}")
            }
            let key = String(rest[rest.index(after: open)..<close]).trimmingCharacters(in: .whitespaces)
            out += key == "index" ? String(index) : try value(of: key, assignments: assignments, config: config)
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    private func value(of key: String, assignments: [SweepAssignment], config: ConfigNode?) throws -> String {
        if let a = assignments.last(where: { $0.key == key }) { return try text(a.value, key) }
        let path = key.split(separator: ".").map(String.init)
        if !sweptKeys.contains(key), let node = config?.node(at: path) { return try text(node, key) }
        let matches = sweptKeys.filter { $0 == key || $0.hasSuffix("." + key) }
        if matches.count == 1 {
            if let a = assignments.last(where: { $0.key == matches[0] }) { return try text(a.value, key) }
            if let node = config?.node(at: matches[0].split(separator: ".").map(String.init)) { return try text(node, key) }
        }
        if matches.count > 1 {
            throw ConfigError(.invalidValue, at: location, keyPath: "run_name", message: "{\(key)} is ambiguous: it ends \(matches.joined(separator: ", "))",
                              remedy: "write more of the key path")
        }
        let shortForms = sweptKeys.flatMap { k -> [String] in
            let parts = k.split(separator: ".")
            return (1...parts.count).map { parts.suffix($0).joined(separator: ".") }
        }
        let hint = nearestName(to: key, in: ["index"] + shortForms)
        throw ConfigError(.invalidValue, at: location, keyPath: "run_name", message: "{\(key)} is neither a swept key nor a key of the experiment",
                          suggestion: hint, remedy: hint == nil ? "swept keys: \(sweptKeys.joined(separator: ", ")); {index} and any config key path work too" : nil)
    }

    private func text(_ node: ConfigNode, _ key: String) throws -> String {
        guard let t = nameText(node) else {
            throw ConfigError(.invalidValue, at: location, keyPath: "run_name", message: "{\(key)} is a mapping, which has no name form",
                              remedy: "name one of its scalar keys, e.g. {\(key).type}")
        }
        return sanitise(t)
    }

    private func generated(_ assignments: [SweepAssignment], config: ConfigNode?) -> String {
        let parts = sweptKeys.compactMap { key -> String? in
            guard let a = assignments.last(where: { $0.key == key }), let t = nameText(a.value) else { return nil }
            return "\(shortNames ? shortLabel(key) : key)=\(sanitise(t))"
        }
        if parts.isEmpty { return config?["name"]?.scalar.map(sanitise) ?? "base" }
        return parts.joined(separator: "_")
    }

    /// The shortest dotted suffix of `key` that no other swept key ends with.
    func shortLabel(_ key: String) -> String {
        let parts = key.split(separator: ".")
        for n in 1...parts.count {
            let suffix = parts.suffix(n).joined(separator: ".")
            if !sweptKeys.contains(where: { $0 != key && ($0 == suffix || $0.hasSuffix("." + suffix)) }) { return suffix }
        }
        return key
    }

    private func sanitise(_ s: String) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._=+-"))
        return String(String.UnicodeScalarView(s.unicodeScalars.map { allowed.contains($0) ? $0 : "-" }))
    }
}
