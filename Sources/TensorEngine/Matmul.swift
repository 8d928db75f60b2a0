import CDNNL

// Matrix products: forward kernels (oneDNN matmul primitive, transposes expressed as strides so
// no operand is ever copied) and their derivative rules side by side.

/// One cached oneDNN matmul: `dst[batch..., M, N] = op(a) · op(b) (+ bias[N])`.
final class MatmulPlan {
    let primitive: DnnlPrimitive
    let hasBias: Bool

    init(aShape: [Int], aStrides: [Int], bShape: [Int], bStrides: [Int], outShape: [Int], hasBias: Bool) {
        var a = Dnnl.memoryDesc(aShape, strides: aStrides)
        var b = Dnnl.memoryDesc(bShape, strides: bStrides)
        var c = Dnnl.memoryDesc(outShape, strides: contiguousStrides(outShape))
        let biasShape = [Int](repeating: 1, count: outShape.count - 1) + [outShape.last!]
        var bias = hasBias ? Dnnl.memoryDesc(biasShape, strides: contiguousStrides(biasShape)) : dnnl_memory_desc_t()
        var desc = dnnl_matmul_desc_t()
        let status = hasBias ? dnnl_matmul_desc_init(&desc, &a, &b, &bias, &c) : dnnl_matmul_desc_init(&desc, &a, &b, nil, &c)
        Dnnl.check(status, "matmul_desc_init(\(aShape) x \(bShape))")
        let args = hasBias ? [DnnlArg.src, DnnlArg.weights, DnnlArg.bias, DnnlArg.dst] : [DnnlArg.src, DnnlArg.weights, DnnlArg.dst]
        primitive = withUnsafePointer(to: &desc) { DnnlPrimitive("matmul \(aShape) x \(bShape)", opDesc: $0, args: args) }
        self.hasBias = hasBias
    }
}

/// The stored shape `[..., R, C]` read as its transpose `[..., C, R]`: swapped dims and strides.
private func view(_ shape: [Int], transposed: Bool) -> (dims: [Int], strides: [Int]) {
    let st = contiguousStrides(shape)
    guard transposed else { return (shape, st) }
    var d = shape, s = st
    d.swapAt(d.count - 1, d.count - 2)
    s.swapAt(s.count - 1, s.count - 2)
    return (d, s)
}

/// The cached primitive and the result shape for `op(a) · op(b)` of these stored shapes.
/// A single shared right operand folds a's batch into its rows: one large GEMM instead of many
/// small ones (linear layers on [B, N, C] tokens, attention projections).
private func matmulPlan(_ aShape: [Int], _ bShape: [Int], transA: Bool, transB: Bool, hasBias: Bool, op: String) -> (MatmulPlan?, [Int]) {
    precondition(aShape.count >= 2 && bShape.count >= 2, "\(op): operands need rank >= 2, got \(aShape) and \(bShape)")
    let ad = view(aShape, transposed: transA).dims, bd = view(bShape, transposed: transB).dims
    let m = ad[ad.count - 2], k = ad[ad.count - 1], n = bd[bd.count - 1]
    precondition(bd[bd.count - 2] == k, "\(op): inner dimensions differ: \(aShape)\(transA ? "ᵀ" : "") x \(bShape)\(transB ? "ᵀ" : "") (K \(k) vs \(bd[bd.count - 2]))")
    let batchA = Array(aShape.dropLast(2)), batchB = Array(bShape.dropLast(2))
    guard let batch = broadcastShape(batchA, batchB) else {
        preconditionFailure("\(op): batch dimensions \(batchA) and \(batchB) do not broadcast (shapes \(aShape), \(bShape))")
    }
    let outShape = batch + [m, n]
    if outShape.contains(0) || k == 0 { return (nil, outShape) }
    let aDims: [Int], aStrides: [Int], bDims: [Int], bStrides: [Int], cDims: [Int]
    if !transA && batchB.allSatisfy({ $0 == 1 }) {
        let rows = batchA.reduce(1, *) * m
        (aDims, aStrides) = ([rows, k], [k, 1])
        (bDims, bStrides) = view(Array(bShape.suffix(2)), transposed: transB)
        cDims = [rows, n]
    } else {
        let r = batch.count + 2
        (aDims, aStrides) = view([Int](repeating: 1, count: r - aShape.count) + aShape, transposed: transA)
        (bDims, bStrides) = view([Int](repeating: 1, count: r - bShape.count) + bShape, transposed: transB)
        cDims = outShape
    }
    let key = [aDims.count, hasBias ? 1 : 0] + aDims + aStrides + bDims + bStrides
    let plan = PrimitiveCache.get("matmul", key) {
        MatmulPlan(aShape: aDims, aStrides: aStrides, bShape: bDims, bStrides: bStrides, outShape: cDims, hasBias: hasBias)
    }
    return (plan, outShape)
}

/// Raw product of the last two dimensions with NumPy broadcasting of the leading ones:
/// `op(a)` is `a` or its transpose (of the last two dims), likewise `op(b)`; `bias` ([N]) adds
/// to every row. Not recorded for autograd.
func matmulKernel(_ a: Tensor, _ b: Tensor, transA: Bool = false, transB: Bool = false, bias: Tensor? = nil,
                  op: String = "matmul") -> Tensor {
    let (plan, outShape) = matmulPlan(a.shape, b.shape, transA: transA, transB: transB, hasBias: bias != nil, op: op)
    if let bias { precondition(bias.shape == [outShape.last!], "\(op): bias shape \(bias.shape), expected [\(outShape.last!)]") }
    guard let plan else {  // empty result or K == 0: the sum over nothing is zero
        return withNoGrad { Tensor.zeros(outShape) + (bias ?? Tensor(scalar: 0)) }
    }
    let out = Tensor(uninitializedShape: outShape)
    if let bias {
        plan.primitive.execute([a.raw, b.raw, bias.raw, out.raw])
    } else {
        plan.primitive.execute([a.raw, b.raw, out.raw])
    }
    return out
}

/// The oneDNN implementation chosen for `matmul` of these shapes (e.g. "brg:avx512_core"); diagnostics.
@_spi(Bench) public func matmulImplementation(_ aShape: [Int], _ bShape: [Int]) -> String {
    matmulPlan(aShape, bShape, transA: false, transB: false, hasBias: false, op: "matmul").0?.primitive.implName ?? "none"
}

/// Matrix product of the last two dimensions, `[..., M, K] x [..., K, N] -> [..., M, N]`; the
/// leading (batch) dimensions broadcast as in NumPy/`torch.matmul`. Both operands need rank >= 2.
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let out = matmulKernel(a, b)
    CostTrace.add(.matmulMACs, out.count * a.shape[a.rank - 1])
    return out.record(inputs: [a, b], name: "matmul") { g in
        // dA = dC·Bᵀ, dB = Aᵀ·dC, each summed over the batch dims its operand was broadcast along.
        var ga: Tensor?, gb: Tensor?
        if a.requiresGrad { ga = matmulKernel(g, b, transB: true).sumToShape(a.shape) }
        if b.requiresGrad {
            if b.shape.dropLast(2).allSatisfy({ $0 == 1 }) {
                // Shared right operand: the batch folds into the reduction, one GEMM.
                let k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
                gb = matmulKernel(a.reshape([-1, k]), g.reshape([-1, n]), transA: true).reshape(b.shape)
            } else {
                gb = matmulKernel(a, g, transA: true).sumToShape(b.shape)
            }
        }
        return [ga, gb]
    }
}

extension Tensor {
    /// `matmul(self, other)`.
    public func matmul(_ other: Tensor) -> Tensor { TensorEngine.matmul(self, other) }
}

/// Fully connected layer, PyTorch layout: `x [..., in]`, `weight [out, in]`, `bias [out]`;
/// returns `x·weightᵀ + bias` of shape `[..., out]`.
public func linear(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil) -> Tensor {
    precondition(x.rank >= 1 && weight.rank == 2 && x.shape.last == weight.shape[1],
                 "linear: input \(x.shape) and weight \(weight.shape) do not fit (expected x [..., in], weight [out, in])")
    let inF = weight.shape[1], outF = weight.shape[0]
    if let bias { precondition(bias.shape == [outF], "linear: bias shape \(bias.shape), expected [\(outF)]") }
    let lead = Array(x.shape.dropLast())
    let x2 = x.detach().reshape([-1, inF])
    let out = matmulKernel(x2, weight, transB: true, bias: bias, op: "linear").reshape(lead + [outF])
    CostTrace.add(.linearMACs, x.count * outF)  // mmcv counts no bias adds for Linear
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    return out.record(inputs: inputs, name: "linear") { g in
        let g2 = g.reshape([-1, outF])
        let gx = x.requiresGrad ? matmulKernel(g2, weight, op: "linear backward").reshape(x.shape) : nil
        let gw = weight.requiresGrad ? matmulKernel(g2, x2, transA: true, op: "linear backward") : nil
        var grads: [Tensor?] = [gx, gw]
        if let bias { grads.append(bias.requiresGrad ? g2.sumToShape([outF]) : nil) }
        return grads
    }
}

