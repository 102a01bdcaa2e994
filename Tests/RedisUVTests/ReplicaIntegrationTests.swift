import XCTest
import Foundation
@testable import RedisUV

/// redis-uv as a replica of a real redis-server 7.0 master, in real processes on free ports:
/// full syncs (disk-based and diskless) of every type, the command stream after them, partial
/// resyncs after a dropped link and after a restart, the replica's gates, promotion, and the
/// INFO replication / ROLE shapes against redis-server as a replica of the same master.
/// Datasets are compared key by key (DUMP where the encoding has a fixed order, contents
/// otherwise, PTTL within a tolerance); expiries are far-future absolute times.
final class ReplicaIntegrationTests: ReplicationTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
    }

    private func startMaster(diskless: Bool, extra: [String] = []) throws -> ServerProcess {
        let s = try ServerProcess.start(.redisServer, arguments: [
            "--repl-diskless-sync", diskless ? "yes" : "no", "--repl-diskless-sync-delay", "0",
            "--enable-debug-command", "yes"] + extra)
        servers.append(s)
        return s
    }

    private func startReplica(of master: ServerProcess?, kind: ServerProcess.Kind = .redisUV, dir: URL? = nil,
                              extra: [String] = []) throws -> ServerProcess {
        var args: [String] = []
        if let master { args += ["--replicaof", "127.0.0.1 \(master.port)"] }
        if let dir { args += ["--dir", dir.path] }
        let s = try ServerProcess.start(kind, arguments: args + extra)
        servers.append(s)
        return s
    }

    // MARK: tests

    func testDiskBasedFullSyncThenStream() throws {
        let master = try startMaster(diskless: false)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let replica = try startReplica(of: master)
        try assertSameData(master, replica)
        XCTAssertTrue(replica.log.contains("MASTER <-> REPLICA sync: receiving"))
        XCTAssertFalse(replica.log.contains("streamed RDB"))
        try writeStream(master, mc)
        try assertSameData(master, replica)
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
        let r = try replica.connect()
        defer { r.close() }
        // The replica acknowledges what it applied (REPLCONF ACK once a second).
        let offset = try info(mc, "master_repl_offset")!
        try waitUntil("the master sees the replica's ACK") {
            try info(mc, "slave0")?.contains("offset=\(offset),") == true
        }
        XCTAssertTrue(try info(mc, "slave0")!.contains("state=online"))
        // The master client in CLIENT LIST.
        let list = try text(r, "CLIENT", "LIST")
        XCTAssertTrue(list.contains("flags=M"), list)
        XCTAssertTrue(list.contains("addr=127.0.0.1:\(master.port)"), list)
        XCTAssertTrue(try text(r, "CLIENT", "LIST", "TYPE", "master").contains("flags=M"))
    }

    func testDisklessFullSyncViaReplicaofCommand() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let replica = try startReplica(of: nil)
        let r = try replica.connect()
        defer { r.close() }
        XCTAssertEqual(try call(r, "REPLICAOF", "127.0.0.1", String(master.port)).raw, b("+OK\r\n"))
        XCTAssertEqual(try call(r, "REPLICAOF", "127.0.0.1", String(master.port)).raw, b("+OK Already connected to specified master\r\n"))
        try assertSameData(master, replica)
        XCTAssertTrue(replica.log.contains("receiving streamed RDB from master with EOF to disk"), replica.log)
        try writeStream(master, mc)
        try assertSameData(master, replica)
        let cfg = try call(r, "CONFIG", "GET", "replicaof").children.map(\.text)
        XCTAssertEqual(cfg, ["replicaof", "127.0.0.1 \(master.port)"])
    }

    func testPartialResyncAfterTheLinkIsKilledFromEitherSide() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let replica = try startReplica(of: master)
        try assertSameData(master, replica)
        let r = try replica.connect()
        defer { r.close() }
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
        let partialBefore = Int(try info(mc, "sync_partial_ok", section: "stats")!)!

        // Killed on the replica's side.
        XCTAssertEqual(try call(r, "CLIENT", "KILL", "TYPE", "master").integer, 1)
        try call(mc, "SET", "while-down", "1")
        try call(mc, "RPUSH", "list", "more")
        try assertSameData(master, replica)
        XCTAssertEqual(try info(mc, "sync_partial_ok", section: "stats"), String(partialBefore + 1))
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
        XCTAssertTrue(replica.log.contains("Successful partial resynchronization with master."))

        // Killed on the master's side, with writes in between (less than the backlog).
        XCTAssertEqual(try call(mc, "CLIENT", "KILL", "TYPE", "replica").integer, 1)
        for i in 0..<100 { try call(mc, "HSET", "while-down-2", "f\(i)", "v") }
        try call(mc, "SELECT", "4")
        try call(mc, "SET", "db4", "x")
        try call(mc, "SELECT", "0")
        try assertSameData(master, replica)
        XCTAssertEqual(try info(mc, "sync_partial_ok", section: "stats"), String(partialBefore + 2))
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
        XCTAssertEqual(try info(r, "master_link_status"), "up")
        try writeStream(master, mc)
        try assertSameData(master, replica)
    }

    func testRestartedReplicaContinuesWithPartialResync() throws {
        let master = try startMaster(diskless: false)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let dir = try tempDir()
        let replica = try startReplica(of: master, dir: dir)
        try writeStream(master, mc)
        try assertSameData(master, replica)
        let offsetBefore = try info(mc, "master_repl_offset")!
        let r = try replica.connect()
        try? r.send(command: ["SHUTDOWN", "SAVE"])
        r.close()
        XCTAssertNotNil(replica.waitForExit(timeout: 20), "replica did not exit")
        // The saved file carries where the stream stands.
        let file = try Data(contentsOf: dir.appendingPathComponent("dump.rdb"))
        XCTAssertNotNil(file.range(of: Data("repl-offset".utf8)))
        try call(mc, "SET", "while-restarting", "1")
        try call(mc, "SELECT", "1")
        try call(mc, "INCR", "db1-counter")
        try call(mc, "SELECT", "0")
        let partialBefore = Int(try info(mc, "sync_partial_ok", section: "stats")!)!
        let restarted = try startReplica(of: master, dir: dir)
        try assertSameData(master, restarted)
        XCTAssertEqual(try info(mc, "sync_partial_ok", section: "stats"), String(partialBefore + 1), restarted.log)
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
        XCTAssertTrue(restarted.log.contains("Trying a partial resynchronization"), restarted.log)
        XCTAssertNotEqual(offsetBefore, try info(mc, "master_repl_offset"))
    }

    func testReadOnlyExpiryAndPromotion() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try call(mc, "SET", "k", "v")
        let replica = try startReplica(of: master)
        try waitInSync(master, replica)
        let r = try replica.connect()
        defer { r.close() }
        XCTAssertEqual(try call(r, "SET", "x", "1").raw, b("-READONLY You can't write against a read only replica.\r\n"))
        XCTAssertEqual(try call(r, "GET", "k").payload, b("v"))
        // A key expired on the master, which has not deleted it yet: the replica reads it
        // as missing but keeps it until the master's DEL arrives.
        XCTAssertEqual(try call(mc, "DEBUG", "SET-ACTIVE-EXPIRE", "0").raw, b("+OK\r\n"))
        try call(mc, "SET", "short", "v", "PX", "1")
        try waitInSync(master, replica)
        usleep(100_000)
        XCTAssertTrue(try call(r, "GET", "short").isNull)
        XCTAssertEqual(try call(r, "DBSIZE").integer, 2)
        XCTAssertTrue(try call(mc, "GET", "short").isNull)  // the master expires it: DEL propagated
        try waitInSync(master, replica)
        XCTAssertEqual(try call(r, "DBSIZE").integer, 1)

        let replidBefore = try info(r, "master_replid")!
        let offsetBefore = Int64(try info(r, "master_repl_offset")!)!
        XCTAssertEqual(try call(r, "REPLICAOF", "NO", "ONE").raw, b("+OK\r\n"))
        XCTAssertEqual(try info(r, "role"), "master")
        XCTAssertEqual(try info(r, "master_replid2"), replidBefore)
        XCTAssertEqual(try info(r, "second_repl_offset"), String(offsetBefore + 1))
        XCTAssertEqual(try info(r, "repl_backlog_active"), "1")
        XCTAssertEqual(try call(r, "SET", "x", "1").raw, b("+OK\r\n"))
        XCTAssertEqual(try call(r, "GET", "k").payload, b("v"))
        XCTAssertEqual(try call(r, "ROLE").children.first?.text, "master")
        // A master's writes are no longer applied.
        try call(mc, "SET", "k", "changed")
        usleep(200_000)
        XCTAssertEqual(try call(r, "GET", "k").payload, b("v"))
    }

    func testServeStaleDataNo() throws {
        let master = try startMaster(diskless: true)
        let replica = try startReplica(of: nil, extra: ["--replica-serve-stale-data", "no"])
        let r = try replica.connect()
        defer { r.close() }
        // Point at a port nobody listens on: the link stays down.
        let closedPort = try FreePort.find()
        try call(r, "REPLICAOF", "127.0.0.1", String(closedPort))
        XCTAssertEqual(try call(r, "GET", "k").raw, b("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"))
        XCTAssertEqual(try info(r, "master_link_status"), "down")
        // "localhost" is resolved (it may give ::1 first, where the master does not listen:
        // the next address is tried).
        try call(r, "REPLICAOF", "localhost", String(master.port))
        try waitInSync(master, replica)
        XCTAssertTrue(try call(r, "GET", "k").isNull)
        XCTAssertEqual(try info(r, "master_host"), "localhost")
        XCTAssertEqual(try call(r, "REPLICAOF", "NO", "ONE").raw, b("+OK\r\n"))
        XCTAssertEqual(try call(r, "CONFIG", "GET", "replicaof").children.map(\.text), ["replicaof", ""])
    }

    /// INFO replication and ROLE of redis-uv and redis-server as replicas of one master, in
    /// the same order with the same values where they are not per-process.
    func testInfoReplicationAndRoleMatchRedisServer() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try call(mc, "SET", "a", "b")
        let uv = try startReplica(of: master)
        let real = try startReplica(of: master, kind: .redisServer)
        try waitInSync(master, uv)
        try waitInSync(master, real)
        try call(mc, "SET", "c", "d")
        try waitInSync(master, uv)
        try waitInSync(master, real)
        let u = try uv.connect()
        let s = try real.connect()
        defer { u.close(); s.close() }
        func compare(_ label: String, sameValues: Set<String>) throws {
            let iu = try infoPairs(u, "replication")
            let isv = try infoPairs(s, "replication")
            XCTAssertEqual(iu.map(\.0), isv.map(\.0), label)
            let du = Dictionary(iu, uniquingKeysWith: { a, _ in a })
            let ds = Dictionary(isv, uniquingKeysWith: { a, _ in a })
            for k in sameValues { XCTAssertEqual(du[k], ds[k], "\(label): \(k)") }
        }
        try compare("synced", sameValues: ["role", "master_host", "master_port", "master_link_status",
                                           "master_sync_in_progress", "slave_priority", "slave_read_only",
                                           "replica_announced", "connected_slaves", "master_failover_state",
                                           "master_replid", "master_replid2", "master_repl_offset",
                                           "slave_repl_offset", "slave_read_repl_offset", "second_repl_offset",
                                           "repl_backlog_active", "repl_backlog_size",
                                           "repl_backlog_first_byte_offset", "repl_backlog_histlen"])
        let ru = try call(u, "ROLE").children
        let rs = try call(s, "ROLE").children
        XCTAssertEqual(ru.map(\.type), rs.map(\.type))
        XCTAssertEqual(ru.prefix(4).map(\.raw), rs.prefix(4).map(\.raw))
        XCTAssertEqual(ru[4].raw, rs[4].raw)
        // The master's view of both replicas.
        let slaves = try infoPairs(mc, "replication").filter { $0.0.hasPrefix("slave") }
        XCTAssertEqual(slaves.count, 2)
        for (_, v) in slaves { XCTAssertTrue(v.hasPrefix("ip=127.0.0.1,port="), v) }
        XCTAssertTrue(slaves.contains { $0.1.contains("port=\(uv.port),state=online") }, "\(slaves)")

        // Both pointed at a dead port: link down, same fields again.
        let closedPort = String(try FreePort.find())
        for c in [u, s] { XCTAssertEqual(try call(c, "REPLICAOF", "127.0.0.1", closedPort).raw, b("+OK\r\n")) }
        usleep(300_000)
        try compare("down", sameValues: ["role", "master_host", "master_port", "master_link_status",
                                         "master_sync_in_progress", "slave_priority", "slave_read_only",
                                         "replica_announced", "connected_slaves"])
        XCTAssertEqual(try info(u, "master_link_status"), "down")
        XCTAssertNotNil(try info(u, "master_link_down_since_seconds"))
        // The same replies and errors for REPLICAOF / SLAVEOF.
        for args in [["REPLICAOF", "127.0.0.1", closedPort], ["SLAVEOF", "127.0.0.1", closedPort],
                     ["REPLICAOF", "127.0.0.1", "abc"], ["REPLICAOF", "127.0.0.1", "70000"],
                     ["REPLICAOF", "127.0.0.1", "-1"], ["REPLICAOF", "no", "two"], ["SLAVEOF", "a"],
                     ["ROLE", "x"]] {
            XCTAssertEqual(try call(u, args.map { b($0) }).raw, try call(s, args.map { b($0) }).raw, "\(args)")
        }
        for c in [u, s] { XCTAssertEqual(try call(c, "REPLICAOF", "NO", "ONE").raw, b("+OK\r\n")) }
        try compare("promoted", sameValues: ["role", "connected_slaves", "master_failover_state", "repl_backlog_active"])
        XCTAssertEqual(try call(u, "REPLICAOF", "NO", "ONE").raw, b("+OK\r\n"))
    }

    /// The received RDB loads with clients served: -LOADING for ordinary commands, INFO
    /// answering (loading:1, the sync still in progress), then the stream applies.
    func testClientsAreServedWhileTheReceivedRDBLoads() throws {
        let master = try startMaster(diskless: false)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        XCTAssertEqual(try call(mc, "DEBUG", "POPULATE", "3000").raw, b("+OK\r\n"))
        let replica = try startReplica(of: master, extra: ["--key-load-delay", "500",
                                                           "--loading-process-events-interval-bytes", "1024"])
        let r = try replica.connect(timeout: 10)
        defer { r.close() }
        try waitUntil("the replica loading the master's RDB") { try info(r, "loading", section: "persistence") == "1" }
        XCTAssertEqual(try call(r, "GET", "key:1").raw, b("-LOADING Redis is loading the dataset in memory\r\n"))
        XCTAssertEqual(try info(r, "master_sync_in_progress"), "1")
        XCTAssertEqual(try info(r, "master_link_status"), "down")
        XCTAssertEqual(try call(r, "ROLE").children.map(\.raw)[3], b("$4\r\nsync\r\n"))
        try call(mc, "SET", "during-load", "1")
        try waitInSync(master, replica)
        XCTAssertEqual(try call(r, "DBSIZE").integer, 3001)
        XCTAssertEqual(try call(r, "GET", "during-load").payload, b("1"))
        XCTAssertEqual(try info(r, "loading", section: "persistence"), "0")
    }

    /// While the master prepares the RDB (a slow BGSAVE), both replicas are in the transfer
    /// state: the same INFO fields, master_sync_* included.
    func testInfoWhileTheMasterPreparesTheRDBMatchesRedisServer() throws {
        let master = try startMaster(diskless: false, extra: ["--rdb-key-save-delay", "3000"])
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        XCTAssertEqual(try call(mc, "DEBUG", "POPULATE", "1000").raw, b("+OK\r\n"))
        let uv = try startReplica(of: master)
        let real = try startReplica(of: master, kind: .redisServer)
        let u = try uv.connect()
        let s = try real.connect()
        defer { u.close(); s.close() }
        try waitUntil("both replicas waiting for the RDB") {
            try info(u, "master_sync_in_progress") == "1" && info(s, "master_sync_in_progress") == "1"
        }
        let iu = try infoPairs(u, "replication")
        let isv = try infoPairs(s, "replication")
        XCTAssertEqual(iu.map(\.0), isv.map(\.0))
        let du = Dictionary(iu, uniquingKeysWith: { a, _ in a })
        let ds = Dictionary(isv, uniquingKeysWith: { a, _ in a })
        for k in ["master_link_status", "master_sync_in_progress", "master_sync_total_bytes", "master_sync_read_bytes",
                  "master_sync_left_bytes", "master_sync_perc", "master_link_down_since_seconds", "master_last_io_seconds_ago"] {
            XCTAssertEqual(du[k], ds[k], k)
        }
        XCTAssertEqual(try call(u, "ROLE").raw, try call(s, "ROLE").raw)
        // No need to wait for the slow save: the test ends here.
    }

    /// repl-diskless-load: on-empty-db parses the payload from memory when we hold no keys
    /// (dump.rdb untouched); swapdb loads into new databases and swaps them in.
    func testDisklessLoadOnEmptyDbAndSwapdb() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        defer { mc.close() }
        try writeInitialData(mc)
        let empty = try startReplica(of: master, extra: ["--repl-diskless-load", "on-empty-db"])
        try assertSameData(master, empty)
        XCTAssertTrue(empty.log.contains("receiving streamed RDB from master with EOF to parser"), empty.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty.workDirectory.appendingPathComponent("dump.rdb").path))

        let swapping = try startReplica(of: nil, extra: ["--repl-diskless-load", "swapdb"])
        let r = try swapping.connect()
        defer { r.close() }
        try call(r, "SET", "own-key", "1")
        try call(r, "SELECT", "9")
        try call(r, "SET", "own-key-9", "1")
        try call(r, "REPLICAOF", "127.0.0.1", String(master.port))
        try assertSameData(master, swapping)
        XCTAssertTrue(swapping.log.contains("MASTER <-> REPLICA sync: Swapping active DB with loaded DB"), swapping.log)
        XCTAssertFalse(swapping.log.contains("Flushing old data"), swapping.log)
        try writeStream(master, mc)
        try assertSameData(master, swapping)
        try assertSameData(master, empty)
    }

    /// `slaveof` and `masterauth` from a config file, `masteruser` for an ACL user, a wrong
    /// password keeping the link down; replica-announce-ip/port, replica-priority and
    /// replica-announced as the master and INFO report them.
    func testAuthConfigFileAndAnnouncedAddress() throws {
        let master = try startMaster(diskless: true, extra: ["--requirepass", "secret"])
        let mc = try master.connect()
        defer { mc.close() }
        XCTAssertEqual(try call(mc, "AUTH", "secret").raw, b("+OK\r\n"))
        XCTAssertEqual(try call(mc, "ACL", "SETUSER", "repl", "on", ">pw", "+@all", "~*").raw, b("+OK\r\n"))
        try call(mc, "SET", "k", "v")
        let dir = try tempDir()
        let conf = dir.appendingPathComponent("replica.conf")
        try "slaveof 127.0.0.1 \(master.port)\nmasterauth secret\nreplica-announce-ip 10.1.2.3\nreplica-announce-port 4444\nreplica-priority 7\nreplica-announced no\n"
            .write(to: conf, atomically: true, encoding: .utf8)
        let fromFile = try ServerProcess.start(.redisUV, configFile: conf.path)
        servers.append(fromFile)
        let withUser = try startReplica(of: master, extra: ["--masteruser", "repl", "--masterauth", "pw"])
        let wrong = try startReplica(of: master, extra: ["--masterauth", "nope"])
        for r in [fromFile, withUser] {
            let c = try r.connect()
            defer { c.close() }
            try waitUntil("link up (log:\n\(r.log))") { try info(c, "master_link_status") == "up" }
            try waitUntil("key replicated") { try call(c, "GET", "k").payload == b("v") }
        }
        let f = try fromFile.connect()
        defer { f.close() }
        XCTAssertEqual(try info(f, "slave_priority"), "7")
        XCTAssertEqual(try info(f, "replica_announced"), "0")
        try waitUntil("the master lists the announced address") {
            try infoPairs(mc, "replication").contains { $0.0.hasPrefix("slave") && $0.1.hasPrefix("ip=10.1.2.3,port=4444,state=online") }
        }
        let w = try wrong.connect()
        defer { w.close() }
        try waitUntil("the AUTH failure logged") { wrong.log.contains("Unable to AUTH to MASTER: -WRONGPASS") }
        XCTAssertEqual(try info(w, "master_link_status"), "down")
    }

    /// WAIT on the master counts this replica: its ACKs carry the applied offset.
    func testWaitOnTheMasterCountsTheReplica() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 10)
        defer { mc.close() }
        let replica = try startReplica(of: master)
        try waitInSync(master, replica)
        for i in 0..<20 { try call(mc, "SET", "w\(i)", "v") }
        XCTAssertEqual(try call(mc, "WAIT", "1", "5000").integer, 1)
        XCTAssertEqual(try call(mc, "WAIT", "2", "300").integer, 1)
    }

    /// A master that accepts and never answers: repl-timeout ends the handshake, and the
    /// cron tries again.
    func testHandshakeTimesOutAgainstASilentMaster() throws {
        let fd = socket(AF_INET, socketStreamType, 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = try loopbackAddress(port: 0)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(rc, 0)
        XCTAssertEqual(listen(fd, 16), 0)
        var bound = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        let port = Int(UInt16(bigEndian: bound.sin_port))
        let replica = try startReplica(of: nil, extra: ["--repl-timeout", "1"])
        let r = try replica.connect()
        defer { r.close() }
        try call(r, "REPLICAOF", "127.0.0.1", String(port))
        try waitUntil("the handshake state") { try call(r, "ROLE").children[3].text == "handshake" }
        try waitUntil("the timeout", timeout: 20) { replica.log.contains("Timeout connecting to the MASTER...") }
        try waitUntil("a new attempt", timeout: 20) {
            replica.log.components(separatedBy: "MASTER <-> REPLICA sync started").count >= 3
        }
        XCTAssertEqual(try info(r, "master_link_status"), "down")
    }

    /// REPLICAOF to a master of another history: PSYNC fails into a full sync, the old data
    /// and backlog go; the offsets and backlog then match redis-server doing the same.
    func testSwitchingToAnUnrelatedMasterFullSyncsAndResetsTheBacklog() throws {
        let a = try startMaster(diskless: true)
        let bm = try startMaster(diskless: false)
        let ac = try a.connect()
        let bc = try bm.connect(timeout: 30)
        defer { ac.close(); bc.close() }
        for i in 0..<50 { try call(ac, "SET", "a\(i)", "v") }
        for i in 0..<30 { try call(bc, "RPUSH", "b-list", "x\(i)") }
        try call(bc, "SELECT", "2")
        try call(bc, "SET", "b2", "y")
        let uv = try startReplica(of: a)
        let real = try startReplica(of: a, kind: .redisServer)
        try waitInSync(a, uv)
        try waitInSync(a, real)
        let u = try uv.connect()
        let s = try real.connect()
        defer { u.close(); s.close() }
        for c in [u, s] { XCTAssertEqual(try call(c, "REPLICAOF", "127.0.0.1", String(bm.port)).raw, b("+OK\r\n")) }
        try assertSameData(bm, uv)
        try waitInSync(bm, real)
        try call(bc, "SET", "after-switch", "1")
        try assertSameData(bm, uv)
        try waitInSync(bm, real)
        for k in ["master_replid", "master_replid2", "master_repl_offset", "second_repl_offset",
                  "repl_backlog_first_byte_offset", "repl_backlog_histlen", "slave_repl_offset"] {
            XCTAssertEqual(try info(u, k), try info(s, k), k)
        }
        XCTAssertTrue(uv.log.contains("Trying a partial resynchronization"))
        XCTAssertTrue(uv.log.contains("Full resync from master"))
    }

    /// A synced link with nothing on it for longer than repl-timeout (the master PINGs only
    /// every 10 s) is dropped and continued by a partial resync.
    func testIdleSyncedLinkTimesOutAndResumes() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect()
        defer { mc.close() }
        try call(mc, "SET", "k", "v")
        let replica = try startReplica(of: master, extra: ["--repl-timeout", "1"])
        try waitInSync(master, replica)
        try waitUntil("the master timeout", timeout: 20) { replica.log.contains("MASTER timeout: no data nor PING received...") }
        try waitUntil("the partial resync", timeout: 20) { replica.log.contains("Successful partial resynchronization with master.") }
        try call(mc, "SET", "k2", "v2")
        try assertSameData(master, replica)
        XCTAssertEqual(try info(mc, "sync_full", section: "stats"), "1")
    }
}
