import XCTest
import Foundation
@testable import RedisUV

/// What the replication integration tests share: real processes on free ports (stopped in
/// tearDown, scratch directories removed), RESP calls, INFO fields, polling, and the
/// key-by-key dataset comparison (type, encoding, contents, DUMP where the encoding has a
/// fixed order, PTTL within a tolerance) with data of every type to compare.
class ReplicationTestCase: XCTestCase {
    var servers: [ServerProcess] = []
    var dirs: [URL] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers.removeAll()
        for d in dirs { try? FileManager.default.removeItem(at: d) }
        dirs.removeAll()
        super.tearDown()
    }

    // MARK: helpers

    /// A server of `kind` with `arguments`, stopped in tearDown.
    func startServer(_ kind: ServerProcess.Kind, _ arguments: [String] = []) throws -> ServerProcess {
        let s = try ServerProcess.start(kind, arguments: arguments)
        servers.append(s)
        return s
    }

    func tempDir() throws -> URL {
        let d = TestEnvironment.scratchDirectory.appendingPathComponent("replica-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        dirs.append(d)
        return d
    }

    func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    @discardableResult
    func call(_ c: RespConnection, _ args: [[UInt8]]) throws -> RespValue {
        try c.send(command: args)
        return try RespValue.parse(try c.readReply())
    }

    @discardableResult
    func call(_ c: RespConnection, _ args: String...) throws -> RespValue {
        try call(c, args.map { Array($0.utf8) })
    }

    @discardableResult
    func call(_ c: RespConnection, strings args: [String]) throws -> RespValue {
        try call(c, args.map { Array($0.utf8) })
    }

    /// The whole reply, as text ("+OK\r\n", "-ERR ...\r\n").
    func raw(_ c: RespConnection, _ args: String...) throws -> String {
        String(decoding: try call(c, args.map { Array($0.utf8) }).raw, as: UTF8.self)
    }

    func text(_ c: RespConnection, _ args: String...) throws -> String {
        let v = try call(c, args.map { Array($0.utf8) })
        return String(decoding: v.payload ?? v.line, as: UTF8.self)
    }

    /// INFO <section> as ordered (field, value) pairs.
    func infoPairs(_ c: RespConnection, _ section: String) throws -> [(String, String)] {
        let v = try call(c, "INFO", section)
        let body = String(decoding: v.payload ?? [], as: UTF8.self)
        return body.split(separator: "\r\n").compactMap { line in
            if line.hasPrefix("#") { return nil }
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
    }

    func info(_ c: RespConnection, _ field: String, section: String = "replication") throws -> String? {
        try infoPairs(c, section).first { $0.0 == field }?.1
    }

    func waitUntil(_ what: String, timeout: TimeInterval = 30, _ cond: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try cond() { return }
            usleep(50_000)
        }
        XCTFail("timed out waiting for \(what)")
        throw HarnessError("timed out waiting for \(what)")
    }

    /// Until the replica's link is up and both sides report the same master_repl_offset.
    func waitInSync(_ master: ServerProcess, _ replica: ServerProcess) throws {
        let m = try master.connect()
        let r = try replica.connect()
        defer { m.close(); r.close() }
        try waitUntil("replica in sync with the master (replica log:\n\(replica.log))") {
            guard try info(r, "master_link_status") == "up" else { return false }
            let mo = try info(m, "master_repl_offset")
            let ro = try info(r, "master_repl_offset")
            let applied = try info(r, "slave_repl_offset")
            return mo != nil && mo == ro && ro == applied
        }
    }

    /// Every key of every database: type, encoding, contents (DUMP where the encoding keeps
    /// a fixed order), and the PTTL apart.
    func dataset(_ c: RespConnection) throws -> (lines: [String], pttl: [String: Int64]) {
        var lines: [String] = []
        var pttl: [String: Int64] = [:]
        func texts(_ v: RespValue) -> [String] { v.children.map { RespEscape.escape($0.payload ?? $0.line) } }
        for db in 0..<16 {
            try call(c, "SELECT", String(db))
            let keys = try call(c, "KEYS", "*").children.compactMap(\.payload).sorted { $0.lexicographicallyPrecedes($1) }
            for k in keys {
                let type = String(decoding: try call(c, [b("TYPE"), k]).line, as: UTF8.self)
                let enc = String(decoding: try call(c, [b("OBJECT"), b("ENCODING"), k]).payload ?? [], as: UTF8.self)
                var content: [String]
                switch type {
                case "string": content = [RespEscape.escape(try call(c, [b("GET"), k]).payload ?? [], limit: 64) + " len=\(try call(c, [b("STRLEN"), k]).integer ?? -1)"]
                case "list": content = texts(try call(c, [b("LRANGE"), k, b("0"), b("-1")]))
                case "set": content = texts(try call(c, [b("SMEMBERS"), k])).sorted()
                case "zset": content = texts(try call(c, [b("ZRANGE"), k, b("0"), b("-1"), b("WITHSCORES")]))
                case "hash":
                    let flat = texts(try call(c, [b("HGETALL"), k]))
                    content = stride(from: 0, to: flat.count, by: 2).map { flat[$0] + "=" + flat[$0 + 1] }.sorted()
                case "stream":
                    // A group's entries-read is not replicated by Redis 7.0 (XCLAIM ... LASTID
                    // leaves it unknown on a real redis-server replica too), nor the lag
                    // derived from it: everything else is.
                    content = [RespEscape.escape(try call(c, [b("XRANGE"), k, b("-"), b("+")]).raw, limit: 1 << 20)]
                    for g in try call(c, [b("XINFO"), b("GROUPS"), k]).children {
                        let kv = g.children
                        var fields: [String] = []
                        for i in stride(from: 0, to: kv.count - 1, by: 2) where kv[i].text != "entries-read" && kv[i].text != "lag" {
                            fields.append("\(kv[i].text ?? "")=\(RespEscape.escape(kv[i + 1].raw))")
                        }
                        content.append(fields.joined(separator: " "))
                        let name = kv[1].payload ?? []
                        content.append(RespEscape.escape(try call(c, [b("XPENDING"), k, name]).raw, limit: 1 << 16))
                    }
                default: content = ["?"]
                }
                // A string's raw/embstr is not kept by RDB files (a replica loads embstr).
                var line = "db\(db) \(RespEscape.escape(k)) \(type) \(type == "string" ? "" : enc) [\(content.joined(separator: ","))]"
                if enc != "hashtable" && type != "stream" {
                    let dump = try call(c, [b("DUMP"), k]).payload ?? []
                    line += " dump=\(dump.count):\(dump.reduce(UInt64(1469598103934665603)) { ($0 ^ UInt64($1)) &* 1099511628211 })"
                }
                lines.append(line)
                pttl["db\(db) \(RespEscape.escape(k))"] = try call(c, [b("PTTL"), k]).integer ?? -3
            }
        }
        try call(c, "SELECT", "0")
        return (lines, pttl)
    }

    func assertSameData(_ master: ServerProcess, _ replica: ServerProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        try waitInSync(master, replica)
        let m = try master.connect(timeout: 30)
        let r = try replica.connect(timeout: 30)
        defer { m.close(); r.close() }
        let dm = try dataset(m)
        let dr = try dataset(r)
        XCTAssertFalse(dm.lines.isEmpty, file: file, line: line)
        XCTAssertEqual(dm.lines.count, dr.lines.count, "key count", file: file, line: line)
        for (a, bb) in zip(dm.lines, dr.lines) where a != bb {
            let common = zip(a, bb).prefix { $0 == $1 }.count
            XCTFail("\(a.prefix(40))... differs at \(common):\nmaster:  ...\(a.dropFirst(max(0, common - 40)).prefix(300))\nreplica: ...\(bb.dropFirst(max(0, common - 40)).prefix(300))", file: file, line: line)
        }
        XCTAssertEqual(Set(dm.pttl.keys), Set(dr.pttl.keys), file: file, line: line)
        for (k, t) in dm.pttl {
            let u = dr.pttl[k] ?? -3
            if t < 0 || u < 0 {
                XCTAssertEqual(t, u, "PTTL of \(k)", file: file, line: line)
            } else {
                XCTAssertLessThan(abs(t - u), 10_000, "PTTL of \(k): \(t) vs \(u)", file: file, line: line)
            }
        }
    }

    /// 2100-01-01 and after: absolute expiries no test run reaches.
    let farFutureMs: Int64 = 4_102_444_800_000

    /// Data of every type in several databases, a big value, far-future expiries, a stream
    /// with groups and pending entries.
    func writeInitialData(_ c: RespConnection) throws {
        try call(c, "SET", "str", "hello")
        try call(c, "SET", "int", "12345")
        try call(c, "SET", "raw", String(repeating: "r", count: 100))
        try call(c, [b("SET"), b("big"), [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20)])
        try call(c, "SET", "exp", "v", "PXAT", String(farFutureMs))
        try call(c, "RPUSH", "list", "a", "b", "c")
        let items: [String] = (0..<2000).map { "item-\($0)" }
        try call(c, strings: ["RPUSH", "biglist"] + items)
        try call(c, "HSET", "hash", "f1", "v1", "f2", "v2")
        var pairs: [String] = []
        for i in 0..<600 { pairs += ["field\(i)", "value\(i)"] }
        try call(c, strings: ["HSET", "bighash"] + pairs)
        try call(c, "SADD", "intset", "1", "2", "3")
        let members: [String] = (0..<700).map { "member\($0)" }
        try call(c, strings: ["SADD", "bigset"] + members)
        try call(c, "ZADD", "zset", "1", "a", "2.5", "b")
        var scored: [String] = []
        for i in 0..<300 { scored += [String(Double(i) / 3), "m\(i)"] }
        try call(c, strings: ["ZADD", "bigzset"] + scored)
        try call(c, "PEXPIREAT", "bighash", String(farFutureMs + 1000))
        for i in 0..<50 { try call(c, "XADD", "stream", "\(i + 1)-1", "field", "value\(i)") }
        try call(c, "XGROUP", "CREATE", "stream", "g1", "0")
        try call(c, "XGROUP", "CREATE", "stream", "g2", "$")
        try call(c, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "stream", ">")
        try call(c, "XACK", "stream", "g1", "2-1")
        try call(c, "SELECT", "1")
        try call(c, "SET", "in-db1", "one")
        try call(c, "HSET", "h1", "a", "b")
        try call(c, "SELECT", "5")
        try call(c, "SET", "in-db5", "five")
        try call(c, "LPUSH", "l5", "x")
        try call(c, "SELECT", "0")
    }

    /// Writes after the sync: the stream the replica applies.
    func writeStream(_ master: ServerProcess, _ c: RespConnection) throws {
        for i in 0..<200 { try call(c, "INCR", "counter\(i % 7)") }
        try call(c, "APPEND", "str", " world")
        try call(c, "LPUSH", "list", "z")
        try call(c, "HINCRBYFLOAT", "hash", "f3", "1.5")
        try call(c, "SREM", "bigset", "member1")
        try call(c, "ZINCRBY", "bigzset", "10", "m5")
        try call(c, "XADD", "stream", "100-1", "late", "entry")
        try call(c, "XREADGROUP", "GROUP", "g2", "bob", "STREAMS", "stream", ">")
        try call(c, "SET", "exp2", "v", "EX", "1000000")
        try call(c, "EXPIREAT", "str", String(farFutureMs / 1000))
        try call(c, "MULTI")
        try call(c, "SET", "tx1", "a")
        try call(c, "INCRBY", "tx2", "5")
        try call(c, "RPUSH", "list", "tx")
        XCTAssertEqual(try call(c, "EXEC").children.count, 3)
        // A blocking pop served by a push.
        let blocked = try master.connect()
        defer { blocked.close() }
        try blocked.send(command: ["BLPOP", "queue", "0"])
        try waitUntil("BLPOP parked") { try info(c, "blocked_clients", section: "clients") == "1" }
        try call(c, "RPUSH", "queue", "first", "second")
        let popped = try RespValue.parse(try blocked.readReply())
        XCTAssertEqual(popped.children.map(\.text), ["queue", "first"])
        try call(c, "SELECT", "5")
        try call(c, "FLUSHDB")
        try call(c, "SET", "after-flush", "y")
        try call(c, "SELECT", "3")
        try call(c, "SET", "db3", "three")
        try call(c, "SELECT", "0")
        try call(c, [b("SET"), b("big2"), [UInt8](repeating: UInt8(ascii: "y"), count: 3 << 20)])
        try call(c, "DEL", "raw")
    }
}
