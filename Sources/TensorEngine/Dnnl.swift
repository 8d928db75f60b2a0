import CDNNL

// oneDNN plumbing: one CPU engine and stream, memory descriptors from dims + tag or strides,
// primitives that remember their argument memories, reorders, and a cache so each primitive is
// created once per shape (creation JIT-compiles code and costs 0.1–10 ms; execution is µs).
// The engine calls oneDNN from one thread at a time; oneDNN parallelises inside on the OpenMP
// pool that `parallelFor` shares.

/// Execution-argument ids (C macros the Swift importer drops).
enum DnnlArg {
    static let src: Int32 = 1
    static let dst: Int32 = 17
    static let weights: Int32 = 33
    static let bias: Int32 = 41
    static let scratchpad: Int32 = 80
    static let diffSrc: Int32 = 129
    static let diffDst: Int32 = 145
    static let diffWeights: Int32 = 161
    static let diffBias: Int32 = 169
}

enum Dnnl {
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "dnnl_engine_create")
        return e!
    }()

    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "dnnl_stream_create")
        return s!
    }()

    /// Fails with the operation and the status name; oneDNN errors here are programmer errors
    /// (unsupported geometry) or out-of-memory, neither of which a caller can recover from.
    /// `fatalError`, not `precondition`: this module builds with -Ounchecked, which drops the latter.
    @inline(__always)
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        if status != dnnl_success { fatalError("oneDNN: \(what()) failed with \(statusName(status))") }
    }

    static func statusName(_ s: dnnl_status_t) -> String {
        switch s {
        case dnnl_success: return "dnnl_success"
        case dnnl_out_of_memory: return "dnnl_out_of_memory"
        case dnnl_invalid_arguments: return "dnnl_invalid_arguments"
        case dnnl_unimplemented: return "dnnl_unimplemented"
        case dnnl_iterator_ends: return "dnnl_iterator_ends"
        case dnnl_runtime_error: return "dnnl_runtime_error"
        case dnnl_not_required: return "dnnl_not_required"
        default: return "dnnl_status(\(s.rawValue))"
        }
    }

    // MARK: memory descriptors

    /// A `dnnl_dims_t` argument (a C array of 12). Passed as a Swift array, which hands C a pointer
    /// to all of its elements; `&tuple.0` would only guarantee the first one under optimisation.
    static func dims(_ a: [Int]) -> [dnnl_dim_t] {
        precondition(a.count <= Int(DNNL_MAX_NDIMS), "oneDNN supports at most \(DNNL_MAX_NDIMS) dimensions, got \(a)")
        return a.map { dnnl_dim_t($0) } + [dnnl_dim_t](repeating: 0, count: Int(DNNL_MAX_NDIMS) - a.count)
    }

    /// A float32 memory descriptor with a format tag (`dnnl_format_tag_any` lets the primitive choose).
    static func memoryDesc(_ shape: [Int], tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&md, Int32(shape.count), dims(shape), dnnl_f32, tag), "memory_desc_init_by_tag(\(shape))")
        return md
    }

    /// A float32 memory descriptor with explicit element strides (transposed views of our tensors).
    static func memoryDesc(_ shape: [Int], strides: [Int]) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_strides(&md, Int32(shape.count), dims(shape), dnnl_f32, dims(strides)), "memory_desc_init_by_strides(\(shape), \(strides))")
        return md
    }

    /// Passes a pointer to `md`, or nil for an absent descriptor (optional bias arguments).
    static func withOptional<R>(_ md: dnnl_memory_desc_t?, _ body: (UnsafePointer<dnnl_memory_desc_t>?) -> R) -> R {
        guard let md else { return body(nil) }
        return withUnsafePointer(to: md) { body($0) }
    }

    static func equal(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
        var a = a, b = b
        return dnnl_memory_desc_equal(&a, &b) != 0
    }

    /// Bytes a memory descriptor covers (blocked layouts include their padding).
    static func byteSize(_ md: dnnl_memory_desc_t) -> Int {
        var md = md
        return Int(dnnl_memory_desc_get_size(&md))
    }
}

/// A created primitive with one memory object per execution argument. Each execution only swaps
/// the data handles, so calling it costs no allocation inside oneDNN.
final class DnnlPrimitive {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// The implementation oneDNN chose, e.g. "brgconv:avx512_core", "jit_dw:avx512_core", "gemm:jit".
    let implName: String
    private let argIds: [Int32]
    private let memories: [dnnl_memory_t]

    /// Creates the primitive from an op descriptor (`opDesc` points at a dnnl_*_desc_t);
    /// `args` lists the execution arguments in the order `execute` will receive pointers.
    init(_ what: String, opDesc: UnsafeRawPointer, hint: DnnlPrimitive? = nil, args: [Int32]) {
        var pd: dnnl_primitive_desc_t?
        Dnnl.check(dnnl_primitive_desc_create(&pd, opDesc, nil, Dnnl.engine, hint?.pd), "primitive_desc_create(\(what))")
        self.pd = pd!
        var p: dnnl_primitive_t?
        Dnnl.check(dnnl_primitive_create(&p, pd), "primitive_create(\(what))")
        primitive = p!
        implName = Self.implName(of: pd!)
        argIds = args
        memories = args.map { arg in
            let md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg)!
            var m: dnnl_memory_t?
            Dnnl.check(dnnl_memory_create(&m, md, Dnnl.engine, nil), "memory_create(\(what), arg \(arg))")
            return m!
        }
    }

    /// A reorder between two layouts of the same tensor.
    convenience init(reorderFrom src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) {
        var src = src, dst = dst
        var pd: dnnl_primitive_desc_t?
        Dnnl.check(dnnl_reorder_primitive_desc_create(&pd, &src, Dnnl.engine, &dst, Dnnl.engine, nil), "reorder_primitive_desc_create")
        self.init(reorderPD: pd!)
    }

    private init(reorderPD pd: dnnl_primitive_desc_t) {
        self.pd = pd
        var p: dnnl_primitive_t?
        Dnnl.check(dnnl_primitive_create(&p, pd), "primitive_create(reorder)")
        primitive = p!
        implName = Self.implName(of: pd)
        argIds = [DnnlArg.src, DnnlArg.dst]
        memories = argIds.map { arg in
            let md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg)!
            var m: dnnl_memory_t?
            Dnnl.check(dnnl_memory_create(&m, md, Dnnl.engine, nil), "memory_create(reorder)")
            return m!
        }
    }

    deinit {
        for m in memories { dnnl_memory_destroy(m) }
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    private static func implName(of pd: dnnl_primitive_desc_t) -> String {
        var s: UnsafePointer<CChar>?
        Dnnl.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s), "query impl_info_str")
        return s.map { String(cString: $0) } ?? "?"
    }

    /// The memory descriptor the primitive expects for an argument (e.g. its chosen weights layout).
    func md(_ arg: Int32) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg)!.pointee
    }

    /// Run on the calling thread alone: for tiny work (weight reorders) a parallel region's fork
    /// and join cost more than the work, and a descheduled worker stalls the join.
    var serial = false

    /// Runs the primitive on raw buffers, one per argument in the order given at creation.
    func execute(_ pointers: [UnsafeMutableRawPointer]) {
        if serial { omp_set_num_threads(1) }
        defer { if serial { omp_set_num_threads(Int32(Engine.threads)) } }
        precondition(pointers.count == argIds.count, "DnnlPrimitive.execute: \(pointers.count) buffers for \(argIds.count) arguments")
        var args = [dnnl_exec_arg_t]()
        args.reserveCapacity(argIds.count)
        for i in 0..<argIds.count {
            Dnnl.check(dnnl_memory_set_data_handle_v2(memories[i], pointers[i], Dnnl.stream), "memory_set_data_handle")
            args.append(dnnl_exec_arg_t(arg: argIds[i], memory: memories[i]))
        }
        Dnnl.check(dnnl_primitive_execute(primitive, Dnnl.stream, Int32(args.count), args), "primitive_execute(\(implName))")
    }
}

/// Primitives (or bundles of them) keyed by op kind and integer parameters. Shapes in a model
/// repeat every iteration, so after the first step every lookup hits.
enum PrimitiveCache {
    struct Key: Hashable {
        let kind: String
        let params: [Int]
    }

    nonisolated(unsafe) private static var table: [Key: AnyObject] = [:]

    static func get<T: AnyObject>(_ kind: String, _ params: [Int], make: () -> T) -> T {
        let key = Key(kind: kind, params: params)
        if let hit = table[key] { return hit as! T }
        let made = make()
        table[key] = made
        return made
    }

    /// Number of cached entries (tests check that repeated calls reuse primitives).
    static var count: Int { table.count }

    /// Drops every cached primitive (frees their JIT code and memory objects).
    static func clear() { table.removeAll() }
}

extension Tensor {
    /// The data pointer as oneDNN wants it.
    var raw: UnsafeMutableRawPointer { UnsafeMutableRawPointer(pointer) }
}
