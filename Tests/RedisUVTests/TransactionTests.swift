import Glibc
import Foundation
import XCTest

/// MULTI/EXEC with several real clients, over sockets. Each scenario runs against the
/// redis-uv binary and, when installed, against redis-server: the replies each scenario
/// records must be the same bytes on both, and are also checked against expected bytes.
final class TransactionTests: ServerPairTestCase {
    override var serverArguments: [String] { ["--enable-debug-command", "yes"] }

    private func pause(_ ms: Int = 50) { usleep(useconds_t(ms * 1000)) }

    private func encode(_ commands: [[String]]) -> [UInt8] {
        commands.flatMap { RespFraming.encodeCommand($0.map { Array($0.utf8) }) }
    }

    /// Reads `n` replies.
    private func read(_ c: RespConnection, _ n: Int, timeout: TimeInterval = 10) throws -> [[UInt8]] {
        try (0..<n).map { _ in try c.readReply(timeout: timeout) }
    }

    // MARK: scenarios

    /// Another client pipelines thousands of writes to the same key while transactions
    /// run: no write of it may land between the commands of one EXEC.
    func testExecIsAtomicUnderAConcurrentWriter() throws {
        let incrs = 50, transactions = 40, hammer = 20_000
        var txn: [[String]] = [["MULTI"], ["SET", "k", "0"]]
        txn += Array(repeating: ["INCR", "k"], count: incrs)
        txn += [["GET", "k"], ["EXEC"]]
        let expectedExec = "*\(incrs + 2)\r\n+OK\r\n"
            + (1...incrs).map { ":\($0)\r\n" }.joined() + "$\(String(incrs).count)\r\n\(incrs)\r\n"
        let t = try onEachServer { s, t in
            let writer = try s.connect(), txnClient = try s.connect()
            let hammerBytes = encode(Array(repeating: ["INCRBY", "k", "1000"], count: hammer))
            let txnBytes = encode(txn)
            // Interleave the two streams in chunks, so both sockets have input pending
            // while transactions are being queued and executed.
            let chunk = hammerBytes.count / transactions
            for i in 0..<transactions {
                try writer.send(Array(hammerBytes[(i * chunk)..<((i + 1) * chunk)]))
                try txnClient.send(txnBytes)
            }
            try writer.send(Array(hammerBytes[(transactions * chunk)...]))
            var intact = 0
            for _ in 0..<transactions {
                let replies = try read(txnClient, txn.count, timeout: 20)
                if String(decoding: replies.last!, as: UTF8.self) == expectedExec { intact += 1 }
            }
            let writerReplies = try read(writer, hammer, timeout: 20)
            t.record("intact transactions", "\(intact)")
            t.record("writer errors", "\(writerReplies.filter { $0.first == UInt8(ascii: "-") }.count)")
        }
        XCTAssertEqual(t["intact transactions"], "\(transactions)")
        XCTAssertEqual(t["writer errors"], "0")
    }

    /// A client blocked in BLPOP on a key the transaction pushes to is served after
    /// EXEC, not in the middle of it: the transaction sees its own pushes intact.
    func testExecWakesAClientBlockedOnAKeyItFilled() throws {
        let t = try onEachServer { s, t in
            let blocked = try s.connect(), txn = try s.connect()
            try blocked.send(command: ["BLPOP", "q", "0"])
            pause()
            t.record("multi", try txn.call("MULTI"))
            t.record("rpush 1", try txn.call("RPUSH", "q", "a"))
            t.record("rpush 2", try txn.call("RPUSH", "q", "b"))
            t.record("llen", try txn.call("LLEN", "q"))
            t.record("exec", try txn.call("EXEC"))
            t.record("woken", try blocked.readReply(timeout: 5))
            t.record("left", try txn.call("LRANGE", "q", "0", "-1"))
        }
        XCTAssertEqual(t["rpush 1"], "+QUEUED\r\n")
        XCTAssertEqual(t["exec"], "*3\r\n:1\r\n:2\r\n:2\r\n")
        XCTAssertEqual(t["woken"], "*2\r\n$1\r\nq\r\n$1\r\na\r\n")
        XCTAssertEqual(t["left"], "*1\r\n$1\r\nb\r\n")
    }

    /// BLMOVE and BZPOPMIN parked on other clients are served after EXEC as well.
    func testExecWakesBlockedMoveAndZsetPop() throws {
        let t = try onEachServer { s, t in
            let mover = try s.connect(), zpopper = try s.connect(), txn = try s.connect()
            try mover.send(command: ["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"])
            try zpopper.send(command: ["BZPOPMIN", "z", "0"])
            pause()
            _ = try txn.call("MULTI")
            _ = try txn.call("RPUSH", "src", "x")
            _ = try txn.call("ZADD", "z", "1", "m")
            _ = try txn.call("LLEN", "src")
            t.record("exec", try txn.call("EXEC"))
            t.record("mover", try mover.readReply(timeout: 5))
            t.record("zpopper", try zpopper.readReply(timeout: 5))
            t.record("dst", try txn.call("LRANGE", "dst", "0", "-1"))
        }
        XCTAssertEqual(t["exec"], "*3\r\n:1\r\n:1\r\n:1\r\n")
        XCTAssertEqual(t["mover"], "$1\r\nx\r\n")
        XCTAssertEqual(t["zpopper"], "*3\r\n$1\r\nz\r\n$1\r\nm\r\n$1\r\n1\r\n")
    }

    /// A client that disconnects in the middle of MULTI, with keys watched, leaves
    /// nothing behind: later writes to those keys (which would reach its watch entries)
    /// and other clients' transactions on them work, and the server stays up.
    func testClientGoneMidMultiLeavesNoWatchBehind() throws {
        let t = try onEachServer { s, t in
            for i in 0..<20 {
                let gone = try s.connect()
                _ = try gone.call("WATCH", "w", "w\(i)")
                _ = try gone.call("MULTI")
                _ = try gone.call("SET", "w", "never")
                gone.close()
            }
            pause(100)
            let other = try s.connect()
            t.record("write", try other.call("SET", "w", "v"))
            t.record("write 2", try other.call("SET", "w7", "v"))
            t.record("never ran", try other.call("GET", "w"))
            _ = try other.call("WATCH", "w")
            _ = try other.call("MULTI")
            _ = try other.call("INCR", "counter")
            t.record("own exec", try other.call("EXEC"))
            let clients = String(decoding: try RespValue.parse(try other.call("CLIENT", "LIST")).payload ?? [], as: UTF8.self)
            t.record("clients", "\(clients.split(separator: "\n").count)")
        }
        XCTAssertEqual(t["never ran"], "$1\r\nv\r\n")
        XCTAssertEqual(t["own exec"], "*1\r\n:1\r\n")
        XCTAssertEqual(t["clients"], "1")
    }

    /// A whole transaction in one write, followed by more commands: replies come back in
    /// order, each queued command acknowledged, and nothing after EXEC is queued.
    func testPipelinedTransaction() throws {
        let t = try onEachServer { s, t in
            let c = try s.connect()
            let batch: [[String]] = [
                ["SET", "p", "1"], ["MULTI"], ["INCR", "p"], ["LPUSH", "p", "x"], ["GET", "nosuch", "extra"],
                ["INCR", "p"], ["EXEC"], ["MULTI"], ["INCR", "p"], ["LPUSH", "p", "x"], ["INCR", "p"], ["EXEC"],
                ["GET", "p"], ["MULTI"], ["SET", "q", "1"], ["DISCARD"], ["EXISTS", "q"],
            ]
            try c.send(encode(batch))
            for (i, r) in try read(c, batch.count).enumerated() { t.record("\(i) \(batch[i][0])", r) }
        }
        XCTAssertEqual(t["4 GET"], "-ERR wrong number of arguments for 'get' command\r\n")
        XCTAssertEqual(t["6 EXEC"], "-EXECABORT Transaction discarded because of previous errors.\r\n")
        XCTAssertEqual(t["11 EXEC"], "*3\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n:3\r\n")
        XCTAssertEqual(t["12 GET"], "$1\r\n3\r\n")
        XCTAssertEqual(t["16 EXISTS"], ":0\r\n")
    }

    /// CLIENT INFO inside and around transactions: flag x (MULTI), multi= (commands
    /// queued, -1 outside), multi-mem= (argument bytes plus a pointer per argument), and
    /// cmd=exec for what runs inside EXEC.
    func testClientInfoFields() throws {
        let t = try onEachServer { s, t in
            let c = try s.connect(), other = try s.connect()
            let id = try clientID(c)
            t.record("idle", infoFields(try c.call("CLIENT", "INFO")))
            _ = try c.call("WATCH", "k1", "k2")
            t.record("watching", infoFields(try c.call("CLIENT", "INFO")))
            _ = try c.call("MULTI")
            _ = try c.call("SET", "abc", "defgh")
            t.record("queued", infoFields(try other.call("CLIENT", "LIST", "ID", String(id))))
            _ = try c.call("CLIENT", "INFO")
            let exec = try RespValue.parse(try c.call("EXEC"))
            t.record("inside exec", infoFields(exec.children[1].raw))
            t.record("after", infoFields(try c.call("CLIENT", "INFO")))
        }
        XCTAssertEqual(t["idle"], "flags=N multi=-1 multi-mem=0 cmd=client|info")
        XCTAssertEqual(t["watching"], "flags=N multi=-1 multi-mem=0 cmd=client|info")
        XCTAssertEqual(t["queued"], "flags=x multi=1 multi-mem=35 cmd=set")
        XCTAssertEqual(t["inside exec"], "flags=x multi=2 multi-mem=61 cmd=exec")
        XCTAssertEqual(t["after"], "flags=N multi=-1 multi-mem=0 cmd=client|info")
    }

    /// Flag d once another client touched a watched key; a transaction already bound to
    /// fail keeps nothing queued (multi=0), and EXEC answers the null array.
    func testClientInfoDirtyFlag() throws {
        let t = try onEachServer { s, t in
            let c = try s.connect(), other = try s.connect()
            let id = try clientID(c)
            _ = try c.call("WATCH", "k1", "k2")
            _ = try other.call("SET", "k2", "x")
            t.record("dirty", infoFields(try c.call("CLIENT", "INFO")))
            _ = try c.call("MULTI")
            _ = try c.call("SET", "abc", "defgh")
            t.record("queued", infoFields(try other.call("CLIENT", "LIST", "ID", String(id))))
            t.record("exec", try c.call("EXEC"))
            t.record("after", infoFields(try c.call("CLIENT", "INFO")))
            t.record("not run", try c.call("EXISTS", "abc"))
        }
        XCTAssertEqual(t["dirty"], "flags=d multi=-1 multi-mem=0 cmd=client|info")
        XCTAssertEqual(t["queued"], "flags=xd multi=0 multi-mem=0 cmd=set")
        XCTAssertEqual(t["exec"], "*-1\r\n")
        XCTAssertEqual(t["after"], "flags=N multi=-1 multi-mem=0 cmd=client|info")
        XCTAssertEqual(t["not run"], ":0\r\n")
    }

    private func infoFields(_ reply: [UInt8]) -> String {
        let text = String(decoding: (try? RespValue.parse(reply))?.payload ?? [], as: UTF8.self)
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).filter {
            $0.hasPrefix("flags=") || $0.hasPrefix("multi=") || $0.hasPrefix("multi-mem=") || $0.hasPrefix("cmd=")
        }.joined(separator: " ")
    }

    private func clientID(_ c: RespConnection) throws -> Int {
        let reply = String(decoding: try c.call("CLIENT", "ID"), as: UTF8.self)
        return Int(reply.dropFirst().dropLast()) ?? -1  // "\r\n" is one Character
    }

    /// INFO commandstats: queued commands are counted when EXEC runs them; EXEC counts
    /// once, and fails only when it answers an error itself; rejected commands count as
    /// rejected and EXEC with the wrong arity as well.
    func testCommandStats() throws {
        func stats(_ c: RespConnection) throws -> String {
            let info = String(decoding: try RespValue.parse(try c.call("INFO", "commandstats")).payload ?? [], as: UTF8.self)
            return info.split(separator: "\r\n").filter { $0.hasPrefix("cmdstat_") && !$0.hasPrefix("cmdstat_config") && !$0.hasPrefix("cmdstat_info") }
                .map { line -> String in
                    // cmdstat_x:calls=N,usec=...,usec_per_call=...,rejected_calls=N,failed_calls=N
                    let parts = line.split(separator: ":", maxSplits: 1)
                    let kv = parts[1].split(separator: ",").filter { !$0.hasPrefix("usec") }
                    return parts[0] + ":" + kv.joined(separator: ",")
                }.sorted().joined(separator: "\n")
        }
        let t = try onEachServer { s, t in
            let c = try s.connect()
            _ = try c.call("CONFIG", "RESETSTAT")
            _ = try c.call("SET", "s", "text")
            _ = try c.call("MULTI")
            _ = try c.call("INCR", "s")
            _ = try c.call("GET", "s")
            _ = try c.call("EXEC")
            _ = try c.call("MULTI")
            _ = try c.call("GET")
            _ = try c.call("INCR", "s")
            _ = try c.call("EXEC")
            _ = try c.call("EXEC", "extra")
            _ = try c.call("MULTI")
            _ = try c.call("EXEC", "extra")
            _ = try c.call("DISCARD")
            t.record("stats", try stats(c))
        }
        // EXEC: one run, one EXECABORT (failed), two refused for their arity (one outside
        // MULTI); the INCR that failed inside EXEC is INCR's failure, not EXEC's.
        XCTAssertEqual(t["stats"], """
            cmdstat_discard:calls=1,rejected_calls=0,failed_calls=1
            cmdstat_exec:calls=2,rejected_calls=2,failed_calls=1
            cmdstat_get:calls=1,rejected_calls=1,failed_calls=0
            cmdstat_incr:calls=1,rejected_calls=0,failed_calls=1
            cmdstat_multi:calls=3,rejected_calls=0,failed_calls=0
            cmdstat_set:calls=1,rejected_calls=0,failed_calls=0
            """)
    }

    /// A watched key that expires before EXEC fails it even when nothing deleted it
    /// (active expiry off); one already expired at WATCH time that stays so does not.
    func testWatchedKeyExpiringBeforeExec() throws {
        let t = try onEachServer { s, t in
            let c = try s.connect()
            _ = try c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
            _ = try c.call("SET", "e", "v", "PX", "100")
            _ = try c.call("WATCH", "e")
            pause(200)
            _ = try c.call("MULTI")
            _ = try c.call("PING")
            t.record("expired since watch", try c.call("EXEC"))
            _ = try c.call("SET", "e2", "v", "PX", "50")
            pause(100)
            _ = try c.call("WATCH", "e2")
            _ = try c.call("MULTI")
            _ = try c.call("PING")
            t.record("expired before watch", try c.call("EXEC"))
            _ = try c.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        }
        XCTAssertEqual(t["expired since watch"], "*-1\r\n")
        XCTAssertEqual(t["expired before watch"], "*1\r\n+PONG\r\n")
    }
}
