import CLua

/// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c), run on one shared
/// Lua 5.1 interpreter (ScriptingState). Commands called from scripts go through
/// `scriptCall` (Redis's script.c scriptCall), then the server's ordinary call().
enum EvalCommands {
    static let table: [CommandImpl] = [
        CommandImpl("eval", { c, argv in c.server.evalCommand(c, argv, evalsha: false, readOnly: false) }),
        CommandImpl("evalsha", { c, argv in c.server.evalCommand(c, argv, evalsha: true, readOnly: false) }),
        CommandImpl("eval_ro", { c, argv in c.server.evalCommand(c, argv, evalsha: false, readOnly: true) }),
        CommandImpl("evalsha_ro", { c, argv in c.server.evalCommand(c, argv, evalsha: true, readOnly: true) }),
        CommandImpl("script|load", scriptLoad),
        CommandImpl("script|exists", scriptExists),
        CommandImpl("script|flush", scriptFlush),
        CommandImpl("script|kill", { c, _ in c.server.scriptKill(c, eval: true) }),
        CommandImpl("script|help", scriptHelp),
        CommandImpl("script|debug", { c, argv in c.server.scriptDebugCommand(c, argv) }),
    ]

    static func scriptLoad(_ c: Client, _ argv: Argv) {
        guard let sha = c.server.createScript(c, argv[2]) else { return }
        c.addReplyBulk(sha)
    }

    static func scriptExists(_ c: Client, _ argv: Argv) {
        let scripts = c.server.scripting.scripts
        c.addReplyArrayLen(argv.count - 2)
        for j in 2..<argv.count {
            // Redis looks the digest up case-insensitively (dictStrCaseHash).
            c.addReplyInt(scripts[c.server.scriptDigestKey(argv[j])] != nil ? 1 : 0)
        }
    }

    static func scriptFlush(_ c: Client, _ argv: Argv) {
        if argv.count == 3 && !(argv.equals(2, "sync") || argv.equals(2, "async")) || argv.count > 3 {
            c.addReplyError("SCRIPT FLUSH only support SYNC|ASYNC option")
            return
        }
        c.server.scripting.reset()
        c.addReplyOK()
    }

    static func scriptHelp(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "SCRIPT", lines: [
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ])
    }
}

extension Server {
    // MARK: the script cache

    /// Parses the shebang line (eval.c evalExtractShebangFlags); nil after replying an error.
    func scriptShebangFlags(_ c: Client?, _ body: UnsafeRawBufferPointer) -> (flags: ScriptFlags, bodyStart: Int)? {
        guard body.count >= 2 && body[0] == UInt8(ascii: "#") && body[1] == UInt8(ascii: "!") else {
            return (.evalCompat, 0)
        }
        guard let nl = body.firstIndex(of: 10) else {
            c?.addReplyError("Invalid script shebang")
            return nil
        }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: body[0..<nl]), as: UTF8.self)
        let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let engine = parts.first else {
            c?.addReplyError("Invalid engine in script shebang")
            return nil
        }
        if engine != "#!lua" {
            c?.addReplyError("Unexpected engine in script shebang: \(engine)")
            return nil
        }
        var flags: ScriptFlags = []
        for part in parts.dropFirst() {
            guard part.hasPrefix("flags=") else {
                c?.addReplyError("Unknown lua shebang option: \(part)")
                return nil
            }
            for name in part.dropFirst(6).split(separator: ",", omittingEmptySubsequences: true) {
                guard let f = ScriptFlags.names.first(where: { $0.0 == name }) else {
                    c?.addReplyError("Unexpected flag in script shebang: \(name)")
                    return nil
                }
                flags.insert(f.1)
            }
        }
        return (flags, nl)
    }

    /// Compiles and caches a script (eval.c luaCreateFunction); its digest, or nil after
    /// replying the error to `c`.
    func createScript(_ c: Client?, _ body: UnsafeRawBufferPointer) -> String? {
        let sha = sha1Hex(body)
        if scripting.scripts[sha] != nil { return sha }
        guard let (flags, start) = scriptShebangFlags(c, body) else { return nil }
        let L = scripting.state(self)
        // The shebang line is left out but its newline kept, so line numbers still match.
        let code = UnsafeRawBufferPointer(rebasing: body[start...])
        let status = luaL_loadbuffer(L, code.baseAddress?.assumingMemoryBound(to: CChar.self), code.count, "@user_script")
        if status != 0 {
            let msg = String(cString: lua_tolstring(L, -1, nil))
            c?.addReplyError("Error compiling script (new function): \(msg)")
            ruv_lua_pop(L, 1)
            return nil
        }
        let ref = luaL_ref(L, LUA_REGISTRYINDEX)
        scripting.scripts[sha] = CachedScript(body: Array(body), flags: flags, ref: ref)
        if !flags.contains(.evalCompat) { scripting.shebangScripts += 1 }
        scripting.scriptsMemory += body.count + 40
        return sha
    }

    // MARK: EVAL

    /// EVAL's and FCALL's numkeys (argument 2), checked against the arguments that follow;
    /// nil after the error. `badNumber` is FCALL's text for a non-number (EVAL's is the
    /// generic not-an-integer error).
    func scriptNumkeysOrReply(_ c: Client, _ argv: Argv, badNumber: String? = nil) -> Int? {
        guard let numkeys = parseStrictInt(argv[2]) else {
            if let badNumber { c.addReplyError(badNumber) } else { c.addReplyErrorNotInteger() }
            return nil
        }
        if numkeys > argv.count - 3 {
            c.addReplyError("Number of keys can't be greater than number of args")
            return nil
        }
        if numkeys < 0 {
            c.addReplyError("Number of keys can't be negative")
            return nil
        }
        return numkeys
    }

    /// evalCommand / evalShaCommand: a client in SCRIPT DEBUG mode debugs its EVAL.
    func evalCommand(_ c: Client, _ argv: Argv, evalsha: Bool, readOnly: Bool) {
        if c.luaDebugMode == .off {
            evalGeneric(c, argv, evalsha: evalsha, readOnly: readOnly)
        } else if !evalsha {
            evalWithDebugging(c, argv, readOnly: readOnly)
        } else if argv[1].count != 40 {
            c.addReplyError("-NOSCRIPT No matching script. Please use EVAL.")
        } else {
            c.addReplyError("Please use EVAL instead of EVALSHA for debugging")
        }
    }

    func evalGeneric(_ c: Client, _ argv: Argv, evalsha: Bool, readOnly: Bool) {
        guard let numkeys = scriptNumkeysOrReply(c, argv) else { return }
        let sha: String
        if evalsha {
            if argv[1].count != 40 {
                c.addReplyError("-NOSCRIPT No matching script. Please use EVAL.")
                return
            }
            sha = scriptDigestKey(argv[1])
            if scripting.scripts[sha] == nil {
                c.addReplyError("-NOSCRIPT No matching script. Please use EVAL.")
                return
            }
        } else {
            guard let s = createScript(c, argv[1]) else { return }
            sha = s
        }
        let script = scripting.scripts[sha]!
        guard scriptMayRun(c, script.flags, readOnly: readOnly) else { return }
        runScript(c, L: scripting.state(self), name: sha, function: nil, ref: script.ref, flags: script.flags,
                  readOnly: readOnly, argv: argv, numkeys: numkeys)
    }

    /// The cache's key for a digest given by a client (looked up case-insensitively).
    func scriptDigestKey(_ digest: UnsafeRawBufferPointer) -> String {
        digest.contains(where: { $0 >= 65 && $0 <= 90 }) ? String(decoding: digest.map(asciiLower), as: UTF8.self)
            : String(decoding: digest, as: UTF8.self)
    }

    /// getCommandFlags for EVAL*/FCALL*: a script with a shebang (and every function)
    /// replaces the command's write/denyoom/stale flags by what it declares
    /// (eval.c evalGetCommandFlags, function_lua.c fcallGetCommandFlags,
    /// script.c scriptFlagsToCmdFlags). EVAL of a body without shebang, or of an
    /// unknown digest, keeps the command's own flags.
    func scriptCommandFlags(_ cmd: RedisCommand, _ argv: Argv) -> CommandFlags {
        guard argv.count >= 2 else { return cmd.flags }
        let scriptFlags: ScriptFlags
        switch cmd.scriptFlagsSource {
        case .none:
            return cmd.flags
        case .eval:
            // The cached script's flags are its body's shebang's: parse it, no digest needed.
            let body = argv[1]
            guard body.count >= 2 && body[0] == UInt8(ascii: "#") && body[1] == UInt8(ascii: "!"),
                  let parsed = scriptShebangFlags(nil, body) else { return cmd.flags }
            scriptFlags = parsed.flags
        case .evalsha:
            guard scripting.shebangScripts > 0, argv[1].count == 40,
                  let script = scripting.scripts[scriptDigestKey(argv[1])] else { return cmd.flags }
            scriptFlags = script.flags
        case .fcall:
            guard let f = scripting.functions.current.function(argv.string(1)) else { return cmd.flags }
            scriptFlags = f.flags
        }
        if scriptFlags.contains(.evalCompat) { return cmd.flags }
        var flags = cmd.flags.subtracting([.stale, .denyoom, .write, .mayReplicate])
        if scriptFlags.isDisjoint(with: [.allowOOM, .noWrites]) { flags.insert(.denyoom) }
        if !scriptFlags.contains(.noWrites) { flags.insert(.write) }
        if scriptFlags.contains(.allowStale) { flags.insert(.stale) }
        return flags
    }

    /// script.c scriptPrepareForRun's refusals.
    func scriptMayRun(_ c: Client, _ flags: ScriptFlags, readOnly: Bool) -> Bool {
        let replica = repl.master != nil
        let runningStale = replica && !masterLinkIsUp && !config.replicaServeStaleData
        if flags.contains(.evalCompat) {
            if runningStale {
                c.addReplyError("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
                return false
            }
            return true
        }
        if runningStale && !flags.contains(.allowStale) {
            c.addReplyError("-MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.")
            return false
        }
        if !flags.contains(.noWrites) {
            if replica && config.replicaReadOnly && !c.flags.contains(.master) {
                c.addReplyError("Can not run script with write flag on readonly replica")
                return false
            }
            if !replica && scriptWritesDeniedByDiskError {
                c.addReplyError("-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")
                return false
            }
            if readOnly {
                c.addReplyError("Can not execute a script with write flag using *_ro command.")
                return false
            }
        }
        return true
    }

    private var scriptWritesDeniedByDiskError: Bool {
        config.stopWritesOnBgsaveError && !config.save.isEmpty && persistence.lastBgsaveOK == false
    }

    /// The engine client, made once (Redis's lua_client: CLIENT_SCRIPT, deny blocking).
    private func scriptClient() -> Client {
        if let fc = scripting.client { return fc }
        let fc = createClient(now: cachedTimeMs, listed: false)
        fc.authenticated = true
        fc.flags.insert([.denyBlocking, .script])
        scripting.client = fc
        return fc
    }

    /// Runs an EVAL script (`function` nil: the cached chunk of digest `name`) or a
    /// function (luaCallFunction), and replies to `c`.
    func runScript(_ c: Client, L: OpaquePointer, name: String, function: ScriptFunction?, ref: Int32 = 0,
                   flags: ScriptFlags, readOnly: Bool, argv: Argv, numkeys: Int) {
        let fc = scriptClient()
        fc.db = c.db
        fc.resp = 2
        fc.user = c.user
        let ro = readOnly || (!flags.contains(.evalCompat) && flags.contains(.noWrites))
        let run = ScriptRun(caller: c, sha: name, isEval: function == nil, argv: argv, readOnly: ro, startUs: monotonicUs())
        run.allowOOM = !flags.contains(.evalCompat) && flags.contains(.allowOOM)
        scripting.run = run

        let err: Int32
        // A debugging session's line hook replaces the busy-script one (luaCallFunction).
        let debugging = function == nil && scripting.debugger.active
        let hooked = !debugging && config.busyReplyThreshold > 0
        if debugging { ruv_set_ldb_hook(L, luaDebuggerLineHook) }
        if let function {
            // Functions get KEYS and ARGV as arguments; the handler is in the registry.
            lua_getfield(L, LUA_REGISTRYINDEX, "ruv_error_handler")
            lua_rawgeti(L, LUA_REGISTRYINDEX, function.ref)
            pushArray(L, argv, from: 3, count: numkeys)
            pushArray(L, argv, from: 3 + numkeys, count: argv.count - 3 - numkeys)
            if hooked { ruv_set_interrupt(L, scriptInterruptHook, 100_000) }
            err = lua_pcall(L, 2, 1, -4)
        } else {
            ruv_lua_getglobal(L, "__redis__err__handler")
            lua_rawgeti(L, LUA_REGISTRYINDEX, ref)
            pushArray(L, argv, from: 3, count: numkeys)
            ruv_set_real_global(L, "KEYS")
            pushArray(L, argv, from: 3 + numkeys, count: argv.count - 3 - numkeys)
            ruv_set_real_global(L, "ARGV")
            if hooked { ruv_set_interrupt(L, scriptInterruptHook, 100_000) }
            err = lua_pcall(L, 0, 1, -2)
        }

        // A GC step now and then, rather than a full cycle at a bad moment (Redis's
        // LUA_GC_CYCLE_PERIOD).
        scripting.gcCount += 1
        if scripting.gcCount == 50 {
            lua_gc(L, LUA_GCSTEP, 50)
            scripting.gcCount = 0
        }
        if err != 0 {
            if lua_type(L, -1) != LUA_TTABLE {
                var msg = "execution failure"
                if lua_isstring(L, -1) != 0 { msg = String(String(cString: lua_tolstring(L, -1, nil)).prefix(100)) }
                c.addReplyError("Error running script \(name), \(msg)")
            } else {
                let info = ScriptError.extract(L)
                var text = "-" + (info.message ?? "")
                if let line = info.line, let source = info.source {
                    text += " script: \(name), on \(source):\(line)."
                }
                c.addReplyScriptError(text, countStats: !info.statsCounted)
            }
            ruv_lua_pop(L, 1)
        } else {
            LuaReplies.reply(c, scriptResp: fc.resp, L)
        }
        ruv_lua_pop(L, 1)  // the error handler
        if hooked { ruv_set_interrupt(L, nil, 0) }
        if debugging { ruv_set_ldb_hook(L, nil) }
        if run.timedOut { scriptLeavesBusyMode(run) }
        scripting.run = nil
        // The script's effects were propagated command by command; never EVAL itself.
        preventPropagation()
    }

    private func pushArray(_ L: OpaquePointer, _ argv: Argv, from: Int, count: Int) {
        lua_createtable(L, Int32(count), 0)
        for j in 0..<count {
            let a = argv[from + j]
            lua_pushlstring(L, a.baseAddress?.assumingMemoryBound(to: CChar.self), a.count)
            lua_rawseti(L, -2, Int32(j + 1))
        }
    }

    // MARK: commands called from scripts

    /// lookupCommand(argv, argc): the command or its subcommand.
    func scriptLookupCommand(_ argv: Argv) -> RedisCommand? {
        guard var cmd = commands.lookup(argv[0]) else { return nil }
        if cmd.isContainer && argv.count >= 2 {
            guard let sub = cmd.subcommand(argv[1]) else { return nil }
            cmd = sub
        }
        return cmd
    }

    /// Whether the script's caller may run `cmd` (ACL): nil when allowed, else the
    /// refusal, with Redis 7.0's script texts (script.c scriptVerifyACL).
    func scriptACLCheck(_ caller: Client, _ cmd: RedisCommand, _ argv: Argv, log: Bool = true) -> String? {
        guard caller.user.needsCheck, let denial = aclCheckCommand(user: caller.user, cmd: cmd, argv: argv) else { return nil }
        // Redis's scriptVerifyACL: logged with context "lua" (redis.acl_check_cmd only asks).
        if log {
            acl.addLogEntry(caller, reason: denial.reason, context: .lua,
                            object: aclLogObject(denial, cmd: cmd, argv: argv), username: caller.user.name)
        }
        switch denial.reason {
        case .command: return "The user executing the script can't run this command or subcommand"
        case .key: return "The user executing the script can't access at least one of the keys mentioned in the command arguments"
        case .channel: return "The user executing the script can't publish to the channel mentioned in the command"
        case .auth: return "The user executing the script is lacking the permissions for the command"
        }
    }

    /// Runs one command for a script (script.c scriptCall): nil when it ran (its reply is
    /// in the engine client's output), else why it was refused.
    func scriptCall(_ run: ScriptRun, _ argv: Argv) -> String? {
        let fc = scripting.client!
        guard let cmd = scriptLookupCommand(argv) else { return "Unknown Redis command called from script" }
        if !cmd.arityAccepts(argv.count) || cmd.proc == nil {
            return "Wrong number of args calling Redis command from script"
        }
        if cmd.flags.contains(.noscript) { return "This Redis command is not allowed from script" }
        if repl.master != nil && !masterLinkIsUp && !config.replicaServeStaleData && !cmd.flags.contains(.stale) {
            return "Can not execute the command on a stale replica"
        }
        if let denied = scriptACLCheck(run.caller, cmd, argv) { return denied }
        if cmd.flags.contains(.write) {
            if run.readOnly { return "Write commands are not allowed from read-only scripts." }
            if repl.master != nil && config.replicaReadOnly && !run.caller.flags.contains(.master) {
                return "-READONLY You can't write against a read only replica."
            }
            if scriptWritesDeniedByDiskError {
                return "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
                    + "Commands that may modify the data set are disabled, because this instance is configured to report "
                    + "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
                    + "Please check the Redis logs for details about the RDB error."
            }
            // checkGoodReplicasStatus: min-replicas-to-write holds inside scripts too.
            if repl.master == nil && config.minReplicasMaxLag > 0 && config.minReplicasToWrite > 0
                && repl.goodReplicasCount < config.minReplicasToWrite {
                return "-NOREPLICAS Not enough good replicas to write."
            }
        }
        if let oom = scriptOOMRefusal(run, cmd) { return oom }
        if cmd.flags.contains(.write) { run.wroteDirty = true }
        // redis.set_repl without REPL_REPLICA: what this command queues is dropped.
        let pendingBefore = propagation.pending.count
        call(fc, cmd, argv)
        if run.replFlags & 2 == 0 && propagation.pending.count > pendingBefore {
            propagation.pending.removeSubrange(pendingBefore...)
        }
        return nil
    }

    func scriptLog(level: Int, _ text: String) {
        switch level {
        case 0: log.debug(text)
        case 1: log.verbose(text)
        case 2: log.notice(text)
        default: log.warning(text)
        }
    }

    // MARK: long scripts: BUSY and SCRIPT KILL

    /// SCRIPT KILL (and later FUNCTION KILL): script.c scriptKill.
    func scriptKill(_ c: Client, eval: Bool) {
        guard let run = scripting.run else {
            c.addReplyError("-NOTBUSY No scripts in execution right now.")
            return
        }
        if run.caller.flags.contains(.master) {
            c.addReplyError("-UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.")
        }
        if run.wroteDirty {
            c.addReplyError("-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
            return
        }
        if eval != run.isEval {
            c.addReplyError(busyError(evalRunning: run.isEval))
            return
        }
        run.killed = true
        c.addReplyOK()
    }

    /// Called from the count hook every 100000 Lua instructions (scriptInterrupt): past
    /// busy-reply-threshold the loop is served from here; true to kill the script.
    fileprivate func scriptInterrupt() -> Bool {
        guard let run = scripting.run else { return false }
        if !run.timedOut {
            let elapsedMs = (monotonicUs() - run.startUs) / 1000
            if elapsedMs < Int64(config.busyReplyThreshold) { return false }
            log.warning("Slow script detected: still in execution after \(elapsedMs) milliseconds. You can try killing the script using the \(run.isEval ? "SCRIPT KILL" : "FUNCTION KILL") command.")
            run.timedOut = true
            scripting.busy = true
            // The caller's next commands wait for the script (Redis's protectClient).
            run.caller.connection?.stopReading()
        }
        updateCachedTime()
        loop?.processEventsWhileBlocked()
        if shutdownRequested { run.killed = true }
        if run.killed { log.warning("Lua script killed by user with SCRIPT KILL.") }
        return run.killed
    }

    private func scriptLeavesBusyMode(_ run: ScriptRun) {
        scripting.busy = false
        run.caller.connection?.startReading()
    }

    /// The dispatcher's gate while a script is past busy-reply-threshold: only commands
    /// flagged allow-busy run (Redis's processCommand).
    func rejectWhileScriptBusy(_ c: Client, _ cmd: RedisCommand) -> Bool {
        if cmd.flags.contains(.allowBusy) { return false }
        rejectCommand(c, cmd, busyError(evalRunning: scripting.run?.isEval ?? true))
        return true
    }

    /// shared.slowevalerr / shared.slowscripterr.
    func busyError(evalRunning: Bool) -> String {
        "-BUSY Redis is busy running a script. You can only call \(evalRunning ? "SCRIPT" : "FUNCTION") KILL or SHUTDOWN NOSAVE."
    }
}

/// The C count hook's callback (no captures: the server is found in the registry).
private let scriptInterruptHook: ruv_interrupt_fn = { L in
    lua_getfield(L, LUA_REGISTRYINDEX, "ruv_server")
    let p = lua_touserdata(L, -1)
    ruv_lua_pop(L, 1)
    guard let p else { return 0 }
    let server = Unmanaged<Server>.fromOpaque(p).takeUnretainedValue()
    return server.scriptInterrupt() ? 1 : 0
}
