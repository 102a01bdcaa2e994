import XCTest
@testable import RedisUV

/// The sorted set structure against a plain model (an array kept sorted by score, then
/// member bytes), in both encodings, across conversions and at large sizes.
final class SortedSetValueTests: XCTestCase {
    let wide = ZsetLimits(maxEntries: 128, maxValue: 64)
    let none = ZsetLimits(maxEntries: 0, maxValue: 64)

    struct Model {
        var items: [(member: [UInt8], score: Double)] = []

        static func less(_ a: (member: [UInt8], score: Double), _ b: (member: [UInt8], score: Double)) -> Bool {
            if a.score != b.score { return a.score < b.score }
            return a.member.lexicographicallyPrecedes(b.member)
        }

        mutating func set(_ m: [UInt8], _ s: Double) {
            items.removeAll { $0.member == m }
            items.append((m, s))
            items.sort(by: Model.less)
        }

        mutating func remove(_ m: [UInt8]) -> Bool {
            let n = items.count
            items.removeAll { $0.member == m }
            return items.count != n
        }
    }

    func contents(_ z: SortedSetValue) -> [(member: [UInt8], score: Double)] {
        var out: [(member: [UInt8], score: Double)] = []
        z.forEach { out.append((Array($0), $1)) }
        return out
    }

    func assertSame(_ z: SortedSetValue, _ m: Model, file: StaticString = #filePath, line: UInt = #line) {
        let got = contents(z)
        XCTAssertEqual(got.count, m.items.count, file: file, line: line)
        XCTAssertEqual(z.count, m.items.count, file: file, line: line)
        for (g, e) in zip(got, m.items) {
            XCTAssertEqual(g.member, e.member, file: file, line: line)
            XCTAssertEqual(g.score.bitPattern, e.score.bitPattern, file: file, line: line)
        }
        if !z.isPacked { XCTAssertTrue(z.skiplist.verify(), "skiplist invariants", file: file, line: line) }
    }

    func add(_ z: SortedSetValue, _ s: Double, _ m: [UInt8], _ flags: SortedSetValue.AddFlags = [],
             limits: ZsetLimits? = nil) -> (SortedSetValue.AddOutcome, Double) {
        m.withUnsafeBytes { z.add(s, $0, flags: flags, limits: limits ?? wide) }
    }

    func testPackedScoreEncodingRoundTrips() {
        let values: [Double] = [0, 1, 239, 240, -1, 127, -128, 128, 32767, -32768, 32768, 2147483647, -2147483648,
                                2147483648, 0.5, -0.25, 1.1, 0.1, 1e300, -1e-300, .infinity, -.infinity,
                                Double.leastNonzeroMagnitude, Double.greatestFiniteMagnitude, 3.4028234663852886e38]
        for v in values {
            let z = SortedSetValue()
            _ = add(z, v, [0x61])
            XCTAssertEqual([UInt8]("a".utf8).withUnsafeBytes { z.score(of: $0) }, v, "\(v)")
        }
        // A listpack keeps -0 as the integer 0 (Redis 7.0's zzlInsertAt), a skiplist keeps the sign.
        let packed = SortedSetValue()
        _ = add(packed, -0.0, [0x61])
        XCTAssertEqual([UInt8]("a".utf8).withUnsafeBytes { packed.score(of: $0) }?.sign, .plus)
        let skip = SortedSetValue(skiplistWithCapacity: 0)
        _ = add(skip, -0.0, [0x61])
        XCTAssertEqual([UInt8]("a".utf8).withUnsafeBytes { skip.score(of: $0) }?.sign, .minus)
        // Small non-negative integers take one byte.
        XCTAssertEqual(Packed.encodedSize(of: 7), 1)
        XCTAssertEqual(Packed.encodedSize(of: -7), 2)
        XCTAssertEqual(Packed.encodedSize(of: 1000), 3)
        XCTAssertEqual(Packed.encodedSize(of: 0.5), 5)
        XCTAssertEqual(Packed.encodedSize(of: 0.1), 9)
    }

    func testRandomOperationsMatchModelInBothEncodings() {
        var rng = ZRandom(seed: 42)
        for startPacked in [true, false] {
            let z = startPacked ? SortedSetValue() : SortedSetValue(skiplistWithCapacity: 0)
            var m = Model()
            for step in 0..<4000 {
                let member = Array("m\(rng.next(below: 200))".utf8)
                let score = Double(rng.next(below: 50)) / 4 - 5
                switch rng.next(below: 10) {
                case 0...5:
                    let (outcome, s) = add(z, score, member)
                    let existed = m.items.contains { $0.member == member }
                    if existed {
                        XCTAssertTrue(outcome == .updated || outcome == .unchanged)
                    } else {
                        XCTAssertEqual(outcome, .added)
                    }
                    m.set(member, s)
                case 6...7:
                    XCTAssertEqual(member.withUnsafeBytes { z.remove($0) }, m.remove(member))
                case 8:
                    let (outcome, s) = add(z, score, member, .incr)
                    XCTAssertNotEqual(outcome, .nan)
                    m.set(member, s)
                default:
                    let r = member.withUnsafeBytes { z.rank(of: $0, reverse: false) }
                    let e = m.items.firstIndex { $0.member == member }
                    XCTAssertEqual(r?.rank, e)
                    if let e { XCTAssertEqual(r?.score, m.items[e].score) }
                    let rr = member.withUnsafeBytes { z.rank(of: $0, reverse: true) }
                    XCTAssertEqual(rr?.rank, e.map { m.items.count - 1 - $0 })
                }
                if step % 500 == 0 { assertSame(z, m) }
            }
            assertSame(z, m)
            // Past 128 members the packed set has become a skiplist.
            XCTAssertEqual(z.encodingName, "skiplist")
        }
    }

    func testFlagsOfAdd() {
        let z = SortedSetValue()
        XCTAssertEqual(add(z, 1, [1], .xx).0, .skipped)
        XCTAssertEqual(add(z, 1, [1], .nx).0, .added)
        XCTAssertEqual(add(z, 5, [1], .nx).0, .skipped)
        XCTAssertEqual(add(z, 0, [1], .gt).0, .skipped)
        XCTAssertEqual(add(z, 2, [1], .gt).0, .updated)
        XCTAssertEqual(add(z, 3, [1], .lt).0, .skipped)
        XCTAssertEqual(add(z, 2, [1]).0, .unchanged)
        let (o, s) = add(z, 2.5, [1], .incr)
        XCTAssertEqual(o, .updated)
        XCTAssertEqual(s, 4.5)
        XCTAssertEqual(add(z, .infinity, [1]).0, .updated)
        XCTAssertEqual(add(z, -.infinity, [1], .incr).0, .nan)
        XCTAssertEqual(add(z, .nan, [2]).0, .nan)
        XCTAssertEqual(z.count, 1)
    }

    func testConversionAtTheLimits() {
        let limits = ZsetLimits(maxEntries: 3, maxValue: 4)
        let z = SortedSetValue()
        for (i, m) in ["a", "b", "c"].enumerated() { _ = add(z, Double(i), Array(m.utf8), limits: limits) }
        XCTAssertEqual(z.encodingName, "listpack")
        // Updates never convert, only a member that would exceed the limits.
        _ = add(z, 10, Array("a".utf8), limits: limits)
        XCTAssertEqual(z.encodingName, "listpack")
        _ = add(z, 1, Array("d".utf8), .xx, limits: limits)
        XCTAssertEqual(z.encodingName, "listpack")
        _ = add(z, 1, Array("d".utf8), limits: limits)
        XCTAssertEqual(z.encodingName, "skiplist")
        for m in ["a", "b", "c"] { _ = Array(m.utf8).withUnsafeBytes { z.remove($0) } }
        XCTAssertEqual(z.encodingName, "skiplist", "never converts back")

        let long = SortedSetValue()
        _ = add(long, 1, Array("abcd".utf8), limits: limits)
        XCTAssertEqual(long.encodingName, "listpack")
        _ = add(long, 1, Array("abcde".utf8), limits: limits)
        XCTAssertEqual(long.encodingName, "skiplist")
        XCTAssertEqual(contents(long).map { String(decoding: $0.member, as: UTF8.self) }, ["abcd", "abcde"])
    }

    func testBuildChoosesTheEncodingOfTheResult() {
        let small = (0..<3).map { (member: Array("m\($0)".utf8), score: Double(3 - $0)) }
        let a = SortedSetValue.build(small, limits: wide)
        XCTAssertEqual(a.encodingName, "listpack")
        XCTAssertEqual(contents(a).map(\.score), [1, 2, 3])
        XCTAssertEqual(SortedSetValue.build(small, limits: ZsetLimits(maxEntries: 2, maxValue: 64)).encodingName, "skiplist")
        XCTAssertEqual(SortedSetValue.build(small, limits: ZsetLimits(maxEntries: 3, maxValue: 1)).encodingName, "skiplist")
        let big = SortedSetValue.build(small, limits: none)
        XCTAssertEqual(contents(big).map(\.score), [1, 2, 3])
        XCTAssertTrue(big.skiplist.verify())
    }

    func testDuplicateIsIndependent() {
        for limits in [wide, none] {
            let z = limits.maxEntries == 0 ? SortedSetValue(skiplistWithCapacity: 0) : SortedSetValue()
            for i in 0..<50 { _ = add(z, Double(i % 7), Array("k\(i)".utf8), limits: limits) }
            let copy = z.duplicate()
            XCTAssertEqual(copy.encodingName, z.encodingName)
            XCTAssertEqual(contents(copy).map(\.member), contents(z).map(\.member))
            _ = add(copy, 100, Array("new".utf8), limits: limits)
            XCTAssertEqual(copy.count, 51)
            XCTAssertEqual(z.count, 50)
        }
    }

    func testLargeSkiplistRanksRangesAndRemovals() {
        let z = SortedSetValue(skiplistWithCapacity: 0)
        let n = 100_000
        var rng = ZRandom(seed: 7)
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, rng.next(below: i + 1)) }
        for i in order { _ = add(z, Double(i / 2), Array(String(format: "%06d", i).utf8), limits: none) }
        XCTAssertEqual(z.count, n)
        let sl = z.skiplist
        XCTAssertTrue(sl.verify())
        // Rank r holds member r (scores i/2 keep member order).
        for r in [0, 1, 2, 999, 50_000, n - 2, n - 1] {
            let node = sl.element(atRank: r + 1)!
            XCTAssertEqual(String(decoding: ZNode.member(node), as: UTF8.self), String(format: "%06d", r))
            XCTAssertEqual(sl.rank(score: ZNode.score(node), member: ZNode.member(node)), r + 1)
        }
        let view = SkiplistView(sl: sl)
        let range = ZScoreRange(min: 10, max: 20, minExclusive: true, maxExclusive: false)
        XCTAssertEqual(view.rank(view.firstInRange(range)!), 22)
        XCTAssertEqual(view.rank(view.lastInRange(range)!), 41)
        XCTAssertNil(view.firstInRange(ZScoreRange(min: 5, max: 5, minExclusive: true, maxExclusive: false)))
        XCTAssertNil(view.firstInRange(ZScoreRange(min: 1e9, max: 2e9)))

        XCTAssertEqual(z.removeRange(range), 20)
        XCTAssertEqual(z.removeRange(ranks: 0, 9), 10)
        XCTAssertEqual(z.count, n - 30)
        XCTAssertTrue(sl.verify())
        for i in stride(from: 0, to: n, by: 3) { _ = Array(String(format: "%06d", i).utf8).withUnsafeBytes { z.remove($0) } }
        XCTAssertTrue(z.skiplist.verify())
        let left = z.count
        XCTAssertEqual(z.removeRange(ranks: 0, left - 1), left)
        XCTAssertEqual(z.count, 0)
    }

    func testScanVisitsEveryMemberAcrossResizes() {
        let z = SortedSetValue(skiplistWithCapacity: 0)
        for i in 0..<1000 { _ = add(z, Double(i), Array("s\(i)".utf8), limits: none) }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var steps = 0
        repeat {
            cursor = z.scanStep(cursor: cursor) { m, _ in seen.insert(Array(m)) }
            steps += 1
            // Grow the table in the middle of the iteration: nothing present throughout is missed.
            if steps == 100 { for i in 1000..<3000 { _ = add(z, Double(i), Array("s\(i)".utf8), limits: none) } }
        } while cursor != 0
        for i in 0..<1000 { XCTAssertTrue(seen.contains(Array("s\(i)".utf8)), "s\(i)") }
    }

    func testLexRangeBounds() {
        func bound(_ s: String) -> ZLexBound {
            let bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            switch s {
            case "-": return ZLexBound(kind: .minusInfinity, bytes: bytes, exclusive: true)
            case "+": return ZLexBound(kind: .plusInfinity, bytes: bytes, exclusive: true)
            default: fatalError()
            }
        }
        XCTAssertTrue(ZLexRange(min: bound("-"), max: bound("-")).isEmpty)
        XCTAssertTrue(ZLexRange(min: bound("+"), max: bound("+")).isEmpty)
        XCTAssertTrue(ZLexRange(min: bound("+"), max: bound("-")).isEmpty)
        XCTAssertFalse(ZLexRange(min: bound("-"), max: bound("+")).isEmpty)
        Array("b".utf8).withUnsafeBytes { b in
            let closed = ZLexBound(kind: .value, bytes: b, exclusive: false)
            let open = ZLexBound(kind: .value, bytes: b, exclusive: true)
            XCTAssertFalse(ZLexRange(min: closed, max: closed).isEmpty)
            XCTAssertTrue(ZLexRange(min: open, max: closed).isEmpty)
            XCTAssertTrue(ZLexRange(min: closed, max: bound("-")).isEmpty)
            XCTAssertFalse(ZLexRange(min: bound("-"), max: closed).isEmpty)
            let r = ZLexRange(min: bound("-"), max: open)
            Array("a".utf8).withUnsafeBytes { XCTAssertTrue(r.lteMax($0)) }
            Array("b".utf8).withUnsafeBytes { XCTAssertFalse(r.lteMax($0)) }
            Array("b\u{0}".utf8).withUnsafeBytes { XCTAssertFalse(r.lteMax($0)) }
        }
    }

    func testScoreTextMatchesPercent17g() {
        let values: [Double] = [0, -0.0, 1, -1, 0.1, 1.5, 1e16, 1e17, 99999999999999984, 123456789012345680,
                                1e-5, 3.14159265358979, .infinity, -.infinity, 4503599627370496, -4503599627370497]
        for v in values {
            let text = withScoreText(v) { String(decoding: $0, as: UTF8.self) }
            let expected = v.isInfinite ? (v > 0 ? "inf" : "-inf") : formatDoubleG17(v)
            XCTAssertEqual(text, expected, "\(v)")
        }
    }
}
