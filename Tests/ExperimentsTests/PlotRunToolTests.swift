import Foundation
import HDF5Store
import XCTest

/// tools/plot_run.py reads the metrics.h5 files our HDF5Store writes and renders a PNG.
/// Needs python3 with h5py and matplotlib (`pip install -r tools/requirements.txt`); skipped otherwise.
final class PlotRunToolTests: XCTestCase {
    /// The repository root: this file is Tests/ExperimentsTests/PlotRunToolTests.swift.
    private let repoRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    private var script: String { repoRoot.appendingPathComponent("tools/plot_run.py").path }

    private func python(_ args: [String], in dir: URL) throws -> PythonResult { try runPython(args, in: dir) }

    private func makeDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        guard try python(["-c", "import h5py, matplotlib"], in: dir).status == 0 else {
            throw XCTSkip("python3 with h5py and matplotlib not available (pip install -r tools/requirements.txt)")
        }
        return dir
    }

    /// Writes runDir/metrics.h5 in the run layout of docs/hdf5-layout.md: 300 training steps and,
    /// unless `validation` is nil, an evaluation every 500 iterations (segmentation or top-k).
    private enum Validation { case segmentation, classification }
    private func writeRun(_ runDir: URL, name: String?, validation: Validation?) throws {
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        let f = try HDF5File.create(runDir.appendingPathComponent("metrics.h5"))
        if let name { try f.setAttribute("name", name) }
        let iters = (1...300).map { Int64($0 * 10) }
        try f.series(Int64.self, at: "train/iter").append(contentsOf: iters)
        try f.series(Float.self, at: "train/loss").append(contentsOf: iters.map {
            Float(2.5 * exp(-Double($0) / 1000) + 0.3 + 0.1 * sin(Double($0)))
        })
        try f.series(Double.self, at: "train/lr").append(contentsOf: iters.map { 6e-4 * pow(1 - Double($0) / 3010, 0.9) })
        try f.series(Float.self, at: "train/throughput").append(contentsOf: iters.map { _ in 48.5 })
        if let validation {
            let evals = stride(from: 500, through: 3000, by: 500).map { Int64($0) }
            let base = evals.map { Float(1 - exp(-Double($0) / 1200)) }
            try f.series(Int64.self, at: "val/iter").append(contentsOf: evals)
            switch validation {
            case .segmentation:
                var miou = base.map { 0.4 * $0 }
                miou[1] = .nan  // an evaluation that produced no number must not break the plot
                try f.series(Float.self, at: "val/mIoU").append(contentsOf: miou)
                try f.series(Float.self, at: "val/mAcc").append(contentsOf: base.map { 0.5 * $0 })
                try f.series(Float.self, at: "val/aAcc").append(contentsOf: base.map { 0.8 * $0 })
                let perClass = try f.rowSeries(Float.self, at: "val/per_class_iou", width: 3)
                for b in base { try perClass.append([0.6 * b, 0.4 * b, 0.2 * b]) }
                try f.write(["wall", "floor", "ceiling"], shape: [3], at: "val/class_names")
            case .classification:
                try f.series(Float.self, at: "val/top1").append(contentsOf: base.map { 0.7 * $0 })
                try f.series(Float.self, at: "val/top5").append(contentsOf: base.map { 0.9 * $0 })
            }
        }
        try f.close()
    }

    private func assertPNG(_ url: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        let data = try Data(contentsOf: url)
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "not a PNG: \(url.path)", file: file, line: line)
        XCTAssertGreaterThan(data.count, 10_000, "suspiciously small plot: \(url.path)", file: file, line: line)
    }

    func testPlotsSegmentationRun() throws {
        let dir = try makeDirectory()
        let run = dir.appendingPathComponent("runs/seg")
        try writeRun(run, name: "seaformer-t-test", validation: .segmentation)
        let png = dir.appendingPathComponent("seg.png")
        let r = try python([script, run.path, "-o", png.path, "--smooth", "10"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), png.path)
        try assertPNG(png)
    }

    func testPlotsRunWithoutValidationToDefaultPath() throws {
        let dir = try makeDirectory()
        let run = dir.appendingPathComponent("runs/early")
        try writeRun(run, name: nil, validation: nil)
        let r = try python([script, run.path], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = run.appendingPathComponent("curves.png")
        XCTAssertEqual(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines), png.path)
        try assertPNG(png)
    }

    func testOverlaysRunsGivenAsDirectoryAndFile() throws {
        let dir = try makeDirectory()
        let seg = dir.appendingPathComponent("runs/seg"), cls = dir.appendingPathComponent("runs/cls")
        try writeRun(seg, name: "seg", validation: .segmentation)
        try writeRun(cls, name: "cls", validation: .classification)
        let png = dir.appendingPathComponent("both.png")
        let r = try python([script, seg.path, cls.appendingPathComponent("metrics.h5").path, "-o", png.path, "--title", "overlay"], in: dir)
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertPNG(png)
    }

    func testMissingRunDirectoryExitsWithStatus2() throws {
        let dir = try makeDirectory()
        let r = try python([script, dir.appendingPathComponent("runs/never-started").path], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no metrics.h5"), r.stderr)
        XCTAssertTrue(r.stderr.contains("runs/never-started"), r.stderr)
    }

    func testUnusableFilesExitWithStatus2() throws {
        let dir = try makeDirectory()
        let junk = dir.appendingPathComponent("junk/metrics.h5")
        try FileManager.default.createDirectory(at: junk.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not hdf5\n".utf8).write(to: junk)
        var r = try python([script, junk.path], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("not an HDF5 file"), r.stderr)

        let noLoss = dir.appendingPathComponent("noloss/metrics.h5")
        try FileManager.default.createDirectory(at: noLoss.deletingLastPathComponent(), withIntermediateDirectories: true)
        let f = try HDF5File.create(noLoss)
        try f.series(Int64.self, at: "train/iter").append(contentsOf: [10, 20])
        try f.close()
        r = try python([script, noLoss.deletingLastPathComponent().path], in: dir)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("no /train/loss"), r.stderr)
    }
}
