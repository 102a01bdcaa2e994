/// FUNCTION and FCALL/FCALL_RO (Redis's functions.c), on the functions engine's own
/// interpreter (Functions.swift).
enum FunctionCommands {
    static let table: [CommandImpl] = [
        CommandImpl("fcall", { c, argv in fcall(c, argv, readOnly: false) }),
        CommandImpl("fcall_ro", { c, argv in fcall(c, argv, readOnly: true) }),
        CommandImpl("function|load", load),
        CommandImpl("function|delete", delete),
        CommandImpl("function|flush", flush),
        CommandImpl("function|list", list),
        CommandImpl("function|stats", stats),
        CommandImpl("function|dump", dump),
        CommandImpl("function|restore", restore),
        CommandImpl("function|kill", { c, _ in c.server.scriptKill(c, eval: false) }),
        CommandImpl("function|help", help),
    ]

    static func fcall(_ c: Client, _ argv: Argv, readOnly: Bool) {
        let s = c.server
        guard let f = s.scripting.functions.current.function(argv.string(1)) else {
            c.addReplyError("Function not found")
            return
        }
        guard let numkeys = s.scriptNumkeysOrReply(c, argv, badNumber: "Bad number of keys provided") else { return }
        guard s.scriptMayRun(c, f.flags, readOnly: readOnly) else { return }
        let L = s.scripting.functions.state(s)
        s.runScript(c, L: L, name: f.name, function: f, flags: f.flags, readOnly: readOnly, argv: argv, numkeys: numkeys)
    }

    static func load(_ c: Client, _ argv: Argv) {
        var replace = false
        var i = 2
        while i < argv.count - 1 {
            if argv.equals(i, "replace") {
                replace = true
                i += 1
                continue
            }
            c.addReplyError("Unknown option given: \(argv.string(i))")
            return
        }
        if i >= argv.count {
            c.addReplyError("Function code is missing")
            return
        }
        let s = c.server
        // The master's FUNCTION LOAD has no time limit (mustObeyClient).
        let timeout = c.flags.contains(.master) ? 0 : 500
        switch s.createFunctionLibrary(argv.bytes(i), replace: replace, into: s.scripting.functions.current, timeoutMs: timeout) {
        case .failure(let e):
            c.addReplyError(e.message)
        case .success(let name):
            s.dirty += 1
            c.addReplyBulk(name)
        }
    }

    static func delete(_ c: Client, _ argv: Argv) {
        let f = c.server.scripting.functions
        guard let lib = f.current.library(argv.string(2)) else {
            c.addReplyError("Library not found")
            return
        }
        f.current.unlink(lib)
        f.release([lib])
        c.server.dirty += 1
        c.addReplyOK()
    }

    static func flush(_ c: Client, _ argv: Argv) {
        if argv.count > 3 {
            c.addReplyError("unknown subcommand or wrong number of arguments for '\(argv.string(1))'. Try FUNCTION HELP.")
            return
        }
        if argv.count == 3 && !(argv.equals(2, "sync") || argv.equals(2, "async")) {
            c.addReplyError("FUNCTION FLUSH only supports SYNC|ASYNC option")
            return
        }
        c.server.scripting.functions.flush()
        c.server.dirty += 1
        c.addReplyOK()
    }

    static func list(_ c: Client, _ argv: Argv) {
        var withCode = false
        var pattern: [UInt8]? = nil
        var i = 2
        while i < argv.count {
            if !withCode && argv.equals(i, "withcode") {
                withCode = true
                i += 1
                continue
            }
            if pattern == nil && argv.equals(i, "libraryname") {
                if i >= argv.count - 1 {
                    c.addReplyError("library name argument was not given")
                    return
                }
                pattern = argv.bytes(i + 1)
                i += 2
                continue
            }
            c.addReplyError("Unknown argument \(argv.string(i))")
            return
        }
        var libs = c.server.scripting.functions.current.libraries
        if let pattern {
            libs = libs.filter { lib in
                globMatch(pattern: pattern, string: Array(lib.name.utf8), noCase: true)
            }
        }
        c.addReplyArrayLen(libs.count)
        for lib in libs {
            c.addReplyMapLen(withCode ? 4 : 3)
            c.addReplyBulk("library_name")
            c.addReplyBulk(lib.name)
            c.addReplyBulk("engine")
            c.addReplyBulk("LUA")
            c.addReplyBulk("functions")
            c.addReplyArrayLen(lib.functions.count)
            for f in lib.functions {
                c.addReplyMapLen(3)
                c.addReplyBulk("name")
                c.addReplyBulk(f.name)
                c.addReplyBulk("description")
                if let d = f.description { c.addReplyBulk(d) } else { c.addReplyNull() }
                c.addReplyBulk("flags")
                let names = ScriptFlags.names.filter { f.flags.contains($0.1) }
                c.addReplySetLen(names.count)
                for n in names { c.addReplyStatus(n.0) }
            }
            if withCode {
                c.addReplyBulk("library_code")
                c.addReplyBulk(lib.code)
            }
        }
    }

    static func stats(_ c: Client, _ argv: Argv) {
        let s = c.server
        if let run = s.scripting.run, run.isEval {
            c.addReplyError(s.busyError(evalRunning: true))
            return
        }
        c.addReplyMapLen(2)
        c.addReplyBulk("running_script")
        if let run = s.scripting.run {
            c.addReplyMapLen(3)
            c.addReplyBulk("name")
            c.addReplyBulk(run.sha)
            c.addReplyBulk("command")
            c.addReplyArrayLen(run.argv.count)
            for j in 0..<run.argv.count { c.addReplyBulk(run.argv[j]) }
            c.addReplyBulk("duration_ms")
            c.addReplyInt(Int((monotonicUs() - run.startUs) / 1000))
        } else {
            c.addReplyNull()
        }
        let current = s.scripting.functions.current
        c.addReplyBulk("engines")
        c.addReplyMapLen(1)
        c.addReplyBulk("LUA")
        c.addReplyMapLen(2)
        c.addReplyBulk("libraries_count")
        c.addReplyInt(current.libraries.count)
        c.addReplyBulk("functions_count")
        c.addReplyInt(current.functionCount)
    }

    /// The payload: FUNCTION2 and the code of each library, then the RDB version and the
    /// CRC64, as DUMP's (functionDumpCommand).
    static func dumpPayload(_ s: Server) -> [UInt8] {
        let w = RDBWriter(compress: s.config.rdbcompression)
        for lib in s.scripting.functions.current.libraries {
            w.byte(RDB.opFunction2)
            w.string(lib.code)
        }
        w.byte(UInt8(RDB.version & 0xFF))
        w.byte(UInt8(RDB.version >> 8))
        w.uint64LE(w.checksum())
        return w.bytes
    }

    static func dump(_ c: Client, _ argv: Argv) {
        c.addReplyBulk(dumpPayload(c.server))
    }

    static func restore(_ c: Client, _ argv: Argv) {
        if argv.count > 4 {
            c.addReplyError("unknown subcommand or wrong number of arguments for '\(argv.string(1))'. Try FUNCTION HELP.")
            return
        }
        enum Policy { case flush, append, replace }
        var policy = Policy.append
        if argv.count == 4 {
            if argv.equals(3, "append") { policy = .append }
            else if argv.equals(3, "replace") { policy = .replace }
            else if argv.equals(3, "flush") { policy = .flush }
            else {
                c.addReplyError("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
                return
            }
        }
        let data = argv[2]
        guard DumpRestoreCommands.verify(data) else {
            c.addReplyError("DUMP payload version or checksum are wrong")
            return
        }
        let s = c.server
        let f = s.scripting.functions
        // Everything loads into a scratch set first; the current one changes only if all
        // of it loaded and joins without a collision.
        let loaded = FunctionLibraries()
        let r = RDBReader(UnsafeRawBufferPointer(rebasing: data[0..<(data.count - 10)]))
        var failure: String? = nil
        while r.remaining > 0 {
            guard let type = try? r.byte() else { failure = "can not read data type"; break }
            if type == RDB.opFunctionPreGA { failure = "Pre-GA function format not supported"; break }
            if type != RDB.opFunction2 { failure = "given type is not a function"; break }
            guard let code = try? r.stringArray() else { failure = "failed loading the given functions payload"; break }
            if case .failure(let e) = s.createFunctionLibrary(code, replace: false, into: loaded, timeoutMs: 0) {
                failure = e.message
                break
            }
        }
        if failure == nil {
            if policy == .flush {
                f.release(f.current.libraries)
                f.current = loaded
            } else {
                switch join(loaded, into: f.current, replace: policy == .replace) {
                case .failure(let e): failure = e.message
                case .success(let replaced): f.release(replaced)
                }
            }
        }
        if let failure {
            f.release(loaded.libraries)
            c.addReplyError(failure)
            return
        }
        s.dirty += 1
        c.addReplyOK()
    }

    /// libraryJoin: adds `src`'s libraries to `dst`; a library already there fails
    /// unless `replace`, a function already there always fails; nothing changes then.
    /// The replaced libraries are returned (for their callbacks to be released).
    static func join(_ src: FunctionLibraries, into dst: FunctionLibraries, replace: Bool) -> Result<[FunctionLibrary], ScriptFailure> {
        var replaced: [FunctionLibrary] = []
        for lib in src.libraries {
            guard let old = dst.library(lib.name) else { continue }
            if !replace {
                for o in replaced { dst.link(o) }
                return .failure(ScriptFailure("Library \(lib.name) already exists"))
            }
            dst.unlink(old)
            replaced.append(old)
        }
        for lib in src.libraries {
            for fn in lib.functions where dst.function(fn.name) != nil {
                for o in replaced { dst.link(o) }
                return .failure(ScriptFailure("Function \(fn.name) already exists"))
            }
        }
        for lib in src.libraries { dst.link(lib) }
        return .success(replaced)
    }

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "FUNCTION", lines: [
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ])
    }
}
