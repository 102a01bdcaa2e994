import CLua
#if canImport(Glibc)
import Glibc
#endif

/// Redis's Lua debugger (eval.c's LDB, used by `redis-cli --ldb`): after SCRIPT DEBUG
/// YES|SYNC the client's next EVAL runs under a line hook that stops on steps and
/// breakpoints and talks to the client directly over its socket, in blocking mode,
/// from inside the hook. YES runs the session in a forked child (its writes vanish
/// with it); SYNC runs it in the server, which serves nobody else meanwhile.
/// A client's SCRIPT DEBUG setting (Redis's CLIENT_LUA_DEBUG and CLIENT_LUA_DEBUG_SYNC).
enum LuaDebugMode: UInt8 {
    case off, forked, sync
}

final class LuaDebugger {
    static let maxBreakpoints = 64
    static let defaultMaxLen = 256
    /// LDB_MAX_VALUES_DEPTH (LUA_MINSTACK/2).
    static let maxValueDepth = 10

    var socket: BlockingSocket?
    /// Debugging an EVAL right now.
    var active = false
    /// The session runs in a forked child.
    var forked = false
    /// Messages waiting to be sent to the client.
    var logs: [[UInt8]] = []
    /// Forked sessions not reaped yet.
    var children: [pid_t] = []
    /// Breakpoint lines, kept as Redis keeps them (Int32s, see deleteBreakpoint).
    var breakpoints = [Int32](repeating: 0, count: LuaDebugger.maxBreakpoints)
    var breakpointCount = 0
    /// Stop at the next line whatever the breakpoints.
    var step = false
    /// Stop at the next line because redis.breakpoint() was called.
    var luaBreakpoint = false
    /// The script's source, by line.
    var source: [[UInt8]] = []
    var currentLine = 0
    /// The client's unparsed debugger commands.
    var commandBuffer: [UInt8] = []
    /// Max length of a logged reply or value dump (0: unlimited).
    var maxLen = LuaDebugger.defaultMaxLen
    var maxLenHintSent = false

    /// ldbIsEnabled: redis.call logs commands and replies.
    var enabled: Bool { active && step }

    /// SCRIPT DEBUG YES|SYNC (ldbEnable): the debugger's state starts afresh.
    func enable() {
        logs.removeAll()
        step = true
        breakpointCount = 0
        luaBreakpoint = false
        commandBuffer.removeAll()
        maxLen = LuaDebugger.defaultMaxLen
        maxLenHintSent = false
    }

    // MARK: output

    func log(_ entry: [UInt8]) { logs.append(entry) }
    func log(_ entry: String) { logs.append(Array(entry.utf8)) }

    /// ldbLogWithMaxLen: long entries are cut, with a hint the first time.
    func logWithMaxLen(_ entry: [UInt8]) {
        var e = entry
        var trimmed = false
        if maxLen != 0 && e.count > maxLen {
            e.removeSubrange(maxLen...)
            e.append(contentsOf: Array(" ...".utf8))
            trimmed = true
        }
        log(e)
        if trimmed && !maxLenHintSent {
            maxLenHintSent = true
            log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.")
        }
    }

    /// ldbSendLogs: the pending messages as an array of status replies, CR and LF
    /// turned into spaces.
    func sendLogs() {
        var proto = Array("*\(logs.count)\r\n".utf8)
        for entry in logs {
            proto.append(UInt8(ascii: "+"))
            for b in entry { proto.append(b == 13 || b == 10 ? 32 : b) }
            proto.append(13)
            proto.append(10)
        }
        logs.removeAll()
        socket?.write(proto)
    }

    // MARK: source and breakpoints

    func sourceLine(_ line: Int) -> [UInt8] {
        let idx = line - 1
        if idx < 0 || idx >= source.count { return Array("<out of range source code line>".utf8) }
        return source[idx]
    }

    func isBreakpoint(_ line: Int) -> Bool {
        for j in 0..<breakpointCount where Int(breakpoints[j]) == line { return true }
        return false
    }

    func addBreakpoint(_ line: Int) -> Bool {
        if line <= 0 || line > source.count { return false }
        if !isBreakpoint(line) && breakpointCount != LuaDebugger.maxBreakpoints {
            breakpoints[breakpointCount] = Int32(truncatingIfNeeded: line)
            breakpointCount += 1
            return true
        }
        return false
    }

    /// ldbDelBreakpoint, including its memmove of (count - j) bytes rather than entries:
    /// removing a breakpoint from the middle of the list shifts what Redis's shifts.
    func deleteBreakpoint(_ line: Int) -> Bool {
        for j in 0..<breakpointCount where Int(breakpoints[j]) == line {
            breakpointCount -= 1
            let n = breakpointCount - j
            breakpoints.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress!
                memmove(base + j * 4, base + (j + 1) * 4, n)
            }
            return true
        }
        return false
    }

    /// ldbLogSourceLine: "-> " marks the current line, "#" a breakpoint.
    func logSourceLine(_ line: Int) {
        let bp = isBreakpoint(line)
        let current = currentLine == line
        let prefix = current && bp ? "->#" : current ? "-> " : bp ? "  #" : "   "
        var number = String(line)
        while number.utf8.count < 3 { number += " " }
        log(Array((prefix + number + " ").utf8) + sourceLine(line))
    }

    /// ldbList: the whole source (around 0) or `context` lines around a line.
    func list(around: Int, context: Int) {
        guard !source.isEmpty else { return }
        for j in 1...source.count {
            if around != 0 && Swift.abs(around - j) > context { continue }
            logSourceLine(j)
        }
    }

    // MARK: values

    /// ldbCatStackValueRec: a readable form of the Lua value at `idx` (a negative index).
    func appendValue(_ s: inout [UInt8], _ L: OpaquePointer, _ idx: Int32, level: Int = 0) {
        if level == LuaDebugger.maxValueDepth {
            s.append(contentsOf: Array("<max recursion level reached! Nested table?>".utf8))
            return
        }
        let level = level + 1
        let t = lua_type(L, idx)
        switch t {
        case LUA_TSTRING:
            var len = 0
            let p = lua_tolstring(L, idx, &len)
            appendRepr(&s, UnsafeRawBufferPointer(start: p, count: len))
        case LUA_TBOOLEAN:
            s.append(contentsOf: Array((lua_toboolean(L, idx) != 0 ? "true" : "false").utf8))
        case LUA_TNUMBER:
            var buf = [CChar](repeating: 0, count: 64)
            let n = ruv_format_g(&buf, 64, lua_tonumber(L, idx))
            s.append(contentsOf: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) })
        case LUA_TNIL:
            s.append(contentsOf: Array("nil".utf8))
        case LUA_TTABLE:
            var expected = 1
            var isArray = true
            var arrayForm: [UInt8] = []
            var fullForm: [UInt8] = []
            lua_pushnil(L)
            while lua_next(L, idx - 1) != 0 {
                if isArray && (lua_type(L, -2) != LUA_TNUMBER || lua_tonumber(L, -2) != Double(expected)) { isArray = false }
                appendValue(&arrayForm, L, -1, level: level)
                arrayForm.append(contentsOf: [59, 32])  // "; "
                fullForm.append(UInt8(ascii: "["))
                appendValue(&fullForm, L, -2, level: level)
                fullForm.append(contentsOf: [93, 61])  // "]="
                appendValue(&fullForm, L, -1, level: level)
                fullForm.append(contentsOf: [59, 32])
                ruv_lua_pop(L, 1)
                expected += 1
            }
            if !arrayForm.isEmpty { arrayForm.removeLast(2) }
            if !fullForm.isEmpty { fullForm.removeLast(2) }
            s.append(UInt8(ascii: "{"))
            s.append(contentsOf: isArray ? arrayForm : fullForm)
            s.append(UInt8(ascii: "}"))
        case LUA_TFUNCTION, LUA_TUSERDATA, LUA_TTHREAD, LUA_TLIGHTUSERDATA:
            let name = t == LUA_TFUNCTION ? "function" : t == LUA_TUSERDATA ? "userdata"
                : t == LUA_TTHREAD ? "thread" : "light-userdata"
            var buf = [CChar](repeating: 0, count: 96)
            let n = ruv_format_pointer(&buf, 96, name, lua_topointer(L, idx))
            s.append(contentsOf: buf.prefix(Int(n)).map { UInt8(bitPattern: $0) })
        default:
            s.append(contentsOf: Array("\"<unknown-lua-type>\"".utf8))
        }
    }

    /// ldbLogStackValue: the value on top, after `prefix`, cut to maxlen.
    func logStackValue(_ L: OpaquePointer, prefix: String) {
        var s = Array(prefix.utf8)
        appendValue(&s, L, -1)
        logWithMaxLen(s)
    }

    /// ldbLogRedisReply: a command's reply in ldbRedisProtocolToHuman's form.
    func logRedisReply(_ reply: UnsafeRawBufferPointer) {
        var s = Array("<reply> ".utf8)
        var p = 0
        LuaDebugger.protocolToHuman(&s, reply, &p)
        logWithMaxLen(s)
    }

    /// ldbRedisProtocolToHuman: one RESP value from `reply` at `p`, appended readably.
    static func protocolToHuman(_ o: inout [UInt8], _ r: UnsafeRawBufferPointer, _ p: inout Int) {
        guard p < r.count else { return }
        let type = r[p]
        // The header line: from p+1 to the CR.
        var cr = p + 1
        while cr < r.count && r[cr] != 13 { cr += 1 }
        let header = UnsafeRawBufferPointer(rebasing: r[Swift.min(p + 1, cr)..<cr])
        let count = parseStrictInt(header) ?? 0
        let next = cr + 2
        switch type {
        case UInt8(ascii: ":"):
            o.append(contentsOf: header)
            p = next
        case UInt8(ascii: "$"):
            if count == -1 {
                o.append(contentsOf: Array("NULL".utf8))
                p = next
            } else {
                let end = Swift.min(next + count, r.count)
                appendRepr(&o, UnsafeRawBufferPointer(rebasing: r[Swift.min(next, end)..<end]))
                p = next + count + 2
            }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            appendRepr(&o, UnsafeRawBufferPointer(rebasing: r[p..<cr]))
            p = next
        case UInt8(ascii: "*"), UInt8(ascii: "~"):
            p = next
            if type == UInt8(ascii: "*") && count == -1 {
                o.append(contentsOf: Array("NULL".utf8))
                return
            }
            o.append(contentsOf: type == UInt8(ascii: "*") ? [UInt8(ascii: "[")] : Array("~(".utf8))
            for j in 0..<Swift.max(count, 0) {
                protocolToHuman(&o, r, &p)
                if j != count - 1 { o.append(UInt8(ascii: ",")) }
            }
            o.append(type == UInt8(ascii: "*") ? UInt8(ascii: "]") : UInt8(ascii: ")"))
        case UInt8(ascii: "%"):
            p = next
            o.append(UInt8(ascii: "{"))
            for j in 0..<Swift.max(count, 0) {
                protocolToHuman(&o, r, &p)
                o.append(contentsOf: Array(" => ".utf8))
                protocolToHuman(&o, r, &p)
                if j != count - 1 { o.append(UInt8(ascii: ",")) }
            }
            o.append(UInt8(ascii: "}"))
        case UInt8(ascii: "_"):
            o.append(contentsOf: Array("(null)".utf8))
            p = next
        case UInt8(ascii: "#"):
            o.append(contentsOf: Array((p + 1 < r.count && r[p + 1] == UInt8(ascii: "t") ? "#true" : "#false").utf8))
            p = next
        case UInt8(ascii: ","):
            o.append(contentsOf: Array("(double) ".utf8))
            o.append(contentsOf: header)
            p = next
        default:
            return
        }
    }

    // MARK: the debugger's own protocol

    enum ParseResult {
        case command([[UInt8]])
        case needMore
        case protocolError
    }

    /// ldbReplParseCommand, as forgiving as Redis's ("the simplest thing that works").
    func parseCommand() -> ParseResult {
        if commandBuffer.isEmpty { return .needMore }
        // Redis works on a C string copy: the buffer ends at the first NUL.
        let buf = commandBuffer.prefix { $0 != 0 }
        func crlf(from i: Int) -> Int? {
            var j = i
            while j + 1 < buf.count {
                if buf[j] == 13 && buf[j + 1] == 10 { return j }
                j += 1
            }
            return nil
        }
        guard let star = buf.firstIndex(of: UInt8(ascii: "*")) else { return .protocolError }
        guard var end = crlf(from: star) else { return .needMore }
        let argc = LuaDebugger.atoi(buf[(star + 1)..<end])
        if argc <= 0 || argc > 1024 { return .protocolError }
        var p = end + 2
        var argv: [[UInt8]] = []
        while argv.count < argc {
            if p >= buf.count { return .needMore }
            if buf[p] != UInt8(ascii: "$") { return .protocolError }
            guard let e = crlf(from: p) else { return .needMore }
            end = e
            let slen = LuaDebugger.atoi(buf[(p + 1)..<end])
            if slen <= 0 || slen > 1024 { return .protocolError }
            p = end + 2
            if p + slen + 2 > commandBuffer.count { return .needMore }
            argv.append(Array(commandBuffer[p..<(p + slen)]))
            p += slen
            if commandBuffer[p] != 13 || commandBuffer[p + 1] != 10 { return .protocolError }
            p += 2
        }
        return .command(argv)
    }

    /// C's atoi: optional blanks and sign, then digits up to the first other byte.
    static func atoi<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
        var it = bytes.makeIterator()
        var c = it.next()
        while let b = c, b == 32 || (9...13).contains(b) { c = it.next() }
        var negative = false
        if let b = c, b == UInt8(ascii: "-") || b == UInt8(ascii: "+") {
            negative = b == UInt8(ascii: "-")
            c = it.next()
        }
        var n: Int32 = 0
        while let b = c, b >= 48 && b <= 57 {
            n = n &* 10 &+ Int32(b - 48)
            c = it.next()
        }
        return Int(negative ? 0 &- n : n)
    }
}

extension Server {
    // MARK: sessions

    /// SCRIPT DEBUG YES|SYNC|NO.
    func scriptDebugCommand(_ c: Client, _ argv: Argv) {
        if c.out.count > 0 {
            c.addReplyError("SCRIPT DEBUG must be called outside a pipeline")
            return
        }
        if argv.equals(2, "no") {
            c.luaDebugMode = .off
        } else if argv.equals(2, "yes") {
            scripting.debugger.enable()
            c.luaDebugMode = .forked
        } else if argv.equals(2, "sync") {
            scripting.debugger.enable()
            c.luaDebugMode = .sync
        } else {
            c.addReplyError("Use SCRIPT DEBUG YES/SYNC/NO")
            return
        }
        c.addReplyOK()
    }

    /// evalGenericCommandWithDebugging: EVAL inside a debugging session.
    func evalWithDebugging(_ c: Client, _ argv: Argv, readOnly: Bool) {
        if ldbStartSession(c, argv) {
            evalGeneric(c, argv, evalsha: false, readOnly: readOnly)
            ldbEndSession(c)
        } else {
            c.luaDebugMode = .off
        }
    }

    /// ldbStartSession: true when this process goes on to run the EVAL (the forked child,
    /// or the server in SYNC mode).
    private func ldbStartSession(_ c: Client, _ argv: Argv) -> Bool {
        let ldb = scripting.debugger
        ldb.forked = c.luaDebugMode != .sync
        guard let conn = c.connection else { return false }
        if ldb.forked {
            let pid = fork()
            if pid == -1 {
                c.addReplyError("Fork() failed: can't run EVAL in debugging mode: \(String(cString: strerror(errno)))")
                return false
            } else if pid == 0 {
                // The child: only this thread exists, it never returns to the event loop.
                signal(SIGTERM, SIG_IGN)
                signal(SIGINT, SIG_IGN)
                log.role = "C"
                log.warning("Redis forked for debugging eval")
            } else {
                ldb.children.append(pid)
                // Closed on this side (freeClientAsync); the child has its own copy of the socket.
                c.flags.insert(.closeASAP)
                scheduleWrite(c)
                return false
            }
        } else {
            log.warning("Redis synchronous debugging eval session started")
        }
        guard let socket = BlockingSocket(conn) else { return false }
        // Anything still queued for the client goes first.
        if c.out.count > 0 {
            socket.write(c.out.bytes)
            c.out.count = 0
        }
        ldb.socket = socket
        ldb.active = true
        var src = Array(argv[1])
        while let last = src.last, last == 10 || last == 13 { src.removeLast() }
        ldb.source = src.isEmpty ? [] : src.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        return true
    }

    /// ldbEndSession: the last logs, then the EVAL's reply; the connection is closed
    /// after it (the forked child just exits).
    private func ldbEndSession(_ c: Client) {
        let ldb = scripting.debugger
        ldb.log("<endsession>")
        ldb.sendLogs()
        if ldb.forked {
            ldb.socket?.write(c.out.bytes)
            log.warning("Lua debugging session child exiting")
            _exit(0)
        }
        log.warning("Redis synchronous debugging eval session ended")
        ldb.socket?.restoreNonBlocking()
        ldb.socket = nil
        c.flags.insert(.closeAfterReply)
        ldb.source = []
        ldb.active = false
    }

    /// Reaps finished forked sessions (checkChildrenDone's ldbRemoveChild).
    func reapDebuggerChildren() {
        let ldb = scripting.debugger
        guard !ldb.children.isEmpty else { return }
        ldb.children.removeAll { pid in
            var status: Int32 = 0
            return waitpid(pid, &status, WNOHANG) != 0
        }
    }

    /// ldbKillForkedSessions, at shutdown.
    func killDebuggerSessions() {
        for pid in scripting.debugger.children {
            log.warning("Killing debugging session \(pid)")
            kill(pid, SIGKILL)
        }
        scripting.debugger.children.removeAll()
    }

    // MARK: the line hook

    enum DebuggerOutcome {
        case resume
        case disconnected
        case raise(String)
    }

    /// luaLdbLineHook: true when the error pushed on the stack must be raised.
    fileprivate func ldbLineHook(_ L: OpaquePointer, event: Int32, line: Int, inUserScript: Bool) -> Bool {
        let ldb = scripting.debugger
        ldb.currentLine = line
        let bp = ldb.isBreakpoint(line) || ldb.luaBreakpoint
        var timeout = false
        if !inUserScript { return false }
        if event == LUA_HOOKCOUNT && !ldb.step && !bp {
            let startUs = scripting.run?.startUs ?? monotonicUs()
            let elapsedMs = (monotonicUs() - startUs) / 1000
            let limit = config.busyReplyThreshold > 0 ? Int64(config.busyReplyThreshold) : 5000
            if elapsedMs >= limit {
                timeout = true
                ldb.step = true
            } else {
                return false
            }
        }
        guard ldb.step || bp else { return false }
        var reason = "step over"
        if bp { reason = ldb.luaBreakpoint ? "redis.breakpoint() called" : "break point" } else if timeout { reason = "timeout reached, infinite loop?" }
        ldb.step = false
        ldb.luaBreakpoint = false
        ldb.log("* Stopped at \(line), stop reason = \(reason)")
        ldb.logSourceLine(line)
        ldb.sendLogs()
        switch ldbRepl(L) {
        case .resume: break
        case .disconnected:
            if timeout {
                lua_pushstring(L, "timeout during Lua debugging with client closing connection")
                return true
            }
        case .raise(let message):
            lua_pushstring(L, message)
            return true
        }
        scripting.run?.startUs = monotonicUs()
        return false
    }

    /// ldbRepl: debugger commands until one returns to the script.
    private func ldbRepl(_ L: OpaquePointer) -> DebuggerOutcome {
        let ldb = scripting.debugger
        while true {
            var argv: [[UInt8]]
            readLoop: while true {
                switch ldb.parseCommand() {
                case .command(let a):
                    argv = a
                    break readLoop
                case .protocolError:
                    return .raise("protocol error")
                case .needMore:
                    guard let bytes = ldb.socket?.read(max: 1024) else {
                        // No client any more: the script runs on without stopping.
                        ldb.step = false
                        ldb.breakpointCount = 0
                        return .disconnected
                    }
                    ldb.commandBuffer += bytes
                    if ldb.commandBuffer.count > 1 << 20 {
                        ldb.commandBuffer.removeAll()
                        return .raise("max client buffer reached")
                    }
                }
            }
            ldb.commandBuffer.removeAll()
            let name = String(decoding: argv[0], as: UTF8.self).lowercased()
            let argc = argv.count
            switch name {
            case "h", "help":
                for line in LuaDebugger.helpLines { ldb.log(line) }
                ldb.sendLogs()
            case "s", "step", "n", "next":
                ldb.step = true
                return .resume
            case "c", "continue":
                return .resume
            case "t", "trace":
                ldbTrace(L)
                ldb.sendLogs()
            case "m", "maxlen":
                if argc == 2 {
                    var n = LuaDebugger.atoi(argv[1])
                    ldb.maxLenHintSent = true
                    if n != 0 && n <= 60 { n = 60 }
                    ldb.maxLen = n
                }
                ldb.log(ldb.maxLen != 0 ? "<value> replies are truncated at \(ldb.maxLen) bytes." : "<value> replies are unlimited.")
                ldb.sendLogs()
            case "b", "break":
                ldbBreak(argv)
                ldb.sendLogs()
            case "e", "eval":
                ldbEval(L, argv)
                ldb.sendLogs()
            case "a", "abort":
                return .raise("script aborted for user request")
            case "r" where argc > 1, "redis" where argc > 1:
                ldbRedis(L, argv)
                ldb.sendLogs()
            case "p", "print":
                if argc == 2 { ldbPrint(L, argv[1]) } else { ldbPrintAll(L) }
                ldb.sendLogs()
            case "l", "list":
                var around = ldb.currentLine
                var context = 5
                if argc > 1 {
                    let n = LuaDebugger.atoi(argv[1])
                    if n > 0 { around = n }
                }
                if argc > 2 { context = LuaDebugger.atoi(argv[2]) }
                ldb.list(around: around, context: context)
                ldb.sendLogs()
            case "w", "whole":
                ldb.list(around: 1, context: 1_000_000)
                ldb.sendLogs()
            default:
                ldb.log("<error> Unknown Redis Lua debugger command or wrong number of arguments.")
                ldb.sendLogs()
            }
        }
    }

    /// ldbTrace: the script's frames, innermost first.
    private func ldbTrace(_ L: OpaquePointer) {
        let ldb = scripting.debugger
        var level: Int32 = 0
        var line: Int32 = 0
        var name: UnsafePointer<CChar>? = nil
        var user: Int32 = 0
        while ruv_ldb_frame(L, level, &line, &name, &user) != 0 {
            if user != 0 {
                let fname = name.map { String(cString: $0) } ?? "top level"
                ldb.log("\(level == 0 ? "In" : "From") \(fname):")
                ldb.logSourceLine(Int(line))
            }
            level += 1
        }
        if level == 0 { ldb.log("<error> Can't retrieve Lua stack.") }
    }

    /// ldbBreak: list, add (n), remove (-n) or clear (0) breakpoints.
    private func ldbBreak(_ argv: [[UInt8]]) {
        let ldb = scripting.debugger
        if argv.count == 1 {
            if ldb.breakpointCount == 0 {
                ldb.log("No breakpoints set. Use 'b <line>' to add one.")
            } else {
                ldb.log("\(ldb.breakpointCount) breakpoints set:")
                for j in 0..<ldb.breakpointCount { ldb.logSourceLine(Int(ldb.breakpoints[j])) }
            }
            return
        }
        for a in argv.dropFirst() {
            guard let line = a.withUnsafeBytes({ parseStrictInt($0) }) else {
                ldb.log(Array("Invalid argument:'".utf8) + a + [UInt8(ascii: "'")])
                continue
            }
            if line == 0 {
                ldb.breakpointCount = 0
                ldb.log("All breakpoints removed.")
            } else if line > 0 {
                if ldb.breakpointCount == LuaDebugger.maxBreakpoints {
                    ldb.log("Too many breakpoints set.")
                } else if ldb.addBreakpoint(line) {
                    ldb.list(around: line, context: 1)
                } else {
                    ldb.log("Wrong line number.")
                }
            } else {
                ldb.log(ldb.deleteBreakpoint(-line) ? "Breakpoint removed." : "No breakpoint in the specified line.")
            }
        }
    }

    /// ldbEval: the fragment as an expression ("return ..."), else as a statement.
    private func ldbEval(_ L: OpaquePointer, _ argv: [[UInt8]]) {
        let ldb = scripting.debugger
        var code: [UInt8] = []
        for (i, a) in argv.dropFirst().enumerated() {
            if i > 0 { code.append(32) }
            code += a
        }
        let expr = Array("return ".utf8) + code
        func load(_ chunk: [UInt8]) -> Int32 {
            chunk.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { luaL_loadbuffer(L, $0.baseAddress, $0.count, "@ldb_eval") }
            }
        }
        if load(expr) != 0 {
            ruv_lua_pop(L, 1)
            if load(code) != 0 {
                ldb.log("<error> " + String(cString: lua_tolstring(L, -1, nil)))
                ruv_lua_pop(L, 1)
                return
            }
        }
        if lua_pcall(L, 0, 1, 0) != 0 {
            ldb.log("<error> " + (lua_tolstring(L, -1, nil).map { String(cString: $0) } ?? ""))
            ruv_lua_pop(L, 1)
            return
        }
        ldb.logStackValue(L, prefix: "<retval> ")
        ruv_lua_pop(L, 1)
    }

    /// ldbRedis: redis.call with logging forced on, so the command and its reply show.
    private func ldbRedis(_ L: OpaquePointer, _ argv: [[UInt8]]) {
        let ldb = scripting.debugger
        if lua_checkstack(L, Int32(argv.count + 1)) == 0 {
            ldb.logWithMaxLen(Array("<reply> ".utf8))
            return
        }
        ruv_lua_getglobal(L, "redis")
        lua_getfield(L, -1, "call")
        for a in argv.dropFirst() {
            a.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        }
        ldb.step = true
        _ = lua_pcall(L, Int32(argv.count - 1), 1, 0)
        ldb.step = false
        ruv_lua_pop(L, 2)
    }

    /// ldbPrint: the first local of that name from the current frame outwards, or the
    /// KEYS / ARGV globals.
    private func ldbPrint(_ L: OpaquePointer, _ varname: [UInt8]) {
        let ldb = scripting.debugger
        var level: Int32 = 0
        var hasFrame: Int32 = 1
        while true {
            var i: Int32 = 1
            while let name = ruv_ldb_getlocal(L, level, i, &hasFrame) {
                i += 1
                if strlen(name) == varname.count && memcmp(name, varname, varname.count) == 0 {
                    ldb.logStackValue(L, prefix: "<value> ")
                    ruv_lua_pop(L, 1)
                    return
                }
                ruv_lua_pop(L, 1)
            }
            if hasFrame == 0 { break }
            level += 1
        }
        let v = String(decoding: varname, as: UTF8.self)
        if v == "ARGV" || v == "KEYS" {
            ruv_lua_getglobal(L, v)
            ldb.logStackValue(L, prefix: "<value> ")
            ruv_lua_pop(L, 1)
        } else {
            ldb.log("No such variable.")
        }
    }

    /// ldbPrintAll: the current frame's locals.
    private func ldbPrintAll(_ L: OpaquePointer) {
        let ldb = scripting.debugger
        var vars = 0
        var hasFrame: Int32 = 0
        var i: Int32 = 1
        while let name = ruv_ldb_getlocal(L, 0, i, &hasFrame) {
            i += 1
            let n = String(cString: name)
            if !n.contains("(*temporary)") {
                ldb.logStackValue(L, prefix: "<value> \(n) = ")
                vars += 1
            }
            ruv_lua_pop(L, 1)
        }
        if vars == 0 { ldb.log("No local variables in the current context.") }
    }
}

/// The C line hook's callback (no captures: the server is found in the registry).
let luaDebuggerLineHook: ruv_ldb_fn = { L, event, line, user in
    lua_getfield(L, LUA_REGISTRYINDEX, "ruv_server")
    let p = lua_touserdata(L, -1)
    ruv_lua_pop(L, 1)
    guard let L, let p else { return 0 }
    let server = Unmanaged<Server>.fromOpaque(p).takeUnretainedValue()
    return server.ldbLineHook(L, event: event, line: Int(line), inUserScript: user != 0) ? 1 : 0
}

extension LuaDebugger {
    static let helpLines = [
        "Redis Lua debugger help:",
        "[h]elp               Show this help.",
        "[s]tep               Run current line and stop again.",
        "[n]ext               Alias for step.",
        "[c]ontinue           Run till next breakpoint.",
        "[l]ist               List source code around current line.",
        "[l]ist [line]        List source code around [line].",
        "                     line = 0 means: current position.",
        "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
        "                     to show before/after [line].",
        "[w]hole              List all source code. Alias for 'list 1 1000000'.",
        "[p]rint              Show all the local variables.",
        "[p]rint <var>        Show the value of the specified variable.",
        "                     Can also show global vars KEYS and ARGV.",
        "[b]reak              Show all breakpoints.",
        "[b]reak <line>       Add a breakpoint to the specified line.",
        "[b]reak -<line>      Remove breakpoint from the specified line.",
        "[b]reak 0            Remove all breakpoints.",
        "[t]race              Show a backtrace.",
        "[e]val <code>        Execute some Lua code (in a different callframe).",
        "[r]edis <cmd>        Execute a Redis command.",
        "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
        "                     Specifying zero as <len> means unlimited.",
        "[a]bort              Stop the execution of the script. In sync",
        "                     mode dataset changes will be retained.",
        "",
        "Debugger functions you can call from Lua scripts:",
        "redis.debug()        Produce logs in the debugger console.",
        "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
        "                     next line of code.",
    ]
}
