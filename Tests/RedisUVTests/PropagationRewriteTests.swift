import XCTest
@testable import RedisUV

/// What each write command propagates (its effect, as Redis 7.0 rewrites it), observed
/// in-process through `server.propagation.observers`; no redis-server needed. The
/// comparison with the real redis-server's stream is PropagationDifferentialTests.
final class PropagationRewriteTests: InProcessTestCase {
    private var seen: [String] = []

    override func setUp() {
        super.setUp()
        seen = []
        server.propagation.observers.append { [unowned self] db, argv in
            seen.append((db == 0 ? "" : "\(db) ") + argv.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))
        }
    }

    /// Runs commands, returns what they propagated and starts afresh.
    private func effects(_ commands: [String]...) -> [String] {
        seen = []
        for c in commands {
            server.updateCachedTime()
            run(c.map { Array($0.utf8) })
        }
        defer { seen = [] }
        return seen
    }

    private func second(_ b: String) -> [String] { b.split(separator: " ").map(String.init) }

    private var now: Int64 { server.cachedTimeMs }

    // MARK: strings

    func testRelativeExpiriesBecomeAbsolute() {
        let out = effects(["SET", "a", "v", "EX", "100", "NX", "GET"])
        XCTAssertEqual(out.count, 1)
        let w = second(out[0])
        XCTAssertEqual(Array(w.prefix(4)), ["SET", "a", "v", "PXAT"])
        XCTAssertEqual(Double(Int64(w[4])! - now), 100_000, accuracy: 2_000)
        XCTAssertEqual(effects(["SET", "a", "v", "PXAT", "4102444800123", "XX"]), ["SET a v PXAT 4102444800123"])
        XCTAssertEqual(effects(["SETEX", "s", "5", "v"]).map { second($0).prefix(4).joined(separator: " ") }, ["SET s v PXAT"])
        XCTAssertEqual(effects(["PSETEX", "s", "5", "v"]).map { second($0).prefix(4).joined(separator: " ") }, ["SET s v PXAT"])
    }

    func testSetWithGetDropsTheGetWords() {
        XCTAssertEqual(effects(["SET", "a", "1", "GET"], ["SET", "a", "2", "get", "XX", "KEEPTTL"]),
                       ["SET a 1", "SET a 2 XX KEEPTTL"])
        XCTAssertEqual(effects(["SET", "a", "3", "NX", "GET"]), [])  // not stored: nothing
    }

    func testGetsetGetdelIncrbyfloat() {
        XCTAssertEqual(effects(["GETSET", "a", "1"], ["GETDEL", "a"], ["GETDEL", "a"]), ["SET a 1", "DEL a"])
        XCTAssertEqual(effects(["INCRBYFLOAT", "f", "1.5"], ["INCRBYFLOAT", "f", "1e2"]),
                       ["SET f 1.5 KEEPTTL", "SET f 101.5 KEEPTTL"])
        XCTAssertEqual(effects(["HINCRBYFLOAT", "h", "x", "0.25"], ["HINCRBYFLOAT", "h", "x", "0.25"]),
                       ["HSET h x 0.25", "HSET h x 0.5"])
    }

    func testGetex() {
        run("SET", "k", "v")
        let out = effects(["GETEX", "k", "EX", "10"], ["GETEX", "k", "PXAT", "4102444800123"], ["GETEX", "k", "PERSIST"],
                          ["GETEX", "k", "PERSIST"], ["GETEX", "k"], ["GETEX", "missing", "EX", "1"])
        XCTAssertEqual(out.count, 3)
        XCTAssertEqual(Array(second(out[0]).prefix(2)), ["PEXPIREAT", "k"])
        XCTAssertEqual(Array(out.dropFirst()), ["PEXPIREAT k 4102444800123", "PERSIST k"])
        XCTAssertEqual(effects(["GETEX", "k", "PXAT", "1"]), ["DEL k"])
        run("SET", "k", "v")
        run("CONFIG", "SET", "lazyfree-lazy-expire", "yes")
        XCTAssertEqual(effects(["GETEX", "k", "EXAT", "1"]), ["UNLINK k"])
    }

    // MARK: expire family

    func testExpireFamilyBecomesPexpireatWithItsConditions() {
        run("SET", "k", "v")
        let out = effects(["EXPIRE", "k", "100"], ["PEXPIRE", "k", "100000", "XX"], ["EXPIREAT", "k", "4102444800", "GT"],
                          ["PEXPIREAT", "k", "4102444800123"], ["EXPIRE", "k", "5", "NX"], ["EXPIRE", "missing", "5"])
        XCTAssertEqual(out.count, 4)
        XCTAssertEqual(Array(second(out[0]).prefix(2)), ["PEXPIREAT", "k"])
        XCTAssertEqual(second(out[1]).count, 4)
        XCTAssertEqual(second(out[1])[3], "XX")
        XCTAssertEqual(Array(out.suffix(2)), ["PEXPIREAT k 4102444800000 GT", "PEXPIREAT k 4102444800123"])
    }

    func testAnExpireTimeInThePastIsADeletion() {
        run("SET", "k", "v")
        XCTAssertEqual(effects(["EXPIRE", "k", "-1"]), ["DEL k"])
        run("SET", "k", "v")
        run("CONFIG", "SET", "lazyfree-lazy-expire", "yes")
        XCTAssertEqual(effects(["PEXPIREAT", "k", "1"]), ["UNLINK k"])
    }

    func testRestoreMakesItsTTLAbsolute() {
        run("SET", "src", "v")
        run("DUMP", "src")
        let payload = try! RespValue.parse(Array(client.out.bytes)).payload!
        var vectors: [[[UInt8]]] = []
        server.propagation.observers.append { _, argv in vectors.append(argv) }
        server.updateCachedTime()
        run([Array("RESTORE".utf8), Array("d".utf8), Array("5000".utf8), payload])
        run([Array("RESTORE".utf8), Array("d".utf8), Array("1".utf8), payload, Array("ABSTTL".utf8), Array("REPLACE".utf8)])
        XCTAssertEqual(vectors.count, 2)
        XCTAssertEqual(vectors[0].count, 5)
        XCTAssertEqual(vectors[0][4], Array("ABSTTL".utf8))
        XCTAssertEqual(Double(Int64(String(decoding: vectors[0][2], as: UTF8.self))! - now), 5_000, accuracy: 2_000)
        XCTAssertEqual(vectors[1], [Array("DEL".utf8), Array("d".utf8)])  // already expired: the replaced key goes
    }

    // MARK: lazy and active expiry

    func testLazyExpiryPropagatesADelBeforeTheCommandInOneTransaction() {
        run("SET", "e", "v", "PXAT", "1")
        XCTAssertEqual(effects(["GET", "e"]), ["DEL e"])
        run("SET", "e", "v", "PXAT", "1")
        XCTAssertEqual(effects(["SET", "e", "w"]), ["MULTI", "DEL e", "SET e w", "EXEC"])
        run("SET", "e", "v", "PXAT", "1")
        XCTAssertEqual(effects(["MULTI"], ["GET", "e"], ["EXEC"]), ["DEL e"])
        run("SET", "e", "v", "PXAT", "1")
        run("CONFIG", "SET", "lazyfree-lazy-expire", "yes")
        XCTAssertEqual(effects(["EXISTS", "e"]), ["UNLINK e"])
    }

    func testScanReclaimsWithoutATransaction() {
        run("SET", "a", "v", "PXAT", "1")
        run("SET", "b", "v", "PXAT", "1")
        XCTAssertEqual(effects(["SCAN", "0", "COUNT", "100"]).sorted(), ["DEL a", "DEL b"])
    }

    func testActiveExpiryPropagatesEachDeletionAtOnce() {
        run("SET", "a", "v", "PXAT", "1")
        run("SELECT", "2")
        run("SET", "b", "v", "PXAT", "1")
        seen = []
        server.updateCachedTime()
        for _ in 0..<10 { server.activeExpireCycle(.slow) }
        XCTAssertEqual(seen.sorted(), ["2 DEL b", "DEL a"])
    }

    func testAReplicaDoesNotPropagateItsOwnExpiries() {
        run("SET", "a", "v", "PXAT", "1")
        server.repl.master = MasterLinkState(host: "127.0.0.1", port: 1)
        defer { server.repl.master = nil }
        seen = []
        server.updateCachedTime()
        server.activeExpireCycle(.slow)
        _ = server.db(0).lookup(Array("a".utf8).withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[...]) }, now: now)
        XCTAssertEqual(seen, [])
    }

    // MARK: sets

    func testSpop() {
        run("SADD", "one", "m")
        XCTAssertEqual(effects(["SPOP", "one"]), ["SREM one m"])
        run("SADD", "s", "a", "b", "c")
        XCTAssertEqual(effects(["SPOP", "s", "5"]), ["DEL s"])
        run("SADD", "s", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")
        let out = effects(["SPOP", "s", "3"])
        XCTAssertEqual(out.first, "MULTI")
        XCTAssertEqual(out.last, "EXEC")
        XCTAssertEqual(out.count, 5)
        XCTAssertTrue(out.dropFirst().dropLast().allSatisfy { $0.hasPrefix("SREM s ") })
        let big = effects(["SPOP", "s", "6"])  // the remainder strategy: still one SREM per member
        XCTAssertEqual(big.count, 8)
        XCTAssertEqual(effects(["SPOP", "s", "0"], ["SPOP", "missing", "2"], ["SREM", "s", "nope"]), [])
    }

    // MARK: lists and sorted sets: blocking forms

    func testBlockingPopsPropagateTheirNonBlockingForms() {
        run("RPUSH", "l", "a", "b", "c", "d", "e")
        XCTAssertEqual(effects(["BLPOP", "l", "0"], ["BRPOP", "x", "l", "0"], ["BLMOVE", "l", "d", "left", "RIGHT", "0"],
                               ["BRPOPLPUSH", "l", "d", "0"], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "9"]),
                       ["LPOP l", "RPOP l", "LMOVE l d left RIGHT", "RPOPLPUSH l d", "LPOP l 1"])
        run("RPUSH", "l", "a", "b")
        XCTAssertEqual(effects(["LMPOP", "2", "x", "l", "RIGHT"]), ["RPOP l 1"])
        run("ZADD", "z", "1", "a", "2", "b", "3", "c")
        XCTAssertEqual(effects(["BZPOPMIN", "z", "0"], ["ZMPOP", "1", "z", "MAX", "COUNT", "5"]), ["ZPOPMIN z", "ZPOPMAX z 2"])
    }

    func testBlockedClientsServedLaterPropagateAfterThePush() {
        let waiter = server.createClient(now: 0)
        let pusher = client!
        client = waiter
        run("BLMOVE", "src", "dst", "RIGHT", "LEFT", "0")
        client = pusher
        XCTAssertEqual(effects(["RPUSH", "src", "x"]), ["RPUSH src x", "LMOVE src dst right left"])
        client = waiter
        run("BZMPOP", "0", "1", "z", "MIN", "COUNT", "5")
        client = pusher
        XCTAssertEqual(effects(["ZADD", "z", "1", "a", "2", "b"]), ["ZADD z 1 a 2 b", "ZPOPMIN z 2"])
    }

    // MARK: streams

    func testXaddWithGeneratedIDsAndApproximateTrims() {
        XCTAssertEqual(effects(["XADD", "s", "5-*", "f", "v"], ["XADD", "s", "5-*", "f", "v"]),
                       ["XADD s 5-0 f v", "XADD s 5-1 f v"])
        let out = effects(["XADD", "s", "MAXLEN", "~", "1", "*", "f", "v"])
        let w = second(out[0])
        XCTAssertEqual(Array(w.prefix(5)), ["XADD", "s", "MAXLEN", "=", "3"])
        XCTAssertTrue(w[5].hasSuffix("-0"))
        XCTAssertEqual(effects(["XTRIM", "s", "MAXLEN", "~", "2"]), [])  // the one node must stay: nothing trimmed
        XCTAssertEqual(effects(["XTRIM", "s", "MAXLEN", "1"]), ["XTRIM s MAXLEN 1"])
        XCTAssertEqual(effects(["XTRIM", "s", "MAXLEN", "~", "0"]), ["XTRIM s MAXLEN = 0"])  // the whole node went
    }

    func testConsumerGroupsPropagateClaimsAndTheGroupPosition() {
        run("XADD", "s", "1-0", "f", "v")
        run("XADD", "s", "2-0", "f", "v")
        run("XGROUP", "CREATE", "s", "g", "0")
        var out = effects(["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(Array(second(out[0]).prefix(6)), ["XCLAIM", "s", "g", "alice", "0", "1-0"])
        XCTAssertEqual(Array(second(out[0]).suffix(6)), ["RETRYCOUNT", "1", "FORCE", "JUSTID", "LASTID", "1-0"])
        out = effects(["XREADGROUP", "GROUP", "g", "bob", "NOACK", "STREAMS", "s", ">"])
        XCTAssertEqual(out, ["MULTI", "XGROUP CREATECONSUMER s g bob", "XGROUP SETID s g 2-0 ENTRIESREAD 2", "EXEC"])
        XCTAssertEqual(effects(["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", ">"]), [])
        out = effects(["XCLAIM", "s", "g", "carol", "0", "1-0", "JUSTID"])
        XCTAssertEqual(Array(second(out[0]).prefix(6)), ["XCLAIM", "s", "g", "carol", "0", "1-0"])
        XCTAssertEqual(effects(["XCLAIM", "s", "g", "carol", "0", "9-0"]), [])
        out = effects(["XAUTOCLAIM", "s", "g", "dave", "0", "0"])
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(Array(second(out[0]).prefix(4)), ["XCLAIM", "s", "g", "dave"])
    }

    // MARK: the rest

    func testPublishGoesToReplicasOnlyAndFlushdbAlways() {
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 16, nextOffset: 1)
        XCTAssertEqual(effects(["PUBLISH", "ch", "m"], ["FLUSHDB"], ["FLUSHDB"]), ["FLUSHDB", "FLUSHDB"])
        let stream = String(decoding: server.repl.backlog!.bytes(from: 1), as: UTF8.self)
        XCTAssertTrue(stream.contains("$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n"))
    }

    func testGeoaddPropagatesAsZadd() {
        let out = effects(["GEOADD", "g", "XX", "13.361389", "38.115556", "Palermo"], ["GEOADD", "g", "13.361389", "38.115556", "Palermo"])
        XCTAssertEqual(out, ["zadd g 3479099956230698 Palermo"])
    }

    func testNoOpWritesPropagateNothing() {
        run("SET", "a", "1")
        run("SADD", "s", "x")
        XCTAssertEqual(effects(["DEL", "missing"], ["SETNX", "a", "2"], ["SREM", "s", "nope"], ["EXPIRE", "missing", "5"],
                               ["PERSIST", "a"], ["HDEL", "h", "f"], ["ZREM", "z", "m"], ["LPOP", "nol"], ["SMOVE", "s", "s", "x"],
                               ["RENAME", "a", "a"], ["ZADD", "z", "XX", "1", "m"], ["LTRIM", "nol", "0", "1"], ["GETEX", "a"]), [])
    }

    func testNothingIsBuiltWithoutConsumers() {
        server.propagation.observers = []
        run("SET", "a", "v", "EX", "100")
        run("SPOP", "missing")
        XCTAssertNil(server.propagation.instead)
        XCTAssertTrue(server.propagation.pending.isEmpty)
        XCTAssertFalse(server.propagationRequested)
    }
}
