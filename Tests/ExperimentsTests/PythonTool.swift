import Foundation

/// What a Python tool printed and returned.
struct PythonResult { let status: Int32; let stdout: String; let stderr: String }

/// Runs `python3 args...` through env (so a python3 on PATH with h5py, e.g. pyenv or a venv,
/// wins), from the repository root. Output goes to files in `dir`: no pipe can fill up and block.
func runPython(_ args: [String], in dir: URL) throws -> PythonResult {
    let out = dir.appendingPathComponent("py-\(UUID().uuidString).out")
    let err = dir.appendingPathComponent("py-\(UUID().uuidString).err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3"] + args
    p.currentDirectoryURL = repoRoot
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    try p.run()
    p.waitUntilExit()
    return PythonResult(status: p.terminationStatus,
                        stdout: try String(contentsOf: out, encoding: .utf8),
                        stderr: try String(contentsOf: err, encoding: .utf8))
}
