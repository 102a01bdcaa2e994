import Foundation
import XCTest

/// SCRIPT DEBUG and the Lua debugger (eval.c's LDB, what `redis-cli --ldb` speaks): the
/// same sessions run against redis-server and redis-uv give the same bytes, pointers in
/// value dumps ("function@0x...") aside.
final class LuaDebuggerTests: XCTestCase {
    /// One debugging session: SCRIPT DEBUG mode, EVAL script, then debugger commands.
    /// Each command is answered by one reply; the one that ends the session by the
    /// `<endsession>` log, the EVAL's reply, and the connection closing.
    struct Session {
        var mode = "sync"
        let script: String
        var keys: [String] = []
        var args: [String] = []
        let commands: [[String]]
        /// Raw bytes sent instead of the commands (the debugger's own parser).
        var raw: [[UInt8]] = []
    }

    static let sessions: [Session] = [
        // stepping, printing, listing, breakpoints, trace, eval, redis, maxlen
        Session(script: "local a = 1\nlocal t = {1,2,'x',{y=3}}\nredis.call('set', KEYS[1], ARGV[1])\nredis.debug('dbg', a, t)\nlocal v = redis.call('get', KEYS[1])\nredis.breakpoint()\nreturn v\n",
                keys: ["k"], args: ["val"],
                commands: [["help"], ["s"], ["p"], ["p", "t"], ["p", "KEYS"], ["p", "ARGV"], ["p", "zz"], ["l"], ["l", "2", "1"], ["w"],
                           ["b"], ["b", "5"], ["b", "-5"], ["b", "0"], ["b", "x", "99"], ["b", "6"], ["b", "3", "4", "5"], ["b", "-4"], ["b"],
                           ["b", "0"], ["b", "6"], ["t"], ["e", "1+1"], ["e", "x = "], ["e", "redis.call('ping')"], ["r", "incr", "cnt"],
                           ["r", "set", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"], ["m"], ["m", "10"],
                           ["r", "get", "k"], ["m", "0"], ["bogus"], ["n"], ["c"], ["c"], ["c"]]),
        // values: numbers, functions, long strings trimmed, tables, nesting, escapes
        Session(script: "local n = 3.5\nlocal f = function() return 1 end\nlocal big = string.rep('x', 300)\nlocal tt = {a=1}\nlocal t = {}\nt[1]=t\nreturn {n, 'two', 3}\n",
                commands: [["s"], ["s"], ["s"], ["s"], ["s"], ["s"], ["p"], ["p", "big"], ["p", "t"], ["e", "nil"], ["e", "true"],
                           ["e", "1/3"], ["e", "'a\\nb\\0'"], ["e", "{1,nil,3}"], ["e", "{[1.5]=2}"], ["m", "abc"], ["p", "big"], ["r", "ping"],
                           ["r", "hset", "h", "f", "v"], ["r", "hgetall", "h"], ["r", "hello", "3"], ["r", "nosuch"], ["r", "get"],
                           ["r", "del", "nolist"], ["r", "lpop", "nolist"], ["t"], ["c"]]),
        // functions, trace from inside one
        Session(script: "local function inner()\n  return redis.call('incr', 'q')\nend\nreturn inner()\n",
                commands: [["s"], ["t"], ["s"], ["p"], ["s"]]),
        // abort, compile errors, empty script, shebang, odd arguments
        Session(script: "redis.call('set','x','1')\nreturn redis.call('get','x')", commands: [["a"]]),
        Session(script: "return 1 +", commands: []),
        Session(script: "", commands: [["c"]]),
        Session(script: "return 1\n\n\n", commands: [["c"]]),
        Session(script: "#!lua flags=no-writes\nlocal a = 1\nreturn a", commands: [["w"], ["r", "set", "x", "1"], ["c"]]),
        Session(script: "local a = 1\nreturn a", commands: [["r"], ["e"], ["p", "a", "b"], ["b", "1", "2", "1"], ["b", "-3"],
                                                        ["l", "-1"], ["l", "0", "0"], ["c"], ["c"]]),
        // the debugger's own protocol parser
        Session(script: "local a = 1\nreturn a", commands: [], raw: [Array("garbage\r\n".utf8)]),
        Session(script: "local a = 1\nreturn a", commands: [], raw: [Array("*1\r\n$0\r\n\r\n".utf8)]),
        Session(script: "local a = 1\nreturn a", commands: [], raw: [Array("*1\r\n$1\r\np\r\n*1\r\n$1\r\nc\r\n".utf8), Array("*1\r\n$1\r\nc\r\n".utf8)]),
        // forked: the same protocol, in a child
        Session(mode: "yes", script: "redis.call('set','forked','1')\nreturn redis.call('get','forked')", commands: [["s"], ["p"], ["c"]]),
    ]

    func testSessionsMatchRedisServer() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("SKIPPED: redis-server not installed") }
        let reference = try ServerProcess.start(.redisServer)
        defer { reference.stop() }
        let subject = try ServerProcess.start(.redisUV)
        defer { subject.stop() }
        for (i, session) in Self.sessions.enumerated() {
            let theirs = try Self.run(session, on: reference)
            let mine = try Self.run(session, on: subject)
            XCTAssertEqual(mine, theirs, "session \(i): \(session.script.debugDescription)")
            XCTAssertTrue(theirs.contains { $0.contains("<endsession>") }, "session \(i) never ended: \(theirs)")
        }
    }

    /// The transcript of one session, each reply escaped, pointers masked.
    static func run(_ s: Session, on server: ServerProcess) throws -> [String] {
        let conn = try server.connect()
        defer { conn.close() }
        var out: [String] = []
        func record(_ bytes: [UInt8]) {
            let text = RespEscape.escape(bytes)
            out.append(text.replacingOccurrences(of: "@0x[0-9a-f]+", with: "@PTR", options: .regularExpression))
        }
        record(try conn.call("SCRIPT", "DEBUG", s.mode))
        try conn.send(command: ["EVAL", s.script, String(s.keys.count)] + s.keys + s.args)
        record(try conn.readReply())
        let payloads = s.raw.isEmpty ? s.commands.map { RespFraming.encodeCommand($0.map { Array($0.utf8) }) } : s.raw
        for p in payloads {
            if out.contains(where: { $0.contains("<endsession>") }) { break }
            try conn.send(p)
            record(try conn.readReply())
        }
        // The session's end: what is left (the EVAL's reply), then the connection closes.
        while let reply = try? conn.readReply(timeout: 5) { record(reply) }
        out.append(conn.isClosed(timeout: 5) ? "<closed>" : "<open>")
        return out
    }

    /// YES forks: the session's writes vanish with the child and the server serves others
    /// meanwhile. SYNC keeps its writes; a client gone mid-session lets the script finish.
    func testForkedSessionRollsBackAndServerStaysResponsive() throws {
        let server = try ServerProcess.start(.redisUV)
        defer { server.stop() }
        let dbg = try server.connect()
        defer { dbg.close() }
        XCTAssertEqual(try dbg.call("SCRIPT", "DEBUG", "YES"), Array("+OK\r\n".utf8))
        try dbg.send(command: ["EVAL", "redis.call('set','forked','1')\nreturn 1", "0"])
        XCTAssertTrue(String(decoding: try dbg.readReply(), as: UTF8.self).contains("Stopped at 1"))
        try dbg.send(command: ["s"])
        XCTAssertTrue(String(decoding: try dbg.readReply(), as: UTF8.self).contains("<redis> set forked 1"))
        // While the child holds the session, the server answers, and the child's write is not here.
        let other = try server.connect()
        defer { other.close() }
        XCTAssertEqual(try other.call("PING"), Array("+PONG\r\n".utf8))
        XCTAssertEqual(try other.call("GET", "forked"), Array("$-1\r\n".utf8))
        try dbg.send(command: ["c"])
        XCTAssertTrue(String(decoding: try dbg.readReply(), as: UTF8.self).contains("<endsession>"))
        XCTAssertEqual(try dbg.readReply(), Array(":1\r\n".utf8))
        XCTAssertTrue(dbg.isClosed(timeout: 5))
        XCTAssertEqual(try other.call("GET", "forked"), Array("$-1\r\n".utf8))

        // SYNC: the write stays; the debugging client vanishing lets the script run to its end.
        let sync = try server.connect()
        XCTAssertEqual(try sync.call("SCRIPT", "DEBUG", "SYNC"), Array("+OK\r\n".utf8))
        try sync.send(command: ["EVAL", "redis.call('set','synced','1')\nredis.call('set','after','2')\nreturn 1", "0"])
        XCTAssertTrue(String(decoding: try sync.readReply(), as: UTF8.self).contains("Stopped at 1"))
        sync.close()
        XCTAssertEqual(try other.call("GET", "after"), Array("$1\r\n2\r\n".utf8))
        XCTAssertEqual(try other.call("GET", "synced"), Array("$1\r\n1\r\n".utf8))
        XCTAssertEqual(try other.call("SCRIPT", "DEBUG", "NO"), Array("+OK\r\n".utf8))
        XCTAssertEqual(try other.call("EVAL", "return 5", "0"), Array(":5\r\n".utf8))
    }
}
