import Glibc
import Foundation
import XCTest

/// Pub/sub with several real clients over sockets. Each scenario runs against the
/// redis-uv binary and, when installed, against redis-server: the recorded replies must
/// be the same bytes on both, and are also checked against the expected bytes.
final class PubSubTests: ServerPairTestCase {
    private func pause(_ ms: Int = 50) { usleep(useconds_t(ms * 1000)) }

    private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    // MARK: delivery

    func testSubscribersAndPatternsOverBothProtocols() throws {
        let t = try onEachServer { s, t in
            let a = try s.connect(), b = try s.connect(), p = try s.connect(), pub = try s.connect()
            _ = try b.call("HELLO", "3")
            try a.send(command: ["SUBSCRIBE", "orders", "audit"])
            t.record("a sub", try a.readReply() + a.readReply())
            try b.send(command: ["SUBSCRIBE", "orders"])
            t.record("b sub", try b.readReply())
            try p.send(command: ["PSUBSCRIBE", "ord*"])
            t.record("p sub", try p.readReply())
            try b.send(command: ["PSUBSCRIBE", "*dit"])
            t.record("b psub", try b.readReply())
            pause()
            t.record("publish orders", try pub.call("PUBLISH", "orders", "o1"))
            t.record("publish audit", try pub.call("PUBLISH", "audit", "x"))
            t.record("publish other", try pub.call("PUBLISH", "other", "x"))
            pause()
            t.record("a got", try a.readAvailable(timeout: 0.3))
            t.record("b got", try b.readAvailable(timeout: 0.3))
            t.record("p got", try p.readAvailable(timeout: 0.3))
            // RESP3 subscribers run ordinary commands; RESP2 ones are refused.
            t.record("b get", try b.call("GET", "nokey"))
            t.record("a get", try a.call("GET", "nokey"))
            t.record("a ping", try a.call("PING"))
            t.record("numsub", try pub.call("PUBSUB", "NUMSUB", "orders", "audit", "other"))
            t.record("numpat", try pub.call("PUBSUB", "NUMPAT"))
            // A subscriber that goes away leaves its channels.
            a.close()
            pause(100)
            t.record("numsub after close", try pub.call("PUBSUB", "NUMSUB", "orders", "audit"))
            t.record("publish after close", try pub.call("PUBLISH", "orders", "o2"))
        }
        XCTAssertEqual(t["a sub"], "*3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$5\r\naudit\r\n:2\r\n")
        XCTAssertEqual(t["b sub"], ">3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n")
        XCTAssertEqual(t["b psub"], ">3\r\n$10\r\npsubscribe\r\n$4\r\n*dit\r\n:2\r\n")
        XCTAssertEqual(t["publish orders"], ":3\r\n")
        XCTAssertEqual(t["publish audit"], ":2\r\n")
        XCTAssertEqual(t["publish other"], ":0\r\n")
        XCTAssertEqual(t["a got"], "*3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$2\r\no1\r\n*3\r\n$7\r\nmessage\r\n$5\r\naudit\r\n$1\r\nx\r\n")
        XCTAssertEqual(t["b got"], ">3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$2\r\no1\r\n>4\r\n$8\r\npmessage\r\n$4\r\n*dit\r\n$5\r\naudit\r\n$1\r\nx\r\n")
        XCTAssertEqual(t["p got"], "*4\r\n$8\r\npmessage\r\n$4\r\nord*\r\n$6\r\norders\r\n$2\r\no1\r\n")
        XCTAssertEqual(t["b get"], "_\r\n")
        XCTAssertEqual(t["a get"], "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n")
        XCTAssertEqual(t["a ping"], "*2\r\n$4\r\npong\r\n$0\r\n\r\n")
        XCTAssertEqual(t["numsub"], "*6\r\n$6\r\norders\r\n:2\r\n$5\r\naudit\r\n:1\r\n$5\r\nother\r\n:0\r\n")
        XCTAssertEqual(t["numpat"], ":2\r\n")
        XCTAssertEqual(t["numsub after close"], "*4\r\n$6\r\norders\r\n:1\r\n$5\r\naudit\r\n:0\r\n")
        XCTAssertEqual(t["publish after close"], ":2\r\n")
    }

    func testClientListAndInfoShowSubscriptions() throws {
        try onEachServer { s, t in
            let sub = try s.connect(), other = try s.connect()
            _ = try sub.call("CLIENT", "SETNAME", "listener")
            try sub.send(command: ["SUBSCRIBE", "a", "b"])
            try sub.send(command: ["PSUBSCRIBE", "p*"])
            try sub.send(command: ["SSUBSCRIBE", "s"])
            for _ in 0..<4 { _ = try sub.readReply() }
            let list = String(decoding: try RespValue.parse(try other.call("CLIENT", "LIST", "TYPE", "pubsub")).payload ?? [], as: UTF8.self)
            let line = list.split(separator: "\n").first { $0.contains("name=listener") }.map(String.init) ?? ""
            let fields = Dictionary(line.split(separator: " ").compactMap { f -> (String, String)? in
                let kv = f.split(separator: "=", maxSplits: 1)
                return kv.count == 2 ? (String(kv[0]), String(kv[1])) : nil
            }, uniquingKeysWith: { a, _ in a })
            t.record("flags sub psub ssub", bytes("\(fields["flags"] ?? "?") \(fields["sub"] ?? "?") \(fields["psub"] ?? "?") \(fields["ssub"] ?? "?")"))
            let normal = String(decoding: try RespValue.parse(try other.call("CLIENT", "LIST", "TYPE", "normal")).payload ?? [], as: UTF8.self)
            t.record("listener not normal", bytes(normal.contains("name=listener") ? "listed" : "absent"))
            let info = String(decoding: try RespValue.parse(try other.call("INFO", "stats")).payload ?? [], as: UTF8.self)
            t.record("info", bytes(info.split(separator: "\r\n").filter { $0.hasPrefix("pubsub") }.joined(separator: ",")))
            t.record("kill pubsub", try other.call("CLIENT", "KILL", "TYPE", "pubsub"))
            pause(100)
            t.record("numsub after kill", try other.call("PUBSUB", "NUMSUB", "a"))
            t.record("killed", bytes(sub.isClosed(timeout: 2) ? "closed" : "open"))
        }
    }

    // MARK: output buffer limits

    /// A raw socket with a tiny receive buffer that never reads.
    private final class SilentSocket {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, socketStreamType, 0)
            var size: Int32 = 4096
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            var addr = try loopbackAddress(port: port)
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if rc != 0 { throw RespConnectionError.io("connect failed") }
        }
        func send(_ args: [String]) {
            let b = RespFraming.encodeCommand(args.map { Array($0.utf8) })
            _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, b.count, Int32(MSG_NOSIGNAL)) }
        }
        deinit { Glibc.close(fd) }
    }

    private func rssKB(_ pid: Int32) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        let line = s.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }

    func testSlowSubscriberIsClosedAtTheHardLimitAndMemoryStaysBounded() throws {
        let message = String(repeating: "m", count: 64 * 1024)
        try onEachServer { s, t in
            let admin = try s.connect(timeout: 20)
            t.record("config", try admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 2mb 0 0"))
            let slow = try SilentSocket(port: s.port)
            slow.send(["CLIENT", "SETNAME", "slow"])
            slow.send(["SUBSCRIBE", "firehose"])
            let fast = try s.connect(timeout: 20)
            try fast.send(command: ["SUBSCRIBE", "firehose"])
            _ = try fast.readReply()
            pause()
            let rssBefore = rssKB(s.pid)
            // 96 MB published in batches (unbounded, RSS would grow by about as much); the fast subscriber keeps up, the slow one never reads.
            var fastBytes = 0
            for _ in 0..<96 {
                var batch: [UInt8] = []
                for _ in 0..<16 { batch += RespFraming.encodeCommand([bytes("PUBLISH"), bytes("firehose"), bytes(message)]) }
                try admin.send(batch)
                for _ in 0..<16 { _ = try admin.readReply(timeout: 20) }
                fastBytes += try fast.readAvailable(timeout: 0.01).count
            }
            fastBytes += try fast.readAvailable(timeout: 0.5).count
            let rssGrowthMB = (rssKB(s.pid) - rssBefore) / 1024
            pause(200)
            let list = String(decoding: try RespValue.parse(try admin.call("CLIENT", "LIST")).payload ?? [], as: UTF8.self)
            t.record("slow gone", bytes(list.contains("name=slow ") ? "still connected" : "gone"))
            t.record("numsub", try admin.call("PUBSUB", "NUMSUB", "firehose"))
            t.record("others work", try admin.call("PING"))
            t.record("fast got everything", bytes(fastBytes > 96 * 16 * 64 * 1024 ? "yes" : "no: \(fastBytes)"))
            t.record("publish", try admin.call("PUBLISH", "firehose", "after"))
            t.record("fast still subscribed", try fast.readReply())
            XCTAssertLessThan(rssGrowthMB, 48, "\(s.kind.rawValue): RSS grew \(rssGrowthMB) MB")
            XCTAssertTrue(s.log.contains("for overcoming of output buffer limits"), "\(s.kind.rawValue) log:\n\(s.log)")
            withExtendedLifetime(slow) {}
        }
    }

    func testSoftLimitHeldLongerThanItsSecondsClosesEvenWithoutMorePublishing() throws {
        let message = String(repeating: "s", count: 64 * 1024)
        try onEachServer { s, t in
            let admin = try s.connect(timeout: 20)
            t.record("config", try admin.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 0 1mb 1"))
            let slow = try SilentSocket(port: s.port)
            slow.send(["CLIENT", "SETNAME", "soft"])
            slow.send(["SUBSCRIBE", "c"])
            pause()
            // Enough to fill the kernel buffers and pass the soft limit, far below any hard one.
            var batch: [UInt8] = []
            for _ in 0..<160 { batch += RespFraming.encodeCommand([bytes("PUBLISH"), bytes("c"), bytes(message)]) }
            try admin.send(batch)
            for _ in 0..<160 { _ = try admin.readReply(timeout: 20) }
            pause(200)
            let early = String(decoding: try RespValue.parse(try admin.call("CLIENT", "LIST")).payload ?? [], as: UTF8.self)
            t.record("still there at first", bytes(early.contains("name=soft ") ? "yes" : "no"))
            pause(3000)
            let late = String(decoding: try RespValue.parse(try admin.call("CLIENT", "LIST")).payload ?? [], as: UTF8.self)
            t.record("closed after the soft seconds", bytes(late.contains("name=soft ") ? "no" : "yes"))
            withExtendedLifetime(slow) {}
        }
    }

    // MARK: keyspace notifications

    func testKeyspaceNotificationsReachSubscribers() throws {
        let t = try onEachServer { s, t in
            let sub = try s.connect(), c = try s.connect()
            try sub.send(command: ["PSUBSCRIBE", "__key*__:*"])
            _ = try sub.readReply()
            t.record("config", try c.call("CONFIG", "SET", "notify-keyspace-events", "KEm"))
            _ = try c.call("GET", "missing")
            _ = try c.call("SELECT", "2")
            _ = try c.call("EXISTS", "gone")
            pause()
            t.record("events", try sub.readAvailable(timeout: 0.3))
            t.record("off", try c.call("CONFIG", "SET", "notify-keyspace-events", ""))
            _ = try c.call("GET", "missing")
            t.record("no events", try sub.readAvailable(timeout: 0.2))
        }
        XCTAssertEqual(t["events"],
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n__keyspace@0__:missing\r\n$7\r\nkeymiss\r\n" +
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n__keyevent@0__:keymiss\r\n$7\r\nmissing\r\n" +
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$19\r\n__keyspace@2__:gone\r\n$7\r\nkeymiss\r\n" +
            "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n__keyevent@2__:keymiss\r\n$4\r\ngone\r\n")
        XCTAssertEqual(t["no events"], "")
    }

    func testWriteCommandEventsInKeyspaceThenKeyeventOrder() throws {
        let t = try onEachServer { s, t in
            let sub = try s.connect(), c = try s.connect()
            _ = try sub.call("HELLO", "3")
            try sub.send(command: ["SUBSCRIBE", "__keyspace@0__:k", "__keyevent@0__:expired"])
            _ = try sub.readReply()
            _ = try sub.readReply()
            t.record("config", try c.call("CONFIG", "SET", "notify-keyspace-events", "KEA"))
            _ = try c.call("SET", "k", "v")
            _ = try c.call("PEXPIRE", "k", "50")
            pause(400)
            _ = try c.call("GET", "k")
            t.record("events", try sub.readAvailable(timeout: 0.3))
        }
        XCTAssertEqual(t["events"],
            ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$3\r\nset\r\n" +
            ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$6\r\nexpire\r\n" +
            ">3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:k\r\n$7\r\nexpired\r\n" +
            ">3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:expired\r\n$1\r\nk\r\n")
    }
}
