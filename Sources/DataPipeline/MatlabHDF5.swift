import CHDF5
import Foundation

/// Serialises this module's HDF5 calls: Debian's serial libhdf5 is not built thread-safe and
/// loaders are called from several worker threads.
let hdf5Lock = NSLock()

/// Runs `body` under the HDF5 lock with HDF5's automatic error printing off (we turn failures
/// into `DataError`s with a message of our own; the library's stack dump on stderr would only
/// bury it). The previous error handler is restored afterwards.
func withQuietHDF5<T>(_ body: () throws -> T) rethrows -> T {
    hdf5Lock.lock(); defer { hdf5Lock.unlock() }
    var handler: H5E_auto2_t? = nil
    var data: UnsafeMutableRawPointer? = nil
    H5Eget_auto2(h5e_default(), &handler, &data)
    H5Eset_auto2(h5e_default(), nil, nil)
    defer { H5Eset_auto2(h5e_default(), handler, data) }
    return try body()
}

/// The NYU Depth v2 labeled file, `nyu_depth_v2_labeled.mat`: MATLAB v7.3, i.e. HDF5 (with a
/// 512-byte user block, which the HDF5 library skips by itself). MATLAB writes column-major
/// arrays, so HDF5 sees every shape reversed: `images` is N×3×W×H (uint8) and `labels` N×W×H
/// (uint16 raw class ids, 0 = unlabelled). Samples are read one hyperslab at a time; the file
/// holds 2.8 GB and is never loaded whole.
final class NYUv2MatFile {
    let path: String
    let count: Int, width: Int, height: Int
    private let file: hid_t, images: hid_t, labels: hid_t

    init(url: URL) throws {
        path = url.path
        let path = self.path
        func corrupt(_ problem: String) -> DataError {
            .corruptFile(path: path, problem: problem,
                         remedy: "Use the official nyu_depth_v2_labeled.mat (MATLAB v7.3 / HDF5) from the NYU Depth v2 site, or the extracted images/ + labels40/ layout")
        }
        (file, images, labels, count, width, height) = try withQuietHDF5 {
            guard H5Fis_hdf5(path) > 0 else { throw corrupt("not an HDF5 (MATLAB v7.3) file") }
            let f = H5Fopen(path, h5f_acc_rdonly(), h5p_default())
            guard f >= 0 else { throw corrupt("the HDF5 file cannot be opened") }
            let img = H5Dopen2(f, "images", h5p_default())
            let lab = H5Dopen2(f, "labels", h5p_default())
            func close() { if img >= 0 { H5Dclose(img) }; if lab >= 0 { H5Dclose(lab) }; H5Fclose(f) }
            guard img >= 0, lab >= 0 else { close(); throw corrupt("datasets 'images' and 'labels' are both required") }
            let di = Self.dims(img), dl = Self.dims(lab)
            guard di.count == 4, di[1] == 3, dl.count == 3, dl[0] == di[0], dl[1] == di[2], dl[2] == di[3], di[0] > 0 else {
                close()
                throw corrupt("'images' is \(di) and 'labels' is \(dl); expected N×3×W×H and N×W×H (MATLAB's 480×640×3×N and 480×640×N, transposed)")
            }
            return (f, img, lab, di[0], di[2], di[3])
        }
    }

    deinit {
        withQuietHDF5 { _ = H5Dclose(images); _ = H5Dclose(labels); _ = H5Fclose(file) }
    }

    private static func dims(_ dataset: hid_t) -> [Int] {
        let space = H5Dget_space(dataset)
        defer { H5Sclose(space) }
        let rank = Int(H5Sget_simple_extent_ndims(space))
        guard rank > 0 else { return [] }
        var d = [hsize_t](repeating: 0, count: rank)
        H5Sget_simple_extent_dims(space, &d, nil)
        return d.map(Int.init)
    }

    /// Reads element `n` (0-based) as an RGB image (HWC) and its raw label ids (row-major H×W).
    func sample(_ n: Int) throws -> (image: Image, rawLabels: [UInt16]) {
        precondition(n >= 0 && n < count, "NYUv2MatFile: index \(n) outside 0..<\(count)")
        let w = width, h = height
        var rgb = [UInt8](repeating: 0, count: 3 * w * h)
        var raw = [UInt16](repeating: 0, count: w * h)
        let ok = withQuietHDF5 { () -> Bool in
            let a = rgb.withUnsafeMutableBytes { read(self.images, start: [n, 0, 0, 0], count: [1, 3, w, h], type: h5t_native_uint8(), into: $0.baseAddress!) }
            let b = raw.withUnsafeMutableBytes { read(self.labels, start: [n, 0, 0], count: [1, w, h], type: h5t_native_uint16(), into: $0.baseAddress!) }
            return a && b
        }
        guard ok else {
            throw DataError.corruptFile(path: path, problem: "reading image \(n + 1) failed (damaged or truncated file)",
                                        remedy: "Re-download nyu_depth_v2_labeled.mat")
        }
        // Undo MATLAB's column-major order: stored [c][x][y], wanted [y][x][c] and [y][x].
        var pixels = [Float](repeating: 0, count: 3 * w * h)
        var ids = [UInt16](repeating: 0, count: w * h)
        rgb.withUnsafeBufferPointer { s in
            pixels.withUnsafeMutableBufferPointer { d in
                for c in 0..<3 { for x in 0..<w { for y in 0..<h { d[(y * w + x) * 3 + c] = Float(s[(c * w + x) * h + y]) } } }
            }
        }
        raw.withUnsafeBufferPointer { s in
            ids.withUnsafeMutableBufferPointer { d in
                for x in 0..<w { for y in 0..<h { d[y * w + x] = s[x * h + y] } }
            }
        }
        return (Image(height: h, width: w, channels: 3, pixels: pixels), ids)
    }

    private func read(_ dataset: hid_t, start: [Int], count: [Int], type: hid_t, into buffer: UnsafeMutableRawPointer) -> Bool {
        let fileSpace = H5Dget_space(dataset)
        defer { H5Sclose(fileSpace) }
        var s = start.map { hsize_t($0) }, c = count.map { hsize_t($0) }
        guard H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &s, nil, &c, nil) >= 0 else { return false }
        var total = [hsize_t(count.reduce(1, *))]
        let memSpace = H5Screate_simple(1, &total, nil)
        defer { H5Sclose(memSpace) }
        return H5Dread(dataset, type, memSpace, fileSpace, h5p_default(), buffer) >= 0
    }
}
