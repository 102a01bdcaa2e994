import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// A redis-uv master replicated by real `redis-server` replicas (`--replicaof`): full
/// syncs both ways (disk and diskless), the stream after them, partial resync after a
/// killed link, a backlog too small, a replica dropped for its output limit, WAIT, and the
/// raw bytes a replica receives. Datasets are compared key by key (DUMP, contents, PTTL).
/// Every process is stopped in tearDown (and dies with the test process: ServerProcess).
final class MasterIntegrationTests: XCTestCase {
    private var servers: [ServerProcess] = []
    private var stoppedPids: [Int32] = []

    override func tearDown() {
        for pid in stoppedPids { kill(pid, SIGCONT) }
        stoppedPids.removeAll()
        for s in servers { s.stop() }
        servers.removeAll()
        super.tearDown()
    }

    // MARK: processes

    private func startMaster(diskless: Bool, _ extra: [String] = []) throws -> ServerProcess {
        let s = try ServerProcess.start(.redisUV, arguments: [
            "--enable-debug-command", "yes", "--repl-diskless-sync", diskless ? "yes" : "no",
            "--repl-diskless-sync-delay", "0", "--loglevel", "verbose",
        ] + extra)
        servers.append(s)
        return s
    }

    private func startReplica(of master: ServerProcess, _ extra: [String] = []) throws -> ServerProcess {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let s = try ServerProcess.start(.redisServer, arguments: [
            "--replicaof", "127.0.0.1", String(master.port), "--enable-debug-command", "yes",
        ] + extra)
        servers.append(s)
        return s
    }

    // MARK: helpers

    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @discardableResult
    private func call(_ c: RespConnection, _ args: [[UInt8]]) throws -> RespValue {
        try c.send(command: args)
        return try RespValue.parse(try c.readReply(timeout: 30))
    }

    @discardableResult
    private func call(_ c: RespConnection, _ args: String...) throws -> RespValue {
        try call(c, args.map { Array($0.utf8) })
    }

    private func info(_ c: RespConnection, _ section: String) throws -> [String: String] {
        let text = String(decoding: try call(c, "INFO", section).payload ?? [], as: UTF8.self)
        var out: [String: String] = [:]
        for line in text.split(separator: "\r\n") where !line.hasPrefix("#") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return out
    }

    private func waitUntil(_ what: String, timeout: TimeInterval = 30, _ cond: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if (try? cond()) == true { return }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw HarnessError("timed out waiting for \(what)")
    }

    /// The replica's link is up and it acknowledged everything `mc` wrote (WAIT counts
    /// replicas whose ACK reached mc's offset), and its processed offset stopped moving.
    private func waitInSync(_ mc: RespConnection, _ replicas: [ServerProcess], timeout: TimeInterval = 60) throws {
        let conns = try replicas.map { try $0.connect(timeout: 30) }
        try waitUntil("replicas' master_link_status:up", timeout: timeout) {
            try conns.allSatisfy { try info($0, "replication")["master_link_status"] == "up" }
        }
        try waitUntil("WAIT \(replicas.count)", timeout: timeout) {
            try call(mc, "WAIT", String(replicas.count), "1000").integer == Int64(replicas.count)
        }
    }

    /// Every key in every database: its DUMP, and its type, contents and PTTL read back.
    private struct KeyState: Equatable {
        let type: String
        let encoding: String
        let content: [String]
        let dump: [UInt8]
        let pttl: Int64
    }

    private func dataset(_ c: RespConnection) throws -> [String: KeyState] {
        var all: [String: KeyState] = [:]
        for db in 0..<16 {
            try call(c, "SELECT", String(db))
            for kv in try call(c, "KEYS", "*").children {
                let k = kv.payload ?? []
                let type = String(decoding: try call(c, [b("TYPE"), k]).line, as: UTF8.self)
                func texts(_ v: RespValue) -> [String] { v.children.map { RespEscape.escape($0.payload ?? $0.raw) } }
                var content: [String]
                switch type {
                case "string": content = [RespEscape.escape(try call(c, [b("GET"), k]).payload ?? [])]
                case "list": content = texts(try call(c, [b("LRANGE"), k, b("0"), b("-1")]))
                case "set": content = texts(try call(c, [b("SMEMBERS"), k])).sorted()
                case "zset": content = texts(try call(c, [b("ZRANGE"), k, b("0"), b("-1"), b("WITHSCORES")]))
                case "hash":
                    let flat = texts(try call(c, [b("HGETALL"), k]))
                    content = stride(from: 0, to: flat.count, by: 2).map { flat[$0] + "=" + flat[$0 + 1] }.sorted()
                case "stream":
                    content = [RespEscape.escape(try call(c, [b("XRANGE"), k, b("-"), b("+")]).raw),
                               RespEscape.escape(try call(c, [b("XINFO"), b("GROUPS"), k]).raw)]
                default: content = ["?"]
                }
                let dump = try call(c, [b("DUMP"), k]).payload ?? []
                let encoding = String(decoding: try call(c, [b("OBJECT"), b("ENCODING"), k]).payload ?? [], as: UTF8.self)
                let pttl = try call(c, [b("PTTL"), k]).integer ?? -3
                all["\(db):\(RespEscape.escape(k))"] = KeyState(type: type, encoding: encoding, content: content, dump: dump, pttl: pttl)
            }
        }
        try call(c, "SELECT", "0")
        return all
    }

    /// Same keys, types and contents; the same DUMP payload (but for hash tables); PTTLs
    /// within 5 s.
    private func assertSameData(_ master: ServerProcess, _ replica: ServerProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try dataset(try master.connect(timeout: 30))
        let r = try dataset(try replica.connect(timeout: 30))
        XCTAssertEqual(m.keys.sorted(), r.keys.sorted(), "key sets differ", file: file, line: line)
        var dumpDiffs = 0
        for (k, mv) in m {
            guard let rv = r[k] else { continue }
            XCTAssertEqual(mv.type, rv.type, "type of \(k)", file: file, line: line)
            XCTAssertEqual(mv.content, rv.content, "content of \(k)", file: file, line: line)
            // A hash table's DUMP lists its elements in table order, an implementation
            // detail: those compare by contents only.
            if mv.dump != rv.dump && mv.encoding != "hashtable" { dumpDiffs += 1 }
            if mv.pttl < 0 || rv.pttl < 0 {
                XCTAssertEqual(mv.pttl, rv.pttl, "PTTL of \(k)", file: file, line: line)
            } else {
                XCTAssertLessThan(abs(mv.pttl - rv.pttl), 5000, "PTTL of \(k)", file: file, line: line)
            }
        }
        XCTAssertEqual(dumpDiffs, 0, "keys whose DUMP differs", file: file, line: line)
    }

    /// Data of every type in several databases, a big value and far-future expiries.
    private func writeEveryType(_ c: RespConnection, tag: String, readGroup: Bool = true) throws {
        try call(c, "SELECT", "0")
        try call(c, "SET", "\(tag):str", "hello")
        try call(c, "SET", "\(tag):int", "12345")
        try call(c, "SET", "\(tag):ttl", "v", "EX", "100000")
        try call(c, "SET", "\(tag):pxat", "v", "PXAT", "4102444800000")  // 2100
        try call(c, [b("SET"), b("\(tag):big"), [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20) + b(tag)])
        try call(c, "RPUSH", "\(tag):list", "a", "b", "c", "1", "2")
        var big: [[UInt8]] = [b("RPUSH"), b("\(tag):biglist")]
        for i in 0..<2000 { big.append(b("element-\(i)")) }
        try call(c, big)
        try call(c, "HSET", "\(tag):hash", "f1", "v1", "f2", "v2")
        var bigHash: [[UInt8]] = [b("HSET"), b("\(tag):bighash")]
        for i in 0..<600 { bigHash += [b("field\(i)"), b("value\(i)")] }
        try call(c, bigHash)
        try call(c, "SADD", "\(tag):intset", "1", "2", "3")
        try call(c, "SADD", "\(tag):set", "a", "b", "c")
        try call(c, "ZADD", "\(tag):zset", "1", "a", "2.5", "b", "-3", "c")
        var bigZ: [[UInt8]] = [b("ZADD"), b("\(tag):bigzset")]
        for i in 0..<300 { bigZ += [b(String(Double(i) / 7)), b("m\(i)")] }
        try call(c, bigZ)
        try call(c, "EXPIRE", "\(tag):zset", "200000")
        // Explicit IDs: the stream after a sync carries the command as sent until XADD's
        // propagation rewrite lands (a replica would pick its own `*` IDs).
        for i in 0..<50 { try call(c, "XADD", "\(tag):stream", "\(1000 + i)-1", "field", "v\(i)", "n", String(i)) }
        try call(c, "XGROUP", "CREATE", "\(tag):stream", "g1", "0")
        try call(c, "XGROUP", "CREATE", "\(tag):stream", "g2", "1010-1")
        if readGroup {
            // Consumer seen-times are the executing server's clock: only before a sync.
            try call(c, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "\(tag):stream", ">")
            try call(c, "XACK", "\(tag):stream", "g1", "1000-1")
        }
        try call(c, "SELECT", "3")
        try call(c, "SET", "\(tag):db3", "three")
        try call(c, "LPUSH", "\(tag):db3list", "x", "y")
        try call(c, "SELECT", "15")
        try call(c, "HSET", "\(tag):db15", "k", "v")
        try call(c, "SELECT", "0")
    }

    /// Writes after the sync: every type again, relative expiries, a transaction across
    /// databases, deletes. (Commands whose effect a replica must not recompute — random
    /// pops, served blocking pops, XREADGROUP — wait for their propagation rewrites.)
    private func writeAfterSync(_ master: ServerProcess, _ c: RespConnection) throws {
        try writeEveryType(c, tag: "after", readGroup: false)
        try call(c, "INCRBYFLOAT", "after:int", "1.5")
        try call(c, "EXPIRE", "after:str", "50000")
        try call(c, "DEL", "before:list")
        try call(c, "MULTI")
        try call(c, "SET", "tx:a", "1")
        try call(c, "SELECT", "2")
        try call(c, "INCR", "tx:b")
        try call(c, "EXEC")
        try call(c, "SELECT", "0")
        try call(c, "SREM", "before:set", "a")
        try call(c, "HDEL", "before:bighash", "field7")
    }

    // MARK: full syncs

    func testDisklessFullSyncCarriesEveryTypeAndTheStreamAfter() throws {
        try fullSyncRoundTrip(diskless: true)
    }

    func testDiskBasedFullSyncCarriesEveryTypeAndTheStreamAfter() throws {
        try fullSyncRoundTrip(diskless: false)
    }

    private func fullSyncRoundTrip(diskless: Bool) throws {
        let master = try startMaster(diskless: diskless)
        let mc = try master.connect(timeout: 30)
        try writeEveryType(mc, tag: "before")
        let replica = try startReplica(of: master)
        try waitInSync(mc, [replica])
        try writeAfterSync(master, mc)
        try waitInSync(mc, [replica])
        try assertSameData(master, replica)
        let stats = try info(mc, "stats")
        XCTAssertEqual(stats["sync_full"], "1")
        XCTAssertEqual(stats["sync_partial_ok"], "0")
        // What went to the replica counts as replication output (the stream carried a
        // 3 MB value; the RDB's compresses to almost nothing).
        XCTAssertGreaterThan(Int(stats["total_net_repl_output_bytes"] ?? "") ?? 0, 3 << 20)
        XCTAssertTrue(master.log.contains(diskless ? "Starting BGSAVE for SYNC with target: replicas sockets"
                                                   : "Starting BGSAVE for SYNC with target: disk"), master.log)
        // The replica sees redis-uv as its master, in CLIENT LIST as a replica (flag S).
        let list = String(decoding: try call(mc, "CLIENT", "LIST", "TYPE", "replica").payload ?? [], as: UTF8.self)
        XCTAssertTrue(list.contains("flags=S"), list)
    }

    // MARK: partial resync

    func testKilledLinkResumesByPartialResync() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        try writeEveryType(mc, tag: "before")
        let replica = try startReplica(of: master)
        try waitInSync(mc, [replica])
        let rc = try replica.connect(timeout: 30)
        XCTAssertEqual(try call(rc, "CLIENT", "KILL", "TYPE", "master").integer, 1)
        // Written while the link is down: these come from the backlog.
        for i in 0..<100 { try call(mc, "SET", "gap:\(i)", String(i)) }
        try call(mc, "LPUSH", "before:list", "during")
        try waitInSync(mc, [replica])
        try writeAfterSync(master, mc)
        try waitInSync(mc, [replica])
        try assertSameData(master, replica)
        let stats = try info(mc, "stats")
        XCTAssertEqual(stats["sync_full"], "1")
        XCTAssertEqual(stats["sync_partial_ok"], "1")
        XCTAssertTrue(master.log.contains("Partial resynchronization request from"), master.log)
    }

    /// SIGSTOP the replica, close its link from the master, write more than the backlog
    /// holds, SIGCONT: its PSYNC falls outside the backlog, so it full-syncs.
    func testBacklogTooSmallForcesAFullSync() throws {
        let master = try startMaster(diskless: true, ["--repl-backlog-size", "16kb"])
        let mc = try master.connect(timeout: 30)
        try writeEveryType(mc, tag: "before")
        let replica = try startReplica(of: master)
        try waitInSync(mc, [replica])
        kill(replica.pid, SIGSTOP)
        stoppedPids.append(replica.pid)
        XCTAssertEqual(try call(mc, "CLIENT", "KILL", "TYPE", "replica").integer, 1)
        for i in 0..<200 { try call(mc, "SET", "fill:\(i)", String(repeating: "z", count: 200)) }
        kill(replica.pid, SIGCONT)
        stoppedPids.removeAll()
        try waitUntil("the second full sync") { try info(mc, "stats")["sync_full"] == "2" }
        try waitInSync(mc, [replica])
        try assertSameData(master, replica)
        let stats = try info(mc, "stats")
        XCTAssertEqual(stats["sync_partial_ok"], "0")
        XCTAssertEqual(stats["sync_partial_err"], "1")
        XCTAssertTrue(master.log.contains("for lack of backlog"), master.log)
    }

    /// A stopped replica whose pending stream passes its output limit is dropped; once it
    /// runs again it resyncs (fully: the backlog could not hold what it missed).
    func testReplicaPastItsOutputLimitIsDroppedAndResyncs() throws {
        let master = try startMaster(diskless: true, ["--client-output-buffer-limit", "replica 1mb 0 0",
                                                      "--repl-backlog-size", "1mb"])
        let mc = try master.connect(timeout: 30)
        try writeEveryType(mc, tag: "before")
        let replica = try startReplica(of: master)
        try waitInSync(mc, [replica])
        kill(replica.pid, SIGSTOP)
        stoppedPids.append(replica.pid)
        let value = String(repeating: "o", count: 100_000)
        try waitUntil("the replica dropped for its output limit", timeout: 60) {
            for i in 0..<20 { try call(mc, "SET", "out:\(i)", value) }
            let list = String(decoding: try call(mc, "CLIENT", "LIST", "TYPE", "replica").payload ?? [], as: UTF8.self)
            return list.isEmpty
        }
        XCTAssertTrue(master.log.contains("for overcoming of output buffer limits"), master.log)
        kill(replica.pid, SIGCONT)
        stoppedPids.removeAll()
        try waitUntil("the resync") { try info(mc, "stats")["sync_full"] == "2" }
        try waitInSync(mc, [replica])
        try assertSameData(master, replica)
    }

    // MARK: WAIT

    func testWaitCountsReplicasAndTimesOut() throws {
        let master = try startMaster(diskless: true)
        let mc = try master.connect(timeout: 30)
        try call(mc, "SET", "k", "v")
        XCTAssertEqual(try call(mc, "WAIT", "0", "0").integer, 0)
        var start = Date()
        XCTAssertEqual(try call(mc, "WAIT", "1", "300").integer, 0)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.25)

        let r1 = try startReplica(of: master)
        try waitInSync(mc, [r1])
        try call(mc, "SET", "k", "v2")
        XCTAssertEqual(try call(mc, "WAIT", "1", "10000").integer, 1)
        start = Date()
        XCTAssertEqual(try call(mc, "WAIT", "2", "300").integer, 1)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.25)

        let r2 = try startReplica(of: master)
        try waitInSync(mc, [r1, r2])
        try call(mc, "INCR", "counter")
        XCTAssertEqual(try call(mc, "WAIT", "2", "10000").integer, 2)
        XCTAssertEqual(try call(mc, "WAIT", "1", "10000").integer, 2)
        // Blocking (no timeout) until both acknowledge, with a write in between.
        try call(mc, "SET", "k", "v3")
        XCTAssertEqual(try call(mc, "WAIT", "2", "0").integer, 2)
        try assertSameData(master, r1)
        try assertSameData(master, r2)
    }

    // MARK: the raw stream

    func testRawDisklessStreamHasFullresyncEOFFramingAndStartsWithSelect() throws {
        try rawStream(diskless: true)
    }

    func testRawDiskStreamHasFullresyncBulkFramingAndStartsWithSelect() throws {
        try rawStream(diskless: false)
    }

    private func rawStream(diskless: Bool) throws {
        let master = try startMaster(diskless: diskless)
        let mc = try master.connect(timeout: 30)
        try call(mc, "SELECT", "5")
        try call(mc, "SET", "before", "1")  // no backlog yet: not in any stream
        let fake = try FakeReplica(master, eof: diskless)
        let (replid, offset) = try fake.psync()
        XCTAssertEqual(replid.count, 40)
        XCTAssertGreaterThanOrEqual(offset, 0)
        let rdb = try fake.readRDB()
        XCTAssertEqual(fake.framing, diskless ? .eofMark : .bulkLength)
        XCTAssertEqual(Array(rdb.prefix(9)), b("REDIS0010"))
        let text = String(decoding: rdb, as: UTF8.self)
        XCTAssertTrue(text.contains("repl-stream-db"))
        XCTAssertTrue(text.contains("repl-id") && text.contains(replid))
        XCTAssertTrue(text.contains("repl-offset"))
        XCTAssertTrue(text.contains("before"))
        // Diskless: the stream starts at the replica's first ACK.
        if diskless { try fake.ack(offset) }
        try call(mc, "SET", "after", "2")
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n2\r\n"
        let consumed = try fake.expectStream(startingWith: expected)
        // WAIT sees the fake replica once it acknowledges the offset.
        try fake.ack(offset + consumed)
        XCTAssertEqual(try call(mc, "WAIT", "1", "5000").integer, 1)
    }

    /// Legacy SYNC (redis-cli --replica, old replicas): no +FULLRESYNC line, the RDB as a
    /// sized bulk, then the stream; it sends no ACKs and is never timed out for that.
    func testLegacySyncGetsTheRDBThenTheStream() throws {
        let master = try startMaster(diskless: true, ["--repl-timeout", "1"])
        let mc = try master.connect(timeout: 30)
        try call(mc, "SET", "old", "1")
        let fake = try FakeReplica(master, eof: false)
        try fake.conn.send(command: ["SYNC"])
        let rdb = try fake.readRDB()
        XCTAssertEqual(fake.framing, .bulkLength)
        XCTAssertTrue(String(decoding: rdb, as: UTF8.self).contains("old"))
        usleep(2_500_000)  // past repl-timeout without an ACK
        try call(mc, "SET", "new", "2")
        _ = try fake.expectStream(startingWith: "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nnew\r\n$1\r\n2\r\n")
        XCTAssertEqual(try info(mc, "stats")["sync_full"], "1")
    }

    /// A replica arriving while a save for another replica runs shares it: same
    /// FULLRESYNC offset, the first one's buffered stream copied (Redis's CASE 1).
    func testReplicaArrivingDuringADiskSaveSharesIt() throws {
        let master = try startMaster(diskless: false, ["--rdb-key-save-delay", "3000"])
        let mc = try master.connect(timeout: 30)
        try call(mc, "DEBUG", "POPULATE", "300")  // ~1 s of saving
        let first = try FakeReplica(master, eof: false)
        let (id1, off1) = try first.psync()
        try call(mc, "SET", "during", "1")
        let second = try FakeReplica(master, eof: false)
        let (id2, off2) = try second.psync()
        XCTAssertEqual(id1, id2)
        XCTAssertEqual(off1, off2)
        XCTAssertTrue(master.log.contains("Waiting for end of BGSAVE for SYNC"), master.log)
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$6\r\nduring\r\n$1\r\n1\r\n"
        for f in [first, second] {
            let rdb = try f.readRDB()
            XCTAssertFalse(String(decoding: rdb, as: UTF8.self).contains("during"))
            _ = try f.expectStream(startingWith: expected)
        }
        XCTAssertEqual(master.log.components(separatedBy: "Starting BGSAVE for SYNC").count, 2, master.log)
    }

    /// A replica that never ACKs is dropped after repl-timeout; meanwhile the cron PINGs it
    /// every repl-ping-replica-period through the stream.
    func testSilentReplicaGetsPingsThenTimesOut() throws {
        let master = try startMaster(diskless: false, ["--repl-timeout", "2", "--repl-ping-replica-period", "1"])
        let mc = try master.connect(timeout: 30)
        try call(mc, "SET", "k", "v")
        let fake = try FakeReplica(master, eof: false)
        _ = try fake.psync()
        _ = try fake.readRDB()
        let pings = try fake.readStream(seconds: 1.5)
        XCTAssertTrue(String(decoding: pings, as: UTF8.self).contains("*1\r\n$4\r\nPING\r\n"), RespEscape.escape(pings))
        try waitUntil("the silent replica dropped", timeout: 15) {
            String(decoding: try call(mc, "CLIENT", "LIST", "TYPE", "replica").payload ?? [], as: UTF8.self).isEmpty
        }
        XCTAssertTrue(master.log.contains("Disconnecting timedout replica (streaming sync)"), master.log)
    }

    /// With no replica for repl-backlog-ttl the backlog goes, with a new replication id:
    /// the old history can no longer be continued.
    func testBacklogFreedAfterTTLStartsANewHistory() throws {
        let master = try startMaster(diskless: false, ["--repl-backlog-ttl", "1"])
        let mc = try master.connect(timeout: 30)
        try call(mc, "SET", "k", "v")
        var fake: FakeReplica? = try FakeReplica(master, eof: false)
        let (oldID, offset) = try fake!.psync()
        _ = try fake!.readRDB()
        fake!.conn.close()
        fake = nil
        try waitUntil("the backlog freed", timeout: 15) { master.log.contains("Replication backlog freed after 1 seconds without connected replicas.") }
        let again = try FakeReplica(master, eof: false)
        try again.conn.send(command: ["PSYNC", oldID, String(offset + 1)])
        let (newID, _) = try again.readFullresync()
        XCTAssertNotEqual(newID, oldID)
        XCTAssertEqual(try info(mc, "stats")["sync_partial_err"], "1")
    }

    /// min-replicas-to-write with a real replica: writes pass while it ACKs, and get
    /// -NOREPLICAS once its last ACK is older than min-replicas-max-lag (it is stopped).
    func testMinReplicasToWriteFollowsTheReplicasAcks() throws {
        let master = try startMaster(diskless: true, ["--min-replicas-to-write", "1", "--min-replicas-max-lag", "2"])
        let mc = try master.connect(timeout: 30)
        XCTAssertEqual(try call(mc, "SET", "k", "v").text, "NOREPLICAS Not enough good replicas to write.")
        let replica = try startReplica(of: master)
        try waitUntil("writes accepted") { try call(mc, "SET", "k", "v").text == "OK" }
        kill(replica.pid, SIGSTOP)
        stoppedPids.append(replica.pid)
        try waitUntil("writes refused", timeout: 15) {
            try call(mc, "SET", "k", "v").text == "NOREPLICAS Not enough good replicas to write."
        }
        XCTAssertEqual(try call(mc, "GET", "k").text, "v")  // reads still served
        kill(replica.pid, SIGCONT)
        stoppedPids.removeAll()
        try waitUntil("writes accepted again", timeout: 15) { try call(mc, "SET", "k", "v2").text == "OK" }
    }

    /// repl-diskless-sync-delay gathers replicas into one transfer; with
    /// repl-diskless-sync-max-replicas it starts as soon as that many came.
    func testDisklessDelayGathersReplicasIntoOneTransfer() throws {
        let master = try startMaster(diskless: true, ["--repl-diskless-sync-delay", "60",
                                                      "--repl-diskless-sync-max-replicas", "2"])
        let mc = try master.connect(timeout: 30)
        try call(mc, "SET", "k", "v")
        let first = try FakeReplica(master, eof: true)
        try first.sendPSYNC()
        usleep(300_000)
        XCTAssertFalse(master.log.contains("Starting BGSAVE for SYNC"), master.log)
        let second = try FakeReplica(master, eof: true)
        let (id2, off2) = try second.psync()
        let (id1, off1) = try first.readFullresync()
        XCTAssertEqual(id1, id2)
        XCTAssertEqual(off1, off2)
        for f in [first, second] {
            let rdb = try f.readRDB()
            XCTAssertEqual(f.framing, .eofMark)
            XCTAssertTrue(String(decoding: rdb, as: UTF8.self).contains("k"))
        }
        XCTAssertEqual(master.log.components(separatedBy: "Starting BGSAVE for SYNC with target: replicas sockets").count, 2,
                       master.log)
    }
}

/// A replica spoken by hand over a socket: REPLCONF, PSYNC, the FULLRESYNC line, the RDB
/// in either framing, then the stream.
private final class FakeReplica {
    enum Framing: Equatable { case bulkLength, eofMark }
    let conn: RespConnection
    private(set) var framing: Framing?
    private var buf: [UInt8] = []

    init(_ master: ServerProcess, eof: Bool) throws {
        conn = try master.connect(timeout: 30)
        guard try conn.callString("REPLCONF", "listening-port", "4242") == "+OK\r\n" else { throw HarnessError("REPLCONF refused") }
        if eof {
            guard try conn.callString("REPLCONF", "capa", "eof", "capa", "psync2") == "+OK\r\n" else { throw HarnessError("REPLCONF capa refused") }
        }
    }

    func sendPSYNC() throws { try conn.send(command: ["PSYNC", "?", "-1"]) }

    func psync() throws -> (String, Int) {
        try sendPSYNC()
        return try readFullresync()
    }

    private func need(_ what: String, _ pred: ([UInt8]) -> Bool) throws {
        let deadline = Date().addingTimeInterval(30)
        while !pred(buf) {
            guard Date() < deadline else {
                throw HarnessError("timed out waiting for \(what); got \(RespEscape.escape(Array(buf.prefix(200))))")
            }
            buf += try conn.readAvailable(timeout: 0.5)
        }
    }

    private func lineEnd(_ from: Int = 0) -> Int? {
        var i = from
        while i + 1 < buf.count { if buf[i] == 13 && buf[i + 1] == 10 { return i }; i += 1 }
        return nil
    }

    /// Takes one line (CRLF dropped), skipping the keep-alive newlines before it.
    private func takeLine(_ what: String) throws -> String {
        try need(what) { b in
            guard let i = b.firstIndex(where: { $0 != 10 }) else { return false }
            return lineEnd(i) != nil
        }
        let start = buf.firstIndex(where: { $0 != 10 })!
        let end = lineEnd(start)!
        let line = String(decoding: buf[start..<end], as: UTF8.self)
        buf.removeFirst(end + 2)
        return line
    }

    func readFullresync() throws -> (String, Int) {
        let line = try takeLine("+FULLRESYNC")
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[0] == "+FULLRESYNC", let off = Int(parts[2]) else {
            throw HarnessError("unexpected reply to PSYNC: \(line)")
        }
        return (String(parts[1]), off)
    }

    /// The RDB payload; what follows it stays buffered as the stream's start.
    func readRDB() throws -> [UInt8] {
        let header = try takeLine("the payload header")
        if header.hasPrefix("$EOF:") {
            framing = .eofMark
            let mark = Array(header.utf8.dropFirst(5))
            guard mark.count == 40 else { throw HarnessError("EOF mark of \(mark.count) bytes") }
            try need("the EOF mark") { $0.count >= 40 && Array($0.suffix(40)) == mark }
            let rdb = Array(buf[..<(buf.count - 40)])
            buf = []
            return rdb
        }
        guard header.hasPrefix("$"), let len = Int(header.dropFirst()) else { throw HarnessError("payload header \(header)") }
        framing = .bulkLength
        try need("the RDB bytes") { $0.count >= len }
        let rdb = Array(buf[..<len])
        buf.removeFirst(len)
        return rdb
    }

    /// Whatever the stream brings within `seconds`.
    func readStream(seconds: TimeInterval) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline { buf += try conn.readAvailable(timeout: 0.2) }
        defer { buf = [] }
        return buf
    }

    func ack(_ offset: Int) throws {
        try conn.send(command: ["REPLCONF", "ACK", String(offset)])
    }

    /// Reads the stream until `expected` came, allowing the cron's keep-alive PINGs (no
    /// SELECT needed) before it. Returns the stream bytes consumed through `expected`.
    func expectStream(startingWith expected: String) throws -> Int {
        let exp = Array(expected.utf8)
        let ping = Array("*1\r\n$4\r\nPING\r\n".utf8)
        try need("the stream") { b in
            var rest = b[...]
            while rest.starts(with: ping) { rest = rest.dropFirst(ping.count) }
            return rest.count >= exp.count || (!exp.starts(with: rest) && !ping.starts(with: rest))
        }
        var skipped = 0
        while buf[skipped...].starts(with: ping) { skipped += ping.count }
        guard buf[skipped...].starts(with: exp) else {
            throw HarnessError("stream starts with \(RespEscape.escape(Array(buf.prefix(200))))")
        }
        buf.removeFirst(skipped + exp.count)
        return skipped + exp.count
    }
}
