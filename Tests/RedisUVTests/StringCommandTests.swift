import XCTest
@testable import RedisUV

/// String commands run in-process: what the corpus cannot see yet (OBJECT ENCODING, TTLs,
/// RESP3, allocation growth). Expected encodings and RESP3 bytes come from redis-server 7.0.15.
final class StringCommandTests: InProcessTestCase {
    override var databases: Int { 1 }

    private func entry(_ key: String) -> KeyEntry? {
        Array(key.utf8).withUnsafeBytes { client.db.lookup($0, now: server.cachedTimeMs) }
    }

    private func encoding(_ key: String) -> String? {
        guard let e = entry(key) else { return nil }
        return e.encoding.name.description
    }

    // MARK: OBJECT ENCODING as Redis would report it

    func testEncodings() {
        run("SET", "a", "123")
        XCTAssertEqual(encoding("a"), "int")
        run("SET", "a", "abc")
        XCTAssertEqual(encoding("a"), "embstr")
        run("SET", "a", String(repeating: "x", count: 45))
        XCTAssertEqual(encoding("a"), "raw")
        run("SET", "a", "-0")
        XCTAssertEqual(encoding("a"), "embstr")

        run("APPEND", "b", "123")
        XCTAssertEqual(encoding("b"), "int", "APPEND to a new key stores the argument as SET would")
        run("APPEND", "c", "abc")
        XCTAssertEqual(encoding("c"), "embstr")
        run("APPEND", "c", "d")
        XCTAssertEqual(encoding("c"), "raw")
        run("APPEND", "c", "")
        XCTAssertEqual(encoding("c"), "raw")

        run("SETRANGE", "d", "0", "x")
        XCTAssertEqual(encoding("d"), "raw")
        run("SET", "e", "abc")
        run("SETRANGE", "e", "0", "")
        XCTAssertEqual(encoding("e"), "embstr", "setting nothing changes nothing")
        run("SETRANGE", "e", "0", "x")
        XCTAssertEqual(encoding("e"), "raw")

        run("INCR", "n")
        XCTAssertEqual(encoding("n"), "int")
        run("APPEND", "n", "1")
        XCTAssertEqual(encoding("n"), "raw")
        XCTAssertEqual(run("INCR", "n"), ":12\r\n")
        XCTAssertEqual(encoding("n"), "int")

        run("INCRBYFLOAT", "f", "3")
        XCTAssertEqual(encoding("f"), "embstr", "INCRBYFLOAT never stores an int")
        run("INCRBYFLOAT", "f", "1e50")
        XCTAssertEqual(encoding("f"), "raw")
        run("GETSET", "f", "12")
        XCTAssertEqual(encoding("f"), "int")
        run("MSET", "g", "1", "h", "hh")
        XCTAssertEqual(encoding("g"), "int")
        XCTAssertEqual(encoding("h"), "embstr")
    }

    // MARK: TTL semantics

    func testTTLRules() throws {
        let far = "100000"
        run("SET", "k", "v", "EX", far)
        XCTAssertTrue(try XCTUnwrap(entry("k")).hasExpire)
        run("SET", "k", "v2", "KEEPTTL")
        XCTAssertTrue(try XCTUnwrap(entry("k")).hasExpire, "KEEPTTL keeps it")
        run("SET", "k", "v3")
        XCTAssertFalse(try XCTUnwrap(entry("k")).hasExpire, "SET drops it")

        for keep in [["INCR", "n"], ["INCRBYFLOAT", "n", "1.5"], ["APPEND", "n", "0"], ["SETRANGE", "n", "10", "x"]] {
            run("SET", "n", "1", "EX", far)
            run(keep.map { Array($0.utf8) })
            XCTAssertTrue(try XCTUnwrap(entry("n")).hasExpire, "\(keep[0]) keeps the TTL")
        }
        for drop in [["GETSET", "n", "x"], ["MSET", "n", "x"]] {
            run("SET", "n", "1", "EX", far)
            run(drop.map { Array($0.utf8) })
            XCTAssertFalse(try XCTUnwrap(entry("n")).hasExpire, "\(drop[0]) drops the TTL")
        }

        run("SET", "g", "v", "EX", far)
        XCTAssertEqual(run("GETEX", "g", "PERSIST"), "$1\r\nv\r\n")
        XCTAssertFalse(try XCTUnwrap(entry("g")).hasExpire)
        let before = server.dirty
        run("GETEX", "g", "PERSIST")
        XCTAssertEqual(server.dirty, before, "PERSIST without a TTL changes nothing")
        run("GETEX", "g", "PX", "5000")
        let e = try XCTUnwrap(entry("g"))
        XCTAssertEqual(client.db.expireAt(of: e), server.cachedTimeMs + 5000)
        run("GETEX", "g", "EXAT", "4102444800")
        XCTAssertEqual(client.db.expireAt(of: try XCTUnwrap(entry("g"))), 4_102_444_800_000)
        XCTAssertEqual(run("GETEX", "g", "PXAT", "1"), "$1\r\nv\r\n")
        XCTAssertNil(entry("g"), "a past absolute time deletes the key")
        XCTAssertEqual(run("GETEX", "g", "EX", "0"), "$-1\r\n", "a missing key wins over a bad time")
        run("SET", "g", "v")
        XCTAssertEqual(run("GETEX", "g", "EX", "0"), "-ERR invalid expire time in 'getex' command\r\n")
    }

    // MARK: RESP3 shapes

    func testRESP3Replies() {
        client.resp = 3
        run("MSET", "key1", "ohmytext", "key2", "mynewtext")
        XCTAssertEqual(run("LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
                       "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n")
        XCTAssertEqual(run("LCS", "key1", "key2", "IDX"),
                       "%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n")
        XCTAssertEqual(run("LCS", "key1", "missing", "IDX"), "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n")
        XCTAssertEqual(run("LCS", "key1", "key2"), "$6\r\nmytext\r\n")
        XCTAssertEqual(run("LCS", "key1", "key2", "LEN"), ":6\r\n")
        XCTAssertEqual(run("GET", "missing"), "_\r\n")
        XCTAssertEqual(run("GETEX", "missing"), "_\r\n")
        XCTAssertEqual(run("GETDEL", "missing"), "_\r\n")
        XCTAssertEqual(run("GETSET", "missing", "v"), "_\r\n")
        XCTAssertEqual(run("SET", "missing", "w", "NX"), "_\r\n")
        XCTAssertEqual(run("MGET", "missing", "nope"), "*2\r\n$1\r\nv\r\n_\r\n")
    }

    // MARK: growth (sds-like greedy preallocation)

    func testRepeatedAppendReallocatesLogarithmically() throws {
        run("SET", "log", "")
        var reallocations = 0
        var last = ObjectIdentifier(try XCTUnwrap(entry("log")))
        let chunk = String(repeating: "x", count: 100)
        for i in 1...5000 {
            XCTAssertEqual(run("APPEND", "log", chunk), ":\(i * 100)\r\n")
            let now = ObjectIdentifier(try XCTUnwrap(entry("log")))
            if now != last { reallocations += 1; last = now }
        }
        XCTAssertLessThan(reallocations, 25, "500KB in 100-byte appends should double, not grow per call")
        let e = try XCTUnwrap(entry("log"))
        XCTAssertEqual(e.stringValue.count, 500_000)
        XCTAssertTrue(e.stringValue.allSatisfy { $0 == UInt8(ascii: "x") })
    }

    func testSetrangeZeroFillsReusedRoom() throws {
        // A shorter SET reuses the allocation, leaving old bytes behind the new end;
        // SETRANGE past the end must read as zero bytes there, not as those leftovers.
        run("SET", "g", "abcdefgh")
        let before = ObjectIdentifier(try XCTUnwrap(entry("g")))
        run("SET", "g", "abc")
        XCTAssertEqual(ObjectIdentifier(try XCTUnwrap(entry("g"))), before)
        XCTAssertEqual(run("SETRANGE", "g", "6", "z"), ":7\r\n")
        XCTAssertEqual(run("GET", "g"), "$7\r\nabc\u{0}\u{0}\u{0}z\r\n")
        XCTAssertEqual(run("SETRANGE", "g", "1", "XY"), ":7\r\n")
        XCTAssertEqual(run("GET", "g"), "$7\r\naXY\u{0}\u{0}\u{0}z\r\n")
        XCTAssertEqual(run("SETRANGE", "new", "3", "q"), ":4\r\n")
        XCTAssertEqual(run("GET", "new"), "$4\r\n\u{0}\u{0}\u{0}q\r\n")
    }

    func testSetDoesNotKeepAHugeBlock() throws {
        run("SETRANGE", "big", "100000", "x")
        run("APPEND", "big", "y")
        run("SET", "big", "1")
        let e = try XCTUnwrap(entry("big"))
        XCTAssertLessThan(e.valueCapacity, 1000, "SET of a short value releases the old room")
        XCTAssertEqual(run("INCR", "big"), ":2\r\n")
    }

    func testGetrangeBounds() {
        run("SET", "r", "This is a string")
        XCTAssertEqual(run("GETRANGE", "r", "0", "3"), "$4\r\nThis\r\n")
        XCTAssertEqual(run("GETRANGE", "r", "-3", "-1"), "$3\r\ning\r\n")
        XCTAssertEqual(run("GETRANGE", "r", "-1", "-5"), "$0\r\n\r\n")
        XCTAssertEqual(run("GETRANGE", "r", "-9223372036854775808", "9223372036854775807"), "$16\r\nThis is a string\r\n")
        XCTAssertEqual(run("SUBSTR", "missing", "0", "-1"), "$0\r\n\r\n")
    }
}
