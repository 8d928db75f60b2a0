import TensorEngine

/// A decoded image: `height × width × channels` interleaved (HWC, the layout codecs produce and
/// the engine's NHWC batches use). Values are floats in the 0…255 range until `normalize`
/// rescales them; keeping one element type through the pipeline lets photometric transforms
/// work without conversions.
public struct Image: Equatable {
    public var height: Int
    public var width: Int
    public var channels: Int
    public var pixels: [Float]

    public init(height: Int, width: Int, channels: Int, pixels: [Float]) {
        precondition(pixels.count == height * width * channels,
                     "Image: \(pixels.count) values do not fill \(height)×\(width)×\(channels)")
        self.height = height; self.width = width; self.channels = channels; self.pixels = pixels
    }

    public init(height: Int, width: Int, channels: Int, fill: Float = 0) {
        self.init(height: height, width: width, channels: channels, pixels: [Float](repeating: fill, count: height * width * channels))
    }
}

/// A per-pixel class map (`height × width`), values are class indices or `LabelMap.ignore`.
public struct LabelMap: Equatable {
    /// The label value that marks pixels excluded from loss and metrics.
    public static let ignore: UInt8 = 255

    public var height: Int
    public var width: Int
    public var values: [UInt8]

    public init(height: Int, width: Int, values: [UInt8]) {
        precondition(values.count == height * width, "LabelMap: \(values.count) values do not fill \(height)×\(width)")
        self.height = height; self.width = width; self.values = values
    }

    public init(height: Int, width: Int, fill: UInt8 = LabelMap.ignore) {
        self.init(height: height, width: width, values: [UInt8](repeating: fill, count: height * width))
    }
}

/// One training or evaluation example as it flows through the transforms.
public struct Sample {
    public var image: Image
    /// Segmentation target (nil for classification).
    public var label: LabelMap?
    /// Classification target (nil for segmentation).
    public var classIndex: Int?
    /// Where the example came from (the image path, or `synthetic:<index>`), for messages and
    /// for naming saved predictions.
    public var source: String
    /// Size of the image as loaded, before any transform (metrics resize predictions to it).
    public var originalSize: (height: Int, width: Int)

    public init(image: Image, label: LabelMap? = nil, classIndex: Int? = nil, source: String) {
        self.image = image; self.label = label; self.classIndex = classIndex; self.source = source
        self.originalSize = (image.height, image.width)
    }
}

/// A dataset: a fixed, ordered list of examples that can be loaded by index from any thread.
public protocol Dataset: AnyObject {
    /// Number of examples in the selected split.
    var count: Int { get }
    /// Class names, in label order.
    var classNames: [String] { get }
    /// Loads and decodes example `index` (no transforms). Throws a `DataError` naming the file.
    func load(_ index: Int) throws -> Sample
}
