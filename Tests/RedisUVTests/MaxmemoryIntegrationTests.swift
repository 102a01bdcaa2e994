import XCTest
import Foundation

/// maxmemory and its policies with a real server filled past the limit: which keys
/// survive each policy, the hot set's survival compared with redis-server run the same
/// way, the `evicted` event, WATCH, and the DELs a replica receives. Bounds are
/// statistical and generous: eviction samples keys at random, in Redis as here.
final class MaxmemoryIntegrationTests: ReplicationTestCase {
    /// Runs `commands` pipelined in batches, returning the replies.
    @discardableResult
    private func pipeline(_ c: RespConnection, _ commands: [[String]]) throws -> [RespValue] {
        var replies: [RespValue] = []
        var i = 0
        while i < commands.count {
            let batch = commands[i..<min(i + 200, commands.count)]
            var bytes: [UInt8] = []
            for cmd in batch { bytes += RespFraming.encodeCommand(cmd.map { Array($0.utf8) }) }
            try c.send(bytes)
            for _ in batch { replies.append(try RespValue.parse(try c.readReply(timeout: 30))) }
            i += batch.count
        }
        return replies
    }

    private func intInfo(_ c: RespConnection, _ field: String, _ section: String) throws -> Int {
        Int(try info(c, field, section: section) ?? "") ?? -1
    }

    private func exists(_ c: RespConnection, _ keys: [String]) throws -> Int {
        try pipeline(c, keys.map { ["EXISTS", $0] }).reduce(0) { $0 + Int($1.integer ?? 0) }
    }

    private let value = String(repeating: "v", count: 1000)

    /// A key set of (about) `bytes` over what the server uses now becomes the limit.
    private func setLimit(_ c: RespConnection, headroom bytes: Int, policy: String) throws {
        try call(c, "CONFIG", "SET", "maxmemory-policy", policy)
        let used = try intInfo(c, "used_memory", "memory")
        XCTAssertEqual(try text(c, "CONFIG", "SET", "maxmemory", String(used + bytes)), "OK")
    }

    /// Each policy: keys without TTL survive every volatile-* policy, something was
    /// evicted (evicted_keys counts it), memory stays near the limit.
    func testEachPolicyEvictsOnlyWhatItMay() throws {
        for policy in ["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"] {
            let s = try startServer(.redisUV)
            let c = try s.connect()
            let persistent = (0..<200).map { "p:\($0)" }
            try pipeline(c, persistent.map { ["SET", $0, value] })
            try setLimit(c, headroom: 1_000_000, policy: policy)
            let volatile = (0..<3000).map { "t:\($0)" }
            let far = 4_000_000_000 + 0  // far-future Unix seconds
            let replies = try pipeline(c, volatile.enumerated().map { ["SET", $1, value, "EXAT", String(far + $0 * 1000)] })
            XCTAssertTrue(replies.allSatisfy { $0.text == "OK" }, "\(policy): a write was refused")
            let evicted = try intInfo(c, "evicted_keys", "stats")
            XCTAssertGreaterThan(evicted, 1000, policy)
            let survivingPersistent = try exists(c, persistent)
            let survivingVolatile = try exists(c, volatile)
            if policy.hasPrefix("volatile") {
                XCTAssertEqual(survivingPersistent, persistent.count, "\(policy) evicted a key without TTL")
            }
            XCTAssertEqual(survivingPersistent + survivingVolatile, persistent.count + volatile.count - evicted, policy)
            XCTAssertLessThan(survivingVolatile, 2000, policy)
            let used = try intInfo(c, "used_memory", "memory")
            let limit = try intInfo(c, "maxmemory", "memory")
            XCTAssertLessThan(used, limit + 200_000, policy)
            s.stop()
        }
    }

    /// volatile-ttl takes the keys that expire soonest first: TTLs given in a shuffled
    /// order (far-future times only), the shortest quarter survives much less than the
    /// longest quarter.
    func testVolatileTTLEvictsShortestTTLFirst() throws {
        let s = try startServer(.redisUV)
        let c = try s.connect()
        try setLimit(c, headroom: 1_000_000, policy: "volatile-ttl")
        var rng = SeededRandom(state: 42)
        var order = Array(0..<3000)
        for i in stride(from: order.count - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        // Key t:r expires at rank r; they are written in random order of rank.
        try pipeline(c, order.map { ["SET", "t:\($0)", value, "EXAT", String(4_000_000_000 + $0 * 1000)] })
        let shortest = try exists(c, (0..<750).map { "t:\($0)" })
        let longest = try exists(c, (2250..<3000).map { "t:\($0)" })
        XCTAssertGreaterThan(try intInfo(c, "evicted_keys", "stats"), 1000)
        XCTAssertLessThan(Double(shortest), Double(longest) * 0.5, "shortest-TTL quarter \(shortest) vs longest \(longest)")
    }

    /// noeviction: writes get -OOM past the limit, reads still run, nothing is evicted.
    func testNoevictionRefusesWrites() throws {
        let s = try startServer(.redisUV)
        let c = try s.connect()
        try call(c, "SET", "kept", "1")
        try setLimit(c, headroom: 300_000, policy: "noeviction")
        let replies = try pipeline(c, (0..<1000).map { ["SET", "k:\($0)", value] })
        let refused = replies.filter { $0.text?.hasPrefix("OOM command not allowed when used memory > 'maxmemory'.") ?? false }
        XCTAssertGreaterThan(refused.count, 300)
        XCTAssertEqual(try text(c, "GET", "kept"), "1")
        XCTAssertEqual(try intInfo(c, "evicted_keys", "stats"), 0)
        XCTAssertEqual(try info(c, "maxmemory_policy", section: "memory"), "noeviction")
    }

    /// The hot set: keys read after the cold ones aged 2 s (allkeys-lru) or read many
    /// times (allkeys-lfu) mostly survive a fill that needs fewer evictions than there are
    /// cold keys; the surviving fraction is compared with redis-server's, same steps.
    func testHotSetSurvivesLikeRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        for policy in ["allkeys-lru", "allkeys-lfu"] {
            let theirs = try hotSetSurvival(.redisServer, policy: policy)
            let mine = try hotSetSurvival(.redisUV, policy: policy)
            print("hot-set survival \(policy): redis-server \(theirs), redis-uv \(mine)")
            XCTAssertGreaterThan(theirs, 0.8, "redis-server \(policy)")
            XCTAssertGreaterThan(mine, 0.8, "redis-uv \(policy) (redis-server: \(theirs))")
            XCTAssertGreaterThan(mine, theirs - 0.15, "redis-uv \(policy) \(mine) vs redis-server \(theirs)")
        }
    }

    private func hotSetSurvival(_ kind: ServerProcess.Kind, policy: String) throws -> Double {
        let s = try startServer(kind, ["--maxmemory-policy", policy])
        defer { s.stop() }
        let c = try s.connect()
        let cold = (0..<2000).map { "cold:\($0)" }
        let hot = (0..<500).map { "hot:\($0)" }
        try pipeline(c, (cold + hot).map { ["SET", $0, value] })
        if policy.hasSuffix("lru") {
            usleep(2_100_000)  // an LRU clock of 1 s resolution: the cold keys become older
            try pipeline(c, hot.map { ["GET", $0] })
        } else {
            for _ in 0..<30 { try pipeline(c, hot.map { ["GET", $0] }) }
        }
        try setLimit(c, headroom: 200_000, policy: policy)
        // About 1000 keys more than fits: fewer than the 2000 cold ones.
        try pipeline(c, (0..<1200).map { ["SET", "new:\($0)", value] })
        XCTAssertGreaterThan(try intInfo(c, "evicted_keys", "stats"), 500, "\(kind) \(policy)")
        return Double(try exists(c, hot)) / Double(hot.count)
    }

    /// Evicted keys: the `evicted` event to a subscriber, WATCH broken, and DELs (UNLINK
    /// under lazyfree-lazy-eviction) that leave a redis-server replica with the same keys.
    func testEvictionNotifiesInvalidatesWatchAndPropagates() throws {
        for lazy in ["no", "yes"] {
            let master = try startServer(.redisUV, ["--notify-keyspace-events", "Ee", "--lazyfree-lazy-eviction", lazy])
            let replica = try startServer(.redisServer, ["--replicaof", "127.0.0.1", String(master.port)])
            let m = try master.connect()
            let sub = try master.connect()
            let watcher = try master.connect()
            try pipeline(m, (0..<500).map { ["SET", "k:\($0)", value] })
            try waitInSync(master, replica)
            try call(sub, "SUBSCRIBE", "__keyevent@0__:evicted")
            XCTAssertEqual(try text(watcher, "WATCH", "k:1"), "OK")
            try setLimit(m, headroom: 100_000, policy: "allkeys-random")
            try pipeline(m, (0..<400).map { ["SET", "n:\($0)", value] })
            let evicted = try intInfo(m, "evicted_keys", "stats")
            XCTAssertGreaterThan(evicted, 100)
            var events = Set<String>()
            for _ in 0..<evicted {
                let msg = try RespValue.parse(try sub.readReply(timeout: 10))
                XCTAssertEqual(msg.children.first?.text, "message")
                if let key = msg.children.last?.text { events.insert(key) }
            }
            XCTAssertEqual(events.count, evicted)
            // WATCH: the transaction fails if k:1 was evicted, else runs.
            try call(watcher, "MULTI")
            try call(watcher, "PING")
            let exec = try call(watcher, "EXEC")
            let k1Gone = events.contains("k:1")
            XCTAssertEqual(exec.isNull, k1Gone, "EXEC after WATCH k:1, evicted: \(k1Gone)")
            try waitInSync(master, replica)
            let r = try replica.connect()
            XCTAssertEqual(try call(r, "DBSIZE").integer, try call(m, "DBSIZE").integer)
            for key in events.prefix(20) { XCTAssertEqual(try call(r, "EXISTS", key).integer, 0, key) }
            master.stop()
            replica.stop()
        }
    }
}
