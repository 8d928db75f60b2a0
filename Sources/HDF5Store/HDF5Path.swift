/// HDF5 object paths. Paths given to a location are relative to it unless they start with "/";
/// empty components are dropped, so "a//b/" is "a/b".
public enum HDF5Path {
    /// Turns a dotted module path ("backbone.smb1.conv.weight") into an HDF5 path
    /// ("backbone/smb1/conv/weight"), so a module tree maps onto a group tree.
    public static func fromDotted(_ dotted: String) -> String {
        dotted.split(separator: ".", omittingEmptySubsequences: true).joined(separator: "/")
    }

    /// The components of `path` (without empty ones).
    static func components(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    /// The absolute, normalised path of `path` resolved against the absolute `base`.
    static func resolve(_ path: String, against base: String) -> String {
        let parts = path.hasPrefix("/") ? components(path) : components(base) + components(path)
        return "/" + parts.joined(separator: "/")
    }

    /// The parent of an absolute path ("/" for top-level objects).
    static func parent(_ absolute: String) -> String {
        let parts = components(absolute)
        return "/" + parts.dropLast().joined(separator: "/")
    }
}
