import Glibc
import Foundation
import XCTest

/// Runs `redis-cli` as a subprocess (stdin from bytes, stdout/stderr captured).
///
///     let r = try RedisCLI.run(port: server.port, ["SET", "k", "v"])
///     XCTAssertEqual(r.stdoutString, "OK\n")
///     let p = try RedisCLI.pipe(port: server.port, input: RespFraming.encodeCommand(...))
enum RedisCLI {
    struct Result {
        let status: Int32
        let stdout: [UInt8]
        let stderr: [UInt8]
        var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
        var stderrString: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// `redis-cli -h 127.0.0.1 -p PORT ARGS...`. redis-cli prints raw replies
    /// when its stdout is not a terminal (as here); pass `--no-raw` for the
    /// tty-style `(integer) 1` format.
    static func run(port: Int, _ args: [String], stdin: [UInt8]? = nil,
                    timeout: TimeInterval = 30) throws -> Result {
        guard let cli = TestEnvironment.redisCLIBinary else {
            throw HarnessError("redis-cli not found in PATH (apt-get install redis-tools)")
        }
        return try runProcess(cli, ["-h", "127.0.0.1", "-p", String(port)] + args,
                              stdin: stdin, timeout: timeout)
    }

    /// `redis-cli -p PORT --pipe` fed with `input` (raw RESP or inline commands).
    static func pipe(port: Int, input: [UInt8], timeout: TimeInterval = 60) throws -> Result {
        try run(port: port, ["--pipe"], stdin: input, timeout: timeout)
    }
}

/// Runs a program to completion with stdin from bytes and stdout/stderr to
/// temp files (no pipe deadlocks); SIGKILL after `timeout` (then throws).
func runProcess(_ executable: String, _ args: [String], stdin: [UInt8]? = nil,
                timeout: TimeInterval = 30, currentDirectory: URL? = nil) throws -> RedisCLI.Result {
    let fm = FileManager.default
    let dir = fm.temporaryDirectory.appendingPathComponent("redis-uv-run-\(UUID().uuidString)")
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: dir) }
    let inURL = dir.appendingPathComponent("stdin"), outURL = dir.appendingPathComponent("stdout"),
        errURL = dir.appendingPathComponent("stderr")
    _ = fm.createFile(atPath: inURL.path, contents: Data(stdin ?? []))
    _ = fm.createFile(atPath: outURL.path, contents: nil)
    _ = fm.createFile(atPath: errURL.path, contents: nil)
    guard let inH = FileHandle(forReadingAtPath: inURL.path),
          let outH = FileHandle(forWritingAtPath: outURL.path),
          let errH = FileHandle(forWritingAtPath: errURL.path) else {
        throw HarnessError("cannot open temp files in \(dir.path)")
    }
    defer { try? inH.close(); try? outH.close(); try? errH.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = args
    if let currentDirectory { process.currentDirectoryURL = currentDirectory }
    process.standardInput = inH
    process.standardOutput = outH
    process.standardError = errH
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(5_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let err = (try? Data(contentsOf: errURL)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        throw HarnessError("\(executable) \(args.joined(separator: " ")) timed out after \(timeout) s; stderr: \(err)")
    }
    process.waitUntilExit()
    return RedisCLI.Result(status: process.terminationStatus,
                           stdout: Array((try? Data(contentsOf: outURL)) ?? Data()),
                           stderr: Array((try? Data(contentsOf: errURL)) ?? Data()))
}

/// Base class for integration tests against a fresh redis-uv per test.
///
///     final class ExpireTests: RedisUVServerTestCase {
///         override var serverArguments: [String] { ["--hz", "100"] }
///         func testPersist() throws {
///             let c = try connect()
///             XCTAssertEqual(try c.callString("SET", "k", "v"), "+OK\r\n")
///         }
///     }
///
/// A failing test's message can include `server.log` (the server's output).
class RedisUVServerTestCase: XCTestCase {
    /// The server for the current test (started in setUp, stopped in tearDown).
    var server: ServerProcess!
    /// Which server to start; override to `.redisServer` to check a test's
    /// expectations against real Redis.
    var serverKind: ServerProcess.Kind { .redisUV }
    /// Extra arguments after the base ones (`--port N --bind 127.0.0.1 --save '' ...`).
    var serverArguments: [String] { [] }

    override func setUpWithError() throws {
        try super.setUpWithError()
        server = try ServerProcess.start(serverKind, arguments: serverArguments)
    }

    override func tearDown() {
        server?.stop()
        server = nil
        super.tearDown()
    }

    func connect(timeout: TimeInterval = 5) throws -> RespConnection {
        try server.connect(timeout: timeout)
    }

    func cli(_ args: String...) throws -> RedisCLI.Result {
        try RedisCLI.run(port: server.port, args)
    }
}
