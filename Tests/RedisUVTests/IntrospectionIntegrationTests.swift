import XCTest
import Foundation

/// MONITOR, the slow log of blocked commands, latency histograms and MODULE with
/// enable-module-command: what needs a second connection or a server option. Each test
/// runs the same steps on redis-server 7.0.15 and on redis-uv and compares what they
/// send, with timestamps, durations and client ports masked.
final class IntrospectionIntegrationTests: XCTestCase {
    private var servers: [ServerProcess] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers = []
        super.tearDown()
    }

    private func start(_ kind: ServerProcess.Kind, _ args: [String] = []) throws -> ServerProcess {
        let s = try ServerProcess.start(kind, arguments: args)
        servers.append(s)
        return s
    }

    private var kinds: [ServerProcess.Kind] {
        TestEnvironment.redisServerBinary == nil ? [.redisUV] : [.redisServer, .redisUV]
    }

    /// A monitor line with its timestamp and client port masked; checks the timestamp's
    /// form (`+<seconds>.<6 digits> `) on the way.
    private func masked(_ reply: [UInt8], _ file: StaticString = #filePath, _ line: UInt = #line) -> String {
        let s = String(decoding: reply, as: UTF8.self)
        let ts = try! NSRegularExpression(pattern: "^\\+[0-9]{10}\\.[0-9]{6} ")
        let range = NSRange(s.startIndex..., in: s)
        XCTAssertNotNil(ts.firstMatch(in: s, range: range), "monitor line form: \(s)", file: file, line: line)
        var out = ts.stringByReplacingMatches(in: s, range: range, withTemplate: "+TS ")
        out = out.replacingOccurrences(of: "127\\.0\\.0\\.1:[0-9]+", with: "ADDR", options: .regularExpression)
        return out
    }

    /// Reads monitor lines until the one showing `ECHO <marker>`.
    private func monitorLines(_ m: RespConnection, until marker: String) throws -> [String] {
        var lines: [String] = []
        while true {
            let l = masked(try m.readReply())
            lines.append(l)
            if l.contains("\"ECHO\" \"\(marker)\"") || lines.count > 200 { return lines }
        }
    }

    func testMonitorLinesMatchRedis() throws {
        var results: [[String]] = []
        for kind in kinds {
            let s = try start(kind)
            let m = try s.connect()
            let c = try s.connect()
            XCTAssertEqual(try m.callString("MONITOR"), "+OK\r\n")
            try c.send(command: [Array("SET".utf8), Array("k".utf8), [0x78, 0x20, 0x22, 0x5c, 0x0a, 0x0d, 0x09, 0x07, 0x08, 0x01, 0xc3, 0xa9]])
            _ = try c.readReply()
            for cmd in [["MULTI"], ["SET", "a", "1"], ["GET", "a"], ["EXEC"],
                        ["MULTI"], ["SET", "a", "1"], ["NOSUCHCOMMAND"], ["EXEC"],
                        ["MULTI"], ["CONFIG", "GET", "maxmemory"], ["EXEC"], ["EXEC"],
                        ["EVAL", "redis.call('set', KEYS[1], 'v'); return redis.call('get', KEYS[1])", "1", "k2"],
                        ["EVALSHA", "0000000000000000000000000000000000000000", "0"],
                        ["AUTH", "secret"], ["AUTH", "user", "secret"], ["AUTH", "a", "b", "c"],
                        ["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "n"],
                        ["CLIENT", "SETNAME", "x"], ["CLIENT", "LIST"], ["SLOWLOG", "LEN"], ["CONFIG", "SET", "maxmemory", "0"],
                        ["SELECT", "3"], ["SET", "12345", "-7"], ["GET"], ["BLPOP", "nolist", "0.01"],
                        ["ECHO", "end"]] {
                try c.send(command: cmd)
                _ = try c.readReply()
            }
            results.append(try monitorLines(m, until: "end"))
        }
        let lines = results.last!
        XCTAssertEqual(lines.first, "+TS [0 ADDR] \"SET\" \"k\" \"x \\\"\\\\\\n\\r\\t\\a\\b\\x01\\xc3\\xa9\"\r\n")
        XCTAssertTrue(lines.contains("+TS [0 lua] \"set\" \"k2\" \"v\"\r\n"), "\(lines)")
        XCTAssertTrue(lines.contains("+TS [0 ADDR] \"AUTH\" \"(redacted)\" \"(redacted)\"\r\n"), "\(lines)")
        XCTAssertTrue(lines.contains("+TS [0 ADDR] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"n\"\r\n"), "\(lines)")
        XCTAssertTrue(lines.contains("+TS [3 ADDR] \"SELECT\" \"3\"\r\n"), "\(lines)")
        XCTAssertFalse(lines.contains { $0.contains("CONFIG") || $0.contains("SLOWLOG") || $0.contains("NOSUCHCOMMAND") }, "\(lines)")
        if results.count == 2 { XCTAssertEqual(results[1], results[0], "redis-uv's monitor lines differ from redis-server's") }
    }

    /// The monitoring client: flag O, kept off the keyspace, MONITOR again answers nothing,
    /// RESET ends it, MULTI refuses it at EXEC, the master link is shown like any client.
    func testMonitorClientState() throws {
        var transcripts: [[String]] = []
        for kind in kinds {
            let s = try start(kind)
            let m = try s.connect()
            let other = try s.connect()
            var t: [String] = []
            func note(_ r: [UInt8]) { t.append(masked(r)) }
            func raw(_ r: [UInt8]) { t.append(String(decoding: r, as: UTF8.self)) }
            raw(try m.call("MONITOR"))
            let list = try other.callString("CLIENT", "LIST")
            XCTAssertTrue(list.contains("flags=O "), list)
            raw(try m.call("GET", "k"))
            raw(try m.call("SET", "k", "v"))
            try m.send(command: ["MONITOR"])
            raw(try m.call("PING"))          // MONITOR again sent nothing: PING's +PONG comes first
            note(try m.readReply())          // then PING as seen by the monitor itself
            raw(try m.call("RESET"))
            _ = try other.call("SET", "after", "reset")
            raw(try m.call("PING"))          // nothing from the SET arrived in between
            let q = try s.connect()
            raw(try q.call("MULTI"))
            raw(try q.call("MONITOR"))
            raw(try q.call("EXEC"))
            transcripts.append(t)
        }
        XCTAssertEqual(transcripts.last!, [
            "+OK\r\n",
            "-ERR Replica can't interact with the keyspace\r\n",
            "-ERR Replica can't interact with the keyspace\r\n",
            "+PONG\r\n",
            "+TS [0 ADDR] \"PING\"\r\n",
            "+RESET\r\n",
            "+PONG\r\n",
            "+OK\r\n", "+QUEUED\r\n", "*1\r\n-ERR MONITOR isn't allowed for DENY BLOCKING client\r\n",
        ])
        if transcripts.count == 2 { XCTAssertEqual(transcripts[1], transcripts[0]) }
    }

    /// A blocked command is logged when it is served, after the command that served it.
    func testSlowlogOfBlockedCommand() throws {
        var shapes: [[String]] = []
        for kind in kinds {
            let s = try start(kind, ["--slowlog-log-slower-than", "0"])
            let a = try s.connect()
            let b = try s.connect()
            _ = try a.call("SLOWLOG", "RESET")
            try a.send(command: ["BLPOP", "q", "0"])
            // BLPOP is parked once the server answers b's command after it.
            var tries = 0
            while !(try b.callString("CLIENT", "LIST")).contains("cmd=blpop") && tries < 10_000 { tries += 1 }
            _ = try b.call("SLOWLOG", "RESET")
            _ = try b.call("RPUSH", "q", "x")
            _ = try a.readReply()
            let log = try b.callString("SLOWLOG", "GET")
            let names = log.components(separatedBy: "\r\n").filter { ["BLPOP", "RPUSH", "SLOWLOG"].contains($0) }
            shapes.append(names)
        }
        XCTAssertEqual(shapes.last!, ["BLPOP", "RPUSH", "SLOWLOG"])
        if shapes.count == 2 { XCTAssertEqual(shapes[1], shapes[0]) }
    }

    /// LATENCY HISTOGRAM's shape and counts, INFO latencystats, latency-tracking.
    func testLatencyHistogramAndInfo() throws {
        for kind in kinds {
            let s = try start(kind)
            let c = try s.connect()
            _ = try c.call("CONFIG", "RESETSTAT")
            for _ in 0..<3 { _ = try c.call("SET", "k", "v") }
            _ = try c.call("CONFIG", "GET", "maxmemory")
            let h = try c.callString("LATENCY", "HISTOGRAM", "set", "config", "nosuch")
            XCTAssertTrue(h.hasPrefix("*6\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:3\r\n$14\r\nhistogram_usec\r\n*"), "\(kind): \(h)")
            XCTAssertTrue(h.contains("$10\r\nconfig|get\r\n*4\r\n$5\r\ncalls\r\n:1\r\n"), "\(kind): \(h)")
            // Buckets are powers of two microseconds (1, 2, 4, 8, 16, 33, 66...) with
            // cumulative counts ending at the total.
            let info = try c.callString("INFO", "latencystats")
            let line = try NSRegularExpression(pattern: "latency_percentiles_usec_set:p50=[0-9]+\\.[0-9]{3},p99=[0-9]+\\.[0-9]{3},p99\\.9=[0-9]+\\.[0-9]{3}\r\n")
            XCTAssertNotNil(line.firstMatch(in: info, range: NSRange(info.startIndex..., in: info)), "\(kind): \(info)")
            XCTAssertTrue(info.contains("latency_percentiles_usec_config|get:"), "\(kind): \(info)")
            _ = try c.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 100")
            XCTAssertTrue(try c.callString("INFO", "latencystats").contains("latency_percentiles_usec_set:p0="), "\(kind)")
            _ = try c.call("CONFIG", "SET", "latency-tracking", "no")
            XCTAssertEqual(try c.callString("INFO", "latencystats"), "$16\r\n# Latencystats\r\n\r\n", "\(kind)")
            _ = try c.call("SET", "k", "v")
            XCTAssertTrue(try c.callString("LATENCY", "HISTOGRAM", "set").contains(":3\r\n$14\r\nhistogram_usec"), "\(kind): not recorded while off")
            _ = try c.call("CONFIG", "RESETSTAT")
            XCTAssertEqual(try c.callString("LATENCY", "HISTOGRAM", "set"), "*0\r\n", "\(kind)")
        }
    }

    /// With enable-module-command yes the loads reach the loader, which cannot load
    /// Redis C modules here; the answers are Redis's answers to a failed load.
    func testModuleCommandsWhenEnabled() throws {
        for kind in kinds {
            let s = try start(kind, ["--enable-module-command", "yes"])
            let c = try s.connect()
            XCTAssertEqual(try c.callString("MODULE", "LOAD", "/nonexistent/module.so"),
                           "-ERR Error loading the extension. Please check the server logs.\r\n", "\(kind)")
            XCTAssertEqual(try c.callString("MODULE", "LOADEX", "/nonexistent/module.so", "CONFIG", "a", "b", "ARGS", "x"),
                           "-ERR Error loading the extension. Please check the server logs.\r\n", "\(kind)")
            XCTAssertEqual(try c.callString("MODULE", "UNLOAD", "nosuch"),
                           "-ERR Error unloading module: no such module with that name\r\n", "\(kind)")
            XCTAssertEqual(try c.callString("MODULE", "LIST"), "*0\r\n", "\(kind)")
        }
    }

    /// LATENCY with an event: LATEST / HISTORY / GRAPH / DOCTOR shapes after a slow script.
    func testLatencyEventFromSlowScript() throws {
        var graphs: [String] = []
        for kind in kinds {
            let s = try start(kind, ["--latency-monitor-threshold", "1"])
            let c = try s.connect()
            // Spin until the script has run at least 2 ms by its own clock (no wall-clock
            // assertion: only that an event of at least 1 ms is then recorded).
            _ = try c.call("EVAL", "local t = redis.call('time'); local s = t[1]*1000000+t[2]; local n = s; while n - s < 2000 do local u = redis.call('time'); n = u[1]*1000000+u[2] end return 1", "0")
            let latest = try c.callString("LATENCY", "LATEST")
            XCTAssertTrue(latest.hasPrefix("*1\r\n*4\r\n$7\r\ncommand\r\n:"), "\(kind): \(latest)")
            let history = try c.callString("LATENCY", "HISTORY", "command")
            XCTAssertTrue(history.hasPrefix("*1\r\n*2\r\n:"), "\(kind): \(history)")
            var graph = try c.callString("LATENCY", "GRAPH", "command")
            // Latencies, the "seconds ago" label and so the reply length vary: digits masked.
            graph = graph.replacingOccurrences(of: "[0-9]+", with: "N", options: .regularExpression)
            graphs.append(graph)
            let doctor = try c.callString("LATENCY", "DOCTOR")
            XCTAssertTrue(doctor.contains("Dave, I have observed latency spikes in this Redis instance."), "\(kind): \(doctor)")
            XCTAssertTrue(doctor.contains("1. command: 1 latency spikes (average "), "\(kind): \(doctor)")
            XCTAssertEqual(try c.callString("LATENCY", "RESET"), ":1\r\n", "\(kind)")
        }
        XCTAssertTrue(graphs.last!.contains("command - high N ms, low N ms (all time high N ms)\n" + String(repeating: "-", count: 80) + "\n"), graphs.last!)
        if graphs.count == 2 { XCTAssertEqual(graphs[1], graphs[0]) }
    }
}
