import NeuralNet

/// The attention registry: builds the module that fills a stage's attention slot from the
/// `attention:` config node. Every variant maps `[B, H, W, dim]` to `[B, H, W, dim]`.
public enum AttentionRegistry {
    /// Builds the variant `spec.type` for a stage of the given shape. The spec must have passed
    /// `validate(_:)`; a spec that did not is a programmer error here.
    public static func build(_ spec: AttentionSpec, _ shape: AttentionShape) -> Layer {
        switch spec.type {
        case .sea, .seaAdaptive: return SeaAttention(spec, shape)
        case .global: return makeGlobalAttention(spec, shape)
        case .axial: return makeAxialAttention(spec, shape)
        case .local: return makeLocalAttention(spec, shape)
        case .conv: return makeConvAttention(spec, shape)
        }
    }

    /// The config names of every registered variant (`type:` values).
    public static var names: [String] { AttentionType.allCases.map(\.rawValue) }

    /// Checks switch combinations that cannot be built, so a config fails with a message
    /// before any model is constructed.
    public static func validate(_ spec: AttentionSpec) throws {
        switch spec.type {
        case .sea, .seaAdaptive:
            if !spec.detailEnhancement && !spec.attentionBranch {
                throw AttentionConfigError(
                    key: "attention.detail_enhancement / attention.attention_branch",
                    message: "\(spec.type.rawValue) needs at least one of its two branches (Table 6); set one of them to true")
            }
        case .local:
            if spec.windowSize < 1 {
                throw AttentionConfigError(key: "attention.window_size",
                                           message: "local attention needs a window of at least 1 token, got \(spec.windowSize); Table 9 uses 4")
            }
        case .global, .axial, .conv:
            break
        }
    }
}

/// An `attention:` config node that names a combination no module can be built from.
public struct AttentionConfigError: Error, CustomStringConvertible, Equatable {
    /// The config key(s) at fault.
    public let key: String
    /// What is wrong and what to do.
    public let message: String

    public var description: String { "\(key): \(message)" }
}
