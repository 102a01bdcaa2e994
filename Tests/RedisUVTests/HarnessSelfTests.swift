import XCTest

/// Checks the test support itself against real redis-server processes:
/// ServerProcess, RespConnection, RedisCLI and that the differential harness
/// does catch a difference. Skipped when redis-server is not installed.
final class HarnessSelfTests: XCTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else {
            harnessLog("SKIPPED: harness self-tests need redis-server")
            throw XCTSkip("harness self-tests need redis-server in PATH")
        }
    }

    func testFreePortIsBindable() throws {
        let port = try FreePort.find()
        XCTAssertGreaterThan(port, 0)
        XCTAssertLessThan(port, 65536)
    }

    func testServerProcessStartsAndStops() throws {
        let server = try ServerProcess.start(.redisServer)
        let conn = try server.connect()
        XCTAssertEqual(try conn.callString("PING"), "+PONG\r\n")
        XCTAssertEqual(try conn.callString("CONFIG", "GET", "port"),
                       "*2\r\n$4\r\nport\r\n$\(String(server.port).count)\r\n\(server.port)\r\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: server.workDirectory.path))
        let pid = server.pid
        server.stop()
        XCTAssertFalse(server.isRunning)
        XCTAssertNotEqual(kill(pid, 0), 0, "server process \(pid) still exists")
        XCTAssertTrue(conn.isClosed(timeout: 2))
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.workDirectory.path))
    }

    func testBadArgumentsReportTheLog() throws {
        XCTAssertThrowsError(try ServerProcess.start(.redisServer, arguments: ["--no-such-option", "1"])) { error in
            XCTAssertTrue("\(error)".contains("exited"), "\(error)")
            XCTAssertTrue("\(error)".contains("no-such-option"), "\(error)")
        }
    }

    func testRespConnectionReads() throws {
        let server = try ServerProcess.start(.redisServer)
        defer { server.stop() }
        let conn = try server.connect()
        // pipelined: three replies in one write, read one at a time
        try conn.send(Array("PING\r\nECHO \"a b\"\r\nDEL x\r\n".utf8))
        XCTAssertEqual(try conn.readReply(), Array("+PONG\r\n".utf8))
        XCTAssertEqual(try conn.readReply(), Array("$3\r\na b\r\n".utf8))
        XCTAssertEqual(try conn.readReply(), Array(":0\r\n".utf8))
        // binary-safe values, large replies
        let value: [UInt8] = [0, 13, 10, 255] + Array(repeating: UInt8(ascii: "x"), count: 1 << 20)
        try conn.send(command: [Array("SET".utf8), Array("k".utf8), value])
        XCTAssertEqual(try conn.readReply(), Array("+OK\r\n".utf8))
        try conn.send(command: [Array("GET".utf8), Array("k".utf8)])
        XCTAssertEqual(try conn.readReply(), Array("$\(value.count)\r\n".utf8) + value + [13, 10])
        // RESP3 map
        let hello = try RespValue.parse(try conn.call("HELLO", "3"))
        XCTAssertEqual(hello.type, UInt8(ascii: "%"))
        XCTAssertEqual(hello.children.first?.text, "server")
        // nothing to read: readAvailable returns [], readReply times out
        XCTAssertEqual(try conn.readAvailable(timeout: 0.1), [])
        XCTAssertThrowsError(try conn.readReply(timeout: 0.1)) { error in
            guard case RespConnectionError.timeout = error else { return XCTFail("\(error)") }
        }
        XCTAssertFalse(conn.isClosed(timeout: 0.1))
        // the server closes on QUIT
        XCTAssertEqual(try conn.callString("QUIT"), "+OK\r\n")
        XCTAssertTrue(conn.isClosed(timeout: 2))
    }

    func testRedisCLIHelper() throws {
        guard TestEnvironment.redisCLIBinary != nil else { throw XCTSkip("redis-cli not installed") }
        let server = try ServerProcess.start(.redisServer)
        defer { server.stop() }
        let set = try RedisCLI.run(port: server.port, ["SET", "k", "v"])
        XCTAssertEqual(set.status, 0)
        XCTAssertEqual(set.stdoutString, "OK\n")
        var input: [UInt8] = []
        for i in 0..<1000 { input += RespFraming.encodeCommand([Array("RPUSH".utf8), Array("l".utf8), Array("\(i)".utf8)]) }
        let piped = try RedisCLI.pipe(port: server.port, input: input)
        XCTAssertEqual(piped.status, 0, piped.stderrString)
        XCTAssertTrue(piped.stdoutString.contains("errors: 0, replies: 1000"), piped.stdoutString)
        XCTAssertEqual(try RedisCLI.run(port: server.port, ["LLEN", "l"]).stdoutString, "1000\n")
    }

    /// The harness must pass identical servers and catch every kind of difference.
    func testDifferentialHarnessCatchesDifferences() throws {
        let a = try ServerProcess.start(.redisServer)
        defer { a.stop() }
        let b = try ServerProcess.start(.redisServer)
        defer { b.stop() }
        let harness = DifferentialHarness(reference: a, subject: b, subjectName: "redis-server#2")

        let same = try CorpusFile.parse("""
            SET k "v\\x00\\r\\n"
            GET k
            @mask bulk
            CONFIG GET port
            @mask lines ^(run_id|tcp_port|process_id|server_time_usec|uptime_in_seconds|uptime_in_days|lru_clock):
            INFO server
            @raw "PING\\r\\n"
            @send BLPOP list 0
            @conn 2
            RPUSH list a
            @conn 1
            @read
            @resp3
            @raw "*1\\r\\n$x\\r\\n"
            @closed
            PING
            """)
        let ok = harness.run(same)
        XCTAssertTrue(ok.passed, "\(ok.mismatches.map(\.description)) \(ok.errors)")
        XCTAssertEqual(ok.steps, same.steps.count)

        // `CONFIG GET port` differs (two ports): caught, with file, line, command and both replies.
        let differ = try CorpusFile.parse("PING\n\nCONFIG GET port\n", name: "wrong.redis")
        let bad = harness.run(differ)
        XCTAssertEqual(bad.mismatches.count, 1)
        let text = bad.mismatches.first?.description ?? ""
        XCTAssertTrue(text.hasPrefix("wrong.redis:3: CONFIG GET port"), text)
        XCTAssertTrue(text.contains("$\(String(a.port).count)\\r\\n\(a.port)\\r\\n"), text)
        XCTAssertTrue(text.contains("$\(String(b.port).count)\\r\\n\(b.port)\\r\\n"), text)

        // Each file starts from an empty database.
        let empty = try CorpusFile.parse("DBSIZE")
        let afterFlush = harness.run(empty)
        XCTAssertTrue(afterFlush.passed)
    }
}
