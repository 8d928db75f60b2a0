/// A config value that cannot be used, raised by whichever module reads it (a model builder,
/// an attention type, a transform, a dataset, an optimizer). `keyPath` is the absolute path of
/// the offending node (`model.head.dropout`, `data.train.pipeline.2.crop_size`): every builder
/// decodes from a `Decoder` whose `codingPath` is that path, so the experiment loader can add
/// the file, line and column without guessing.
public struct ConfigValueError: Error, CustomStringConvertible, Equatable {
    public let keyPath: String
    public let message: String
    /// The nearest valid name, when the error is a misspelt type, key or value.
    public let suggestion: String?

    public init(keyPath: String, message: String, suggestion: String? = nil) {
        self.keyPath = keyPath; self.message = message; self.suggestion = suggestion
    }

    public init(path: [CodingKey], message: String, suggestion: String? = nil) {
        self.init(keyPath: path.map(\.stringValue).joined(separator: "."), message: message, suggestion: suggestion)
    }

    public var description: String {
        let at = keyPath.isEmpty ? "" : "\(keyPath): "
        return at + message + (suggestion.map { "; did you mean '\($0)'?" } ?? "")
    }
}
