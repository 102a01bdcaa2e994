import Glibc
import Foundation
import XCTest

/// Blocking list commands with several real clients, over sockets. Every scenario runs
/// against the redis-uv binary and, when it is installed, against redis-server too: the
/// replies each scenario records must be the same bytes on both, and are also checked
/// against the expected bytes.
final class BlockingListTests: ServerPairTestCase {
    private func pause(_ ms: Int = 50) { usleep(useconds_t(ms * 1000)) }

    /// The `blocked_clients:` figure of INFO clients.
    private func blockedClients(_ c: RespConnection) throws -> String {
        let info = String(decoding: try RespValue.parse(try c.call("INFO", "clients")).payload ?? [], as: UTF8.self)
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("blocked_clients:") } ?? ""
        return String(line)
    }

    // MARK: scenarios

    func testFIFOOrderOfThreeClientsOnOneKey() throws {
        let t = try onEachServer { s, t in
            let waiters = try (0..<3).map { _ in try s.connect() }
            for w in waiters {
                try w.send(command: ["BRPOP", "queue", "0"])
                pause()
            }
            let pusher = try s.connect()
            t.record("push", try pusher.call("RPUSH", "queue", "first", "second", "third"))
            t.record("left", try pusher.call("LLEN", "queue"))
            for (i, w) in waiters.enumerated() { t.record("waiter \(i)", try w.readReply()) }
        }
        XCTAssertEqual(t["push"], ":3\r\n")
        XCTAssertEqual(t["left"], ":0\r\n")
        XCTAssertEqual(t["waiter 0"], "*2\r\n$5\r\nqueue\r\n$5\r\nthird\r\n")
        XCTAssertEqual(t["waiter 1"], "*2\r\n$5\r\nqueue\r\n$6\r\nsecond\r\n")
        XCTAssertEqual(t["waiter 2"], "*2\r\n$5\r\nqueue\r\n$5\r\nfirst\r\n")
    }

    /// A command sent (in a later packet) while the client is blocked runs once it is
    /// served: it waited in the query buffer, it was not dropped.
    func testCommandSentWhileBlockedRunsAfterServing() throws {
        let t = try onEachServer { s, t in
            let w = try s.connect()
            try w.send(command: ["BLPOP", "later-q", "0"])
            pause(100)
            try w.send(command: ["SET", "later-k", "2"])
            pause(100)
            let pusher = try s.connect()
            t.record("push", try pusher.call("RPUSH", "later-q", "a"))
            t.record("popped", try w.readReply())
            t.record("set", try w.readReply())
            t.record("get", try pusher.call("GET", "later-k"))
        }
        XCTAssertEqual(t["popped"], "*2\r\n$7\r\nlater-q\r\n$1\r\na\r\n")
        XCTAssertEqual(t["set"], "+OK\r\n")
        XCTAssertEqual(t["get"], "$1\r\n2\r\n")
    }

    func testTimeoutsGiveTheNullArrayOfEachProtocol() throws {
        let commands: [[String]] = [
            ["BLPOP", "none", "0.1"], ["BRPOP", "none", "none2", "0.1"], ["BLMOVE", "none", "dst", "LEFT", "RIGHT", "0.1"],
            ["BRPOPLPUSH", "none", "dst", "0.1"], ["BLMPOP", "0.1", "1", "none", "LEFT", "COUNT", "2"],
        ]
        let t = try onEachServer { s, t in
            let c2 = try s.connect(), c3 = try s.connect()
            _ = try c3.call("HELLO", "3")
            for (conn, proto) in [(c2, "RESP2"), (c3, "RESP3")] {
                for cmd in commands {
                    let start = Date()
                    try conn.send(command: cmd)
                    let reply = try conn.readReply(timeout: 3)
                    let elapsed = Date().timeIntervalSince(start)
                    XCTAssertGreaterThanOrEqual(elapsed, 0.095, "\(s.kind.rawValue) \(cmd[0]) returned too early")
                    XCTAssertLessThan(elapsed, 1.0, "\(s.kind.rawValue) \(cmd[0]) returned too late")
                    t.record("\(proto) \(cmd[0])", reply)
                }
            }
            t.record("nothing created", try c2.call("EXISTS", "none", "dst"))
        }
        for cmd in commands {
            XCTAssertEqual(t["RESP2 \(cmd[0])"], "*-1\r\n")
            XCTAssertEqual(t["RESP3 \(cmd[0])"], "_\r\n")
        }
        XCTAssertEqual(t["nothing created"], ":0\r\n")
    }

    func testZeroTimeoutWaitsAndAServedClientGetsNoLateTimeout() throws {
        let t = try onEachServer { s, t in
            let forever = try s.connect(), short = try s.connect(), other = try s.connect()
            try forever.send(command: ["BLPOP", "k0", "0"])
            try short.send(command: ["BLPOP", "k1", "0.3"])
            pause()
            t.record("push k1", try other.call("RPUSH", "k1", "now"))
            t.record("served", try short.readReply())
            // The served client's timer must not fire a second reply.
            t.record("after its timeout", try short.readAvailable(timeout: 0.5))
            t.record("forever still waiting", try forever.readAvailable(timeout: 0.2))
            t.record("push k0", try other.call("LPUSH", "k0", "late"))
            t.record("forever served", try forever.readReply())
        }
        XCTAssertEqual(t["served"], "*2\r\n$2\r\nk1\r\n$3\r\nnow\r\n")
        XCTAssertEqual(t["after its timeout"], "")
        XCTAssertEqual(t["forever still waiting"], "")
        XCTAssertEqual(t["forever served"], "*2\r\n$2\r\nk0\r\n$4\r\nlate\r\n")
    }

    func testTwoBlockedClientsAndOnePush() throws {
        let t = try onEachServer { s, t in
            let a = try s.connect(), b = try s.connect(), p = try s.connect()
            try a.send(command: ["BLPOP", "job", "0"])
            pause()
            try b.send(command: ["BLPOP", "job", "0"])
            pause()
            t.record("push", try p.call("RPUSH", "job", "only"))
            t.record("a", try a.readReply())
            t.record("b still blocked", try b.readAvailable(timeout: 0.3))
            t.record("blocked count", try blockedClients(p))
            t.record("second push", try p.call("RPUSH", "job", "next"))
            t.record("b", try b.readReply())
            t.record("blocked count after", try blockedClients(p))
        }
        XCTAssertEqual(t["a"], "*2\r\n$3\r\njob\r\n$4\r\nonly\r\n")
        XCTAssertEqual(t["b still blocked"], "")
        XCTAssertEqual(t["blocked count"], "blocked_clients:1")
        XCTAssertEqual(t["b"], "*2\r\n$3\r\njob\r\n$4\r\nnext\r\n")
        XCTAssertEqual(t["blocked count after"], "blocked_clients:0")
    }

    func testDisconnectWhileBlockedLosesNothing() throws {
        let t = try onEachServer { s, t in
            let gone = try s.connect(), p = try s.connect()
            try gone.send(command: ["BLPOP", "precious", "0"])
            try gone.send(command: ["BLMOVE", "precious", "elsewhere", "LEFT", "LEFT", "0"])
            pause()
            t.record("blocked", try blockedClients(p))
            gone.close()
            pause(150)
            t.record("after close", try blockedClients(p))
            t.record("push", try p.call("RPUSH", "precious", "keep-me"))
            pause(50)
            t.record("still there", try p.call("LRANGE", "precious", "0", "-1"))
            t.record("nothing moved", try p.call("EXISTS", "elsewhere"))
        }
        XCTAssertEqual(t["blocked"], "blocked_clients:1")
        XCTAssertEqual(t["after close"], "blocked_clients:0")
        XCTAssertEqual(t["still there"], "*1\r\n$7\r\nkeep-me\r\n")
        XCTAssertEqual(t["nothing moved"], ":0\r\n")
    }

    func testWakeUpByPushAndRename() throws {
        let t = try onEachServer { s, t in
            let w = try s.connect(), p = try s.connect()
            try w.send(command: ["BRPOP", "a", "b", "0"])
            pause()
            t.record("lpush b", try p.call("LPUSH", "b", "x", "y"))
            t.record("woken", try w.readReply())
            try w.send(command: ["BLPOP", "renamed", "0"])
            pause()
            _ = try p.call("RPUSH", "tmp", "r1", "r2")
            t.record("rename", try p.call("RENAME", "tmp", "renamed"))
            t.record("woken by rename", try w.readReply())
            t.record("rest", try p.call("LRANGE", "renamed", "0", "-1"))
        }
        XCTAssertEqual(t["woken"], "*2\r\n$1\r\nb\r\n$1\r\nx\r\n")
        XCTAssertEqual(t["woken by rename"], "*2\r\n$7\r\nrenamed\r\n$2\r\nr1\r\n")
        XCTAssertEqual(t["rest"], "*1\r\n$2\r\nr2\r\n")
    }

    func testBLMOVEChains() throws {
        let t = try onEachServer { s, t in
            let a = try s.connect(), b = try s.connect(), c = try s.connect(), p = try s.connect()
            try a.send(command: ["BLMOVE", "k1", "k2", "LEFT", "RIGHT", "0"])
            pause()
            try b.send(command: ["BLMOVE", "k2", "k3", "RIGHT", "LEFT", "0"])
            pause()
            try c.send(command: ["BLPOP", "k3", "0"])
            pause()
            t.record("push", try p.call("RPUSH", "k1", "travels"))
            t.record("a", try a.readReply())
            t.record("b", try b.readReply())
            t.record("c", try c.readReply())
            t.record("all empty", try p.call("EXISTS", "k1", "k2", "k3"))
            t.record("blocked", try blockedClients(p))
        }
        XCTAssertEqual(t["a"], "$7\r\ntravels\r\n")
        XCTAssertEqual(t["b"], "$7\r\ntravels\r\n")
        XCTAssertEqual(t["c"], "*2\r\n$2\r\nk3\r\n$7\r\ntravels\r\n")
        XCTAssertEqual(t["all empty"], ":0\r\n")
        XCTAssertEqual(t["blocked"], "blocked_clients:0")
    }

    func testClientUnblockTimeoutAndError() throws {
        let t = try onEachServer { s, t in
            let w = try s.connect(), admin = try s.connect()
            let idReply = try RespValue.parse(try w.call("CLIENT", "ID"))
            let id = String(idReply.integer ?? -1)
            t.record("not blocked", try admin.call("CLIENT", "UNBLOCK", id))
            try w.send(command: ["BLPOP", "u", "0"])
            pause()
            t.record("unblock timeout", try admin.call("CLIENT", "UNBLOCK", id, "TIMEOUT"))
            t.record("timeout reply", try w.readReply())
            try w.send(command: ["BLMOVE", "u", "v", "LEFT", "LEFT", "0"])
            pause()
            t.record("unblock error", try admin.call("CLIENT", "UNBLOCK", id, "ERROR"))
            t.record("error reply", try w.readReply())
            try w.send(command: ["BLMPOP", "0", "1", "u", "LEFT"])
            pause()
            t.record("bad reason", try admin.call("CLIENT", "UNBLOCK", id, "MAYBE"))
            t.record("unblock default", try admin.call("CLIENT", "UNBLOCK", id))
            t.record("default reply", try w.readReply())
            t.record("usable after", try w.call("PING"))
            t.record("blocked", try blockedClients(admin))
        }
        XCTAssertEqual(t["not blocked"], ":0\r\n")
        XCTAssertEqual(t["unblock timeout"], ":1\r\n")
        XCTAssertEqual(t["timeout reply"], "*-1\r\n")
        XCTAssertEqual(t["unblock error"], ":1\r\n")
        XCTAssertEqual(t["error reply"], "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n")
        XCTAssertEqual(t["bad reason"], "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n")
        XCTAssertEqual(t["default reply"], "*-1\r\n")
        XCTAssertEqual(t["usable after"], "+PONG\r\n")
        XCTAssertEqual(t["blocked"], "blocked_clients:0")
    }

    func testPipelinedCommandsRunAfterTheBlockedOneIsServed() throws {
        let t = try onEachServer { s, t in
            let w = try s.connect(), p = try s.connect()
            let pipeline = RespFraming.encodeCommand(["BLPOP", "pk", "0"].map { Array($0.utf8) })
                + RespFraming.encodeCommand(["LLEN", "pk"].map { Array($0.utf8) })
                + RespFraming.encodeCommand(["RPUSH", "other", "o"].map { Array($0.utf8) })
            try w.send(pipeline)
            pause()
            t.record("held back", try w.readAvailable(timeout: 0.2))
            t.record("other not yet written", try p.call("EXISTS", "other"))
            t.record("push", try p.call("RPUSH", "pk", "p1", "p2"))
            t.record("blpop", try w.readReply())
            t.record("llen", try w.readReply())
            t.record("rpush", try w.readReply())
        }
        XCTAssertEqual(t["held back"], "")
        XCTAssertEqual(t["other not yet written"], ":0\r\n")
        XCTAssertEqual(t["blpop"], "*2\r\n$2\r\npk\r\n$2\r\np1\r\n")
        XCTAssertEqual(t["llen"], ":1\r\n")
        XCTAssertEqual(t["rpush"], ":1\r\n")
    }

    func testInfoAndClientListShowBlockedClients() throws {
        let t = try onEachServer { s, t in
            let w1 = try s.connect(), w2 = try s.connect(), admin = try s.connect()
            t.record("none", try blockedClients(admin))
            try w1.send(command: ["BLPOP", "i1", "0"])
            try w2.send(command: ["BRPOPLPUSH", "i2", "i3", "0"])
            pause()
            t.record("two", try blockedClients(admin))
            let list = String(decoding: try RespValue.parse(try admin.call("CLIENT", "LIST")).payload ?? [], as: UTF8.self)
            let entries = list.split(separator: "\n").map { line in
                Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { field -> (String, String)? in
                    guard let eq = field.firstIndex(of: "=") else { return nil }
                    return (String(field[..<eq]), String(field[field.index(after: eq)...]))
                })
            }
            let flagged = entries.filter { $0["flags"] == "b" }.map { $0["cmd"] ?? "?" }.sorted()
            t.record("flag b", flagged.joined(separator: ","))
            t.record("admin flags", entries.first { $0["cmd"] == "client|list" }?["flags"] ?? "?")
            _ = try admin.call("RPUSH", "i1", "x")
            _ = try admin.call("RPUSH", "i2", "y")
            _ = try w1.readReply()
            _ = try w2.readReply()
            t.record("zero", try blockedClients(admin))
        }
        XCTAssertEqual(t["none"], "blocked_clients:0")
        XCTAssertEqual(t["two"], "blocked_clients:2")
        XCTAssertEqual(t["flag b"], "blpop,brpoplpush")
        XCTAssertEqual(t["admin flags"], "N")
        XCTAssertEqual(t["zero"], "blocked_clients:0")
    }

    /// INFO commandstats: a blocking command is one call whether it is served at once,
    /// after waiting, or times out; one ending in an error when served is a failed call.
    func testCommandStatsCountABlockingCommandOnce() throws {
        func stat(_ c: RespConnection, _ name: String) throws -> String {
            let info = String(decoding: try RespValue.parse(try c.call("INFO", "commandstats")).payload ?? [], as: UTF8.self)
            guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(name):") }) else { return "none" }
            // calls=N,usec=...,rejected_calls=N,failed_calls=N: the counts only.
            return line.split(separator: ",").filter { !$0.contains("usec") }.joined(separator: ",")
        }
        let t = try onEachServer { s, t in
            let w = try s.connect(), p = try s.connect()
            _ = try p.call("CONFIG", "RESETSTAT")
            try w.send(command: ["BLPOP", "s1", "0"])
            pause()
            _ = try p.call("RPUSH", "s1", "a")
            _ = try w.readReply()
            _ = try w.call("BLPOP", "s1", "0.05")
            _ = try p.call("RPUSH", "s1", "b")
            _ = try w.call("BLPOP", "s1", "0")
            t.record("blpop", try stat(p, "blpop"))
            try w.send(command: ["BLMOVE", "s2", "s3", "LEFT", "LEFT", "0"])
            pause()
            _ = try p.call("SET", "s3", "string")
            _ = try p.call("RPUSH", "s2", "c")
            t.record("wrongtype", try w.readReply())
            t.record("blmove", try stat(p, "blmove"))
        }
        XCTAssertEqual(t["blpop"], "cmdstat_blpop:calls=3,rejected_calls=0,failed_calls=0")
        XCTAssertEqual(t["blmove"], "cmdstat_blmove:calls=1,rejected_calls=0,failed_calls=1")
    }

    /// A burst: many clients parked on a few keys, many pushes; every element is
    /// delivered exactly once and none is left behind.
    func testManyClientsEveryElementDeliveredOnce() throws {
        let t = try onEachServer { s, t in
            let waiters = try (0..<30).map { _ in try s.connect() }
            for (i, w) in waiters.enumerated() {
                try w.send(command: [i % 2 == 0 ? "BLPOP" : "BRPOP", "q\(i % 3)", "q\((i + 1) % 3)", "0"])
            }
            pause(100)
            let p = try s.connect()
            for i in 0..<30 { _ = try p.call("RPUSH", "q\(i % 3)", "e\(i)") }
            var got: [String] = []
            for w in waiters {
                let v = try RespValue.parse(try w.readReply())
                got.append(String(decoding: v.children.last?.payload ?? [], as: UTF8.self))
            }
            t.record("delivered", got.sorted().joined(separator: ","))
            t.record("left", try p.call("EXISTS", "q0", "q1", "q2"))
            t.record("blocked", try blockedClients(p))
        }
        XCTAssertEqual(t["delivered"], (0..<30).map { "e\($0)" }.sorted().joined(separator: ","))
        XCTAssertEqual(t["left"], ":0\r\n")
        XCTAssertEqual(t["blocked"], "blocked_clients:0")
    }
}
