import CLua

/// The interpreter's set-up (Redis's luaRegisterRedisAPI and scriptingInit) and the
/// `redis.*` functions. Functions that may raise return -1 with the error value on top
/// of the stack; the C trampoline (CLua/shim.h) raises it once the Swift frame is gone.
enum LuaSandbox {
    /// `forFunctions`: the FUNCTION engine's interpreter (function_lua.c
    /// luaEngineInitEngine): no debugger functions, the error handler in the registry, and
    /// the load-time library API.
    static func setUp(_ L: OpaquePointer, server: Server, forFunctions: Bool = false) {
        ruv_open_libraries(L)
        let ctx = Unmanaged.passUnretained(server).toOpaque()
        lua_pushlightuserdata(L, ctx)
        lua_setfield(L, LUA_REGISTRYINDEX, "ruv_server")

        ruv_lua_newtable(L)
        func fn(_ name: String, _ f: lua_CFunction) {
            ruv_push_raising(L, f, ctx)
            lua_setfield(L, -2, name)
        }
        func num(_ name: String, _ v: Double) {
            lua_pushnumber(L, v)
            lua_setfield(L, -2, name)
        }
        fn("call", { L in LuaAPI.genericCommand(L!, raise: true) })
        fn("pcall", { L in LuaAPI.genericCommand(L!, raise: false) })
        fn("log", { L in LuaAPI.log(L!) })
        num("LOG_DEBUG", 0)
        num("LOG_VERBOSE", 1)
        num("LOG_NOTICE", 2)
        num("LOG_WARNING", 3)
        num("REDIS_VERSION_NUM", Double(redisVersionNum))
        lua_pushstring(L, redisVersionString)
        lua_setfield(L, -2, "REDIS_VERSION")
        fn("setresp", { L in LuaAPI.setResp(L!) })
        fn("sha1hex", { L in LuaAPI.sha1hex(L!) })
        fn("error_reply", { L in LuaAPI.errorReply(L!) })
        fn("status_reply", { L in LuaAPI.statusReply(L!) })
        fn("set_repl", { L in LuaAPI.setRepl(L!) })
        num("REPL_NONE", 0)
        num("REPL_AOF", 1)
        num("REPL_SLAVE", 2)
        num("REPL_REPLICA", 2)
        num("REPL_ALL", 3)
        fn("acl_check_cmd", { L in LuaAPI.aclCheckCmd(L!) })
        if !forFunctions {
            // The debugger's functions (Scripting/LuaDebugger.swift), no-ops outside a session.
            fn("breakpoint", { L in LuaAPI.breakpoint(L!) })
            fn("debug", { L in LuaAPI.debugLog(L!) })
            fn("replicate_commands", { L in lua_pushboolean(L, 1); return 1 })
        }
        ruv_lua_setglobal(L, "redis")

        // eval.c's error handler, which gives errors their source and line (a global
        // for EVAL, in the registry for functions).
        let handlerName = forFunctions ? "local error_handler = function" : "function __redis__err__handler"
        let helpers = """
        local dbg = debug
        debug = nil
        \(handlerName)(err)
          local i = dbg.getinfo(2,'nSl')
          if i and i.what == 'C' then
            i = dbg.getinfo(3,'nSl')
          end
          if type(err) ~= 'table' then
            err = {err='ERR ' .. tostring(err)}
          end
          if i then
            err['source'] = i.source
            err['line'] = i.currentline
          end
          return err
        end
        """ + (forFunctions ? "\nreturn error_handler" : "")
        _ = luaL_loadbuffer(L, helpers, helpers.utf8.count, "@err_handler_def")
        _ = lua_pcall(L, 0, forFunctions ? 1 : 0, 0)
        if forFunctions { lua_setfield(L, LUA_REGISTRYINDEX, "ruv_error_handler") }
        ruv_lock_globals(L)
        if forFunctions {
            // The library API: what a library sees while it loads.
            ruv_lua_newtable(L)
            fn("register_function", { L in FunctionAPI.registerFunction(L!) })
            fn("log", { L in LuaAPI.log(L!) })
            num("LOG_DEBUG", 0)
            num("LOG_VERBOSE", 1)
            num("LOG_NOTICE", 2)
            num("LOG_WARNING", 3)
            num("REDIS_VERSION_NUM", Double(redisVersionNum))
            lua_pushstring(L, redisVersionString)
            lua_setfield(L, -2, "REDIS_VERSION")
            ruv_install_library_api(L)
        }
    }
}

let redisVersionString = "7.0.15"
let redisVersionNum = 0x07000f

enum LuaAPI {
    @inline(__always)
    static func server(_ L: OpaquePointer) -> Server {
        Unmanaged<Server>.fromOpaque(lua_touserdata(L, ruv_lua_upvalueindex(2))!).takeUnretainedValue()
    }

    /// Redis's luaPushErrorBuff: `-CODE msg` keeps its code, a bare message gets ERR; the
    /// error is a table with an `err` field.
    static func pushError(_ L: OpaquePointer, _ message: [UInt8]) {
        // In a debugging session's step mode, errors are logged as they are made.
        // (A hook is set only while debugging or timing a script, so this stays cheap.)
        if lua_gethook(L) != nil, let ldb = debugger(L), ldb.enabled {
            ldb.log(Array("<error> ".utf8) + message)
        }
        var text: [UInt8]
        if message.first == UInt8(ascii: "-") {
            if let sp = message.firstIndex(of: 32) {
                text = Array(message[1..<sp]) + [32] + Array(message[(sp + 1)...])
            } else {
                text = Array("ERR ".utf8) + message.dropFirst()
            }
        } else {
            text = Array("ERR ".utf8) + message
        }
        while let last = text.last, last == 13 || last == 10 { text.removeLast() }
        ruv_lua_newtable(L)
        text.withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { lua_pushlstring(L, $0.baseAddress, $0.count) }
        }
        lua_setfield(L, -2, "err")
    }

    static func pushError(_ L: OpaquePointer, _ message: String) { pushError(L, Array(message.utf8)) }

    /// Marks the error table on top as already counted in the error stats.
    static func markStatsCounted(_ L: OpaquePointer) {
        lua_pushboolean(L, 1)
        lua_setfield(L, -2, "ignore_error_stats_update")
    }

    /// Redis's luaArgsToRedisArgv: strings as they are, numbers as %.17g; anything else
    /// is an error (pushed, nil returned). The arguments are popped.
    static func argsToArgv(_ L: OpaquePointer) -> [[UInt8]]? {
        let argc = lua_gettop(L)
        if argc == 0 {
            pushError(L, "Please specify at least one argument for this redis lib call")
            return nil
        }
        var args: [[UInt8]] = []
        args.reserveCapacity(Int(argc))
        var ok = true
        for j in 1...argc {
            if lua_type(L, j) == LUA_TNUMBER {
                args.append(Array(formatLuaNumberArgument(lua_tonumber(L, j)).utf8))
            } else {
                var len = 0
                guard let p = lua_tolstring(L, j, &len) else { ok = false; break }
                args.append(Array(UnsafeRawBufferPointer(start: p, count: len)))
            }
        }
        ruv_lua_pop(L, argc)
        if !ok {
            pushError(L, "Lua redis lib command arguments must be strings or integers")
            return nil
        }
        return args
    }

    /// The arguments as views into the Lua strings on the stack, numbers first replaced
    /// there by their %.17g text (luaArgsToRedisArgv without copying): valid until the
    /// stack is popped. nil after pushing the error.
    static func stackArgv(_ L: OpaquePointer, _ s: ScriptingState) -> Argv? {
        let argc = lua_gettop(L)
        if argc == 0 {
            pushError(L, "Please specify at least one argument for this redis lib call")
            return nil
        }
        let views = s.argvViews(capacity: Int(argc))
        for j in 1...argc {
            if lua_type(L, j) == LUA_TNUMBER {
                lua_pushstring(L, formatLuaNumberArgument(lua_tonumber(L, j)))
                lua_replace(L, j)
            }
            var len = 0
            guard let p = lua_tolstring(L, j, &len) else {
                lua_settop(L, 0)
                pushError(L, "Lua redis lib command arguments must be strings or integers")
                return nil
            }
            views[Int(j) - 1] = UnsafeRawBufferPointer(start: p, count: len)
        }
        return Argv(base: UnsafePointer(views), count: Int(argc))
    }

    /// `%.17g`, with integral values (the common case) formatted without snprintf.
    static func formatLuaNumberArgument(_ d: Double) -> String {
        if d == d.rounded(.towardZero) && Swift.abs(d) < 1e17 && !(d == 0 && d.sign == .minus) {
            return String(Int64(d))
        }
        return formatDoubleG17(d)
    }

    /// redis.call / redis.pcall (Redis's luaRedisGenericCommand).
    static func genericCommand(_ L: OpaquePointer, raise: Bool) -> Int32 {
        let server = server(L)
        let s = server.scripting
        guard let run = s.run else {
            pushError(L, "redis.call/pcall can only be called inside a script invocation")
            return -1
        }
        if s.callInUse {
            pushError(L, "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?")
            return 1
        }
        guard let argv = stackArgv(L, s) else { return raise ? -1 : 1 }
        let ldb = s.debugger
        if ldb.enabled {
            var entry = Array("<redis>".utf8)
            for j in 0..<argv.count {
                if j == 10 {
                    entry += Array(" ... (\(argv.count - j - 1) more)".utf8)  // sic: Redis's count
                    break
                }
                entry.append(32)
                entry += argv[j]
            }
            ldb.log(entry)
        }
        s.callInUse = true
        let refusal = server.scriptCall(run, argv)
        s.callInUse = false
        lua_settop(L, 0)  // the arguments (the views into them are done with)
        if let err = refusal {
            pushError(L, err)
            markStatsCounted(L)
            return raise ? -1 : 1
        }
        let fc = s.client!
        let isError = fc.out.count > 0 && fc.out.bytes[0] == UInt8(ascii: "-")
        LuaReplies.pushReply(L, fc.out.bytes)
        if ldb.enabled { ldb.logRedisReply(fc.out.bytes) }
        fc.out.count = 0
        return raise && isError ? -1 : 1
    }

    /// The debugger, found through the registry (pushError runs outside closures too).
    static func debugger(_ L: OpaquePointer) -> LuaDebugger? {
        lua_getfield(L, LUA_REGISTRYINDEX, "ruv_server")
        let p = lua_touserdata(L, -1)
        ruv_lua_pop(L, 1)
        guard let p else { return nil }
        return Unmanaged<Server>.fromOpaque(p).takeUnretainedValue().scripting.debugger
    }

    /// redis.breakpoint(): stop at the next line, when debugging.
    static func breakpoint(_ L: OpaquePointer) -> Int32 {
        let ldb = server(L).scripting.debugger
        if ldb.active { ldb.luaBreakpoint = true }
        lua_pushboolean(L, ldb.active ? 1 : 0)
        return 1
    }

    /// redis.debug(...): its arguments logged to the debugging client.
    static func debugLog(_ L: OpaquePointer) -> Int32 {
        let ldb = server(L).scripting.debugger
        guard ldb.active else { return 0 }
        var argc = lua_gettop(L)
        var entry = Array("<debug> line \(ldb.currentLine): ".utf8)
        while argc > 0 {
            argc -= 1
            ldb.appendValue(&entry, L, -1 - argc)
            if argc != 0 { entry += [44, 32] }
        }
        ldb.log(entry)
        return 0
    }

    /// redis.sha1hex(string)
    static func sha1hex(_ L: OpaquePointer) -> Int32 {
        if lua_gettop(L) != 1 {
            pushError(L, "wrong number of arguments")
            return -1
        }
        var len = 0
        let p = lua_tolstring(L, 1, &len)
        let hex = sha1Hex(UnsafeRawBufferPointer(start: p, count: p == nil ? 0 : len))
        lua_pushstring(L, hex)
        return 1
    }

    /// redis.error_reply(msg): {err=msg}, with ERR added when msg has no code.
    static func errorReply(_ L: OpaquePointer) -> Int32 {
        if lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING {
            pushError(L, "wrong number or type of arguments")
            return 1
        }
        let msg = String(cString: lua_tolstring(L, -1, nil))
        pushError(L, msg.hasPrefix("-") ? msg : "-" + msg)
        return 1
    }

    /// redis.status_reply(msg): {ok=msg}
    static func statusReply(_ L: OpaquePointer) -> Int32 {
        if lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING {
            pushError(L, "wrong number or type of arguments")
            return 1
        }
        ruv_lua_newtable(L)
        lua_pushvalue(L, -2)
        lua_setfield(L, -2, "ok")
        return 1
    }

    /// redis.setresp(2|3): how replies of redis.call are converted.
    static func setResp(_ L: OpaquePointer) -> Int32 {
        let s = server(L).scripting
        guard s.run != nil else {
            pushError(L, "redis.setresp can only be called inside a script invocation")
            return -1
        }
        let argc = lua_gettop(L)
        if argc != 1 {
            pushError(L, "redis.setresp() requires one argument.")
            return -1
        }
        let resp = Int(truncatingIfNeeded: Int32(clamping: lua_tointeger(L, -argc)))
        if resp != 2 && resp != 3 {
            pushError(L, "RESP version must be 2 or 3.")
            return -1
        }
        s.client?.resp = resp
        return 0
    }

    /// redis.set_repl(flags): which of the script's writes propagate.
    static func setRepl(_ L: OpaquePointer) -> Int32 {
        guard let run = server(L).scripting.run else {
            pushError(L, "redis.set_repl can only be called inside a script invocation")
            return -1
        }
        if lua_gettop(L) != 1 {
            pushError(L, "redis.set_repl() requires two arguments.")
            return -1
        }
        let flags = Int32(truncatingIfNeeded: lua_tointeger(L, -1))
        if flags & ~3 != 0 {
            pushError(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
            return -1
        }
        run.replFlags = flags
        return 0
    }

    /// redis.acl_check_cmd(cmd, ...): whether the caller's user may run it.
    static func aclCheckCmd(_ L: OpaquePointer) -> Int32 {
        let server = server(L)
        guard let run = server.scripting.run else {
            pushError(L, "redis.acl_check_cmd can only be called inside a script invocation")
            return -1
        }
        guard let args = argsToArgv(L) else { return -1 }
        let owned = OwnedArgv(args)
        guard let cmd = server.scriptLookupCommand(owned.argv) else {
            pushError(L, "Invalid command passed to redis.acl_check_cmd()")
            return -1
        }
        lua_pushboolean(L, server.scriptACLCheck(run.caller, cmd, owned.argv, log: false) == nil ? 1 : 0)
        return 1
    }

    /// redis.log(level, ...)
    static func log(_ L: OpaquePointer) -> Int32 {
        let argc = lua_gettop(L)
        if argc < 2 {
            pushError(L, "redis.log() requires two arguments or more.")
            return -1
        }
        if lua_isnumber(L, -argc) == 0 {
            pushError(L, "First argument must be a number (log level).")
            return -1
        }
        let level = Int(lua_tointeger(L, -argc))
        if level < 0 || level > 3 {
            pushError(L, "Invalid debug level.")
            return -1
        }
        var text = ""
        for j in 1..<argc {
            var len = 0
            if let p = lua_tolstring(L, -argc + j, &len) {
                if j != 1 { text += " " }
                text += String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
            }
        }
        server(L).scriptLog(level: level, text)
        return 0
    }
}
