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
    /// The status with stale `running` records resolved: a record whose process is gone (its pid
    /// no longer exists on this host, or it names this very Slurm task, which Slurm only starts
    /// again after the previous attempt ended, as on a requeue) reads as `interrupted`, which
    /// resumes. A running record from another host is believed.
    func observedStatus(from here: Whereabouts = Whereabouts()) -> PointStatus {
        guard status == .running else { return status }
        if let job = slurmJob, job == here.slurmJob { return .interrupted }
        if host == here.host, let pid, !processAlive(pid) { return .interrupted }
        return .running
    }
}
