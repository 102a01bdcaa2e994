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

    // MARK: bulk construction against element-by-element

    private func pairs(_ h: HashValue) -> [[UInt8]] {
        var out: [[UInt8]] = []
        h.forEach { f, v in out.append(Array(f)); out.append(Array(v)); return true }
        return out
    }

    func testHashReservedThenShrunkMatchesIncrementalHash() {
        let limits = HashLimits(maxEntries: 128, maxValue: 64)
        for n in [1, 2, 10, 50, 128, 129] {
            let a = HashValue()
            let b = HashValue(packedCapacity: 16 * n)
            for i in 0..<n {
                let f = Array("field\(i)".utf8), v = Array("value\(i * 7)".utf8)
                f.withUnsafeBytes { fb in v.withUnsafeBytes { vb in
                    XCTAssertTrue(a.set(fb, vb, limits: limits))
                    XCTAssertTrue(b.set(fb, vb, limits: limits))
                } }
            }
            b.shrinkToFit()
            XCTAssertEqual(a.isTable, b.isTable, "n=\(n)")
            XCTAssertEqual(pairs(a), pairs(b), "n=\(n)")
            // Still writable after shrinking.
            Array("x".utf8).withUnsafeBytes { x in
                XCTAssertTrue(b.set(x, x, limits: limits))
                XCTAssertEqual(b.get(x).map { Array($0) }, [UInt8(ascii: "x")])
            }
        }
    }

    func testZsetBuildPackedMatchesGeneralBuild() {
        let elements: [(member: [UInt8], score: Double)] = (0..<20).map { i in
            (Array("m\(i % 7)-\(i)".utf8), Double(i / 3) * 1.5 - 4)
        }
        let sorted = elements.sorted { a, b in
            a.score != b.score ? a.score < b.score : a.member.lexicographicallyPrecedes(b.member)
        }
        let general = SortedSetValue.build(elements, limits: ZsetLimits(maxEntries: 128, maxValue: 64))
        let bulk = SortedSetValue.buildPacked(count: sorted.count) { emit in
            for e in sorted { e.member.withUnsafeBytes { emit($0, e.score) } }
        }
        var a: [([UInt8], Double)] = [], b: [([UInt8], Double)] = []
        general.forEach { a.append((Array($0), $1)) }
        bulk.forEach { b.append((Array($0), $1)) }
        XCTAssertEqual(a.map { $0.0 }, b.map { $0.0 })
        XCTAssertEqual(a.map { $0.1 }, b.map { $0.1 })
        XCTAssertTrue(bulk.isPacked)
        for e in elements { e.member.withUnsafeBytes { XCTAssertEqual(bulk.score(of: $0), e.score) } }
    }

    /// Listpack zsets of every shape load as through the general path: the fast path's
    /// ordered string members, and integer members, unordered or duplicate ones.
    func testListpackZsetShapesLoad() throws {
        func listpack(_ items: [[UInt8]]) -> [UInt8] {
            let w = RDBWriter(compress: false)
            PackedFormats.writeListpack(count: items.count, to: w) { emit in
                for i in items { i.withUnsafeBytes { emit($0) } }
            }
            return w.bytes
        }
        func load(_ items: [String]) throws -> [(String, Double)]? {
            let payload = listpack(items.map { Array($0.utf8) })
            return try payload.withUnsafeBytes { p -> [(String, Double)]? in
                let rr = RDBReader(p)
                let e = try RDBObjects.load(type: RDB.typeZsetListpack, key: UnsafeRawBufferPointer(start: nil, count: 0),
                                            from: rr, limits: RDBLoadLimits(ServerConfig()), lru: 0)
                guard let e, e.type == .zset else { return nil }
                let z = SortedSetValue(entry: e)
                var out: [(String, Double)] = []
                z.forEach { out.append((String(decoding: $0, as: UTF8.self), $1)) }
                return out
            }
        }
        let ordered = try load(["a", "1.5", "b", "1.5", "c", "2"])
        XCTAssertEqual(ordered?.map { $0.0 }, ["a", "b", "c"])
        XCTAssertEqual(ordered?.map { $0.1 }, [1.5, 1.5, 2])
        let ints = try load(["10", "3", "7", "1"])
        XCTAssertEqual(ints?.map { $0.0 }, ["7", "10"])
        let unordered = try load(["z", "5", "a", "1"])
        XCTAssertEqual(unordered?.map { $0.0 }, ["a", "z"])
        XCTAssertThrowsError(try load(["a", "1", "b", "2", "a", "3"]))
        XCTAssertThrowsError(try load(["a", "1", "b"]))
        XCTAssertThrowsError(try load(["a", "nan"]))
    }
}
