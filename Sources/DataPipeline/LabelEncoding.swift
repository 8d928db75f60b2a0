import Foundation

/// How the values stored in a dataset's label files become class indices, as one lookup table
/// over every possible stored value (256 for 8-bit PNGs, 65536 for NYUv2's uint16 raw ids).
/// A table makes every scheme (plain train ids, reduce-zero-label, id maps) the same single
/// pass per pixel, and lets the range check ride along for free: values the dataset cannot
/// explain map to -1 and are reported with the file they came from.
struct LabelEncoding {
    /// Stored value → class index, 255 = ignore, -1 = invalid.
    let table: [Int16]
    /// What the valid stored values are, for error messages.
    let expectation: String

    /// Values 0…n-1 are classes, 255 is ignore (Cityscapes/COCO *_labelTrainIds.png, Pascal Context).
    static func classIds(_ n: Int) -> LabelEncoding {
        var t = [Int16](repeating: -1, count: 256)
        for v in 0..<n { t[v] = Int16(v) }
        t[255] = 255
        return LabelEncoding(table: t, expectation: "class ids 0…\(n - 1) or 255 (ignore)")
    }

    /// 0 = unlabelled → ignore, 1…n → 0…n-1, 255 stays ignore (mmseg's reduce_zero_label).
    static func reduceZero(_ n: Int) -> LabelEncoding {
        var t = [Int16](repeating: -1, count: 256)
        t[0] = 255
        for v in 1...n { t[v] = Int16(v - 1) }
        t[255] = 255
        return LabelEncoding(table: t, expectation: "0 (unlabelled), class ids 1…\(n) or 255 (reduce-zero-label)")
    }

    /// Raw ids through a metadata id map (labelId → trainId, 182 → 171, 894 → 40).
    static func idMap(_ map: LabelIdMap, rawValues: Int = 256, describing what: String) -> LabelEncoding {
        var t = [Int16](repeating: -1, count: rawValues)
        for raw in 0..<rawValues { if let c = map.classIndex(ofRawId: raw) { t[raw] = Int16(c) } }
        let hi = map.firstId + map.table.count - 1
        let ignore = map.ignoreIds.isEmpty ? "" : ", \(map.ignoreIds.map(String.init).joined(separator: "/")) = unlabelled"
        return LabelEncoding(table: t, expectation: "\(what) \(map.firstId)…\(hi)\(ignore)")
    }

    /// Maps stored values to a label map; the first value the table rejects is an error naming
    /// the file.
    func apply<T: FixedWidthInteger & UnsignedInteger>(_ values: UnsafeBufferPointer<T>, height: Int, width: Int,
                                                         dataset: String, path: String) throws -> LabelMap {
        var out = [UInt8](repeating: 0, count: values.count)
        var bad = -1
        table.withUnsafeBufferPointer { tb in
            out.withUnsafeMutableBufferPointer { o in
                let n = tb.count
                for i in 0..<values.count {
                    let v = Int(values[i])
                    let c = v < n ? tb[v] : -1
                    if c < 0 { bad = v; break }
                    o[i] = UInt8(c)
                }
            }
        }
        if bad >= 0 {
            throw DataError.labelOutOfRange(dataset: dataset, path: path, value: bad,
                                            problem: "is not valid here: expected \(expectation)",
                                            remedy: "Check that the label files were produced by the converter named in datasets/README.md and that the dataset options (e.g. num_classes) match them")
        }
        return LabelMap(height: height, width: width, values: out)
    }

    func apply(_ label: LabelMap, dataset: String, path: String) throws -> LabelMap {
        try label.values.withUnsafeBufferPointer { try apply($0, height: label.height, width: label.width, dataset: dataset, path: path) }
    }
}
