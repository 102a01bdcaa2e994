import CLua

/// One registered function (Redis's functionInfo): its callback lives in the functions
/// interpreter's registry under `ref`.
final class ScriptFunction {
    let name: String
    let ref: Int32
    let flags: ScriptFlags
    let description: [UInt8]?
    unowned let library: FunctionLibrary

    init(name: String, ref: Int32, flags: ScriptFlags, description: [UInt8]?, library: FunctionLibrary) {
        self.name = name
        self.ref = ref
        self.flags = flags
        self.description = description
        self.library = library
    }
}

/// A library (Redis's functionLibInfo): its code as loaded and its functions in the
/// order they were registered.
final class FunctionLibrary {
    let name: String
    let code: [UInt8]
    var functions: [ScriptFunction] = []

    init(name: String, code: [UInt8]) {
        self.name = name
        self.code = code
    }

    func function(named n: String) -> ScriptFunction? { functions.first { $0.name == n } }
}

/// A set of libraries and the functions they define (Redis's functionsLibCtx). Library
/// names are case-sensitive, function names are not (dictSdsCaseHash).
final class FunctionLibraries {
    private(set) var libraries: [FunctionLibrary] = []
    private(set) var functions: [String: ScriptFunction] = [:]

    func library(_ name: String) -> FunctionLibrary? { libraries.first { $0.name == name } }
    func function(_ name: String) -> ScriptFunction? { functions[name.lowercased()] }

    func link(_ lib: FunctionLibrary) {
        libraries.append(lib)
        for f in lib.functions { functions[f.name.lowercased()] = f }
    }

    func unlink(_ lib: FunctionLibrary) {
        libraries.removeAll { $0 === lib }
        for f in lib.functions { functions.removeValue(forKey: f.name.lowercased()) }
    }

    var functionCount: Int { functions.count }
}

/// FUNCTION's engine: its own Lua interpreter (function_lua.c) and the current libraries.
final class FunctionsState {
    private(set) var lua: OpaquePointer? = nil
    var current = FunctionLibraries()
    /// The library being loaded: redis.register_function adds to it.
    var loading: FunctionLibrary? = nil

    func state(_ server: Server) -> OpaquePointer {
        if let lua { return lua }
        let L = luaL_newstate()!
        LuaSandbox.setUp(L, server: server, forFunctions: true)
        lua = L
        return L
    }

    /// Drops the libraries' callbacks from the interpreter.
    func release(_ libs: [FunctionLibrary]) {
        guard let lua else { return }
        for lib in libs { for f in lib.functions { luaL_unref(lua, LUA_REGISTRYINDEX, f.ref) } }
    }

    /// FUNCTION FLUSH: a fresh interpreter and no libraries (functionsLibCtxClearCurrent).
    func flush() {
        if let lua { lua_close(lua) }
        lua = nil
        current = FunctionLibraries()
    }

    var luaMemory: Int {
        guard let lua else { return 0 }
        return Int(lua_gc(lua, LUA_GCCOUNT, 0)) * 1024
    }
}

/// functions.c functionsVerifyName: [a-zA-Z0-9_]+
func isValidFunctionName(_ s: String) -> Bool {
    !s.isEmpty && s.utf8.allSatisfy { c in
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c == 95
    }
}

let invalidFunctionNameError = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

extension Server {
    /// functionsCreateWithLibraryCtx: parses the `#!lua name=...` line, runs the code
    /// with the library API so it registers its functions, and links the library into
    /// `ctx`. Returns the library's name, or the error.
    func createFunctionLibrary(_ code: [UInt8], replace: Bool, into ctx: FunctionLibraries,
                               timeoutMs: Int) -> Result<String, ScriptFailure> {
        // The metadata line.
        guard code.count >= 2 && code[0] == UInt8(ascii: "#") && code[1] == UInt8(ascii: "!") else {
            return .failure("Missing library metadata")
        }
        guard let nl = code.firstIndex(of: 10) else { return .failure("Invalid library metadata") }
        guard let parts = splitShebangArgs(Array(code[0..<nl])), !parts.isEmpty else {
            return .failure("Invalid library metadata")
        }
        let engine = String(parts[0].dropFirst(2))
        var name: String? = nil
        for part in parts.dropFirst() {
            if part.count >= 5 && part.prefix(5).lowercased() == "name=" {
                if name != nil { return .failure("Invalid metadata value, name argument was given multiple times") }
                name = String(part.dropFirst(5))
                continue
            }
            return .failure(ScriptFailure("Invalid metadata value given: \(part)"))
        }
        guard let name else { return .failure("Library name was not given") }
        if !isValidFunctionName(name) { return .failure(ScriptFailure(invalidFunctionNameError)) }
        if engine.lowercased() != "lua" { return .failure(ScriptFailure("Engine '\(engine)' not found")) }
        let old = ctx.library(name)
        if old != nil && !replace { return .failure(ScriptFailure("Library '\(name)' already exists")) }
        if let old { ctx.unlink(old) }

        let f = scripting.functions
        let L = f.state(self)
        let lib = FunctionLibrary(name: name, code: code)
        func fail(_ e: ScriptFailure) -> Result<String, ScriptFailure> {
            f.release([lib])
            if let old { ctx.link(old) }
            return .failure(e)
        }
        let body = code[nl...]
        let status = body.withUnsafeBytes { b in
            luaL_loadbuffer(L, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count, "@user_function")
        }
        if status != 0 {
            let msg = String(cString: lua_tolstring(L, -1, nil))
            ruv_lua_pop(L, 1)
            return fail(ScriptFailure("Error compiling function: \(msg)"))
        }
        f.loading = lib
        ruv_set_globals_view(L, 1)
        ruv_set_load_hook(L, Int32(timeoutMs))
        let err = lua_pcall(L, 0, 0, 0)
        ruv_set_load_hook(L, 0)
        ruv_set_globals_view(L, 0)
        f.loading = nil
        if err != 0 {
            let info = ScriptError.extract(L)
            ruv_lua_pop(L, 1)
            return fail(ScriptFailure("Error registering functions: \(info.message ?? "")"))
        }
        if lib.functions.isEmpty { return fail("No functions registered") }
        for fn in lib.functions where ctx.function(fn.name) != nil {
            return fail(ScriptFailure("Function \(fn.name) already exists"))
        }
        ctx.link(lib)
        if let old { f.release([old]) }
        return .success(name)
    }

    /// sdssplitargs of the shebang line (quotes allowed, as Redis's).
    private func splitShebangArgs(_ line: [UInt8]) -> [String]? {
        var out: [String] = []
        var i = 0
        let n = line.count
        while true {
            while i < n && (line[i] == 32 || line[i] == 9 || line[i] == 13) { i += 1 }
            if i >= n { return out }
            var cur: [UInt8] = []
            var quote: UInt8 = 0
            while i < n {
                let ch = line[i]
                if quote != 0 {
                    if ch == quote {
                        i += 1
                        if i < n && line[i] != 32 && line[i] != 9 { return nil }
                        break
                    }
                    cur.append(ch)
                } else if ch == 34 || ch == 39 {
                    quote = ch
                } else if ch == 32 || ch == 9 || ch == 13 {
                    break
                } else {
                    cur.append(ch)
                }
                i += 1
            }
            if quote != 0 && i > n { return nil }
            out.append(String(decoding: cur, as: UTF8.self))
        }
    }
}

/// An error text for a client (without the `-ERR ` that addReplyError adds).
struct ScriptFailure: Error, ExpressibleByStringLiteral {
    let message: String
    init(_ m: String) { message = m }
    init(stringLiteral m: String) { message = m }
}

enum FunctionAPI {
    /// redis.register_function(name, callback) or redis.register_function{function_name=,
    /// callback=, flags=, description=} (function_lua.c luaRegisterFunction).
    static func registerFunction(_ L: OpaquePointer) -> Int32 {
        let f = LuaAPI.server(L).scripting.functions
        guard let lib = f.loading else {
            LuaAPI.pushError(L, "redis.register_function can only be called on FUNCTION LOAD command")
            return -1
        }
        let argc = lua_gettop(L)
        if argc < 1 || argc > 2 {
            LuaAPI.pushError(L, "wrong number of arguments to redis.register_function")
            return -1
        }
        var name: String? = nil
        var desc: [UInt8]? = nil
        var ref: Int32? = nil
        var flags: ScriptFlags = []
        func fail(_ msg: String) -> Int32 {
            if let ref { luaL_unref(L, LUA_REGISTRYINDEX, ref) }
            LuaAPI.pushError(L, msg)
            return -1
        }
        func stringAt(_ idx: Int32) -> [UInt8]? {
            guard lua_isstring(L, idx) != 0 else { return nil }
            var len = 0
            let p = lua_tolstring(L, idx, &len)
            return Array(UnsafeRawBufferPointer(start: p, count: len))
        }
        if argc == 2 {
            guard let n = stringAt(1) else { return fail("first argument to redis.register_function must be a string") }
            guard lua_type(L, 2) == LUA_TFUNCTION else {
                return fail("second argument to redis.register_function must be a function")
            }
            name = String(decoding: n, as: UTF8.self)
            ref = luaL_ref(L, LUA_REGISTRYINDEX)
        } else {
            guard lua_type(L, 1) == LUA_TTABLE else {
                return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
            }
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                guard let keyBytes = stringAt(-2) else {
                    return fail("named argument key given to redis.register_function is not a string")
                }
                let key = String(decoding: keyBytes, as: UTF8.self).lowercased()
                switch key {
                case "function_name":
                    guard let n = stringAt(-1) else { return fail("function_name argument given to redis.register_function must be a string") }
                    name = String(decoding: n, as: UTF8.self)
                case "description":
                    guard let d = stringAt(-1) else { return fail("description argument given to redis.register_function must be a string") }
                    desc = d
                case "callback":
                    guard lua_type(L, -1) == LUA_TFUNCTION else {
                        return fail("callback argument given to redis.register_function must be a function")
                    }
                    if let old = ref { luaL_unref(L, LUA_REGISTRYINDEX, old) }
                    ref = luaL_ref(L, LUA_REGISTRYINDEX)
                    continue  // luaL_ref popped the value
                case "flags":
                    guard lua_type(L, -1) == LUA_TTABLE else {
                        return fail("flags argument to redis.register_function must be a table representing function flags")
                    }
                    guard let fl = readFlags(L) else { return fail("unknown flag given") }
                    flags = fl
                default:
                    return fail("unknown argument given to redis.register_function")
                }
                ruv_lua_pop(L, 1)
            }
            guard name != nil else { return fail("redis.register_function must get a function name argument") }
            guard ref != nil else { return fail("redis.register_function must get a callback argument") }
        }
        guard let name, let ref else { return fail("redis.register_function must get a callback argument") }
        if !isValidFunctionName(name) { return fail(invalidFunctionNameError) }
        if lib.function(named: name) != nil { return fail("Function already exists in the library") }
        lib.functions.append(ScriptFunction(name: name, ref: ref, flags: flags, description: desc, library: lib))
        return 0
    }

    /// The flags table on top of the stack: strings among Redis's script flags.
    private static func readFlags(_ L: OpaquePointer) -> ScriptFlags? {
        var flags: ScriptFlags = []
        var j: Int32 = 1
        while true {
            lua_pushnumber(L, Double(j))
            lua_gettable(L, -2)
            j += 1
            if lua_type(L, -1) == LUA_TNIL { ruv_lua_pop(L, 1); return flags }
            guard lua_isstring(L, -1) != 0 else { ruv_lua_pop(L, 1); return nil }
            let s = String(cString: lua_tolstring(L, -1, nil)).lowercased()
            ruv_lua_pop(L, 1)
            guard let f = ScriptFlags.names.first(where: { $0.0 == s }) else { return nil }
            flags.insert(f.1)
        }
    }
}
