@testable import Experiments
import Foundation
import XCTest

/// What the sweep and CLI tests share: the built `runexp`, child processes with output in files, and a
/// tiny sweep over the quickstart (64×64 images, a few iterations: seconds per point in debug).
enum SweepTestSupport {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func binary() throws -> URL {
        let candidates = [Bundle(for: SweepPlanTests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("runexp"),
                          repoRoot.appendingPathComponent(".build/debug/runexp")]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("runexp is not built (swift build --build-tests builds it)")
        }
        return found
    }

    /// Starts a process with stdout/stderr in files (no pipe can fill up and block it).
    static func start(_ executable: URL, _ args: [String], in dir: URL, environment: [String: String]? = nil) throws -> (Process, URL, URL) {
        let out = dir.appendingPathComponent("out-\(UUID().uuidString)"), err = dir.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.currentDirectoryURL = dir
        if let environment { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        try p.run()
        return (p, out, err)
    }

    static func finish(_ started: (Process, URL, URL)) throws -> Result {
        started.0.waitUntilExit()
        return Result(status: started.0.terminationStatus, stdout: try String(contentsOf: started.1, encoding: .utf8),
                      stderr: try String(contentsOf: started.2, encoding: .utf8))
    }

    static func runexp(_ args: [String], in dir: URL, environment: [String: String]? = nil) throws -> Result {
        try finish(start(try binary(), args, in: dir, environment: environment))
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    @discardableResult
    static func wait(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return condition()
    }

    /// The last `iter N/M` of a run's log.txt (0 when nothing is logged yet).
    static func loggedIteration(_ run: URL) -> Int {
        SweepStatusTable.progress(RunDirectory(run))?.0 ?? 0
    }

    /// The quickstart at toy size: 6 iterations (checkpoint and evaluation at 3 and 6), batch 2,
    /// 64×64 images, 4 validation images. (At 32×32 the smb4 weights of SeaFormer-T overflow while
    /// the loss stays finite, and resuming rightly refuses such a checkpoint.)
    static func tinySweep(name: String, output: String, body: String) -> String {
        """
        base: \(repoRoot.appendingPathComponent("experiments/quickstart.yaml").path)
        name: \(name)
        output_dir: \(output)
        set:
          train: {iterations: 6, batch_size: 2, log_interval: 1, schedule: {warmup: {iterations: 1}}}
          data.train.dataset.image_size: 64
          data.train.workers: 1
          data.val.dataset: {image_size: 64, length: 4}
          eval.interval: 3
          checkpoint.interval: 3

        """ + body
    }
}
