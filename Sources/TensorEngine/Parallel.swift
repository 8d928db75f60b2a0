import Foundation
import CDNNL

/// Thread control for the whole engine. oneDNN runs on libgomp's OpenMP pool; our own loops run
/// on that same pool (through `GOMP_parallel`, the entry point `#pragma omp parallel` compiles
/// to), so exactly one set of worker threads exists and two pools never fight over the cores.
public enum Engine {
    /// Number of threads for oneDNN and for the engine's loops. Set it before heavy work;
    /// defaults to `VITLAB_THREADS`, else OpenMP's default (the core count or `OMP_NUM_THREADS`).
    public static var threads: Int {
        get { _threads }
        set {
            precondition(newValue >= 1, "Engine.threads must be at least 1, got \(newValue)")
            _threads = newValue
            omp_set_num_threads(Int32(newValue))
        }
    }

    nonisolated(unsafe) static var _threads: Int = {
        var n = Int(omp_get_max_threads())
        if let s = getenv("VITLAB_THREADS"), let v = Int(String(cString: s)), v >= 1 { n = v }
        omp_set_num_threads(Int32(n))
        return n
    }()
}

private final class ParallelBody {
    let body: (Int, Int) -> Void
    init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
}

/// Runs `body(thread, threadCount)` once on each of `threads` OpenMP threads.
func runOnThreads(_ threads: Int, _ body: (Int, Int) -> Void) {
    if threads <= 1 { body(0, 1); return }
    withoutActuallyEscaping(body) { escaping in
        let box = Unmanaged.passRetained(ParallelBody(escaping))
        GOMP_parallel({ ctx in
            let b = Unmanaged<ParallelBody>.fromOpaque(ctx!).takeUnretainedValue()
            b.body(Int(omp_get_thread_num()), Int(omp_get_num_threads()))
        }, box.toOpaque(), UInt32(threads), 0)
        box.release()
    }
}

/// Splits `0..<count` into one contiguous chunk per thread and runs `body` on each chunk.
/// Work smaller than `grain` items per thread runs inline: a parallel region costs a few µs.
/// Public so that other modules' loops (optimizers, loaders' collation) share the one pool.
@inline(__always)
public func parallelFor(_ count: Int, grain: Int = 4096, _ body: (Range<Int>) -> Void) {
    let threads = min(Engine.threads, count / max(grain, 1))
    if threads <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    runOnThreads(threads) { t, n in
        let lo = count * t / n, hi = count * (t + 1) / n
        if lo < hi { body(lo..<hi) }
    }
}
