/// Key expiry commands (Redis 7.0's expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with
/// NX|XX|GT|LT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST.
enum ExpireCommands {
    static let table: [CommandImpl] = [
        CommandImpl("expire", expire),
        CommandImpl("pexpire", pexpire),
        CommandImpl("expireat", expireat),
        CommandImpl("pexpireat", pexpireat),
        CommandImpl("ttl", ttl),
        CommandImpl("pttl", pttl),
        CommandImpl("expiretime", expiretime),
        CommandImpl("pexpiretime", pexpiretime),
        CommandImpl("persist", persist),
    ]

    static func expire(_ c: Client, _ argv: Argv) {
        expireGeneric(c, argv, basetime: c.server.cachedTimeMs, seconds: true)
    }

    static func pexpire(_ c: Client, _ argv: Argv) {
        expireGeneric(c, argv, basetime: c.server.cachedTimeMs, seconds: false)
    }

    static func expireat(_ c: Client, _ argv: Argv) {
        expireGeneric(c, argv, basetime: 0, seconds: true)
    }

    static func pexpireat(_ c: Client, _ argv: Argv) {
        expireGeneric(c, argv, basetime: 0, seconds: false)
    }

    struct Conditions: OptionSet {
        let rawValue: UInt8
        static let nx = Conditions(rawValue: 1)
        static let xx = Conditions(rawValue: 2)
        static let gt = Conditions(rawValue: 4)
        static let lt = Conditions(rawValue: 8)
    }

    /// Redis's parseExtendedExpireArgumentsOrReply: NX, XX, GT, LT from argument 3 on,
    /// repeats allowed, NX exclusive with the others, GT exclusive with LT.
    static func parseConditions(_ c: Client, _ argv: Argv) -> Conditions? {
        var flags: Conditions = []
        for j in 3..<max(3, argv.count) {
            if argv.equals(j, "nx") {
                flags.insert(.nx)
            } else if argv.equals(j, "xx") {
                flags.insert(.xx)
            } else if argv.equals(j, "gt") {
                flags.insert(.gt)
            } else if argv.equals(j, "lt") {
                flags.insert(.lt)
            } else {
                // Formatted with %s, so the option ends at a NUL byte.
                let opt = argv[j].prefix { $0 != 0 }
                c.addReplyError("Unsupported option " + String(decoding: opt, as: UTF8.self))
                return nil
            }
        }
        if flags.contains(.nx) && !flags.isDisjoint(with: [.xx, .gt, .lt]) {
            c.addReplyError("NX and XX, GT or LT options at the same time are not compatible")
            return nil
        }
        if flags.contains([.gt, .lt]) {
            c.addReplyError("GT and LT options at the same time are not compatible")
            return nil
        }
        return flags
    }

    /// Redis's expireGenericCommand. `basetime` is now (relative forms) or 0 (the *AT
    /// forms); the time argument may be negative, and a resulting time not in the future
    /// deletes the key (still replying 1).
    static func expireGeneric(_ c: Client, _ argv: Argv, basetime: Int64, seconds: Bool) {
        guard let flags = parseConditions(c, argv) else { return }
        guard let arg = c.intArgOrReply(argv, 2) else { return }
        var when = Int64(arg)
        let timeError = "invalid expire time in '\(c.lastCommandName)' command"
        if seconds {
            if when > Int64.max / 1000 || when < Int64.min / 1000 {
                c.addReplyError(timeError)
                return
            }
            when *= 1000
        }
        if when > Int64.max - basetime {
            c.addReplyError(timeError)
            return
        }
        when += basetime

        let key = argv[1]
        guard let e = c.lookupWrite(key) else {
            c.addReplyInt(0)
            return
        }
        if !flags.isEmpty {
            let current = c.db.expireAt(of: e)  // -1: no TTL, which counts as infinite
            if flags.contains(.nx) && current != -1
                || flags.contains(.xx) && current == -1
                || flags.contains(.gt) && (when <= current || current == -1)
                || flags.contains(.lt) && current != -1 && when >= current {
                c.addReplyInt(0)
                return
            }
        }
        let server = c.server
        if server.checkAlreadyExpired(when) {
            // Redis's checkAlreadyExpired: a time in the past is a DEL, and propagates as
            // one (UNLINK under lazyfree-lazy-expire).
            c.db.delete(entry: e)
            if server.isPropagating {
                server.propagateInstead([server.config.lazyfreeLazyExpire ? propWord("UNLINK") : propWord("DEL"), argv.bytes(1)])
            }
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
            c.noteWrite()
            c.addReplyInt(1)
        } else {
            // Redis replies before notifying here (and after, in the DEL branch): a RESP3
            // client subscribed to its own keys sees the reply first.
            c.db.setExpire(e, at: when)
            c.addReplyInt(1)
            // Propagated as PEXPIREAT key <ms> with the same NX/XX/GT/LT words.
            if server.isPropagating && !(basetime == 0 && !seconds) {
                var v = (0..<argv.count).map { argv.bytes($0) }
                v[0] = propWord("PEXPIREAT")
                v[2] = propInt(when)
                server.propagateInstead(v)
            }
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "expire", key, c.db.id)
            c.noteWrite()
        }
    }

    // MARK: TTL family (Redis's ttlGenericCommand)

    /// -2 for a missing key, -1 without a TTL; otherwise the remaining time (or the
    /// absolute expire time), never negative. Seconds are rounded to the nearest.
    static func ttlGeneric(_ c: Client, _ argv: Argv, milliseconds: Bool, absolute: Bool) {
        let now = c.server.cachedTimeMs
        guard let e = c.lookupReadNoTouch(argv[1]) else {
            c.addReplyInt(-2)
            return
        }
        let expire = c.db.expireAt(of: e)
        if expire == -1 {
            c.addReplyInt(-1)
            return
        }
        var t = absolute ? expire : expire - now
        if t < 0 { t = 0 }
        c.addReplyInt(Int(milliseconds ? t : (t + 500) / 1000))
    }

    static func ttl(_ c: Client, _ argv: Argv) { ttlGeneric(c, argv, milliseconds: false, absolute: false) }
    static func pttl(_ c: Client, _ argv: Argv) { ttlGeneric(c, argv, milliseconds: true, absolute: false) }
    static func expiretime(_ c: Client, _ argv: Argv) { ttlGeneric(c, argv, milliseconds: false, absolute: true) }
    static func pexpiretime(_ c: Client, _ argv: Argv) { ttlGeneric(c, argv, milliseconds: true, absolute: true) }

    static func persist(_ c: Client, _ argv: Argv) {
        guard let e = c.lookupWrite(argv[1]), c.db.removeExpire(e) else {
            c.addReplyInt(0)
            return
        }
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "persist", argv[1], c.db.id)
        c.noteWrite()
        c.addReplyInt(1)
    }
}

extension Server {
    /// Whether an absolute expire time given by a command means "delete now" (Redis's
    /// checkAlreadyExpired): not while loading, and never on a replica, whose keys expire
    /// only when its master says so.
    @inline(__always) func checkAlreadyExpired(_ when: Int64) -> Bool {
        when <= cachedTimeMs && !loading && repl.master == nil
    }
}
