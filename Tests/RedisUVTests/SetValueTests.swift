import XCTest
@testable import RedisUV

/// The set data structure alone: its three forms, the conversions between them, and the
/// operations the commands rely on (membership, iteration, random picks, SSCAN cursors).
final class SetValueTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @discardableResult
    private func add(_ set: SetValue, _ m: [UInt8], max: Int = 512) -> Bool {
        m.withUnsafeBytes { set.add($0, maxIntsetEntries: max) }
    }

    @discardableResult
    private func add(_ set: SetValue, _ s: String, max: Int = 512) -> Bool { add(set, b(s), max: max) }

    private func has(_ set: SetValue, _ m: [UInt8]) -> Bool { m.withUnsafeBytes { set.contains($0) } }
    private func has(_ set: SetValue, _ s: String) -> Bool { has(set, b(s)) }

    @discardableResult
    private func remove(_ set: SetValue, _ m: [UInt8]) -> Bool { m.withUnsafeBytes { set.remove($0) } }
    @discardableResult
    private func remove(_ set: SetValue, _ s: String) -> Bool { remove(set, b(s)) }

    private func contents(_ set: SetValue) -> [[UInt8]] { set.members.map(\.array) }
    private func sortedContents(_ set: SetValue) -> [[UInt8]] {
        contents(set).sorted { $0.lexicographicallyPrecedes($1) }
    }

    // MARK: intset

    func testIntsetKeepsIntegersAscendingAcrossWidths() {
        let s = SetValue()
        for v in ["5", "-3", "40000", "0", "-9223372036854775808", "9223372036854775807", "-70000", "5000000000", "5"] {
            add(s, v)
        }
        XCTAssertEqual(s.encoding, .intset)
        XCTAssertEqual(s.encodingName, "intset")
        XCTAssertEqual(s.count, 8)
        XCTAssertEqual(contents(s).map { String(decoding: $0, as: UTF8.self) },
                       ["-9223372036854775808", "-70000", "-3", "0", "5", "40000", "5000000000", "9223372036854775807"])
        XCTAssertTrue(has(s, "5000000000"))
        XCTAssertFalse(has(s, "5000000001"))
        XCTAssertFalse(has(s, "05"), "not the integer 5 for an intset")
        XCTAssertFalse(has(s, "abc"))
        XCTAssertTrue(remove(s, "-70000"))
        XCTAssertFalse(remove(s, "-70000"))
        XCTAssertFalse(remove(s, "x"))
        XCTAssertEqual(s.count, 7)
        XCTAssertEqual(s.encoding, .intset)
    }

    func testIntsetRejectsNonCanonicalIntegers() {
        // Redis's string2ll: these are strings, so they convert the set.
        for text in ["-0", "01", "+1", " 1", "1 ", "", "9223372036854775808", "-9223372036854775809", "1.0", "0x10"] {
            let s = SetValue()
            add(s, "1")
            XCTAssertTrue(add(s, text), text)
            XCTAssertEqual(s.encodingName, "hashtable", "\(text) is not an intset member")
            XCTAssertTrue(has(s, text))
            XCTAssertTrue(has(s, "1"))
            XCTAssertEqual(s.count, 2)
        }
    }

    func testIntsetLimitConvertsOnTheNextMember() {
        let s = SetValue()
        for i in 1...512 { XCTAssertTrue(add(s, String(i))) }
        XCTAssertEqual(s.encoding, .intset)
        XCTAssertFalse(add(s, "512"), "a repeat does not count")
        XCTAssertEqual(s.encoding, .intset)
        XCTAssertTrue(add(s, "513"))
        XCTAssertEqual(s.encoding, .table)
        XCTAssertEqual(s.count, 513)
        for i in 1...513 { XCTAssertTrue(has(s, String(i))) }
        // Never back, even when small again.
        for i in 3...513 { remove(s, String(i)) }
        XCTAssertEqual(s.encodingName, "hashtable")
        XCTAssertEqual(sortedContents(s), [b("1"), b("2")])
    }

    func testSmallIntsetLimitConvertsToThePackedForm() {
        let s = SetValue()
        add(s, "1", max: 2)
        add(s, "2", max: 2)
        XCTAssertEqual(s.encoding, .intset)
        add(s, "3", max: 2)
        XCTAssertEqual(s.encoding, .packed)
        XCTAssertEqual(s.encodingName, "hashtable")
        XCTAssertEqual(sortedContents(s), [b("1"), b("2"), b("3")])
        let z = SetValue()
        add(z, "7", max: 0)
        XCTAssertEqual(z.encodingName, "hashtable", "set-max-intset-entries 0: no intsets at all")
    }

    // MARK: packed and table

    func testNonIntegerConvertsAndThePackedFormGrowsIntoATable() {
        let s = SetValue()
        add(s, "1")
        add(s, "2")
        XCTAssertTrue(add(s, "a"))
        XCTAssertEqual(s.encoding, .packed)
        XCTAssertEqual(s.count, 3)
        for i in 0..<(SetValue.packedMaxEntries - 3) { XCTAssertTrue(add(s, "m\(i)")) }
        XCTAssertEqual(s.count, SetValue.packedMaxEntries)
        XCTAssertEqual(s.encoding, .packed)
        XCTAssertFalse(add(s, "m0"))
        XCTAssertTrue(add(s, "one more"))
        XCTAssertEqual(s.encoding, .table)
        XCTAssertEqual(s.count, SetValue.packedMaxEntries + 1)
        XCTAssertTrue(has(s, "1"))
        XCTAssertTrue(has(s, "a"))
        XCTAssertTrue(has(s, "m10"))
        XCTAssertTrue(has(s, "one more"))
        XCTAssertFalse(has(s, "m999"))
    }

    func testLongMemberGoesToATable() {
        let s = SetValue()
        add(s, "a")
        let long = [UInt8](repeating: 0x41, count: SetValue.packedMaxMemberLength)
        XCTAssertTrue(add(s, long))
        XCTAssertEqual(s.encoding, .packed, "64 bytes still fit the packed form")
        XCTAssertTrue(add(s, long + [0x41]))
        XCTAssertEqual(s.encoding, .table)
        XCTAssertTrue(has(s, long))
        XCTAssertTrue(has(s, long + [0x41]))
        XCTAssertFalse(has(s, long + [0x42]))
    }

    func testBinaryAndEmptyMembersInEveryForm() {
        let odd: [[UInt8]] = [[], [0], [0, 0], [0xFF, 0xFE], [13, 10], b("a\u{0}b")]
        for prefill in [0, 70] {
            let s = SetValue()
            for i in 0..<prefill { add(s, "x\(i)") }
            for m in odd { XCTAssertTrue(add(s, m)) }
            for m in odd { XCTAssertFalse(add(s, m)) }
            for m in odd { XCTAssertTrue(has(s, m)) }
            XCTAssertFalse(has(s, [0, 0, 0]))
            XCTAssertEqual(s.count, prefill + odd.count)
            for m in odd { XCTAssertTrue(remove(s, m)) }
            XCTAssertEqual(s.count, prefill)
            for m in odd { XCTAssertFalse(has(s, m)) }
        }
    }

    func testPackedRemoveKeepsTheRestIntact() {
        let s = SetValue()
        let names = (0..<30).map { "member-\($0)" }
        for n in names { add(s, n) }
        XCTAssertEqual(s.encoding, .packed)
        for (i, n) in names.enumerated() where i % 3 == 0 { XCTAssertTrue(remove(s, n)) }
        for (i, n) in names.enumerated() { XCTAssertEqual(has(s, n), i % 3 != 0, n) }
        XCTAssertEqual(s.count, 20)
        XCTAssertEqual(Set(contents(s)), Set(names.enumerated().filter { $0.offset % 3 != 0 }.map { b($0.element) }))
    }

    func testBigTableGrowsAndShrinks() {
        let s = SetValue()
        let n = 100_000
        for i in 0..<n { XCTAssertTrue(add(s, "element:\(i)")) }
        XCTAssertEqual(s.count, n)
        XCTAssertEqual(s.encoding, .table)
        for i in stride(from: 0, to: n, by: 997) { XCTAssertTrue(has(s, "element:\(i)")) }
        XCTAssertFalse(has(s, "element:\(n)"))
        var seen = 0
        s.forEach { _ in seen += 1; return true }
        XCTAssertEqual(seen, n)
        for i in 0..<(n - 10) { XCTAssertTrue(remove(s, "element:\(i)")) }
        XCTAssertEqual(s.count, 10)
        XCTAssertEqual(Set(contents(s)), Set(((n - 10)..<n).map { b("element:\($0)") }))
        // Shrunk to fit (Redis's htNeedsResize): the buckets cost little now.
        XCTAssertLessThan(s.memoryUsage(samples: 0), 2048)
    }

    func testBigIntsetAndTableOfIntegers() {
        let s = SetValue()
        var values = Array(-5000..<5000).map { $0 * 7 }
        var r = SeededRandom(state: 42)
        values.shuffle(using: &r)
        for v in values { add(s, String(v), max: 1 << 30) }
        XCTAssertEqual(s.encoding, .intset)
        XCTAssertEqual(contents(s), values.sorted().map { b(String($0)) })
        for v in values.prefix(5000) { XCTAssertTrue(remove(s, String(v))) }
        XCTAssertEqual(contents(s), values.dropFirst(5000).sorted().map { b(String($0)) })
    }

    // MARK: iteration, random picks, scanning, copies

    func testRandomMembersAreMembersAndCoverTheSet() {
        for size in [1, 5, 40, 300] {
            for form in ["int", "str"] {
                let s = SetValue()
                for i in 0..<size { add(s, form == "int" ? String(i * 3) : "k\(i)") }
                let all = Set(contents(s))
                var rng = SetRandom(seed: UInt64(size))
                var hits = Set<[UInt8]>()
                for _ in 0..<(size * 40) {
                    let (m, _) = s.randomMember(&rng)
                    XCTAssertTrue(all.contains(m.array))
                    hits.insert(m.array)
                }
                XCTAssertEqual(hits.count, size, "\(form) set of \(size): every member gets picked")
            }
        }
    }

    func testRandomBelowIsInRange() {
        var rng = SetRandom(seed: 7)
        for n in [1, 2, 3, 10, 1000, Int(Int32.max)] {
            for _ in 0..<1000 {
                let v = rng.below(n)
                XCTAssertTrue(v >= 0 && v < n)
            }
        }
    }

    func testScanOfATableVisitsEveryMemberThroughResizes() {
        let s = SetValue()
        for i in 0..<1000 { add(s, "s\(i)") }
        var seen = Set<[UInt8]>()
        var cursor: UInt64 = 0
        var steps = 0
        repeat {
            cursor = s.scan(cursor: cursor) { seen.insert($0.array) }
            steps += 1
            // Grow and shrink midway: members present throughout must still come back.
            if steps == 100 { for i in 1000..<5000 { add(s, "s\(i)") } }
            if steps == 400 { for i in 1000..<5000 { remove(s, "s\(i)") } }
        } while cursor != 0 && steps < 1_000_000
        XCTAssertEqual(cursor, 0)
        for i in 0..<1000 { XCTAssertTrue(seen.contains(b("s\(i)")), "s\(i)") }
    }

    func testScanOfCompactFormsEndsAtOnce() {
        let ints = SetValue()
        for i in 0..<10 { add(ints, String(i)) }
        var got: [[UInt8]] = []
        XCTAssertEqual(ints.scan(cursor: 12345) { got.append($0.array) }, 0)
        XCTAssertEqual(got.count, 10)
        let packed = SetValue()
        for i in 0..<10 { add(packed, "p\(i)") }
        got = []
        XCTAssertEqual(packed.scan(cursor: 0) { got.append($0.array) }, 0)
        XCTAssertEqual(got.count, 10)
    }

    func testDuplicateIsIndependentAndKeepsTheEncoding() {
        let variants: [[String]] = [
            (0..<20).map { String($0) },                          // intset
            (0..<20).map { String($0) } + [String(1 << 40)],      // intset, 64-bit
            (0..<20).map { "x\($0)" },                            // packed
            (0..<500).map { "y\($0)" },                           // table
        ]
        for members in variants {
            let s = SetValue()
            for m in members { add(s, m) }
            let copy = s.duplicate()
            XCTAssertEqual(copy.encoding, s.encoding)
            if s.encoding == .table {
                XCTAssertEqual(Set(contents(copy)), Set(contents(s)))
            } else {
                XCTAssertEqual(contents(copy), contents(s))
            }
            add(copy, "new-member")
            XCTAssertFalse(has(s, "new-member"))
            XCTAssertTrue(has(copy, "new-member"))
            XCTAssertGreaterThan(copy.memoryUsage(samples: 5), 0)
        }
    }

    func testMemberAddsAndRemovesAcrossForms() {
        // SetMember .int against string forms and .bytes against an intset.
        let t = SetValue()
        add(t, "a")
        XCTAssertTrue(t.add(.int(42), maxIntsetEntries: 512))
        XCTAssertTrue(has(t, "42"))
        XCTAssertTrue(t.contains(.int(42)))
        XCTAssertTrue(t.remove(.int(42)))
        XCTAssertFalse(t.contains(.int(42)))
        let i = SetValue()
        add(i, "42")
        XCTAssertTrue(i.contains(.bytes(UnsafeRawBufferPointer(start: nil, count: 0))) == false)
        XCTAssertTrue(b("42").withUnsafeBytes { i.contains(.bytes($0)) })
    }

    /// The intset block is Redis's intset blob: an 8-byte header (width, count) and the
    /// integers, little endian; the width only grows; a loaded blob is kept as it is.
    func testIntsetBlockIsRedisBlobAndKeepsItsWidth() {
        func blob(_ s: SetValue) -> [UInt8] { s.withIntsetBlob { Array($0) } }
        let s = SetValue()
        XCTAssertEqual(blob(s), [2, 0, 0, 0, 0, 0, 0, 0])
        add(s, "2"); add(s, "1")
        XCTAssertEqual(blob(s), [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0])
        add(s, "100000")
        XCTAssertEqual(s.width, 4)
        remove(s, "100000")
        XCTAssertEqual(blob(s), [4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0], "no downgrade")
        add(s, "-5000000000")
        XCTAssertEqual(contents(s).map { String(decoding: $0, as: UTF8.self) }, ["-5000000000", "1", "2"])
        XCTAssertEqual(blob(s).count, 8 + 3 * 8)
        let wide: [UInt8] = [8, 0, 0, 0, 2, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + [3, 0, 0, 0, 0, 0, 0, 0]
        let loaded = wide.withUnsafeBytes { SetValue.fromIntsetBlob($0, maxIntsetEntries: 512) }
        XCTAssertEqual(blob(loaded), wide)
        XCTAssertEqual(blob(loaded.duplicate()), wide)
        XCTAssertTrue(has(loaded, "-1"))
        XCTAssertTrue(has(loaded, "3"))
        let over = wide.withUnsafeBytes { SetValue.fromIntsetBlob($0, maxIntsetEntries: 1) }
        XCTAssertEqual(over.encodingName, "hashtable")
        XCTAssertEqual(sortedContents(over), [b("-1"), b("3")])
    }

    func testRandomizedAgainstSwiftSet() {
        var rng = SeededRandom(state: 99)
        for limit in [0, 3, 512] {
            let s = SetValue()
            var model = Set<[UInt8]>()
            for _ in 0..<20_000 {
                let m: [UInt8]
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<6: m = b(String(Int.random(in: -50...150, using: &rng)))
                case 6..<9: m = b("v\(Int.random(in: 0..<120, using: &rng))")
                default: m = [UInt8](repeating: 0x61, count: Int.random(in: 0...70, using: &rng))
                }
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    XCTAssertEqual(remove(s, m), model.remove(m) != nil)
                } else {
                    XCTAssertEqual(add(s, m, max: limit), model.insert(m).inserted)
                }
                XCTAssertEqual(s.count, model.count)
            }
            XCTAssertEqual(Set(contents(s)), model)
            for m in model { XCTAssertTrue(has(s, m)) }
        }
    }
}
