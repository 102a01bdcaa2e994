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
