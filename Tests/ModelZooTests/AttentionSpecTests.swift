import XCTest
@testable import ModelZoo

final class AttentionSpecTests: XCTestCase {
    func testConfigNamesOfEveryVariant() {
        XCTAssertEqual(AttentionType.allCases.map(\.rawValue), ["sea", "sea_adaptive", "global", "axial", "local", "conv"])
        XCTAssertEqual(EnhanceInput(rawValue: "concat_qkv"), .concatQKV)
        XCTAssertEqual(MaskWidth(rawValue: "nh_kd"), .nhKd)
        let d = AttentionSpec()
        XCTAssertEqual(d.type, .sea)
        XCTAssertEqual(d.enhanceMode, .mul)
        XCTAssertTrue(d.positionalEmbedding)
    }
}
