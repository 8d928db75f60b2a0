import Foundation

/// One run of a sweep: its index (stable while the sweep file only grows at the end), its name
/// and directory, and the `--set` overrides that turn the base experiment into it.
public struct SweepPoint {
    public let index: Int
    public let name: String
    /// The swept settings of this point, in the sweep file's key order (without `set:`).
    public let assignments: [SweepAssignment]
    /// Every `--set` argument of `runexp run`, in the order applied: `set:`, the swept values,
    /// then `name=<run name>` so the run's own config.yaml and metrics.h5 carry the run name.
    public let overrides: [String]
    /// `<sweep directory>/<name>`, the run's `--output`.
    public let directory: URL

    /// `key → value` (one-line YAML) of the swept settings, for the manifest and tables.
    public var values: [String: String] {
        Dictionary(assignments.map { ($0.key, $0.valueText) }, uniquingKeysWith: { _, last in last })
    }
}
