import Foundation

/// A checkpoint file that must not be used: damaged on disk, holding values no training step
/// could have produced, or lacking the state a resume needs. Each message names the file and
/// the tensor, and says what to use instead.
public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    /// The stored CRC-32 of a dataset does not match its bytes: the file was damaged after it
    /// was written (disk error, bad copy, bit rot).
    case checksumMismatch(file: String, tensor: String, stored: UInt32, actual: UInt32)
    /// A checksummed checkpoint (root attribute `checksum`) with a dataset that has no `crc32`.
    case missingChecksum(file: String, tensor: String)
    /// The file cannot be opened or read at all (truncated by a full disk or a crash during a
    /// copy, not an HDF5 file, missing datasets).
    case unreadable(file: String, reason: String)
    /// NaN or infinite values in a model or optimizer tensor.
    case nonFinite(file: String, tensor: String, count: Int, total: Int)
    /// No `/optimizer` group: a model-only file cannot continue training exactly.
    case noOptimizerState(file: String)
    /// The `iter` attribute is outside 0…train.iterations.
    case iterationOutOfRange(file: String, iteration: Int, total: Int)
    /// The config stored inside the checkpoint cannot be parsed.
    case unreadableConfig(file: String, reason: String)

    public var description: String {
        switch self {
        case let .checksumMismatch(file, tensor, stored, actual):
            return "checkpoint \(file) is damaged: tensor '\(tensor)' has CRC-32 \(Self.hex(actual)) but \(Self.hex(stored)) was stored when it was written. Restore the file from a backup, or resume from an older checkpoint (--resume does this by itself when one is intact)."
        case let .missingChecksum(file, tensor):
            return "checkpoint \(file) is damaged: tensor '\(tensor)' has lost its crc32 attribute. Restore the file from a backup, or resume from an older checkpoint."
        case let .unreadable(file, reason):
            return "checkpoint \(file) cannot be read (truncated or not a ViTLab checkpoint): \(reason)"
        case let .nonFinite(file, tensor, count, total):
            return "checkpoint \(file) holds non-finite values: tensor '\(tensor)' has \(count) NaN/Inf of \(total) values. A diverged state cannot be trained or evaluated; use an older checkpoint."
        case let .noOptimizerState(file):
            return "checkpoint \(file) has no /optimizer group (model weights only), so --resume cannot continue the run exactly: the optimizer would restart from zero moments. Resume from a training checkpoint (checkpoints/iter_N.h5), evaluate this file with runexp eval --checkpoint, or start a new run from its weights."
        case let .iterationOutOfRange(file, iteration, total):
            return "checkpoint \(file) claims iteration \(iteration), outside 0…\(total) (train.iterations); it does not belong to this run. Resume from another checkpoint or start a new run with --output DIR."
        case let .unreadableConfig(file, reason):
            return "checkpoint \(file) holds a config that cannot be parsed (\(reason)); it cannot be checked against this experiment. Resume from another checkpoint."
        }
    }

    /// Damage that an older checkpoint of the same run can stand in for.
    var isDamage: Bool {
        switch self {
        case .checksumMismatch, .missingChecksum, .unreadable: return true
        default: return false
        }
    }

    static func hex(_ v: UInt32) -> String { String(format: "0x%08x", v) }
}
