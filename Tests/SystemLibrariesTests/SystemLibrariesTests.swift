import XCTest
import CDNNL
import CHDF5
import CTurboJPEG
import CSpng

/// Each system-library shim imports, links and answers with the version Debian 12 ships.
final class SystemLibrariesTests: XCTestCase {
    func testOneDNNVersion() {
        let v = dnnl_version()!.pointee
        XCTAssertEqual(v.major, 2, "oneDNN 2.x C API expected")
        XCTAssertGreaterThanOrEqual(v.minor, 6)
    }

    func testHDF5VersionAndMacros() {
        var major: UInt32 = 0, minor: UInt32 = 0, release: UInt32 = 0
        XCTAssertEqual(H5get_libversion(&major, &minor, &release), 0)
        XCTAssertEqual(major, 1)
        XCTAssertGreaterThanOrEqual(minor, 10)
        XCTAssertGreaterThan(h5t_native_float(), 0, "H5T_NATIVE_FLOAT is a valid type id after H5open")
        XCTAssertEqual(h5p_default(), 0)
    }

    func testTurboJPEGInitialises() {
        let handle = tjInitDecompress()
        XCTAssertNotNil(handle)
        XCTAssertEqual(tjDestroy(handle), 0)
    }

    func testSpngContext() {
        let ctx = spng_ctx_new(0)
        XCTAssertNotNil(ctx)
        spng_ctx_free(ctx)
        XCTAssertTrue(String(cString: spng_version_string()).hasPrefix("0."), "libspng 0.x expected")
    }
}
