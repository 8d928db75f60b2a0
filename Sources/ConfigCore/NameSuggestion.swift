// "Did you mean" suggestions for every user-facing name lookup (registries, config keys,
// transforms, metrics). It lives in ConfigCore, the layer every config-reading module shares.

/// Levenshtein distance between two strings.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    var prev = Array(0...b.count), cur = prev
    for i in 1...a.count {
        cur[0] = i
        for j in 1..<(b.count + 1) {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The closest of `known` to `name` (case-insensitive), if it is close enough to be a likely
/// typo: at most 2 edits, or a third of the name's length for long names.
public func nearestName(to name: String, in known: [String]) -> String? {
    let best = known.map { ($0, editDistance($0.lowercased(), name.lowercased())) }.min { $0.1 < $1.1 }
    guard let best, best.1 <= max(2, name.count / 3) else { return nil }
    return best.0
}
