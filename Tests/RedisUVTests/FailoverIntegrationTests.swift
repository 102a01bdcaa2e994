import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// FAILOVER between real processes in the three pairings (redis-uv ↔ redis-uv, redis-uv
/// master → redis-server replica, redis-server master → redis-uv replica): the master
/// waits for the replica, becomes its replica, the replica takes over by PSYNC FAILOVER and
/// both continue the same history with a partial resync; a write sent meanwhile is held
/// and then refused as on any replica. Then the timeout, FORCE and ABORT paths, and CLIENT
/// PAUSE side by side with redis-server.
final class FailoverIntegrationTests: ReplicationTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
    }

    private let fast = ["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]

    private func pair(_ mk: ServerProcess.Kind, _ rk: ServerProcess.Kind) throws -> (ServerProcess, ServerProcess) {
        let master = try startServer(mk, fast)
        let replica = try startServer(rk, fast + ["--replicaof", "127.0.0.1 \(master.port)"])
        // FAILOVER TO needs the master to see the replica online (after its first ACK).
        let mc = try master.connect()
        defer { mc.close() }
        try waitUntil("the replica online on the master") { try info(mc, "slave0")?.contains("state=online") == true }
        return (master, replica)
    }

    private func role(_ s: ServerProcess) throws -> String {
        let c = try s.connect()
        defer { c.close() }
        return try info(c, "role") ?? "?"
    }

    private func failOver(_ mk: ServerProcess.Kind, _ rk: ServerProcess.Kind) throws {
        let (master, replica) = try pair(mk, rk)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        try assertSameData(master, replica)
        let rc = try replica.connect()
        defer { rc.close() }
        let partialBefore = try info(rc, "sync_partial_ok", section: "stats")
        XCTAssertEqual(partialBefore, "0")

        XCTAssertEqual(try raw(mc, "FAILOVER", "TO", "127.0.0.1", String(replica.port), "TIMEOUT", "30000"), "+OK\r\n")
        // A write meanwhile waits (paused), then meets a replica.
        let writer = try master.connect()
        defer { writer.close() }
        try writer.send(command: ["SET", "during-failover", "x"])
        try waitUntil("roles swapped (old master log:\n\(master.log)\nreplica log:\n\(replica.log))") {
            try role(replica) == "master" && role(master) == "slave"
        }
        XCTAssertEqual(String(decoding: try writer.readReply(timeout: 10), as: UTF8.self),
                       "-READONLY You can't write against a read only replica.\r\n")
        let newMaster = try replica.connect()
        defer { newMaster.close() }
        let old = try master.connect()
        defer { old.close() }
        try waitUntil("the old master's link is up") { try info(old, "master_link_status") == "up" }
        for c in [newMaster, old] { XCTAssertEqual(try info(c, "master_failover_state"), "no-failover") }
        // One history: the new master continued it (the old id is its replid2) and the old
        // master joined it with a partial resync.
        XCTAssertEqual(try info(newMaster, "sync_partial_ok", section: "stats"), "1")
        XCTAssertEqual(try info(newMaster, "sync_full", section: "stats"), "0")
        XCTAssertEqual(try info(old, "master_replid"), try info(newMaster, "master_replid"))
        XCTAssertNil(try call(newMaster, "GET", "during-failover").payload)
        try writeStream(replica, newMaster)
        try assertSameData(replica, master)
    }

    func testFailoverRedisUVToRedisUV() throws { try failOver(.redisUV, .redisUV) }
    func testFailoverRedisUVMasterToRedisServerReplica() throws { try failOver(.redisUV, .redisServer) }
    func testFailoverRedisServerMasterToRedisUVReplica() throws { try failOver(.redisServer, .redisUV) }

    func testTimeoutAbortsForceFailsOverAnywayAndAbortLiftsThePause() throws {
        let (master, replica) = try pair(.redisUV, .redisUV)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try call(mc, "SET", "k", "v")
        try assertSameData(master, replica)
        let target = ["TO", "127.0.0.1", String(replica.port)]

        // The replica stops; a write it will not acknowledge; the timeout gives up.
        replica.signal(SIGSTOP)
        var stopped = true
        defer { if stopped { replica.signal(SIGCONT) } }
        try call(mc, "SET", "unacked", "1")
        XCTAssertEqual(String(decoding: try call(mc, strings: ["FAILOVER"] + target + ["TIMEOUT", "500"]).raw, as: UTF8.self), "+OK\r\n")
        XCTAssertEqual(try raw(mc, "FAILOVER"), "-ERR FAILOVER already in progress.\r\n")
        XCTAssertEqual(try info(mc, "master_failover_state"), "waiting-for-sync")
        let writer = try master.connect()
        defer { writer.close() }
        try writer.send(command: ["SET", "held", "1"])
        XCTAssertTrue(try writer.readAvailable(timeout: 0.2).isEmpty, "a write waits while the failover pauses writes")
        XCTAssertEqual(String(decoding: try writer.readReply(timeout: 10), as: UTF8.self), "+OK\r\n")
        try waitUntil("the failover aborted") { master.log.contains("FAILOVER to 127.0.0.1:\(replica.port) aborted: Replica never caught up before timeout") }
        XCTAssertEqual(try info(mc, "role"), "master")
        XCTAssertEqual(try info(mc, "master_failover_state"), "no-failover")

        // ABORT while waiting: writes resume, the master stays.
        XCTAssertEqual(String(decoding: try call(mc, strings: ["FAILOVER"] + target).raw, as: UTF8.self), "+OK\r\n")
        try writer.send(command: ["SET", "held", "2"])
        XCTAssertTrue(try writer.readAvailable(timeout: 0.2).isEmpty)
        XCTAssertEqual(try raw(mc, "FAILOVER", "ABORT"), "+OK\r\n")
        XCTAssertEqual(String(decoding: try writer.readReply(timeout: 10), as: UTF8.self), "+OK\r\n")
        XCTAssertEqual(try raw(mc, "FAILOVER", "ABORT"), "-ERR No failover in progress.\r\n")
        XCTAssertTrue(master.log.contains("FAILOVER to 127.0.0.1:\(replica.port) aborted: Failover manually aborted"))

        // FORCE: past the timeout the master hands over all the same; the target, behind,
        // gives it a full resync.
        XCTAssertEqual(String(decoding: try call(mc, strings: ["FAILOVER"] + target + ["TIMEOUT", "300", "FORCE"]).raw, as: UTF8.self), "+OK\r\n")
        try waitUntil("failing over by force") { master.log.contains("time out exceeded, failing over.") }
        replica.signal(SIGCONT)
        stopped = false
        try waitUntil("roles swapped by force") { try role(replica) == "master" && role(master) == "slave" }
        let old = try master.connect()
        defer { old.close() }
        try waitUntil("the old master synced") { try info(old, "master_link_status") == "up" }
        XCTAssertEqual(try info(old, "master_failover_state"), "no-failover")
        try assertSameData(replica, master)
    }

    func testFailoverToAnyReplicaAndTheTargetsRefusals() throws {
        let (master, replica) = try pair(.redisUV, .redisUV)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try call(mc, "SET", "k", "v")
        try assertSameData(master, replica)
        let rc = try replica.connect()
        defer { rc.close() }
        XCTAssertEqual(try raw(rc, "FAILOVER"), "-ERR FAILOVER is not valid when server is a replica.\r\n")
        XCTAssertEqual(try raw(mc, "FAILOVER", "TO", "127.0.0.1", "1"), "-ERR FAILOVER target HOST and PORT is not a replica.\r\n")
        // A PSYNC FAILOVER naming another history is refused by the would-be target.
        let fake = try replica.connect()
        defer { fake.close() }
        XCTAssertEqual(try raw(fake, "PSYNC", String(repeating: "f", count: 40), "1", "FAILOVER"), "-ERR PSYNC FAILOVER replid must match my replid.\r\n")
        XCTAssertEqual(try info(rc, "role"), "slave")
        // No target named: the first replica in sync is chosen.
        XCTAssertEqual(try raw(mc, "FAILOVER"), "+OK\r\n")
        try waitUntil("roles swapped") { try role(replica) == "master" && role(master) == "slave" }
        XCTAssertTrue(master.log.contains("Failover target 127.0.0.1:\(replica.port) is synced, failing over."), master.log)
    }

    // MARK: CLIENT PAUSE against redis-server

    /// What a second client sees while a first one pauses: replies (or their absence)
    /// side by side with redis-server.
    private func pauseScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let s = try startServer(kind)
        let a = try s.connect()
        let bc = try s.connect()
        let watcher = try s.connect()
        defer { a.close(); bc.close(); watcher.close() }
        var seen: [String] = []
        func note(_ what: String, _ c: RespConnection, wait: TimeInterval) throws {
            seen.append(what + " -> " + RespEscape.escape(try c.readAvailable(timeout: wait)))
        }
        try call(a, "SET", "soon", "x", "PX", "100")
        try call(a, "SET", "k", "1")
        usleep(200_000)
        try call(a, "CLIENT", "PAUSE", "100000", "WRITE")
        for cmd in [["GET", "k"], ["GET", "soon"], ["DBSIZE"], ["PUBLISH", "ch", "m"], ["SET", "k", "2"]] {
            try bc.send(command: cmd)
            try note(cmd.joined(separator: " "), bc, wait: 0.3)
        }
        let blocked = try info(watcher, "blocked_clients", section: "clients") ?? "?"
        seen.append("blocked_clients=\(blocked)")
        let line = String(decoding: try call(watcher, "CLIENT", "LIST").payload ?? [], as: UTF8.self)
            .split(separator: "\n").first { $0.contains("cmd=publish") } ?? ""
        seen.append("paused client flags: " + (line.split(separator: " ").first { $0.hasPrefix("flags=") } ?? "?"))
        // A transaction: MULTI is let through, a queued write is held before queueing.
        let t = try s.connect()
        defer { t.close() }
        try t.send(command: ["MULTI"])
        try note("MULTI", t, wait: 0.3)
        try t.send(command: ["INCR", "k"])
        try note("INCR in MULTI", t, wait: 0.3)
        try call(a, "CLIENT", "UNPAUSE")
        try note("after UNPAUSE", bc, wait: 0.5)
        try t.send(command: ["EXEC"])
        try note("queued INCR, EXEC", t, wait: 0.5)
        // ALL: everything waits, until the pause's end.
        try call(a, "CLIENT", "PAUSE", "400", "ALL")
        try bc.send(command: ["PING"])
        try note("PING under ALL", bc, wait: 0.1)
        try note("PING after the pause", bc, wait: 2)
        try bc.send(command: ["MGET", "k", "soon"])
        try note("MGET", bc, wait: 0.5)
        try bc.send(command: ["DBSIZE"])
        try note("DBSIZE", bc, wait: 0.5)
        return seen
    }

    func testClientPauseMatchesRedisServer() throws {
        let expected = try pauseScenario(.redisServer)
        let got = try pauseScenario(.redisUV)
        XCTAssertEqual(got, expected)
        // (The scenario itself: the write was held, then answered.)
        XCTAssertTrue(expected.contains("SET k 2 -> "), "\(expected)")
    }
}
