import XCTest
@testable import RedisUV

/// StreamValue against a plain array of entries: appends, seeks, ranges both ways,
/// deletions and trims (exact and whole-node), plus the node sizing rules Redis's
/// listpacks follow (stream-node-max-entries / -max-bytes).
final class StreamValueTests: XCTestCase {

    typealias Entry = (id: StreamID, pairs: [[UInt8]])

    private func append(_ s: StreamValue, _ id: StreamID, _ pairs: [[UInt8]], maxBytes: Int = 4096, maxEntries: Int = 100) {
        let owned = OwnedArgv([Array("xadd".utf8)] + pairs)
        withExtendedLifetime(owned) {
            s.append(id, owned.argv, from: 1, maxBytes: maxBytes, maxEntries: maxEntries)
        }
    }

    private func contents(_ s: StreamValue, _ start: StreamID = .zero, _ end: StreamID = .max, reverse: Bool = false) -> [Entry] {
        var out: [Entry] = []
        s.forEachEntry(from: start, to: end, reverse: reverse) { id, f in
            var pairs: [[UInt8]] = []
            f.forEachPair { k, v in
                pairs.append(Array(k))
                pairs.append(Array(v))
            }
            out.append((id, pairs))
            return true
        }
        return out
    }

    private func assertSame(_ a: [Entry], _ b: [Entry], _ msg: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.map(\.id), b.map(\.id), msg, file: file, line: line)
        XCTAssertEqual(a.map(\.pairs), b.map(\.pairs), msg, file: file, line: line)
    }

    func testIDOrderingAndNeighbours() {
        XCTAssertLessThan(StreamID(ms: 1, seq: 5), StreamID(ms: 2, seq: 0))
        XCTAssertLessThan(StreamID(ms: 2, seq: 0), StreamID(ms: 2, seq: 1))
        XCTAssertEqual(StreamID(ms: 1, seq: UInt64.max).incremented(), StreamID(ms: 2, seq: 0))
        XCTAssertNil(StreamID.max.incremented())
        XCTAssertEqual(StreamID(ms: 2, seq: 0).decremented(), StreamID(ms: 1, seq: UInt64.max))
        XCTAssertNil(StreamID.zero.decremented())
        XCTAssertEqual(String(decoding: StreamID(ms: 12, seq: 3).bytes, as: UTF8.self), "12-3")
    }

    func testIDParsingFollowsRedis() {
        func parse(_ s: String, strict: Bool = true, missing: UInt64 = 0) -> StreamID? {
            Array(s.utf8).withUnsafeBytes { StreamCommands.parseID(nil, $0, missingSeq: missing, strict: strict) }
        }
        XCTAssertEqual(parse("5"), StreamID(ms: 5, seq: 0))
        XCTAssertEqual(parse("5", missing: UInt64.max), StreamID(ms: 5, seq: UInt64.max))
        XCTAssertEqual(parse("5-7"), StreamID(ms: 5, seq: 7))
        XCTAssertEqual(parse("007-1"), StreamID(ms: 7, seq: 1))  // strtoull fallback
        XCTAssertEqual(parse(" 1"), StreamID(ms: 1, seq: 0))
        XCTAssertNil(parse("-"))
        XCTAssertEqual(parse("-", strict: false), .zero)
        XCTAssertEqual(parse("+", strict: false), .max)
        XCTAssertNil(parse("-1"))
        XCTAssertNil(parse("1-2-3"))
        XCTAssertNil(parse("18446744073709551616"))
        XCTAssertNil(parse(""))
        XCTAssertNil(parse("x"))
    }

    func testRandomOperationsAgainstArrayModel() {
        var rng = SeededRandom(state: 42)
        for maxEntries in [0, 1, 3, 7, 100] {
            let s = StreamValue()
            var model: [Entry] = []
            var last = StreamID.zero
            for step in 0..<3000 {
                let op = Int.random(in: 0..<100, using: &rng)
                if op < 50 {
                    let ms = last.ms + UInt64.random(in: 0...3, using: &rng)
                    let id = StreamID(ms: ms, seq: ms == last.ms ? last.seq + 1 : UInt64.random(in: 0...2, using: &rng))
                    let names = [["f"], ["f", "g"], ["a"], ["f"]][Int.random(in: 0..<4, using: &rng)]
                    var pairs: [[UInt8]] = []
                    for n in names {
                        pairs.append(Array(n.utf8))
                        pairs.append(Array(String(repeating: "v", count: Int.random(in: 0...140, using: &rng)).utf8))
                    }
                    append(s, id, pairs, maxBytes: 600, maxEntries: maxEntries)
                    model.append((id, pairs))
                    last = id
                } else if op < 65 {
                    let target = model.isEmpty || Int.random(in: 0..<4, using: &rng) == 0
                        ? StreamID(ms: UInt64.random(in: 0...last.ms + 1, using: &rng), seq: 0)
                        : model[Int.random(in: 0..<model.count, using: &rng)].id
                    let had = model.contains { $0.id == target }
                    XCTAssertEqual(s.delete(target), had, "delete \(target) at step \(step)")
                    model.removeAll { $0.id == target }
                } else if op < 90 {
                    let a = StreamID(ms: UInt64.random(in: 0...last.ms + 1, using: &rng), seq: UInt64.random(in: 0...2, using: &rng))
                    let b = StreamID(ms: UInt64.random(in: 0...last.ms + 1, using: &rng), seq: UInt64.random(in: 0...2, using: &rng))
                    let reverse = Bool.random(using: &rng)
                    var expected = model.filter { $0.id >= a && $0.id <= b }
                    if reverse { expected.reverse() }
                    assertSame(contents(s, a, b, reverse: reverse), expected, "range \(a) \(b) rev \(reverse) step \(step)")
                } else if op < 95 {
                    let maxlen = Int.random(in: 0...model.count + 2, using: &rng)
                    let removed = s.trim(.maxlen(maxlen), approx: false, limit: 0)
                    let expectRemoved = max(0, model.count - maxlen)
                    XCTAssertEqual(removed, expectRemoved, "trim maxlen \(maxlen)")
                    model.removeFirst(expectRemoved)
                } else {
                    let minid = StreamID(ms: UInt64.random(in: 0...last.ms + 1, using: &rng), seq: 0)
                    let approx = Bool.random(using: &rng)
                    let removed = s.trim(.minid(minid), approx: approx, limit: 0)
                    if approx {
                        // Whole nodes only: what went is a prefix of entries below minid.
                        XCTAssertEqual(removed, model.count - s.length, "approx minid \(minid)")
                        XCTAssertTrue(model.prefix(removed).allSatisfy { $0.id < minid })
                        model.removeFirst(removed)
                    } else {
                        let below = model.filter { $0.id < minid }.count
                        XCTAssertEqual(removed, below, "minid \(minid)")
                        model.removeFirst(below)
                    }
                }
                XCTAssertEqual(s.length, model.count, "length at step \(step)")
                if s.length > 0 {
                    XCTAssertEqual(s.edgeID(first: true), model.first?.id)
                    XCTAssertEqual(s.edgeID(first: false), model.last?.id)
                }
                if maxEntries > 0 {
                    for n in s.nodes { XCTAssertLessThanOrEqual(n.count + n.deleted, maxEntries) }
                }
            }
            assertSame(contents(s), model, "final contents with max entries \(maxEntries)")
            assertSame(contents(s, reverse: true), model.reversed(), "final reverse contents")
        }
    }

    func testApproximateTrimRemovesWholeNodesOnly() {
        let s = StreamValue()
        for i in 1...350 { append(s, StreamID(ms: UInt64(i), seq: 0), [Array("f".utf8), Array("v".utf8)]) }
        XCTAssertEqual(s.nodes.count, 4)  // 100 + 100 + 100 + 50, as Redis's listpacks
        XCTAssertEqual(s.trim(.maxlen(120), approx: true, limit: 10_000), 200)
        XCTAssertEqual(s.length, 150)
        XCTAssertEqual(s.trim(.maxlen(120), approx: true, limit: 10_000), 0)  // would cut into a node
        XCTAssertEqual(s.trim(.maxlen(10), approx: true, limit: 50), 0)       // LIMIT below a node
        XCTAssertEqual(s.trim(.maxlen(120), approx: false, limit: 0), 30)
        XCTAssertEqual(s.firstID, StreamID(ms: 231, seq: 0))
        XCTAssertEqual(s.nodes.first?.deleted, 30)
        XCTAssertEqual(s.trim(.minid(StreamID(ms: 301, seq: 0)), approx: true, limit: 0), 70)
        XCTAssertEqual(s.length, 50)
    }

    func testNodesSplitOnListpackBytes() {
        let s = StreamValue()
        // 1000-byte values: a 4096-byte listpack takes four of them, as in Redis.
        for i in 1...9 {
            append(s, StreamID(ms: UInt64(i), seq: 0), [Array("f".utf8), [UInt8](repeating: 120, count: 1000)])
        }
        XCTAssertEqual(s.nodes.map(\.count), [4, 4, 1])
        XCTAssertEqual(s.radixTreeNodes, 8)  // redis-server 7.0.15 reports 8 for these keys
    }

    func testDuplicateIsIndependent() {
        let s = StreamValue()
        for i in 1...10 { append(s, StreamID(ms: UInt64(i), seq: 0), [Array("f".utf8), Array("\(i)".utf8)]) }
        let g = Array("g".utf8).withUnsafeBytes { s.createGroup($0, lastID: .zero, entriesRead: 0) }
        XCTAssertNotNil(g)
        let copy = s.duplicate() as! StreamValue
        XCTAssertTrue(s.delete(StreamID(ms: 3, seq: 0)))
        XCTAssertEqual(copy.length, 10)
        XCTAssertEqual(s.length, 9)
        XCTAssertEqual(copy.groups.count, 1)
        XCTAssertFalse(copy.groups[0] === s.groups[0])
    }

    func testIDMapAgainstSortedArray() {
        var rng = SeededRandom(state: 7)
        var map = StreamIDMap<Int>()
        var model: [StreamID: Int] = [:]
        for step in 0..<20_000 {
            let id = StreamID(ms: UInt64.random(in: 0...3000, using: &rng), seq: UInt64.random(in: 0...1, using: &rng))
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                XCTAssertEqual(map.insert(id, step), model[id] == nil, "insert \(id)")
                if model[id] == nil { model[id] = step }
            case 5..<8:
                XCTAssertEqual(map.remove(id), model.removeValue(forKey: id), "remove \(id)")
            case 8:
                let expected = model.keys.filter { $0 >= id }.min()
                XCTAssertEqual(map.next(atOrAfter: id)?.0, expected, "next \(id)")
            default:
                map.modify(id) { $0 = -step }
                if model[id] != nil { model[id] = -step }
                XCTAssertEqual(map.get(id), model[id])
            }
            XCTAssertEqual(map.count, model.count)
        }
        var seen: [StreamID] = []
        map.forEach { id, v in
            XCTAssertEqual(model[id], v)
            seen.append(id)
            return true
        }
        XCTAssertEqual(seen, model.keys.sorted())
        XCTAssertEqual(map.firstID, seen.first)
        XCTAssertEqual(map.lastID, seen.last)
        XCTAssertGreaterThan(map.chunks.count, 5)
        XCTAssertTrue(map.chunks.allSatisfy { !$0.ids.isEmpty && $0.ids.count <= 2 * StreamIDMap<Int>.chunkSize })
    }
}
