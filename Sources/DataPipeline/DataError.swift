import Foundation

/// A user-facing data failure: every case names the file or directory involved, says what was
/// wrong and what to do, so a run stopped by bad data can be fixed without reading the code.
/// Data problems are never `precondition`s: a corrupt JPEG in a million-image dataset is the
/// user's data, not a programmer error, and must not crash a training run without a message.
public enum DataError: Error, Equatable {
    /// An image or label file that cannot be decoded (corrupt, truncated, not an image).
    case corruptFile(path: String, problem: String, remedy: String)
    /// A file that could not be read or written at all.
    case io(path: String, problem: String, remedy: String)
    /// A dataset directory that does not match the layout the loader expects (missing root,
    /// empty split, an image without its label or a label without its image, a bad list file).
    case layout(dataset: String, path: String, problem: String, expected: String)
    /// A label file holding a value the dataset's classes cannot explain.
    case labelOutOfRange(dataset: String, path: String, value: Int, problem: String, remedy: String)
    /// A dataset metadata YAML (datasets/*.yaml) that is missing, malformed or inconsistent.
    case metadata(file: String, key: String, problem: String)
    /// A dataset `type:` no loader is registered for.
    case unknownDataset(name: String, known: [String], suggestion: String?)
    /// A dataset option that is not valid for the chosen dataset.
    case invalidOption(dataset: String, option: String, problem: String, remedy: String)

    /// The file or directory the error is about (empty when there is none).
    public var path: String {
        switch self {
        case .corruptFile(let p, _, _), .io(let p, _, _): return p
        case .layout(_, let p, _, _), .labelOutOfRange(_, let p, _, _, _): return p
        case .metadata(let f, _, _): return f
        case .unknownDataset, .invalidOption: return ""
        }
    }

    /// One paragraph: what, where, what to do.
    public var message: String {
        switch self {
        case let .corruptFile(path, problem, remedy):
            return "\(path): \(problem). \(remedy)"
        case let .io(path, problem, remedy):
            return "\(path): \(problem). \(remedy)"
        case let .layout(dataset, path, problem, expected):
            return "\(dataset) dataset: \(problem) (\(path)). Expected layout: \(expected). See datasets/README.md."
        case let .labelOutOfRange(dataset, path, value, problem, remedy):
            return "\(dataset) dataset: label value \(value) in \(path) \(problem). \(remedy)"
        case let .metadata(file, key, problem):
            return "\(file): key '\(key)': \(problem)"
        case let .unknownDataset(name, known, suggestion):
            let hint = suggestion.map { " Did you mean '\($0)'?" } ?? ""
            return "unknown dataset type '\(name)'.\(hint) Known types: \(known.joined(separator: ", "))."
        case let .invalidOption(dataset, option, problem, remedy):
            return "\(dataset) dataset: option '\(option)' \(problem). \(remedy)"
        }
    }
}

extension DataError: CustomStringConvertible, LocalizedError {
    public var description: String { message }
    public var errorDescription: String? { message }
}
