import XCTest
import Foundation

/// XREAD / XREADGROUP BLOCK with several clients over real sockets: `$` woken by another
/// client's XADD, FIFO service, timeouts in RESP2 and RESP3, XREADGROUP `>` woken by
/// XADD, a consumer that crashes without acknowledging and whose entries another consumer
/// claims, and a client that disconnects while blocked. Each scenario runs against
/// redis-uv and, when installed, redis-server; the transcripts must be identical, and the
/// key replies are also asserted literally so the test fails without a reference too.
final class StreamBlockingTests: XCTestCase {
    private var servers: [ServerProcess] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers = []
        super.tearDown()
    }

    private func startServers() throws -> [ServerProcess] {
        var started = [try ServerProcess.start(.redisUV)]
        if TestEnvironment.redisServerBinary != nil { started.append(try ServerProcess.start(.redisServer)) }
        servers += started
        return started
    }

    private func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    /// Runs `scenario` on every server; the transcripts must agree with redis-server's.
    private func compareAcrossServers(_ scenario: (ServerProcess, inout [String]) throws -> Void) throws {
        var transcripts: [(String, [String])] = []
        for server in try startServers() {
            var t: [String] = []
            try scenario(server, &t)
            transcripts.append((server.kind.rawValue, t))
            XCTAssertTrue(server.isRunning, "\(server.kind.rawValue) died")
        }
        if transcripts.count == 2 {
            let (uvName, uv) = transcripts[0], (refName, ref) = transcripts[1]
            XCTAssertEqual(uv.count, ref.count, "\(uvName) vs \(refName): transcript lengths")
            for (i, (a, b)) in zip(uv, ref).enumerated() {
                XCTAssertEqual(a, b, "step \(i): \(uvName) vs \(refName)")
            }
        }
    }

    func testXreadDollarWokenByAnotherClientInArrivalOrder() throws {
        try compareAcrossServers { server, t in
            let first = try server.connect(), second = try server.connect(), third = try server.connect()
            let writer = try server.connect()
            t.append(text(try writer.call("XADD", "s", "1-0", "a", "1")))
            try first.send(command: ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
            try second.send(command: ["XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "other", "s", "$", "$"])
            try third.send(command: ["XREAD", "BLOCK", "5000", "STREAMS", "other", "$"])
            Thread.sleep(forTimeInterval: 0.1)
            // Two entries in one pipeline: both waiters on s see both (COUNT 1 caps one).
            try writer.send(command: ["XADD", "s", "2-0", "b", "2"])
            try writer.send(command: ["XADD", "s", "3-0", "c", "3"])
            t.append(text(try writer.readReply()))
            t.append(text(try writer.readReply()))
            let r1 = text(try first.readReply()), r2 = text(try second.readReply())
            t.append(r1)
            t.append(r2)
            XCTAssertTrue(r1.hasPrefix("*1\r\n*2\r\n$1\r\ns\r\n"), "\(server.kind.rawValue): \(r1)")
            XCTAssertTrue(r1.contains("2-0"), server.kind.rawValue)
            XCTAssertEqual(r2, "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n", server.kind.rawValue)
            // The third still waits on "other".
            XCTAssertThrowsError(try third.readReply(timeout: 0.2), server.kind.rawValue)
            t.append(text(try writer.call("XADD", "other", "9-9", "z", "z")))
            t.append(text(try third.readReply()))
        }
    }

    func testXreadTimeoutsInBothProtocols() throws {
        try compareAcrossServers { server, t in
            let c = try server.connect()
            var start = Date()
            let r = text(try c.call("XREAD", "BLOCK", "150", "STREAMS", "nokey", "$"))
            XCTAssertEqual(r, "*-1\r\n", server.kind.rawValue)
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.12, server.kind.rawValue)
            t.append(r)
            t.append(text(try c.call("XADD", "s", "5-0", "f", "v")))
            t.append(text(try c.call("XREAD", "BLOCK", "50", "STREAMS", "s", "$")))
            t.append(text(try c.call("XREAD", "BLOCK", "-5", "STREAMS", "s", "$")))
            t.append(text(try c.call("XREAD", "BLOCK", "1.5", "STREAMS", "s", "$")))
            _ = try c.call("HELLO", "3")
            start = Date()
            let r3 = text(try c.call("XREAD", "BLOCK", "100", "STREAMS", "s", "$"))
            XCTAssertEqual(r3, "_\r\n", server.kind.rawValue)
            t.append(r3)
            // Served in RESP3: a map keyed by stream name.
            let writer = try server.connect()
            try c.send(command: ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"])
            Thread.sleep(forTimeInterval: 0.05)
            t.append(text(try writer.call("XADD", "s", "6-0", "g", "w")))
            let served = text(try c.readReply())
            XCTAssertEqual(served, "%1\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n", server.kind.rawValue)
            t.append(served)
        }
    }

    func testXreadgroupBlockedOnNewEntriesWokenByXadd() throws {
        try compareAcrossServers { server, t in
            let alice = try server.connect(), bob = try server.connect(), writer = try server.connect()
            t.append(text(try writer.call("XGROUP", "CREATE", "jobs", "g", "$", "MKSTREAM")))
            try alice.send(command: ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "BLOCK", "0", "STREAMS", "jobs", ">"])
            try bob.send(command: ["XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "jobs", ">"])
            Thread.sleep(forTimeInterval: 0.1)
            t.append(text(try writer.call("XADD", "jobs", "1-0", "job", "a")))
            let a = text(try alice.readReply())
            XCTAssertEqual(a, "*1\r\n*2\r\n$4\r\njobs\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$3\r\njob\r\n$1\r\na\r\n", server.kind.rawValue)
            t.append(a)
            // Bob is still waiting: alice took the only entry.
            XCTAssertThrowsError(try bob.readReply(timeout: 0.2), server.kind.rawValue)
            t.append(text(try writer.call("XADD", "jobs", "2-0", "job", "b")))
            t.append(text(try bob.readReply()))
            t.append(text(try writer.call("XPENDING", "jobs", "g")))
            t.append(text(try writer.call("XINFO", "GROUPS", "jobs")))
            // XGROUP DESTROY wakes a group reader with an error.
            try alice.send(command: ["XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "jobs", ">"])
            Thread.sleep(forTimeInterval: 0.05)
            t.append(text(try writer.call("XGROUP", "DESTROY", "jobs", "g")))
            let err = text(try alice.readReply())
            XCTAssertEqual(err, "-NOGROUP the consumer group this client was blocked on no longer exists\r\n", server.kind.rawValue)
            t.append(err)
        }
    }

    func testCrashedConsumerEntriesAreClaimedByAnother() throws {
        try compareAcrossServers { server, t in
            let writer = try server.connect()
            t.append(text(try writer.call("XGROUP", "CREATE", "q", "workers", "0", "MKSTREAM")))
            for i in 1...4 { t.append(text(try writer.call("XADD", "q", "\(i)-0", "task", "t\(i)"))) }
            // The first worker reads three entries and dies without acknowledging.
            let crashed = try server.connect()
            t.append(text(try crashed.call("XREADGROUP", "GROUP", "workers", "w1", "COUNT", "3", "STREAMS", "q", ">")))
            crashed.close()
            // w2 acknowledges what it reads itself.
            let w2 = try server.connect()
            t.append(text(try w2.call("XREADGROUP", "GROUP", "workers", "w2", "STREAMS", "q", ">")))
            t.append(text(try w2.call("XACK", "q", "workers", "4-0")))
            // Nothing is idle long enough yet.
            t.append(text(try w2.call("XAUTOCLAIM", "q", "workers", "w2", "100000", "0")))
            Thread.sleep(forTimeInterval: 0.15)
            // Two claimed by XAUTOCLAIM (cursor at the third), one by XCLAIM.
            let auto = text(try w2.call("XAUTOCLAIM", "q", "workers", "w2", "100", "0", "COUNT", "2"))
            XCTAssertEqual(auto, "*3\r\n$3\r\n3-0\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$4\r\ntask\r\n$2\r\nt1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$4\r\ntask\r\n$2\r\nt2\r\n*0\r\n", server.kind.rawValue)
            t.append(auto)
            t.append(text(try w2.call("XCLAIM", "q", "workers", "w2", "100", "3-0", "JUSTID")))
            // An entry deleted while pending is dropped from the PEL and reported.
            t.append(text(try writer.call("XDEL", "q", "2-0")))
            t.append(text(try w2.call("XAUTOCLAIM", "q", "workers", "w3", "0", "0", "JUSTID")))
            t.append(text(try writer.call("XPENDING", "q", "workers")))
            // Delivery counts: 1-0 read once and claimed once; 3-0 claimed with JUSTID (no increment).
            let pending = try RespValue.parse(try writer.call("XPENDING", "q", "workers", "-", "+", "10"))
            let rows = pending.children.map { row in
                "\(text(row.children[0].payload ?? [])) \(text(row.children[1].payload ?? [])) \(row.children[3].integer ?? -1)"
            }
            XCTAssertEqual(rows, ["1-0 w3 2", "3-0 w3 1"], server.kind.rawValue)
            t.append(rows.joined(separator: ","))
            let consumers = try RespValue.parse(try writer.call("XINFO", "CONSUMERS", "q", "workers"))
            t.append(consumers.children.map { c in "\(text(c.children[1].payload ?? [])):\(c.children[3].integer ?? -1)" }.joined(separator: ","))
            t.append(text(try w2.call("XACK", "q", "workers", "1-0", "3-0")))
            t.append(text(try writer.call("XPENDING", "q", "workers")))
        }
    }

    func testClientDisconnectingWhileBlocked() throws {
        try compareAcrossServers { server, t in
            let gone = try server.connect(), waiter = try server.connect(), writer = try server.connect()
            t.append(text(try writer.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")))
            try gone.send(command: ["XREADGROUP", "GROUP", "g", "gone", "BLOCK", "0", "STREAMS", "s", ">"])
            Thread.sleep(forTimeInterval: 0.05)
            try waiter.send(command: ["XREADGROUP", "GROUP", "g", "waiter", "BLOCK", "0", "STREAMS", "s", ">"])
            Thread.sleep(forTimeInterval: 0.05)
            gone.close()
            Thread.sleep(forTimeInterval: 0.1)
            t.append(text(try writer.call("XADD", "s", "1-0", "f", "v")))
            let r = text(try waiter.readReply())
            XCTAssertEqual(r, "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n", server.kind.rawValue)
            t.append(r)
            t.append(text(try writer.call("XPENDING", "s", "g")))
            let info = text(try writer.call("INFO", "clients"))
            let blocked = info.split(separator: "\r\n").first { $0.hasPrefix("blocked_clients:") }.map(String.init) ?? "?"
            XCTAssertEqual(blocked, "blocked_clients:0", server.kind.rawValue)
            t.append(blocked)
        }
    }
}
