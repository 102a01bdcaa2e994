import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// requirepass and CLIENT KILL over real sockets: what the corpus format cannot express
/// (a server started with a password, connections that get closed). Each test starts the
/// built redis-uv binary and, when `redis-server` is installed, Redis itself, runs the same
/// steps on both, and checks the bytes (the expected bytes are Redis 7.0.15's).
///
/// Self-contained on purpose (own process and socket helpers); to be moved onto the
/// shared test support once it exists.
final class ConnectionIntegrationTests: XCTestCase {
    private var servers: [TestServerProcess] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers = []
        super.tearDown()
    }

    /// redis-uv plus, when available, redis-server, all started with `args`.
    private func startServers(_ args: [String]) throws -> [TestServerProcess] {
        guard let uv = TestServerProcess.redisUVBinary() else {
            throw XCTSkip("redis-uv binary not found: build it or set REDIS_UV_BIN")
        }
        var started = [try TestServerProcess(path: uv, args: args)]
        if let redis = TestServerProcess.findInPath("redis-server") {
            started.append(try TestServerProcess(path: redis, args: args + ["--appendonly", "no"]))
        }
        servers += started
        return started
    }

    private let noauth = "-NOAUTH Authentication required.\r\n"
    private let wrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"

    func testRequirepass() throws {
        for server in try startServers(["--requirepass", "secret"]) {
            let name = server.name
            let c = try RawConnection(port: server.port)
            XCTAssertEqual(try c.call("PING"), noauth, name)
            XCTAssertEqual(try c.call("CLIENT", "ID"), noauth, name)
            XCTAssertEqual(try c.call("HELLO", "3"), "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n", name)
            XCTAssertEqual(try c.call("AUTH", "wrong"), wrongPass, name)
            XCTAssertEqual(try c.call("AUTH", "default", "wrong"), wrongPass, name)
            XCTAssertEqual(try c.call("NOSUCHCOMMAND"), "-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: \r\n", name)
            XCTAssertEqual(try c.call("AUTH", "secret"), "+OK\r\n", name)
            XCTAssertEqual(try c.call("PING"), "+PONG\r\n", name)
            XCTAssertEqual(try c.call("RESET"), "+RESET\r\n", name)
            XCTAssertEqual(try c.call("PING"), noauth, name)
            let hello = try c.call("HELLO", "3", "AUTH", "default", "secret")
            XCTAssertTrue(hello.hasPrefix("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"), name)
            XCTAssertEqual(try c.call("GET", "missing"), "_\r\n", name)

            // QUIT needs no authentication.
            let q = try RawConnection(port: server.port)
            XCTAssertEqual(try q.call("QUIT"), "+OK\r\n", name)
            XCTAssertTrue(q.readsEOF(), name)

            // Changing requirepass: existing connections stay in, new ones follow the new rule.
            XCTAssertEqual(try c.call("CONFIG", "SET", "requirepass", ""), "+OK\r\n", name)
            let open = try RawConnection(port: server.port)
            XCTAssertEqual(try open.call("PING"), "+PONG\r\n", name)
            XCTAssertEqual(try open.call("AUTH", "x"), "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n", name)
            XCTAssertEqual(try c.call("CONFIG", "SET", "requirepass", "other"), "+OK\r\n", name)
            XCTAssertEqual(try open.call("PING"), "+PONG\r\n", name)
            let locked = try RawConnection(port: server.port)
            XCTAssertEqual(try locked.call("PING"), noauth, name)
            XCTAssertEqual(try locked.call("AUTH", "secret"), wrongPass, name)
            XCTAssertEqual(try locked.call("AUTH", "other"), "+OK\r\n", name)
        }
    }

    func testClientKillClosesConnections() throws {
        for server in try startServers([]) {
            let name = server.name
            let a = try RawConnection(port: server.port)
            let b = try RawConnection(port: server.port)
            let aID = try a.clientID()

            // CLIENT LIST shows the socket's real addresses.
            let info = try a.call("CLIENT", "INFO")
            XCTAssertTrue(info.contains(" addr=127.0.0.1:\(a.localPort) laddr=127.0.0.1:\(server.port) "), "\(name): \(info)")

            XCTAssertEqual(try b.call("CLIENT", "KILL", "ID", String(aID)), ":1\r\n", name)
            XCTAssertTrue(a.readsEOF(), "\(name): killed client is disconnected")
            XCTAssertFalse(try b.call("CLIENT", "LIST").contains("id=\(aID) "), name)
            XCTAssertEqual(try b.call("CLIENT", "KILL", "ID", String(aID)), ":0\r\n", name)

            // A client with replies still queued (it never reads) can be killed too; its
            // commands and the KILL arrive together, so both are often handled in one loop turn.
            XCTAssertEqual(try b.call("SET", "big", String(repeating: "x", count: 1 << 20)), "+OK\r\n", name)
            for _ in 0..<3 {
                let c = try RawConnection(port: server.port)
                let cID = try c.clientID()
                try c.send(String(repeating: "GET big\r\n", count: 20))
                try b.send("CLIENT KILL ID \(cID)\r\n")
                XCTAssertEqual(try b.reply(), ":1\r\n", name)
                XCTAssertTrue(c.readsEOF(), name)
                XCTAssertEqual(try b.call("PING"), "+PONG\r\n", name)
            }

            // The old form may kill the caller: +OK first, then the connection closes.
            XCTAssertEqual(try b.call("CLIENT", "KILL", "127.0.0.1:\(b.localPort)"), "+OK\r\n", name)
            XCTAssertTrue(b.readsEOF(), name)

            // SKIPME no with the new form: the count, then the close.
            let d = try RawConnection(port: server.port)
            let dID = try d.clientID()
            XCTAssertEqual(try d.call("CLIENT", "KILL", "ID", String(dID), "SKIPME", "no"), ":1\r\n", name)
            XCTAssertTrue(d.readsEOF(), name)
        }
    }
}

// MARK: helpers

/// A server process on a free loopback port, stopped (SIGTERM, then SIGKILL) by the test.
final class TestServerProcess {
    let process = Process()
    let port: Int
    let name: String

    init(path: String, args: [String]) throws {
        port = TestServerProcess.freePort()
        name = (path as NSString).lastPathComponent
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", ""] + args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let probe = try? RawConnection(port: port), (try? probe.call("PING")) != nil { return }
            usleep(50_000)
        }
        stop()
        throw XCTSkip("\(name) did not start on port \(port)")
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// REDIS_UV_BIN, else the redis-uv next to this test bundle, else the package's usual
    /// build folders.
    static func redisUVBinary() -> String? {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["REDIS_UV_BIN"] { candidates.append(env) }
        let bundleDir = (CommandLine.arguments[0] as NSString).deletingLastPathComponent
        candidates.append(bundleDir + "/redis-uv")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        candidates += [root + "/.build-conn/debug/redis-uv", root + "/.build/debug/redis-uv", root + "/.build/release/redis-uv"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func findInPath(_ program: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(program)") {
            return "\(dir)/\(program)"
        }
        return nil
    }

    /// A port the kernel just handed out (bound, read back, released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa -> Int32 in
                bind(fd, sa, len)
                return getsockname(fd, sa, &len)
            }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// A blocking TCP connection speaking RESP: sends commands, reads exactly one reply.
final class RawConnection {
    struct Failure: Error, CustomStringConvertible { let description: String }

    private let fd: Int32
    private var buffer: [UInt8] = []
    let localPort: Int

    init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        let rc = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            close(fd)
            throw Failure(description: "connect to \(port) failed")
        }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        localPort = Int(UInt16(bigEndian: local.sin_port))
    }

    deinit { close(fd) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(description: "send failed") }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Sends one command (as a RESP array) and returns its raw reply.
    func call(_ args: String...) throws -> String {
        var request = "*\(args.count)\r\n"
        for a in args { request += "$\(a.utf8.count)\r\n\(a)\r\n" }
        try send(request)
        return try reply()
    }

    /// CLIENT ID, as a number.
    func clientID() throws -> Int {
        let r = try call("CLIENT", "ID")
        guard r.hasPrefix(":"), let id = Int(r.dropFirst().trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw Failure(description: "CLIENT ID replied \(r)")
        }
        return id
    }

    func reply() throws -> String {
        let end = try parse(from: 0)
        let text = String(decoding: buffer[..<end], as: UTF8.self)
        buffer.removeFirst(end)
        return text
    }

    /// True when the server closes the connection (replies still queued are read past).
    func readsEOF() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &chunk, chunk.count, 0)
        if n <= 0 { throw Failure(description: n == 0 ? "connection closed" : "read timed out") }
        buffer += chunk[..<n]
    }

    private func lineEnd(from pos: Int) throws -> Int {
        while true {
            if buffer.count >= pos + 2 {
                for i in pos..<(buffer.count - 1) where buffer[i] == 13 && buffer[i + 1] == 10 { return i }
            }
            try fill()
        }
    }

    /// Index just past the RESP value starting at `pos`.
    private func parse(from pos: Int) throws -> Int {
        let end = try lineEnd(from: pos)
        let type = buffer[pos]
        let header = Int(String(decoding: buffer[(pos + 1)..<end], as: UTF8.self)) ?? 0
        var next = end + 2
        switch type {
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            if header < 0 { return next }
            while buffer.count < next + header + 2 { try fill() }
            return next + header + 2
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"):
            if header < 0 { return next }
            let count = type == UInt8(ascii: "%") ? header * 2 : header
            for _ in 0..<count { next = try parse(from: next) }
            return next
        default:
            return next
        }
    }
}
