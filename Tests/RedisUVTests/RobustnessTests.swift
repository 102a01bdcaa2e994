import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built binary on a free port, driven over raw TCP: pipelines, split frames, huge
/// arguments, slow readers, many clients, clients that vanish. Nothing may crash the
/// server or lose a reply.
final class RobustnessTests: RedisUVServerTestCase {
    private func cmd(_ args: String...) -> [UInt8] { RespFraming.encodeCommand(args.map { Array($0.utf8) }) }

    private func rssBytes(_ pid: Int32) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0) * 1024
        }
        return 0
    }

    func testTenThousandPipelinedCommandsInOneWrite() throws {
        let c = try connect()
        var batch: [UInt8] = []
        for i in 0..<10_000 {
            batch += cmd("SET", "key:\(i)", "value:\(i)")
            batch += cmd("GET", "key:\(i)")
        }
        try c.send(batch)
        for i in 0..<10_000 {
            XCTAssertEqual(try c.readReply(), Array("+OK\r\n".utf8))
            let v = "value:\(i)"
            XCTAssertEqual(try c.readReply(), Array("$\(v.utf8.count)\r\n\(v)\r\n".utf8))
        }
    }

    func testFrameSplitAtEveryByteOverTCP() throws {
        let c = try connect()
        let batch = cmd("SET", "k", "a\r\nb") + Array("PING\r\n".utf8) + cmd("GET", "k") + Array("ECHO \"x y\"\r\n".utf8)
        for byte in batch {
            try c.send([byte])
            usleep(200)
        }
        XCTAssertEqual(try c.readReply(), Array("+OK\r\n".utf8))
        XCTAssertEqual(try c.readReply(), Array("+PONG\r\n".utf8))
        XCTAssertEqual(try c.readReply(), Array("$4\r\na\r\nb\r\n".utf8))
        XCTAssertEqual(try c.readReply(), Array("$3\r\nx y\r\n".utf8))
    }

    func testHugeArgumentRoundTrips() throws {
        let c = try connect(timeout: 30)
        let size = 32 * 1024 * 1024
        var value = [UInt8](repeating: 0, count: size)
        for i in stride(from: 0, to: size, by: 4093) { value[i] = UInt8(truncatingIfNeeded: i) }
        try c.send(RespFraming.encodeCommand([Array("SET".utf8), Array("big".utf8), value]))
        XCTAssertEqual(try c.readReply(timeout: 30), Array("+OK\r\n".utf8))
        try c.send(cmd("GET", "big"))
        let reply = try c.readReply(timeout: 30)
        let header = Array("$\(size)\r\n".utf8)
        XCTAssertEqual(Array(reply.prefix(header.count)), header)
        XCTAssertEqual(reply.count, header.count + size + 2)
        XCTAssertTrue(reply[header.count..<(header.count + size)].elementsEqual(value))
    }

    /// A client that sends a lot and reads nothing: the server must not buffer its replies
    /// without bound, and once it reads, every reply must be there.
    func testSlowReaderIsBoundedAndLosesNothing() throws {
        let setup = try connect()
        let value = String(repeating: "v", count: 1024 * 1024)
        XCTAssertEqual(try setup.callString("SET", "big", value), "+OK\r\n")
        let rssBefore = rssBytes(server.pid)

        let slow = try connect(timeout: 60)
        let requests = 400   // 400 MB of replies if all were buffered
        var batch: [UInt8] = []
        for _ in 0..<requests { batch += cmd("GET", "big") }
        // Write from another thread: the server stops reading us, so our write blocks.
        let sender = UnsafeSendableBox((slow, batch))
        Thread { try? sender.value.0.send(sender.value.1) }.start()
        Thread.sleep(forTimeInterval: 2.0)
        let rssDuring = rssBytes(server.pid)
        XCTAssertLessThan(rssDuring - rssBefore, 150 * 1024 * 1024,
                          "server buffered \((rssDuring - rssBefore) >> 20) MB for a client that does not read")
        // Other clients are still served meanwhile.
        XCTAssertEqual(try setup.callString("PING"), "+PONG\r\n")
        var got = 0
        for _ in 0..<requests {
            let r = try slow.readReply(timeout: 60)
            XCTAssertEqual(r.count, value.utf8.count + 12)
            got += 1
        }
        XCTAssertEqual(got, requests)
    }

    /// With a normal-class hard limit set, a client whose pending replies pass it is
    /// disconnected (Redis's client-output-buffer-limit), and the server stays up.
    func testOutputBufferHardLimitDisconnects() throws {
        let admin = try connect()
        XCTAssertEqual(try admin.callString("CONFIG", "SET", "client-output-buffer-limit", "normal 4mb 0 0"), "+OK\r\n")
        XCTAssertEqual(try admin.callString("SET", "big", String(repeating: "v", count: 1 << 20)), "+OK\r\n")
        let greedy = try connect()
        var batch: [UInt8] = []
        for _ in 0..<64 { batch += cmd("GET", "big") }
        try greedy.send(batch)
        // It never reads; the server must drop it rather than buffer 64 MB.
        var closed = false
        let deadline = Date().addingTimeInterval(10)
        while !closed && Date() < deadline {
            _ = try? greedy.readAvailable(timeout: 0.2)
            closed = greedy.isClosed(timeout: 0.1)
        }
        XCTAssertTrue(closed, "client over the hard limit was not disconnected")
        XCTAssertEqual(try admin.callString("PING"), "+PONG\r\n")
    }

    func testTwoThousandClients() throws {
        var conns: [RespConnection] = []
        for _ in 0..<2000 { conns.append(try connect()) }
        for c in conns { try c.send(cmd("PING")) }
        for c in conns { XCTAssertEqual(try c.readReply(), Array("+PONG\r\n".utf8)) }
        let list = try conns[0].call("CLIENT", "LIST")
        // Split bytes, not Characters: "\r\n" is a single Character in Swift.
        let lines = list.split(separator: 10).filter { $0.starts(with: Array("id=".utf8)) }
        XCTAssertEqual(lines.count, 2000)
        conns.removeAll()
        let c = try connect()
        XCTAssertEqual(try c.callString("PING"), "+PONG\r\n")
    }

    func testClientsVanishingMidCommandAndMidReply() throws {
        // Mid-command: a SET whose value never completes must not be executed.
        let a = try connect()
        try a.send(Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc".utf8))
        a.close()
        // Mid-reply: lots of output queued for a client that disconnects at once.
        let b = try connect()
        XCTAssertEqual(try b.callString("SET", "big", String(repeating: "x", count: 1 << 20)), "+OK\r\n")
        var batch: [UInt8] = []
        for _ in 0..<50 { batch += cmd("GET", "big") }
        try b.send(batch)
        b.close()
        Thread.sleep(forTimeInterval: 0.3)
        let c = try connect()
        XCTAssertEqual(try c.callString("GET", "k"), "$-1\r\n")
        XCTAssertEqual(try c.callString("PING"), "+PONG\r\n")
        XCTAssertTrue(server.isRunning)
    }

    func testProtocolErrorClosesOnlyThatConnection() throws {
        let good = try connect()
        let bad = try connect()
        try bad.send(Array("*1\r\nx3\r\n".utf8))
        XCTAssertEqual(try bad.readReply(), Array("-ERR Protocol error: expected '$', got 'x'\r\n".utf8))
        XCTAssertTrue(bad.isClosed(timeout: 2))
        XCTAssertEqual(try good.callString("PING"), "+PONG\r\n")
    }

    func testRedisCliInlineMultibulkAndPipe() throws {
        XCTAssertEqual(try cli("SET", "greeting", "hello world").stdoutString, "OK\n")
        XCTAssertEqual(try cli("GET", "greeting").stdoutString, "hello world\n")
        XCTAssertEqual(try cli("INCRBY", "n", "5").stdoutString, "5\n")
        // Inline commands, as telnet or `redis-cli --pipe` with plain text send them.
        var inline = ""
        for i in 0..<1000 { inline += "SET pipe:\(i) \(i)\r\n" }
        let piped = try RedisCLI.pipe(port: server.port, input: Array(inline.utf8))
        XCTAssertEqual(piped.status, 0, piped.stderrString)
        XCTAssertTrue(piped.stdoutString.contains("errors: 0, replies: 1000"), piped.stdoutString)
        XCTAssertEqual(try cli("GET", "pipe:999").stdoutString, "999\n")
        // Multibulk through --pipe.
        var mb: [UInt8] = []
        for i in 0..<1000 { mb += cmd("INCR", "counter:\(i % 10)") }
        let piped2 = try RedisCLI.pipe(port: server.port, input: mb)
        XCTAssertTrue(piped2.stdoutString.contains("errors: 0, replies: 1000"), piped2.stdoutString)
        XCTAssertEqual(try cli("GET", "counter:3").stdoutString, "100\n")
    }

    func testShutdownCommandExitsCleanly() throws {
        let c = try connect()
        try c.send(cmd("SHUTDOWN", "NOSAVE"))
        XCTAssertTrue(c.isClosed(timeout: 5))
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
    }

    func testSigtermExitsCleanly() throws {
        _ = try connect()
        server.signal(SIGTERM)
        XCTAssertEqual(server.waitForExit(timeout: 5), 0)
        XCTAssertTrue(server.log.contains("bye bye"), server.log)
    }
}

/// Command line and config file handling of the binary itself.
final class StartupTests: XCTestCase {
    func testUnknownOptionExitsWithStatusOne() throws {
        let bin = try TestEnvironment.redisUVBinary()
        let r = try runProcess(bin, ["--no-such-option", "1"], timeout: 10)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderrString.contains("Bad directive or wrong number of arguments"), r.stderrString)
        let r2 = try runProcess(bin, ["--port", "notanumber"], timeout: 10)
        XCTAssertEqual(r2.status, 1)
        let r3 = try runProcess(bin, ["--daemonize", "yes"], timeout: 10)
        XCTAssertEqual(r3.status, 1)
    }

    func testConfigFileThenCommandLineOverrides() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("redis-uv-conf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = dir.appendingPathComponent("redis.conf")
        try """
        # a comment
        save 900 1
        save 300 10
        hz 20
        requirepass "s3cret"
        databases 4
        """.write(to: conf, atomically: true, encoding: .utf8)
        let server = try ServerProcess.start(.redisUV, configFile: conf.path, arguments: ["--hz", "15"])
        defer { server.stop() }
        let c = try server.connect()
        XCTAssertEqual(try c.callString("PING"), "-NOAUTH Authentication required.\r\n")
        XCTAssertEqual(try c.callString("AUTH", "s3cret"), "+OK\r\n")
        XCTAssertEqual(try c.callString("CONFIG", "GET", "hz"), "*2\r\n$2\r\nhz\r\n$2\r\n15\r\n")
        XCTAssertEqual(try c.callString("CONFIG", "GET", "databases"), "*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n")
        XCTAssertEqual(try c.callString("SELECT", "4"), "-ERR DB index is out of range\r\n")
    }
}

/// Hands a value to another thread in a test where the hand-off is known to be safe
/// (the sender thread is the only user of the connection until the reads start).
struct UnsafeSendableBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
