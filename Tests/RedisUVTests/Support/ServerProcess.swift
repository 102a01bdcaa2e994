import Glibc
import Foundation

/// A Redis-protocol server started for a test: redis-uv (the binary under
/// test) or the reference `redis-server`, on a free port of 127.0.0.1, in
/// its own temporary working directory, stdout+stderr captured to a log file.
///
///     let server = try ServerProcess.start(.redisUV, arguments: ["--maxmemory", "1mb"])
///     defer { server.stop() }
///     let conn = try server.connect()
///
/// `stop()` (also run by deinit) sends SIGTERM, then SIGKILL after 3 s.
/// When `REDIS_UV_TEST_PIDDIR` is set (scripts/test sets it), a file named
/// after the pid is kept there while the server runs, so that scripts/test
/// can end leftovers if the test process itself dies.
final class ServerProcess: @unchecked Sendable {
    enum Kind: String, Sendable {
        case redisUV = "redis-uv"
        case redisServer = "redis-server"
        /// The real `redis-sentinel` (Debian package redis-sentinel); needs a config file.
        case redisSentinel = "redis-sentinel"
    }

    let kind: Kind
    let port: Int
    let executable: String
    let arguments: [String]
    /// Temporary working directory (dump files, logs); removed by stop()
    /// unless REDIS_UV_KEEP_TEST_DIRS=1.
    let workDirectory: URL
    let logFile: URL

    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    /// Arguments every test server gets, before the caller's own:
    /// no persistence, loopback only, foreground.
    static func baseArguments(port: Int, kind: Kind = .redisServer) -> [String] {
        if kind == .redisSentinel { return ["--port", String(port), "--bind", "127.0.0.1", "--daemonize", "no"] }
        return ["--port", String(port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no"]
    }

    private init(kind: Kind, port: Int, executable: String, arguments: [String],
                 workDirectory: URL, logFile: URL, process: Process) {
        self.kind = kind
        self.port = port
        self.executable = executable
        self.arguments = arguments
        self.workDirectory = workDirectory
        self.logFile = logFile
        self.process = process
    }

    deinit { stop() }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    /// Starts a server and waits until it accepts TCP connections.
    /// - Parameters:
    ///   - configFile: optional config file path, passed first as redis-server expects.
    ///   - arguments: extra `--name value` arguments, after the base ones (so they win).
    ///   - port: a fixed port (a server restarted where Sentinel knows it), else a free one.
    ///   - readyTimeout: how long to wait for the port to accept (default 10 s).
    static func start(_ kind: Kind, configFile: String? = nil, arguments: [String] = [],
                      port fixedPort: Int? = nil, readyTimeout: TimeInterval = 10) throws -> ServerProcess {
        let executable: String
        switch kind {
        case .redisUV:
            executable = try TestEnvironment.redisUVBinary()
        case .redisServer:
            guard let bin = TestEnvironment.redisServerBinary else {
                throw HarnessError("redis-server not found in PATH (apt-get install redis-server)")
            }
            executable = bin
        case .redisSentinel:
            guard let bin = TestEnvironment.which("redis-sentinel") else {
                throw HarnessError("redis-sentinel not found in PATH (apt-get install redis-sentinel)")
            }
            executable = bin
        }
        var lastError: Error = HarnessError("server did not start")
        // A free port can be taken between FreePort.find() and the server's
        // bind(): try again with a new port when the server exits early.
        for _ in 0..<3 {
            do {
                return try launch(kind: kind, executable: executable, configFile: configFile,
                                  arguments: arguments, port: fixedPort, readyTimeout: readyTimeout)
            } catch let error as EarlyExit {
                lastError = error.underlying
                if fixedPort != nil { break }
                continue
            }
        }
        throw lastError
    }

    private struct EarlyExit: Error { let underlying: HarnessError }

    private static func launch(kind: Kind, executable: String, configFile: String?,
                               arguments: [String], port fixedPort: Int?, readyTimeout: TimeInterval) throws -> ServerProcess {
        let port = try fixedPort ?? FreePort.find()
        let fm = FileManager.default
        let workDirectory = TestEnvironment.scratchDirectory
            .appendingPathComponent("redis-uv-test-\(kind.rawValue)-\(port)-\(UUID().uuidString.prefix(8))")
        try fm.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        let logFile = workDirectory.appendingPathComponent("server.log")
        guard fm.createFile(atPath: logFile.path, contents: nil),
              let logHandle = FileHandle(forWritingAtPath: logFile.path) else {
            throw HarnessError("cannot create \(logFile.path)")
        }
        defer { try? logHandle.close() }

        var args: [String] = []
        if let configFile { args.append(configFile) }
        args += baseArguments(port: port, kind: kind) + arguments

        let process = Process()
        if let setpriv = parentDeathWrapper {
            // The server gets SIGKILL if the test process dies (crash, kill):
            // no server outlives a test run. setpriv execs the server, so the
            // pid is the server's own.
            process.executableURL = URL(fileURLWithPath: setpriv)
            process.arguments = ["--pdeathsig", "KILL", "--", executable] + args
        } else {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = args
        }
        process.currentDirectoryURL = workDirectory
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = logHandle
        process.standardError = logHandle
        do {
            try process.run()
        } catch {
            throw HarnessError("cannot start \(executable): \(error)")
        }
        let server = ServerProcess(kind: kind, port: port, executable: executable, arguments: args,
                                   workDirectory: workDirectory, logFile: logFile, process: process)
        server.writePidFile()

        let deadline = Date().addingTimeInterval(readyTimeout)
        while Date() < deadline {
            if !process.isRunning {
                let log = server.log
                let status = process.terminationStatus
                server.stop()
                let err = HarnessError("""
                    \(kind.rawValue) exited (status \(status)) before accepting on port \(port)
                    command: \(server.commandLine)
                    log:
                    \(log)
                    """)
                if log.contains("in use") || log.contains("EADDRINUSE") { throw EarlyExit(underlying: err) }
                throw err
            }
            if canConnect(port: port) { return server }
            usleep(20_000)
        }
        let log = server.log
        server.stop()
        throw HarnessError("""
            \(kind.rawValue) did not accept connections on port \(port) within \(readyTimeout) s
            command: \(server.commandLine)
            log:
            \(log)
            """)
    }

    /// Opens a new client connection to this server.
    func connect(timeout: TimeInterval = 5) throws -> RespConnection {
        try RespConnection(port: port, timeout: timeout)
    }

    /// The server's captured stdout+stderr so far (last 64 KiB).
    var log: String {
        guard let data = try? Data(contentsOf: logFile) else { return "(no log)" }
        let tail = data.count > 65536 ? data.suffix(65536) : data
        return String(decoding: tail, as: UTF8.self)
    }

    var commandLine: String {
        ([executable] + arguments).map { $0.isEmpty || $0.contains(" ") ? "'\($0)'" : $0 }
            .joined(separator: " ")
    }

    /// SIGTERM, wait up to 3 s, then SIGKILL. Idempotent.
    func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if already { return }
        if process.isRunning {
            let pid = process.processIdentifier
            kill(pid, SIGTERM)
            if !waitForExit(seconds: 3) {
                kill(pid, SIGKILL)
                _ = waitForExit(seconds: 3)
            }
        }
        removePidFile()
        if !TestEnvironment.flag("REDIS_UV_KEEP_TEST_DIRS") {
            try? FileManager.default.removeItem(at: workDirectory)
        }
    }

    /// Sends a signal (e.g. SIGHUP, SIGINT) to the server without waiting.
    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for the process to exit on its own (e.g. after SHUTDOWN);
    /// returns its exit status, or nil when it is still running after `seconds`.
    func waitForExit(timeout seconds: TimeInterval) -> Int32? {
        waitForExit(seconds: seconds) ? process.terminationStatus : nil
    }

    private func waitForExit(seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    private var pidFile: URL? {
        guard let dir = TestEnvironment.environment["REDIS_UV_TEST_PIDDIR"], !dir.isEmpty else { return nil }
        return URL(fileURLWithPath: dir).appendingPathComponent(String(process.processIdentifier))
    }

    private func writePidFile() {
        guard let pidFile else { return }
        _ = FileManager.default.createFile(atPath: pidFile.path, contents: Data(commandLine.utf8))
    }

    private func removePidFile() {
        guard let pidFile else { return }
        try? FileManager.default.removeItem(at: pidFile)
    }

    /// util-linux `setpriv` when it supports --pdeathsig (Debian: always
    /// installed); REDIS_UV_TEST_NO_PDEATHSIG=1 turns the wrapper off.
    /// Note: the death signal fires when the *thread* that started the server
    /// exits, so start servers from the test's own thread (as XCTest does).
    static let parentDeathWrapper: String? = {
        guard !TestEnvironment.flag("REDIS_UV_TEST_NO_PDEATHSIG"),
              let setpriv = TestEnvironment.which("setpriv"),
              let probe = try? runProcess(setpriv, ["--pdeathsig", "KILL", "--", "/bin/true"], timeout: 5),
              probe.status == 0 else { return nil }
        return setpriv
    }()

    private static func canConnect(port: Int) -> Bool {
        guard let conn = try? RespConnection(port: port, timeout: 0.2) else { return false }
        conn.close()
        return true
    }
}
