import CHDF5
import Foundation
@testable import DataPipeline

/// Writes tiny datasets (8×12 pixels, a few images) in each real on-disk layout, so loaders are
/// tested against the layouts users will point them at. Every image is a uniform colour derived
/// from its number `k`, and labels are patterns chosen by the test, so a test can tell which
/// image a label was paired with. Files are created in shuffled order: pairing must not depend
/// on creation or directory-listing order.
enum FixtureWriter {
    static let height = 8, width = 12

    /// A fresh temporary directory (removed by the caller's `defer`).
    static func tempRoot(_ tag: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vitlab-\(tag)-\(UUID().uuidString)", isDirectory: true)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The colour image number `k` is filled with (exact in PNG, within ±2 in JPEG).
    static func colour(_ k: Int) -> [Float] { [Float(20 * k + 10), Float(100 + 7 * k), Float(200 - 9 * k)] }

    static func image(_ k: Int) -> Image {
        var img = Image(height: height, width: width, channels: 3)
        let c = colour(k)
        for i in 0..<(height * width) { for ch in 0..<3 { img.pixels[3 * i + ch] = c[ch] } }
        return img
    }

    /// A label whose first pixels are `head` and the rest `fill`.
    static func label(_ head: [UInt8], fill: UInt8) -> LabelMap {
        var v = [UInt8](repeating: fill, count: height * width)
        for (i, x) in head.enumerated() { v[i] = x }
        return LabelMap(height: height, width: width, values: v)
    }

    static func writeImage(_ k: Int, to url: URL) throws { try DataPipeline.writeImage(image(k), to: url) }

    static func writeLabel(_ l: LabelMap, to url: URL, palette: [[UInt8]]? = nil) throws {
        try writeLabelMap(l, to: url, palette: palette)
    }

    static func touchDirectory(_ url: URL) {
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// `entries` in a random order (the seeded generator keeps failures reproducible).
    static func shuffled<T>(_ entries: [T]) -> [T] {
        var g = SplitMix(seed: 42)
        return entries.shuffled(using: &g)
    }

    // MARK: - layouts (each entry: file stem, image number k, raw label)

    /// ADEChallengeData2016/{images,annotations}/<split>/<stem>.{jpg,png}; labels as palette PNGs.
    static func ade20k(_ root: URL, split: String, _ entries: [(String, Int, LabelMap)]) throws {
        let base = root.appendingPathComponent("ADEChallengeData2016")
        for (stem, k, lab) in shuffled(entries) {
            try writeImage(k, to: base.appendingPathComponent("images/\(split)/\(stem).jpg"))
            try writeLabel(lab, to: base.appendingPathComponent("annotations/\(split)/\(stem).png"), palette: [[0, 0, 0], [120, 120, 120]])
        }
    }

    /// leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png + gtFine/.../<stem>_gtFine_{labelTrainIds|labelIds}.png.
    static func cityscapes(_ root: URL, split: String, _ entries: [(city: String, stem: String, k: Int, label: LabelMap, trainIds: Bool)]) throws {
        for e in shuffled(entries) {
            try writeImage(e.k, to: root.appendingPathComponent("leftImg8bit/\(split)/\(e.city)/\(e.stem)_leftImg8bit.png"))
            let suffix = e.trainIds ? "_gtFine_labelTrainIds.png" : "_gtFine_labelIds.png"
            try writeLabel(e.label, to: root.appendingPathComponent("gtFine/\(split)/\(e.city)/\(e.stem)\(suffix)"))
            // The colour visualisation cityscapesScripts also writes must be ignored.
            try DataPipeline.writeImage(image(e.k), to: root.appendingPathComponent("gtFine/\(split)/\(e.city)/\(e.stem)_gtFine_color.png"))
        }
    }

    /// rgb_anon/<cond>/<split>/<seq>/<stem>_rgb_anon.png + gt/<cond>/<split>/<seq>/<stem>_gt_labelTrainIds.png.
    static func acdc(_ root: URL, split: String, _ entries: [(condition: String, seq: String, stem: String, k: Int, label: LabelMap)]) throws {
        for e in shuffled(entries) {
            try writeImage(e.k, to: root.appendingPathComponent("rgb_anon/\(e.condition)/\(split)/\(e.seq)/\(e.stem)_rgb_anon.png"))
            try writeLabel(e.label, to: root.appendingPathComponent("gt/\(e.condition)/\(split)/\(e.seq)/\(e.stem)_gt_labelTrainIds.png"))
        }
    }

    /// VOCdevkit/VOC2010/{JPEGImages,SegmentationClassContext}/<stem> + ImageSets/SegmentationContext/<split>.txt.
    static func pascalContext(_ root: URL, split: String, _ entries: [(String, Int, LabelMap)], extraListed: [String] = []) throws {
        let base = root.appendingPathComponent("VOCdevkit/VOC2010")
        for (stem, k, lab) in shuffled(entries) {
            try writeImage(k, to: base.appendingPathComponent("JPEGImages/\(stem).jpg"))
            try writeLabel(lab, to: base.appendingPathComponent("SegmentationClassContext/\(stem).png"))
        }
        let list = (entries.map(\.0) + extraListed).joined(separator: "\n") + "\n"
        try writeText(list, to: base.appendingPathComponent("ImageSets/SegmentationContext/\(split).txt"))
    }

    /// images/<split>/<stem>.jpg + annotations/<split>/<stem>_labelTrainIds.png (or raw <stem>.png).
    static func cocoStuff(_ root: URL, split: String, _ entries: [(stem: String, k: Int, label: LabelMap, trainIds: Bool)]) throws {
        for e in shuffled(entries) {
            try writeImage(e.k, to: root.appendingPathComponent("images/\(split)/\(e.stem).jpg"))
            let name = e.trainIds ? "\(e.stem)_labelTrainIds.png" : "\(e.stem).png"
            try writeLabel(e.label, to: root.appendingPathComponent("annotations/\(split)/\(name)"))
        }
    }

    /// Extracted NYUv2: images/<stem>.png, labels40/<stem>.png, train.txt / test.txt.
    static func nyuv2Extracted(_ root: URL, train: [(String, Int, LabelMap)], test: [(String, Int, LabelMap)]) throws {
        for (stem, k, lab) in shuffled(train + test) {
            try writeImage(k, to: root.appendingPathComponent("images/\(stem).png"))
            try writeLabel(lab, to: root.appendingPathComponent("labels40/\(stem).png"))
        }
        try writeText(train.map(\.0).joined(separator: "\n"), to: root.appendingPathComponent("train.txt"))
        try writeText(test.map(\.0).joined(separator: "\n"), to: root.appendingPathComponent("test.txt"))
    }

    /// nyu_depth_v2_labeled.mat as MATLAB v7.3 writes it: an HDF5 file (optionally behind a
    /// 512-byte user block, as real .mat files are) with `images` N×3×W×H uint8 and `labels`
    /// N×W×H uint16, i.e. MATLAB's H×W×3×N and H×W×N in column-major order. Image n is
    /// `image(n)`; its raw label ids are `rawLabels[n]` (row-major H×W).
    static func nyuv2Mat(_ url: URL, rawLabels: [[UInt16]], userBlock: Bool = true) throws {
        let n = rawLabels.count, w = width, h = height
        var images = [UInt8](repeating: 0, count: n * 3 * w * h)
        var labels = [UInt16](repeating: 0, count: n * w * h)
        for s in 0..<n {
            let img = image(s)
            for y in 0..<h { for x in 0..<w {
                for c in 0..<3 { images[((s * 3 + c) * w + x) * h + y] = UInt8(img.pixels[(y * w + x) * 3 + c]) }
                labels[(s * w + x) * h + y] = rawLabels[s][y * w + x]
            } }
        }
        let fcpl = H5Pcreate(h5p_file_create())
        defer { H5Pclose(fcpl) }
        if userBlock { H5Pset_userblock(fcpl, 512) }
        let file = H5Fcreate(url.path, h5f_acc_trunc(), fcpl, h5p_default())
        guard file >= 0 else { throw DataError.io(path: url.path, problem: "H5Fcreate failed", remedy: "") }
        defer { H5Fclose(file) }
        func write<T>(_ name: String, _ dims: [Int], _ fileType: hid_t, _ memType: hid_t, _ data: [T]) {
            var d = dims.map { hsize_t($0) }
            let space = H5Screate_simple(Int32(d.count), &d, nil)
            let ds = H5Dcreate2(file, name, fileType, space, h5p_default(), h5p_default(), h5p_default())
            _ = data.withUnsafeBytes { H5Dwrite(ds, memType, h5s_all(), h5s_all(), h5p_default(), $0.baseAddress) }
            H5Dclose(ds); H5Sclose(space)
        }
        write("images", [n, 3, w, h], h5t_std_u8le(), h5t_native_uint8(), images)
        write("labels", [n, w, h], h5t_std_u16le(), h5t_native_uint16(), labels)
    }

    /// train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (class folders).
    static func imagenetFolders(_ root: URL, split: String, _ entries: [(wnid: String, file: String, k: Int)]) throws {
        for e in shuffled(entries) {
            try DataPipeline.writeImage(image(e.k), to: root.appendingPathComponent("\(split)/\(e.wnid)/\(e.file)").appendingPathExtension("jpg"))
            // Real ImageNet files end in .JPEG; write through a .jpg name for the codec, then rename.
            let tmp = root.appendingPathComponent("\(split)/\(e.wnid)/\(e.file).jpg")
            try FileManager.default.moveItem(at: tmp, to: root.appendingPathComponent("\(split)/\(e.wnid)/\(e.file)"))
        }
    }

    /// A flat val/ with val_labels.txt lines `<file> <class>`.
    static func imagenetFlatVal(_ root: URL, _ entries: [(file: String, k: Int, cls: String)], labelLines: [String]? = nil) throws {
        for e in shuffled(entries) {
            let tmp = root.appendingPathComponent("val/\(e.file).jpg")
            try DataPipeline.writeImage(image(e.k), to: tmp)
            try FileManager.default.moveItem(at: tmp, to: root.appendingPathComponent("val/\(e.file)"))
        }
        let lines = labelLines ?? entries.map { "\($0.file) \($0.cls)" }
        try writeText(lines.joined(separator: "\n") + "\n", to: root.appendingPathComponent("val/val_labels.txt"))
    }

    static func writeText(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }
}

/// A tiny seeded generator so fixture shuffles are reproducible.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
