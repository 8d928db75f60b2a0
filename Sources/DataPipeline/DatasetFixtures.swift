import CHDF5
import Foundation

/// Writes datasets in each real on-disk layout: the tests' tiny fixtures (given images and
/// labels) and the loader benchmark's realistic ones (`write(type:...)`, synthetic scenes at the
/// sizes and codecs the real datasets use). One copy of the layouts, so what the loaders are
/// tested against is also what they are benchmarked on.
///
/// Layout writers take `split` as the directory name the dataset itself uses (ADE20K
/// `training`, COCO-Stuff `train2017`, ...). Files are created in a seeded shuffled order:
/// archives extract in arbitrary order, so pairing must not depend on creation or listing order.
public enum DatasetFixtures {
    /// One image/label pair: the file stem, the image and the label as stored (already in the
    /// layout's label encoding).
    public typealias Entry = (stem: String, image: Image, label: LabelMap)

    // MARK: - layouts

    /// ADEChallengeData2016/{images,annotations}/<split>/<stem>.{jpg,png}.
    public static func ade20k(_ root: URL, split: String, _ entries: [Entry], palette: [[UInt8]]? = nil) throws {
        let base = root.appendingPathComponent("ADEChallengeData2016")
        for e in shuffled(entries) {
            try writeImage(e.image, to: base.appendingPathComponent("images/\(split)/\(e.stem).jpg"))
            try writeLabelMap(e.label, to: base.appendingPathComponent("annotations/\(split)/\(e.stem).png"), palette: palette)
        }
    }

    /// leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png + gtFine/.../<stem>_gtFine_{labelTrainIds|labelIds}.png,
    /// plus the `_gtFine_color.png` visualisation cityscapesScripts also writes (loaders must
    /// ignore it) when `colourFiles`.
    public static func cityscapes(_ root: URL, split: String, _ entries: [(city: String, stem: String, image: Image, label: LabelMap, trainIds: Bool)],
                                  colourFiles: Bool = true) throws {
        for e in shuffled(entries) {
            try writeImage(e.image, to: root.appendingPathComponent("leftImg8bit/\(split)/\(e.city)/\(e.stem)_leftImg8bit.png"))
            let suffix = e.trainIds ? "_gtFine_labelTrainIds.png" : "_gtFine_labelIds.png"
            try writeLabelMap(e.label, to: root.appendingPathComponent("gtFine/\(split)/\(e.city)/\(e.stem)\(suffix)"))
            if colourFiles {
                try writeImage(colourised(e.label), to: root.appendingPathComponent("gtFine/\(split)/\(e.city)/\(e.stem)_gtFine_color.png"))
            }
        }
    }

    /// rgb_anon/<cond>/<split>/<seq>/<stem>_rgb_anon.png + gt/<cond>/<split>/<seq>/<stem>_gt_labelTrainIds.png.
    public static func acdc(_ root: URL, split: String, _ entries: [(condition: String, seq: String, stem: String, image: Image, label: LabelMap)]) throws {
        for e in shuffled(entries) {
            try writeImage(e.image, to: root.appendingPathComponent("rgb_anon/\(e.condition)/\(split)/\(e.seq)/\(e.stem)_rgb_anon.png"))
            try writeLabelMap(e.label, to: root.appendingPathComponent("gt/\(e.condition)/\(split)/\(e.seq)/\(e.stem)_gt_labelTrainIds.png"))
        }
    }

    /// VOCdevkit/VOC2010/{JPEGImages,SegmentationClassContext}/<stem> + ImageSets/SegmentationContext/<split>.txt
    /// listing the entries and then `extraListed` (names with no files, to test that error).
    public static func pascalContext(_ root: URL, split: String, _ entries: [Entry], extraListed: [String] = []) throws {
        let base = root.appendingPathComponent("VOCdevkit/VOC2010")
        for e in shuffled(entries) {
            try writeImage(e.image, to: base.appendingPathComponent("JPEGImages/\(e.stem).jpg"))
            try writeLabelMap(e.label, to: base.appendingPathComponent("SegmentationClassContext/\(e.stem).png"))
        }
        let list = (entries.map(\.stem) + extraListed).joined(separator: "\n") + "\n"
        try writeText(list, to: base.appendingPathComponent("ImageSets/SegmentationContext/\(split).txt"))
    }

    /// images/<split>/<stem>.jpg + annotations/<split>/<stem>_labelTrainIds.png (or raw <stem>.png).
    public static func cocoStuff(_ root: URL, split: String, _ entries: [(stem: String, image: Image, label: LabelMap, trainIds: Bool)]) throws {
        for e in shuffled(entries) {
            try writeImage(e.image, to: root.appendingPathComponent("images/\(split)/\(e.stem).jpg"))
            let name = e.trainIds ? "\(e.stem)_labelTrainIds.png" : "\(e.stem).png"
            try writeLabelMap(e.label, to: root.appendingPathComponent("annotations/\(split)/\(name)"))
        }
    }

    /// Extracted NYUv2: images/<stem>.png, labels40/<stem>.png (0 unlabelled, 1…40), train.txt / test.txt.
    public static func nyuv2Extracted(_ root: URL, train: [Entry], test: [Entry]) throws {
        for e in shuffled(train + test) {
            try writeImage(e.image, to: root.appendingPathComponent("images/\(e.stem).png"))
            try writeLabelMap(e.label, to: root.appendingPathComponent("labels40/\(e.stem).png"))
        }
        try writeText(train.map(\.stem).joined(separator: "\n"), to: root.appendingPathComponent("train.txt"))
        try writeText(test.map(\.stem).joined(separator: "\n"), to: root.appendingPathComponent("test.txt"))
    }

    /// nyu_depth_v2_labeled.mat as MATLAB v7.3 writes it: an HDF5 file (optionally behind a
    /// 512-byte user block, as real .mat files are) with `images` N×3×W×H uint8 and `labels`
    /// N×W×H uint16, i.e. MATLAB's H×W×3×N and H×W×N in column-major order. `rawLabels[n]` are
    /// image n's raw NYU label ids, row-major H×W. All images must have one size.
    public static func nyuv2Mat(_ url: URL, images imgs: [Image], rawLabels: [[UInt16]], userBlock: Bool = true) throws {
        precondition(imgs.count == rawLabels.count && !imgs.isEmpty, "DatasetFixtures.nyuv2Mat: \(imgs.count) images for \(rawLabels.count) labels")
        let n = imgs.count, w = imgs[0].width, h = imgs[0].height
        var images = [UInt8](repeating: 0, count: n * 3 * w * h)
        var labels = [UInt16](repeating: 0, count: n * w * h)
        for s in 0..<n {
            let img = imgs[s]
            precondition(img.height == h && img.width == w && img.channels == 3 && rawLabels[s].count == h * w,
                         "DatasetFixtures.nyuv2Mat: image \(s) is \(img.height)×\(img.width)×\(img.channels), expected \(h)×\(w)×3 like image 0")
            for y in 0..<h { for x in 0..<w {
                for c in 0..<3 { images[((s * 3 + c) * w + x) * h + y] = UInt8(min(max(img.pixels[(y * w + x) * 3 + c].rounded(), 0), 255)) }
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

    /// <split>/<wnid>/<file> class folders; `file` keeps its name (real ImageNet ends in .JPEG).
    public static func imagenetFolders(_ root: URL, split: String, _ entries: [(wnid: String, file: String, image: Image)]) throws {
        for e in shuffled(entries) {
            try writeJPEG(e.image, to: root.appendingPathComponent("\(split)/\(e.wnid)/\(e.file)"))
        }
    }

    /// A flat val/ with a label file of lines `<file> <class>` (`labelLines` overrides them).
    public static func imagenetFlatVal(_ root: URL, _ entries: [(file: String, image: Image, cls: String)], labelLines: [String]? = nil) throws {
        for e in shuffled(entries) { try writeJPEG(e.image, to: root.appendingPathComponent("val/\(e.file)")) }
        let lines = labelLines ?? entries.map { "\($0.file) \($0.cls)" }
        try writeText(lines.joined(separator: "\n") + "\n", to: root.appendingPathComponent("val/val_labels.txt"))
    }

    public static func writeText(_ text: String, to url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    // MARK: - realistic datasets

    /// The dataset types `write(type:...)` knows; `nyuv2` is the extracted images/labels40 layout.
    public static let types = ["ade20k", "cityscapes", "pascal_context", "coco_stuff", "nyuv2", "acdc", "imagenet"]

    /// The image size and codec of a typical file of each real dataset: ADE20K short side 512
    /// (as resized by the challenge), Cityscapes 1024×2048 and ACDC 1080×1920 PNG, Pascal
    /// VOC/ImageNet ~375×500 JPEG, COCO 480×640 JPEG, NYUv2 480×640 PNG.
    public static func typicalSize(_ type: String) -> SizeHW {
        switch type {
        case "ade20k": return SizeHW(height: 512, width: 683)
        case "cityscapes": return SizeHW(height: 1024, width: 2048)
        case "acdc": return SizeHW(height: 1080, width: 1920)
        case "pascal_context", "imagenet": return SizeHW(height: 375, width: 500)
        case "coco_stuff", "nyuv2": return SizeHW(height: 480, width: 640)
        default: preconditionFailure("DatasetFixtures.typicalSize: unknown type '\(type)', expected one of \(types)")
        }
    }

    /// Writes `count` synthetic scenes (SyntheticDataset, 6 classes; for `imagenet` its
    /// classification task with 4 classes) of `size` (default `typicalSize(type)`) under `root`
    /// in the layout of `type`, as its `train` split, with labels in the layout's encoding
    /// (ADE20K and NYUv2 1-based with 0 unlabelled, the others train ids). Scenes rather than
    /// flat colours because codec cost depends on content. `makeDataset(type:root:split: "train")`
    /// reads it back with `options(for: type)`. ACDC needs `count` ≥ 4 (every condition).
    public static func write(type: String, root: URL, count: Int, size: SizeHW? = nil, seed: UInt64 = 0) throws {
        precondition(count >= 1, "DatasetFixtures.write: count must be ≥ 1, got \(count)")
        // The ACDC loader expects every weather condition, as the real dataset has.
        precondition(type != "acdc" || count >= 4, "DatasetFixtures.write: acdc needs count ≥ 4 (one image per condition), got \(count)")
        let size = size ?? typicalSize(type)
        let isClassification = type == "imagenet"
        let scenes = try SyntheticDataset(config: .init(numClasses: isClassification ? 4 : 6, imageSize: size, length: count, seed: seed,
                                                        task: isClassification ? .classification : .segmentation))
        // Scenes are generated one at a time so a dataset of large images is never all in memory.
        func sample(_ i: Int) throws -> Sample { try scenes.load(i) }
        func label(_ s: Sample, plus offset: UInt8) -> LabelMap {
            var l = s.label!
            if offset != 0 { for i in l.values.indices { l.values[i] &+= offset } }
            return l
        }
        for i in 0..<count {
            let s = try sample(i)
            switch type {
            case "ade20k":
                try ade20k(root, split: "training", [(String(format: "ADE_train_%08d", i + 1), s.image, label(s, plus: 1))])
            case "cityscapes":
                let city = ["aachen", "bochum", "bremen"][i % 3]
                try cityscapes(root, split: "train", [(city, "\(city)_" + String(format: "%06d_000019", i), s.image, label(s, plus: 0), true)],
                               colourFiles: false)
            case "acdc":
                let cond = ["fog", "night", "rain", "snow"][i % 4]
                try acdc(root, split: "train", [(cond, "GOPR0475", String(format: "GOPR0475_frame_%06d", i), s.image, label(s, plus: 0))])
            case "pascal_context":
                let base = root.appendingPathComponent("VOCdevkit/VOC2010")
                try writeImage(s.image, to: base.appendingPathComponent(String(format: "JPEGImages/2008_%06d.jpg", i)))
                try writeLabelMap(label(s, plus: 0), to: base.appendingPathComponent(String(format: "SegmentationClassContext/2008_%06d.png", i)))
            case "coco_stuff":
                try cocoStuff(root, split: "train2017", [(String(format: "%012d", i), s.image, label(s, plus: 0), true)])
            case "nyuv2":
                try writeImage(s.image, to: root.appendingPathComponent(String(format: "images/%06d.png", i)))
                try writeLabelMap(label(s, plus: 1), to: root.appendingPathComponent(String(format: "labels40/%06d.png", i)))
            case "imagenet":
                let wnid = String(format: "n%08d", 1_440_764 + s.classIndex!)
                try imagenetFolders(root, split: "train", [(wnid, "\(wnid)_\(i).JPEG", s.image)])
            default:
                preconditionFailure("DatasetFixtures.write: unknown type '\(type)', expected one of \(types)")
            }
        }
        // The index files list every entry, so they are written once at the end.
        let stems: (String) -> String = { fmt in (0..<count).map { String(format: fmt, $0) }.joined(separator: "\n") + "\n" }
        if type == "pascal_context" {
            try writeText(stems("2008_%06d"), to: root.appendingPathComponent("VOCdevkit/VOC2010/ImageSets/SegmentationContext/train.txt"))
        } else if type == "nyuv2" {
            try writeText(stems("%06d"), to: root.appendingPathComponent("train.txt"))
            try writeText("", to: root.appendingPathComponent("test.txt"))
        }
    }

    /// Options `makeDataset` needs to read what `write(type:...)` wrote: the generated ImageNet
    /// has 4 class folders, not the 1000 of datasets/imagenet.yaml.
    public static func options(for type: String) -> DatasetOptions {
        type == "imagenet" ? DatasetOptions(classesFromFolders: true) : DatasetOptions()
    }

    // MARK: - helpers

    /// Writes a JPEG under any file name: the codec picks the format from the extension, and
    /// real ImageNet files end in `.JPEG` (or have none).
    static func writeJPEG(_ image: Image, to url: URL) throws {
        let ext = url.pathExtension.lowercased()
        if ext == "jpg" || ext == "jpeg" { try writeImage(image, to: url); return }
        let tmp = url.appendingPathExtension("jpg")
        try writeImage(image, to: tmp)
        try FileManager.default.moveItem(at: tmp, to: url)
    }

    /// A colour per class (stands in for the dataset palette: loaders never read these files).
    static func colourised(_ label: LabelMap) -> Image {
        var img = Image(height: label.height, width: label.width, channels: 3)
        for (i, v) in label.values.enumerated() {
            let x = Int(v)
            img.pixels[3 * i] = Float((x * 67) & 255); img.pixels[3 * i + 1] = Float((x * 151) & 255); img.pixels[3 * i + 2] = Float((x * 29) & 255)
        }
        return img
    }

    static func shuffled<T>(_ entries: [T]) -> [T] {
        var g = SplitMix(seed: 42)
        return entries.shuffled(using: &g)
    }
}

/// A tiny seeded generator so fixture write orders are reproducible.
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
