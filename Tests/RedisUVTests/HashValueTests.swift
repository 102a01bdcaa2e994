import XCTest
@testable import RedisUV

/// HashValue (Types/HashValue.swift): the packed "listpack" form, the "hashtable" form,
/// conversions between them, and the hash commands' pure logic run in-process.
final class HashValueTests: XCTestCase {
    private let small = HashLimits(maxEntries: 512, maxValue: 64)

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @discardableResult
    private func set(_ h: HashValue, _ f: [UInt8], _ v: [UInt8], limits: HashLimits? = nil) -> Bool {
        f.withUnsafeBytes { fp in v.withUnsafeBytes { vp in h.set(fp, vp, limits: limits ?? small) } }
    }

    private func get(_ h: HashValue, _ f: [UInt8]) -> [UInt8]? {
        f.withUnsafeBytes { h.get($0).map { Array($0) } }
    }

    @discardableResult
    private func delete(_ h: HashValue, _ f: [UInt8]) -> Bool {
        f.withUnsafeBytes { h.delete($0) }
    }

    private func pairs(_ h: HashValue) -> [([UInt8], [UInt8])] {
        var all: [([UInt8], [UInt8])] = []
        h.forEach { f, v in
            all.append((Array(f), Array(v)))
            return true
        }
        return all
    }

    private func dictionary(_ h: HashValue) -> [[UInt8]: [UInt8]] {
        var d: [[UInt8]: [UInt8]] = [:]
        for (f, v) in pairs(h) {
            XCTAssertNil(d[f], "field \(f) visited twice")
            d[f] = v
        }
        return d
    }

    // MARK: length prefixes

    func testPackedLengthRoundTrip() {
        let lengths = [0, 1, 127, 128, 255, 16383, 16384, 2_097_151, 2_097_152, 268_435_455, 268_435_456, 1 << 30]
        var buf = [UInt8](repeating: 0, count: 8)
        for n in lengths {
            let written = buf.withUnsafeMutableBytes { PackedLength.write(n, to: $0.baseAddress!) }
            XCTAssertEqual(written, PackedLength.size(n), "size of \(n)")
            var off = 0
            let read = buf.withUnsafeBytes { PackedLength.read($0.baseAddress!, &off) }
            XCTAssertEqual(read, n)
            XCTAssertEqual(off, written)
        }
    }

    // MARK: listpack form

    func testPackedKeepsInsertionOrderAndUpdatesInPlace() {
        let h = HashValue()
        XCTAssertEqual(h.encodingName, "listpack")
        XCTAssertEqual(h.count, 0)
        XCTAssertTrue(set(h, b("a"), b("1")))
        XCTAssertTrue(set(h, b("b"), b("2")))
        XCTAssertTrue(set(h, b("c"), b("3")))
        XCTAssertFalse(set(h, b("b"), b("a longer value than before")))
        XCTAssertFalse(set(h, b("a"), b("")))
        XCTAssertEqual(pairs(h).map { String(decoding: $0.0, as: UTF8.self) }, ["a", "b", "c"])
        XCTAssertEqual(get(h, b("b")), b("a longer value than before"))
        XCTAssertEqual(get(h, b("a")), [])
        XCTAssertEqual(get(h, b("c")), b("3"))
        XCTAssertNil(get(h, b("d")))
        XCTAssertFalse(set(h, b("b"), b("x")))
        XCTAssertEqual(get(h, b("b")), b("x"))
        XCTAssertEqual(get(h, b("c")), b("3"))

        XCTAssertTrue(delete(h, b("b")))
        XCTAssertFalse(delete(h, b("b")))
        XCTAssertEqual(pairs(h).map { $0.0 }, [b("a"), b("c")])
        XCTAssertTrue(delete(h, b("a")))
        XCTAssertTrue(delete(h, b("c")))
        XCTAssertEqual(h.count, 0)
        XCTAssertTrue(pairs(h).isEmpty)
        XCTAssertEqual(h.encodingName, "listpack")
    }

    func testPackedBinaryAndEmptyFields() {
        let h = HashValue()
        set(h, [], [])
        set(h, [0], [0, 1])
        set(h, [0, 0], [255])
        set(h, [13, 10], [])
        XCTAssertEqual(h.count, 4)
        XCTAssertEqual(get(h, []), [])
        XCTAssertEqual(get(h, [0]), [0, 1])
        XCTAssertEqual(get(h, [0, 0]), [255])
        XCTAssertEqual(get(h, [13, 10]), [])
        XCTAssertNil(get(h, [0, 0, 0]))
        XCTAssertTrue([UInt8]().withUnsafeBytes { h.contains($0) })
    }

    /// Long items (multi-byte length prefixes) under a large value limit.
    func testPackedLongItems() {
        let limits = HashLimits(maxEntries: 512, maxValue: 1 << 20)
        let h = HashValue()
        let big = [UInt8](repeating: 7, count: 100_000)
        set(h, b("f"), big, limits: limits)
        set(h, big, b("v"), limits: limits)
        set(h, b("g"), [UInt8](repeating: 1, count: 200), limits: limits)
        XCTAssertEqual(h.encodingName, "listpack")
        XCTAssertEqual(get(h, b("f")), big)
        XCTAssertEqual(get(h, big), b("v"))
        set(h, b("f"), b("short"), limits: limits)
        XCTAssertEqual(get(h, b("f")), b("short"))
        XCTAssertEqual(get(h, b("g"))?.count, 200)
        XCTAssertEqual(pairs(h).map { $0.0.count }, [1, 100_000, 1])
    }

    // MARK: conversions

    func testConvertsPastEntryLimitAndNeverBack() {
        let limits = HashLimits(maxEntries: 4, maxValue: 64)
        let h = HashValue()
        for i in 0..<4 { set(h, b("f\(i)"), b("v\(i)"), limits: limits) }
        XCTAssertEqual(h.encodingName, "listpack")
        set(h, b("f0"), b("changed"), limits: limits)
        XCTAssertEqual(h.encodingName, "listpack")
        set(h, b("f4"), b("v4"), limits: limits)
        XCTAssertEqual(h.encodingName, "hashtable")
        XCTAssertEqual(h.count, 5)
        XCTAssertEqual(get(h, b("f0")), b("changed"))
        for i in 1...4 { XCTAssertEqual(get(h, b("f\(i)")), b("v\(i)")) }
        for i in 0..<5 { delete(h, b("f\(i)")) }
        XCTAssertEqual(h.count, 0)
        XCTAssertEqual(h.encodingName, "hashtable")
    }

    func testConvertsOnLongFieldOrValue() {
        let h = HashValue()
        set(h, b("a"), [UInt8](repeating: 1, count: 64))
        set(h, [UInt8](repeating: 2, count: 64), b("b"))
        XCTAssertEqual(h.encodingName, "listpack")
        set(h, b("c"), [UInt8](repeating: 3, count: 65))
        XCTAssertEqual(h.encodingName, "hashtable")
        XCTAssertEqual(dictionary(h).count, 3)

        let k = HashValue()
        set(k, b("a"), b("1"))
        set(k, [UInt8](repeating: 4, count: 65), b("1"))
        XCTAssertEqual(k.encodingName, "hashtable")
        XCTAssertEqual(get(k, b("a")), b("1"))
    }

    /// A listpack longer than the limit (the limit was lowered) converts on its next
    /// write, even an update, as Redis's hashTypeSet checks the length every time.
    func testLoweredLimitConvertsOnNextWrite() {
        let h = HashValue()
        for i in 0..<6 { set(h, b("f\(i)"), b("v")) }
        let lowered = HashLimits(maxEntries: 2, maxValue: 64)
        delete(h, b("f0"))
        XCTAssertEqual(h.encodingName, "listpack")
        set(h, b("f1"), b("w"), limits: lowered)
        XCTAssertEqual(h.encodingName, "hashtable")
        XCTAssertEqual(h.count, 5)
    }

    func testZeroLimits() {
        let h = HashValue()
        set(h, b("a"), b("1"), limits: HashLimits(maxEntries: 0, maxValue: 64))
        XCTAssertEqual(h.encodingName, "hashtable")
        let e = HashValue()
        set(e, [], [], limits: HashLimits(maxEntries: 512, maxValue: 0))
        XCTAssertEqual(e.encodingName, "listpack")
        set(e, [], b("x"), limits: HashLimits(maxEntries: 512, maxValue: 0))
        XCTAssertEqual(e.encodingName, "hashtable")
    }

    // MARK: hashtable form

    func testLargeTableSetGetDeleteAndShrink() {
        let h = HashValue()
        let n = 100_000
        for i in 0..<n { XCTAssertTrue(set(h, b("field:\(i)"), b("\(i)"))) }
        XCTAssertEqual(h.encodingName, "hashtable")
        XCTAssertEqual(h.count, n)
        XCTAssertGreaterThanOrEqual(h.tableBucketCount, n)
        for i in stride(from: 0, to: n, by: 7) { XCTAssertEqual(get(h, b("field:\(i)")), b("\(i)")) }
        // Values of other lengths reallocate entries in the middle of chains.
        for i in stride(from: 0, to: n, by: 3) { XCTAssertFalse(set(h, b("field:\(i)"), b("value number \(i)"))) }
        for i in stride(from: 0, to: n, by: 3) { XCTAssertEqual(get(h, b("field:\(i)")), b("value number \(i)")) }
        for i in 0..<(n - 10) { XCTAssertTrue(delete(h, b("field:\(i)"))) }
        XCTAssertEqual(h.count, 10)
        XCTAssertLessThanOrEqual(h.tableBucketCount, 128, "a table less than 10% full shrinks")
        let rest = dictionary(h)
        XCTAssertEqual(rest.count, 10)
        for i in (n - 10)..<n { XCTAssertNotNil(rest[b("field:\(i)")]) }
    }

    /// dictScan's guarantee: without changes every pair comes exactly once; with the
    /// table growing or shrinking between calls, every pair present throughout still
    /// comes at least once.
    func testTableScanCoversEveryPair() {
        let h = HashValue()
        for i in 0..<1000 { set(h, b("k\(i)"), b("v")) }
        var seen: [[UInt8]: Int] = [:]
        var cursor: UInt64 = 0
        repeat {
            cursor = h.scanTable(cursor: cursor) { f, _ in seen[Array(f), default: 0] += 1 }
        } while cursor != 0
        XCTAssertEqual(seen.count, 1000)
        XCTAssertTrue(seen.values.allSatisfy { $0 == 1 })

        seen = [:]
        cursor = 0
        var step = 0
        repeat {
            cursor = h.scanTable(cursor: cursor) { f, _ in seen[Array(f), default: 0] += 1 }
            step += 1
            if step == 50 { for i in 1000..<5000 { set(h, b("k\(i)"), b("v")) } }   // grows
            if step == 300 { for i in 1000..<5000 { delete(h, b("k\(i)")) } }       // shrinks
        } while cursor != 0
        for i in 0..<1000 { XCTAssertNotNil(seen[b("k\(i)")], "k\(i) missed") }
    }

    // MARK: copies, randomness, memory

    func testDuplicateIsIndependent() {
        for limits in [small, HashLimits(maxEntries: 2, maxValue: 64)] {
            let h = HashValue()
            for i in 0..<5 { set(h, b("f\(i)"), b("v\(i)"), limits: limits) }
            let copy = h.duplicate()
            XCTAssertEqual(copy.encodingName, h.encodingName)
            XCTAssertEqual(dictionary(copy), dictionary(h))
            set(h, b("f0"), b("changed"), limits: limits)
            delete(h, b("f1"))
            XCTAssertEqual(get(copy, b("f0")), b("v0"))
            XCTAssertEqual(get(copy, b("f1")), b("v1"))
            if !h.isTable { XCTAssertEqual(pairs(copy).map { $0.0 }, (0..<5).map { b("f\($0)") }) }
        }
    }

    func testRandomPairsAreMembersAndReachEveryField() {
        for limits in [small, HashLimits(maxEntries: 2, maxValue: 64)] {
            let h = HashValue()
            for i in 0..<20 { set(h, b("f\(i)"), b("v\(i)"), limits: limits) }
            var rng = SamplingRandom(seed: 42)
            var seen = Set<[UInt8]>()
            for _ in 0..<2000 {
                let (f, v) = h.randomPair(using: &rng)
                XCTAssertEqual(get(h, Array(f)), Array(v))
                seen.insert(Array(f))
            }
            XCTAssertEqual(seen.count, 20, "\(h.encodingName): every field is drawn eventually")
        }
    }

    func testMemoryUsage() {
        let h = HashValue()
        let empty = h.memoryUsage(samples: 5)
        XCTAssertGreaterThan(empty, 0)
        for i in 0..<10 { set(h, b("f\(i)"), b("v\(i)")) }
        XCTAssertGreaterThan(h.memoryUsage(samples: 5), empty)
        XCTAssertLessThan(h.memoryUsage(samples: 5), 200, "ten small pairs stay one small block")
        for i in 10..<1000 { set(h, b("f\(i)"), b("v\(i)")) }
        let sampled = h.memoryUsage(samples: 5)
        let exact = h.memoryUsage(samples: 0)
        XCTAssertGreaterThan(exact, 1000 * 16)
        XCTAssertEqual(Double(sampled), Double(exact), accuracy: Double(exact) * 0.5)
    }

    /// Random operations against a dictionary model, across both encodings.
    func testAgainstModel() {
        var rng = SamplingRandom(seed: 7)
        for limits in [HashLimits(maxEntries: 16, maxValue: 8), small] {
            let h = HashValue()
            var model: [[UInt8]: [UInt8]] = [:]
            var order: [[UInt8]] = []
            for _ in 0..<20_000 {
                let f = (0..<Int.random(in: 0...3, using: &rng)).map { _ in UInt8.random(in: 0...5, using: &rng) }
                switch Int.random(in: 0..<10, using: &rng) {
                case 0...5:
                    let v = (0..<Int.random(in: 0...10, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let created = set(h, f, v, limits: limits)
                    XCTAssertEqual(created, model[f] == nil)
                    if model[f] == nil { order.append(f) }
                    model[f] = v
                case 6...8:
                    XCTAssertEqual(delete(h, f), model.removeValue(forKey: f) != nil)
                    order.removeAll { $0 == f }
                default:
                    XCTAssertEqual(get(h, f), model[f])
                }
                XCTAssertEqual(h.count, model.count)
            }
            XCTAssertEqual(dictionary(h), model)
            if !h.isTable { XCTAssertEqual(pairs(h).map { $0.0 }, order, "listpack order is insertion order") }
        }
    }
}

/// The hash commands in-process, for what the corpus cannot compare byte for byte:
/// random replies, scans of tables, the dirty counter.
final class HashCommandTests: XCTestCase {
    private var server: Server!
    private var client: Client!

    override func setUp() {
        var config = ServerConfig()
        config.databases = 1
        server = Server(config: config, log: Logger(level: "warning"))
        client = server.createClient(now: 0)
    }

    override func tearDown() {
        client = nil
        server = nil
    }

    @discardableResult
    private func run(_ args: [String]) -> [UInt8] {
        client.out.count = 0
        let owned = OwnedArgv(args.map { Array($0.utf8) })
        server.processCommand(client, owned.argv)
        return Array(client.out.bytes)
    }

    private func reply(_ args: String...) throws -> RespValue {
        try RespValue.parse(run(args))
    }

    private func fill(_ key: String, _ n: Int) {
        run(["HSET", key] + (0..<n).flatMap { ["f\($0)", "v\($0)"] })
    }

    func testRandomFieldCounts() throws {
        for (key, n) in [("small", 10), ("table", 1000)] {
            fill(key, n)
            for count in [1, 3, n / 2, n - 1, n, n + 5] {
                let r = try reply("HRANDFIELD", key, String(count))
                XCTAssertEqual(r.children.count, min(count, n))
                XCTAssertEqual(Set(r.children.compactMap(\.text)).count, min(count, n), "distinct for a positive count")
                XCTAssertTrue(r.children.allSatisfy { ($0.text ?? "").hasPrefix("f") })
            }
            let rep = try reply("HRANDFIELD", key, "-50", "WITHVALUES")
            XCTAssertEqual(rep.children.count, 100)
            for i in stride(from: 0, to: 100, by: 2) {
                let f = rep.children[i].text!, v = rep.children[i + 1].text!
                XCTAssertEqual("v" + f.dropFirst(), v, "value goes with its field")
            }
            run(["HELLO", "3"])
            let nested = try reply("HRANDFIELD", key, "4", "WITHVALUES")
            XCTAssertEqual(nested.children.count, 4)
            XCTAssertTrue(nested.children.allSatisfy { $0.type == UInt8(ascii: "*") && $0.children.count == 2 })
            run(["HELLO", "2"])
        }
    }

    func testScanOfATableVisitsEveryPairOnce() throws {
        fill("t", 2000)
        var cursor = "0"
        var fields: [String: String] = [:]
        var calls = 0
        repeat {
            let r = try reply("HSCAN", "t", cursor, "COUNT", "20")
            cursor = r.children[0].text!
            let items = r.children[1].children
            XCTAssertEqual(items.count % 2, 0)
            for i in stride(from: 0, to: items.count, by: 2) {
                XCTAssertNil(fields[items[i].text!], "duplicate \(items[i].text!)")
                fields[items[i].text!] = items[i + 1].text!
            }
            calls += 1
        } while cursor != "0"
        XCTAssertEqual(fields.count, 2000)
        XCTAssertGreaterThan(calls, 10, "a table is scanned in steps")
        XCTAssertEqual(fields["f1234"], "v1234")

        let matched = try reply("HSCAN", "t", "0", "MATCH", "f1?", "COUNT", "100000")
        XCTAssertEqual(matched.children[0].text, "0")
        XCTAssertEqual(Set(matched.children[1].children.enumerated().filter { $0.offset % 2 == 0 }.map { $0.element.text! }),
                       Set((10...19).map { "f\($0)" }))
    }

    func testDirtyCounter() {
        let before = server.dirty
        run(["HSET", "h", "a", "1", "a", "2", "b", "3"])
        XCTAssertEqual(server.dirty - before, 3, "HSET counts every pair, as Redis's (argc-2)/2")
        run(["HSETNX", "h", "a", "x"])
        XCTAssertEqual(server.dirty - before, 3)
        run(["HDEL", "h", "a", "b", "zz"])
        XCTAssertEqual(server.dirty - before, 5)
        run(["HINCRBY", "h", "n", "1"])
        run(["HINCRBYFLOAT", "h", "n", "x"])
        XCTAssertEqual(server.dirty - before, 6)
    }

    func testHugeNegativeCountStopsAtTheOutputLimit() throws {
        fill("h", 3)
        server.config.outputLimits.normal.hard = 1 << 20
        let out = run(["HRANDFIELD", "h", "-1000000000"])
        XCTAssertTrue(client.flags.contains(.closeASAP))
        XCTAssertLessThan(out.count, 4 << 20, "the loop ends soon after the limit is passed")
    }
}
