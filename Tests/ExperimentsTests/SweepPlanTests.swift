@testable import Experiments
import Foundation
import XCTest

/// Sweep files → points: expansion order and indices, names, strict keys with locations, the
/// manifest's determinism and drift check. No training here (SweepRunTests runs points).
final class SweepPlanTests: XCTestCase {
    var dirs: [TempConfigDir] = []

    /// A directory holding the tiny base experiment and `sweep.yaml` with `text`; returns the plan's inputs.
    func sweep(_ text: String, name: String = "sweep.yaml") throws -> (file: String, dir: TempConfigDir) {
        let d = try TempConfigDir()
        dirs.append(d)
        try d.write("exp/tiny.yaml", RunnerTests.tiny)
        return (try d.write(name, "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\n" + text), d)
    }

    func plan(_ text: String) throws -> SweepPlan { try SweepPlan.load(file: try sweep(text).file) }

    func overrides(_ p: SweepPlan) -> [[String]] { p.points.map { $0.assignments.map(\.override) } }

    func testGridIsACartesianProductInFileOrderWithTheLastAxisFastest() throws {
        let p = try plan("""
        axes:
          model.backbone.attention.type: [sea, global, axial]
          train.optimizer.lr: [1.0e-3, 5.0e-4]
        """)
        XCTAssertEqual(p.points.map(\.index), Array(0..<6))
        XCTAssertEqual(overrides(p), [
            ["model.backbone.attention.type=sea", "train.optimizer.lr=1.0e-3"], ["model.backbone.attention.type=sea", "train.optimizer.lr=5.0e-4"],
            ["model.backbone.attention.type=global", "train.optimizer.lr=1.0e-3"], ["model.backbone.attention.type=global", "train.optimizer.lr=5.0e-4"],
            ["model.backbone.attention.type=axial", "train.optimizer.lr=1.0e-3"], ["model.backbone.attention.type=axial", "train.optimizer.lr=5.0e-4"],
        ])
        XCTAssertEqual(p.points.map(\.name), ["type=sea_lr=1.0e-3", "type=sea_lr=5.0e-4", "type=global_lr=1.0e-3",
                                              "type=global_lr=5.0e-4", "type=axial_lr=1.0e-3", "type=axial_lr=5.0e-4"])
        XCTAssertEqual(p.points[3].overrides.last, "name=type=global_lr=5.0e-4", "the run's own config carries its name")
        XCTAssertEqual(p.points[3].directory.path, p.directory.path + "/type=global_lr=5.0e-4")
        XCTAssertEqual(p.directory.lastPathComponent, "sweep", "the sweep name defaults to the file's stem")
    }

    func testZipGroupsMoveTogetherAfterTheAxesAndSeedsRepeatEveryPointOutermost() throws {
        let p = try plan("""
        name: zipped
        axes:
          model.backbone.attention.type: [sea, axial]
        zip:
          - {train.optimizer.lr: [1.0e-3, 2.0e-3], train.iterations: [8, 16]}
        seeds: [0, 7]
        run_name: "{type}_lr{lr}_it{train.iterations}_s{seed}"
        """)
        XCTAssertEqual(p.points.map(\.name), [
            "sea_lr1.0e-3_it8_s0", "sea_lr2.0e-3_it16_s0", "axial_lr1.0e-3_it8_s0", "axial_lr2.0e-3_it16_s0",
            "sea_lr1.0e-3_it8_s7", "sea_lr2.0e-3_it16_s7", "axial_lr1.0e-3_it8_s7", "axial_lr2.0e-3_it16_s7",
        ])
        XCTAssertEqual(overrides(p)[5], ["model.backbone.attention.type=sea", "train.optimizer.lr=2.0e-3", "train.iterations=16", "seed=7"])
        XCTAssertEqual(p.sweep.sweptKeys, ["model.backbone.attention.type", "train.optimizer.lr", "train.iterations", "seed"])
        XCTAssertEqual(p.directory.lastPathComponent, "zipped")
    }

    func testExplicitRunsFollowTheGridAndExcludeDropsMatchingPoints() throws {
        let p = try plan("""
        axes:
          model.backbone.attention.type: [sea, global, axial]
        runs:
          - {model.backbone.variant: small, model.head.embed_dims: [32, 64], model.head.channels: 64}
          - {}
        seeds: [0, 1]
        exclude:
          - {model.backbone.attention.type: axial, seed: 1}
          - {model.backbone.variant: small, seed: 0}
        short_names: false
        """)
        XCTAssertEqual(p.points.map(\.name), [
            "model.backbone.attention.type=sea_seed=0", "model.backbone.attention.type=global_seed=0", "model.backbone.attention.type=axial_seed=0",
            "seed=0",
            "model.backbone.attention.type=sea_seed=1", "model.backbone.attention.type=global_seed=1",
            "model.backbone.variant=small_model.head.embed_dims=32x64_model.head.channels=64_seed=1", "seed=1",
        ])
        XCTAssertEqual(p.points.map(\.index), Array(0..<8), "indices are contiguous after exclusion")
        XCTAssertEqual(p.points[6].assignments.map(\.override),
                       ["model.backbone.variant=small", "model.head.embed_dims=[32, 64]", "model.head.channels=64", "seed=1"])
    }

    func testTheFixedSetSectionFlattensAndComesFirstAndValuesRoundTripThroughSet() throws {
        let p = try plan("""
        set:
          train: {iterations: 4, schedule: {warmup: {iterations: 1}}}
          eval.interval: 2
        axes:
          model.backbone.attention: [{type: axial}, {type: local, window_size: 4}]
          data.train.dataset.split: ['train', 'a,b']
        run_name: "p{index}"
        """)
        XCTAssertEqual(p.points[0].overrides, ["train.iterations=4", "train.schedule.warmup.iterations=1", "eval.interval=2",
                                               "model.backbone.attention={type: axial}", "data.train.dataset.split='train'", "name=p0"])
        XCTAssertEqual(p.points[3].assignments[0].override, "model.backbone.attention={type: local, window_size: 4}")
        XCTAssertEqual(p.points[3].assignments[1].override, "data.train.dataset.split='a,b'")
        // Every value reads back through --set as the node the sweep file wrote.
        for point in p.points {
            let root = try ConfigLoader.load(file: p.sweep.base.path, overrides: point.overrides)
            for a in point.assignments { XCTAssertEqual(root.node(at: a.key.split(separator: ".").map(String.init)), a.value, a.override) }
            XCTAssertEqual(root["train"]?["iterations"]?.scalar, "4")
        }
    }

    func testTemplatesResolveConfigKeysAndShortFormsAndReportBadPlaceholders() throws {
        let p = try plan("""
        axes: {model.backbone.attention.type: [sea, axial]}
        run_name: "{model.backbone.variant}-{attention.type}-b{train.batch_size}-{index}"
        """)
        XCTAssertEqual(p.points.map(\.name), ["tiny-sea-b4-0", "tiny-axial-b4-1"])

        let unknown = configError { _ = try self.plan("axes: {model.backbone.attention.type: [sea]}\nrun_name: \"{typo}_{seed}\"\n") }
        XCTAssertEqual(unknown?.keyPath, "run_name")
        XCTAssertEqual(unknown?.location?.line, 4)
        XCTAssertTrue(unknown?.message.contains("{typo} is neither a swept key nor a key of the experiment") ?? false, "\(String(describing: unknown))")
        XCTAssertTrue(unknown?.description.contains("did you mean 'type'?") ?? false, "\(String(describing: unknown))")

        let ambiguous = configError { _ = try self.plan("axes: {model.backbone.attention.type: [sea], model.head.type: [light_head]}\nrun_name: \"{type}\"\n") }
        XCTAssertEqual(ambiguous?.message, "{type} is ambiguous: it ends model.backbone.attention.type, model.head.type")
    }

    func testDuplicateRunNamesNameBothPoints() throws {
        let (file, _) = try sweep("""
        axes:
          model.backbone.attention.type: [sea, global]
        seeds: [0, 1]
        run_name: "{type}"
        """)
        let e = configError { _ = try SweepPlan.load(file: file) }
        XCTAssertEqual(e?.location, SourceLocation(file: file, line: 6, column: 11))
        XCTAssertEqual(e?.description, "\(file):6:11 (run_name): point 0 (model.backbone.attention.type=sea, seed=0) and point 2 (model.backbone.attention.type=sea, seed=1) both get the run name 'sea'. Add placeholders that tell them apart, e.g. {seed} or {index}")
    }

    func testUnknownKeysAndMalformedSectionsAreLocated() throws {
        let (file, _) = try sweep("axes:\n  seed: [0]\nseds: [0, 1]\n")
        let unknown = configError { _ = try SweepPlan.load(file: file) }
        XCTAssertEqual(unknown?.description, "\(file):5:1 (seds): unknown key; did you mean 'seeds'?")

        let (zipFile, _) = try sweep("zip:\n  - {train.optimizer.lr: [1e-3, 2e-3, 4e-3], train.iterations: [8, 16]}\n")
        let zip = configError { _ = try SweepPlan.load(file: zipFile) }
        XCTAssertEqual(zip?.keyPath, "zip.0")
        XCTAssertEqual(zip?.location?.line, 4)
        XCTAssertEqual(zip?.message, "the lists of a zip group move together and must have equal lengths: train.optimizer.lr has 3 (\(zipFile):4:6), train.iterations has 2 (\(zipFile):4:46)")

        let twice = configError { _ = try self.plan("axes: {seed: [0, 1]}\nseeds: [2]\n") }
        XCTAssertEqual(twice?.keyPath, "seeds")
        XCTAssertTrue(twice?.message.hasPrefix("'seed' is already swept at ") ?? false)

        let notAList = configError { _ = try self.plan("axes: {model.backbone.attention.type: sea}\n") }
        XCTAssertEqual(notAList?.description.contains("(axes.model.backbone.attention.type): expected a non-empty list of values, got 'sea'"), true, "\(String(describing: notAList))")

        let excluded = configError { _ = try self.plan("axes: {model.backbone.attention.type: [sea]}\nexclude: [{model.backbone.attention.typ: sea}]\n") }
        XCTAssertEqual(excluded?.keyPath, "exclude.0.model.backbone.attention.typ")
        XCTAssertTrue(excluded?.description.contains("is not swept, so this entry would never match; did you mean 'model.backbone.attention.type'?") ?? false)

        let named = configError { _ = try self.plan("axes: {name: [a, b]}\n") }
        XCTAssertEqual(named?.message, "a sweep sets 'name' of every run itself")

        let missing = configError { _ = try SweepPlan.load(file: try self.sweep("").dir.write("s2.yaml", "base: nowhere.yaml\n")) }
        XCTAssertEqual(missing?.keyPath, "base")
        XCTAssertTrue(missing?.message.hasSuffix("nowhere.yaml does not exist") ?? false)
    }

    func testSweepFilesInheritWithBaseAndTakeSetOverrides() throws {
        let (_, d) = try sweep("")
        try d.write("parent.yaml", "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\naxes: {model.backbone.attention.type: [sea, global]}\nseeds: [0]\n")
        let child = try d.write("sub/child.yaml", "_base_: ../parent.yaml\nname: child\nseeds: [0, 1, 2]\n")
        let p = try SweepPlan.load(file: child, overrides: ["seeds=[5]", "run_name='{type}{seed}'"])
        XCTAssertEqual(p.points.map(\.name), ["sea5", "global5"])
        XCTAssertEqual(p.sweep.base.path, d.path("exp/tiny.yaml"), "base: is relative to the file that wrote it")
        XCTAssertEqual(try SweepPlan.load(file: child).points.count, 6)
    }

    /// Every bad point is listed with the sweep-file line of the value that broke it, points with
    /// one shared problem are grouped, and good points are not mentioned.
    func testValidationListsEveryBadPointAtTheSweepFileLine() throws {
        let (file, _) = try sweep("""
        axes:
          model.backbone.attention.type: [sea, sae, axail]
          train.batch_size: [4, 0]
        """)
        let p = try SweepPlan.load(file: file)
        XCTAssertThrowsError(try p.validate()) { error in
            guard case let SweepError.invalidPoints(_, problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.map(\.indices), [[1], [2], [3], [4], [5]], "\(problems)")
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("5 points of sweep sweep do not validate; nothing was started:\n  point 1: \(file):5:25 (train.batch_size): "), text)
            // The attention message belongs to the model layer; its location and suggestion are ours.
            XCTAssertTrue(text.contains("\n  point 2: \(file):4:40 (model.backbone.attention.type): "), text)
            XCTAssertTrue(text.contains("'sae'; did you mean 'sea'?"), text)
            XCTAssertTrue(text.contains("\n  point 4: \(file):4:45 (model.backbone.attention.type): "), text)
            XCTAssertTrue(text.contains("'axail'; did you mean 'axial'?"), text)
            // A point with two bad values lists both, each at its own line of the sweep file.
            XCTAssertTrue(text.contains("\n  point 5: 2 problems:\n  - \(file):4:45 (model.backbone.attention.type): "), text)
            XCTAssertTrue(text.contains("\n  - \(file):5:25 (train.batch_size): must be at least 1, got 0"), text)
            XCTAssertFalse(text.contains("--set "), text)
            XCTAssertFalse(text.contains("point 0:"), text)
        }
    }

    func testManifestIsDeterministicAndReplanningKeepsIndicesAndStatus() throws {
        let (file, d) = try sweep("axes:\n  model.backbone.attention.type: [sea, global]\nseeds: [0, 1]\n")
        let p = try SweepPlan.load(file: file)
        let first = try SweepManifest.reconcile(plan: p, with: nil, acceptChanges: false).jsonData()
        let again = try SweepManifest.reconcile(plan: try SweepPlan.load(file: file), with: nil, acceptChanges: false).jsonData()
        XCTAssertEqual(first, again)
        let store = ManifestStore(p.manifestURL)
        try store.update { m in m = try SweepManifest.reconcile(plan: p, with: m, acceptChanges: false) }
        try store.updatePoint(1) { $0.status = .done; $0.attempts = 1 }
        let json = try XCTUnwrap(String(data: try Data(contentsOf: p.manifestURL), encoding: .utf8))
        XCTAssertTrue(json.contains("\"name\" : \"type=global_seed=0\""), json)
        XCTAssertTrue(json.contains("\"values\" : {\n        \"model.backbone.attention.type\" : \"global\",\n        \"seed\" : \"0\"\n      }"), json)

        // Appending to the first axis and adding a seed only adds points at the end.
        try d.write("sweep.yaml", "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\naxes:\n  model.backbone.attention.type: [sea, global]\nseeds: [0, 1, 2]\n")
        let grown = try SweepPlan.load(file: file)
        let kept = try SweepManifest.reconcile(plan: grown, with: try store.read(), acceptChanges: false)
        XCTAssertEqual(kept.points.map(\.name).prefix(4), ["type=sea_seed=0", "type=global_seed=0", "type=sea_seed=1", "type=global_seed=1"])
        XCTAssertEqual(kept.points.count, 6)
        XCTAssertEqual(kept.points[1].status, .done)

        // Inserting a value in front renumbers: reported, with --accept-changes carrying statuses by name.
        try d.write("sweep.yaml", "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\naxes:\n  model.backbone.attention.type: [axial, sea, global]\nseeds: [0, 1]\n")
        let moved = try SweepPlan.load(file: file)
        XCTAssertThrowsError(try SweepManifest.reconcile(plan: moved, with: try store.read(), acceptChanges: false)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("the sweep file no longer matches its manifest \(p.manifestURL.path):\n  point 0 'type=sea_seed=0' would become point 1\n  point 1 'type=global_seed=0' would become point 2\n"), text)
            XCTAssertTrue(text.contains("runexp sweep plan FILE --accept-changes"), text)
        }
        let accepted = try SweepManifest.reconcile(plan: moved, with: try store.read(), acceptChanges: true)
        XCTAssertEqual(accepted.points[2].name, "type=global_seed=0")
        XCTAssertEqual(accepted.points[2].status, .done)

        // Same names, other settings (an index template): a started point is drift, and accepting
        // it starts that point over instead of calling the old run done.
        try d.write("sweep.yaml", "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\naxes:\n  model.backbone.attention.type: [sea, global]\nrun_name: \"p{index}\"\n")
        let indexed = try SweepPlan.load(file: file)
        let store2 = ManifestStore(indexed.manifestURL)
        try store2.update { m in m = try SweepManifest.reconcile(plan: indexed, with: nil, acceptChanges: false) }
        try store2.updatePoint(0) { $0.status = .done }
        try d.write("sweep.yaml", "base: exp/tiny.yaml\noutput_dir: \(d.path("out"))\naxes:\n  model.backbone.attention.type: [axial, global]\nrun_name: \"p{index}\"\n")
        let changed = try SweepPlan.load(file: file)
        XCTAssertThrowsError(try SweepManifest.reconcile(plan: changed, with: try store2.read(), acceptChanges: false)) { error in
            XCTAssertTrue("\(error)".contains("\n  point 0 'p0' (done) has different settings: +model.backbone.attention.type=axial -model.backbone.attention.type=sea\n"), "\(error)")
        }
        XCTAssertEqual(try SweepManifest.reconcile(plan: changed, with: try store2.read(), acceptChanges: true).points.map(\.status), [.pending, .pending])
    }

    /// The shipped example: SEA, global and axial attention on the quickstart, two seeds.
    func testTheExampleSweepPlansAndValidates() throws {
        let p = try SweepPlan.load(file: repoRoot.appendingPathComponent("experiments/sweeps/quickstart_attention.yaml").path)
        XCTAssertEqual(p.points.map(\.name), ["sea_s0", "global_s0", "axial_s0", "sea_s1", "global_s1", "axial_s1"])
        XCTAssertEqual(p.points[4].overrides, ["model.backbone.attention.type=global", "seed=1", "name=global_s1"])
        XCTAssertEqual(p.sweep.base.path, repoRoot.appendingPathComponent("experiments/quickstart.yaml").standardizedFileURL.path)
        let experiments = try p.validate()
        XCTAssertEqual(experiments[5]?.config.seed, 1)
        XCTAssertEqual(experiments[5]?.config.name, "axial_s1")
    }
}
