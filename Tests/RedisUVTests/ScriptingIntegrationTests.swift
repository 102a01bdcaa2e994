import Foundation
import XCTest

/// Scripting with real clients, each run against redis-server and redis-uv and compared:
/// redis-py's Lock and real-world scripts unmodified, and a busy script killed from a
/// second client while the server stays responsive.
final class ScriptingIntegrationTests: XCTestCase {
    /// Tests/fixtures/scripting/redis_py_scripts.py against both servers: the same lines.
    func testRedisPyLockAndRealWorldScriptsMatchRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        guard let python = TestEnvironment.which("python3"), run(python, ["-c", "import redis"]).status == 0 else {
            throw XCTSkip("redis-py not installed (scripts/install-deps --test installs it)")
        }
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/scripting/redis_py_scripts.py").path
        let reference = try ServerProcess.start(.redisServer)
        defer { reference.stop() }
        let subject = try ServerProcess.start(.redisUV)
        defer { subject.stop() }
        let theirs = run(python, [script, String(reference.port)])
        let mine = run(python, [script, String(subject.port)])
        XCTAssertEqual(theirs.status, 0, "against redis-server: \(theirs.output)")
        XCTAssertEqual(mine.status, 0, "against redis-uv: \(mine.output)")
        XCTAssertEqual(mine.output, theirs.output)
        // What the script checks is there at all (an empty run would compare equal).
        XCTAssertTrue(mine.output.contains("acquire True\nowned True locked True\n"), mine.output)
        XCTAssertTrue(mine.output.contains("stolen release: LockNotOwnedError\n"), mine.output)
        XCTAssertTrue(mine.output.contains("scripts cached [True, True, True]\n"), mine.output)
        XCTAssertTrue(mine.output.contains("pipeline [1, 0]\n"), mine.output)
    }

    /// A script past busy-reply-threshold: others get -BUSY, SCRIPT KILL stops it (not once
    /// it wrote: -UNKILLABLE), SHUTDOWN NOSAVE ends the server; replies as redis-server's.
    func testBusyScriptKilledFromAnotherClient() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let theirs = try busyScenario(.redisServer)
        let mine = try busyScenario(.redisUV)
        XCTAssertEqual(mine.map { RespEscape.escape($0) }, theirs.map { RespEscape.escape($0) })
        XCTAssertEqual(mine.first.map { String(decoding: $0, as: UTF8.self) },
                       "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n")
    }

    private func busyScenario(_ kind: ServerProcess.Kind) throws -> [[UInt8]] {
        let server = try ServerProcess.start(kind, arguments: ["--busy-reply-threshold", "200"])
        defer { server.stop() }
        let runner = try server.connect(timeout: 10)
        let other = try server.connect(timeout: 10)
        var replies: [[UInt8]] = []
        try runner.send(command: ["EVAL", "local i = 0 while true do i = i + 1 end", "0"])
        usleep(500_000)
        replies.append(try other.call("PING"))
        replies.append(try other.call("GET", "x"))
        replies.append(try other.call("SCRIPT", "KILL"))
        replies.append(try runner.readReply(timeout: 10))
        replies.append(try other.call("PING"))
        replies.append(try runner.call("PING"))
        replies.append(try other.call("SCRIPT", "KILL"))
        // Once it wrote it cannot be killed; SHUTDOWN NOSAVE ends the server.
        try runner.send(command: ["EVAL", "redis.call('set', 'w', '1') while true do end", "0"])
        usleep(500_000)
        replies.append(try other.call("SCRIPT", "KILL"))
        replies.append(try other.call("PING"))
        try other.send(command: ["SHUTDOWN", "NOSAVE"])
        XCTAssertTrue(other.isClosed(timeout: 10), "\(kind.rawValue) still answers after SHUTDOWN NOSAVE")
        XCTAssertNotNil(server.waitForExit(timeout: 10), "\(kind.rawValue) did not exit")
        return replies
    }

    /// Function libraries travel both ways between redis-server and redis-uv: in an RDB
    /// file (FUNCTION2 records), and as FUNCTION DUMP payloads for FUNCTION RESTORE.
    func testFunctionsInRDBAndDumpPayloadsExchangeWithRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let dir = TestEnvironment.scratchDirectory.appendingPathComponent("functions-rdb-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = ["--dir", dir.path, "--dbfilename", "f.rdb"]
        let lib1 = "#!lua name=lib1\nredis.register_function{function_name='hello', callback=function(k, a) return 'hello ' .. a[1] end, flags={'no-writes'}, description='greets'}"
        let lib2 = "#!lua name=lib2\nredis.register_function('setget', function(k, a) redis.call('set', k[1], a[1]) return redis.call('get', k[1]) end)"
        func list(_ conn: RespConnection) throws -> String {
            RespEscape.escape(try conn.call("FUNCTION", "LIST", "LIBRARYNAME", "lib1", "WITHCODE"))
                + RespEscape.escape(try conn.call("FUNCTION", "LIST", "LIBRARYNAME", "lib2", "WITHCODE"))
        }

        // redis-server writes the RDB, redis-uv loads it.
        var expected = ""
        do {
            let real = try ServerProcess.start(.redisServer, arguments: files)
            defer { real.stop() }
            let c = try real.connect()
            XCTAssertEqual(try c.callString("FUNCTION", "LOAD", lib1), "$4\r\nlib1\r\n")
            XCTAssertEqual(try c.callString("FUNCTION", "LOAD", lib2), "$4\r\nlib2\r\n")
            XCTAssertEqual(try c.callString("SET", "k", "v"), "+OK\r\n")
            XCTAssertEqual(try c.callString("SAVE"), "+OK\r\n")
            expected = try list(c)
        }
        do {
            let ours = try ServerProcess.start(.redisUV, arguments: files)
            defer { ours.stop() }
            let c = try ours.connect()
            XCTAssertEqual(try list(c), expected)
            XCTAssertEqual(try c.callString("FCALL", "hello", "0", "rdb"), "$9\r\nhello rdb\r\n")
            XCTAssertEqual(try c.callString("FCALL", "setget", "1", "k", "w"), "$1\r\nw\r\n")
            // And back: redis-uv saves, redis-server loads.
            XCTAssertEqual(try c.callString("FUNCTION", "DELETE", "lib2"), "+OK\r\n")
            XCTAssertEqual(try c.callString("SAVE"), "+OK\r\n")
        }
        var payload: [UInt8] = []
        do {
            let real = try ServerProcess.start(.redisServer, arguments: files)
            defer { real.stop() }
            let c = try real.connect()
            XCTAssertEqual(try c.callString("FCALL_RO", "hello", "0", "back"), "$10\r\nhello back\r\n")
            XCTAssertEqual(try c.callString("FCALL", "setget", "0"), "-ERR Function not found\r\n")
            XCTAssertEqual(try c.callString("GET", "k"), "$1\r\nw\r\n")
            payload = try RespValue.parse(try c.call("FUNCTION", "DUMP")).payload ?? []
        }
        // FUNCTION DUMP of one restores on the other, both ways, byte for byte.
        let ours = try ServerProcess.start(.redisUV)
        defer { ours.stop() }
        let c = try ours.connect()
        try c.send(command: [Array("FUNCTION".utf8), Array("RESTORE".utf8), payload])
        XCTAssertEqual(String(decoding: try c.readReply(), as: UTF8.self), "+OK\r\n")
        XCTAssertEqual(try c.callString("FCALL", "hello", "0", "dump"), "$10\r\nhello dump\r\n")
        XCTAssertEqual(try RespValue.parse(try c.call("FUNCTION", "DUMP")).payload ?? [], payload)
        let real = try ServerProcess.start(.redisServer)
        defer { real.stop() }
        let r = try real.connect()
        XCTAssertEqual(try r.callString("FUNCTION", "LOAD", lib2), "$4\r\nlib2\r\n")
        XCTAssertEqual(try c.callString("FUNCTION", "LOAD", lib2), "$4\r\nlib2\r\n")
        try r.send(command: [Array("FUNCTION".utf8), Array("RESTORE".utf8),
                             try RespValue.parse(try c.call("FUNCTION", "DUMP")).payload ?? [], Array("REPLACE".utf8)])
        XCTAssertEqual(String(decoding: try r.readReply(), as: UTF8.self), "+OK\r\n")
        XCTAssertEqual(try r.callString("FUNCTION", "STATS"), try c.callString("FUNCTION", "STATS"))
    }

    private func run(_ exe: String, _ args: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (-1, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
