import Foundation
import ModelZoo
import TensorEngine

/// Anything wrong with an experiment config. The text is compiler-style so editors can jump to
/// it: `file:line:col (key.path): what is wrong[; did you mean 'x'?][. what to do]`.
public struct ConfigError: Error, Equatable, CustomStringConvertible, LocalizedError {
    public enum Kind: String, Equatable, Sendable {
        /// Unreadable file or YAML syntax.
        case syntax, file
        /// `_base_` files include each other.
        case cycle
        /// A key no part of the schema reads.
        case unknownKey
        /// A `type:` (or other name) that is not registered.
        case unknownName
        /// A value of the wrong YAML kind or scalar type.
        case typeMismatch
        /// A required key is absent.
        case missingKey
        /// A value of the right type outside its valid range, or an inconsistent combination.
        case invalidValue
        /// A malformed `--set` argument.
        case override
        /// A section that is reserved for later work.
        case unsupported
    }

    public let kind: Kind
    public let location: SourceLocation?
    /// Dotted path from the config root (`model.backbone.type`); empty at the root.
    public let keyPath: String
    public let message: String
    public let suggestion: String?
    public let remedy: String?

    public init(_ kind: Kind, at location: SourceLocation?, keyPath: String, message: String,
                suggestion: String? = nil, remedy: String? = nil) {
        self.kind = kind; self.location = location; self.keyPath = keyPath
        self.message = message; self.suggestion = suggestion; self.remedy = remedy
    }

    public var description: String {
        var s = location.map { "\($0)" } ?? "<config>"
        if !keyPath.isEmpty { s += " (\(keyPath))" }
        s += ": " + message
        if let suggestion { s += "; did you mean '\(suggestion)'?" }
        if let remedy { s += ". " + remedy.prefix(1).uppercased() + remedy.dropFirst() }
        return s
    }

    public var errorDescription: String? { description }
}

