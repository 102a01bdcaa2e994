import XCTest
@testable import RedisUV

/// ListValue (Redis's quicklist of listpack nodes) against a plain array model, plus the
/// listpack entry format and the node-size rules checked against figures taken from
/// Redis 7.0.15 (DEBUG OBJECT's ql_nodes and ql_uncompressed_size).
final class ListValueTests: XCTestCase {
    // MARK: helpers

    private func bytes(_ e: ListElement) -> [UInt8] {
        if let p = e.bytes { return Array(UnsafeRawBufferPointer(start: p, count: e.length)) }
        return Array(String(e.integer).utf8)
    }

    private func contents(_ l: ListValue) -> [[UInt8]] {
        var out: [[UInt8]] = []
        l.iterate(fromTail: false) { out.append(bytes($0)); return true }
        return out
    }

    private func push(_ l: ListValue, _ s: [UInt8], head: Bool = false) {
        s.withUnsafeBytes { l.push($0, atHead: head) }
    }

    private func push(_ l: ListValue, _ s: String, head: Bool = false) { push(l, Array(s.utf8), head: head) }

    private func check(_ l: ListValue, _ model: [[UInt8]], _ what: @autoclosure () -> String = "",
                       file: StaticString = #filePath, line: UInt = #line) {
        if let problem = l.checkConsistency() { XCTFail("\(what()): \(problem)", file: file, line: line) }
        XCTAssertEqual(l.count, model.count, what(), file: file, line: line)
        XCTAssertEqual(contents(l), model, what(), file: file, line: line)
    }

    // MARK: entry format

    func testIntegerEncodingsRoundTrip() {
        let values: [Int] = [0, 1, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, -32769,
                             8_388_607, -8_388_608, 8_388_608, 2_147_483_647, -2_147_483_648, 2_147_483_648,
                             Int.max, Int.min, 1_000_000_007]
        let l = ListValue(fill: -2)
        for v in values { push(l, String(v)) }
        check(l, values.map { Array(String($0).utf8) })
        var decoded: [Int] = []
        l.iterate(fromTail: false) { e in
            XCTAssertTrue(e.isInteger)
            decoded.append(e.integer)
            return true
        }
        XCTAssertEqual(decoded, values)
    }

    /// Only canonical decimal text is stored as a number (lpStringToInt64): the others
    /// stay strings and read back byte for byte.
    func testNonCanonicalNumbersStayStrings() {
        let texts = ["01", "-0", "+1", " 1", "1 ", "9223372036854775808", "-9223372036854775809",
                     "123456789012345678901", "1.5", "", "-", "0x10"]
        let l = ListValue(fill: -2)
        for t in texts { push(l, t) }
        check(l, texts.map { Array($0.utf8) })
        l.iterate(fromTail: false) { e in
            XCTAssertFalse(e.isInteger)
            return true
        }
    }

    func testStringLengthClassesAndBacklens() {
        // 6-bit, 12-bit and 32-bit string lengths, and backlens of 1, 2 and 3 bytes.
        let sizes = [0, 1, 63, 64, 125, 126, 127, 128, 4095, 4096, 16380, 16383, 16384, 70000]
        let l = ListValue(fill: -2)
        var model: [[UInt8]] = []
        for (i, n) in sizes.enumerated() {
            let s = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ i) | 0x80 }
            push(l, s, head: i % 2 == 0)
            if i % 2 == 0 { model.insert(s, at: 0) } else { model.append(s) }
        }
        check(l, model)
        // Walk backwards too: every backlen must lead to the right entry start.
        var back: [[UInt8]] = []
        l.iterate(fromTail: true) { back.append(bytes($0)); return true }
        XCTAssertEqual(back, model.reversed())
    }

    func testBinarySafe() {
        let l = ListValue(fill: -2)
        let s: [UInt8] = [0, 255, 13, 10, 0, 0x80, 0xF4]
        push(l, s)
        push(l, [0])
        check(l, [s, [0]])
    }

    // MARK: node-size rules (figures from Redis 7.0.15)

    /// 4000 × RPUSH "xxx": 3 nodes, listpacks of 20021 bytes in all.
    func testNodeSizesMatchRedisForSmallStrings() {
        let l = ListValue(fill: -2)
        for _ in 0..<4000 { push(l, "xxx") }
        XCTAssertEqual(l.nodeCounts, [1635, 1635, 730])
        XCTAssertEqual(l.nodePackedSizes.reduce(0, +), 20021)
    }

    /// LPUSH 1..3000: 2 nodes, 8887 bytes.
    func testNodeSizesMatchRedisForIntegers() {
        let l = ListValue(fill: -2)
        for i in 1...3000 { push(l, String(i), head: true) }
        XCTAssertEqual(l.nodeCount, 2)
        XCTAssertEqual(l.nodePackedSizes.reduce(0, +), 8887)
        check(l, (1...3000).reversed().map { Array(String($0).utf8) })
    }

    func testPositiveFillCountsEntries() {
        let l = ListValue(fill: 5)
        for i in 0..<23 { push(l, String(i)) }
        XCTAssertEqual(l.nodeCounts, [5, 5, 5, 5, 3])
        let one = ListValue(fill: 0)  // every element alone, as quicklist does with fill 0
        for i in 0..<3 { push(one, String(i)) }
        XCTAssertEqual(one.nodeCounts, [1, 1, 1])
    }

    func testFillIsClamped() {
        XCTAssertEqual(ListValue(fill: -100).fill, -5)
        XCTAssertEqual(ListValue(fill: 100_000).fill, 32767)
        XCTAssertEqual(ListValue(fill: -5).sizeLimit, 65536)
        XCTAssertEqual(ListValue(fill: -1).sizeLimit, 4096)
    }

    func testBigElementsGetTheirOwnNodes() {
        let l = ListValue(fill: -2)
        let big = [UInt8](repeating: 0x61, count: 10000)
        push(l, "a")
        push(l, big)
        push(l, "b")
        XCTAssertEqual(l.nodeCounts, [1, 1, 1])
        check(l, [Array("a".utf8), big, Array("b".utf8)])
    }

    // MARK: operations

    func testPopBothEndsAcrossNodes() {
        let l = ListValue(fill: 4)
        var model: [[UInt8]] = []
        for i in 0..<50 {
            push(l, "v\(i)", head: i % 3 == 0)
            if i % 3 == 0 { model.insert(Array("v\(i)".utf8), at: 0) } else { model.append(Array("v\(i)".utf8)) }
        }
        while !model.isEmpty {
            XCTAssertEqual(bytes(l.first), model.first)
            XCTAssertEqual(bytes(l.last), model.last)
            if model.count % 2 == 0 {
                l.removeFirst()
                model.removeFirst()
            } else {
                l.removeLast()
                model.removeLast()
            }
            check(l, model)
        }
        XCTAssertEqual(l.nodeCount, 0)
        push(l, "again")
        check(l, [Array("again".utf8)])
    }

    func testRangesAndIndexes() {
        let l = ListValue(fill: 7)
        let model = (0..<200).map { Array("e\($0)".utf8) }
        for m in model { push(l, m) }
        for (start, n) in [(0, 200), (0, 1), (199, 1), (13, 50), (150, 50), (6, 2)] {
            var got: [[UInt8]] = []
            l.forEach(from: start, count: n, reverse: false) { got.append(bytes($0)) }
            XCTAssertEqual(got, Array(model[start..<(start + n)]))
            got = []
            l.forEach(from: start + n - 1, count: n, reverse: true) { got.append(bytes($0)) }
            XCTAssertEqual(got, Array(model[start..<(start + n)].reversed()))
        }
        XCTAssertEqual(l.element(atIndex: -1).map(bytes), model.last)
        XCTAssertEqual(l.element(atIndex: -200).map(bytes), model.first)
        XCTAssertNil(l.element(atIndex: -201))
        XCTAssertNil(l.element(atIndex: 200))
        XCTAssertNil(l.element(atIndex: Int.min))
    }

    /// LINSERT into full nodes: split, insert, merge — the contents stay right.
    func testInsertIntoFullNodesSplitsAndMerges() {
        for fill in [2, 3, 5, -1] {
            let l = ListValue(fill: fill)
            var model: [[UInt8]] = []
            for i in 0..<40 {
                let s = fill < 0 ? Array(String(repeating: "p\(i)", count: 200).utf8) : Array("p\(i)".utf8)
                push(l, s)
                model.append(s)
            }
            var rng = SeededRandom(state: UInt64(fill + 100))
            for k in 0..<120 {
                let pivotIndex = Int(rng.next() % UInt64(model.count))
                let pivot = model[pivotIndex]
                let after = rng.next() % 2 == 0
                let value = Array("new\(k)".utf8)
                let ok = value.withUnsafeBytes { v in pivot.withUnsafeBytes { p in l.insert(v, after: after, pivot: ListMatcher(p)) } }
                XCTAssertTrue(ok)
                let first = model.firstIndex(of: pivot)!
                model.insert(value, at: after ? first + 1 : first)
                check(l, model, "fill \(fill) step \(k)")
            }
            let missing = Array("nope".utf8)
            XCTAssertFalse(missing.withUnsafeBytes { p in missing.withUnsafeBytes { l.insert($0, after: true, pivot: ListMatcher(p)) } })
        }
    }

    func testRemoveRange() {
        for fill in [3, 16, -2] {
            for (start, n) in [(0, 10), (5, 20), (90, 10), (0, 100), (47, 1), (33, 33)] {
                let l = ListValue(fill: fill)
                var model = (0..<100).map { Array("r\($0)".utf8) }
                for m in model { push(l, m) }
                l.removeRange(start, n)
                model.removeSubrange(start..<(start + n))
                check(l, model, "fill \(fill) remove \(start)+\(n)")
            }
        }
    }

    func testRemoveMatchingBothDirectionsWithLimits() {
        for fill in [2, 5, -2] {
            for (limit, fromTail) in [(0, false), (1, false), (3, false), (1, true), (4, true), (0, true), (100, true)] {
                let l = ListValue(fill: fill)
                var model: [[UInt8]] = []
                for i in 0..<60 {
                    let s: [UInt8] = i % 3 == 0 ? Array("x".utf8) : (i % 5 == 0 ? Array("42".utf8) : Array("k\(i)".utf8))
                    push(l, s)
                    model.append(s)
                }
                for target in ["x", "42", "nothing"] {
                    let t = Array(target.utf8)
                    let removed = t.withUnsafeBytes { l.removeAll(matching: ListMatcher($0), limit: limit, fromTail: fromTail) }
                    var expected = 0
                    if fromTail {
                        var i = model.count - 1
                        while i >= 0 {
                            if model[i] == t && (limit == 0 || expected < limit) {
                                model.remove(at: i)
                                expected += 1
                            }
                            i -= 1
                        }
                    } else {
                        var i = 0
                        while i < model.count {
                            if model[i] == t && (limit == 0 || expected < limit) {
                                model.remove(at: i)
                                expected += 1
                            } else {
                                i += 1
                            }
                        }
                    }
                    XCTAssertEqual(removed, expected)
                    check(l, model, "fill \(fill) limit \(limit) tail \(fromTail) \(target)")
                }
            }
        }
    }

    /// An integer entry only equals the same canonical text; "042" is a string.
    func testMatcherSemantics() {
        let l = ListValue(fill: -2)
        for s in ["42", "042", "-0", "0", "abc"] { push(l, s) }
        func removeAll(_ s: String) -> Int {
            Array(s.utf8).withUnsafeBytes { l.removeAll(matching: ListMatcher($0), limit: 0, fromTail: false) }
        }
        XCTAssertEqual(removeAll("42"), 1)
        XCTAssertEqual(removeAll("-0"), 1)
        XCTAssertEqual(removeAll("00"), 0)
        check(l, ["042", "0", "abc"].map { Array($0.utf8) })
    }

    func testReplaceGrowsAndShrinksEntries() {
        let l = ListValue(fill: 4)
        var model = (0..<20).map { Array("s\($0)".utf8) }
        for m in model { push(l, m) }
        let values: [[UInt8]] = [Array("12".utf8), [UInt8](repeating: 0x41, count: 300), [], Array("-99999999999".utf8),
                                 [UInt8](repeating: 0x42, count: 5000), Array("z".utf8)]
        for (k, v) in values.enumerated() {
            for index in [0, 7, 19, 10] {
                v.withUnsafeBytes { l.replace(at: index, with: $0) }
                model[index] = v
                check(l, model, "value \(k) index \(index)")
            }
        }
    }

    func testDuplicateIsIndependent() {
        let l = ListValue(fill: 3)
        var model = (0..<10).map { Array("d\($0)".utf8) }
        for m in model { push(l, m) }
        let copy = l.duplicate()
        l.removeFirst()
        push(l, "changed")
        check(copy, model)
        XCTAssertEqual(copy.fill, 3)
        model.removeFirst()
        model.append(Array("changed".utf8))
        check(l, model)
        XCTAssertEqual(copy.encodingName, "quicklist")
        XCTAssertGreaterThan(copy.memoryUsage(samples: 0), 10 * 4)
    }

    /// A one-node list keeps its entries in its own block (the "inline" node) through
    /// pushes at both ends, pops and LSET; a second node moves them out, and a list that
    /// is back to one node in a bigger ring keeps them out.
    func testInlineNodeLifecycle() {
        let l = ListValue(fill: -2)
        var model: [[UInt8]] = []
        for i in 0..<10 {
            push(l, "item\(i)")
            model.append(Array("item\(i)".utf8))
            push(l, "head\(i)", head: true)
            model.insert(Array("head\(i)".utf8), at: 0)
            check(l, model, "push \(i)")
            XCTAssertTrue(l.hasInlineNode, "push \(i)")
        }
        Array("replaced".utf8).withUnsafeBytes { l.replace(at: 3, with: $0) }
        model[3] = Array("replaced".utf8)
        check(l, model, "lset")
        XCTAssertTrue(l.hasInlineNode)
        // Up to a second node (8 KB limit at fill -2).
        var i = 0
        while l.nodeCount == 1 {
            push(l, "grow\(i)")
            model.append(Array("grow\(i)".utf8))
            i += 1
        }
        check(l, model, "second node")
        XCTAssertFalse(l.hasInlineNode)
        while l.nodeCount > 1 {
            l.removeLast()
            model.removeLast()
        }
        check(l, model, "back to one node")
        XCTAssertFalse(l.hasInlineNode)
        // Emptied and filled again: the ring kept its two slots, so the node has a block
        // of its own.
        while l.count > 0 { l.removeFirst() }
        check(l, [], "emptied")
        push(l, "again")
        check(l, [Array("again".utf8)], "again")

        // An emptied one-slot list gets an inline node again (LMOVE within one list).
        let one = ListValue(fill: -2)
        push(one, "a")
        one.removeLast()
        push(one, "b", head: true)
        check(one, [Array("b".utf8)])
        XCTAssertTrue(one.hasInlineNode)
    }

    /// An inline node that grew big and was popped down gives the room back, like a node
    /// in a block of its own (shrinkIfSparse).
    func testInlineNodeShrinks() {
        let l = ListValue(fill: -5)  // 64 KB nodes
        var model: [[UInt8]] = []
        for i in 0..<2000 {
            push(l, "value-\(i)")
            model.append(Array("value-\(i)".utf8))
        }
        XCTAssertTrue(l.hasInlineNode)
        let big = l.memoryUsage(samples: 0)
        while l.count > 5 {
            l.removeFirst()
            model.removeFirst()
        }
        check(l, model)
        XCTAssertTrue(l.hasInlineNode)
        XCTAssertLessThan(l.memoryUsage(samples: 0), big / 10)
        for i in 0..<5 {
            push(l, "more\(i)", head: true)
            model.insert(Array("more\(i)".utf8), at: 0)
        }
        check(l, model)
    }

    /// COPY of a one-node list is inline too; of a list of several nodes, none is.
    func testDuplicateLayout() {
        let small = ListValue(fill: -2)
        for i in 0..<10 { push(small, "item\(i)") }
        let smallCopy = small.duplicate()
        XCTAssertTrue(smallCopy.hasInlineNode)
        check(smallCopy, contents(small))
        let big = ListValue(fill: 4)
        for i in 0..<10 { push(big, "item\(i)") }
        let bigCopy = big.duplicate()
        XCTAssertEqual(bigCopy.nodeCounts, [4, 4, 2])
        check(bigCopy, contents(big))
    }

    /// A queue (push at one end, pop at the other) keeps memory bounded.
    func testQueueDoesNotGrow() {
        let l = ListValue(fill: -2)
        for i in 0..<100 { push(l, "job\(i)") }
        let before = l.memoryUsage(samples: 0)
        for i in 0..<200_000 {
            push(l, "job\(i)")
            l.removeFirst()
        }
        XCTAssertEqual(l.count, 100)
        XCTAssertLessThan(l.memoryUsage(samples: 0), before + 20_000)
        XCTAssertNil(l.checkConsistency())
    }

    // MARK: random operations against the model

    func testRandomOperationsAgainstModel() {
        for (seed, fill) in [(1, -2), (2, 3), (3, 1), (4, -1), (5, 17), (6, -5)] {
            var rng = SeededRandom(state: UInt64(seed))
            let l = ListValue(fill: fill)
            var model: [[UInt8]] = []
            func randomElement() -> [UInt8] {
                switch rng.next() % 10 {
                case 0: return Array(String(Int(truncatingIfNeeded: rng.next()) >> Int(rng.next() % 64)).utf8)
                case 1: return Array(String(rng.next() % 300).utf8)
                case 2: return (0..<Int(rng.next() % 200)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 3: return [UInt8](repeating: 0x63, count: Int(rng.next() % 9000))
                default: return Array("e\(rng.next() % 20)".utf8)
                }
            }
            for step in 0..<3000 {
                switch rng.next() % 12 {
                case 0, 1, 2:
                    let s = randomElement()
                    let head = rng.next() % 2 == 0
                    push(l, s, head: head)
                    if head { model.insert(s, at: 0) } else { model.append(s) }
                case 3:
                    if !model.isEmpty { l.removeFirst(); model.removeFirst() }
                case 4:
                    if !model.isEmpty { l.removeLast(); model.removeLast() }
                case 5:
                    if !model.isEmpty {
                        let i = Int(rng.next() % UInt64(model.count))
                        let s = randomElement()
                        s.withUnsafeBytes { l.replace(at: i, with: $0) }
                        model[i] = s
                    }
                case 6:
                    if !model.isEmpty {
                        let pivot = model[Int(rng.next() % UInt64(model.count))]
                        let s = randomElement()
                        let after = rng.next() % 2 == 0
                        _ = s.withUnsafeBytes { v in pivot.withUnsafeBytes { l.insert(v, after: after, pivot: ListMatcher($0)) } }
                        let at = model.firstIndex(of: pivot)!
                        model.insert(s, at: after ? at + 1 : at)
                    }
                case 7:
                    if !model.isEmpty {
                        let start = Int(rng.next() % UInt64(model.count))
                        let n = Int(rng.next() % UInt64(model.count - start + 1))
                        l.removeRange(start, n)
                        model.removeSubrange(start..<(start + n))
                    }
                case 8:
                    let t = Array("e\(rng.next() % 20)".utf8)
                    let limit = Int(rng.next() % 4)
                    let fromTail = rng.next() % 2 == 0
                    let got = t.withUnsafeBytes { l.removeAll(matching: ListMatcher($0), limit: limit, fromTail: fromTail) }
                    var removed = 0
                    var idx = fromTail ? Array(model.indices.reversed()) : Array(model.indices)
                    idx = idx.filter { model[$0] == t }
                    if limit != 0 { idx = Array(idx.prefix(limit)) }
                    for i in idx.sorted(by: >) {
                        model.remove(at: i)
                        removed += 1
                    }
                    XCTAssertEqual(got, removed)
                case 9:
                    if !model.isEmpty {
                        let i = Int(rng.next() % UInt64(model.count))
                        XCTAssertEqual(l.element(atIndex: i).map(bytes), model[i])
                        XCTAssertEqual(l.element(atIndex: i - model.count).map(bytes), model[i])
                    }
                case 10:
                    if !model.isEmpty {
                        let start = Int(rng.next() % UInt64(model.count))
                        let n = 1 + Int(rng.next() % UInt64(model.count - start))
                        var got: [[UInt8]] = []
                        l.forEach(from: start + n - 1, count: n, reverse: true) { got.append(bytes($0)) }
                        XCTAssertEqual(got, Array(model[start..<(start + n)].reversed()))
                    }
                default:
                    let copy = l.duplicate()
                    XCTAssertEqual(contents(copy), model)
                }
                if step % 50 == 0 || model.count < 5 { check(l, model, "seed \(seed) fill \(fill) step \(step)") }
            }
            check(l, model, "seed \(seed) fill \(fill) end")
        }
    }
}

