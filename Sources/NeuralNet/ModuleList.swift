import TensorEngine

/// Modules held in order and named "0", "1", … as `torch.nn.ModuleList`, for parts that are
/// called one by one (not chained like `Sequential`): per-stage distillation adapters, say.
public final class ModuleList<Element: Module>: Module {
    public let modules: [Element]
    public init(_ modules: [Element]) { self.modules = modules }
    override public var children: [(String, Module)] { modules.enumerated().map { (String($0.offset), $0.element) } }
    public subscript(i: Int) -> Element { modules[i] }
    public var count: Int { modules.count }
}

/// Learnable scalars listed under one name (`nn.ParameterList` of one-element parameters, e.g.
/// TransKD's fusion weights), so their state paths are `name.0`, `name.1`, ….
public final class ScalarParameters: Module {
    public let values: [Tensor]
    /// Parameters `0`, `1`, … each of one element (`nn.ParameterList` of `[1]` tensors).
    public init(_ initial: [Float]) {
        values = initial.map { Tensor([$0], shape: [1]).asParameter() }
    }
    override public var parameters: [(String, Tensor)] { values.enumerated().map { (String($0.offset), $0.element) } }
}
