import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// redis-uv master → redis-uv replica (the pairing the other suites leave out), with a real
/// redis-server replica on the same master as the oracle: full syncs both ways, every type,
/// and the commands whose effects are rewritten before they reach a replica (XADD *, SPOP,
/// served blocking pops and moves, XREADGROUP, relative expiries, lazily expired keys).
/// Then chained replication: a replica's own replica receives its master's stream exactly
/// (same replid, same offsets, same data).
final class ReplicationPairingTests: ReplicationTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
    }

    private func start(_ kind: ServerProcess.Kind, replicaOf master: ServerProcess? = nil, diskless: Bool = true) throws -> ServerProcess {
        var args = ["--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0",
                    "--enable-debug-command", "yes"]
        if let master { args += ["--replicaof", "127.0.0.1 \(master.port)"] }
        return try startServer(kind, args)
    }

    /// Writes whose effect, not the request, is what a replica must apply.
    private func writeRewrittenEffects(_ master: ServerProcess, _ c: RespConnection) throws {
        for i in 0..<20 { try call(c, "XADD", "auto", "*", "n", String(i)) }
        try call(c, "XADD", "auto", "MAXLEN", "~", "5", "*", "n", "last")
        try call(c, "SPOP", "bigset", "5")
        try call(c, "SPOP", "intset")
        try call(c, "SADD", "one", "x")
        try call(c, "SPOP", "one")  // the set goes: DEL
        try call(c, "SET", "rel", "v", "EX", "1000000")
        try call(c, "SETEX", "rel2", "1000000", "v")
        try call(c, "EXPIRE", "list", "1000000")
        try call(c, "PEXPIRE", "hash", "1000000000")
        try call(c, "GETEX", "int", "EX", "1000000")
        try call(c, "INCRBYFLOAT", "float", "1.25")
        try call(c, "HINCRBYFLOAT", "hash", "ff", "0.5")
        try call(c, "XREADGROUP", "GROUP", "g1", "carol", "COUNT", "3", "STREAMS", "stream", ">")
        try call(c, "XAUTOCLAIM", "stream", "g1", "dave", "0", "0-0", "COUNT", "2")
        // Blocking commands served by later writes propagate as their non-blocking forms.
        let waiters = try (0..<3).map { _ in try master.connect() }
        defer { for w in waiters { w.close() } }
        try waiters[0].send(command: ["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"])
        try waiters[1].send(command: ["BZPOPMIN", "zq", "0"])
        try waiters[2].send(command: ["XREADGROUP", "GROUP", "g2", "erin", "BLOCK", "0", "STREAMS", "stream", ">"])
        try waitUntil("three clients blocked") { try info(c, "blocked_clients", section: "clients") == "3" }
        try call(c, "RPUSH", "src", "moved", "stays")
        try call(c, "ZADD", "zq", "1", "low", "2", "high")
        try call(c, "XADD", "stream", "200-1", "wake", "up")
        for w in waiters { _ = try w.readReply(timeout: 10) }
        // A key that expired on the master and is then touched: DEL reaches the replicas.
        try call(c, "SET", "short", "v", "PX", "50")
        usleep(150_000)
        XCTAssertNil(try call(c, "GET", "short").payload)
        try call(c, "SORT", "biglist", "ALPHA", "LIMIT", "0", "10", "STORE", "sorted")
    }

    private func everyTypeBothReplicas(diskless: Bool) throws {
        let master = try start(.redisUV, diskless: diskless)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let uvReplica = try start(.redisUV, replicaOf: master)
        let realReplica = try start(.redisServer, replicaOf: master)
        try assertSameData(master, uvReplica)
        try assertSameData(master, realReplica)
        XCTAssertTrue(uvReplica.log.contains(diskless ? "streamed RDB" : "MASTER <-> REPLICA sync: receiving"), uvReplica.log)
        try writeStream(master, mc)
        try writeRewrittenEffects(master, mc)
        try assertSameData(master, uvReplica)
        try assertSameData(master, realReplica)
        // The rewritten effects really were applied (not an empty dataset matching one).
        let r = try uvReplica.connect()
        defer { r.close() }
        XCTAssertEqual(try call(r, "LRANGE", "dst", "0", "-1").children.map(\.text), ["moved"])
        XCTAssertEqual(try call(r, "ZRANGE", "zq", "0", "-1").children.map(\.text), ["high"])
        XCTAssertEqual(try call(r, "EXISTS", "one", "short").integer, 0)
        XCTAssertEqual(try call(r, "XLEN", "auto").integer, try call(mc, "XLEN", "auto").integer)
        XCTAssertGreaterThan(try call(r, "TTL", "list").integer ?? -1, 0)
        XCTAssertEqual(try info(mc, "connected_slaves"), "2")
        // Replication traffic is counted apart from clients' (INFO stats), as in Redis.
        let replIn = Int(try info(r, "total_net_repl_input_bytes", section: "stats") ?? "") ?? 0
        let replOut = Int(try info(mc, "total_net_repl_output_bytes", section: "stats") ?? "") ?? 0
        XCTAssertGreaterThan(replIn, 3 << 20, "the RDB and the stream (a 3 MB value in it)")
        XCTAssertGreaterThan(replOut, 2 * replIn - (1 << 20), "both replicas' bytes")
        XCTAssertLessThan(Int(try info(r, "total_net_input_bytes", section: "stats") ?? "") ?? -1, 1 << 20)
    }

    func testRedisUVToRedisUVDisklessEveryTypeAndRewrittenEffects() throws { try everyTypeBothReplicas(diskless: true) }
    func testRedisUVToRedisUVDiskBasedEveryTypeAndRewrittenEffects() throws { try everyTypeBothReplicas(diskless: false) }

    /// master → middle → leaf: the leaf gets the master's stream through the middle,
    /// byte for byte (the same replid and offsets on all three).
    private func chain(master mk: ServerProcess.Kind, middle: ServerProcess.Kind, leaf lk: ServerProcess.Kind) throws {
        let master = try start(mk)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let mid = try start(middle, replicaOf: master)
        try waitInSync(master, mid)
        let leaf = try start(lk, replicaOf: mid)
        try assertSameData(mid, leaf)
        try writeStream(master, mc)
        try assertSameData(master, mid)
        try assertSameData(mid, leaf)
        let conns = try [master, mid, leaf].map { try $0.connect() }
        defer { for c in conns { c.close() } }
        try waitUntil("one history on all three") {
            let ids = try conns.map { try info($0, "master_replid") }
            let offsets = try conns.map { try info($0, "master_repl_offset") }
            return Set(ids).count == 1 && Set(offsets).count == 1
        }
        XCTAssertEqual(try info(conns[2], "master_port"), String(mid.port))
        XCTAssertEqual(try info(conns[1], "connected_slaves"), "1")
        try assertSameData(master, leaf)
    }

    func testChainRedisUVThroughRedisUVToRedisUV() throws { try chain(master: .redisUV, middle: .redisUV, leaf: .redisUV) }
    func testChainRedisServerThroughRedisUVToRedisServer() throws { try chain(master: .redisServer, middle: .redisUV, leaf: .redisServer) }
}
