@testable import Experiments
import DataPipeline
import Foundation
import HDF5Store
import TensorEngine
import XCTest

/// One reproduction per item of the reliability audit ("silent wrong results", shared run
/// directories, work lost on signals and errors, crashes and hangs on bad input, validate's
/// promise). Each test triggers the failure and asserts the message or the fallback, so a
/// later change cannot bring one back unnoticed. The end-to-end cases that need the real
/// `runexp` process (SIGKILL, SIGHUP, `| head`, a second process, out of memory) are in
/// `ReliabilityCLITests` below.
final class ReliabilityTests: XCTestCase {
    var dirs: [TempConfigDir] = []
    func tempDir() throws -> TempConfigDir { let d = try TempConfigDir(); dirs.append(d); return d }

    /// RunnerTests.tiny, 4 iterations, a checkpoint every 2, no evaluation during training.
    static let base = ["train.iterations=4", "eval.interval=null", "checkpoint.interval=2", "checkpoint.keep_best=null"]

    func experiment(_ overrides: [String] = [], text: String = RunnerTests.tiny) throws -> (Experiment, TempConfigDir) {
        let d = try tempDir()
        let file = try d.write("tiny.yaml", text)
        return (try Experiment.load(file: file, overrides: ReliabilityTests.base + overrides), d)
    }

    func runner(_ e: Experiment, _ dir: URL, resume: Bool = false, stopAfter: Int? = nil, accept: Bool = false,
                hook: RecordingHook = RecordingHook()) throws -> Runner {
        try Runner(experiment: e, options: RunOptions(directory: dir, resume: resume, resumeCommand: "runexp run tiny.yaml --resume",
                                                      stopAfter: stopAfter, acceptConfigChanges: accept),
                   hooks: [hook, ConsoleReporter(echo: false)])
    }

    func error<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> Error? {
        do { _ = try body() } catch { return error }
        XCTFail("no error thrown", file: file, line: line)
        return nil
    }

    // MARK: - Silent wrong results: config ranges

    /// Audit: `name: ''` wrote checkpoints into runs/ itself; names must be one directory name.
    func testRunNamesMustNameOneDirectory() throws {
        for (name, expected) in [("''", "must not be empty: it names the run directory <output_dir>/<name>"),
                                 ("'.'", "'.' is not a directory name of its own: the run would write into output_dir itself"),
                                 ("'..'", "'..' is not a directory name of its own: the run would write into the parent of output_dir"),
                                 ("a/b", "'a/b' contains '/': a run name is one directory name (use output_dir: for the parent folder)")] {
            let text = RunnerTests.tiny.replacingOccurrences(of: "name: tiny", with: "name: \(name)")
            let e = configError { _ = try self.experiment(text: text) }
            XCTAssertEqual(e?.keyPath, "name", name)
            XCTAssertEqual(e?.location?.line, 1, name)
            XCTAssertEqual(e?.message, expected)
        }
    }

    /// Audit: `workers: 1000` started a thousand threads; bounded against the cores.
    func testLoaderWorkersAreBoundedByTheCores() throws {
        let e = configError { _ = try self.experiment(["data.train.workers=1000"]) }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        XCTAssertEqual(e?.keyPath, "data.train.workers")
        XCTAssertEqual(e?.location?.file, "--set data.train.workers=1000")
        XCTAssertEqual(e?.message, "must be in 0…\(max(8, 4 * cores)) (4 threads per core of the \(cores) here, at least 8), got 1000")
    }

    /// Audit: `image_size: 100000` crashed in an allocation; sizes are bounded where decoded.
    func testHugeSizesAreConfigErrors() throws {
        let (e, _) = try experiment(["data.train.dataset.image_size=100000"])
        let err = configError { try validate(e, options: .quick) }
        XCTAssertEqual(err?.keyPath, "data.train.dataset.image_size")
        XCTAssertEqual(err?.message, "must be at most 16384 pixels per side, got 100000×100000 (one float RGB image of that size alone needs more memory than this machine should be asked for)")
        // The sampler holds a permutation of every index: the length is an allocation too.
        let (long, _) = try experiment(["data.train.dataset.length=1000000000000"])
        XCTAssertEqual(configError { try validate(long, options: .quick) }?.message, "must be in 1…100000000, got 1000000000000")
        let (r, _) = try experiment(["data.train.pipeline=[{type: random_resize, scale: [2048, 512], ratio_range: [0.5, 20.0]}]"])
        XCTAssertTrue(configError { try validate(r, options: .quick) }?.message.hasPrefix("must be at most 16384 pixels per side, got 40960") == true)
    }

    /// Audit: sizes within the per-side bound can still not fit: a pre-flight estimate of the
    /// data a step holds is checked against physical memory before the run.
    func testThePreflightMemoryEstimateRefusesImpossibleBatches() throws {
        let (e, _) = try experiment(["data.train.dataset.image_size=16384", "train.batch_size=64", "data.train.pipeline=[{type: normalize}]"])
        let err = configError { try validate(e, options: .quick) }
        XCTAssertEqual(err?.keyPath, "data.train.dataset.image_size")
        let gib = 64.0 * 7 * 16384 * 16384 * 16 / Double(1 << 30)
        XCTAssertEqual(err?.message, String(format: "16384×16384 samples in batches of 64 need at least %.1f GiB for the data alone (the batches the loader holds in flight), more than the %.1f GiB of memory here",
                                            gib, Double(ProcessInfo.processInfo.physicalMemory) / Double(1 << 30)))
        // The crop, not the dataset, sets the size when the pipeline crops.
        let (cropped, _) = try experiment(["data.train.dataset.image_size=16384", "train.batch_size=64",
                                           "data.train.pipeline=[{type: random_crop, crop_size: 64}, {type: normalize}]"])
        XCTAssertNoThrow(try validate(cropped, options: .quick))
    }

    /// Audit: `hue_delta: 0` passed decoding and then failed the sampler's precondition
    /// (an empty randint range) inside a loader thread.
    func testAZeroHueDeltaIsAConfigError() throws {
        let (e, _) = try experiment(["data.train.pipeline=[{type: photometric_distortion, hue_delta: 0}]"])
        let err = configError { try validate(e, options: .quick) }
        XCTAssertEqual(err?.keyPath, "data.train.pipeline.0.hue_delta")
        XCTAssertEqual(err?.message, "must be in 1…180 (the hue shift is drawn from [-hue_delta, hue_delta)), got 0")
    }

    /// Audit: rates that are infinite passed every `>= 0` check.
    func testRatesMustBeFinite() throws {
        let (e, _) = try experiment(["train.optimizer.lr=.inf"])
        let err = configError { try validate(e, options: .quick) }
        XCTAssertEqual(err?.keyPath, "train.optimizer.lr")
        XCTAssertEqual(err?.message, "must be a finite number, got inf")
    }

    /// Audit: validate stopped at the first problem; it reports all of them.
    func testValidateReportsEveryProblem() throws {
        let (e, _) = try experiment(["train.optimizer.lr=-1", "checkpoint.keep_last=0"])
        let err = error { try validate(e, options: .quick) }
        let all = try XCTUnwrap(err as? ValidationErrors)
        XCTAssertEqual(all.errors.map { ($0 as? ConfigError)?.keyPath }, ["train.optimizer.lr", "checkpoint.keep_last"])
        XCTAssertTrue(all.description.hasPrefix("2 problems:\n  - "), all.description)
    }

    // MARK: - Crashes and hangs on bad input: YAML

    /// Audit: a YAML alias bomb hung the loader (Yams unfolds aliases; we convert the DAG).
    func testAYAMLAliasBombIsBounded() throws {
        var text = "name: x\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        for (prev, name) in zip(names, names.dropFirst()) {
            text += "\(name): &\(name) [" + Array(repeating: "*\(prev)", count: 9).joined(separator: ", ") + "]\n"
        }
        let e = configError { _ = try ConfigLoader.load(yaml: text, name: "bomb.yaml") }
        XCTAssertEqual(e?.kind, .syntax)
        XCTAssertEqual(e?.message, "the document unfolds to more than 1000000 values (YAML aliases repeat the node they name; nested aliases multiply)")
        // A modest alias still works: the limit is on size, not on aliases.
        let ok = try ConfigLoader.load(yaml: "a: &a [1, 2]\nb: *a\n")
        XCTAssertEqual(ok["b"]?.elements?.count, 2)
    }

    /// Audit: 200,000 keys took quadratic time (duplicate check by scanning); now linear. No
    /// timing is asserted: a quadratic implementation does not finish within the test timeout.
    func testTwoHundredThousandKeysLoad() throws {
        var text = "name: many\n"
        text.reserveCapacity(3_000_000)
        for i in 0..<200_000 { text += "k\(i): \(i)\n" }
        let root = try ConfigLoader.load(yaml: text, name: "many.yaml")
        XCTAssertEqual(root.entries?.count, 200_001)
        XCTAssertEqual(root["k199999"]?.scalar, "199999")
        let merged = ConfigLoader.merge(base: root, child: try ConfigLoader.load(yaml: "k5: five\nnew: 1\n"))
        XCTAssertEqual(merged.entries?.count, 200_002)
        XCTAssertEqual(merged["k5"]?.scalar, "five")
        // Yams finds the duplicate; the message must not quote the 3-MB document back.
        let dup = configError { _ = try ConfigLoader.load(yaml: text + "k7: again\n", name: "many.yaml") }
        XCTAssertEqual(dup?.message, "YAML syntax error: duplicate key 'k7' in one mapping; keep one of each")
        XCTAssertEqual(dup?.location?.file, "many.yaml")
    }

    // MARK: - Crashes on bad input: image headers

    /// Audit: a JPEG or PNG header claiming 65000×65000 made the decoder allocate gigabytes.
    func testImageHeadersClaimingHugeSizesAreRefusedBeforeDecoding() throws {
        let d = try tempDir()
        let small = Image(height: 8, width: 8, channels: 3, fill: 100)
        var jpg = try JPEG.encode(small)
        let sof = try XCTUnwrap((0..<(jpg.count - 9)).first { jpg[$0] == 0xFF && jpg[$0 + 1] == 0xC0 })
        for offset in [sof + 5, sof + 7] { jpg[offset] = 0xFD; jpg[offset + 1] = 0xE8 }  // height, width = 65000
        var png = try PNG.encode(small)
        for offset in [16, 20] { png[offset] = 0; png[offset + 1] = 0; png[offset + 2] = 0xFD; png[offset + 3] = 0xE8 }
        let crc = png[12..<29].withUnsafeBytes { CRC32.checksum($0) }
        png[29] = UInt8(crc >> 24); png[30] = UInt8((crc >> 16) & 0xFF); png[31] = UInt8((crc >> 8) & 0xFF); png[32] = UInt8(crc & 0xFF)
        for (name, bytes, format) in [("huge.jpg", jpg, "JPEG"), ("huge.png", png, "PNG")] {
            let url = d.url.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            for read in [{ _ = try readImage(url) }, { _ = try imageHeaderSize(url) }] {
                let err = error(read) as? DataError
                XCTAssertEqual(err, .corruptFile(path: url.path,
                                                 problem: "the \(format) header claims 65000×65000 pixels (4225.0 megapixels), more than the 268.4-megapixel decoding limit; a damaged header looks like this too",
                                                 remedy: "If the image is genuine, downscale it before training (e.g. `convert in -resize 25% out`); otherwise re-download it or remove it from the dataset"))
            }
        }
        XCTAssertThrowsError(try PNG.decodeLabel(png, path: "/x/huge_label.png")) {
            XCTAssertTrue("\($0)".contains("/x/huge_label.png: the PNG header claims 65000×65000 pixels"), "\($0)")
        }
    }

    // MARK: - Checkpoint bit rot

    /// The CRC-32 is zlib's (checkable from Python) and is stored on every dataset.
    func testEveryCheckpointDatasetCarriesItsCRC32() throws {
        XCTAssertEqual(Array("123456789".utf8).withUnsafeBytes { CRC32.checksum($0) }, 0xCBF4_3926)
        let d = try tempDir()
        let file = d.url.appendingPathComponent("c.h5")
        let values: [Float] = [1.5, -2.25, 3.125, 1e-3]
        try checkpoint(model: ["head.weight": Tensor(values, shape: [2, 2])]).write(to: file)
        let f = try HDF5File.open(file)
        XCTAssertEqual(try f.stringAttribute("checksum"), "crc32")
        XCTAssertEqual(try f.attribute("crc32", as: Int64.self, of: "model/head/weight"), Int64(CRC32.checksum(of: values)))
        for path in ["optimizer/head/weight/step", "rng/global", "sampler/epoch", "sampler/index", "log_window/loss"] {
            XCTAssertTrue(try f.hasAttribute("crc32", of: path), path)
        }
        try f.close()
        XCTAssertEqual(try TrainingCheckpoint.read(from: file).model["head.weight"]?.toArray(), values)
        // Python verifies the same number with zlib (docs/hdf5-layout.md#checksums).
        let script = "import h5py, sys, zlib\nd = h5py.File(sys.argv[1], 'r')['model/head/weight']\nprint(zlib.crc32(d[()].tobytes()) == d.attrs['crc32'])"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, file.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if p.terminationStatus != 0 && stderr.contains("No module named 'h5py'") { throw XCTSkip("h5py missing (make deps installs it)") }
        XCTAssertEqual(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), "True\n", stderr)
    }

    /// Audit: a flipped bit in a weight loaded silently. The error names the tensor.
    func testAFlippedBitIsAnErrorNamingTheTensor() throws {
        let d = try tempDir()
        let file = d.url.appendingPathComponent("c.h5")
        let values: [Float] = [1234.5, 2345.5, 3456.5, 4567.5]
        try checkpoint(model: ["head.weight": Tensor(values, shape: [4])]).write(to: file)
        var bytes = [UInt8](try Data(contentsOf: file))
        let pattern = values.withUnsafeBytes { Array($0) }
        let at = try XCTUnwrap((0...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern })
        bytes[at + 5] ^= 0x10
        try Data(bytes).write(to: file)
        let err = error { try TrainingCheckpoint.read(from: file) } as? CheckpointError
        var damaged = values
        damaged.withUnsafeMutableBytes { $0[5] ^= 0x10 }
        XCTAssertEqual(err, .checksumMismatch(file: file.path, tensor: "model.head.weight", stored: CRC32.checksum(of: values), actual: CRC32.checksum(of: damaged)))
        XCTAssertTrue("\(err!)".hasPrefix("checkpoint \(file.path) is damaged: tensor 'model.head.weight' has CRC-32 0x"), "\(err!)")
        XCTAssertThrowsError(try TrainingCheckpoint.readModel(from: file)) { XCTAssertEqual($0 as? CheckpointError, err) }
    }

    /// Audit: a NaN weight in a checkpoint loaded silently; it is an error naming the tensor.
    func testANonFiniteWeightIsAnErrorNamingTheTensor() throws {
        let d = try tempDir()
        let file = d.url.appendingPathComponent("c.h5")
        try checkpoint(model: ["decode_head.conv_seg.bias": Tensor([0, .nan, 1, .infinity], shape: [4])]).write(to: file)
        let err = error { try TrainingCheckpoint.readModel(from: file) } as? CheckpointError
        XCTAssertEqual(err, .nonFinite(file: file.path, tensor: "model.decode_head.conv_seg.bias", count: 2, total: 4))
        XCTAssertEqual("\(err!)", "checkpoint \(file.path) holds non-finite values: tensor 'model.decode_head.conv_seg.bias' has 2 NaN/Inf of 4 values. A diverged state cannot be trained or evaluated; use an older checkpoint.")
    }

    /// Audit: --resume with a corrupt or truncated newest checkpoint; it falls back to the
    /// newest intact one and says so, and the result is still the uninterrupted run's.
    func testResumeSkipsADamagedNewestCheckpoint() throws {
        let (e, d) = try experiment(["train.iterations=6"])
        let straight = RecordingHook()
        try runner(e, d.url.appendingPathComponent("a"), hook: straight).run()

        let dir = RunDirectory(d.url.appendingPathComponent("b"))
        try runner(e, dir.url, stopAfter: 4).run()
        XCTAssertEqual(dir.periodicCheckpoints().map(\.iteration), [2, 4])
        let newest = dir.checkpoint(iteration: 4)
        let bytes = try Data(contentsOf: newest)
        try bytes.prefix(bytes.count / 2).write(to: newest)  // what a full disk during a copy leaves
        let hook = RecordingHook()
        let r = try runner(e, dir.url, resume: true, hook: hook)
        XCTAssertEqual(r.iteration, 2)
        try r.run()
        XCTAssertEqual(hook.losses, Array(straight.losses[2...]), "resumed from iter_2 exactly")
        XCTAssertTrue(hook.notes.contains { $0.hasPrefix("warning: skipping \(newest.path): checkpoint \(newest.path) cannot be read (truncated or not a ViTLab checkpoint)") }, "\(hook.notes)")
        XCTAssertTrue(hook.notes.contains("resuming from the newest intact checkpoint, \(dir.checkpoint(iteration: 2).path) (iteration 2)"), "\(hook.notes)")
    }

    /// Same item, bit rot instead of truncation: the resume point passes over a newest
    /// checkpoint whose checksum fails, naming the tensor, and over every damaged one after it.
    func testTheResumePointSkipsCheckpointsWithABadChecksum() throws {
        let d = try tempDir()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try FileManager.default.createDirectory(at: dir.checkpoints, withIntermediateDirectories: true)
        let values: [Float] = [1234.5, 2345.5, 3456.5, 4567.5]
        for i in [2, 4, 6] {
            var c = checkpoint(model: ["head.weight": Tensor(values, shape: [4])])
            c.iteration = i
            try c.write(to: dir.checkpoint(iteration: i))
        }
        try dir.setLastCheckpoint(dir.checkpoint(iteration: 6))
        for i in [4, 6] {
            var bytes = [UInt8](try Data(contentsOf: dir.checkpoint(iteration: i)))
            let pattern = values.withUnsafeBytes { Array($0) }
            let at = try XCTUnwrap((0...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern })
            bytes[at] ^= 0x01
            try Data(bytes).write(to: dir.checkpoint(iteration: i))
        }
        let point = try XCTUnwrap(try dir.resumePoint(total: 10))
        XCTAssertEqual(point.file, dir.checkpoint(iteration: 2))
        XCTAssertEqual(point.checkpoint.iteration, 2)
        XCTAssertEqual(point.notes.count, 3)
        XCTAssertTrue(point.notes[0].hasPrefix("warning: skipping \(dir.checkpoint(iteration: 6).path): checkpoint \(dir.checkpoint(iteration: 6).path) is damaged: tensor 'model.head.weight' has CRC-32 "), point.notes[0])
        XCTAssertTrue(point.notes[1].hasPrefix("warning: skipping \(dir.checkpoint(iteration: 4).path)"), point.notes[1])
        XCTAssertEqual(point.notes[2], "resuming from the newest intact checkpoint, \(dir.checkpoint(iteration: 2).path) (iteration 2)")
        // With nothing intact left, the newest damage is the error.
        try FileManager.default.removeItem(at: dir.checkpoint(iteration: 2))
        XCTAssertThrowsError(try dir.resumePoint(total: 10)) {
            guard case .checksumMismatch(let file, let tensor, _, _)? = $0 as? CheckpointError else { return XCTFail("\($0)") }
            XCTAssertEqual(file, dir.checkpoint(iteration: 6).path)
            XCTAssertEqual(tensor, "model.head.weight")
        }
    }

    /// Audit: a checkpoint without /optimizer resumed with fresh Adam state; it is refused.
    func testAModelOnlyCheckpointIsNotResumed() throws {
        let (e, d) = try experiment()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try runner(e, dir.url, stopAfter: 2).run()
        let f = try HDF5File.open(dir.checkpoint(iteration: 2), mode: .readWrite)
        try f.remove("optimizer")
        try f.close()
        let err = error { try self.runner(e, dir.url, resume: true) } as? CheckpointError
        XCTAssertEqual(err, .noOptimizerState(file: dir.checkpoint(iteration: 2).path))
        XCTAssertTrue("\(err!)".contains("the optimizer would restart from zero moments"))
    }

    /// Audit: an `iter` attribute of 999 (> total) or −5 was accepted.
    func testACheckpointIterationOutsideTheRunIsRefused() throws {
        let (e, d) = try experiment()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try runner(e, dir.url, stopAfter: 2).run()
        for bad in [999, -5] {
            let f = try HDF5File.open(dir.checkpoint(iteration: 2), mode: .readWrite)
            try f.setAttribute("iter", Int64(bad))
            try f.close()
            let err = error { try self.runner(e, dir.url, resume: true) } as? CheckpointError
            XCTAssertEqual(err, .iterationOutOfRange(file: dir.checkpoint(iteration: 2).path, iteration: bad, total: 4))
            XCTAssertTrue("\(err!)".contains("claims iteration \(bad), outside 0…4 (train.iterations)"))
        }
    }

    /// Audit: with config.yaml missing (or garbage) --resume ran under a changed config; the
    /// config recorded inside the checkpoint is the reference.
    func testResumeComparesAgainstTheConfigInsideTheCheckpoint() throws {
        let (e, d) = try experiment()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try runner(e, dir.url, stopAfter: 2).run()
        try FileManager.default.removeItem(at: dir.config)
        let (changed, _) = try experiment(["train.optimizer.lr=0.5"])
        let err = error { try self.runner(changed, dir.url, resume: true) } as? RunError
        XCTAssertEqual(err, .configChanged(run: dir.url.path, differences: ["train.optimizer.lr: 1.0e-3 → 0.5"]))
        // The same config with config.yaml garbage: resumes, says so, and restores the file.
        try "{{{ not yaml".write(to: dir.config, atomically: true, encoding: .utf8)
        let hook = RecordingHook()
        try runner(e, dir.url, resume: true, hook: hook).run()
        XCTAssertEqual(hook.losses.count, 2)
        XCTAssertTrue(hook.notes.contains("warning: \(dir.config.path) differs from the config recorded in iter_2.h5; rewriting it from the checkpoint"), "\(hook.notes)")
        XCTAssertEqual(try String(contentsOf: dir.config, encoding: .utf8), try e.resolvedYAML())
    }

    // MARK: - History must not silently vanish

    /// Audit: metrics.h5 deleted mid-run lost the history; it is rewritten from memory.
    func testDeletedMetricsAreRecreatedFromMemory() throws {
        let (e, d) = try experiment(["train.log_interval=1"])
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        let hook = RecordingHook()
        hook.action = { runner, i in if i == 2 { try? FileManager.default.removeItem(at: runner.directory.metrics) } }
        try runner(e, dir.url, hook: hook).run()
        XCTAssertTrue(hook.notes.contains("warning: \(dir.metrics.path) was deleted during the run; recreated from the 2 train and 0 val rows kept in memory"), "\(hook.notes)")
        XCTAssertEqual(try MetricsLog.read(from: dir.metrics).train.map(\.iteration), [1, 2, 3, 4])
    }

    /// Audit: log.txt deleted mid-run swallowed every later line; it is recreated and says so.
    func testDeletedLogIsRecreated() throws {
        let (e, d) = try experiment(["train.log_interval=1"])
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        let hook = RecordingHook()
        hook.action = { runner, i in if i == 2 { try? FileManager.default.removeItem(at: runner.directory.log) } }
        try runner(e, dir.url, hook: hook).run()
        let log = try String(contentsOf: dir.log, encoding: .utf8)
        XCTAssertTrue(log.hasPrefix("warning: \(dir.log.path) was deleted during the run; recreated it (earlier lines are lost; metrics.h5 holds the numbers)\n"), log)
        XCTAssertTrue(log.contains("iter 4/4"), log)
    }

    /// Audit: an unwritable log.txt; the run goes on and is told once.
    func testAnUnwritableLogIsReportedOnce() throws {
        let d = try tempDir()
        let log = RunLogFile(url: d.url.appendingPathComponent("missing-dir/log.txt"))
        XCTAssertEqual(log.failure, "No such file or directory")
        XCTAssertNil(log.append("a\n"), "the opening failure is reported by the caller, not again")
        let full = RunLogFile(url: URL(fileURLWithPath: "/dev/full"))
        XCTAssertEqual(full.append("a\n"), "warning: cannot write /dev/full any more (No space left on device); training goes on, the log continues on the console only (metrics.h5 and checkpoints are unaffected)")
        XCTAssertNil(full.append("b\n"))
    }

    // MARK: - Run directories shared by two processes

    /// Audit: two writers in one run directory. The second fails at once naming the holder.
    func testASecondWriterFailsNamingTheHolder() throws {
        let (e, d) = try experiment()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        var first: Runner? = try runner(e, dir.url)
        let err = error { try self.runner(e, dir.url, resume: true) } as? RunError
        XCTAssertEqual(err, .locked(path: dir.url.path, pid: getpid(), host: RunLock.hostName))
        XCTAssertEqual("\(err!)", "\(dir.url.path) is in use by process \(getpid()) on \(RunLock.hostName), which is training there. Wait for it to finish or stop it (kill \(getpid())), or start this run elsewhere with --output DIR. (runexp eval may read the run meanwhile.)")
        try first?.run()
        first = nil
        XCTAssertNoThrow(try runner(e, dir.url, resume: true), "the lock is released when the run ends")
    }

    // MARK: - Work lost on signals and errors

    /// Audit: SIGHUP killed the run without a checkpoint; it stops like SIGTERM.
    func testSIGHUPStopsLikeSIGTERM() throws {
        let (e, d) = try experiment()
        let hook = RecordingHook()
        hook.action = { _, i in if i == 1 { StopSignal.simulate(SIGHUP) } }
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        let err = error { try self.runner(e, dir.url, hook: hook).run() } as? RunError
        XCTAssertEqual(err, .interrupted(signal: SIGHUP, iteration: 1, total: 4, checkpoint: dir.checkpoint(iteration: 1).path, resume: "runexp run tiny.yaml --resume"))
        XCTAssertEqual(err?.exitCode, 129)
        XCTAssertTrue("\(err!)".hasPrefix("hung up (SIGHUP): stopped after iteration 1/4"))
        XCTAssertEqual(StopSignal.stopping, [SIGINT, SIGTERM, SIGHUP])
    }

    /// Audit: a bad sample mid-run lost the iterations since the last checkpoint; they are
    /// checkpointed before the run stops with the sample's message, and resume is exact.
    func testABadSampleCheckpointsTheCompletedIterationsFirst() throws {
        FlakyDataset.register()
        let flaky = ["data.train.dataset={type: flaky_test, root: /nonexistent, split: train}", "data.train.workers=0", "checkpoint.interval=10"]
        let (e, d) = try experiment(flaky)
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        FlakyDataset.failAtLoad = 13  // batch 4 (loads 13…16) fails: iterations 1…3 complete
        let hook = RecordingHook()
        let err = error { try self.runner(e, dir.url, hook: hook).run() } as? RunError
        let reason = "\(DataError.corruptFile(path: "/data/img_7.jpg", problem: "JPEG data is damaged or truncated", remedy: "Re-download it"))"
        XCTAssertEqual(err, .badSample(reason: reason, iteration: 3, checkpoint: dir.checkpoint(iteration: 3).path, resume: "runexp run tiny.yaml --resume"))
        XCTAssertEqual("\(err!)", "a training sample could not be loaded after iteration 3: /data/img_7.jpg: JPEG data is damaged or truncated. Re-download it\nThe run stopped; iteration 3 was checkpointed to \(dir.checkpoint(iteration: 3).path). Fix or remove the file, then resume with:\n  runexp run tiny.yaml --resume")
        XCTAssertEqual(hook.losses.count, 3)
        XCTAssertEqual(try TrainingCheckpoint.read(from: dir.checkpoint(iteration: 3)).sampler, SamplerState(epoch: 0, index: 12))
        // Fixed, the run continues from there and computes what an uninterrupted run does.
        FlakyDataset.failAtLoad = nil
        let resumed = RecordingHook()
        try runner(e, dir.url, resume: true, hook: resumed).run()
        let straight = RecordingHook()
        try runner(e, d.url.appendingPathComponent("straight"), hook: straight).run()
        XCTAssertEqual(hook.losses + resumed.losses, straight.losses)
    }

    /// Audit (same item, validation side): a bad validation sample lost the iteration that
    /// had just completed; it is checkpointed before the run stops.
    func testABadValidationSampleCheckpointsTheIterationFirst() throws {
        FlakyDataset.register()
        let (e, d) = try experiment(["data.val.dataset={type: flaky_test, root: /nonexistent, split: val}", "eval.interval=2", "checkpoint.interval=10"])
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        FlakyDataset.failAtLoad = 1
        defer { FlakyDataset.failAtLoad = nil }
        let err = error { try self.runner(e, dir.url).run() } as? RunError
        let reason = "validation: \(DataError.corruptFile(path: "/data/img_7.jpg", problem: "JPEG data is damaged or truncated", remedy: "Re-download it"))"
        XCTAssertEqual(err, .badSample(reason: reason, iteration: 2, checkpoint: dir.checkpoint(iteration: 2).path, resume: "runexp run tiny.yaml --resume"))
        XCTAssertEqual(try TrainingCheckpoint.read(from: dir.checkpoint(iteration: 2)).iteration, 2)
    }

    /// Audit: the resume disk pre-check refused runs that fit, ignoring the checkpoints on
    /// disk that the run will prune.
    func testTheDiskPreCheckCountsCheckpointsTheRunWillPrune() throws {
        let d = try tempDir()
        let run = RunDirectory(d.url.appendingPathComponent("run"))
        let mb: Int64 = 1 << 20
        // keep_last 2: two on disk, a third written beside them; 40 MB free suffices.
        XCTAssertNoThrow(try run.prepare(checkpointBytes: 30 * mb, copies: 3, existingBytes: 60 * mb, freeBytes: { _ in 40 * mb }))
        XCTAssertThrowsError(try run.prepare(checkpointBytes: 30 * mb, copies: 3, existingBytes: 60 * mb, freeBytes: { _ in 20 * mb })) {
            XCTAssertEqual($0 as? RunError, .diskFull(path: run.checkpoints.path, needed: 30 * mb, available: 20 * mb))
        }
        XCTAssertThrowsError(try run.prepare(checkpointBytes: 30 * mb, copies: 3, freeBytes: { _ in 40 * mb })) {
            XCTAssertEqual($0 as? RunError, .diskFull(path: run.checkpoints.path, needed: 90 * mb, available: 40 * mb))
        }
        // What the runner counts: periodic checkpoints and best.h5.
        try FileManager.default.createDirectory(at: run.checkpoints, withIntermediateDirectories: true)
        try Data(count: 1000).write(to: run.checkpoint(iteration: 2))
        try Data(count: 500).write(to: run.best)
        XCTAssertEqual(run.existingCheckpointBytes(), 1500)
    }

    /// Audit: `*.tmp` debris of killed atomic writes stayed forever; the next start of the same
    /// run removes its own (and nothing else).
    func testDebrisOfKilledWritesIsRemovedAtTheNextStart() throws {
        let (e, d) = try experiment()
        let dir = RunDirectory(d.url.appendingPathComponent("run"))
        try runner(e, dir.url, stopAfter: 2).run()
        let ours = [".iter_4.h5.4242.1A2B3C4D.tmp", ".metrics.h5.4242.0F0F0F0F.tmp", ".last_checkpoint.4242.tmp", ".config.yaml.77.tmp", ".best.h5.9.ABCDEF01.tmp", ".write-probe-4242"]
        let others = [".notes.tmp", "scratch.tmp", ".iter_x.h5.1.tmp", ".metrics.h5.tmp", "iter_4.h5.tmp"]
        for name in ours + others {
            let inCheckpoints = name.hasPrefix(".iter_") || name.hasPrefix(".write-probe") || name == "iter_4.h5.tmp"
            try Data("x".utf8).write(to: (inCheckpoints ? dir.checkpoints : dir.url).appendingPathComponent(name))
        }
        let hook = RecordingHook()
        try runner(e, dir.url, resume: true, hook: hook).run()
        XCTAssertTrue(hook.notes.contains("removed 6 temporary file(s) left by an interrupted write: .best.h5.9.ABCDEF01.tmp, .config.yaml.77.tmp, .last_checkpoint.4242.tmp, .metrics.h5.4242.0F0F0F0F.tmp, checkpoints/.iter_4.h5.4242.1A2B3C4D.tmp, checkpoints/.write-probe-4242"), "\(hook.notes)")
        let left = Set((try FileManager.default.contentsOfDirectory(atPath: dir.url.path)) + (try FileManager.default.contentsOfDirectory(atPath: dir.checkpoints.path)))
        XCTAssertTrue(Set(others).isSubset(of: left), "\(left)")
        XCTAssertTrue(Set(ours).isDisjoint(with: left), "\(left)")
    }

    // MARK: - validate keeps its promise

    /// Audit: `runexp validate` only checked that the dataset root exists. It decodes every
    /// label, reports out-of-range values and unpaired files, checks num_classes against the
    /// dataset, and reports every problem.
    func testValidateDecodesEveryLabelAndReportsAllProblems() throws {
        let d = try tempDir()
        let root = d.url.appendingPathComponent("ade")
        let image = Image(height: 16, width: 16, channels: 3, fill: 90)
        func label(_ v: UInt8) -> LabelMap { LabelMap(height: 16, width: 16, fill: v) }
        try DatasetFixtures.ade20k(root, split: "training", [("ADE_1", image, label(3)), ("ADE_2", image, label(200)), ("ADE_3", image, label(151)),
                                                            ("ADE_4", image, LabelMap(height: 8, width: 16, fill: 1))])
        let ann = root.appendingPathComponent("ADEChallengeData2016/annotations/training")
        let dataset = "data.train.dataset={type: ade20k, root: \(root.path), split: train}"
        let (e, _) = try experiment([dataset])
        var lines: [String] = []
        let err = error { try validate(e, options: ValidationOptions(progress: { lines.append($0) })) }
        let all = try XCTUnwrap(err as? ValidationErrors, "\(String(describing: err))")
        XCTAssertEqual(all.errors.map { "\($0)" }, [
            "\(e.root.location.file):7:16 (model.num_classes): is 4 but the train dataset (ade20k, \(root.path)) has 150 classes. Set model.num_classes to 150",
            "--set \(dataset) (data.train.dataset.root): ade20k dataset: label value 200 in \(ann.appendingPathComponent("ADE_2.png").path) is not valid here: expected 0 (unlabelled), class ids 1…150 or 255 (reduce-zero-label). Check that the label files were produced by the converter named in datasets/README.md and that the dataset options (e.g. num_classes) match them",
            "--set \(dataset) (data.train.dataset.root): ade20k dataset: label value 151 in \(ann.appendingPathComponent("ADE_3.png").path) is not valid here: expected 0 (unlabelled), class ids 1…150 or 255 (reduce-zero-label). Check that the label files were produced by the converter named in datasets/README.md and that the dataset options (e.g. num_classes) match them",
            "--set \(dataset) (data.train.dataset.root): ade20k dataset: label is 8×16 but its image \(root.appendingPathComponent("ADEChallengeData2016/images/training/ADE_4.jpg").path) is 16×16 (\(ann.appendingPathComponent("ADE_4.png").path)). Expected layout: each label map has exactly its image's size. See datasets/README.md.",
        ].map { $0 })
        XCTAssertEqual(lines.last, "data.train: decoding labels 4/4")
        // --quick skips the decoding; the class count is still checked.
        let quick = error { try validate(e, options: .quick) } as? ConfigError
        XCTAssertEqual(quick?.keyPath, "model.num_classes")
        // Unpaired files are listed, all of them.
        try FileManager.default.removeItem(at: ann.appendingPathComponent("ADE_1.png"))
        try FileManager.default.removeItem(at: ann.appendingPathComponent("ADE_2.png"))
        let message = "\(error { try validate(e, options: .quick) }.map { "\($0)" } ?? "")"
        XCTAssertTrue(message.contains("image \(root.path)/ADEChallengeData2016/images/training/ADE_1.jpg has no label (looked for"), message)
        XCTAssertTrue(message.contains("; 1 more images lack labels: \(root.path)/ADEChallengeData2016/images/training/ADE_2.jpg"), message)
    }

    // MARK: - helpers

    func checkpoint(model: [String: Tensor]) -> TrainingCheckpoint {
        TrainingCheckpoint(iteration: 1, model: model, optimizer: ["head.weight.step": Tensor([1], shape: [])], rng: [1, 2],
                           sampler: SamplerState(epoch: 0, index: 4), logWindow: [0.5], seed: 0, threads: 1, config: "name: x\n", best: nil)
    }
}

/// The synthetic training set behind a registered type whose `failAtLoad`-th load (1-based,
/// counted over the process) throws a corrupt-file error, as a damaged JPEG in a real
/// dataset does mid-run.
final class FlakyDataset: Dataset {
    nonisolated(unsafe) static var failAtLoad: Int?
    nonisolated(unsafe) static var loads = 0
    let inner: SyntheticDataset

    init() throws { inner = try SyntheticDataset(config: .init(numClasses: 4, imageSize: SizeHW(64), length: 40)) }
    var count: Int { inner.count }
    var classNames: [String] { inner.classNames }

    func load(_ index: Int) throws -> Sample {
        FlakyDataset.loads += 1
        if let n = FlakyDataset.failAtLoad, FlakyDataset.loads == n {
            throw DataError.corruptFile(path: "/data/img_7.jpg", problem: "JPEG data is damaged or truncated", remedy: "Re-download it")
        }
        return try inner.load(index)
    }

    static func register() {
        loads = 0
        if !DatasetRegistry.standard.contains("flaky_test") { StandardDatasets.registerLayout("flaky_test") { _, _, _ in try FlakyDataset() } }
    }
}

/// The audit items that need the real `runexp` process: SIGKILL at random points and a
/// bit-identical resume, SIGHUP, `runexp run … | head`, a second process on the same run
/// directory, `eval` beside training, and an allocation the engine cannot satisfy.
final class ReliabilityCLITests: XCTestCase {
    /// Only for its process helpers (binary, start, finish); none of its tests run from here.
    let cli = RunexpCLITests(name: "helpers", testClosure: { _ in })
    var dirs: [TempConfigDir] = []

    /// SeaFormer-T from experiments/quickstart.yaml shrunk to seconds per run in a debug build:
    /// 64×64 images, batch 2, 6 iterations, a checkpoint and a metrics row every iteration.
    static let tiny = ["train.iterations=6", "train.batch_size=2", "train.log_interval=1", "train.schedule.warmup.iterations=2",
                       "data.train.dataset.image_size=64", "data.train.dataset.length=16", "data.val.dataset.image_size=64",
                       "data.val.dataset.length=2", "eval.interval=null", "checkpoint.interval=1", "checkpoint.keep_best=null"]

    func args(_ output: URL, _ extra: [String] = []) -> [String] {
        ["run", repoRoot.appendingPathComponent("experiments/quickstart.yaml").path] + (Self.tiny + extra).flatMap { ["--set", $0] }
            + ["--output", output.path, "--threads", "2"]
    }

    func waitFor(_ file: URL, toContain text: String, timeout: TimeInterval = 120) {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, !((try? String(contentsOf: file, encoding: .utf8))?.contains(text) ?? false) { Thread.sleep(forTimeInterval: 0.05) }
    }

    /// Audit: work lost on signals; shared run directories. One uninterrupted run (beside it: a
    /// second writer is refused naming the holder, eval works) against one that gets SIGHUP,
    /// then SIGKILL at random moments (mid-iteration, mid-checkpoint-write), then finishes with
    /// its stdout closed by `| head`: the final weights, optimizer state and losses are
    /// bit-identical, and every kill leaves a run that resumes (no stale lock, debris removed).
    func testKilledAtRandomPointsAResumedRunIsBitIdentical() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let binary = try cli.binary
        let straight = RunDirectory(d.url.appendingPathComponent("straight"))
        let killed = RunDirectory(d.url.appendingPathComponent("killed"))

        // keep_last only decides pruning, so the reference run keeps every checkpoint for eval to read.
        let reference = try cli.start(binary, args(straight.url, ["checkpoint.keep_last=10"]), in: d.url)
        waitFor(straight.log, toContain: "checkpoint: ")
        let second = try cli.runexp(args(straight.url, ["checkpoint.keep_last=10"]) + ["--resume"], in: d.url)
        XCTAssertEqual(second.status, 1)
        XCTAssertTrue(second.stderr.contains("\(straight.url.path) is in use by process \(reference.0.processIdentifier) on \(RunLock.hostName), which is training there."), second.stderr)
        let evaluated = try cli.runexp(["eval", repoRoot.appendingPathComponent("experiments/quickstart.yaml").path] + Self.tiny.flatMap { ["--set", $0] }
                                       + ["--output", straight.url.path, "--checkpoint", straight.checkpoint(iteration: 1).path], in: d.url)
        XCTAssertEqual(evaluated.status, 0, "eval works beside a training run: \(evaluated.stderr)")
        let done = try cli.finish(reference)
        XCTAssertEqual(done.status, 0, done.stderr)

        // SIGHUP (terminal closed) stops like SIGTERM, with a checkpoint.
        let hup = try cli.start(binary, args(killed.url), in: d.url)
        waitFor(killed.log, toContain: "iter 1/6")
        kill(hup.0.processIdentifier, SIGHUP)
        let hung = try cli.finish(hup)
        XCTAssertEqual(hung.status, 129, hung.stderr)
        XCTAssertTrue(hung.stderr.contains("hung up (SIGHUP): stopped after iteration"), hung.stderr)

        // SIGKILL at random moments; the seed is printed so a failure can be replayed.
        var rng = SystemRandomNumberGenerator()
        let seed = UInt64.random(in: 0...UInt64.max, using: &rng)
        var state = seed
        func draw() -> Double {  // SplitMix64, so the kill points replay from the printed seed
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
        }
        var kills: [String] = []
        for _ in 0..<3 {
            // Kill a random moment after a random iteration of this attempt: mid-iteration,
            // mid-evaluation or mid-checkpoint-write, wherever the delay lands.
            let resumedAt = (try? killed.latestCheckpoint()).flatMap { $0 }.flatMap { try? TrainingCheckpoint.read(from: $0).iteration } ?? 0
            guard resumedAt < 5 else { break }
            let target = resumedAt + 1 + Int(draw() * Double(5 - resumedAt))
            let logged = (try? Data(contentsOf: killed.log).count) ?? 0
            let p = try cli.start(binary, args(killed.url) + ["--resume"], in: d.url)
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline, p.0.isRunning,
                  !((try? Data(contentsOf: killed.log)).map { String(decoding: $0.dropFirst(logged), as: UTF8.self) }?.contains("iter \(target)/6") ?? false) {
                Thread.sleep(forTimeInterval: 0.02)
            }
            let delay = 1.2 * draw()
            Thread.sleep(forTimeInterval: delay)
            if p.0.isRunning { kill(p.0.processIdentifier, SIGKILL) }
            let r = try cli.finish(p)
            kills.append(String(format: "resumed at %d, killed %.2fs after iter %d: status %d", resumedAt, delay, target, r.status))
            if r.status == 0 { break }
        }
        print("kill points (seed \(seed)): \(kills)")
        // The last attempt finishes with its stdout going away after one line (`| head -n 1`).
        let finish = [binary.path] + args(killed.url) + ["--resume"]
        let shell = try cli.finish(cli.start(URL(fileURLWithPath: "/bin/bash"),
                                             ["-c", "set -o pipefail; " + finish.map(quote).joined(separator: " ") + " | head -n 1"], in: d.url))
        XCTAssertEqual(shell.status, 0, "seed \(seed), \(kills): \(shell.stderr)")
        XCTAssertEqual(shell.stdout.split(separator: "\n").count, 1)
        let log = try String(contentsOf: killed.log, encoding: .utf8)
        XCTAssertTrue(log.contains("stdout is gone (Broken pipe); training continues, this log goes on in log.txt only"), log)
        XCTAssertTrue(log.contains("done in"), log)

        let a = try TrainingCheckpoint.read(from: straight.checkpoint(iteration: 6))
        let b = try TrainingCheckpoint.read(from: killed.checkpoint(iteration: 6))
        XCTAssertEqual(Set(a.model.keys), Set(b.model.keys))
        for (k, t) in a.model { XCTAssertEqual(t.toArray(), b.model[k]!.toArray(), "weight \(k) differs (seed \(seed), \(kills))") }
        for (k, t) in a.optimizer { XCTAssertEqual(t.toArray(), b.optimizer[k]!.toArray(), "optimizer \(k) differs (seed \(seed), \(kills))") }
        XCTAssertEqual(a.rng, b.rng)
        let ma = try MetricsLog.read(from: straight.metrics), mb = try MetricsLog.read(from: killed.metrics)
        XCTAssertEqual(mb.train.map(\.iteration), Array(1...6), "one row per iteration, none lost or doubled (seed \(seed), \(kills))")
        XCTAssertEqual(ma.train.map(\.loss), mb.train.map(\.loss), "seed \(seed), \(kills)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: killed.checkpoints.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [], "debris of killed writes is removed by the next start")
    }

    /// Audit: an allocation the engine cannot satisfy crashed without saying what asked for it.
    func testAnImpossibleAllocationNamesTheOpAndTheSize() throws {
        let d = try TempConfigDir()
        dirs.append(d)
        let r = try cli.runexp(["info", repoRoot.appendingPathComponent("experiments/quickstart.yaml").path, "--size", "100000x100000"], in: d.url)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("ViTLab: out of memory: full(_:_:) needs a tensor of shape [1, 100000, 100000, 3] (112.0 GiB) while "), r.stderr)
        XCTAssertTrue(r.stderr.contains("Reduce train.batch_size, the image or crop size, or the model size."), r.stderr)
    }

    func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}
