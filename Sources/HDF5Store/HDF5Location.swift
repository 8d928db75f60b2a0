import CHDF5

/// A place in a file that holds named children: the file's root or a group. Paths passed to a
/// location's methods are relative to it, or absolute when they start with "/".
public protocol HDF5Location {
    /// The file this location belongs to.
    var file: HDF5File { get }
    /// The absolute path of this location ("/" for the file).
    var path: String { get }
}

/// A group inside a file: a lightweight view (file + path); it holds no HDF5 handle.
public struct HDF5Group: HDF5Location {
    public let file: HDF5File
    public let path: String
}

/// What a path names.
public enum HDF5ObjectKind: Equatable { case group, dataset }

extension HDF5Location {
    /// The absolute path of `relative` as seen from this location.
    func absolute(_ relative: String) -> String { HDF5Path.resolve(relative, against: path) }

    /// Whether an object (group or dataset) exists at `path`. Intermediate groups need not exist.
    public func exists(_ path: String) throws -> Bool {
        try kind(of: path) != nil
    }

    /// What is at `path`, or nil when nothing is.
    public func kind(of path: String) throws -> HDF5ObjectKind? {
        let full = absolute(path)
        return try HDF5Lock.withLock {
            let fid = try file.checkedID("look up", full)
            if full == "/" { return .group }
            // H5Lexists fails (rather than saying no) when a parent is missing, so walk down.
            var prefix = ""
            for part in HDF5Path.components(full) {
                prefix += "/" + part
                guard H5Lexists(fid, prefix, h5p_default()) > 0 else { return nil }
            }
            let obj = H5Oopen(fid, full, h5p_default())
            guard obj >= 0 else { return nil } // a dangling soft link
            defer { H5Oclose(obj) }
            switch H5Iget_type(obj) {
            case H5I_GROUP: return .group
            case H5I_DATASET: return .dataset
            default: return nil
            }
        }
    }

    /// Creates the group at `path` and any missing intermediate groups; returns it. An existing
    /// group is returned as is.
    @discardableResult
    public func createGroup(_ path: String) throws -> HDF5Group {
        let full = absolute(path)
        return try HDF5Lock.withLock {
            let fid = try file.checkedID("create group", full)
            try file.requireWritable("create group", full)
            switch try kind(of: full) {
            case .group: return HDF5Group(file: file, path: full)
            case .dataset:
                throw file.error("create group", full, "a dataset already exists there", "Use another name or delete the dataset first.")
            case nil: break
            }
            let lcpl = intermediateLinkList()
            defer { H5Pclose(lcpl) }
            let g = H5Gcreate2(fid, full, lcpl, h5p_default(), h5p_default())
            guard g >= 0 else {
                throw file.error("create group", full, libraryReason("creation failed"), "Check that no parent of this path is a dataset.")
            }
            H5Gclose(g)
            return HDF5Group(file: file, path: full)
        }
    }

    /// The existing group at `path`.
    public func group(_ path: String) throws -> HDF5Group {
        let full = absolute(path)
        switch try kind(of: full) {
        case .group: return HDF5Group(file: file, path: full)
        case .dataset:
            throw file.error("open group", full, "it is a dataset, not a group", "Use the read methods for datasets.")
        case nil:
            throw try missingError("open group", full)
        }
    }

    /// The names of the children of the group at `path` (default: this location), sorted by name.
    public func children(_ path: String = "") throws -> [String] {
        let full = absolute(path)
        guard try kind(of: full) == .group else {
            throw try missingError("list group", full)
        }
        return try HDF5Lock.withLock {
            let fid = try file.checkedID("list group", full)
            let g = H5Gopen2(fid, full, h5p_default())
            guard g >= 0 else { throw file.error("list group", full, libraryReason("open failed"), "Check the file is intact.") }
            defer { H5Gclose(g) }
            var info = H5G_info_t()
            guard H5Gget_info(g, &info) >= 0 else {
                throw file.error("list group", full, libraryReason("cannot read group info"), "Check the file is intact.")
            }
            var names: [String] = []
            for i in 0..<info.nlinks {
                let n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, nil, 0, h5p_default())
                guard n >= 0 else { continue }
                var buffer = [CChar](repeating: 0, count: Int(n) + 1)
                H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, &buffer, Int(n) + 1, h5p_default())
                names.append(String(cString: buffer))
            }
            return names
        }
    }

    /// Removes the link at `path` (the space is not reclaimed until the file is rewritten, which
    /// atomic writes do anyway).
    public func remove(_ path: String) throws {
        let full = absolute(path)
        try HDF5Lock.withLock {
            let fid = try file.checkedID("remove", full)
            try file.requireWritable("remove", full)
            guard try kind(of: full) != nil else { throw try missingError("remove", full) }
            guard H5Ldelete(fid, full, h5p_default()) >= 0 else {
                throw file.error("remove", full, libraryReason("delete failed"), "Check the file is intact.")
            }
        }
    }

    /// A "not found" error that lists what the parent group does contain, so typos are obvious.
    func missingError(_ operation: String, _ full: String) throws -> HDF5Error {
        let parent = HDF5Path.parent(full)
        var remedy = "Check the path."
        if full != "/", try file.kind(of: parent) == .group {
            let siblings = try file.children(parent)
            remedy = siblings.isEmpty ? "The group \(parent) is empty."
                : "The group \(parent) contains: \(siblings.prefix(20).joined(separator: ", "))."
        }
        return file.error(operation, full, "no object at this path", remedy)
    }
}

/// A link-creation list that creates missing intermediate groups, so writing "/a/b/c" needs no
/// separate createGroup calls.
func intermediateLinkList() -> hid_t {
    let lcpl = H5Pcreate(h5p_link_create())
    H5Pset_create_intermediate_group(lcpl, 1)
    return lcpl
}
