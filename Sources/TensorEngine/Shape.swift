// Shape ops: forward and derivative side by side. Tensors are contiguous, so reshape shares
// storage and the other ops copy.

extension Tensor {
    /// The same elements in a new shape; one dimension may be -1 (inferred). Shares storage.
    public func reshape(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let i = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(count) elements (shape \(shape))")
            s[i] = count / known
        }
        precondition(s.reduce(1, *) == count, "reshape: shape \(newShape) does not hold \(count) elements (from shape \(shape))")
        if s == shape { return self }
        let oldShape = shape
        return Tensor(sharing: storage, shape: s).record(inputs: [self], name: "reshape") { g in [g.reshape(oldShape)] }
    }
}
