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
        try call(mc, "SET", "before", "1")  // the stream was last in db 5 (no backlog yet: not fed)
        let fake = try master.connect(timeout: 30)
        XCTAssertEqual(try fake.callString("REPLCONF", "listening-port", "4242"), "+OK\r\n")
        if diskless { XCTAssertEqual(try fake.callString("REPLCONF", "capa", "eof", "capa", "psync2"), "+OK\r\n") }
        try fake.send(command: ["PSYNC", "?", "-1"])
        var buf: [UInt8] = []
        func need(_ pred: ([UInt8]) -> Bool, _ what: String) throws {
            let deadline = Date().addingTimeInterval(30)
            while !pred(buf) {
                guard Date() < deadline else { throw HarnessError("timed out waiting for \(what); got \(RespEscape.escape(Array(buf.prefix(200))))") }
                buf += try fake.readAvailable(timeout: 0.5)
            }
        }
        func lineEnd(from: Int) -> Int? {
            var i = from
            while i + 1 < buf.count { if buf[i] == 13 && buf[i + 1] == 10 { return i }; i += 1 }
            return nil
        }
        try need({ _ in lineEnd(from: 0) != nil }, "+FULLRESYNC")
        let first = String(decoding: buf[0..<lineEnd(from: 0)!], as: UTF8.self)
        let parts = first.split(separator: " ")
        XCTAssertEqual(parts.count, 3)
        XCTAssertEqual(parts.first, "+FULLRESYNC")
        let replid = String(parts[1])
        XCTAssertEqual(replid.count, 40)
        let offset = Int(parts[2]) ?? -1
        XCTAssertGreaterThanOrEqual(offset, 0)
        var pos = lineEnd(from: 0)! + 2
        // Keep-alive newlines may come before the payload.
        try need({ $0.count > pos && $0[pos...].contains(where: { $0 != 10 }) }, "the payload header")
        while buf[pos] == 10 { pos += 1 }
        try need({ _ in lineEnd(from: pos) != nil }, "the payload header line")
        let header = String(decoding: buf[pos..<lineEnd(from: pos)!], as: UTF8.self)
        pos = lineEnd(from: pos)! + 2
        var rdb: [UInt8]
        if diskless {
            XCTAssertTrue(header.hasPrefix("$EOF:"), header)
            let mark = Array(header.utf8.dropFirst(5))
            XCTAssertEqual(mark.count, 40)
            try need({ $0.count >= pos + 40 && Array($0.suffix(40)) == mark }, "the EOF mark")
            rdb = Array(buf[pos..<(buf.count - 40)])
            buf = []
            // The stream starts at the replica's first ACK.
            try fake.send(command: ["REPLCONF", "ACK", String(offset)])
        } else {
            XCTAssertTrue(header.hasPrefix("$"), header)
            let len = Int(header.dropFirst()) ?? -1
            try need({ $0.count >= pos + len }, "the RDB bytes")
            rdb = Array(buf[pos..<(pos + len)])
            buf = Array(buf[(pos + len)...])
        }
        XCTAssertEqual(Array(rdb.prefix(9)), b("REDIS0010"))
        let text = String(decoding: rdb, as: UTF8.self)
        XCTAssertTrue(text.contains("repl-stream-db"))
        XCTAssertTrue(text.contains("repl-id") && text.contains(replid))
        XCTAssertTrue(text.contains("repl-offset"))
        XCTAssertTrue(text.contains("before"))
        // The RDB loads in redis-uv's own loader, which reads the aux fields too.
        try call(mc, "SET", "after", "2")
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n2\r\n"
        try need({ String(decoding: $0, as: UTF8.self).contains(expected) }, "the stream")
        // The cron's keep-alive PING may come first (it needs no SELECT); then SELECT.
        var stream = buf
        let ping = b("*1\r\n$4\r\nPING\r\n")
        while stream.starts(with: ping) { stream.removeFirst(ping.count) }
        XCTAssertTrue(stream.starts(with: b(expected)), RespEscape.escape(buf))
        // WAIT sees the fake replica once it acknowledges the offset.
        let after = offset + (buf.count - stream.count) + expected.utf8.count
        try fake.send(command: ["REPLCONF", "ACK", String(after)])
        XCTAssertEqual(try call(mc, "WAIT", "1", "5000").integer, 1)
    }
}
