import Foundation

/// How a child process ended.
public enum Termination: Equatable, Sendable {
    case exited(Int32)
    case signalled(Int32)

    /// The shell's convention: the exit status, or 128 + the signal.
    public var code: Int32 {
        switch self {
        case .exited(let c): return c
        case .signalled(let s): return 128 + s
        }
    }
}

/// A `runexp run` child of a sweep, started with `posix_spawn` rather than Foundation's
/// `Process` for three things the sweep needs:
/// - its own process group, so a Ctrl-C on the terminal reaches only the sweep, which forwards
///   exactly one stop request (the runner treats a SECOND signal as "kill at once");
/// - default signal dispositions and an empty mask, whatever the sweep itself handles;
/// - stdout and stderr appended to the point's log file, never a pipe that could fill and block.
final class ChildProcess {
    let pid: pid_t
    private(set) var termination: Termination?

    private init(pid: pid_t) { self.pid = pid }

    static func spawn(_ executable: String, _ arguments: [String], log: URL, environment: [String: String]) throws -> ChildProcess {
        try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP, SIGPIPE] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw RunError.notWritable(path: executable, reason: "cannot start it: " + String(cString: strerror(rc)))
        }
        return ChildProcess(pid: pid)
    }

    /// Reaps the child if it has ended (never blocks).
    func poll() -> Termination? {
        if let termination { return termination }
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        // WIFEXITED/WTERMSIG are macros Swift does not import.
        let signal = status & 0x7f
        termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return termination
    }

    func send(_ signal: Int32) { if termination == nil { kill(pid, signal) } }
}

/// Whether a process with this pid exists on this machine (a stale `running` record's test).
func processAlive(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || errno == EPERM
}

/// The absolute path of the running executable (what a Slurm task or a child should call).
func currentExecutable() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    if n > 0 { return String(cString: buffer) }
    return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
}

func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    gethostname(&buffer, buffer.count)
    return String(cString: buffer).split(separator: ".").first.map(String.init) ?? "localhost"
}
