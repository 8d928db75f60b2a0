// Shape ops: forward and derivative side by side. Tensors are contiguous, so reshape and its
// relatives (flatten, squeeze, unsqueeze) share storage and record a reshape; every other op
// copies, through two kernels: a strided copy that memcpys the longest contiguous runs it can
// find, and a tiled transpose for permutations that move the innermost axis.

// MARK: kernels

/// Copies a strided view of `shape` from `src` to `dst` (each with its own element strides).
/// Adjacent dimensions merge wherever both sides are contiguous across them, so the inner loop
/// is one memcpy per run whenever both inner strides are 1; rows are split over the cores.
func stridedCopy(shape: [Int], src: UnsafePointer<Float>, srcStrides: [Int],
                 dst: UnsafeMutablePointer<Float>, dstStrides: [Int]) {
    precondition(shape.count == srcStrides.count && shape.count == dstStrides.count, "stridedCopy: rank mismatch")
    if shape.contains(0) { return }
    var md: [Int] = [], ms: [Int] = [], mt: [Int] = []
    for i in 0..<shape.count where shape[i] != 1 {
        if let last = md.last, ms.last! == srcStrides[i] * shape[i], mt.last! == dstStrides[i] * shape[i] {
            md[md.count - 1] = last * shape[i]
            ms[ms.count - 1] = srcStrides[i]
            mt[mt.count - 1] = dstStrides[i]
        } else {
            md.append(shape[i]); ms.append(srcStrides[i]); mt.append(dstStrides[i])
        }
    }
    if md.isEmpty { dst[0] = src[0]; return }
    let n = md.removeLast(), si = ms.removeLast(), di = mt.removeLast()
    let dims = md, ss = ms, ds = mt
    let outer = dims.count
    let rows = dims.reduce(1, *)
    parallelFor(rows, grain: max(1, (1 << 14) / n)) { range in
        // Odometer over the outer dimensions, started at the chunk's first row.
        var idx = [Int](repeating: 0, count: outer)
        var so = 0, dOff = 0, rem = range.lowerBound
        for d in stride(from: outer - 1, through: 0, by: -1) {
            idx[d] = rem % dims[d]; rem /= dims[d]
            so += idx[d] * ss[d]; dOff += idx[d] * ds[d]
        }
        for _ in range {
            let s = src + so, t = dst + dOff
            if si == 1 && di == 1 {
                // Short runs (small head dims, channel slices) avoid the memmove call.
                if n >= 32 { t.update(from: s, count: n) } else { for j in 0..<n { t[j] = s[j] } }
            } else {
                for j in 0..<n { t[j * di] = s[j * si] }
            }
            var d = outer - 1
            while d >= 0 {
                idx[d] += 1; so += ss[d]; dOff += ds[d]
                if idx[d] < dims[d] { break }
                so -= dims[d] * ss[d]; dOff -= dims[d] * ds[d]; idx[d] = 0
                d -= 1
            }
        }
    }
}

/// Views `shape` as [outer, shape[axis], inner].
@inline(__always)
func splitAround(_ shape: [Int], _ axis: Int) -> (outer: Int, dim: Int, inner: Int) {
    (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
}

/// Constant padding along one axis in a single pass: each row writes its border fill and
/// copies its interior once.
func padKernel(_ x: Tensor, axis: Int, before: Int, after: Int, value: Float) -> Tensor {
    var outShape = x.shape
    outShape[axis] += before + after
    let out = Tensor(uninitializedShape: outShape)
    let (outer, dim, inner) = splitAround(x.shape, axis)
    let inRun = dim * inner, outRun = (dim + before + after) * inner
    let b = before * inner, a = after * inner
    let src = x.pointer, dst = out.pointer
    parallelFor(outer, grain: max(1, (1 << 14) / max(outRun, 1))) { rows in
        for r in rows {
            let t = dst + r * outRun
            t.update(repeating: value, count: b)
            (t + b).update(from: src + r * inRun, count: inRun)
            (t + b + inRun).update(repeating: value, count: a)
        }
    }
    return out
}

/// The block of `x` starting at `starts` with extent `shape`, copied out contiguously.
func cropKernel(_ x: Tensor, starts: [Int], shape: [Int]) -> Tensor {
    let out = Tensor(uninitializedShape: shape)
    let strides = contiguousStrides(x.shape)
    let base = zip(starts, strides).reduce(0) { $0 + $1.0 * $1.1 }
    stridedCopy(shape: shape, src: x.pointer + base, srcStrides: strides, dst: out.pointer, dstStrides: contiguousStrides(shape))
    return out
}

// MARK: reshape, flatten, squeeze, unsqueeze (share storage)

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

    /// Merges axes `startAxis...endAxis` into one (torch.flatten); a rank-0 tensor becomes [1].
    public func flatten(startAxis: Int = 0, endAxis: Int = -1) -> Tensor {
        if rank == 0 { return reshape([1]) }
        let s = normalizeAxis(startAxis, rank), e = normalizeAxis(endAxis, rank)
        precondition(s <= e, "flatten: startAxis \(startAxis) comes after endAxis \(endAxis) for shape \(shape)")
        return reshape(Array(shape[..<s]) + [shape[s...e].reduce(1, *)] + Array(shape[(e + 1)...]))
    }

    /// Removes axis `axis` if its size is 1; otherwise returns the tensor unchanged (as torch).
    public func squeeze(axis: Int) -> Tensor {
        if rank == 0 { return self }
        let a = normalizeAxis(axis, rank)
        guard shape[a] == 1 else { return self }
        var s = shape
        s.remove(at: a)
        return reshape(s)
    }

    /// Removes every axis of size 1.
    public func squeeze() -> Tensor { reshape(shape.filter { $0 != 1 }) }

    /// Inserts an axis of size 1 at `axis`, which may be `-rank-1...rank` (as torch).
    public func unsqueeze(axis: Int) -> Tensor {
        let a = normalizeAxis(axis, rank + 1)
        var s = shape
        s.insert(1, at: a)
        return reshape(s)
    }
}

// MARK: permute, transpose

/// Drops size-1 axes and merges axes that stay adjacent and in order, so that e.g. NHWC→NCHW
/// becomes a batched transpose [N, HW, C]→[N, C, HW]. Returns the reduced input shape and the
/// permutation of its axes.
func reducePermutation(_ shape: [Int], _ axes: [Int]) -> (shape: [Int], perm: [Int]) {
    let kept = axes.filter { shape[$0] != 1 }
    // Groups of source axes that appear consecutively in the output.
    var groups: [[Int]] = []
    for a in kept {
        if let last = groups.last?.last, a == last + 1 || (a > last && shape[(last + 1)..<a].allSatisfy { $0 == 1 }) {
            groups[groups.count - 1].append(a)
        } else {
            groups.append([a])
        }
    }
    // Order the groups by source position to number the reduced input axes.
    let bySource = groups.indices.sorted { groups[$0][0] < groups[$1][0] }
    var reducedIndex = [Int](repeating: 0, count: groups.count)
    for (i, g) in bySource.enumerated() { reducedIndex[g] = i }
    let reducedShape = bySource.map { groups[$0].reduce(1) { $0 * shape[$1] } }
    return (reducedShape, groups.indices.map { reducedIndex[$0] })
}

/// Permutes axes of a contiguous tensor into a new contiguous tensor.
func permuteKernel(_ x: Tensor, _ axes: [Int]) -> Tensor {
    let outShape = axes.map { x.shape[$0] }
    let out = Tensor(uninitializedShape: outShape)
    if x.count == 0 { return out }
    let (s, p) = reducePermutation(x.shape, axes)
    let r = s.count
    let src = x.pointer, dst = out.pointer
    if p == Array(0..<r) {
        dst.update(from: src, count: x.count)
        return out
    }
    let inStrides = contiguousStrides(s)
    let outS = p.map { s[$0] }
    if p.last == r - 1 {
        // The innermost axis stays innermost: a gather of contiguous runs (e.g. [B,N,H,D]→[B,H,N,D]).
        stridedCopy(shape: outS, src: src, srcStrides: p.map { inStrides[$0] }, dst: dst, dstStrides: contiguousStrides(outS))
        return out
    }
    // The innermost axis moves: batched 2-D transposes. `a` is the source axis that becomes the
    // output's last (stride `sa` in the source), `b` the source's last axis, at output position
    // `q` (stride `db` in the output). The other axes form the batch.
    let outStrides = contiguousStrides(outS)
    let q = p.firstIndex(of: r - 1)!
    let A = s[p[r - 1]], B = s[r - 1]
    let sa = inStrides[p[r - 1]], db = outStrides[q]
    let batchPos = (0..<(r - 1)).filter { $0 != q }
    let batchDims = batchPos.map { outS[$0] }
    let batchSrc = batchPos.map { inStrides[p[$0]] }, batchDst = batchPos.map { outStrides[$0] }
    let batch = batchDims.reduce(1, *)
    let tile = 16
    let aTiles = (A + tile - 1) / tile, bTiles = (B + tile - 1) / tile
    let items = batch * bTiles * aTiles
    parallelFor(items, grain: max(1, (1 << 14) / (tile * tile))) { range in
        for item in range {
            var rem = item
            let at = rem % aTiles; rem /= aTiles
            let bt = rem % bTiles; rem /= bTiles
            var so = 0, dOff = 0
            for d in stride(from: batchDims.count - 1, through: 0, by: -1) {
                let i = rem % batchDims[d]; rem /= batchDims[d]
                so += i * batchSrc[d]; dOff += i * batchDst[d]
            }
            let a0 = at * tile, a1 = min(a0 + tile, A)
            let b0 = bt * tile, b1 = min(b0 + tile, B)
            let sp = src + so, dp = dst + dOff
            // 16×16 floats: 16 cache lines read, 16 written, all reused within the tile.
            for b in b0..<b1 {
                let t = dp + b * db, f = sp + b
                for a in a0..<a1 { t[a] = f[a * sa] }
            }
        }
    }
    return out
}

extension Tensor {
    /// Reorders axes: output axis i is input axis `axes[i]` (torch.permute). Copies.
    public func permute(_ axes: [Int]) -> Tensor {
        precondition(axes.count == rank, "permute: \(axes.count) axes \(axes) for shape \(shape) of rank \(rank)")
        let ax = axes.map { normalizeAxis($0, rank) }
        precondition(Set(ax).count == rank, "permute: axes \(axes) are not a permutation of 0..<\(rank) (shape \(shape))")
        if ax == Array(0..<rank) { return self }
        let outShape = ax.map { shape[$0] }
        // Moving only size-1 axes changes no element order: a reshape, sharing storage.
        let reduced = reducePermutation(shape, ax).perm
        if reduced == Array(0..<reduced.count) {
            return reshape(outShape)
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, a) in ax.enumerated() { inverse[a] = i }
        return permuteKernel(self, ax).record(inputs: [self], name: "permute") { g in [permuteKernel(g, inverse)] }
    }

    /// Swaps two axes (torch.transpose). Copies.
    public func transpose(_ a: Int, _ b: Int) -> Tensor {
        var axes = Array(0..<rank)
        axes.swapAt(normalizeAxis(a, rank), normalizeAxis(b, rank))
        return permute(axes)
    }
}

// MARK: expand, repeat

extension Tensor {
    /// Broadcasts to `shape` (torch.expand, materialised): size-1 axes stretch, new axes are
    /// added in front, -1 keeps an axis. The gradient sums over the stretched axes.
    public func expand(_ shape: [Int]) -> Tensor {
        precondition(shape.count >= rank, "expand: target \(shape) has fewer axes than shape \(self.shape)")
        let lead = shape.count - rank
        let target = shape.enumerated().map { (i, d) -> Int in
            if d == -1 {
                precondition(i >= lead, "expand: -1 is not allowed for the new leading axis \(i) in \(shape)")
                return self.shape[i - lead]
            }
            return d
        }
        precondition(broadcastShape(self.shape, target) == target, "expand: shape \(self.shape) cannot be expanded to \(shape); each axis must match or be 1")
        if target == self.shape { return self }
        let inShape = self.shape
        return broadcastKernel(to: target).record(inputs: [self], name: "expand") { g in [g.sumToShape(inShape)] }
    }

    /// Tiles the tensor `times[i]` times along each axis (torch.Tensor.repeat); `times` may
    /// have more entries than the rank, which adds leading axes. The gradient sums the tiles.
    public func `repeat`(_ times: [Int]) -> Tensor {
        precondition(times.count >= rank, "repeat: \(times.count) repeat counts \(times) for shape \(shape) of rank \(rank); need at least \(rank)")
        precondition(times.allSatisfy { $0 >= 0 }, "repeat: negative count in \(times)")
        let full = [Int](repeating: 1, count: times.count - rank) + shape
        // Interleave: [1, d0, 1, d1, ...] broadcast to [t0, d0, t1, d1, ...] is the tiling.
        let small = full.flatMap { [1, $0] }
        let big = zip(times, full).flatMap { [$0, $1] }
        let outShape = zip(times, full).map { $0 * $1 }
        let inShape = shape
        let tiled = Tensor(sharing: storage, shape: small).broadcastKernel(to: big)
        return Tensor(sharing: tiled.storage, shape: outShape).record(inputs: [self], name: "repeat") { g in
            [g.reshape(big).sumToShape(small).reshape(inShape)]
        }
    }
}

// MARK: concat, stack, split, chunk

/// Joins tensors along `axis` (torch.cat); all other axes must match. The gradient splits.
public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
    precondition(!tensors.isEmpty, "concat: no tensors")
    let first = tensors[0]
    let ax = normalizeAxis(axis, first.rank)
    for t in tensors {
        precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == ax || t.shape[$0] == first.shape[$0] },
                     "concat: shapes \(tensors.map(\.shape)) differ outside axis \(axis)")
    }
    if tensors.count == 1 { return first }
    var outShape = first.shape
    outShape[ax] = tensors.reduce(0) { $0 + $1.shape[ax] }
    let out = Tensor(uninitializedShape: outShape)
    let (outer, total, inner) = splitAround(outShape, ax)
    let outRun = total * inner
    // One contiguous run per (row, input): parallel over all of them.
    let runs = tensors.map { $0.shape[ax] * inner }
    var offsets = [0]
    for r in runs.dropLast() { offsets.append(offsets.last! + r) }
    let srcs = tensors.map { $0.pointer }
    let k = tensors.count, dst = out.pointer
    parallelFor(outer * k, grain: max(1, (1 << 14) / max(outRun / k, 1))) { range in
        for item in range {
            let row = item / k, i = item % k
            (dst + row * outRun + offsets[i]).update(from: srcs[i] + row * runs[i], count: runs[i])
        }
    }
    let sizes = tensors.map { $0.shape[ax] }
    return out.record(inputs: tensors, name: "concat") { g in
        let parts = splitKernel(g, sizes: sizes, axis: ax)
        return zip(tensors, parts).map { $0.requiresGrad ? $1 : nil }
    }
}

/// Stacks same-shape tensors along a new axis `axis` (torch.stack).
public func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
    precondition(!tensors.isEmpty, "stack: no tensors")
    precondition(tensors.allSatisfy { $0.shape == tensors[0].shape }, "stack: shapes \(tensors.map(\.shape)) differ")
    let ax = normalizeAxis(axis, tensors[0].rank + 1)
    return concat(tensors.map { $0.unsqueeze(axis: ax) }, axis: ax)
}

/// Cuts `x` along `axis` into pieces of the given sizes (no autograd).
func splitKernel(_ x: Tensor, sizes: [Int], axis: Int) -> [Tensor] {
    let (outer, total, inner) = splitAround(x.shape, axis)
    let inRun = total * inner
    var start = 0
    return sizes.map { size in
        var s = x.shape
        s[axis] = size
        let piece = Tensor(uninitializedShape: s)
        let run = size * inner, src = x.pointer + start * inner, dst = piece.pointer
        parallelFor(outer, grain: max(1, (1 << 14) / max(run, 1))) { rows in
            for r in rows { (dst + r * run).update(from: src + r * inRun, count: run) }
        }
        start += size
        return piece
    }
}

extension Tensor {
    /// Cuts along `axis` into pieces of `sizes` (torch.split with a list); sizes must sum to the
    /// axis length. Each piece is differentiable on its own (its gradient is zero-padded back).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let ax = normalizeAxis(axis, rank)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[ax],
                     "split: sizes \(sizes) do not sum to \(shape[ax]), the length of axis \(axis) of shape \(shape)")
        let pieces = splitKernel(self, sizes: sizes, axis: ax)
        var start = 0
        return zip(pieces, sizes).map { piece, size in
            let before = start, after = shape[ax] - start - size
            start += size
            return piece.record(inputs: [self], name: "split") { g in [padKernel(g, axis: ax, before: before, after: after, value: 0)] }
        }
    }

    /// Cuts along `axis` into pieces of `size` (torch.split with an int); the last may be shorter.
    public func split(size: Int, axis: Int) -> [Tensor] {
        precondition(size > 0, "split: size must be positive, got \(size)")
        let d = shape[normalizeAxis(axis, rank)]
        return split(sizes: stride(from: 0, to: d, by: size).map { Swift.min(size, d - $0) }, axis: axis)
    }

    /// torch.chunk: pieces of ceil(len / n) along `axis`, the last shorter; may return fewer
    /// than `n` pieces (e.g. length 5 in 4 chunks gives sizes 2, 2, 1).
    public func chunk(_ n: Int, axis: Int) -> [Tensor] {
        precondition(n > 0, "chunk: number of chunks must be positive, got \(n)")
        let d = shape[normalizeAxis(axis, rank)]
        if d == 0 { return split(sizes: [0], axis: axis) }
        return split(size: (d + n - 1) / n, axis: axis)
    }
}

// MARK: slice, narrow

extension Tensor {
    /// `x[..., start:end:step, ...]` along `axis` with Python semantics: negative bounds count
    /// from the end and are clamped; `step` must be positive. The gradient scatters into zeros.
    public func slice(axis: Int, start: Int = 0, end: Int = Int.max, step: Int = 1) -> Tensor {
        precondition(step > 0, "slice: step must be positive, got \(step)")
        let ax = normalizeAxis(axis, rank)
        let d = shape[ax]
        func clampIndex(_ i: Int) -> Int { i < 0 ? Swift.max(i + d, 0) : Swift.min(i, d) }
        let lo = clampIndex(start), hi = clampIndex(end)
        let n = hi > lo ? (hi - lo + step - 1) / step : 0
        if lo == 0 && n == d && (step == 1 || d <= 1) { return self }
        var outShape = shape
        outShape[ax] = n
        let out = Tensor(uninitializedShape: outShape)
        let (outer, _, inner) = splitAround(shape, ax)
        stridedCopy(shape: [outer, n, inner], src: pointer + lo * inner, srcStrides: [d * inner, step * inner, 1],
                    dst: out.pointer, dstStrides: [n * inner, inner, 1])
        let inShape = shape
        return out.record(inputs: [self], name: "slice") { g in
            if step == 1 { return [padKernel(g, axis: ax, before: lo, after: d - lo - n, value: 0)] }
            let gx = Tensor.zeros(inShape)
            stridedCopy(shape: [outer, n, inner], src: g.pointer, srcStrides: [n * inner, inner, 1],
                        dst: gx.pointer + lo * inner, dstStrides: [d * inner, step * inner, 1])
            return [gx]
        }
    }

    /// `length` elements along `axis` from `start` (torch.narrow; `start` may be negative).
    public func narrow(axis: Int, start: Int, length: Int) -> Tensor {
        let d = shape[normalizeAxis(axis, rank)]
        let s = start < 0 ? start + d : start
        precondition(s >= 0 && length >= 0 && s + length <= d, "narrow: start \(start), length \(length) out of range for axis \(axis) of shape \(shape)")
        return slice(axis: axis, start: s, end: s + length)
    }
}

// MARK: pad

extension Tensor {
    /// Constant padding along one axis: `before` and `after` elements of `value`.
    public func pad(axis: Int, before: Int, after: Int, value: Float = 0) -> Tensor {
        var padding = [(Int, Int)](repeating: (0, 0), count: rank)
        padding[normalizeAxis(axis, rank)] = (before, after)
        return pad(padding, value: value)
    }

    /// Constant padding with one `(before, after)` pair per axis, in axis order (numpy.pad
    /// style, not F.pad's reversed order): NHWC spatial padding is `[(0,0),(1,1),(1,1),(0,0)]`.
    /// The gradient crops the padded gradient back.
    public func pad(_ padding: [(Int, Int)], value: Float = 0) -> Tensor {
        precondition(padding.count == rank, "pad: \(padding.count) (before, after) pairs for shape \(shape) of rank \(rank)")
        precondition(padding.allSatisfy { $0.0 >= 0 && $0.1 >= 0 }, "pad: negative padding in \(padding) (use slice to crop)")
        let padded = padding.indices.filter { padding[$0] != (0, 0) }
        if padded.isEmpty { return self }
        let out: Tensor
        if padded.count == 1 {
            let a = padded[0]
            out = padKernel(self, axis: a, before: padding[a].0, after: padding[a].1, value: value)
        } else {
            let outShape = shape.indices.map { shape[$0] + padding[$0].0 + padding[$0].1 }
            out = Tensor.full(outShape, value)
            let strides = contiguousStrides(outShape)
            let base = padding.indices.reduce(0) { $0 + padding[$1].0 * strides[$1] }
            stridedCopy(shape: shape, src: pointer, srcStrides: contiguousStrides(shape), dst: out.pointer + base, dstStrides: strides)
        }
        let starts = padding.map(\.0), inShape = shape
        return out.record(inputs: [self], name: "pad") { g in [cropKernel(g, starts: starts, shape: inShape)] }
    }
}
