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

    func allocate(_ count: Int) -> (UnsafeMutablePointer<Float>, Int) {
        let capacity = Self.sizeClass(count)
        let bytes = capacity * MemoryLayout<Float>.stride
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
        guard posix_memalign(&raw, 64, bytes) == 0, let raw else {
            fatalError("ViTLab: out of memory allocating \(bytes) bytes for a tensor")
        }
        return (raw.bindMemory(to: Float.self, capacity: capacity), capacity)
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

    init(count: Int) {
        (pointer, capacity) = BufferPool.shared.allocate(count)
    }

    deinit { BufferPool.shared.release(pointer, capacity: capacity) }
}
