import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// The multi-part AOF against real processes, with the real redis-server 7.0 as the
/// oracle: the same directory layout and manifests, each server loading what the other
/// wrote (RDB-preamble and command bases), kill -9 durability with appendfsync always,
/// truncated tails, the old single-file upgrade, BGREWRITEAOF, and CONFIG SET appendonly.
final class AOFIntegrationTests: ReplicationTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
    }

    private func aofServer(_ kind: ServerProcess.Kind, dir: URL, _ extra: [String] = []) throws -> ServerProcess {
        try startServer(kind, ["--dir", dir.path, "--appendonly", "yes", "--enable-debug-command", "yes"] + extra)
    }

    /// A connection once the server is done loading (PING answers PONG, not -LOADING).
    private func loadedConnection(_ s: ServerProcess) throws -> RespConnection {
        let c = try s.connect(timeout: 30)
        try waitUntil("\(s.kind) loaded") { String(decoding: try call(c, "PING").raw, as: UTF8.self) == "+PONG\r\n" }
        return c
    }

    private func file(_ dir: URL, _ name: String) -> String {
        (try? String(contentsOf: dir.appendingPathComponent("appendonlydir").appendingPathComponent(name), encoding: .utf8)) ?? "<missing>"
    }

    private func listing(_ dir: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("appendonlydir").path)) ?? []).sorted()
    }

    /// Writes data of every type, rewrites once (a base with data), writes more (the incr).
    private func fill(_ s: ServerProcess) throws {
        let c = try s.connect(timeout: 30)
        defer { c.close() }
        try writeInitialData(c)
        XCTAssertEqual(String(decoding: try call(c, "BGREWRITEAOF").raw, as: UTF8.self), "+Background append only file rewriting started\r\n")
        try waitUntil("the rewrite done") { try info(c, "aof_rewrite_in_progress", section: "persistence") == "0" }
        try writeStream(s, c)
    }

    private func snapshot(_ s: ServerProcess) throws -> [String] {
        let c = try s.connect(timeout: 30)
        defer { c.close() }
        // A server accepts connections while it still loads (-LOADING): wait for the data.
        try waitUntil("\(s.kind) loaded") { String(decoding: try call(c, "PING").raw, as: UTF8.self) == "+PONG\r\n" }
        return try dataset(c).lines
    }

    /// The files each server makes, step by step, are named and listed the same.
    func testLayoutAndManifestsMatchRedisServer() throws {
        func steps(_ kind: ServerProcess.Kind) throws -> [String] {
            let dir = try tempDir()
            let s = try aofServer(kind, dir: dir)
            let c = try s.connect()
            defer { c.close() }
            try call(c, "PING")  // (both serve commands only once the files are in place)
            var seen = ["start: \(listing(dir)) \(file(dir, "appendonly.aof.manifest"))"]
            try call(c, "SET", "k", "v")
            try call(c, "BGREWRITEAOF")
            try waitUntil("rewrite") { try info(c, "aof_rewrite_in_progress", section: "persistence") == "0" && listing(dir).count == 3 }
            seen.append("rewrite: \(listing(dir)) \(file(dir, "appendonly.aof.manifest"))")
            try call(c, "CONFIG", "SET", "appendonly", "no")
            try call(c, "SET", "after-off", "1")
            seen.append("off: \(try info(c, "aof_enabled", section: "persistence") ?? "?")")
            try call(c, "CONFIG", "SET", "appendonly", "yes")
            try waitUntil("re-enabled") { try info(c, "aof_rewrite_in_progress", section: "persistence") == "0" && info(c, "aof_enabled", section: "persistence") == "1" && listing(dir).count == 3 }
            seen.append("on again: \(listing(dir)) \(file(dir, "appendonly.aof.manifest"))")
            return seen
        }
        let expected = try steps(.redisServer)
        XCTAssertEqual(try steps(.redisUV), expected)
    }

    /// redis-uv's directory (RDB-preamble base + incr) loads in redis-server with the
    /// same data, and redis-server's loads in redis-uv; also with command bases.
    private func crossLoad(writer: ServerProcess.Kind, reader: ServerProcess.Kind, preamble: Bool) throws {
        let dir = try tempDir()
        let extra = ["--aof-use-rdb-preamble", preamble ? "yes" : "no"]
        let w = try aofServer(writer, dir: dir, extra)
        try fill(w)
        let before = try snapshot(w)
        XCTAssertGreaterThan(before.count, 20)
        let wc = try w.connect()
        try wc.send(command: ["SHUTDOWN", "NOSAVE"])
        XCTAssertNotNil(w.waitForExit(timeout: 10))
        wc.close()
        if let keep = TestEnvironment.environment["AOF_DEBUG_COPY"] {
            let path = keep + "-\(writer.rawValue)-\(preamble)"
            _ = try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.copyItem(atPath: dir.path, toPath: path)
        }
        let r = try aofServer(reader, dir: dir, extra)
        let after = try snapshot(r)
        XCTAssertEqual(after.count, before.count, "\(writer) -> \(reader) preamble=\(preamble): files \(listing(dir)), manifest \(file(dir, "appendonly.aof.manifest"))\nwriter log:\n\(w.log)\nreader log:\n\(r.log)")
        for (a, b) in zip(before, after) where a != b { XCTFail("\(writer) -> \(reader): \(a.prefix(200)) vs \(b.prefix(200))") }
    }

    func testRedisServerLoadsOurFilesAndWeLoadItsFiles() throws {
        for preamble in [true, false] {
            try crossLoad(writer: .redisUV, reader: .redisServer, preamble: preamble)
            try crossLoad(writer: .redisServer, reader: .redisUV, preamble: preamble)
        }
    }

    /// appendfsync always: every acknowledged write survives kill -9.
    func testKill9LosesNoAcknowledgedWriteWithAppendfsyncAlways() throws {
        let dir = try tempDir()
        let s = try aofServer(.redisUV, dir: dir, ["--appendfsync", "always"])
        let c = try s.connect()
        var acked = 0
        let deadline = Date().addingTimeInterval(1.5)
        // Pipelined INCRs; every reply read counts as acknowledged.
        while Date() < deadline {
            for _ in 0..<50 { try c.send(command: ["INCR", "counter"]) }
            for _ in 0..<50 { _ = try c.readReply(timeout: 10); acked += 1 }
            try c.send(command: ["RPUSH", "log", String(acked)])
            _ = try c.readReply(timeout: 10)
        }
        for _ in 0..<50 { try c.send(command: ["INCR", "counter"]) }  // in flight when killed
        s.signal(SIGKILL)
        XCTAssertNotNil(s.waitForExit(timeout: 10))
        c.close()
        let r = try aofServer(.redisUV, dir: dir, ["--appendfsync", "always"])
        let rc = try loadedConnection(r)
        defer { rc.close() }
        let counter = Int(String(decoding: try call(rc, "GET", "counter").payload ?? [], as: UTF8.self)) ?? -1
        XCTAssertGreaterThanOrEqual(counter, acked)
        XCTAssertLessThanOrEqual(counter, acked + 50)
        XCTAssertEqual(try call(rc, "LINDEX", "log", "-1").text, String(acked))
    }

    /// appendfsync everysec under kill -9: at most about the last second or two of
    /// acknowledged writes may be missing (Redis's bound), and nothing is half-applied.
    func testKill9WithEverysecLosesAtMostTheLastSeconds() throws {
        let dir = try tempDir()
        let s = try aofServer(.redisUV, dir: dir, ["--appendfsync", "everysec"])
        let c = try s.connect()
        var acked = 0
        let t0 = Date()
        while Date().timeIntervalSince(t0) < 2 {
            for _ in 0..<50 { try c.send(command: ["MULTI"]); try c.send(command: ["INCR", "a"]); try c.send(command: ["INCR", "b"]); try c.send(command: ["EXEC"]) }
            for _ in 0..<200 { _ = try c.readReply(timeout: 10) }
            acked += 50
        }
        let rate = Double(acked) / Date().timeIntervalSince(t0)
        s.signal(SIGKILL)
        XCTAssertNotNil(s.waitForExit(timeout: 10))
        c.close()
        let r = try aofServer(.redisUV, dir: dir)
        let rc = try loadedConnection(r)
        defer { rc.close() }
        let a = Int(try call(rc, "GET", "a").text ?? "") ?? -1
        let b = Int(try call(rc, "GET", "b").text ?? "") ?? -2
        XCTAssertEqual(a, b, "a transaction is all or nothing")
        XCTAssertGreaterThanOrEqual(Double(a), Double(acked) - 2.5 * rate, "acked \(acked)")
        XCTAssertLessThanOrEqual(a, acked)
    }

    /// kill -9 while a rewrite child writes a new base: the directory still loads, with
    /// everything; DEBUG LOADAOF reloads it in place.
    func testCrashDuringRewriteLeavesALoadableDirectory() throws {
        let dir = try tempDir()
        let s = try aofServer(.redisUV, dir: dir, ["--rdb-key-save-delay", "20000"])
        let c = try s.connect()
        for i in 0..<200 { try call(c, "SET", "k\(i)", String(i)) }
        XCTAssertEqual(try raw(c, "BGREWRITEAOF"), "+Background append only file rewriting started\r\n")
        for i in 0..<50 { try call(c, "SET", "late\(i)", String(i)) }
        XCTAssertEqual(try info(c, "aof_rewrite_in_progress", section: "persistence"), "1")
        let expected = try snapshot(s)
        s.signal(SIGKILL)
        XCTAssertNotNil(s.waitForExit(timeout: 10))
        c.close()
        let r = try aofServer(.redisUV, dir: dir)
        XCTAssertEqual(try snapshot(r), expected)
        let rc = try loadedConnection(r)
        defer { rc.close() }
        try call(rc, "SET", "after", "1")
        XCTAssertEqual(try raw(rc, "DEBUG", "LOADAOF"), "+OK\r\n")
        XCTAssertEqual(try call(rc, "DBSIZE").integer, 251)
        XCTAssertTrue(r.log.contains("Append Only File loaded by DEBUG LOADAOF"))
    }

    /// A script's and a function's effects are in the AOF as their writes in MULTI/EXEC
    /// (never EVAL itself), and redis-server replays them to the same data.
    func testScriptEffectsReplayInRedisServer() throws {
        let dir = try tempDir()
        let s = try aofServer(.redisUV, dir: dir)
        let c = try s.connect()
        try call(c, "EVAL", "redis.call('set', KEYS[1], ARGV[1]); redis.call('incrby', KEYS[2], 5); return redis.call('rpush', KEYS[3], 'x', 'y')", "3", "s1", "s2", "s3", "v")
        try call(c, "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)")
        try call(c, "FCALL", "bump", "1", "f1")
        try call(c, "FCALL", "bump", "1", "f1")
        let expected = try snapshot(s)
        try c.send(command: ["SHUTDOWN", "NOSAVE"])
        XCTAssertNotNil(s.waitForExit(timeout: 10))
        c.close()
        let incr = file(dir, "appendonly.aof.1.incr.aof")
        XCTAssertTrue(incr.contains("MULTI") && incr.contains("incrby") && incr.contains("FUNCTION"), incr)
        XCTAssertFalse(incr.contains("EVAL") || incr.contains("FCALL"), incr)
        let r = try aofServer(.redisServer, dir: dir)
        XCTAssertEqual(try snapshot(r), expected)
        let rc = try loadedConnection(r)
        defer { rc.close() }
        XCTAssertEqual(try call(rc, "FCALL", "bump", "1", "f1").integer, 3, "the library came through too")
    }

    /// A command cut short at the end of the last file: loaded without it (yes), or the
    /// server refuses to start (no), with Redis's log lines; an unfinished MULTI is dropped.
    func testTruncatedTailAndUnfinishedTransaction() throws {
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let dir = try tempDir()
            let s = try aofServer(kind, dir: dir)
            let c = try s.connect()
            try call(c, "SET", "whole", "1")
            try c.send(command: ["SHUTDOWN", "NOSAVE"])
            XCTAssertNotNil(s.waitForExit(timeout: 10))
            c.close()
            let incr = dir.appendingPathComponent("appendonlydir/appendonly.aof.1.incr.aof")
            let h = try FileHandle(forWritingTo: incr)
            h.seekToEndOfFile()
            h.write(Data("*3\r\n$3\r\nSET\r\n$4\r\ncut".utf8))
            try h.close()
            let ok = try aofServer(kind, dir: dir)
            let oc = try loadedConnection(ok)
            XCTAssertEqual(try call(oc, "GET", "whole").text, "1", "\(kind)")
            XCTAssertEqual(try call(oc, "DBSIZE").integer, 1)
            XCTAssertTrue(ok.log.contains("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"), ok.log)
            // An unfinished transaction is reverted.
            try oc.send(command: ["SHUTDOWN", "NOSAVE"])
            XCTAssertNotNil(ok.waitForExit(timeout: 10))
            oc.close()
            let h2 = try FileHandle(forWritingTo: incr)
            h2.seekToEndOfFile()
            h2.write(Data("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$2\r\ntx\r\n$1\r\n1\r\n".utf8))
            try h2.close()
            let tx = try aofServer(kind, dir: dir)
            let tc = try loadedConnection(tx)
            XCTAssertEqual(try call(tc, "EXISTS", "tx").integer, 0, "\(kind)")
            XCTAssertTrue(tx.log.contains("Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof"), tx.log)
            try tc.send(command: ["SHUTDOWN", "NOSAVE"])
            XCTAssertNotNil(tx.waitForExit(timeout: 10))
            tc.close()
            // aof-load-truncated no: start-up stops.
            let h3 = try FileHandle(forWritingTo: incr)
            h3.seekToEndOfFile()
            h3.write(Data("*2\r\n$3\r\nDEL".utf8))
            try h3.close()
            // (It may accept a connection while it loads, then exit.)
            if let bad = try? aofServer(kind, dir: dir, ["--aof-load-truncated", "no"]) {
                XCTAssertNotNil(bad.waitForExit(timeout: 10), "\(kind) refuses to start")
                XCTAssertTrue(bad.log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof."), bad.log)
            }
        }
    }

    /// A replica with appendonly yes starts its AOF again after a full sync (the old files
    /// described another dataset) and appends its master's stream: restarted alone from
    /// its AOF, it has the master's data.
    func testReplicaAOFAfterFullSyncHoldsTheMastersData() throws {
        for masterKind in [ServerProcess.Kind.redisServer, .redisUV] {
            let master = try startServer(masterKind, ["--repl-diskless-sync-delay", "0"])
            let mc = try master.connect()
            defer { mc.close() }
            try writeInitialData(mc)
            let dir = try tempDir()
            let replica = try aofServer(.redisUV, dir: dir, ["--replicaof", "127.0.0.1 \(master.port)"])
            try waitInSync(master, replica)
            let rc = try replica.connect()
            try waitUntil("the replica's AOF rewrite after the sync") {
                try info(rc, "aof_rewrite_in_progress", section: "persistence") == "0"
                    && info(rc, "aof_rewrites", section: "persistence") == "1"
            }
            try call(mc, "SET", "after-sync", "streamed")
            try waitInSync(master, replica)
            let expected = try snapshot(master)
            rc.close()
            replica.signal(SIGKILL)
            XCTAssertNotNil(replica.waitForExit(timeout: 10))
            let alone = try aofServer(.redisUV, dir: dir)
            XCTAssertEqual(try snapshot(alone), expected, "replica of \(masterKind)")
        }
    }

    /// A Redis ≤ 6 single appendonly.aof is moved into the directory as the base.
    func testOldSingleFileIsMigrated() throws {
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let dir = try tempDir()
            try Data("*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$3\r\nyes\r\n".utf8).write(to: dir.appendingPathComponent("appendonly.aof"))
            let s = try aofServer(kind, dir: dir)
            let c = try loadedConnection(s)
            defer { c.close() }
            XCTAssertEqual(try call(c, "GET", "old").text, "yes")
            XCTAssertEqual(file(dir, "appendonly.aof.manifest"), "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", "\(kind)")
            XCTAssertTrue(s.log.contains("Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir)."), s.log)
        }
    }
}
