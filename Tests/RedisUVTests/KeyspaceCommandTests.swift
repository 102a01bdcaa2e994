import XCTest
@testable import RedisUV

/// Keyspace, expiry and OBJECT logic in-process: what the differential corpus cannot pin
/// down (time, randomness, hash order) or cannot reach yet (non-string values).
final class KeyspaceCommandTests: InProcessTestCase {

    private func entry(_ key: String, in db: Database? = nil) -> KeyEntry? {
        Array(key.utf8).withUnsafeBytes { (db ?? client.db).table.find($0) }
    }

    /// The keys of a SCAN reply, in order.
    private func scanPage(_ cursor: String, count: Int) -> (String, [String]) {
        let reply = run("SCAN", cursor, "COUNT", String(count))
        let lines = reply.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        // *2, $n, cursor, *k, then $len/key pairs
        let next = lines[2]
        var keys: [String] = []
        var i = 4
        while i + 1 < lines.count {
            keys.append(lines[i + 1])
            i += 2
        }
        return (next, keys)
    }

    // MARK: SCAN

    func testScanCursorParsing() {
        func parse(_ s: [UInt8]) -> UInt64? { s.withUnsafeBytes { KeyspaceCommands.parseScanCursor($0) } }
        func parse(_ s: String) -> UInt64? { parse(Array(s.utf8)) }
        XCTAssertEqual(parse("0"), 0)
        XCTAssertEqual(parse(""), 0, "strtoul of an empty string is 0 and leaves nothing behind")
        XCTAssertEqual(parse("+17"), 17)
        XCTAssertEqual(parse("-0"), 0)
        XCTAssertEqual(parse("-1"), UInt64.max, "strtoul negates in unsigned arithmetic")
        XCTAssertEqual(parse("18446744073709551615"), UInt64.max)
        XCTAssertEqual(parse("007"), 7)
        XCTAssertNil(parse("18446744073709551616"))
        XCTAssertNil(parse("-18446744073709551616"))
        XCTAssertNil(parse(" 1"))
        XCTAssertNil(parse("\t1"))
        XCTAssertNil(parse("1 "))
        XCTAssertNil(parse("0x10"))
        XCTAssertNil(parse("+"))
        XCTAssertNil(parse("-"))
        XCTAssertNil(parse("abc"))
        XCTAssertEqual(parse([UInt8(ascii: "5"), 0, UInt8(ascii: "x")]), 5, "the argument is read as a C string")
        XCTAssertEqual(parse([0, UInt8(ascii: "x")]), 0)
    }

    /// dictScan's guarantee: a key present from the first call to the last is returned,
    /// even when the table grows and shrinks in between.
    func testScanReturnsKeysPresentThroughoutAcrossResizes() {
        for i in 0..<1000 { run("SET", "stay:\(i)", "v") }
        var seen = Set<String>()
        var cursor = "0"
        var calls = 0
        repeat {
            let (next, keys) = scanPage(cursor, count: 10)
            seen.formUnion(keys)
            cursor = next
            calls += 1
            if calls == 20 {
                for i in 0..<5000 { run("SET", "temp:\(i)", "v") }  // grows the table
            }
            if calls == 60 {
                for i in 0..<5000 { run("DEL", "temp:\(i)") }
                client.db.table.shrinkIfSparse()
            }
        } while cursor != "0"
        for i in 0..<1000 { XCTAssertTrue(seen.contains("stay:\(i)"), "stay:\(i) missed") }
    }

    func testScanOfAnEmptyDatabaseEndsAtOnce() {
        XCTAssertEqual(run("SCAN", "12345"), "*2\r\n$1\r\n0\r\n*0\r\n")
    }

    // MARK: active expiry

    func testActiveExpiryReclaimsKeysNobodyTouches() {
        for i in 0..<1000 { run("SET", "k\(i)", "v", "PX", "50") }
        run("SET", "persistent", "v")
        run("SET", "later", "v", "EX", "100")
        usleep(80_000)
        server.updateCachedTime()
        server.activeExpireCycle()
        XCTAssertEqual(run("DBSIZE"), ":2\r\n")
        XCTAssertEqual(client.db.volatileCount, 1)
        XCTAssertEqual(server.stats.keyspace.expiredKeys, 1000)
        XCTAssertGreaterThan(client.db.avgTTL, 0, "the live key's TTL feeds avg_ttl")
    }

    func testActiveExpiryStopsWhenFewKeysAreStale() {
        // 1 stale key among 200 live ones: one batch of 20 finds at most 5% stale and the
        // database is left alone until the next cycle, as in Redis.
        for i in 0..<200 { run("SET", "live\(i)", "v", "EX", "100") }
        run("SET", "stale", "v", "PX", "1")
        usleep(10_000)
        server.activeExpireCycle()
        XCTAssertEqual(client.db.expireCursor, 20, "one batch of 20 was checked")
        var cycles = 1
        while entry("stale") != nil && cycles < 20 {
            server.activeExpireCycle()
            cycles += 1
        }
        XCTAssertNil(entry("stale"), "the cursor reaches every key with a TTL")
        XCTAssertEqual(client.db.count, 200)
    }

    func testAverageTTLResetsWhenNoKeyHasATTL() {
        run("SET", "k", "v", "EX", "100")
        server.activeExpireCycle()
        XCTAssertGreaterThan(client.db.avgTTL, 0)
        run("PERSIST", "k")
        server.activeExpireCycle()
        XCTAssertEqual(client.db.avgTTL, 0)
    }

    // MARK: expiry instant

    /// Redis's keyIsExpired is `now > when`: at exactly its expire time a key still exists.
    func testKeyIsAliveAtItsExpireTime() {
        run("SET", "k", "v")
        let e = entry("k")!
        client.db.setExpire(e, at: server.cachedTimeMs)
        XCTAssertEqual(run("EXISTS", "k"), ":1\r\n")
        XCTAssertEqual(run("PTTL", "k"), ":0\r\n")
        client.db.setExpire(e, at: server.cachedTimeMs - 1)
        XCTAssertEqual(run("EXISTS", "k"), ":0\r\n")
    }

    // MARK: RENAME, MOVE, COPY

    func testRenameMovesTheValueObjectWithItsClockAndTTL() {
        run("SET", "a", "123")
        run("EXPIRE", "a", "100")
        let before = entry("a")!
        before.lru = 4242
        run("RENAME", "a", "b")
        let after = entry("b")!
        XCTAssertNil(entry("a"))
        XCTAssertEqual(after.encoding, .int)
        XCTAssertEqual(Array(after.stringValue), Array("123".utf8))
        XCTAssertGreaterThan(client.db.expireAt(of: after), server.cachedTimeMs)
        XCTAssertEqual(client.db.volatileCount, 1)
        XCTAssertEqual(after.lru, server.lruClock, "RENAME's own lookup refreshed the clock")
    }

    func testMoveKeepsTheEntryAndItsTTL() {
        run("SET", "a", "v", "EX", "100")
        let e = entry("a")!
        XCTAssertEqual(run("MOVE", "a", "2"), ":1\r\n")
        XCTAssertTrue(entry("a", in: server.db(2)) === e, "the same value object moves")
        XCTAssertEqual(server.db(2).volatileCount, 1)
        XCTAssertEqual(client.db.volatileCount, 0)
    }

    /// A stand-in for a future collection type, to check COPY's contract with values.
    final class FakeValue: KeyspaceValue {
        var items: [String]
        init(_ items: [String]) { self.items = items }
        var encodingName: String { "listpack" }
        func duplicate() -> KeyspaceValue { FakeValue(items) }
        func memoryUsage(samples: Int) -> Int { items.reduce(0) { $0 + $1.utf8.count } }
    }

    final class OpaqueValue {}

    /// Streams are the one type still held as an object in the entry.
    private func addObject(_ key: String, _ object: AnyObject, type: ValueType = .stream) {
        let e = Array(key.utf8).withUnsafeBytes { KeyEntry.make(key: $0, object: object, type: type, lru: server.lruClock) }
        client.db.add(e)
    }

    func testCopyDuplicatesNonStringValues() {
        addObject("stream", FakeValue(["a", "b"]))
        XCTAssertEqual(run("COPY", "stream", "copy"), ":1\r\n")
        let original = entry("stream")!.object as! FakeValue
        let copy = entry("copy")!.object as! FakeValue
        XCTAssertFalse(original === copy)
        copy.items.append("c")
        XCTAssertEqual(original.items, ["a", "b"])
        XCTAssertEqual(run("TYPE", "copy"), "+stream\r\n")
        XCTAssertEqual(run("OBJECT", "ENCODING", "copy"), "$8\r\nlistpack\r\n")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "copy"), ":1\r\n")
    }

    func testCopyOfAValueWithoutDuplicateIsRefused() {
        addObject("odd", OpaqueValue())
        XCTAssertEqual(run("COPY", "odd", "copy"), "-ERR unknown type object\r\n")
        XCTAssertNil(entry("copy"))
        XCTAssertEqual(run("OBJECT", "ENCODING", "odd"), "$7\r\nunknown\r\n")
    }

    func testRenameKeepsNonStringValueObject() {
        let list = FakeValue(["x"])
        addObject("l", list)
        run("RENAME", "l", "m")
        XCTAssertTrue(entry("m")!.object === list)
    }

    // MARK: OBJECT REFCOUNT

    func testSharedIntegerRefcounts() {
        run("SET", "n", "7")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "n"), ":2147483647\r\n")
        run("COPY", "n", "c")
        XCTAssertTrue(entry("c")!.isPrivateInteger)
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "c"), ":1\r\n")
        run("INCR", "c")
        XCTAssertFalse(entry("c")!.isPrivateInteger, "INCR makes a new (shared) object")
        XCTAssertEqual(run("OBJECT", "REFCOUNT", "c"), ":2147483647\r\n")
        XCTAssertEqual(entry("c")!.encoding, .int, "the private bit does not disturb the encoding")
    }

    // MARK: LFU

    func testLFUCounterMath() {
        var lfu = LFUPolicy(maxmemoryPolicy: "allkeys-lfu")!
        XCTAssertNil(LFUPolicy(maxmemoryPolicy: "allkeys-lru"))
        let now: Int64 = 1_700_000_000_000
        let minutes = LFUPolicy.minutes(nowMs: now)
        let stamp = LFUPolicy.initialStamp(nowMs: now)
        XCTAssertEqual(stamp, minutes << 8 | 5)
        XCTAssertEqual(lfu.counter(of: stamp, nowMs: now), 5)
        XCTAssertEqual(lfu.counter(of: stamp, nowMs: now + 3 * 60_000), 2, "one point per idle minute")
        XCTAssertEqual(lfu.counter(of: stamp, nowMs: now + 60 * 60_000), 0)
        XCTAssertEqual(lfu.incremented(5), 6, "at or below the initial value every access counts")
        XCTAssertEqual(lfu.incremented(0), 1)
        XCTAssertEqual(lfu.incremented(255), 255)
        var increments = 0
        for _ in 0..<10_000 where lfu.incremented(15) == 16 { increments += 1 }
        // p = 1 / ((15 - 5) * 10 + 1) ≈ 0.0099
        XCTAssertTrue((50...150).contains(increments), "\(increments) increments")
        let touched = lfu.accessed(stamp, nowMs: now + 60_000)
        XCTAssertEqual(touched >> 8, LFUPolicy.minutes(nowMs: now + 60_000))
        XCTAssertEqual(touched & 255, 5, "decayed to 4, then incremented")
    }

    func testLFUMinutesWrap() {
        XCTAssertEqual(LFUPolicy.minutesElapsed(since: 65530, nowMs: 3 * 60_000), 65535 - 65530 + 3)
    }

    func testLFUTrackingFollowsThePolicy() {
        run("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        run("SET", "k", "v")
        XCTAssertEqual(run("OBJECT", "FREQ", "k"), ":5\r\n")
        run("GET", "k")
        XCTAssertEqual(run("OBJECT", "FREQ", "k"), ":6\r\n")
        run("SET", "k", "other value")
        XCTAssertGreaterThanOrEqual(entry("k")!.lru & 255, 6, "an overwrite keeps the counter")
        run("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        XCTAssertNil(client.db.lfu)
        run("GET", "k")
        XCTAssertEqual(entry("k")!.lru, server.lruClock)
        XCTAssertEqual(run("OBJECT", "IDLETIME", "k"), ":0\r\n")
    }
}
