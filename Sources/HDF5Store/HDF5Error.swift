import CHDF5
import Foundation

/// A failed store operation: what was attempted, in which file, on which object, what the
/// library said, and what the user can do about it.
public struct HDF5Error: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The attempted operation, e.g. "read dataset" or "open file".
    public let operation: String
    /// The file (or, for directory problems, the directory) involved.
    public let file: String
    /// The HDF5 object path inside the file, or "" when the failure concerns the file itself.
    public let object: String
    /// The specific reason (ours, or the innermost message from HDF5's error stack).
    public let reason: String
    /// What to do about it.
    public let remedy: String

    public init(operation: String, file: String, object: String, reason: String, remedy: String) {
        self.operation = operation
        self.file = file
        self.object = object
        self.reason = reason
        self.remedy = remedy
    }

    public var description: String {
        let what = object.isEmpty ? "" : " '\(object)'"
        return "HDF5: cannot \(operation)\(what) in \(file): \(reason). \(remedy)"
    }

    public var errorDescription: String? { description }
}

/// The messages on HDF5's current error stack, outermost (API call) first. Must be called right
/// after the failing call: the next library call clears the stack.
func hdf5StackMessages() -> [String] {
    var messages: [String] = []
    let walker: H5E_walk2_t = { _, desc, client in
        guard let desc, let client else { return 0 }
        let box = client.assumingMemoryBound(to: [String].self)
        if let text = desc.pointee.desc { box.pointee.append(String(cString: text)) }
        return 0
    }
    withUnsafeMutablePointer(to: &messages) { ptr in
        _ = H5Ewalk2(h5e_default(), H5E_WALK_DOWNWARD, walker, UnsafeMutableRawPointer(ptr))
    }
    return messages
}

/// The reason text for a library failure: the innermost stack message names the actual cause
/// (e.g. "unable to open file"), the outermost the API call that failed.
func libraryReason(_ fallback: String) -> String {
    let stack = hdf5StackMessages()
    guard let inner = stack.last else { return fallback }
    if let outer = stack.first, outer != inner { return "\(fallback) (HDF5: \(outer); \(inner))" }
    return "\(fallback) (HDF5: \(inner))"
}
