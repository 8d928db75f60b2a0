import Foundation

/// The checkpoint a `--resume` continues from, and what was passed over to find it.
struct ResumePoint {
    let file: URL
    let checkpoint: TrainingCheckpoint
    /// One line per checkpoint that was skipped (damaged, truncated, missing), newest first.
    let notes: [String]
}

extension RunDirectory {
    /// Where to resume: the newest intact checkpoint. Candidates are the file `last_checkpoint`
    /// names, then the periodic checkpoints from newest to oldest. A damaged or truncated file
    /// (checksum mismatch, unreadable; what a full disk, a crash during a copy or bit rot
    /// leave) is skipped with a note, because an older checkpoint of the same run continues it
    /// exactly, just from earlier. A file that is intact but wrong for this run (no optimizer
    /// state, an iteration outside 0…total, non-finite weights) is an error: skipping it would
    /// hide a mistake. nil when the run has no checkpoint at all.
    func resumePoint(total: Int) throws -> ResumePoint? {
        var notes: [String] = []
        var candidates: [URL] = []
        var pointerError: RunError?
        do {
            if let named = try lastCheckpoint() { candidates.append(named) }
        } catch let e as RunError {
            pointerError = e
        }
        for c in periodicCheckpoints().reversed() where !candidates.contains(c.url) { candidates.append(c.url) }
        if let pointerError {
            guard !candidates.isEmpty else { throw pointerError }
            notes.append("warning: \(pointerError); using the newest checkpoint on disk instead")
        }
        var firstDamage: CheckpointError?
        for file in candidates {
            let checkpoint: TrainingCheckpoint
            do {
                checkpoint = try TrainingCheckpoint.read(from: file)
            } catch let e as CheckpointError where e.isDamage {
                firstDamage = firstDamage ?? e
                notes.append("warning: skipping \(file.path): \(e)")
                continue
            }
            guard checkpoint.hasOptimizerState else { throw CheckpointError.noOptimizerState(file: file.path) }
            guard (0...total).contains(checkpoint.iteration) else {
                throw CheckpointError.iterationOutOfRange(file: file.path, iteration: checkpoint.iteration, total: total)
            }
            if !notes.isEmpty { notes.append("resuming from the newest intact checkpoint, \(file.path) (iteration \(checkpoint.iteration))") }
            return ResumePoint(file: file, checkpoint: checkpoint, notes: notes)
        }
        if let firstDamage { throw firstDamage }
        return nil
    }
}
