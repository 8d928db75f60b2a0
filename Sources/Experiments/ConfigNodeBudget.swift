import Foundation

/// The most values one config document may hold once YAML aliases are unfolded. Real
/// experiment files hold a few hundred; a million leaves room for generated sweeps while an
/// alias bomb (nine aliases nested nine deep unfold to 9⁹ ≈ 387 million values from a
/// 400-byte file) is stopped after a bounded amount of work and memory.
public let configNodeLimit = 1_000_000

/// Counts the nodes a YAML → `ConfigNode` conversion creates and stops it at `limit`.
/// A class so that one budget is shared by the whole recursive conversion.
public final class ConfigNodeBudget {
    public let limit: Int
    public private(set) var used = 0

    public init(limit: Int = configNodeLimit) { self.limit = limit }

    func spend(at location: SourceLocation) throws {
        used += 1
        guard used <= limit else {
            throw ConfigError(.syntax, at: location, keyPath: "",
                              message: "the document unfolds to more than \(limit) values (YAML aliases repeat the node they name; nested aliases multiply)",
                              remedy: "write the repeated values out or use _base_ inheritance; an alias that expands this far is almost certainly a mistake or an attack")
        }
    }
}
