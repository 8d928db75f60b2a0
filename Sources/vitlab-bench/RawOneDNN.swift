import CDNNL

// The comparison baseline: oneDNN primitives driven directly through its C API, every tensor in
// the layout the primitive likes best (format_tag_any for src, weights and dst), memory allocated
// by the library, reorders excluded. Independent of the engine's own plumbing on purpose.

enum Raw {
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var e: dnnl_engine_t?
        check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine")
        return e!
    }()
    nonisolated(unsafe) static let stream: dnnl_stream_t = {
        var s: dnnl_stream_t?
        check(dnnl_stream_create(&s, engine, dnnl_stream_default_flags.rawValue), "stream")
        return s!
    }()

    static func check(_ s: dnnl_status_t, _ what: String) {
        if s != dnnl_success { fatalError("raw oneDNN: \(what) failed with status \(s.rawValue)") }
    }

    static func dims(_ a: [Int]) -> [dnnl_dim_t] { a.map { dnnl_dim_t($0) } + [dnnl_dim_t](repeating: 0, count: 12 - a.count) }

    static func md(_ shape: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
        var m = dnnl_memory_desc_t()
        check(dnnl_memory_desc_init_by_tag(&m, Int32(shape.count), dims(shape), dnnl_f32, tag), "md")
        return m
    }
}

/// A primitive with library-allocated memory for each argument, in the layout it chose.
final class RawPrimitive {
    let primitive: dnnl_primitive_t
    let pd: dnnl_primitive_desc_t
    var args: [dnnl_exec_arg_t] = []
    let impl: String

    init(desc: UnsafeRawPointer, hint: RawPrimitive?, args ids: [Int32]) {
        var pd: dnnl_primitive_desc_t?
        Raw.check(dnnl_primitive_desc_create(&pd, desc, nil, Raw.engine, hint?.pd), "primitive_desc_create")
        self.pd = pd!
        var p: dnnl_primitive_t?
        Raw.check(dnnl_primitive_create(&p, pd), "primitive_create")
        primitive = p!
        var s: UnsafePointer<CChar>?
        Raw.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s), "impl")
        impl = String(cString: s!)
        for id in ids {
            let m = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, id)!
            var mem: dnnl_memory_t?
            Raw.check(dnnl_memory_create(&mem, m, Raw.engine, dnnl_memory_allocate()), "memory_create")
            // Fill with small values so timings do not hit denormals.
            var h: UnsafeMutableRawPointer?
            dnnl_memory_get_data_handle(mem, &h)
            let n = dnnl_memory_desc_get_size(m) / 4
            let f = h!.bindMemory(to: Float.self, capacity: n)
            for i in 0..<n { f[i] = Float(i % 7) * 0.01 - 0.03 }
            args.append(dnnl_exec_arg_t(arg: id, memory: mem))
        }
    }

    func run() {
        Raw.check(dnnl_primitive_execute(primitive, Raw.stream, Int32(args.count), args), "execute")
    }
}

/// Forward, backward-data and backward-weights (+bias) of one NHWC-shaped convolution with every
/// layout left to oneDNN.
struct RawConv {
    let fwd, bwdData, bwdWeights: RawPrimitive

    init(n: Int, h: Int, w: Int, cin: Int, cout: Int, k: Int, stride: Int, pad: Int, groups: Int) {
        let oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1
        var src = Raw.md([n, cin, h, w], dnnl_format_tag_any)
        var dst = Raw.md([n, cout, oh, ow], dnnl_format_tag_any)
        var wt = groups == 1 ? Raw.md([cout, cin, k, k], dnnl_format_tag_any) : Raw.md([groups, cout / groups, cin / groups, k, k], dnnl_format_tag_any)
        var bias = Raw.md([cout], dnnl_a)
        let s = Raw.dims([stride, stride]), d = Raw.dims([0, 0]), p = Raw.dims([pad, pad])
        var fd = dnnl_convolution_desc_t()
        Raw.check(dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src, &wt, &bias, &dst, s, d, p, p), "fwd desc")
        let f = withUnsafePointer(to: &fd) { RawPrimitive(desc: $0, hint: nil, args: [1, 33, 41, 17]) }
        fwd = f
        var bd = dnnl_convolution_desc_t()
        Raw.check(dnnl_dilated_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src, &wt, &dst, s, d, p, p), "bwd data desc")
        bwdData = withUnsafePointer(to: &bd) { RawPrimitive(desc: $0, hint: f, args: [145, 33, 129]) }
        var bw = dnnl_convolution_desc_t()
        Raw.check(dnnl_dilated_convolution_backward_weights_desc_init(&bw, dnnl_convolution_direct, &src, &wt, &bias, &dst, s, d, p, p), "bwd weights desc")
        bwdWeights = withUnsafePointer(to: &bw) { RawPrimitive(desc: $0, hint: f, args: [1, 145, 161, 169]) }
    }
}
