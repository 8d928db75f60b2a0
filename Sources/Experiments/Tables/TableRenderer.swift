import Foundation

/// Prints a collected table side by side with the paper: for every column ours (mean ± std
/// when there are several seeds, with n), the paper's value and the difference. A missing
/// value prints as `—` (`--` in LaTeX, empty in CSV, null in JSON), never as zero.
public enum TableFormat: String, CaseIterable {
    case markdown, csv, latex, json
}

public enum TableRenderer {
    public static func render(_ t: TableResult, as format: TableFormat) -> String {
        switch format {
        case .markdown: return markdown(t)
        case .csv: return csv(t)
        case .latex: return latex(t)
        case .json: return json(t)
        }
    }

    static func number(_ v: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", v) }

    static func signed(_ v: Double, _ digits: Int) -> String {
        let s = number(v, digits)
        // A difference that rounds to zero prints as +0.00, not -0.00.
        if s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { return "+" + s.dropFirst() }
        return s.hasPrefix("-") ? s : "+" + s
    }

    /// `35.80 ± 0.12 (n=3)`, `35.8`, or nil.
    static func ours(_ a: TableAggregate?, _ digits: Int, pm: String = "±") -> String? {
        guard let a else { return nil }
        guard let std = a.std else { return number(a.mean, digits) }
        return "\(number(a.mean, digits)) \(pm) \(number(std, digits)) (n=\(a.n))"
    }

    public static func markdown(_ t: TableResult) -> String {
        var header = ["Row"]
        for c in t.columns { header += [c.header, "paper", "Δ"] }
        header.append("note")
        var lines = ["**\(t.title)** — profile `\(t.profile)`, \(t.select) evaluation, seeds \(t.seeds.map(String.init).joined(separator: ","))", "",
                     "| " + header.joined(separator: " | ") + " |",
                     "|" + header.indices.map { $0 == 0 || $0 == header.count - 1 ? "---|" : "---:|" }.joined()]
        for r in t.rows {
            var cells = [r.label]
            for c in t.columns {
                let cell = r.cells[c.id]
                cells.append(ours(cell?.ours, c.digits) ?? "—")
                cells.append(cell?.paper.map { number($0, cell?.paperDigits ?? c.digits) } ?? "—")
                cells.append(cell?.delta.map { signed($0, c.digits) } ?? "—")
            }
            cells.append(r.note ?? "")
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        let notes = t.columns.compactMap(\.protocolNote)
        if !notes.isEmpty { lines += [""] + notes.map { "- \($0)" } }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { ",\"\n".contains($0) }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    public static func csv(_ t: TableResult) -> String {
        var header = ["row", "label"]
        for c in t.columns { header += ["\(c.id)_mean", "\(c.id)_std", "\(c.id)_n", "\(c.id)_paper", "\(c.id)_delta"] }
        header.append("note")
        var lines = [header.joined(separator: ",")]
        for r in t.rows {
            var f = [r.id, r.label]
            for c in t.columns {
                let cell = r.cells[c.id]
                let a = cell?.ours
                f += [a.map { number($0.mean, c.digits + 2) } ?? "", a?.std.map { number($0, c.digits + 2) } ?? "", a.map { String($0.n) } ?? "0",
                      cell?.paper.map { number($0, cell?.paperDigits ?? c.digits) } ?? "", cell?.delta.map { number($0, c.digits + 2) } ?? ""]
            }
            f.append(r.note ?? "")
            lines.append(f.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func tex(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&", "%", "$", "#", "_", "{", "}": out += "\\\(ch)"
            case "—": out += "--"
            case "×": out += "$\\times$"
            default: out.append(ch)
            }
        }
        return out
    }

    public static func latex(_ t: TableResult) -> String {
        var lines = ["% \(tex(t.title)) (profile \(t.profile), \(t.select) evaluation)",
                     "\\begin{tabular}{l" + String(repeating: "rrr", count: t.columns.count) + "}", "\\toprule"]
        lines.append("Row & " + t.columns.map { "\(tex($0.header)) & paper & $\\Delta$" }.joined(separator: " & ") + " \\\\")
        lines.append("\\midrule")
        for r in t.rows {
            var cells = [tex(r.label)]
            for c in t.columns {
                let cell = r.cells[c.id]
                cells.append(ours(cell?.ours, c.digits, pm: "$\\pm$") ?? "--")
                cells.append(cell?.paper.map { number($0, cell?.paperDigits ?? c.digits) } ?? "--")
                cells.append(cell?.delta.map { signed($0, c.digits) } ?? "--")
            }
            lines.append(cells.joined(separator: " & ") + " \\\\")
        }
        lines += ["\\bottomrule", "\\end{tabular}"]
        lines += t.columns.compactMap(\.protocolNote).map { "% \(tex($0))" }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func json(_ t: TableResult) -> String {
        func num(_ v: Double?) -> Any { v.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        let columns: [[String: Any]] = t.columns.map { c in
            let kind: String
            switch c.source {
            case .cost: kind = "cost"
            case .metric: kind = "metric"
            case .paperOnly: kind = "paper_only"
            case .throughput: kind = "measured"
            }
            var entry: [String: Any] = ["id": c.id, "header": c.header, "kind": kind, "digits": c.digits]
            if case .throughput(let p) = c.source {
                entry["protocol"] = ["batch": p.batch, "input_size": p.inputSize, "threads": p.threads, "warmup": p.warmup,
                                     "repeats": p.repeats, "statistic": "median", "build": ThroughputProtocol.build, "text": p.description] as [String: Any]
            }
            return entry
        }
        let rows: [[String: Any]] = t.rows.map { r in
            var cells: [String: Any] = [:]
            for c in t.columns {
                let cell = r.cells[c.id]
                cells[c.id] = ["mean": num(cell?.ours?.mean), "std": num(cell?.ours?.std), "n": cell?.ours?.n ?? 0,
                               "paper": num(cell?.paper), "delta": num(cell?.delta)] as [String: Any]
            }
            return ["id": r.id, "label": r.label, "reproducible": r.reproducible, "note": r.note.map { $0 as Any } ?? NSNull(), "cells": cells]
        }
        let root: [String: Any] = ["name": t.name, "title": t.title, "profile": t.profile, "select": t.select, "seeds": t.seeds,
                                   "columns": columns, "rows": rows]
        let data = (try? JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
