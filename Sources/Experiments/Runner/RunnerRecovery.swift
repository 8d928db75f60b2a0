import DataPipeline
import Foundation

// What the training loop does when the world under it changes: a sample that cannot be
// loaded, a metrics file deleted while the run goes on. Kept apart from the loop itself so
// Runner.swift stays about training.

extension Runner {
    /// The next training batch. A batch that cannot be built (a corrupt JPEG, a label out of
    /// range) stops the run, but first the iterations already completed are checkpointed —
    /// with the sampler position and random state of the last COMPLETED iteration, so after
    /// the file is fixed, `--resume` continues exactly and loads the failed batch again.
    func nextBatch(_ loader: DataLoader) throws -> Batch? {
        do {
            return try loader.next()
        } catch {
            var saved: String?
            if iteration > 0, lastCheckpoint == directory.checkpoint(iteration: iteration) {
                saved = lastCheckpoint?.path  // this iteration is already on disk
            } else if iteration > 0 {
                try writeCheckpoint(checkpointState())
                saved = lastCheckpoint?.path
            }
            throw RunError.badSample(reason: "\(error)", iteration: iteration, checkpoint: saved, resume: resumeCommand)
        }
    }

    /// `evaluate()`, but a validation sample that cannot be loaded (the same corrupt files as
    /// in training) must not lose the iteration that just completed: it is checkpointed
    /// before the run stops with the sample's message. (That evaluation is not repeated by
    /// `--resume`, which continues with the next iteration; `runexp eval` scores the checkpoint.)
    func evaluateSavingProgress() throws -> Bool {
        do {
            return try evaluate()
        } catch let error as DataError {
            if lastCheckpoint != directory.checkpoint(iteration: iteration) { try writeCheckpoint(checkpointState()) }
            throw RunError.badSample(reason: "validation: \(error)", iteration: iteration, checkpoint: lastCheckpoint?.path, resume: resumeCommand)
        }
    }

    /// Rewrites metrics.h5 from the rows in memory. If the file vanished since this process
    /// last wrote it (deleted by hand, a cleanup script), the rewrite brings every row back;
    /// the note says so, so the gap in the file's history is not a mystery.
    func writeMetrics() throws {
        if metricsWritten, !FileManager.default.fileExists(atPath: directory.metrics.path) {
            note("warning: \(directory.metrics.path) was deleted during the run; recreated from the \(metrics.train.count) train and \(metrics.val.count) val rows kept in memory")
        }
        try metrics.write(to: directory.metrics)
        metricsWritten = true
    }
}
