import Foundation

/// Shows a run to the person who started it and keeps `log.txt`.
///
/// On a terminal a single live line is redrawn (iteration/total, loss, lr, images/s, ETA, at
/// most 5 times a second), and log rows, evaluations and checkpoints are printed above it. When
/// stdout is a pipe or a file (CI, nohup, a sweep) only the plain log lines are printed, so the
/// output stays greppable. `log.txt` always gets the plain lines, with a timestamp.
public final class ConsoleReporter: RunnerHook {
    let interactive: Bool
    private(set) var echo: Bool
    private var log: RunLogFile?
    private var lastDraw = Date.distantPast
    private var recentSeconds: [Double] = []
    private var lineShown = false
    private var runStart = Date()
    private var trained = 0

    /// `echo: false` keeps the console silent (tests); log.txt is written either way.
    public init(echo: Bool = true, interactive: Bool = isatty(STDOUT_FILENO) == 1) {
        self.echo = echo
        self.interactive = interactive && echo
    }

    public func beforeRun(_ runner: Runner) {
        log = RunLogFile(url: runner.directory.log)
        if let reason = log?.failure {
            emit("warning: cannot open \(runner.directory.log.path) (\(reason)); the log goes to the console only")
        }
        runStart = Date()
        let c = runner.experiment.config
        emit("run \(c.name): \(runner.total) iterations, batch \(runner.experiment.trainBatchSize), \(runner.model.parameterCount) parameters, seed \(c.seed), ViTLab \(ViTLabVersion.string) (\(ViTLabVersion.gitDescription))")
        emit("run directory: \(runner.directory.url.path)")
    }

    public func afterIteration(_ runner: Runner, _ r: IterationRecord) {
        trained += 1
        recentSeconds.append(r.seconds)
        if recentSeconds.count > 20 { recentSeconds.removeFirst() }
        guard interactive, echo, Date().timeIntervalSince(lastDraw) > 0.2 || r.iteration == r.total else { return }
        lastDraw = Date()
        let perIteration = recentSeconds.reduce(0, +) / Double(recentSeconds.count)
        let eta = perIteration * Double(r.total - r.iteration)
        draw(String(format: "iter %d/%d  loss %.4f%@  lr %.3e  %.1f img/s  ETA %@", r.iteration, r.total, r.loss,
                    Self.terms(r.terms), r.lr, Double(r.images) / max(r.seconds, 1e-9), Self.duration(eta)))
    }

    public func afterLogRow(_ runner: Runner, _ row: MetricsLog.TrainRow) {
        let perIteration = recentSeconds.isEmpty ? 0 : recentSeconds.reduce(0, +) / Double(recentSeconds.count)
        let terms = row.losses.keys.filter { $0 != MetricsLog.totalLoss }.sorted().map { (name: $0, value: row.losses[$0]!) }
        emit(String(format: "iter %d/%d  loss %.4f%@  lr %.3e  %.1f img/s  ETA %@", row.iteration, runner.total, row.loss,
                    Self.terms(terms), row.lr, row.throughput, Self.duration(perIteration * Double(runner.total - row.iteration))))
    }

    /// ` (loss_ce 0.5123, loss_kd 0.1002)`: every named term beside the total.
    static func terms(_ terms: [(name: String, value: Float)]) -> String {
        terms.isEmpty ? "" : " (" + terms.map { String(format: "%@ %.4f", $0.name, $0.value) }.joined(separator: ", ") + ")"
    }

    public func evaluationProgress(_ runner: Runner, done: Int, total: Int) {
        guard interactive, echo, Date().timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
        lastDraw = Date()
        draw("evaluating \(done)/\(total)")
    }

    public func afterEvaluation(_ runner: Runner, _ result: EvaluationResult) {
        emit(String(format: "eval @ iter %d: %@  (%d images, %.1f s)", runner.iteration, result.summary(), result.images, result.seconds))
    }

    public func afterCheckpoint(_ runner: Runner, _ file: URL) { emit("checkpoint: \(file.path)") }

    public func note(_ runner: Runner, _ message: String) { emit(message) }

    public func afterRun(_ runner: Runner, error: Error?) {
        if let error {
            // The caller reports the error itself (runexp on stderr); the log keeps it too.
            emit("stopped: \(error)", echo: false)
        } else if trained == 0 {
            emit("nothing to train: \(runner.iteration)/\(runner.total) iterations done")
        } else {
            emit("done in \(Self.duration(Date().timeIntervalSince(runStart))): \(runner.iteration)/\(runner.total) iterations" +
                 (runner.best.map { String(format: "; best %@ %.2f at iter %d", $0.metric, $0.value * 100, $0.iteration) } ?? ""))
        }
        log?.close()
        log = nil
    }

    /// A permanent line: above the live line on a terminal, a plain line otherwise, and in log.txt.
    func emit(_ line: String, echo: Bool = true) {
        if echo && self.echo {
            if lineShown { print("\r\u{1B}[2K", terminator: "") ; lineShown = false }
            print(line)
            checkStdout()
        }
        let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .current, formatOptions: [.withFullDate, .withFullTime, .withSpaceBetweenDateAndTime])
        if let notice = log?.append("\(stamp)  \(line)\n") {
            if self.echo { print(notice); checkStdout() } else { FileHandle.standardError.write(Data((notice + "\n").utf8)) }
        }
    }

    private func draw(_ text: String) {
        print("\r\u{1B}[2K" + text, terminator: "")
        checkStdout()
        lineShown = true
    }

    /// After a write to stdout: if it failed (the reader of a pipe went away, `| head`; SIGPIPE
    /// is ignored during runs), stop echoing and say so in log.txt. Training goes on.
    private func checkStdout() {
        fflush(stdout)
        guard ferror(stdout) != 0 else { return }
        let reason = String(cString: strerror(errno))
        clearerr(stdout)
        echo = false
        lineShown = false
        emit("stdout is gone (\(reason)); training continues, this log goes on in log.txt only", echo: false)
    }

    /// `1h02m`, `4m05s`, `12s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) }
        if s >= 60 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return "\(s)s"
    }
}
