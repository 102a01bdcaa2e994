import XCTest
@testable import RedisUV

/// The fast paths of RDB save and load against the general ones they stand in for:
/// score text without printf, and values built in bulk from packed blobs.
final class RDBBulkTests: XCTestCase {
    private func fast(_ d: Double) -> String? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { RDBObjects.dyadicG17(d, into: $0.baseAddress!) }
        return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
    }

    func testDyadicScoreTextMatchesPrintf() {
        XCTAssertEqual(fast(1.5), "1.5")
        XCTAssertEqual(fast(-13.5), "-13.5")
        XCTAssertEqual(fast(0.0009765625), "0.0009765625")
        XCTAssertEqual(fast(123456789012.125), "123456789012.125")
        XCTAssertNil(fast(0.1), "not a short binary fraction: printf decides")
        XCTAssertNil(fast(3), "integral values take the integer path")
        XCTAssertNil(fast(.nan))
        XCTAssertNil(fast(.infinity))
        XCTAssertNil(fast(1e300))
        XCTAssertNil(fast(999_999_999_999_999.5 / 4), "would need more than 17 digits")
        var rng = SystemRandomNumberGenerator()
        var handled = 0
        for i in 0..<200_000 {
            let d: Double
            switch i % 4 {
            case 0: d = Double(Int64.random(in: -1_000_000...1_000_000, using: &rng)) / Double(1 << Int.random(in: 0...12, using: &rng))
            case 1: d = Double(Int64.random(in: -(1 << 53)...(1 << 53), using: &rng)) / Double(1 << Int.random(in: 0...12, using: &rng))
            case 2: d = Double.random(in: -1e6...1e6, using: &rng)
            default: d = Double(bitPattern: UInt64.random(in: 0...UInt64.max, using: &rng))
            }
            if let s = fast(d) {
                handled += 1
                XCTAssertEqual(s, formatDoubleG17(d), "\(d)")
            }
            XCTAssertEqual(RDBObjects.d2string(d), d.isNaN ? Array("nan".utf8) : RDBObjects.withD2String(d) { Array($0) })
        }
        XCTAssertGreaterThan(handled, 20_000)
    }
}
