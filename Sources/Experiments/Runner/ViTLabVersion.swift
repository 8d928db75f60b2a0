import Foundation

/// The framework version and the source revision, stamped into every checkpoint so a result can
/// be traced to the code that produced it.
public enum ViTLabVersion {
    public static let string = "0.5.0"

    /// The commit of the source tree the running binary was built in (binaries live in its
    /// `.build/`), with "+dirty" when tracked files differ from it; "unknown" when the binary is
    /// not inside a git checkout. Read once.
    public static let gitDescription: String = {
        guard let commit = git(["rev-parse", "--short=12", "HEAD"]) else { return "unknown" }
        let dirty = git(["status", "--porcelain", "--untracked-files=no"]).map { !$0.isEmpty } ?? false
        return commit + (dirty ? "+dirty" : "")
    }()

    private static func git(_ arguments: [String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + arguments
        if let dir = Bundle.main.executableURL?.deletingLastPathComponent() { p.currentDirectoryURL = dir }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
