import XCTest
import Foundation
@testable import RedisUV

/// RDB files and DUMP payloads exchanged between redis-server 7.0 and redis-uv: each side
/// loads what the other wrote and every key is compared through commands (TYPE, OBJECT
/// ENCODING, contents by range commands, TTL within a second).
final class RDBIntegrationTests: XCTestCase {
    private var servers: [ServerProcess] = []
    private var dirs: [URL] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers.removeAll()
        for d in dirs { try? FileManager.default.removeItem(at: d) }
        dirs.removeAll()
        super.tearDown()
    }

    private func tempDir() throws -> URL {
        let d = TestEnvironment.scratchDirectory.appendingPathComponent("rdb-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        dirs.append(d)
        return d
    }

    /// A server whose `dir` holds a copy of `file` as dump.rdb (none when nil).
    private func start(_ kind: ServerProcess.Kind, file: URL?, extra: [String] = []) throws -> (ServerProcess, URL) {
        guard kind == .redisUV || TestEnvironment.redisServerBinary != nil else { throw XCTSkip("no redis-server") }
        let d = try tempDir()
        if let file { try FileManager.default.copyItem(at: file, to: d.appendingPathComponent("dump.rdb")) }
        let s = try ServerProcess.start(kind, arguments: ["--dir", d.path, "--dbfilename", "dump.rdb",
                                                          "--enable-debug-command", "yes"] + extra)
        servers.append(s)
        return (s, d)
    }

    private func fixture(_ name: String) -> URL {
        TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/rdb/\(name)")
    }

    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func call(_ c: RespConnection, _ args: [[UInt8]]) throws -> RespValue {
        try c.send(command: args)
        return try RespValue.parse(try c.readReply())
    }

    private func call(_ c: RespConnection, _ args: String...) throws -> RespValue {
        try call(c, args.map { Array($0.utf8) })
    }

    /// Everything observable about the keyspace, one line per key, sorted.
    private func snapshot(_ c: RespConnection, compareDumps: Bool = false) throws -> [String] {
        var lines: [String] = []
        for db in 0..<16 {
            _ = try call(c, "SELECT", String(db))
            let keys = try call(c, "KEYS", "*").children.compactMap(\.payload)
            for k in keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                let type = String(decoding: try call(c, [bytes("TYPE"), k]).line, as: UTF8.self)
                let enc = String(decoding: try call(c, [bytes("OBJECT"), bytes("ENCODING"), k]).payload ?? [], as: UTF8.self)
                let pttl = Int(String(decoding: try call(c, [bytes("PTTL"), k]).line, as: UTF8.self)) ?? -3
                let ttl = String(pttl)
                var content: [String] = []
                func texts(_ v: RespValue) -> [String] { v.children.map { RespEscape.escape($0.payload ?? []) } }
                switch type {
                case "string": content = [RespEscape.escape(try call(c, [bytes("GET"), k]).payload ?? [])]
                case "list": content = texts(try call(c, [bytes("LRANGE"), k, bytes("0"), bytes("-1")]))
                case "set": content = texts(try call(c, [bytes("SMEMBERS"), k])).sorted()
                case "zset": content = texts(try call(c, [bytes("ZRANGE"), k, bytes("0"), bytes("-1"), bytes("WITHSCORES")]))
                case "hash":
                    let flat = texts(try call(c, [bytes("HGETALL"), k]))
                    content = stride(from: 0, to: flat.count, by: 2).map { flat[$0] + "=" + flat[$0 + 1] }.sorted()
                default: content = ["?"]
                }
                var line = "db\(db) \(RespEscape.escape(k)) \(type) \(enc) ttl=\(ttl) [\(content.joined(separator: ","))]"
                if compareDumps && enc != "hashtable" {
                    line += " dump=" + RespEscape.escape(try call(c, [bytes("DUMP"), k]).payload ?? [])
                }
                lines.append(line)
            }
        }
        _ = try call(c, "SELECT", "0")
        return lines
    }

    /// Lines equal, except that TTLs (`ttl=<ms>`) only need to agree within 2 s.
    private func assertSame(_ a: [String], _ b: [String], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        func split(_ s: String) -> (String, Int) {
            guard let r = s.range(of: #" ttl=-?[0-9]+"#, options: .regularExpression) else { return (s, 0) }
            let ms = Int(s[r].dropFirst(5)) ?? 0
            return (s.replacingCharacters(in: r, with: " ttl=" + (ms < 0 ? String(ms) : "N")), ms)
        }
        for (x, y) in zip(a, b) {
            let (tx, mx) = split(x), (ty, my) = split(y)
            if tx != ty || abs(mx - my) > 2000 {
                XCTFail("\(what):\n  \(x.prefix(600))\n  \(y.prefix(600))", file: file, line: line)
            }
        }
    }

    // MARK: redis-server writes, redis-uv reads

    func testRedisServerFilesLoadIdentically() throws {
        for name in ["all-types.rdb", "all-types-nocompress.rdb", "all-types-nochecksum.rdb", "empty.rdb"] {
            let (ref, _) = try start(.redisServer, file: fixture(name))
            let (uv, _) = try start(.redisUV, file: fixture(name))
            let a = try snapshot(try ref.connect(), compareDumps: true)
            let b = try snapshot(try uv.connect(), compareDumps: true)
            if name != "empty.rdb" { XCTAssertGreaterThan(a.count, 30) }
            assertSame(a, b, name)
            XCTAssertEqual(try serializedLengths(try uv.connect()), try serializedLengths(try ref.connect()), name)
            let info = String(decoding: try call(try uv.connect(), "INFO", "persistence").payload ?? [], as: UTF8.self)
            if name != "empty.rdb" { XCTAssertTrue(info.contains("rdb_last_load_keys_loaded:36"), info) }
        }
    }

    // MARK: redis-uv writes, redis-server reads

    func testRedisUVSaveLoadsInRedisServer() throws {
        for version in ["10", "9"] {
            for compression in ["yes", "no"] {
                let (uv, dir) = try start(.redisUV, file: fixture("all-types.rdb"),
                                          extra: ["--rdb-version", version, "--rdbcompression", compression])
                let c = try uv.connect()
                // Values built by redis-uv's own commands, too.
                _ = try call(c, "RPUSH", "uv:list", "a", "1", "-5", String(repeating: "q", count: 70))
                _ = try call(c, "ZADD", "uv:z", "1e-5", "x", "-2.5", "y", "12", "z")
                _ = try call(c, "HSET", "uv:h", "a", "1", "b", String(repeating: "w", count: 30))
                _ = try call(c, "SADD", "uv:s", "70000", "-3", "9")
                _ = try call(c, "SET", "uv:ex", "v", "PX", "500000")
                XCTAssertEqual(try call(c, "SAVE").line, bytes("OK"))
                let expected = try snapshot(c)
                let (ref, _) = try start(.redisServer, file: dir.appendingPathComponent("dump.rdb"))
                assertSame(try snapshot(try ref.connect()), expected, "version \(version) compression \(compression)")
                uv.stop()
                ref.stop()
            }
        }
    }

    func testBgsaveWritesAFileRedisServerLoads() throws {
        let (uv, dir) = try start(.redisUV, file: fixture("all-types.rdb"))
        let c = try uv.connect()
        _ = try call(c, "SET", "after-load", "1")
        XCTAssertEqual(try call(c, "DBSIZE").line, bytes("33"))
        let before = try call(c, "LASTSAVE").line
        XCTAssertEqual(String(decoding: try call(c, "BGSAVE").line, as: UTF8.self), "Background saving started")
        var done = false
        for _ in 0..<100 {
            let info = String(decoding: try call(c, "INFO", "persistence").payload ?? [], as: UTF8.self)
            if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_saves:1") {
                XCTAssertTrue(info.contains("rdb_last_bgsave_status:ok"), info)
                XCTAssertTrue(info.contains("rdb_changes_since_last_save:0"), info)
                // The child reports the pages it had to copy (its own buffers at least).
                let cow = info.split(separator: "\r\n").first { $0.hasPrefix("rdb_last_cow_size:") }
                XCTAssertGreaterThan(Int(cow?.dropFirst("rdb_last_cow_size:".count) ?? "") ?? 0, 0, info)
                XCTAssertTrue(uv.log.contains("Fork CoW for RDB: current "), uv.log)
                done = true
                break
            }
            usleep(50_000)
        }
        XCTAssertTrue(done, "BGSAVE did not finish")
        XCTAssertGreaterThanOrEqual(try call(c, "LASTSAVE").line.lexicographicallyPrecedes(before) ? 0 : 1, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("temp-\(uv.pid).rdb").path))
        let expected = try snapshot(c)
        let (ref, _) = try start(.redisServer, file: dir.appendingPathComponent("dump.rdb"))
        assertSame(try snapshot(try ref.connect()), expected, "BGSAVE")
        XCTAssertEqual(try call(c, "BGSAVE", "NOW").type, UInt8(ascii: "-"))
    }

    // MARK: DUMP / RESTORE across servers

    func testDumpPayloadsRestoreAcrossServers() throws {
        let (ref, _) = try start(.redisServer, file: fixture("all-types.rdb"))
        let (uv, _) = try start(.redisUV, file: fixture("all-types.rdb"))
        let r = try ref.connect(), u = try uv.connect()
        let keys = try call(r, "KEYS", "*").children.compactMap(\.payload)
        XCTAssertGreaterThan(keys.count, 25)
        for k in keys {
            let fromRef = try call(r, [bytes("DUMP"), k]).payload!
            let fromUV = try call(u, [bytes("DUMP"), k]).payload!
            // Each server restores the other's payload under a new name.
            XCTAssertEqual(try call(u, [bytes("RESTORE"), bytes("x:") + k, bytes("0"), fromRef]).line, bytes("OK"),
                           RespEscape.escape(k))
            XCTAssertEqual(try call(r, [bytes("RESTORE"), bytes("x:") + k, bytes("0"), fromUV]).line, bytes("OK"),
                           RespEscape.escape(k))
        }
        for k in keys {
            // The values differ only in TTL (restored with none).
            _ = try call(r, [bytes("PERSIST"), k]); _ = try call(u, [bytes("PERSIST"), k])
        }
        let a = try snapshot(r).map { $0.replacingOccurrences(of: " x:", with: " ") }.sorted()
        let b = try snapshot(u).map { $0.replacingOccurrences(of: " x:", with: " ") }.sorted()
        assertSame(a, b, "after cross RESTORE")
        // Replies to the same commands match byte for byte.
        let payload = try call(r, "DUMP", "str:small").payload!
        var corrupt = payload
        corrupt[corrupt.count - 1] ^= 1
        var badVersion = payload
        badVersion[badVersion.count - 10] = 11
        let cases: [[[UInt8]]] = [
            [bytes("RESTORE"), bytes("str:small"), bytes("0"), payload],
            [bytes("RESTORE"), bytes("new"), bytes("0"), corrupt],
            [bytes("RESTORE"), bytes("new"), bytes("0"), badVersion],
            [bytes("RESTORE"), bytes("new"), bytes("0"), bytes("short")],
            [bytes("RESTORE"), bytes("new"), bytes("-1"), payload],
            [bytes("RESTORE"), bytes("new"), bytes("abc"), payload],
            [bytes("RESTORE"), bytes("new"), bytes("0"), payload, bytes("IDLETIME"), bytes("-1")],
            [bytes("RESTORE"), bytes("new"), bytes("0"), payload, bytes("FREQ"), bytes("256")],
            [bytes("RESTORE"), bytes("new"), bytes("0"), payload, bytes("IDLETIME"), bytes("1"), bytes("FREQ"), bytes("2")],
            [bytes("RESTORE"), bytes("new"), bytes("0"), payload, bytes("BOGUS")],
            [bytes("RESTORE"), bytes("str:small"), bytes("0"), payload, bytes("REPLACE"), bytes("IDLETIME"), bytes("100")],
            [bytes("OBJECT"), bytes("IDLETIME"), bytes("str:small")],
            [bytes("RESTORE"), bytes("past"), bytes("1"), payload, bytes("ABSTTL")],
            [bytes("EXISTS"), bytes("past")],
            [bytes("RESTORE"), bytes("ttl"), bytes("100000"), payload],
            [bytes("PTTL"), bytes("ttl")],
            [bytes("DUMP"), bytes("missing")],
            [bytes("RESTORE"), bytes("bad"), bytes("0"), Self.withFooter([0x00, 0xC3, 0x05, 0x7F, 0xFF])],
            [bytes("RESTORE"), bytes("bad"), bytes("0"), Self.withFooter([0x0E, 0x01, 0x05, 0x01, 0x02])],
        ]
        for args in cases {
            var x = try call(r, args).raw, y = try call(u, args).raw
            if args[0] == bytes("PTTL") || args[0] == bytes("OBJECT") {
                // Within a second either way.
                let p = Int(String(decoding: x.dropFirst().dropLast(2), as: UTF8.self)) ?? 0
                let q = Int(String(decoding: y.dropFirst().dropLast(2), as: UTF8.self)) ?? 0
                XCTAssertLessThan(abs(p - q), 1500, "\(args.map { RespEscape.escape($0) })")
                x = []; y = []
            }
            XCTAssertEqual(RespEscape.escape(y), RespEscape.escape(x), "\(args.map { RespEscape.escape($0, limit: 40) })")
        }
    }

    /// A payload body with a valid version-10 footer.
    static func withFooter(_ body: [UInt8]) -> [UInt8] {
        let b = body + [10, 0]
        let crc = CRC64.checksum(b)
        return b + withUnsafeBytes(of: crc.littleEndian) { Array($0) }
    }

    /// A BGSAVE that cannot rename its file (a directory is in the way) fails; with save
    /// points and stop-writes-on-bgsave-error, writes and PING then get -MISCONF, reads
    /// still work, and a good save clears it. Same replies as redis-server.
    func testFailedBgsaveStopsWritesWithMisconf() throws {
        var replies: [[String]] = []
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let (s, dir) = try start(kind, file: nil, extra: ["--save", "3600 1"])
            let c = try s.connect()
            // A first reply means start-up (and its load of the empty dir) is over.
            var out = [String(decoding: try call(c, "SET", "k", "v").raw, as: UTF8.self)]
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("dump.rdb"), withIntermediateDirectories: false)
            out.append(String(decoding: try call(c, "BGSAVE").raw, as: UTF8.self))
            var status = ""
            for _ in 0..<100 {
                let info = String(decoding: try call(c, "INFO", "persistence").payload ?? [], as: UTF8.self)
                if info.contains("rdb_bgsave_in_progress:0") && info.contains("rdb_last_bgsave_status:err") { status = "err"; break }
                usleep(50_000)
            }
            out.append(status)
            for cmd in [["SET", "k", "w"], ["PING"], ["GET", "k"], ["DEL", "k"], ["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"],
                        ["SET", "k", "x"], ["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"], ["INCR", "n"]] {
                try c.send(command: cmd)
                out.append(String(decoding: try c.readReply(), as: UTF8.self))
            }
            out.append(String(decoding: try call(c, "SAVE").raw, as: UTF8.self))  // fails too: "-ERR"
            try FileManager.default.removeItem(at: dir.appendingPathComponent("dump.rdb"))
            out.append(String(decoding: try call(c, "SAVE").raw, as: UTF8.self))
            out.append(String(decoding: try call(c, "SET", "k", "y").raw, as: UTF8.self))
            replies.append(out)
            s.stop()
        }
        XCTAssertEqual(replies[0][2], "err")
        XCTAssertTrue(replies[0][3].hasPrefix("-MISCONF"), replies[0][3])
        XCTAssertTrue(replies[0].contains("-ERR\r\n"), "\(replies[0])")
        XCTAssertEqual(replies[1], replies[0])
    }

    /// Under an LRU policy files carry IDLE, under an LFU one FREQ: RESTORE IDLETIME/FREQ
    /// set them, SAVE writes them, redis-server reads them back.
    func testIdleAndFreqTravelThroughFilesAndRestore() throws {
        for (policy, option, value, probe) in [("allkeys-lru", "IDLETIME", "1000", "IDLETIME"), ("allkeys-lfu", "FREQ", "50", "FREQ")] {
            let (uv, dir) = try start(.redisUV, file: nil, extra: ["--maxmemory-policy", policy])
            let (ref0, _) = try start(.redisServer, file: nil, extra: ["--maxmemory-policy", policy])
            let u = try uv.connect(), r0 = try ref0.connect()
            _ = try call(r0, "SET", "src", "hello")
            let payload = try call(r0, "DUMP", "src").payload!
            for c in [u, r0] {
                XCTAssertEqual(try call(c, [bytes("RESTORE"), bytes("k"), bytes("0"), payload, bytes(option), bytes(value)]).line, bytes("OK"))
            }
            let a = Int(String(decoding: try call(u, "OBJECT", probe, "k").line, as: UTF8.self)) ?? -1
            let b = Int(String(decoding: try call(r0, "OBJECT", probe, "k").line, as: UTF8.self)) ?? -1
            XCTAssertEqual(a, Int(value), policy)
            XCTAssertEqual(b, Int(value), policy)
            XCTAssertEqual(try call(u, "SAVE").line, bytes("OK"))
            let (ref, refDir) = try start(.redisServer, file: dir.appendingPathComponent("dump.rdb"), extra: ["--maxmemory-policy", policy])
            let rc = try ref.connect()
            let loaded = Int(String(decoding: try call(rc, "OBJECT", probe, "k").line, as: UTF8.self)) ?? -1
            XCTAssertLessThanOrEqual(abs(loaded - Int(value)!), 2, "\(policy): redis-server read \(loaded)")
            // And back: redis-server's file into redis-uv.
            XCTAssertEqual(try call(rc, "SAVE").line, bytes("OK"))
            let (uv2, _) = try start(.redisUV, file: refDir.appendingPathComponent("dump.rdb"), extra: ["--maxmemory-policy", policy])
            let back = Int(String(decoding: try call(try uv2.connect(), "OBJECT", probe, "k").line, as: UTF8.self)) ?? -1
            XCTAssertLessThanOrEqual(abs(back - Int(value)!), 2, "\(policy): redis-uv read \(back)")
        }
    }

    /// Changes made while the child writes stay counted after it succeeds (dirty minus
    /// dirty-at-fork); DEBUG RELOAD keeps every key and TTL; DEBUG RELOAD NOSAVE goes
    /// back to the file.
    func testDirtyCountAcrossBgsaveAndDebugReload() throws {
        let (uv, _) = try start(.redisUV, file: nil)
        let c = try uv.connect()
        _ = try call(c, "DEBUG", "POPULATE", "200000")
        for k in ["a", "b", "c"] { _ = try call(c, "SET", k, "1") }
        _ = try call(c, "PEXPIRE", "a", "100000")
        XCTAssertEqual(String(decoding: try call(c, "BGSAVE").line, as: UTF8.self), "Background saving started")
        for k in ["d", "e", "f", "g"] { _ = try call(c, "SET", k, "2") }
        var info = ""
        for _ in 0..<200 {
            info = String(decoding: try call(c, "INFO", "persistence").payload ?? [], as: UTF8.self)
            if info.contains("rdb_bgsave_in_progress:0") { break }
            usleep(20_000)
        }
        XCTAssertTrue(info.contains("rdb_last_bgsave_status:ok"), info)
        XCTAssertTrue(info.contains("rdb_changes_since_last_save:4"), info)
        XCTAssertEqual(try call(c, "DEBUG", "RELOAD").line, bytes("OK"))
        XCTAssertEqual(try call(c, "DBSIZE").line, bytes("200007"))
        let pttl = Int(String(decoding: try call(c, "PTTL", "a").line, as: UTF8.self)) ?? -9
        XCTAssertGreaterThan(pttl, 90_000)
        _ = try call(c, "SET", "after-save", "x")
        XCTAssertEqual(try call(c, "DEBUG", "RELOAD", "NOSAVE").line, bytes("OK"))
        XCTAssertEqual(try call(c, "EXISTS", "after-save").line, bytes("0"))
        XCTAssertEqual(try call(c, "GET", "g").payload, bytes("2"))
    }

    /// DEBUG RELOAD empties the keyspace as Redis's emptyData does, which invalidates
    /// every WATCH (signalFlushedDb) even though the same keys come back: compared with
    /// redis-server.
    func testDebugReloadInvalidatesWatch() throws {
        var transcripts: [[String]] = []
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let (s, _) = try start(kind, file: nil)
            let watcher = try s.connect(), other = try s.connect()
            var t: [String] = []
            func say(_ c: RespConnection, _ args: String...) throws {
                try c.send(command: args)
                t.append(String(decoding: try c.readReply(), as: UTF8.self))
            }
            try say(watcher, "SET", "k", "v")
            try say(watcher, "WATCH", "k")
            try say(other, "DEBUG", "RELOAD")
            try say(watcher, "MULTI")
            try say(watcher, "GET", "k")
            try say(watcher, "EXEC")
            try say(watcher, "GET", "k")
            transcripts.append(t)
        }
        XCTAssertEqual(transcripts[0], transcripts[1])
        XCTAssertEqual(transcripts[1][5], "*-1\r\n")
    }

    // MARK: start-up, shutdown, crash safety

    func testCorruptFileStopsStartupWithTheOffset() throws {
        var data = try Data(contentsOf: fixture("all-types.rdb"))
        data = data.prefix(5000)
        let d = try tempDir()
        try data.write(to: d.appendingPathComponent("dump.rdb"))
        // The port opens before the file is read (as Redis), so the server may be seen
        // up for a moment: either way it must exit non-zero with the offset in its log.
        do {
            let s = try ServerProcess.start(.redisUV, arguments: ["--dir", d.path], readyTimeout: 5)
            servers.append(s)
            let status = s.waitForExit(timeout: 10)
            XCTAssertNotNil(status)
            XCTAssertNotEqual(status, 0)
            let log = s.log
            XCTAssertTrue(log.contains("Internal error in RDB reading offset"), log)
            XCTAssertTrue(log.contains("Terminating server after rdb file reading failure."), log)
        } catch {
            let text = "\(error)"
            XCTAssertTrue(text.contains("Internal error in RDB reading offset"), text)
            XCTAssertTrue(text.contains("Terminating server after rdb file reading failure."), text)
        }
    }

    /// A file of `keys` DEBUG POPULATE keys written by redis-server.
    private func populatedFile(keys: Int) throws -> URL {
        let (gen, dir) = try start(.redisServer, file: nil)
        let c = try gen.connect()
        _ = try call(c, "DEBUG", "POPULATE", String(keys))
        XCTAssertEqual(try call(c, "SAVE").line, bytes("OK"))
        gen.stop()
        let file = try tempDir().appendingPathComponent("populated.rdb")
        try FileManager.default.copyItem(at: dir.appendingPathComponent("dump.rdb"), to: file)
        return file
    }

    /// While the file loads, both servers serve clients with -LOADING for commands without
    /// the `loading` flag, report loading:1, and a SHUTDOWN or SIGTERM then exits without
    /// saving the half-loaded dataset over the file (save points notwithstanding).
    func testClientsSeeLoadingStateAndShutdownWhileLoadingKeepsTheFile() throws {
        let file = try populatedFile(keys: 3000)
        let original = try Data(contentsOf: file)
        // 3000 keys x 1 ms: three seconds of loading, clients served every 1 KB of file.
        let slow = ["--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024", "--save", "3600 1"]
        var transcripts: [String: [String]] = [:]
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            for stopBy in ["SHUTDOWN", "SIGTERM"] {
                let (s, dir) = try start(kind, file: file, extra: slow)
                let c = try s.connect()
                var lines: [String] = []
                func say(_ args: String...) throws {
                    try c.send(command: args)
                    lines.append(args.joined(separator: " ") + " -> " + RespEscape.escape(try c.readReply()))
                }
                try say("PING")
                try say("GET", "key:1")
                try say("SET", "k", "v")
                try say("MULTI")
                try say("GET", "key:1")
                try say("EXEC")
                try say("CONFIG", "GET", "key-load*")
                try say("CONFIG", "GET", "key-load-delay")
                let info = String(decoding: try call(c, "INFO", "persistence").payload ?? [], as: UTF8.self)
                XCTAssertTrue(info.contains("loading:1\r\n"), "\(kind): \(info)")
                for field in ["loading_start_time:", "loading_total_bytes:\(original.count)\r\n", "loading_loaded_bytes:",
                              "loading_loaded_perc:", "loading_eta_seconds:", "loading_rdb_used_mem:"] {
                    XCTAssertTrue(info.contains(field), "\(kind) lacks \(field): \(info)")
                }
                if stopBy == "SHUTDOWN" {
                    try c.send(command: ["SHUTDOWN"])
                } else {
                    s.signal(SIGTERM)
                }
                XCTAssertEqual(s.waitForExit(timeout: 10), 0, "\(kind) \(stopBy): \(s.log)")
                XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent("dump.rdb")), original,
                               "\(kind) \(stopBy) while loading must not save")
                transcripts["\(kind) \(stopBy)"] = lines
            }
        }
        XCTAssertEqual(transcripts["redisUV SHUTDOWN"], transcripts["redisServer SHUTDOWN"])
        XCTAssertEqual(transcripts["redisUV SIGTERM"], transcripts["redisServer SIGTERM"])
        XCTAssertEqual(transcripts["redisUV SHUTDOWN"]?.first, "PING -> -LOADING Redis is loading the dataset in memory\\r\\n")
    }

    /// DEBUG RELOAD's options, side by side: NOSAVE loads the file as it is, NOFLUSH keeps
    /// the current keys, and MERGE lets the file's version of a key replace the current one.
    func testDebugReloadOptionsMatchRedisServer() throws {
        var transcripts: [[String]] = []
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let (s, _) = try start(kind, file: nil)
            let c = try s.connect()
            var lines: [String] = []
            func say(_ args: String...) throws {
                try c.send(command: args)
                lines.append(args.joined(separator: " ") + " -> " + RespEscape.escape(try c.readReply()))
            }
            try say("SET", "a", "1")
            try say("SET", "b", "2")
            try say("EXPIRE", "b", "1000")
            try say("SAVE")
            try say("SET", "a", "changed")
            try say("SET", "c", "3")
            try say("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE")
            try say("MGET", "a", "b", "c")
            try say("TTL", "b")
            try say("DBSIZE")
            try say("DEBUG", "RELOAD", "NOSAVE")
            try say("MGET", "a", "b", "c")
            try say("DEBUG", "RELOAD", "BOGUS")
            try say("SET", "d", "4")
            try say("DEBUG", "RELOAD")
            try say("DBSIZE")
            transcripts.append(lines)
        }
        XCTAssertEqual(transcripts[1], transcripts[0])
    }

    func testShutdownSavesWithSavePointsAndRestartKeepsData() throws {
        let d = try tempDir()
        let s1 = try ServerProcess.start(.redisUV, arguments: ["--dir", d.path, "--save", "3600 1"])
        servers.append(s1)
        let c = try s1.connect()
        _ = try call(c, "SET", "persisted", "yes")
        _ = try call(c, "RPUSH", "l", "1", "2")
        try c.send(command: ["SHUTDOWN"])
        XCTAssertEqual(s1.waitForExit(timeout: 10), 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: d.appendingPathComponent("dump.rdb").path))
        let s2 = try ServerProcess.start(.redisUV, arguments: ["--dir", d.path])
        servers.append(s2)
        let c2 = try s2.connect()
        XCTAssertEqual(try call(c2, "GET", "persisted").payload, bytes("yes"))
        XCTAssertEqual(try call(c2, "LLEN", "l").line, bytes("2"))
        // NOSAVE leaves the file as it was; FLUSHALL with save points saves an empty one.
        _ = try call(c2, "SET", "other", "1")
        try c2.send(command: ["SHUTDOWN", "NOSAVE"])
        XCTAssertEqual(s2.waitForExit(timeout: 10), 0)
        let s3 = try ServerProcess.start(.redisUV, arguments: ["--dir", d.path, "--save", "3600 1",
                                                                 "--enable-debug-command", "yes"])
        servers.append(s3)
        let c3 = try s3.connect()
        XCTAssertEqual(try call(c3, "DBSIZE").line, bytes("2"))
        XCTAssertEqual(try call(c3, "FLUSHALL").line, bytes("OK"))
        let (_, result) = try RDBFormatTests.loadFixture(Array(try Data(contentsOf: d.appendingPathComponent("dump.rdb"))))
        XCTAssertEqual(result.keysLoaded, 0)
        XCTAssertEqual(try call(c3, "DEBUG", "RELOAD").line, bytes("OK"))
    }

    func testKillDuringBgsaveLeavesThePreviousFileLoadable() throws {
        let (uv, dir) = try start(.redisUV, file: fixture("all-types.rdb"))
        let c = try uv.connect()
        // Enough data that the child is still writing when it is killed.
        _ = try call(c, "DEBUG", "POPULATE", "300000", "key", "100")
        let before = try Data(contentsOf: dir.appendingPathComponent("dump.rdb"))
        _ = try call(c, "CONFIG", "SET", "rdbcompression", "no")
        _ = try call(c, "BGSAVE")
        usleep(20_000)
        // The child is the only other process with the server as parent.
        let children = (try? String(contentsOfFile: "/proc/\(uv.pid)/task/\(uv.pid)/children", encoding: .utf8)) ?? ""
        for pid in children.split(separator: " ").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        uv.signal(SIGKILL)
        _ = uv.waitForExit(timeout: 5)
        let after = try Data(contentsOf: dir.appendingPathComponent("dump.rdb"))
        print("killed BGSAVE children: [\(children)]")
        if children.isEmpty {
            // The child had already finished: the new file must load.
            XCTAssertNoThrow(try RDBFormatTests.loadFixture(Array(after)))
        } else {
            XCTAssertEqual(after, before)
        }
        XCTAssertNoThrow(try RDBFormatTests.loadFixture(Array(after)))
    }
    // MARK: streams

    /// Every stream as the X* commands show it, one line per reply: XINFO STREAM (FULL),
    /// XRANGE, XREVRANGE, XINFO GROUPS, XPENDING summary and extended, XINFO CONSUMERS.
    /// Only idle times (now minus a stored time) are masked; seen and delivery times are
    /// compared as stored.
    private func streamSnapshot(_ c: RespConnection) throws -> [String] {
        var lines: [String] = []
        let keys = try call(c, "KEYS", "*").children.compactMap(\.payload).sorted { $0.lexicographicallyPrecedes($1) }
        for k in keys where try call(c, [bytes("TYPE"), k]).line == bytes("stream") {
            let name = RespEscape.escape(k)
            // `before` key `after`, as one line naming both.
            func raw(_ before: [String], _ after: [String] = []) throws -> String {
                let args = before.map(bytes) + [k] + after.map(bytes)
                return "\(name) \((before + after).joined(separator: " ")): " + RespEscape.escape(try call(c, args).raw)
            }
            lines.append(try raw(["XINFO", "STREAM"], ["FULL"]))
            lines.append(try raw(["XINFO", "STREAM"]))
            lines.append(try raw(["XINFO", "STREAM"], ["FULL", "COUNT", "3"]))
            lines.append(try raw(["XRANGE"], ["-", "+"]))
            lines.append(try raw(["XREVRANGE"], ["+", "-", "COUNT", "4"]))
            lines.append(try raw(["XLEN"]))
            let groups = try call(c, [bytes("XINFO"), bytes("GROUPS"), k])
            lines.append(name + " XINFO GROUPS: " + RespEscape.escape(groups.raw))
            for g in groups.children.compactMap({ $0.children.count > 1 ? $0.children[1].payload : nil }) {
                let gname = RespEscape.escape(g)
                lines.append("\(name) \(gname) XPENDING: " + RespEscape.escape(try call(c, [bytes("XPENDING"), k, g]).raw))
                let ext = try call(c, [bytes("XPENDING"), k, g, bytes("-"), bytes("+"), bytes("1000")])
                lines.append("\(name) \(gname) XPENDING -+: " + ext.children.map { e in
                    // id, consumer, idle (masked), deliveries
                    e.children.enumerated().map { $0.offset == 2 ? "idle" : RespEscape.escape($0.element.raw) }.joined(separator: ",")
                }.joined(separator: " "))
                let consumers = try call(c, [bytes("XINFO"), bytes("CONSUMERS"), k, g])
                lines.append("\(name) \(gname) XINFO CONSUMERS: " + consumers.children.map { e in
                    e.children.enumerated().map { i, v in
                        i > 0 && e.children[i - 1].payload == bytes("idle") ? "idle" : RespEscape.escape(v.raw)
                    }.joined(separator: ",")
                }.joined(separator: " "))
            }
        }
        return lines
    }

    /// DEBUG OBJECT's serializedlength (rdbSavedObjectLen) of every key of db 0.
    private func serializedLengths(_ c: RespConnection) throws -> [String] {
        try call(c, "KEYS", "*").children.compactMap(\.payload).sorted { $0.lexicographicallyPrecedes($1) }.map { k in
            let line = String(decoding: try call(c, [bytes("DEBUG"), bytes("OBJECT"), k]).line, as: UTF8.self)
            return RespEscape.escape(k) + " " + (line.split(separator: " ").first { $0.hasPrefix("serializedlength:") } ?? "none")
        }
    }

    /// Commands building streams the fixtures do not have, on a server of either kind.
    private func buildStreams(_ c: RespConnection) throws {
        _ = try call(c, "CONFIG", "SET", "stream-node-max-entries", "7")
        for i in 1...40 {
            _ = try call(c, "XADD", "uv:s", "\(100 + i)-\(i % 3)", "a", String(i), i % 5 == 0 ? "other" : "b", String(repeating: "x", count: i * 3))
        }
        _ = try call(c, "XDEL", "uv:s", "103-0", "110-1", "111-2", "140-1")
        _ = try call(c, "XTRIM", "uv:s", "MAXLEN", "33")
        _ = try call(c, "XGROUP", "CREATE", "uv:s", "g1", "0")
        _ = try call(c, "XGROUP", "CREATE", "uv:s", "g2", "120-0", "ENTRIESREAD", "12")
        _ = try call(c, "XREADGROUP", "GROUP", "g1", "c1", "COUNT", "4", "STREAMS", "uv:s", ">")
        _ = try call(c, "XREADGROUP", "GROUP", "g1", "c2", "COUNT", "6", "STREAMS", "uv:s", ">")
        _ = try call(c, "XREADGROUP", "GROUP", "g2", "c1", "STREAMS", "uv:s", ">")
        _ = try call(c, "XCLAIM", "uv:s", "g1", "c3", "0", "114-2", "115-0", "RETRYCOUNT", "9")
        _ = try call(c, "XACK", "uv:s", "g2", "125-2", "126-0")
        _ = try call(c, "XGROUP", "CREATE", "uv:empty", "g", "$", "MKSTREAM")
        _ = try call(c, "XADD", "uv:one", "*", "k", "-123456789012345")
        _ = try call(c, "CONFIG", "SET", "stream-node-max-entries", "100")
    }

    func testRedisServerStreamFilesLoadIdentically() throws {
        for name in ["streams.rdb", "streams-nocompress.rdb"] {
            let (ref, _) = try start(.redisServer, file: fixture(name))
            let (uv, _) = try start(.redisUV, file: fixture(name))
            let r = try ref.connect(), u = try uv.connect()
            let a = try streamSnapshot(r), b = try streamSnapshot(u)
            XCTAssertGreaterThan(a.count, 60)
            XCTAssertEqual(a.count, b.count, name)
            for (x, y) in zip(a, b) where x != y { XCTFail("\(name):\n  \(x.prefix(800))\n  \(y.prefix(800))") }
            let lengths = try serializedLengths(u)
            XCTAssertFalse(lengths.contains { $0.hasSuffix(" none") || $0.hasSuffix(":0") }, "\(lengths)")
            XCTAssertEqual(lengths, try serializedLengths(r), name)
            // DUMP payloads are the same bytes, also after appending to the loaded nodes
            // (a node fills up by the loaded listpack's size, as Redis's would).
            for round in 0..<2 {
                for k in try call(r, "KEYS", "*").children.compactMap(\.payload) {
                    XCTAssertEqual(try call(u, [bytes("DUMP"), k]).payload, try call(r, [bytes("DUMP"), k]).payload,
                                   "\(RespEscape.escape(k)) round \(round)")
                }
                for c in [r, u] {
                    _ = try call(c, "CONFIG", "SET", "stream-node-max-bytes", "700")
                    for i in 1...30 {
                        _ = try call(c, "XADD", "stream:nodes", "\(2000 + i)-0", "f", String(i), "g", String(repeating: "z", count: i))
                        _ = try call(c, "XADD", "stream:small", "\(10 + i)-0", "name", String(i))
                    }
                }
            }
        }
    }

    func testRedisUVStreamsLoadInRedisServer() throws {
        for version in ["10", "9"] {
            let (uv, dir) = try start(.redisUV, file: fixture("streams.rdb"), extra: ["--rdb-version", version])
            let u = try uv.connect()
            try buildStreams(u)
            XCTAssertEqual(try call(u, "SAVE").line, bytes("OK"))
            let file = dir.appendingPathComponent("dump.rdb")
            let check = try runRedisCheckRDB(file)
            XCTAssertTrue(check.contains("RDB looks OK"), check)
            let (ref, _) = try start(.redisServer, file: file)
            let b = try streamSnapshot(try ref.connect())
            // Version 10 keeps everything; version 9 (type 15) lacks the 7.0 counters, so
            // redis-server's derivation is compared with ours on the same file.
            let a = version == "10" ? try streamSnapshot(u) : try streamSnapshot(try start(.redisUV, file: file).0.connect())
            XCTAssertGreaterThan(a.count, 60)
            XCTAssertEqual(a.count, b.count, "version \(version)")
            for (x, y) in zip(a, b) where x != y { XCTFail("version \(version):\n  \(x.prefix(800))\n  \(y.prefix(800))") }
        }
    }

    private func runRedisCheckRDB(_ file: URL) throws -> String {
        // redis-check-rdb is installed beside redis-server.
        guard let server = TestEnvironment.redisServerBinary else { throw XCTSkip("no redis-server") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("redis-check-rdb")
        p.arguments = [file.path]
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self)
    }

    func testStreamDumpPayloadsRestoreAcrossServers() throws {
        let (ref, _) = try start(.redisServer, file: fixture("streams.rdb"))
        let (uv, _) = try start(.redisUV, file: fixture("streams.rdb"))
        let r = try ref.connect(), u = try uv.connect()
        try buildStreams(u)
        try buildStreams(r)
        // Streams the other server built by itself, and the fixture's, go both ways.
        let keys = try call(r, "KEYS", "*").children.compactMap(\.payload)
        XCTAssertEqual(keys.count, 10)
        for k in keys {
            let fromRef = try call(r, [bytes("DUMP"), k]).payload!
            let fromUV = try call(u, [bytes("DUMP"), k]).payload!
            XCTAssertEqual(try call(u, [bytes("RESTORE"), bytes("from-ref:") + k, bytes("0"), fromRef]).line, bytes("OK"))
            XCTAssertEqual(try call(r, [bytes("RESTORE"), bytes("from-uv:") + k, bytes("0"), fromUV]).line, bytes("OK"))
            XCTAssertEqual(try call(u, [bytes("RESTORE"), bytes("from-uv:") + k, bytes("0"), fromUV]).line, bytes("OK"))
            XCTAssertEqual(try call(r, [bytes("RESTORE"), bytes("from-ref:") + k, bytes("0"), fromRef]).line, bytes("OK"))
        }
        // Each server's copy of the other's stream shows what the other showed.
        let a = try streamSnapshot(r), b = try streamSnapshot(u)
        XCTAssertEqual(a.count, b.count)
        func only(_ prefix: String, _ l: [String]) -> [String] { l.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) } }
        XCTAssertEqual(only("from-uv:", a), only("from-uv:", b))
        XCTAssertEqual(only("from-ref:", a), only("from-ref:", b))
        // redis-server sees our payloads of the fixture's streams as it sees its own streams.
        XCTAssertEqual(only("from-uv:", a).filter { $0.hasPrefix("stream:") }, a.filter { $0.hasPrefix("stream:") })
        XCTAssertEqual(only("from-ref:", b).filter { $0.hasPrefix("stream:") }, b.filter { $0.hasPrefix("stream:") })
        // A stream payload with an empty node listpack is refused by both alike.
        var body: [UInt8] = [RDB.typeStreamListpacks2, 1, 16] + [UInt8](repeating: 0, count: 15) + [1]
        body += [7, 7, 0, 0, 0, 0, 0, 0xFF]  // a 7-byte listpack with no element
        body += [0, 1, 1, 1, 1, 0, 0, 0, 0, 0]  // length 0, last 1-1, first 1-1, max deleted 0-0, added 0, no groups
        let bad = Self.withFooter(body)
        let x = try call(r, [bytes("RESTORE"), bytes("bad"), bytes("0"), bad]).raw
        let y = try call(u, [bytes("RESTORE"), bytes("bad"), bytes("0"), bad]).raw
        XCTAssertEqual(RespEscape.escape(y), RespEscape.escape(x))
        XCTAssertEqual(x.first, UInt8(ascii: "-"))
        // RESTORE creating a stream wakes a reader blocked on that key (dbAdd signals it).
        var woken: [String] = []
        for server in [ref, uv] {
            let reader = try server.connect(), writer = try server.connect()
            let payload = try call(writer, "DUMP", "stream:small").payload!
            try reader.send(command: ["XREAD", "COUNT", "1", "BLOCK", "5000", "STREAMS", "restored", "$"])
            usleep(100_000)
            XCTAssertEqual(try call(writer, [bytes("RESTORE"), bytes("restored"), bytes("0"), payload]).line, bytes("OK"))
            woken.append(RespEscape.escape(try reader.readReply(timeout: 3)))
        }
        XCTAssertTrue(woken[0].contains("1-1"), woken[0])
        XCTAssertEqual(woken[1], woken[0])
    }

    /// Intsets DUMP to Redis's bytes: built by the same commands (the width only grows, so
    /// a set whose wide member left keeps its width), restored from Redis's payloads (the
    /// blob is kept as it is, not re-encoded at the smallest width), after COPY, and after
    /// DEBUG RELOAD (RDB save and load). An intset over set-max-intset-entries converts.
    func testIntsetDumpsMatchRedisServerBytes() throws {
        let (ref, _) = try start(.redisServer, file: nil)
        let (uv, _) = try start(.redisUV, file: nil)
        let r = try ref.connect(), u = try uv.connect()
        let script: [[String]] = [
            ["SADD", "i:16", "3", "1", "2", "-7"],
            ["SADD", "i:32", "1", "2", "100000"], ["SREM", "i:32", "100000"],
            ["SADD", "i:64", "-5", "7", "-5000000000"], ["SREM", "i:64", "-5000000000"],
            ["SADD", "i:64b", "9223372036854775807", "-9223372036854775808", "0"],
            ["SADD", "i:drop", "1", "70000"], ["SREM", "i:drop", "70000"], ["SADD", "i:drop", "3", "-2"],
            // A new set starts again at 16 bits; the source keeps its width.
            ["SINTERSTORE", "i:inter", "i:32", "i:16"], ["SMOVE", "i:64", "i:mv", "7"],
        ]
        for cmd in script {
            let x = try call(r, cmd.map(bytes)).raw
            let y = try call(u, cmd.map(bytes)).raw
            XCTAssertEqual(RespEscape.escape(y), RespEscape.escape(x), "\(cmd)")
        }
        let keys = ["i:16", "i:32", "i:64", "i:64b", "i:drop", "i:inter", "i:mv"]
        for k in keys {
            let a = try call(r, "DUMP", k).payload!
            XCTAssertEqual(try call(u, "DUMP", k).payload.map { RespEscape.escape($0) }, RespEscape.escape(a), "built \(k)")
            XCTAssertEqual(try call(u, [bytes("RESTORE"), bytes("r:" + k), bytes("0"), a]).line, bytes("OK"), k)
            XCTAssertEqual(try call(u, "DUMP", "r:" + k).payload.map { RespEscape.escape($0) }, RespEscape.escape(a), "restored \(k)")
            XCTAssertEqual(try call(u, "COPY", "r:" + k, "c:" + k).raw, bytes(":1\r\n"))
            XCTAssertEqual(try call(u, "DUMP", "c:" + k).payload.map { RespEscape.escape($0) }, RespEscape.escape(a), "copied \(k)")
        }
        XCTAssertEqual(try call(u, "DEBUG", "RELOAD").line, bytes("OK"))
        for k in keys {
            let a = try call(r, "DUMP", k).payload!
            for name in [k, "r:" + k, "c:" + k] {
                XCTAssertEqual(try call(u, "DUMP", name).payload.map { RespEscape.escape($0) }, RespEscape.escape(a), "reloaded \(name)")
            }
            XCTAssertEqual(String(decoding: try call(u, "OBJECT", "ENCODING", k).payload ?? [], as: UTF8.self), "intset")
        }
        // Over the limit a restored intset becomes a hashtable, as in Redis; members stay.
        let wide = try call(r, "DUMP", "i:32").payload!
        for c in [r, u] {
            _ = try call(c, "CONFIG", "SET", "set-max-intset-entries", "1")
            XCTAssertEqual(try call(c, [bytes("RESTORE"), bytes("small"), bytes("0"), wide]).line, bytes("OK"))
        }
        for cmd in [["OBJECT", "ENCODING", "small"], ["SCARD", "small"], ["SISMEMBER", "small", "2"], ["SISMEMBER", "small", "100000"]] {
            XCTAssertEqual(RespEscape.escape(try call(u, cmd.map(bytes)).raw), RespEscape.escape(try call(r, cmd.map(bytes)).raw), "\(cmd)")
        }
    }

    /// The same commands on both servers give streams whose DUMP payloads are the same
    /// bytes: our nodes encode to the listpacks Redis builds (integer and string element
    /// encodings, ID deltas, same-fields flags, tombstones, node splits by entries and by
    /// bytes, trims), and the counters follow.
    func testCommandBuiltStreamsDumpLikeRedisServer() throws {
        let (ref, _) = try start(.redisServer, file: nil)
        let (uv, _) = try start(.redisUV, file: nil)
        let values = ["0", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "8388607", "-8388609",
                      "2147483647", "2147483648", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
                      "007", "-0", "+1", "1e3", " 1", "", String(repeating: "s", count: 63), String(repeating: "m", count: 64),
                      String(repeating: "l", count: 4095), String(repeating: "L", count: 4096)]
        var script: [[String]] = [["CONFIG", "SET", "stream-node-max-entries", "5"]]
        for (i, v) in values.enumerated() {
            script.append(["XADD", "s:entries", "\(i * 1000)-\(i % 4 == 0 ? 9 : i)", "f", v, "g", String(i)])
            if i % 6 == 5 { script.append(["XADD", "s:entries", "\(i * 1000 + 1)-0", "other", v]) }
        }
        script += [["XDEL", "s:entries", "3000-3", "4000-9", "12000-9"],
                   ["XTRIM", "s:entries", "MAXLEN", "25"],
                   ["CONFIG", "SET", "stream-node-max-entries", "0"], ["CONFIG", "SET", "stream-node-max-bytes", "300"]]
        for i in 1...60 { script.append(["XADD", "s:bytes", "\(i)-\(i)", "field\(i % 3)", String(repeating: "v", count: i)]) }
        script += [["XTRIM", "s:bytes", "MINID", "~", "20"], ["XTRIM", "s:bytes", "MINID", "25"],
                   ["CONFIG", "SET", "stream-node-max-bytes", "4096"], ["CONFIG", "SET", "stream-node-max-entries", "100"],
                   ["XADD", "s:setid", "1-1", "a", "b"], ["XSETID", "s:setid", "9-9", "ENTRIESADDED", "12", "MAXDELETEDID", "5-5"],
                   ["XGROUP", "CREATE", "s:setid", "g1", "0"], ["XGROUP", "CREATE", "s:setid", "g0", "$", "ENTRIESREAD", "3"],
                   ["XGROUP", "CREATE", "s:entries", "g", "5000-0"],
                   ["XADD", "s:gone", "1-0", "x", "y"], ["XDEL", "s:gone", "1-0"],
                   ["XADD", "s:max", "18446744073709551615-18446744073709551614", "k", "v"],
                   ["XADD", "s:max", "18446744073709551615-18446744073709551615", "k", "w"],
                   // Counters at the top of their range wrap as Redis's long longs do.
                   ["XADD", "s:wrap", "1-1", "a", "b"], ["XSETID", "s:wrap", "1-1", "ENTRIESADDED", "9223372036854775807"],
                   ["XGROUP", "CREATE", "s:wrap", "g", "0", "ENTRIESREAD", "5"], ["XADD", "s:wrap", "2-1", "a", "b"],
                   ["XINFO", "GROUPS", "s:wrap"], ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s:wrap", ">"],
                   ["XINFO", "GROUPS", "s:wrap"], ["XLEN", "s:wrap"], ["DEL", "s:wrap"]]  // (times differ: not snapshotted)
        let r = try ref.connect(), u = try uv.connect()
        for cmd in script {
            let x = try call(r, cmd.map(bytes)).raw, y = try call(u, cmd.map(bytes)).raw
            XCTAssertEqual(RespEscape.escape(y), RespEscape.escape(x), "\(cmd.prefix(4))")
        }
        for k in ["s:entries", "s:bytes", "s:setid", "s:gone", "s:max"] {
            let a = try call(r, "DUMP", k).payload, b = try call(u, "DUMP", k).payload
            XCTAssertNotNil(a)
            XCTAssertEqual(b.map { RespEscape.escape($0) }, a.map { RespEscape.escape($0) }, k)
        }
        XCTAssertEqual(try streamSnapshot(u), try streamSnapshot(r))
    }
}
