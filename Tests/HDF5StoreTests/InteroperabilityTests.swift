import Foundation
import HDF5Store
import XCTest

/// Files must be readable by the standard tools: h5dump (hdf5-tools) and h5py.
final class InteroperabilityTests: XCTestCase {
    private func writeSample(_ dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("interop.h5")
        try HDF5File.writeAtomically(to: url) { f in
            try f.write([Float(0.5), 1.5, 2.5, 3.5, 4.5, 5.5], shape: [2, 3], at: "model/backbone/smb1/weight")
            try f.write(["wall", "floor"], shape: [2], at: "val/class_names")
            try f.write(Int64(42), at: "rng/seed")
            try f.setAttribute("iter", Int64(160000))
            try f.setAttribute("git", "deadbeef")
            let loss = try f.series(Double.self, at: "train/loss")
            try loss.append(contentsOf: [0.25, 0.125])
        }
        return url
    }

    private func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testH5dumpReadsOurFile() throws {
        let h5dump = "/usr/bin/h5dump"
        guard FileManager.default.isExecutableFile(atPath: h5dump) else { throw XCTSkip("h5dump missing (make deps installs hdf5-tools)") }
        let url = try writeSample(try makeTestDirectory(self))
        let (status, out) = try run(h5dump, [url.path])
        XCTAssertEqual(status, 0, out)
        for needle in ["DATASET \"weight\"", "GROUP \"smb1\"", "5.5", "\"floor\"", "ATTRIBUTE \"iter\"", "160000",
                       "H5S_UNLIMITED", "\"deadbeef\""] {
            XCTAssertTrue(out.contains(needle), "h5dump output lacks \(needle):\n\(out)")
        }
    }

    func testH5pyReadsOurFile() throws {
        // Through env so a python3 on PATH (pyenv, venv) that has h5py wins over /usr/bin's.
        let python = "/usr/bin/env"
        guard try run(python, ["python3", "-c", "import h5py"]).status == 0 else { throw XCTSkip("python3 with h5py not available (pip install h5py)") }
        let url = try writeSample(try makeTestDirectory(self))
        let script = """
        import h5py, sys
        f = h5py.File(sys.argv[1], 'r')
        w = f['model/backbone/smb1/weight']
        print(w.dtype, w.shape, w[1, 2])
        print([s.decode() if isinstance(s, bytes) else s for s in f['val/class_names'].asstr()[:]])
        print(int(f['rng/seed'][()]), int(f.attrs['iter']), f.attrs['git'])
        print(f['train/loss'].maxshape, f['train/loss'][:].tolist())
        """
        let (status, out) = try run(python, ["python3", "-c", script, url.path])
        XCTAssertEqual(status, 0, out)
        XCTAssertEqual(out.split(separator: "\n").map(String.init), [
            "float32 (2, 3) 5.5",
            "['wall', 'floor']",
            "42 160000 deadbeef",
            "(None,) [0.25, 0.125]",
        ])
    }

    func testWeReadH5pyFile() throws {
        // Through env so a python3 on PATH (pyenv, venv) that has h5py wins over /usr/bin's.
        let python = "/usr/bin/env"
        guard try run(python, ["python3", "-c", "import h5py"]).status == 0 else { throw XCTSkip("python3 with h5py not available (pip install h5py)") }
        let url = try makeTestDirectory(self).appendingPathComponent("py.h5")
        let script = """
        import h5py, numpy as np, sys
        with h5py.File(sys.argv[1], 'w') as f:
            f['a/x'] = np.arange(6, dtype=np.float32).reshape(2, 3)
            f['names'] = np.array([b'cat', b'dog'])
            f['label'] = 'tree'
            f.attrs['n'] = np.int64(5)
        """
        let (status, out) = try run(python, ["python3", "-c", script, url.path])
        XCTAssertEqual(status, 0, out)
        let f = try HDF5File.open(url)
        XCTAssertEqual(try f.read(Float.self, at: "a/x"), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(try f.shape(at: "a/x"), [2, 3])
        XCTAssertEqual(try f.readStrings(at: "names"), ["cat", "dog"])
        XCTAssertEqual(try f.readString(at: "label"), "tree")
        XCTAssertEqual(try f.attribute("n", as: Int64.self), 5)
    }
}
