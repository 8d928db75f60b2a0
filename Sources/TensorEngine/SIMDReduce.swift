/// Horizontal reductions of SIMD registers. The standard library's `sum()`, `max()`,
/// `lowHalf`/`highHalf` and `pointwiseMax` on SIMD vectors go lane by lane through dynamic lane
/// subscripts (measured: the fused upsample+argmax spent 10× its arithmetic there), so hot
/// kernels spill the register once and reduce the 16 floats with plain scalar code.

@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    var t = v
    return withUnsafeBytes(of: &t) { raw in
        let p = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        var s0: Float = 0, s1: Float = 0
        for i in stride(from: 0, to: 16, by: 2) { s0 += p[i]; s1 += p[i + 1] }
        return s0 + s1
    }
}

/// Maximum lane; a NaN lane makes the result NaN.
@inline(__always)
func horizontalMax(_ v: SIMD16<Float>) -> Float {
    var t = v
    return withUnsafeBytes(of: &t) { raw in
        let p = raw.baseAddress!.assumingMemoryBound(to: Float.self)
        var m = p[0]
        for i in 1..<16 { let x = p[i]; if x > m || x != x { m = x } }
        return m
    }
}

/// Lane-wise maximum as one compare and blend (`pointwiseMax` is a lane loop). Lanes of `a`
/// that are NaN stay NaN.
@inline(__always)
func laneMax(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> { a.replacing(with: b, where: b .> a) }

/// `dst[i] = wa·a[i] + wb·b[i]` over `n` floats, 16 lanes at a time. The scalar loop does not
/// vectorise well when its pointers come from closures (LLVM cannot rule out aliasing), and
/// this is the inner loop of every bilinear blend over a class or channel vector.
@inline(__always)
func blend2(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ wa: Float, _ b: UnsafePointer<Float>, _ wb: Float, _ n: Int) {
    var i = 0
    let va = SIMD16<Float>(repeating: wa), vb = SIMD16<Float>(repeating: wb)
    while i + 16 <= n {
        let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD16<Float>.self)
        let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD16<Float>.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: va * x + vb * y, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n { dst[i] = wa * a[i] + wb * b[i]; i += 1 }
}

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inline(__always) func load16(_ p: UnsafeMutablePointer<Float>) -> SIMD16<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self) }
@inline(__always) func store16(_ p: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self) }
