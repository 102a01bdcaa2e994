import CLua

/// The two conversions of script_lua.c: a command's RESP reply into a Lua value
/// (redisProtocolToLuaType), and a script's Lua result into a RESP reply
/// (luaReplyToRedisReply).
enum LuaReplies {
    // MARK: RESP -> Lua

    /// Pushes the Lua value of the one RESP reply in `reply` (written by our own reply
    /// helpers, so well formed).
    static func pushReply(_ L: OpaquePointer, _ reply: UnsafeRawBufferPointer) {
        if reply.isEmpty { lua_pushnil(L); return }  // CLIENT REPLY OFF-like silence
        var pos = 0
        parse(L, reply, &pos, push: true)
    }

    /// The line after the type byte at `pos`, without CRLF; `pos` moves past it.
    private static func line(_ r: UnsafeRawBufferPointer, _ pos: inout Int) -> UnsafeRawBufferPointer {
        let start = pos + 1
        var i = start
        while i + 1 < r.count && !(r[i] == 13 && r[i + 1] == 10) { i += 1 }
        pos = i + 2
        return UnsafeRawBufferPointer(rebasing: r[start..<i])
    }

    private static func integer(_ b: UnsafeRawBufferPointer) -> Int {
        var v = 0, neg = false
        for (k, c) in b.enumerated() {
            if k == 0 && c == UInt8(ascii: "-") { neg = true; continue }
            v = v &* 10 &+ Int(c &- 48)
        }
        return neg ? -v : v
    }

    private static func pushBytes(_ L: OpaquePointer, _ b: UnsafeRawBufferPointer) {
        lua_pushlstring(L, b.baseAddress?.assumingMemoryBound(to: CChar.self), b.count)
    }

    private static func parse(_ L: OpaquePointer, _ r: UnsafeRawBufferPointer, _ pos: inout Int, push: Bool) {
        guard pos < r.count else { if push { lua_pushnil(L) }; return }
        _ = lua_checkstack(L, 5)
        let type = r[pos]
        switch type {
        case UInt8(ascii: "+"):
            let s = line(r, &pos)
            guard push else { return }
            ruv_lua_newtable(L)
            pushBytes(L, s)
            lua_setfield(L, -2, "ok")
        case UInt8(ascii: "-"):
            let s = line(r, &pos)
            guard push else { return }
            LuaAPI.pushError(L, [UInt8(ascii: "-")] + Array(s))
            LuaAPI.markStatsCounted(L)
        case UInt8(ascii: ":"):
            let n = integer(line(r, &pos))
            if push { lua_pushnumber(L, Double(n)) }
        case UInt8(ascii: "$"):
            let n = integer(line(r, &pos))
            if n < 0 {
                if push { lua_pushboolean(L, 0) }
                return
            }
            if push { pushBytes(L, UnsafeRawBufferPointer(rebasing: r[pos..<(pos + n)])) }
            pos += n + 2
        case UInt8(ascii: "*"):
            let n = integer(line(r, &pos))
            if n < 0 {
                if push { lua_pushboolean(L, 0) }
                return
            }
            if push { lua_createtable(L, Int32(n), 0) }
            for j in 0..<n {
                parse(L, r, &pos, push: push)
                if push { lua_rawseti(L, -2, Int32(j + 1)) }
            }
        case UInt8(ascii: "%"):
            let n = integer(line(r, &pos))
            if push {
                ruv_lua_newtable(L)
                lua_createtable(L, 0, Int32(n))
            }
            for _ in 0..<n {
                parse(L, r, &pos, push: push)
                parse(L, r, &pos, push: push)
                if push { lua_settable(L, -3) }
            }
            if push { lua_setfield(L, -2, "map") }
        case UInt8(ascii: "~"):
            let n = integer(line(r, &pos))
            if push {
                ruv_lua_newtable(L)
                lua_createtable(L, 0, Int32(n))
            }
            for _ in 0..<n {
                parse(L, r, &pos, push: push)
                if push {
                    lua_pushboolean(L, 1)
                    lua_settable(L, -3)
                }
            }
            if push { lua_setfield(L, -2, "set") }
        case UInt8(ascii: "_"):
            _ = line(r, &pos)
            if push { lua_pushnil(L) }
        case UInt8(ascii: "#"):
            let s = line(r, &pos)
            if push { lua_pushboolean(L, s.first == UInt8(ascii: "t") ? 1 : 0) }
        case UInt8(ascii: ","):
            let s = line(r, &pos)
            guard push else { return }
            ruv_lua_newtable(L)
            lua_pushnumber(L, parseRespDouble(s))
            lua_setfield(L, -2, "double")
        case UInt8(ascii: "("):
            let s = line(r, &pos)
            guard push else { return }
            ruv_lua_newtable(L)
            pushBytes(L, s)
            lua_setfield(L, -2, "big_number")
        case UInt8(ascii: "="):
            let n = integer(line(r, &pos))
            let body = UnsafeRawBufferPointer(rebasing: r[pos..<(pos + n)])
            pos += n + 2
            guard push else { return }
            ruv_lua_newtable(L)
            ruv_lua_newtable(L)
            pushBytes(L, UnsafeRawBufferPointer(rebasing: body[(body.startIndex + 4)...]))
            lua_setfield(L, -2, "string")
            pushBytes(L, UnsafeRawBufferPointer(rebasing: body[body.startIndex..<(body.startIndex + 3)]))
            lua_setfield(L, -2, "format")
            lua_setfield(L, -2, "verbatim_string")
        case UInt8(ascii: "|"):
            // Attributes are not shown to scripts: skipped, then the reply itself.
            let n = integer(line(r, &pos))
            for _ in 0..<(2 * n) { parse(L, r, &pos, push: false) }
            parse(L, r, &pos, push: push)
        case UInt8(ascii: ">"):
            let n = integer(line(r, &pos))
            if push { lua_createtable(L, Int32(n), 0) }
            for j in 0..<n {
                parse(L, r, &pos, push: push)
                if push { lua_rawseti(L, -2, Int32(j + 1)) }
            }
        default:
            pos = r.count
            if push { lua_pushnil(L) }
        }
    }

    private static func parseRespDouble(_ b: UnsafeRawBufferPointer) -> Double {
        let s = String(decoding: b, as: UTF8.self)
        switch s {
        case "inf": return .infinity
        case "-inf": return -.infinity
        case "nan": return .nan
        default: return Double(s) ?? 0
        }
    }

    // MARK: Lua -> RESP

    /// (long long) of a Lua number as x86's cvttsd2si gives it: out of range and NaN
    /// become LLONG_MIN, as in Redis.
    @inline(__always)
    static func truncatedInteger(_ d: Double) -> Int {
        if d.isNaN || d >= 9223372036854775808.0 || d < -9223372036854775808.0 { return Int.min }
        return Int(d)
    }

    /// Writes the value on top of the stack to `c` and pops it (luaReplyToRedisReply).
    /// `scriptResp` is the protocol the script chose with redis.setresp (it decides how
    /// booleans go out, as in Redis).
    static func reply(_ c: Client, scriptResp: Int, _ L: OpaquePointer) {
        if lua_checkstack(L, 4) == 0 {
            c.addReplyError("reached lua stack limit")
            ruv_lua_pop(L, 1)
            return
        }
        switch lua_type(L, -1) {
        case LUA_TSTRING:
            var len = 0
            let p = lua_tolstring(L, -1, &len)
            c.addReplyBulk(UnsafeRawBufferPointer(start: p, count: len))
        case LUA_TBOOLEAN:
            if scriptResp == 2 {
                if lua_toboolean(L, -1) != 0 { c.addReplyInt(1) } else { c.addReplyNull() }
            } else {
                c.addReplyBool(lua_toboolean(L, -1) != 0)
            }
        case LUA_TNUMBER:
            c.addReplyInt(truncatedInteger(lua_tonumber(L, -1)))
        case LUA_TTABLE:
            replyTable(c, scriptResp: scriptResp, L)
            return
        default:
            c.addReplyNull()
        }
        ruv_lua_pop(L, 1)
    }

    /// Field `name` of the table on top, raw, pushed; its Lua type returned.
    @inline(__always)
    private static func rawField(_ L: OpaquePointer, _ name: StaticString) -> Int32 {
        lua_pushlstring(L, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self), name.utf8CodeUnitCount)
        lua_rawget(L, -2)
        return lua_type(L, -1)
    }

    private static func replyTable(_ c: Client, scriptResp: Int, _ L: OpaquePointer) {
        // {err=...}: an error reply.
        if rawField(L, "err") == LUA_TSTRING {
            ruv_lua_pop(L, 1)
            let info = ScriptError.extract(L)
            ruv_lua_pop(L, 1)
            c.addReplyScriptError("-" + (info.message ?? ""), countStats: !info.statsCounted)
            return
        }
        ruv_lua_pop(L, 1)
        // {ok=...}: a status reply.
        if rawField(L, "ok") == LUA_TSTRING {
            let text = cStringBytes(lua_tolstring(L, -1, nil)).map { $0 == 13 || $0 == 10 ? 32 : $0 }
            c.out.append(byte: UInt8(ascii: "+"))
            c.out.append(text)
            c.out.append("\r\n")
            ruv_lua_pop(L, 2)
            return
        }
        ruv_lua_pop(L, 1)
        if rawField(L, "double") == LUA_TNUMBER {
            c.addReplyDouble(lua_tonumber(L, -1))
            ruv_lua_pop(L, 2)
            return
        }
        ruv_lua_pop(L, 1)
        if rawField(L, "big_number") == LUA_TSTRING {
            var len = 0
            let p = lua_tolstring(L, -1, &len)
            let digits = Array(UnsafeRawBufferPointer(start: p, count: len)).map { $0 == 13 || $0 == 10 ? 32 : $0 }
            if c.resp == 2 { c.addReplyBulk(digits) } else {
                c.out.append(byte: UInt8(ascii: "("))
                c.out.append(digits)
                c.out.append("\r\n")
            }
            ruv_lua_pop(L, 2)
            return
        }
        ruv_lua_pop(L, 1)
        if rawField(L, "verbatim_string") == LUA_TTABLE {
            if rawField(L, "format") == LUA_TSTRING {
                let format = cStringBytes(lua_tolstring(L, -1, nil))
                lua_pushstring(L, "string")
                lua_rawget(L, -3)
                if lua_type(L, -1) == LUA_TSTRING {
                    var len = 0
                    let p = lua_tolstring(L, -1, &len)
                    let body = UnsafeRawBufferPointer(start: p, count: len)
                    if c.resp == 2 { c.addReplyBulk(body) } else {
                        c.out.append(byte: UInt8(ascii: "="))
                        c.out.appendDecimal(len + 4)
                        c.out.append("\r\n")
                        var f = Array(format.prefix(3))
                        while f.count < 3 { f.append(0) }
                        c.out.append(f)
                        c.out.append(byte: UInt8(ascii: ":"))
                        c.out.append(body)
                        c.out.append("\r\n")
                    }
                    ruv_lua_pop(L, 4)
                    return
                }
                ruv_lua_pop(L, 1)
            }
            ruv_lua_pop(L, 1)
        }
        ruv_lua_pop(L, 1)
        if rawField(L, "map") == LUA_TTABLE {
            var n = 0
            lua_pushnil(L)
            while lua_next(L, -2) != 0 { n += 1; ruv_lua_pop(L, 1) }
            c.addReplyMapLen(n)
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                lua_pushvalue(L, -2)
                reply(c, scriptResp: scriptResp, L)  // key
                reply(c, scriptResp: scriptResp, L)  // value
            }
            ruv_lua_pop(L, 2)
            return
        }
        ruv_lua_pop(L, 1)
        if rawField(L, "set") == LUA_TTABLE {
            var n = 0
            lua_pushnil(L)
            while lua_next(L, -2) != 0 { n += 1; ruv_lua_pop(L, 1) }
            c.addReplySetLen(n)
            lua_pushnil(L)
            while lua_next(L, -2) != 0 {
                ruv_lua_pop(L, 1)
                lua_pushvalue(L, -1)
                reply(c, scriptResp: scriptResp, L)
            }
            ruv_lua_pop(L, 2)
            return
        }
        ruv_lua_pop(L, 1)
        // An array: elements 1, 2, ... up to the first nil.
        var n: Int32 = 0
        while true {
            lua_rawgeti(L, -1, n + 1)
            let t = lua_type(L, -1)
            ruv_lua_pop(L, 1)
            if t == LUA_TNIL { break }
            n += 1
        }
        c.addReplyArrayLen(Int(n))
        var j: Int32 = 1
        while j <= n {
            lua_rawgeti(L, -1, j)
            reply(c, scriptResp: scriptResp, L)
            j += 1
        }
        ruv_lua_pop(L, 1)
    }

    static func cStringBytes(_ p: UnsafePointer<CChar>?) -> [UInt8] {
        guard let p else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: strlen(p)))
    }
}

/// An error table's parts (Redis's errorInfo / luaExtractErrorInformation).
struct ScriptError {
    var message: String?
    var source: String?
    var line: String?
    var statsCounted = false

    /// From the value on top of the stack (a string, or a table with err/source/line).
    static func extract(_ L: OpaquePointer) -> ScriptError {
        var e = ScriptError()
        if lua_isstring(L, -1) != 0 {
            e.message = "ERR " + String(cString: lua_tolstring(L, -1, nil))
        }
        guard lua_type(L, -1) == LUA_TTABLE else { return e }
        func field(_ name: String) -> String? {
            lua_getfield(L, -1, name)
            defer { ruv_lua_pop(L, 1) }
            guard lua_isstring(L, -1) != 0 else { return nil }
            var len = 0
            let p = lua_tolstring(L, -1, &len)
            return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
        }
        if let m = field("err") { e.message = m }
        e.source = field("source")
        e.line = field("line")
        lua_getfield(L, -1, "ignore_error_stats_update")
        if lua_type(L, -1) == LUA_TBOOLEAN { e.statsCounted = lua_toboolean(L, -1) != 0 }
        ruv_lua_pop(L, 1)
        return e
    }
}

extension Client {
    /// An error reply from a script; `countStats: false` when the command inside the
    /// script that failed already counted it (Redis's ERR_REPLY_FLAG_NO_STATS_UPDATE).
    func addReplyScriptError(_ msg: String, countStats: Bool) {
        if countStats { addReplyError(msg); return }
        var text = msg
        if text.utf8.first != UInt8(ascii: "-") { text = "-ERR " + text }
        out.append(Array(text.utf8).map { $0 == 13 || $0 == 10 ? 32 : $0 })
        out.append("\r\n")
    }
}
