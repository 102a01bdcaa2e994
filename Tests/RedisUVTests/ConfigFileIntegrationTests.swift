import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// Issue 15, "a user's redis.conf must load and mean what it says": Debian's stock
/// redis.conf and Redis 7.0.15's own example file load and serve; CONFIG GET * has the
/// same names and values as redis-server's; the Unix-domain socket, the process title and
/// oom_score_adj behave as redis-server's do.
final class ConfigFileIntegrationTests: ReplicationTestCase {
    static let debianConf = "/etc/redis/redis.conf"
    static var fixtureConf: URL {
        TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/redis-7.0.15.conf")
    }

    /// Parameters whose values must differ between the two servers, and why.
    static let mustDiffer: [String: String] = [
        "port": "each server listens on its own free port",
        "dir": "each server runs in its own scratch directory",
        "pidfile": "a per-server path",
        "logfile": "a per-server path",
        "unixsocket": "a per-server path",
        "rdb-version": "redis-uv's own parameter (the RDB version it writes); redis-server has none",
    ]

    // MARK: helpers

    /// `source` with only the lines that must be per-server replaced (Debian's daemonize
    /// yes would fork away; its dir, logfile and pidfile are the system service's, and
    /// removing that pidfile at exit would break a running service).
    private func adjustedConf(_ source: String, dir: URL, port: Int, unixsocket: String?) -> String {
        var out: [String] = []
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            let l = String(line)
            if l.hasPrefix("daemonize ") { out.append("daemonize no") }
            else if l.hasPrefix("dir ") { out.append("dir \(dir.path)") }
            else if l.hasPrefix("logfile ") { out.append("logfile \"\"") }
            else if l.hasPrefix("pidfile ") { out.append("pidfile \(dir.path)/server.pid") }
            else if l.hasPrefix("port ") { out.append("port \(port)") }
            else if l.hasPrefix("# unixsocket "), let unixsocket { out.append("unixsocket \(unixsocket)") }
            else { out.append(l) }
        }
        return out.joined(separator: "\n")
    }

    private func startWithConf(_ kind: ServerProcess.Kind, source: String, unixsocket: Bool) throws -> (ServerProcess, URL) {
        let dir = try tempDir()
        let conf = dir.appendingPathComponent("redis.conf")
        let sock = unixsocket ? dir.appendingPathComponent("s.sock").path : nil
        // The port line is rewritten by ServerProcess's --port too (it wins, being later).
        try adjustedConf(source, dir: dir, port: 0, unixsocket: sock).write(to: conf, atomically: true, encoding: .utf8)
        let s = try ServerProcess.start(kind, configFile: conf.path)
        servers.append(s)
        return (s, dir)
    }

    private func configAll(_ s: ServerProcess) throws -> [String: String] {
        let c = try s.connect()
        defer { c.close() }
        let v = try call(c, "CONFIG", "GET", "*")
        var out: [String: String] = [:]
        var i = 0
        while i + 1 < v.children.count {
            out[v.children[i].text ?? "?"] = v.children[i + 1].text ?? "?"
            i += 2
        }
        return out
    }

    private func compareConfig(_ uv: ServerProcess, _ rs: ServerProcess, file: StaticString = #filePath, line: UInt = #line) throws {
        let a = try configAll(uv), b = try configAll(rs)
        let onlyRedis = Set(b.keys).subtracting(a.keys).sorted()
        let onlyUV = Set(a.keys).subtracting(b.keys).subtracting(Self.mustDiffer.keys).sorted()
        XCTAssertEqual(onlyRedis, [], "parameters redis-server has and redis-uv lacks", file: file, line: line)
        XCTAssertEqual(onlyUV, [], "parameters redis-uv has and redis-server lacks", file: file, line: line)
        for (name, value) in b.sorted(by: { $0.key < $1.key }) where Self.mustDiffer[name] == nil {
            XCTAssertEqual(a[name], value, "CONFIG GET \(name)", file: file, line: line)
        }
        XCTAssertGreaterThan(b.count, 180)
    }

    private func debianSource() throws -> String {
        guard let s = try? String(contentsOfFile: Self.debianConf, encoding: .utf8) else {
            let message = "SKIPPED LOUDLY: \(Self.debianConf) is absent (scripts/install-deps --test installs redis-server, which provides it)"
            harnessLog(message)
            throw XCTSkip(message)
        }
        return s
    }

    // MARK: Debian's stock redis.conf

    func testDebianStockRedisConfLoadsAndServes() throws {
        let (s, dir) = try startWithConf(.redisUV, source: try debianSource(), unixsocket: true)
        let c = try s.connect()
        defer { c.close() }
        XCTAssertEqual(try raw(c, "SET", "k", "v"), "+OK\r\n")
        XCTAssertEqual(try raw(c, "GET", "k"), "$1\r\nv\r\n")
        let u = try RespConnection(unixPath: dir.appendingPathComponent("s.sock").path)
        defer { u.close() }
        XCTAssertEqual(try raw(u, "GET", "k"), "$1\r\nv\r\n")
        let cfg = try configAll(s)
        XCTAssertEqual(cfg["proc-title-template"], "{title} {listen-addr} {server-mode}")
        XCTAssertEqual(cfg["oom-score-adj-values"], "0 200 800")
        XCTAssertEqual(cfg["disable-thp"], "yes")
        XCTAssertEqual(cfg["jemalloc-bg-thread"], "yes")
        XCTAssertEqual(cfg["client-output-buffer-limit"], "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        XCTAssertEqual(cfg["save"], "", "ServerProcess's --save '' comes after the file")
    }

    /// Both servers started with Debian's file: the same CONFIG GET *.
    func testDebianStockRedisConfGivesRedisServersConfig() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let source = try debianSource()
        let (uv, _) = try startWithConf(.redisUV, source: source, unixsocket: true)
        let (rs, _) = try startWithConf(.redisServer, source: source, unixsocket: true)
        try compareConfig(uv, rs)
    }

    /// No config file at all: the compiled-in defaults of every parameter match.
    func testConfigGetAllMatchesRedisServerDefaults() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let uv = try startServer(.redisUV)
        let rs = try startServer(.redisServer)
        try compareConfig(uv, rs)
    }

    /// CONFIG SET of the parameters added for Debian's file: same replies, errors included.
    func testConfigSetValidationMatchesRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let cases: [[String]] = [
            ["proc-title-template", "{foo}"], ["proc-title-template", "{title"], ["proc-title-template", ""],
            ["proc-title-template", "{server-mode}"], ["proc-title-template", "{{title}} x"],
            ["proc-title-template", "{title} {listen-addr} {server-mode}"],
            ["oom-score-adj", "bogus"], ["oom-score-adj", "relative"], ["oom-score-adj", "no"],
            ["oom-score-adj-values", "1 2"], ["oom-score-adj-values", "a b c"], ["oom-score-adj-values", "-2001 0 0"],
            ["oom-score-adj-values", "0 200 800"],
            ["always-show-logo", "yes"], ["set-proc-title", "no"], ["disable-thp", "no"],
            ["crash-log-enabled", "maybe"], ["crash-log-enabled", "yes"], ["crash-memcheck-enabled", "no"],
            ["jemalloc-bg-thread", "no"], ["activedefrag", "yes"], ["activedefrag", "no"],
            ["active-defrag-cycle-min", "0"], ["active-defrag-cycle-max", "100"], ["active-defrag-ignore-bytes", "0"],
            ["active-defrag-ignore-bytes", "200mb"], ["active-defrag-max-scan-fields", "0"],
            ["syslog-enabled", "yes"], ["syslog-facility", "local1"], ["syslog-ident", "x"],
            ["server_cpulist", "0-1"], ["ignore-warnings", "ARM64-COW-BUG"], ["bind-source-addr", "127.0.0.1"],
            ["socket-mark-id", "1"], ["unixsocket", "/tmp/x"], ["unixsocketperm", "700"],
            ["cluster-announce-hostname", "a_b"], ["cluster-announce-hostname", "h-1.example"],
            ["cluster-preferred-endpoint-type", "x"], ["cluster-preferred-endpoint-type", "hostname"],
            ["cluster-node-timeout", "-1"], ["cluster-port", "1"], ["cluster-config-file", "x"],
            ["cluster-slave-validity-factor", "3"], ["cluster-link-sendbuf-limit", "1gb"],
            ["tls-port", "70000"], ["tls-port", "0"], ["tls-auth-clients", "x"], ["tls-auth-clients", "optional"],
            ["tls-session-cache-size", "-1"], ["tls-protocols", "TLSv1.2"], ["tls-replication", "maybe"],
            ["use-exit-on-panic", "yes"], ["watchdog-period", "-1"],
        ]
        func run(_ kind: ServerProcess.Kind) throws -> [String] {
            let s = try startServer(kind)
            let c = try s.connect()
            defer { c.close() }
            var out: [String] = []
            for a in cases {
                var line = a.joined(separator: " ") + " -> " + (try raw(c, "CONFIG", "SET", a[0], a[1]))
                line += " / " + (try raw(c, "CONFIG", "GET", a[0]))
                out.append(line)
            }
            return out
        }
        let expected = try run(.redisServer)
        let got = try run(.redisUV)
        for (e, g) in zip(expected, got) { XCTAssertEqual(g, e) }
    }

    // MARK: Redis 7.0.15's example redis.conf

    /// Every uncommented line of the example file loads as it is (in process, through
    /// the same loader as start-up), and the server started with it serves.
    func testRedis70ExampleConfLoadsEveryDefaultLine() throws {
        let source = try String(contentsOf: Self.fixtureConf, encoding: .utf8)
        var config = ServerConfig()
        let lines = source.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.trimmingCharacters(in: " ").isEmpty }
        XCTAssertGreaterThan(lines.count, 60)
        for l in lines {
            XCTAssertNoThrow(try ConfigLoader.applyText(String(l), to: &config, source: "fixture"), String(l))
        }
        let (s, _) = try startWithConf(.redisUV, source: source, unixsocket: true)
        let c = try s.connect()
        defer { c.close() }
        XCTAssertEqual(try raw(c, "PING"), "+PONG\r\n")
    }

    /// Every directive the example file shows commented out ("# name value") is a
    /// directive redis-uv knows: it may refuse a placeholder value ("<masterip>") as
    /// Redis does, never the name. redis-server tells directives from prose: a word is a
    /// directive when its CONFIG GET answers it.
    func testRedis70ExampleConfEveryCommentedDirectiveIsKnown() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let source = try String(contentsOf: Self.fixtureConf, encoding: .utf8)
        let rs = try startServer(.redisServer)
        let rc = try rs.connect()
        defer { rc.close() }
        // Directives outside CONFIG: handled by the loader itself ("user", "include"), or
        // not implemented, and why.
        let loaderDirectives = ["include", "user"]
        let notImplemented: [String: String] = [
            "loadmodule": "no module API",
            "rename-command": "commands cannot be renamed yet",
        ]
        var checked: Set<String> = []
        var unknown: [String] = []
        for raw in source.split(separator: "\n") where raw.hasPrefix("# ") {
            let words = raw.dropFirst(2).split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 2, let name = words.first.map(String.init),
                  name.allSatisfy({ $0.isLowercase || $0 == "-" || $0 == "_" }) else { continue }
            if notImplemented[name] != nil { continue }
            if !loaderDirectives.contains(name) {
                let v = try call(rc, "CONFIG", "GET", name)
                if v.children.isEmpty { continue }  // prose, not a directive
            }
            var config = ServerConfig()
            do {
                try ConfigLoader.applyText(String(raw.dropFirst(2)), to: &config, source: "fixture")
            } catch {
                if error.description.contains("Bad directive") { unknown.append(String(raw)) }
            }
            checked.insert(name)
        }
        XCTAssertEqual(unknown, [])
        XCTAssertGreaterThan(checked.count, 80, "\(checked.sorted())")
    }

    // MARK: Unix-domain socket

    /// One scenario on a server: stale file replaced, unixsocketperm applied, a raw client
    /// and redis-cli -s served, CLIENT LIST's unix fields, CLIENT KILL ADDR, file removed
    /// at shutdown. Paths are normalized so both servers' results compare.
    private func unixScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let dir = try tempDir()
        let path = dir.appendingPathComponent("r.sock").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("stale".utf8)))
        let s = try startServer(kind, ["--unixsocket", path, "--unixsocketperm", "750"])
        var seen: [String] = []
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        seen.append("is socket: \((st.st_mode & S_IFMT) == S_IFSOCK)")
        seen.append("mode: " + String(st.st_mode & 0o777, radix: 8))
        let u = try RespConnection(unixPath: path)
        defer { u.close() }
        seen.append("PING -> " + (try raw(u, "PING")))
        try call(u, "CLIENT", "SETNAME", "unixclient")
        let info = try text(u, "CLIENT", "INFO")
        func normalized(_ line: String) -> String {
            line.trimmingCharacters(in: "\r\n").split(separator: " ").map { f -> String in
                let parts = f.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let k = String(parts[0]), v = parts.count > 1 ? String(parts[1]) : ""
                switch k {
                case "addr", "laddr", "flags", "name", "cmd", "user", "db", "resp", "multi", "sub", "psub", "ssub", "redir":
                    return "\(k)=" + v.replacingOccurrences(of: path, with: "PATH")
                default: return k   // numbers (id, fd, age, buffers) differ between servers
                }
            }.joined(separator: " ")
        }
        seen.append("CLIENT INFO: " + normalized(info))
        let list = try text(u, "CLIENT", "LIST")
        seen.append("CLIENT LIST: " + normalized(String(list.split(separator: "\n").first { $0.contains("name=unixclient") } ?? "")))
        let cli = try runProcess(TestEnvironment.redisCLIBinary ?? "/usr/bin/redis-cli", ["-s", path, "PING"])
        seen.append("redis-cli -s -> " + cli.stdoutString)
        let victim = try RespConnection(unixPath: path)
        defer { victim.close() }
        try call(victim, "PING")
        seen.append("CLIENT KILL ADDR -> " + (try raw(u, "CLIENT", "KILL", "ADDR", path + ":0", "SKIPME", "yes")))
        seen.append("victim closed: \(victim.isClosed(timeout: 5))")
        let tcp = try s.connect()
        defer { tcp.close() }
        try tcp.send(command: ["SHUTDOWN", "NOSAVE"])
        _ = s.waitForExit(timeout: 10)
        seen.append("file after shutdown: \(FileManager.default.fileExists(atPath: path))")
        return seen
    }

    func testUnixSocketServesAsRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil, TestEnvironment.redisCLIBinary != nil else {
            throw XCTSkip("redis-server/redis-cli not installed")
        }
        let expected = try unixScenario(.redisServer)
        let got = try unixScenario(.redisUV)
        XCTAssertEqual(got, expected)
        XCTAssertTrue(expected.contains("mode: 750"), "\(expected)")
        XCTAssertTrue(got.contains { $0.contains("addr=PATH:0 laddr=PATH:0") && $0.contains("flags=U") }, "\(got)")
    }

    // MARK: process title and oom_score_adj

    private func cmdline(_ pid: Int32) -> String {
        let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        var b = Array(bytes)
        while b.last == 0 { b.removeLast() }
        return String(decoding: b.map { $0 == 0 ? UInt8(ascii: "|") : $0 }, as: UTF8.self)
    }

    private func titleScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let dir = try tempDir()
        let path = dir.appendingPathComponent("t.sock").path
        let s = try startServer(kind, ["--unixsocket", path,
                                       "--proc-title-template", "{title} {listen-addr} {server-mode} port={port} tls={tls-port} unix={unixsocket} conf={config-file}"])
        func norm(_ t: String) -> String {
            t.replacingOccurrences(of: s.executable, with: "EXE").replacingOccurrences(of: String(s.port), with: "PORT")
                .replacingOccurrences(of: path, with: "PATH")
        }
        // A served command means start-up is over: Redis sets the title after it listens.
        let c = try s.connect()
        defer { c.close() }
        try call(c, "PING")
        var seen = ["start: " + norm(cmdline(s.pid))]
        seen.append(try raw(c, "CONFIG", "SET", "proc-title-template", "{title}  {port} "))
        seen.append("after CONFIG SET: " + norm(cmdline(s.pid)))
        let quiet = try startServer(kind, ["--set-proc-title", "no"])
        let qc = try quiet.connect()
        defer { qc.close() }
        try call(qc, "PING")
        seen.append("set-proc-title no: " + cmdline(quiet.pid).replacingOccurrences(of: quiet.executable, with: "EXE")
                        .replacingOccurrences(of: String(quiet.port), with: "PORT"))
        return seen
    }

    func testProcessTitleAsRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let expected = try titleScenario(.redisServer)
        let got = try titleScenario(.redisUV)
        XCTAssertEqual(got, expected)
        // (An empty {server-mode} leaves its two spaces: only the ends are trimmed.)
        XCTAssertEqual(got.first, "start: EXE 127.0.0.1:PORT  port=PORT tls=0 unix=PATH conf=-")
    }

    private func oomScore(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/oom_score_adj", encoding: .utf8)) ?? "?")
            .trimmingCharacters(in: "\n")
    }

    private func oomScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let s = try startServer(kind, ["--oom-score-adj", "absolute", "--oom-score-adj-values", "11 22 33"])
        let c = try s.connect()
        defer { c.close() }
        try call(c, "PING")  // start-up is over (oom_score_adj is set after listening)
        var seen = ["absolute at start: " + oomScore(s.pid)]
        try call(c, "CONFIG", "SET", "oom-score-adj-values", "101 202 303")
        seen.append("new values: " + oomScore(s.pid))
        try call(c, "CONFIG", "SET", "oom-score-adj", "no")
        seen.append("no: " + oomScore(s.pid))
        try call(c, "CONFIG", "SET", "oom-score-adj", "relative")
        seen.append("relative: " + oomScore(s.pid))
        try call(c, "REPLICAOF", "127.0.0.1", String(try FreePort.find()))
        seen.append("replica: " + oomScore(s.pid))
        try call(c, "REPLICAOF", "NO", "ONE")
        seen.append("master again: " + oomScore(s.pid))
        try call(c, "CONFIG", "SET", "oom-score-adj-values", "2000 2000 2000")
        seen.append("clamped: " + oomScore(s.pid))
        return seen
    }

    func testOOMScoreAdjAsRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
        let base = oomScore(getpid())
        let expected = try oomScenario(.redisServer)
        let got = try oomScenario(.redisUV)
        XCTAssertEqual(got, expected)
        XCTAssertEqual(got.first, "absolute at start: 11")
        XCTAssertEqual(got[2], "no: \(base)")
    }

    /// always-show-logo yes: the logo goes to the log even though stdout is not a terminal.
    func testAlwaysShowLogo() throws {
        let s = try startServer(.redisUV, ["--always-show-logo", "yes"])
        XCTAssertTrue(s.log.contains("Running in standalone mode"), s.log)
        let plain = try startServer(.redisUV)
        XCTAssertTrue(plain.log.contains("Running mode=standalone, port=\(plain.port)."), plain.log)
    }

    /// A parameter without a mechanism here says so, once, in the log.
    func testInertParameterIsLoggedAsHavingNoEffect() throws {
        let s = try startServer(.redisUV, ["--jemalloc-bg-thread", "no"])
        XCTAssertTrue(s.log.contains("jemalloc-bg-thread no: accepted, no effect here"), s.log)
    }
}
