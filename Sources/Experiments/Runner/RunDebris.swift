import Foundation

extension RunDirectory {
    /// Removes the temporary files that atomic writes of THIS run leave when the process is
    /// killed between creating and renaming them, and returns their names. Only names of the
    /// run's own scheme are touched — `.<file>.<pid>[.<8 hex>].tmp` for config.yaml,
    /// last_checkpoint, metrics.h5, best.h5 and checkpoints/iter_N.h5, and the write probe
    /// `.write-probe-<pid>` — so anything else a user keeps in the directory stays. Call it
    /// only while holding the run's lock: another live writer's temporary files would look
    /// the same.
    func removeDebris() -> [String] {
        var removed: [String] = []
        for (dir, names) in [(url, ["config.yaml", "last_checkpoint", "metrics.h5", "best.h5"]), (checkpoints, [])] {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
                guard Self.isDebris(entry, targets: names, checkpoints: dir == checkpoints) else { continue }
                if unlink(dir.appendingPathComponent(entry).path) == 0 {
                    removed.append(dir == checkpoints ? "checkpoints/" + entry : entry)
                }
            }
        }
        return removed.sorted()
    }

    /// `.iter_12.h5.4242.1A2B3C4D.tmp`, `.last_checkpoint.4242.tmp`, `.write-probe-4242`.
    static func isDebris(_ name: String, targets: [String], checkpoints: Bool) -> Bool {
        if name.hasPrefix(".write-probe-") { return isDigits(name.dropFirst(".write-probe-".count)) }
        guard name.hasPrefix("."), name.hasSuffix(".tmp") else { return false }
        let inner = name.dropFirst().dropLast(4)  // "<file>.<pid>[.<hex>]"
        var parts = inner.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if let last = parts.last, last.count == 8, last.allSatisfy(\.isHexDigit), parts.count >= 3, isDigits(Substring(parts[parts.count - 2])) {
            parts.removeLast()
        }
        guard parts.count >= 2, let pid = parts.last, isDigits(Substring(pid)) else { return false }
        let file = parts.dropLast().joined(separator: ".")
        if checkpoints {
            guard file.hasPrefix("iter_"), file.hasSuffix(".h5") else { return false }
            return isDigits(file.dropFirst(5).dropLast(3))
        }
        return targets.contains(file)
    }

    private static func isDigits(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
}
