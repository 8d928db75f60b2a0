import Foundation
import TensorEngine

/// Rejects keys a config struct does not read: a misspelt `cat_max_ration` would otherwise be
/// silently replaced by its default and the run would train with the wrong recipe.
func rejectUnknownKeys<K: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: K.Type) throws {
    let c = try decoder.container(keyedBy: AnyConfigKey.self)
    let known = K.allCases.map(\.stringValue)
    for key in c.allKeys where !known.contains(key.stringValue) {
        throw ConfigValueError(path: decoder.codingPath + [key], message: "unknown key '\(key.stringValue)' (known: \(known.filter { $0 != "type" }.joined(separator: ", ")))",
                              suggestion: nearestName(to: key.stringValue, in: known))
    }
}

/// A 2-D size written either as one integer (square) or as `[height, width]` — the order of
/// mmseg's `crop_size` and `Pad(size=...)` and of torchvision's sizes.
public struct SizeHW: Decodable, Equatable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) { self.height = height; self.width = width }
    public init(_ side: Int) { self.init(height: side, width: side) }

    public init(from decoder: Decoder) throws {
        if let side = try? decoder.singleValueContainer().decode(Int.self) {
            self.init(side)
        } else {
            var c = try decoder.unkeyedContainer()
            guard c.count == 2 else {
                throw ConfigValueError(path: decoder.codingPath, message: "a size is one integer or [height, width], got \(c.count ?? 0) values")
            }
            self.init(height: try c.decode(Int.self), width: try c.decode(Int.self))
        }
        guard height >= 1 && width >= 1 else {
            throw ConfigValueError(path: decoder.codingPath, message: "size must be positive, got \(height)×\(width)")
        }
        guard height <= Self.maximumSide && width <= Self.maximumSide else {
            throw ConfigValueError(path: decoder.codingPath, message: Self.tooLarge("\(height)×\(width)"))
        }
    }

    /// The largest side a config may ask for. Sizes drive allocations (a 100000×100000 RGB
    /// float image is 120 GB), and an allocation that large would crash the process instead of
    /// failing cleanly; 16384 is beyond any dataset this project trains on (Cityscapes is
    /// 2048×1024) and its float RGB image is 3 GiB.
    public static let maximumSide = 16384

    static func tooLarge(_ size: String) -> String {
        "must be at most \(maximumSide) pixels per side, got \(size) (one float RGB image of that size alone needs more memory than this machine should be asked for)"
    }

    public var description: String { "\(height)×\(width)" }
}

/// A closed numeric range written `[low, high]` (mmseg's `ratio_range`, torchvision's `scale`).
public struct ClosedPair: Decodable, Equatable, Sendable {
    public var low: Double
    public var high: Double

    public init(_ low: Double, _ high: Double) { self.low = low; self.high = high }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        guard c.count == 2 else {
            throw ConfigValueError(path: decoder.codingPath, message: "expected [low, high], got \(c.count ?? 0) values")
        }
        low = try c.decode(Double.self); high = try c.decode(Double.self)
        guard low <= high else { throw ConfigValueError(path: decoder.codingPath, message: "low \(low) is above high \(high)") }
    }
}
