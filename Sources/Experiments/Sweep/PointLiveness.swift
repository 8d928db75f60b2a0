import Foundation

/// Where this process runs, as a `running` record names it: the host, and the Slurm task when
/// under Slurm (`<array job>_<task>`, or the job id).
struct Whereabouts {
    var host = hostName()
    var slurmJob: String? = {
        let env = ProcessInfo.processInfo.environment
        if let array = env["SLURM_ARRAY_JOB_ID"], let task = env["SLURM_ARRAY_TASK_ID"] { return "\(array)_\(task)" }
        return env["SLURM_JOB_ID"]
    }()
}

extension SweepManifest.Entry {
    /// The status with stale `running` records resolved: a record whose process is gone reads as
    /// `interrupted`, which resumes. Gone means: its pid no longer exists on this host; or it
    /// names this very Slurm task (Slurm starts a task again only after the previous attempt
    /// ended, as on a requeue); or it names a Slurm task that squeue no longer lists (a task
    /// killed at its time limit on another node). Other running records are believed.
    func observedStatus(from here: Whereabouts = Whereabouts()) -> PointStatus {
        guard status == .running else { return status }
        if let job = slurmJob, job == here.slurmJob { return .interrupted }
        if host == here.host, let pid { return processAlive(pid) ? .running : .interrupted }
        if let job = slurmJob, SlurmQueue.lists(job) == false { return .interrupted }
        return .running
    }
}

/// Asks squeue whether a Slurm task is still queued or running.
enum SlurmQueue {
    nonisolated(unsafe) private static var cache: [String: Bool] = [:]

    /// true: listed; false: squeue answered and does not list it; nil: no squeue (no opinion).
    static func lists(_ job: String) -> Bool? {
        if let known = cache[job] { return known }
        guard let squeue = SlurmSubmission.find("squeue"),
              let r = try? SlurmSubmission.capture(squeue, ["-h", "-j", job, "-o", "%T"]) else { return nil }
        // A job Slurm has already purged is an error ("Invalid job id specified"): not listed either.
        let listed = r.status == 0 && !r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        if r.status != 0 && !r.stderr.contains("Invalid job id") { return nil }
        cache[job] = listed
        return listed
    }
}
