import Foundation

/// Runs a `tools/reference/` timing script (`python3 SCRIPT ARGS`) and returns its JSON rows by
/// name with its torch version, or the sentence that explains why the reference column is empty
/// (script missing, python3 missing, torch not installed: exit 3, or any other failure), and
/// the whole JSON object for fields beyond the rows.
func runReferenceScript(_ name: String, arguments: [String]) -> (rows: [String: [String: Any]], torchVersion: String, skipped: String?, extra: [String: Any]) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tools/reference/\(name)").path
    guard FileManager.default.fileExists(atPath: script) else { return ([:], "", "PyTorch column skipped: \(script) not found.", [:]) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return ([:], "", "PyTorch column skipped: could not run python3 (\(error)).", [:]) }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus == 3 {
        return ([:], "", "PyTorch column skipped: torch is not installed (python3 -m pip install -r tools/reference/requirements.txt), so there is no reference in this run.", [:])
    }
    guard p.terminationStatus == 0, let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
          let list = json["rows"] as? [[String: Any]] else {
        return ([:], "", "PyTorch column skipped: \(name) failed (exit \(p.terminationStatus)); run it by hand to see why.", [:])
    }
    var rows: [String: [String: Any]] = [:]
    for r in list { if let n = r["name"] as? String { rows[n] = r } }
    return (rows, json["torch_version"] as? String ?? "?", nil, json)
}
