/// String commands (Redis's t_string.c).
enum StringCommands {
    static let table: [(String, CommandProc)] = [
        ("get", get),
        ("set", set),
        ("setnx", setnx),
        ("setex", setex),
        ("psetex", psetex),
        ("mget", mget),
        ("mset", mset),
        ("incr", incr),
        ("decr", decr),
        ("incrby", incrby),
        ("decrby", decrby),
    ]

    // MARK: GET

    static func get(_ c: Client, _ argv: Argv) {
        guard let e = c.lookupStringReadOrReply(argv[1]) else { return }
        c.addReplyBulk(e.stringValue)
    }

    static func mget(_ c: Client, _ argv: Argv) {
        c.addReplyArrayLen(argv.count - 1)
        for i in 1..<argv.count {
            if let e = c.lookupRead(argv[i]), e.type == .string {
                c.addReplyBulk(e.stringValue)
            } else {
                c.addReplyNull()
            }
        }
    }

    // MARK: SET and friends (Redis's setGenericCommand)

    struct SetFlags: OptionSet {
        let rawValue: UInt8
        static let nx = SetFlags(rawValue: 1)
        static let xx = SetFlags(rawValue: 2)
        static let get = SetFlags(rawValue: 4)
        static let keepTTL = SetFlags(rawValue: 8)
        static let expire = SetFlags(rawValue: 16)
        static let persist = SetFlags(rawValue: 32)
    }

    enum ExpireUnit { case seconds, milliseconds }

    enum CommandKind { case set, getex }

    /// Parses SET/GETEX options from argument 3 (SET) or 2 (GETEX): Redis's
    /// parseExtendedStringArgumentsOrReply. Returns the flags and the absolute expiry (ms),
    /// or nil after replying.
    static func parseExtendedOptions(_ c: Client, _ argv: Argv, from start: Int, kind: CommandKind) -> (SetFlags, Int64)? {
        var flags: SetFlags = []
        var expireArg = -1
        var unit = ExpireUnit.seconds
        var absolute = false
        var j = start
        while j < argv.count {
            let hasNext = j + 1 < argv.count
            if argv.equals(j, "nx") && !flags.contains(.xx) && !flags.contains(.persist) && kind == .set {
                flags.insert(.nx)
            } else if argv.equals(j, "xx") && !flags.contains(.nx) && kind == .set {
                flags.insert(.xx)
            } else if argv.equals(j, "get") && kind == .set {
                flags.insert(.get)
            } else if argv.equals(j, "keepttl") && !flags.contains(.persist) && !flags.contains(.expire) && kind == .set {
                flags.insert(.keepTTL)
            } else if argv.equals(j, "persist") && kind == .getex && !flags.contains(.expire) && !flags.contains(.keepTTL) {
                flags.insert(.persist)
            } else if hasNext && !flags.contains(.keepTTL) && !flags.contains(.persist) && !flags.contains(.expire)
                        && (argv.equals(j, "ex") || argv.equals(j, "px") || argv.equals(j, "exat") || argv.equals(j, "pxat")) {
                flags.insert(.expire)
                unit = (argv.equals(j, "px") || argv.equals(j, "pxat")) ? .milliseconds : .seconds
                absolute = argv.equals(j, "exat") || argv.equals(j, "pxat")
                expireArg = j + 1
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return nil
            }
            j += 1
        }
        var when: Int64 = -1
        if expireArg >= 0 {
            guard let v = c.intArgOrReply(argv, expireArg) else { return nil }
            guard let ms = absoluteExpire(c, Int64(v), unit: unit, absolute: absolute, command: c.lastCommandName) else { return nil }
            when = ms
        }
        return (flags, when)
    }

    /// Converts a user-given expire to absolute Unix ms with Redis's checks
    /// ("invalid expire time in 'set' command" for <= 0 and overflow).
    static func absoluteExpire(_ c: Client, _ v: Int64, unit: ExpireUnit, absolute: Bool, command: String) -> Int64? {
        let err = "invalid expire time in '\(command)' command"
        if v <= 0 {
            c.addReplyError(err)
            return nil
        }
        var ms = v
        if unit == .seconds {
            if v > Int64.max / 1000 { c.addReplyError(err); return nil }
            ms = v * 1000
        }
        if !absolute {
            let (sum, o) = ms.addingReportingOverflow(c.server.cachedTimeMs)
            if o { c.addReplyError(err); return nil }
            ms = sum
        }
        return ms
    }

    /// Stores `value` at `key`: Redis's setKey with the TTL rule of SET (dropped unless
    /// KEEPTTL) and `expireAt` (ms, or -1).
    static func setString(_ c: Client, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                          existing: KeyEntry?, keepTTL: Bool, expireAt: Int64) {
        let db = c.db
        let enc = stringEncoding(for: value)
        if let old = existing {
            if old.type == .string && value.count <= old.valueCapacity {
                // Same allocation: overwrite in place.
                old.setStringValueInPlace(value)
                old.encoding = enc
                old.lru = c.server.lruClock
                if !keepTTL { db.removeExpire(old) }
                if expireAt >= 0 { db.setExpire(old, at: expireAt) }
                return
            }
            let e = KeyEntry.make(key: key, value: value, encoding: enc, lru: c.server.lruClock)
            db.replace(old, with: e, keepTTL: keepTTL)
            if expireAt >= 0 { db.setExpire(e, at: expireAt) }
        } else {
            let e = KeyEntry.make(key: key, value: value, encoding: enc, lru: c.server.lruClock)
            db.add(e)
            if expireAt >= 0 { db.setExpire(e, at: expireAt) }
        }
    }

    static func setGeneric(_ c: Client, flags: SetFlags, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                           expireAt: Int64, okReply: StaticString?, abortNull: Bool) {
        let existing = c.lookupWrite(key)
        if flags.contains(.get) {
            if let e = existing {
                if e.type != .string {
                    c.addReplyErrorWrongType()
                    return
                }
                c.addReplyBulk(e.stringValue)
            } else {
                c.addReplyNull()
            }
        }
        if (flags.contains(.nx) && existing != nil) || (flags.contains(.xx) && existing == nil) {
            if !flags.contains(.get) {
                if abortNull { c.addReplyNull() } else { c.addReplyInt(0) }
            }
            return
        }
        setString(c, key: key, value: value, existing: existing, keepTTL: flags.contains(.keepTTL), expireAt: expireAt)
        c.noteWrite()
        if !flags.contains(.get) {
            if let okReply { c.addReplyRaw(okReply) } else { c.addReplyOK() }
        }
    }

    static func set(_ c: Client, _ argv: Argv) {
        var flags: SetFlags = []
        var when: Int64 = -1
        if argv.count > 3 {
            guard let parsed = parseExtendedOptions(c, argv, from: 3, kind: .set) else { return }
            (flags, when) = parsed
        }
        setGeneric(c, flags: flags, key: argv[1], value: argv[2], expireAt: when, okReply: nil, abortNull: true)
    }

    static func setnx(_ c: Client, _ argv: Argv) {
        setGeneric(c, flags: .nx, key: argv[1], value: argv[2], expireAt: -1, okReply: ":1\r\n", abortNull: false)
    }

    static func setex(_ c: Client, _ argv: Argv) {
        guard let v = c.intArgOrReply(argv, 2),
              let when = absoluteExpire(c, Int64(v), unit: .seconds, absolute: false, command: "setex") else { return }
        setGeneric(c, flags: [], key: argv[1], value: argv[3], expireAt: when, okReply: nil, abortNull: true)
    }

    static func psetex(_ c: Client, _ argv: Argv) {
        guard let v = c.intArgOrReply(argv, 2),
              let when = absoluteExpire(c, Int64(v), unit: .milliseconds, absolute: false, command: "psetex") else { return }
        setGeneric(c, flags: [], key: argv[1], value: argv[3], expireAt: when, okReply: nil, abortNull: true)
    }

    static func mset(_ c: Client, _ argv: Argv) {
        if argv.count % 2 == 0 {
            c.addReplyError("wrong number of arguments for 'mset' command")
            return
        }
        var j = 1
        while j < argv.count {
            setString(c, key: argv[j], value: argv[j + 1], existing: c.lookupWrite(argv[j]), keepTTL: false, expireAt: -1)
            j += 2
        }
        c.noteWrite((argv.count - 1) / 2)
        c.addReplyOK()
    }

    // MARK: INCR family (Redis's incrDecrCommand)

    static func incrDecr(_ c: Client, _ argv: Argv, by delta: Int) {
        let key = argv[1]
        let existing = c.lookupWrite(key)
        var current = 0
        if let e = existing {
            guard e.type == .string else { c.addReplyErrorWrongType(); return }
            guard let v = parseStrictInt(e.stringValue) else { c.addReplyErrorNotInteger(); return }
            current = v
        }
        let (result, overflow) = current.addingReportingOverflow(delta)
        if overflow {
            c.addReplyError("increment or decrement would overflow")
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { p in
            let n = formatDecimal(result, into: p.baseAddress!)
            let digits = UnsafeRawBufferPointer(start: p.baseAddress, count: n)
            if let e = existing, n <= e.valueCapacity {
                e.setStringValueInPlace(digits)
                e.encoding = .int
            } else {
                setString(c, key: key, value: digits, existing: existing, keepTTL: true, expireAt: -1)
            }
        }
        c.noteWrite()
        c.addReplyInt(result)
    }

    static func incr(_ c: Client, _ argv: Argv) { incrDecr(c, argv, by: 1) }
    static func decr(_ c: Client, _ argv: Argv) { incrDecr(c, argv, by: -1) }

    static func incrby(_ c: Client, _ argv: Argv) {
        guard let d = c.intArgOrReply(argv, 2) else { return }
        incrDecr(c, argv, by: d)
    }

    static func decrby(_ c: Client, _ argv: Argv) {
        guard let d = c.intArgOrReply(argv, 2) else { return }
        if d == Int.min {
            c.addReplyError("decrement would overflow")
            return
        }
        incrDecr(c, argv, by: -d)
    }
}
