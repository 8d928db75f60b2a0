@testable import Experiments
import Foundation
import XCTest

/// Table specs: decoding, and errors that say where and what is wrong.
final class TableSpecTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("table-spec-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "train: {iterations: 1}\n".write(to: dir.appendingPathComponent("exp.yaml"), atomically: true, encoding: .utf8)
        try "train.iterations: 2\n".write(to: dir.appendingPathComponent("proxy.yaml"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ text: String) throws -> String {
        let f = dir.appendingPathComponent("t.yaml")
        try text.write(to: f, atomically: true, encoding: .utf8)
        return f.path
    }

    func error(_ text: String) throws -> String {
        do { _ = try TableSpec.load(file: try write(text)); XCTFail("expected an error"); return "" } catch { return "\(error)" }
    }

    func testDecodesRowsColumnsProfilesAndPaperPrecision() throws {
        let spec = try TableSpec.load(file: try write("""
            name: demo
            seeds: [0, 1]
            select: last
            profiles: {proxy: proxy.yaml}
            columns: [params, {type: miou, header: "mIoU (val)", digits: 2}, latency]
            rows:
              - {id: a, label: "Row A", experiment: exp.yaml, set: {model.head.fusion: add}, paper: {params: 1.70, miou: 35.8, latency: null}}
              - {id: b, reproducible: false, reason: "no such model", paper: {miou: 30}, input_size: [224, 224]}
            """))
        XCTAssertEqual(spec.name, "demo")
        XCTAssertEqual(spec.seeds, [0, 1])
        XCTAssertEqual(spec.select, .last)
        XCTAssertEqual(spec.columns.map(\.id), ["params", "miou", "latency"])
        XCTAssertEqual(spec.columns[1].header, "mIoU (val)")
        XCTAssertEqual(spec.columns[1].digits, 2)
        XCTAssertEqual(spec.columns[2].source, .paperOnly)
        XCTAssertEqual(spec.rows[0].overrides, ["model.head.fusion=add"])
        XCTAssertEqual(spec.rows[0].paper, ["params": 1.7, "miou": 35.8])
        XCTAssertEqual(spec.rows[0].paperDigits, ["params": 2, "miou": 1])
        XCTAssertEqual(spec.rows[0].inputSize, [512, 512])
        XCTAssertEqual(spec.rows[1].inputSize, [224, 224])
        XCTAssertFalse(spec.rows[1].reproducible)
        XCTAssertEqual(try TablePlan(spec: spec, profile: "proxy").profileOverrides, ["train.iterations=2"])
        XCTAssertEqual(try TablePlan(spec: spec, profile: "paper").profileOverrides, [])
        // The profile comes after the row's own overrides, each key once.
        let plan = try TablePlan(spec: spec, profile: "proxy")
        XCTAssertEqual(plan.overrides(of: spec.rows[0]), ["model.head.fusion=add", "train.iterations=2"])
        XCTAssertThrowsError(try TablePlan(spec: spec, profile: "proxi")) { e in
            XCTAssertTrue("\(e)".contains("no profile 'proxi'; did you mean 'proxy'?"), "\(e)")
        }
    }

    func testErrorsAreLocatedAndListWhatIsAllowed() throws {
        let unknownKey = try error("colums: [miou]\ncolumns: [miou]\nrows: [{id: a, experiment: exp.yaml}]\n")
        XCTAssertTrue(unknownKey.hasSuffix("t.yaml:1:1 (colums): unknown key; did you mean 'columns'?. Allowed keys: name, title, output_dir, seeds, select, input_size, profiles, columns, rows"), unknownKey)

        let unknownColumn = try error("columns: [params, mIoU]\nrows: [{id: a, experiment: exp.yaml}]\n")
        XCTAssertTrue(unknownColumn.contains("t.yaml:1:19 (columns.1): unknown table column 'mIoU'; did you mean 'miou'?"), unknownColumn)

        let missingFile = try error("columns: [miou]\nrows:\n  - {id: a, experiment: nope.yaml}\n")
        XCTAssertTrue(missingFile.contains("t.yaml:3:25 (rows.0.experiment): the experiment file"), missingFile)
        XCTAssertTrue(missingFile.contains("nope.yaml does not exist. Experiment paths are relative to the table file"), missingFile)

        let notAColumn = try error("columns: [miou]\nrows:\n  - {id: a, experiment: exp.yaml, paper: {top1: 3}}\n")
        XCTAssertTrue(notAColumn.contains("t.yaml:3:43 (rows.0.paper.top1): 'top1' is not a column of this table. Columns: miou"), notAColumn)

        let noReason = try error("columns: [miou]\nrows:\n  - {id: a, reproducible: false}\n")
        XCTAssertTrue(noReason.contains("(rows.0.reason): a row with reproducible: false needs the reason"), noReason)

        let rowKey = try error("columns: [miou]\nrows:\n  - {id: a, experiment: exp.yaml, papr: {}}\n")
        XCTAssertTrue(rowKey.contains("(rows.0.papr): unknown key; did you mean 'paper'?"), rowKey)

        let duplicate = try error("columns: [miou]\nrows:\n  - {id: a, experiment: exp.yaml}\n  - {id: a, experiment: exp.yaml}\n")
        XCTAssertTrue(duplicate.contains("t.yaml:4:10 (rows.1.id): row id 'a' is already used at"), duplicate)

        let select = try error("select: bets\ncolumns: [miou]\nrows: [{id: a, experiment: exp.yaml}]\n")
        XCTAssertTrue(select.contains("(select): select must be best or last, got 'bets'; did you mean 'best'?"), select)

        let columnKey = try error("columns: [{type: miou, heading: x}]\nrows: [{id: a, experiment: exp.yaml}]\n")
        XCTAssertTrue(columnKey.contains("columns.0.heading"), columnKey)
    }

    func testARowWhoseTaskProducesNoMetricColumnIsAnError() throws {
        let quickstart = repoRoot.appendingPathComponent("experiments/quickstart.yaml").path
        let spec = try TableSpec.load(file: try write("input_size: [64, 64]\ncolumns: [params, top1]\nrows:\n  - {id: seg, experiment: \(quickstart)}\n"))
        let collector = TableCollector(plan: try TablePlan(spec: spec, profile: "paper"), cost: TableCost())
        XCTAssertThrowsError(try collector.collect()) { e in
            XCTAssertTrue("\(e)".hasSuffix("t.yaml:4:5 (row seg): the row's model is a segmentation model, which produces none of the table's metric columns (top1)"), "\(e)")
        }
    }

    func testAggregationMeanSampleStdAndMissing() {
        let a = TableAggregate([35.0, 36.0, 37.0])!
        XCTAssertEqual(a.mean, 36.0, accuracy: 1e-12)
        XCTAssertEqual(a.std!, 1.0, accuracy: 1e-12)
        XCTAssertEqual(a.n, 3)
        let one = TableAggregate([.nan, 34.5])!
        XCTAssertEqual(one.n, 1)
        XCTAssertEqual(one.mean, 34.5)
        XCTAssertNil(one.std)
        XCTAssertNil(TableAggregate([]))
        XCTAssertNil(TableAggregate([.nan]))
        XCTAssertEqual(TableCell(ours: a, paper: 35.8).delta!, 0.2, accuracy: 1e-12)
        XCTAssertNil(TableCell(ours: nil, paper: 35.8).delta)
    }

    static func smallTable() -> TableResult {
        let params = TableColumn(id: "params", header: "Params(M)", source: .cost(.params), scale: 1e-6, digits: 2)
        let miou = TableColumn(id: "miou", header: "mIoU", source: .metric(name: "mIoU", task: .segmentation), scale: 100, digits: 1)
        return TableResult(name: "demo", title: "Demo_table", profile: "proxy", select: "best", seeds: [0, 1], columns: [params, miou], rows: [
            .init(id: "a", label: "SeaFormer-T", reproducible: true, note: nil,
                  cells: ["params": TableCell(ours: TableAggregate([1.667318]), paper: 1.7), "miou": TableCell(ours: TableAggregate([35.0, 36.0]), paper: 35.8)]),
            .init(id: "b", label: "Other, X", reproducible: false, note: "not reproducible: no model",
                  cells: ["params": TableCell(ours: nil, paper: 2.2), "miou": TableCell(ours: nil, paper: nil)]),
        ])
    }

    func testMarkdownCSVLaTeXExactly() {
        let t = Self.smallTable()
        XCTAssertEqual(TableRenderer.markdown(t), """
            **Demo_table** — profile `proxy`, best evaluation, seeds 0,1

            | Row | Params(M) | paper | Δ | mIoU | paper | Δ | note |
            |---|---:|---:|---:|---:|---:|---:|---|
            | SeaFormer-T | 1.67 | 1.70 | -0.03 | 35.5 ± 0.7 (n=2) | 35.8 | -0.3 |  |
            | Other, X | — | 2.20 | — | — | — | — | not reproducible: no model |

            """)
        XCTAssertEqual(TableRenderer.csv(t), """
            row,label,params_mean,params_std,params_n,params_paper,params_delta,miou_mean,miou_std,miou_n,miou_paper,miou_delta,note
            a,SeaFormer-T,1.6673,,1,1.70,-0.0327,35.500,0.707,2,35.8,-0.300,
            b,"Other, X",,,0,2.20,,,,0,,,not reproducible: no model

            """)
        XCTAssertEqual(TableRenderer.latex(t), """
            % Demo\\_table (profile proxy, best evaluation)
            \\begin{tabular}{lrrrrrr}
            \\toprule
            Row & Params(M) & paper & $\\Delta$ & mIoU & paper & $\\Delta$ \\\\
            \\midrule
            SeaFormer-T & 1.67 & 1.70 & -0.03 & 35.5 $\\pm$ 0.7 (n=2) & 35.8 & -0.3 \\\\
            Other, X & -- & 2.20 & -- & -- & -- & -- \\\\
            \\bottomrule
            \\end{tabular}

            """)
        let json = try! JSONSerialization.jsonObject(with: Data(TableRenderer.json(t).utf8)) as! [String: Any]
        let rows = json["rows"] as! [[String: Any]]
        let cells = rows[0]["cells"] as! [String: [String: Any]]
        XCTAssertEqual(cells["miou"]?["n"] as? Int, 2)
        XCTAssertEqual(cells["miou"]?["mean"] as? Double, 35.5)
        XCTAssertTrue(((rows[1]["cells"] as! [String: [String: Any]])["miou"]?["mean"]) is NSNull)
    }
}
