import Foundation

/// Ours for one cell: the mean over the seeds that produced a value, the sample standard
/// deviation (nil with one value) and how many seeds that was. A cell no run produced is
/// absent (rendered as `—`), never zero.
public struct TableAggregate: Equatable {
    public var mean: Double
    public var std: Double?
    public var n: Int

    /// Aggregates the finite values; nil when there are none.
    public init?(_ values: [Double]) {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return nil }
        n = finite.count
        mean = finite.reduce(0, +) / Double(n)
        if n > 1 {
            let m = mean
            std = (finite.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(n - 1)).squareRoot()
        } else {
            std = nil
        }
    }
}

/// One cell of a collected table: ours (aggregated, already scaled to the printed unit) and the paper's.
public struct TableCell: Equatable {
    public init(ours: TableAggregate?, paper: Double?, paperDigits: Int? = nil) {
        self.ours = ours; self.paper = paper; self.paperDigits = paperDigits
    }

    public var ours: TableAggregate?
    public var paper: Double?
    /// Decimals the paper printed (the paper column shows its value as printed).
    public var paperDigits: Int?
    /// ours − paper, when both exist.
    public var delta: Double? {
        guard let ours, let paper else { return nil }
        return ours.mean - paper
    }
}

/// A table with every cell collected: the input of the renderers.
public struct TableResult {
    public struct Row {
        public var id: String
        public var label: String
        public var reproducible: Bool
        /// Why the row is not reproducible, or what is missing (no runs yet).
        public var note: String?
        /// Column id → cell.
        public var cells: [String: TableCell]
    }

    public var name: String
    public var title: String
    public var profile: String
    public var select: String
    public var seeds: [Int]
    public var columns: [TableColumn]
    public var rows: [Row]
}
