import CLua
import Crypto

/// Shebang flags (`#!lua flags=...`, Redis's scripts_flags_def), plus the mark of a script
/// without a shebang (SCRIPT_FLAG_EVAL_COMPAT_MODE), which runs under the pre-7.0 rules.
struct ScriptFlags: OptionSet {
    let rawValue: UInt8
    static let noWrites = ScriptFlags(rawValue: 1 << 0)
    static let allowOOM = ScriptFlags(rawValue: 1 << 1)
    static let allowStale = ScriptFlags(rawValue: 1 << 2)
    static let noCluster = ScriptFlags(rawValue: 1 << 3)
    static let allowCrossSlot = ScriptFlags(rawValue: 1 << 4)
    static let evalCompat = ScriptFlags(rawValue: 1 << 5)

    static let names: [(String, ScriptFlags)] = [
        ("no-writes", .noWrites), ("allow-oom", .allowOOM), ("allow-stale", .allowStale),
        ("no-cluster", .noCluster), ("allow-cross-slot-keys", .allowCrossSlot),
    ]
}

/// One script in the EVAL cache (Redis's luaScript): its body and shebang flags. The
/// compiled function lives in the Lua registry.
struct CachedScript {
    let body: [UInt8]
    let flags: ScriptFlags
    /// The compiled chunk, a reference in the Lua registry.
    let ref: Int32
}

/// The script being run (Redis's scriptRunCtx).
final class ScriptRun {
    unowned(unsafe) let caller: Client
    /// The script's digest (EVAL) or the function's name (FCALL).
    let sha: String
    /// EVAL rather than FCALL (which KILL applies, which -BUSY text).
    let isEval: Bool
    /// The caller's command, valid while the script runs (FUNCTION STATS).
    let argv: Argv
    /// EVAL_RO/EVALSHA_RO, or a `no-writes` script: write commands are refused.
    let readOnly: Bool
    /// Set once the script ran a write command: SCRIPT KILL then refuses.
    var wroteDirty = false
    /// A script with a shebang and `allow-oom` (SCRIPT_ALLOW_OOM): no OOM refusal inside.
    var allowOOM = false
    /// redis.set_repl: PROPAGATE_AOF (1) | PROPAGATE_REPL (2).
    var replFlags: Int32 = 3
    /// Reset after each debugger stop (the stop's time does not count).
    var startUs: Int64
    /// Past busy-reply-threshold: other clients get -BUSY and the loop is served from the hook.
    var timedOut = false
    var killed = false

    init(caller: Client, sha: String, isEval: Bool, argv: Argv, readOnly: Bool, startUs: Int64) {
        self.caller = caller
        self.sha = sha
        self.isEval = isEval
        self.argv = argv
        self.readOnly = readOnly
        self.startUs = startUs
    }
}

/// The Lua interpreter and the EVAL script cache (Redis's luaCtx in eval.c). One
/// interpreter for all clients, created at the first use and anew by SCRIPT FLUSH.
final class ScriptingState {
    private(set) var lua: OpaquePointer? = nil
    var scripts: [String: CachedScript] = [:]
    /// Cached scripts with a shebang: while there are none, EVALSHA's flags are EVALSHA's
    /// own and the dispatcher need not look the digest up (Scripting/EvalCommands.swift).
    var shebangScripts = 0
    /// Bytes of the cached bodies and their digests (used_memory_scripts_eval).
    var scriptsMemory = 0
    /// The client scripts run their commands as (Redis's lua_client): not listed, never
    /// blocks, replies parsed back into Lua values.
    var client: Client? = nil
    var run: ScriptRun? = nil
    /// Guards against redis.call re-entering itself through a debug hook.
    var callInUse = false
    /// FUNCTION/FCALL's engine and libraries.
    let functions = FunctionsState()
    /// SCRIPT DEBUG's session state (Scripting/LuaDebugger.swift).
    let debugger = LuaDebugger()
    /// redis.call's argument views, reused (grown as needed).
    private var argvBuffer = UnsafeMutablePointer<UnsafeRawBufferPointer>.allocate(capacity: 16)
    private var argvCapacity = 16

    func argvViews(capacity n: Int) -> UnsafeMutablePointer<UnsafeRawBufferPointer> {
        if n > argvCapacity {
            argvBuffer.deallocate()
            argvCapacity = Swift.max(n, argvCapacity * 2)
            argvBuffer = .allocate(capacity: argvCapacity)
        }
        return argvBuffer
    }
    /// A script is past busy-reply-threshold and the loop is served from its hook: the
    /// dispatcher answers -BUSY, beforeSleep and the cron only write replies.
    var busy = false
    var gcCount = 0

    /// The interpreter, set up on first use.
    func state(_ server: Server) -> OpaquePointer {
        if let lua { return lua }
        let L = luaL_newstate()!
        LuaSandbox.setUp(L, server: server)
        lua = L
        return L
    }

    /// SCRIPT FLUSH: a fresh interpreter and an empty cache.
    func reset() {
        if let lua { lua_close(lua) }
        lua = nil
        scripts.removeAll()
        shebangScripts = 0
        scriptsMemory = 0
    }

    /// used_memory_lua: what Lua's allocator holds.
    var luaMemory: Int {
        guard let lua else { return 0 }
        return Int(lua_gc(lua, LUA_GCCOUNT, 0)) * 1024 + Int(lua_gc(lua, LUA_GCCOUNTB, 0))
    }
}

/// Redis's sha1hex: lowercase hex of the SHA1 digest.
func sha1Hex(_ bytes: UnsafeRawBufferPointer) -> String {
    let digest = Insecure.SHA1.hash(data: bytes)
    let hex: [UInt8] = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(40)
    for b in digest {
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
