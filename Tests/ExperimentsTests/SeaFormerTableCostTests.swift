@testable import Experiments
import Foundation
import XCTest

/// Every reproducible row of every shipped SeaFormer++ table: its params and FLOPs, counted from
/// the model at the paper profile, equal the paper's cells at the paper's printed precision
/// (FLOPs within 1.5 %: the paper rounds its own mmcv counts inconsistently, spec seaformer.md
/// §1.5). The cells that are known not to match are listed here with the reason, the same
/// reasons docs/reproduction.md gives; a listed cell that starts to match fails too, so the list
/// cannot go stale. Each distinct (model, input) pair is traced once: 58 models, about 40 s on 2
/// idle cores in a debug build.
final class SeaFormerTableCostTests: XCTestCase {
    /// "table row column" → why ours differs from the paper.
    static let knownDeviations: [String: String] = {
        var d: [String: String] = [:]
        let adaptive = "sea_adaptive is a hypothesis fitted to the paper (spec §1.7): about v1's parameter count, not the ++ figure"
        for row in ["seaformerpp_tiny", "seaformerpp_small", "seaformerpp_base", "seaformerpp_large"] { d["seaformer_table2 \(row) params"] = adaptive }
        d["seaformer_table7 adaptive params"] = adaptive
        for row in ["seaformerpp_tiny", "seaformerpp_small", "seaformerpp_base"] { d["seaformer_table14 \(row) params"] = adaptive }
        d["seaformer_table4 seaformerpp_tiny_60 flops"] = adaptive + " (its FLOPs too: 0.511G against 0.52G)"
        d["seaformer_table4 seaformerpp_small_60 flops"] = adaptive + " (its FLOPs too: 0.931G against 1.0G)"
        let coco = "COCO-Stuff FLOPs: the paper does not say at which input it counted them; ours at 512×512 are 1–4% lower"
        for row in ["seaformer_small", "seaformer_base", "seaformerpp_tiny", "seaformerpp_small"] { d["seaformer_table5 \(row) flops"] = coco }
        let aligned = "the paper widened the other attentions to align FLOPs and does not give their channels"
        for row in ["local", "axial", "global"] { d["seaformer_table9 \(row) flops"] = aligned }
        for row in ["conv", "local", "axial", "global"] { d["seaformer_table9 \(row) params"] = aligned }
        d["seaformer_table3 seaformer_base_h flops"] = "3.47G at 1024×512 against the paper's 3.4G (+2.1%), while S (2.0G) and the 1024×1024 rows equal it: the paper's rounding"
        d["seaformer_table3 seaformerpp_base_h flops"] = d["seaformer_table3 seaformer_base_h flops"]
        d["seaformer_table4 seaformer_small_60 flops"] = "0.930G against the paper's 0.98G (−5%), while T (0.51G) and B (1.57G) at the same 480×480 equal it: likely a paper-side slip"
        let ablation = "Table 6's ablation structures are ViTLab's reading of the paper (docs/attention-variants.md), which gives no channels for them"
        for cell in ["kernel_only flops", "attention_only params", "attention_only flops", "upconv_mul params", "upconv_mul flops"] { d["seaformer_table6 \(cell)"] = ablation }
        return d
    }()

    func matches(_ ours: Int, scale: Double, paper: Double, digits: Int, relative: Double) -> Bool {
        let p = pow(10.0, Double(digits))
        let value = Double(ours) * scale
        return abs((value * p).rounded() / p - paper) < 1e-9 || abs(value - paper) <= relative * paper
    }

    func testEveryReproducibleRowCostsWhatThePaperSays() throws {
        let cost = TableCost()
        var checked = 0, deviations: Set<String> = []
        for spec in try TableShippedTests.specs(in: TableShippedTests.tables) {
            let plan = try TablePlan(spec: spec, profile: "paper")
            for row in spec.rows where row.reproducible {
                let c = try cost.cost(of: try plan.modelExperiment(of: row), inputSize: row.inputSize)
                for (column, scale, relative) in [("params", 1e-6, 0.0), ("flops", 1e-9, 0.015)] {
                    guard let paper = row.paper[column], let digits = row.paperDigits[column] else { continue }
                    let key = "\(spec.name) \(row.id) \(column)"
                    let value = column == "params" ? c.params : c.flops
                    let equal = matches(value, scale: scale, paper: paper, digits: digits, relative: relative)
                    if let reason = Self.knownDeviations[key] {
                        XCTAssertFalse(equal, "\(key) now equals the paper (\(Double(value) * scale)); drop it from the known deviations (\(reason))")
                        deviations.insert(key)
                    } else {
                        XCTAssertTrue(equal, "\(key): ours \(Double(value) * scale), paper \(paper)")
                        checked += 1
                    }
                }
            }
        }
        XCTAssertEqual(deviations, Set(Self.knownDeviations.keys), "known deviations that name no shipped cell")
        XCTAssertEqual(checked, 69)
        XCTAssertEqual(cost.traced, 58)
        print("SeaFormer tables: \(checked) params/FLOPs cells equal the paper, \(deviations.count) known deviations, \(cost.traced) models traced")
    }
}
