import Foundation

/// A float32 tensor: contiguous, row-major, of any rank. Images are channels-last (N×H×W×C).
///
/// Tensors are reference objects (as in PyTorch and micrograd) so that autograd can find a leaf
/// again to accumulate its `.grad`; their data is never changed by ops, which return new tensors.
/// Only optimizers and code under `withNoGrad` write in place (`withMutablePointer`).
public final class Tensor {
    public let shape: [Int]
    public let count: Int
    let storage: Storage
    /// Leaf tensors: set to true to have `backward()` accumulate a gradient into `grad`.
    public var requiresGrad: Bool {
        didSet { precondition(gradFn == nil || requiresGrad, "cannot clear requiresGrad on a non-leaf tensor; use detach()") }
    }
    /// Accumulated gradient of a leaf after `backward()`; nil until then.
    public var grad: Tensor?
    /// The op that produced this tensor, when it was recorded for autograd.
    var gradFn: GradNode?

    /// An uninitialised tensor from the pool. Internal: kernels fill it completely. `op` is
    /// the calling function (filled in by the compiler), named if the memory cannot be had.
    init(uninitializedShape shape: [Int], op: StaticString = #function) {
        for d in shape { precondition(d >= 0, "negative dimension in shape \(shape)") }
        self.shape = shape
        self.count = elementCount(shape, op: op)
        self.storage = Storage(count: max(count, 1), shape: shape, op: op)
        self.requiresGrad = false
    }

    /// A tensor sharing `storage` (a reshape of a contiguous tensor).
    init(sharing storage: Storage, shape: [Int]) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.requiresGrad = false
    }

    public var rank: Int { shape.count }
    public var isLeaf: Bool { gradFn == nil }
    /// The name of the op that produced this tensor ("leaf" for leaves).
    public var opName: String { gradFn?.name ?? "leaf" }

    /// Size of dimension `axis`; negative axes count from the end.
    public func size(_ axis: Int) -> Int { shape[normalizeAxis(axis, rank)] }

    var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// Read-only access to the elements.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// In-place access for optimizers, initialisers and loaders. Never use on a tensor that an
    /// autograd graph still holds: the graph would see the new values.
    public func withMutablePointer<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        try body(storage.pointer)
    }

    // MARK: creation

    /// A tensor holding `values` with the given shape (row-major).
    public convenience init(_ values: [Float], shape: [Int]) {
        self.init(uninitializedShape: shape)
        precondition(values.count == count, "Tensor(_:shape:): \(values.count) values do not fill shape \(shape) (\(count) elements)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    /// A rank-0 tensor.
    public convenience init(scalar: Float) { self.init([scalar], shape: []) }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        let p = t.pointer
        parallelFor(t.count, grain: 1 << 16) { r in
            (p + r.lowerBound).update(repeating: value, count: r.count)
        }
        return t
    }

    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }
    public static func zeros(like t: Tensor) -> Tensor { full(t.shape, 0) }
    public static func ones(like t: Tensor) -> Tensor { full(t.shape, 1) }

    /// `start, start+step, ...` up to but excluding `end`, as a 1-D tensor.
    public static func arange(_ start: Float, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange: step must not be 0")
        let n = max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(uninitializedShape: [n])
        for i in 0..<n { t.pointer[i] = start + Float(i) * step }
        return t
    }

    public static func arange(_ end: Int) -> Tensor { arange(0, Float(end)) }

    /// The elements as a Swift array, row-major.
    public func toArray() -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    /// The value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item(): tensor of shape \(shape) has \(count) elements, expected 1")
        return pointer[0]
    }

    /// Element at a multi-index (slow; for tests and debugging).
    public subscript(_ index: Int...) -> Float {
        precondition(index.count == rank, "subscript: \(index.count) indices for rank-\(rank) tensor")
        var flat = 0
        for (i, d) in zip(index, shape) {
            precondition(i >= 0 && i < d, "subscript: index \(index) out of range for shape \(shape)")
            flat = flat * d + i
        }
        return pointer[flat]
    }

    /// The same values, cut from the autograd graph.
    public func detach() -> Tensor { Tensor(sharing: storage, shape: shape) }

    /// A deep copy (new storage), not recorded for autograd.
    public func copy() -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.pointer.update(from: pointer, count: count)
        return t
    }

    /// Clears the accumulated gradient.
    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = toArray().prefix(8).map { String(format: "%.4g", Double($0)) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(values)\(count > 8 ? ", …" : "")])"
    }
}

/// Maps a possibly negative axis into `0..<rank`.
@inline(__always)
func normalizeAxis(_ axis: Int, _ rank: Int) -> Int {
    let a = axis < 0 ? axis + rank : axis
    precondition(a >= 0 && a < max(rank, 1), "axis \(axis) out of range for rank \(rank)")
    return a
}

/// Row-major strides of a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var s = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = s
        s *= shape[i]
    }
    return strides
}
