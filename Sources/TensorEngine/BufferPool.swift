import Foundation

/// Reuse pool for tensor memory. Training allocates the same sizes every iteration; handing a
/// freed buffer back out avoids both malloc and the page faults of fresh memory (a large part of
/// PyTorch's CPU time on these shapes). Buffers are 64-byte aligned for AVX-512 loads.
///
/// Sizes are rounded up to a size class (8 classes per power of two, so at most 12.5% waste),
/// and free buffers are kept per class. `live` counts bytes held by tensors; `peak` is its
/// high-water mark since the last `resetPeak()`.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()

    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var lock = pthread_mutex_t()
    public private(set) var liveBytes = 0
    public private(set) var peakBytes = 0
    public private(set) var cachedBytes = 0
    /// Cached (free) memory above this is returned to the system instead of kept.
    public var cacheLimitBytes = 8 << 30

    init() { pthread_mutex_init(&lock, nil) }

    /// Rounds an element count up to its size class.
    static func sizeClass(_ count: Int) -> Int {
        if count <= 64 { return 64 }
        let top = Int.bitWidth - 1 - (count - 1).leadingZeroBitCount  // floor(log2(count-1))
        let step = 1 << max(top - 3, 0)
        return (count + step - 1) / step * step
    }

    func allocate(_ count: Int, shape: [Int] = [], op: StaticString = #function) -> (UnsafeMutablePointer<Float>, Int) {
        let capacity = Self.sizeClass(count)
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Float>.stride)
        if overflow { outOfMemory(bytes: Int.max, shape: shape, op: op) }
        pthread_mutex_lock(&lock)
        liveBytes += bytes
        if liveBytes > peakBytes { peakBytes = liveBytes }
        if var list = free[capacity], let p = list.popLast() {
            free[capacity] = list
            cachedBytes -= bytes
            pthread_mutex_unlock(&lock)
            return (p, capacity)
        }
        pthread_mutex_unlock(&lock)
        var raw: UnsafeMutableRawPointer?
        if posix_memalign(&raw, 64, bytes) != 0 || raw == nil {
            // Cached buffers of other sizes may be what stands in the way: give them back and
            // try once more before giving up.
            trim()
            if posix_memalign(&raw, 64, bytes) != 0 { raw = nil }
        }
        guard let raw else {
            pthread_mutex_lock(&lock)
            liveBytes -= bytes
            pthread_mutex_unlock(&lock)
            outOfMemory(bytes: bytes, shape: shape, op: op)
        }
        return (raw.bindMemory(to: Float.self, capacity: capacity), capacity)
    }

    /// Ops return tensors, they cannot throw; an allocation that fails is the end of the
    /// process. This says which op asked for how much, next to what is already held, so the
    /// config that caused it can be fixed (`runexp validate` estimates the data side up front).
    func outOfMemory(bytes: Int, shape: [Int], op: StaticString) -> Never {
        let message = "ViTLab: out of memory: \(op) needs a tensor of shape \(shape) (\(formatBytes(bytes))) while \(formatBytes(liveBytes)) are in use. " +
            "Reduce train.batch_size, the image or crop size, or the model size."
        // Written ourselves: release builds (-Ounchecked) may drop fatalError's message.
        FileHandle.standardError.write(Data((message + "\n").utf8))
        fatalError("out of memory (see the message above)")
    }

    func release(_ pointer: UnsafeMutablePointer<Float>, capacity: Int) {
        let bytes = capacity * MemoryLayout<Float>.stride
        pthread_mutex_lock(&lock)
        liveBytes -= bytes
        if cachedBytes + bytes <= cacheLimitBytes {
            free[capacity, default: []].append(pointer)
            cachedBytes += bytes
            pthread_mutex_unlock(&lock)
        } else {
            pthread_mutex_unlock(&lock)
            Foundation.free(pointer)
        }
    }

    /// Returns every cached buffer to the system.
    public func trim() {
        pthread_mutex_lock(&lock)
        let lists = free
        free = [:]
        cachedBytes = 0
        pthread_mutex_unlock(&lock)
        for (_, list) in lists { for p in list { Foundation.free(p) } }
    }

    /// Starts a new peak measurement from the current live size.
    public func resetPeak() {
        pthread_mutex_lock(&lock)
        peakBytes = liveBytes
        pthread_mutex_unlock(&lock)
    }
}

/// The memory behind a tensor: a pooled buffer, returned to the pool when the last tensor using
/// it goes away (reshape shares storage with its input).
final class Storage {
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int

    init(count: Int, shape: [Int] = [], op: StaticString = #function) {
        (pointer, capacity) = BufferPool.shared.allocate(count, shape: shape, op: op)
    }

    deinit { BufferPool.shared.release(pointer, capacity: capacity) }
}

/// The element count of `shape`; a product beyond `Int` (a size computed from a config or a
/// file header gone wrong) is reported with the op instead of an arithmetic-overflow trap.
func elementCount(_ shape: [Int], op: StaticString) -> Int {
    var n = 1
    for d in shape {
        let (m, overflow) = n.multipliedReportingOverflow(by: d)
        if overflow { BufferPool.shared.outOfMemory(bytes: Int.max, shape: shape, op: op) }
        n = m
    }
    return n
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`.
func formatBytes(_ n: Int) -> String {
    if n == Int.max { return "more bytes than can be addressed" }
    if n >= 1 << 30 { return String(format: "%.1f GiB", Double(n) / Double(1 << 30)) }
    if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
    return "\(n) B"
}
