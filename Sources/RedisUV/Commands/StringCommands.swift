#if canImport(Glibc)
import Glibc
#endif

/// String commands (Redis's t_string.c).
enum StringCommands {
    static let table: [CommandImpl] = [
        CommandImpl("get", get),
        CommandImpl("getset", getset),
        CommandImpl("getdel", getdel),
        CommandImpl("getex", getex),
        CommandImpl("set", set),
        CommandImpl("setnx", setnx),
        CommandImpl("setex", setex),
        CommandImpl("psetex", psetex),
        CommandImpl("mget", mget),
        CommandImpl("mset", mset),
        CommandImpl("msetnx", msetnx),
        CommandImpl("incr", incr),
        CommandImpl("decr", decr),
        CommandImpl("incrby", incrby),
        CommandImpl("decrby", decrby),
        CommandImpl("incrbyfloat", incrbyfloat),
        CommandImpl("append", append),
        CommandImpl("strlen", strlen),
        CommandImpl("getrange", getrange),
        CommandImpl("substr", getrange),
        CommandImpl("setrange", setrange),
        CommandImpl("lcs", lcs),
    ]

    static var emptyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    /// Redis matches option names as C strings (`strcasecmp`, `opt[2] == '\0'`), so an
    /// argument counts only up to its first NUL byte: "nx\0junk" is NX.
    @inline(__always)
    static func optionIs(_ argv: Argv, _ i: Int, _ word: StaticString) -> Bool {
        let a = argv[i]
        let n = word.utf8CodeUnitCount
        if a.count < n || (a.count > n && a[n] != 0) { return false }
        return bytesEqualIgnoringCase(UnsafeRawBufferPointer(rebasing: a[0..<n]), word)
    }

    // MARK: GET and the GET* variants

    static func get(_ c: Client, _ argv: Argv) {
        _ = getGeneric(c, argv[1])
    }

    /// Redis's getGenericCommand: replies the value or a null; false after a WRONGTYPE error.
    @inline(__always)
    static func getGeneric(_ c: Client, _ key: UnsafeRawBufferPointer) -> Bool {
        guard let e = c.lookupRead(key) else {
            c.addReplyNull()
            return true
        }
        if e.type != .string {
            c.addReplyErrorWrongType()
            return false
        }
        c.addReplyBulk(e.stringValue)
        return true
    }

    /// GETSET: the old value, then SET semantics (the TTL is dropped).
    static func getset(_ c: Client, _ argv: Argv) {
        guard getGeneric(c, argv[1]) else { return }
        setString(c, key: argv[1], value: argv[2], existing: c.lookupWrite(argv[1]), keepTTL: false, expireAt: -1)
        c.server.signalModifiedKey(c.db, argv[1])  // setKey's
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "set", argv[1], c.db.id)
        c.noteWrite()
        // Propagated as SET key value (Redis: rewriteClientCommandArgument(c,0,shared.set)).
        if c.server.isPropagating { c.server.propagateInstead([propWord("SET"), argv.bytes(1), argv.bytes(2)]) }
    }

    static func getdel(_ c: Client, _ argv: Argv) {
        guard getGeneric(c, argv[1]) else { return }
        if c.db.delete(argv[1]) {
            c.server.signalModifiedKey(c.db, argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[1], c.db.id)
            c.noteWrite()
            // Propagated as DEL key, whatever lazyfree-lazy-user-del says (as Redis).
            if c.server.isPropagating { c.server.propagateInstead([propWord("DEL"), argv.bytes(1)]) }
        }
    }

    /// Redis's getexCommand. Order matters for which error wins: options (syntax) first,
    /// then the key (a missing key is a null even with a bad expire time), then the time.
    static func getex(_ c: Client, _ argv: Argv) {
        guard let opts = parseExtendedOptions(c, argv, from: 2, kind: .getex) else { return }
        guard let e = c.lookupStringReadOrReply(argv[1]) else { return }
        var when: Int64 = -1
        if opts.expireArg >= 0 {
            guard let v = c.intArgOrReply(argv, opts.expireArg),
                  let ms = absoluteExpire(c, Int64(v), flags: opts.flags) else { return }
            when = ms
        }
        c.addReplyBulk(e.stringValue)
        let key = argv[1]
        let server = c.server
        // GETEX is never propagated as such: DEL/UNLINK, PEXPIREAT or PERSIST (Redis's
        // getexCommand).
        if opts.flags.contains(.exat) || opts.flags.contains(.pxat), server.checkAlreadyExpired(when) {
            // An absolute time already past deletes the key (Redis's checkAlreadyExpired).
            c.db.delete(entry: e)
            if server.isPropagating {
                server.propagateInstead([server.config.lazyfreeLazyExpire ? propWord("UNLINK") : propWord("DEL"), argv.bytes(1)])
            }
            server.signalModifiedKey(c.db, key)
            server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
            c.noteWrite()
        } else if opts.expireArg >= 0 {
            c.db.setExpire(e, at: when)
            if server.isPropagating { server.propagateInstead([propWord("PEXPIREAT"), argv.bytes(1), propInt(when)]) }
            server.signalModifiedKey(c.db, key)
            server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "expire", key, c.db.id)
            c.noteWrite()
        } else if opts.flags.contains(.persist) {
            if c.db.removeExpire(e) {
                if server.isPropagating { server.propagateInstead([propWord("PERSIST"), argv.bytes(1)]) }
                server.signalModifiedKey(c.db, key)
                server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "persist", key, c.db.id)
                c.noteWrite()
            }
        }
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

    static func strlen(_ c: Client, _ argv: Argv) {
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyInt(0)
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        c.addReplyInt(e.stringValue.count)
    }

    // MARK: SET and friends (Redis's setGenericCommand)

    /// Redis's OBJ_SET_* / OBJ_EX... flags: each expire kind is its own bit because Redis
    /// lets an option repeat ("EX 1 EX 2") but not mix with another kind ("EX 1 PX 2").
    struct SetFlags: OptionSet {
        let rawValue: UInt16
        static let nx = SetFlags(rawValue: 1 << 0)
        static let xx = SetFlags(rawValue: 1 << 1)
        static let get = SetFlags(rawValue: 1 << 2)
        static let keepTTL = SetFlags(rawValue: 1 << 3)
        static let persist = SetFlags(rawValue: 1 << 4)
        static let ex = SetFlags(rawValue: 1 << 5)
        static let px = SetFlags(rawValue: 1 << 6)
        static let exat = SetFlags(rawValue: 1 << 7)
        static let pxat = SetFlags(rawValue: 1 << 8)
        static let anyExpire: SetFlags = [.ex, .px, .exat, .pxat]
    }

    enum CommandKind { case set, getex }

    struct ExtendedOptions {
        var flags: SetFlags = []
        /// Index of the expire time argument, or -1.
        var expireArg = -1
    }

    /// Parses SET/GETEX options from argument 3 (SET) or 2 (GETEX): Redis's
    /// parseExtendedStringArgumentsOrReply. The expire time itself is checked later, so a
    /// syntax error anywhere wins over a bad time. Nil after replying.
    static func parseExtendedOptions(_ c: Client, _ argv: Argv, from start: Int, kind: CommandKind) -> ExtendedOptions? {
        var o = ExtendedOptions()
        let isSet = kind == .set
        var j = start
        while j < argv.count {
            let hasNext = j + 1 < argv.count
            let f = o.flags
            if optionIs(argv, j, "nx") && !f.contains(.xx) && isSet {
                o.flags.insert(.nx)
            } else if optionIs(argv, j, "xx") && !f.contains(.nx) && isSet {
                o.flags.insert(.xx)
            } else if optionIs(argv, j, "get") && isSet {
                o.flags.insert(.get)
            } else if optionIs(argv, j, "keepttl") && !f.contains(.persist) && f.isDisjoint(with: .anyExpire) && isSet {
                o.flags.insert(.keepTTL)
            } else if optionIs(argv, j, "persist") && !isSet && f.isDisjoint(with: .anyExpire) && !f.contains(.keepTTL) {
                o.flags.insert(.persist)
            } else if hasNext, let kind = expireOption(argv, j),
                      !f.contains(.keepTTL) && !f.contains(.persist) && f.isDisjoint(with: SetFlags.anyExpire.subtracting(kind)) {
                o.flags.insert(kind)
                o.expireArg = j + 1
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return nil
            }
            j += 1
        }
        return o
    }

    @inline(__always)
    private static func expireOption(_ argv: Argv, _ j: Int) -> SetFlags? {
        if optionIs(argv, j, "ex") { return .ex }
        if optionIs(argv, j, "px") { return .px }
        if optionIs(argv, j, "exat") { return .exat }
        if optionIs(argv, j, "pxat") { return .pxat }
        return nil
    }

    /// Redis's getExpireMillisecondsOrReply: a user-given time as absolute Unix ms, with
    /// "invalid expire time in '<cmd>' command" for <= 0 and overflow.
    static func absoluteExpire(_ c: Client, _ v: Int64, flags: SetFlags) -> Int64? {
        let seconds = flags.contains(.ex) || flags.contains(.exat)
        if v <= 0 || (seconds && v > Int64.max / 1000) {
            replyInvalidExpire(c)
            return nil
        }
        var ms = seconds ? v * 1000 : v
        if flags.contains(.ex) || flags.contains(.px) {
            let (sum, o) = ms.addingReportingOverflow(c.server.cachedTimeMs)
            if o { replyInvalidExpire(c); return nil }
            ms = sum
        }
        return ms
    }

    /// Redis's addReplyErrorExpireTime.
    static func replyInvalidExpire(_ c: Client) {
        c.addReplyError("invalid expire time in '\(c.lastCommandName)' command")
    }

    /// Stores `value` at `key`: Redis's setKey with the TTL rule of SET (dropped unless
    /// KEEPTTL) and `expireAt` (ms, or -1). Returns the entry now holding the value.
    @discardableResult
    static func setString(_ c: Client, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                          existing: KeyEntry?, keepTTL: Bool, expireAt: Int64) -> KeyEntry {
        let db = c.db
        let enc = stringEncoding(for: value)
        if let old = existing {
            // Same allocation when it fits, unless that would keep a much larger block
            // alive (Redis frees the old value; a string that was APPENDed to 1MB and then
            // SET to "1" must not keep the megabyte).
            let spare = old.valueCapacity - value.count
            if old.type == .string && spare >= 0 && spare <= Swift.max(value.count, 64) {
                old.setStringValueInPlace(value)
                old.encoding = enc
                // The access clock was refreshed by the lookupWrite that found `old`; under
                // LFU the key keeps its counter across the overwrite (Redis's dbSetValue).
                if !keepTTL { db.removeExpire(old) }
                if expireAt >= 0 { db.setExpire(old, at: expireAt) }
                return old
            }
            let e = KeyEntry.make(key: key, value: value, encoding: enc, lru: c.server.lruClock)
            db.replace(old, with: e, keepTTL: keepTTL)
            if expireAt >= 0 { db.setExpire(e, at: expireAt) }
            return e
        }
        let e = KeyEntry.make(key: key, value: value, encoding: enc, lru: c.server.lruClock)
        db.add(e)
        if expireAt >= 0 { db.setExpire(e, at: expireAt) }
        return e
    }

    static func setGeneric(_ c: Client, flags: SetFlags, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                           expireAt: Int64, okReply: StaticString?, abortReply: StaticString?, argv: Argv? = nil) {
        if flags.contains(.get) {
            guard getGeneric(c, key) else { return }
        }
        let existing = c.lookupWrite(key)
        if (flags.contains(.nx) && existing != nil) || (flags.contains(.xx) && existing == nil) {
            if !flags.contains(.get) {
                if let abortReply { c.addReplyRaw(abortReply) } else { c.addReplyNull() }
            }
            return
        }
        setString(c, key: key, value: value, existing: existing, keepTTL: flags.contains(.keepTTL), expireAt: expireAt)
        c.noteWrite()
        let server = c.server
        server.signalModifiedKey(c.db, key)  // setKey's
        server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "set", key, c.db.id)
        if expireAt >= 0 { server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "expire", key, c.db.id) }
        if server.isPropagating { propagateSet(c, flags: flags, key: key, value: value, expireAt: expireAt, argv: argv) }
        if !flags.contains(.get) {
            if let okReply { c.addReplyRaw(okReply) } else { c.addReplyOK() }
        }
    }

    /// What a SET that stored its value propagates (Redis's setGenericCommand): with an
    /// expire, `SET key value PXAT <ms>` (the options dropped: the outcome is known);
    /// with GET, its arguments without the GET words; otherwise as it came.
    @inline(never)
    static func propagateSet(_ c: Client, flags: SetFlags, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                             expireAt: Int64, argv: Argv?) {
        if expireAt >= 0 {
            c.server.propagateInstead([propWord("SET"), Array(key), Array(value), propWord("PXAT"), propInt(expireAt)])
        } else if flags.contains(.get), let argv {
            var v: [[UInt8]] = []
            for j in 0..<argv.count where !(j >= 3 && optionIs(argv, j, "get")) { v.append(argv.bytes(j)) }
            c.server.propagateInstead(v)
        }
    }

    static func set(_ c: Client, _ argv: Argv) {
        var opts = ExtendedOptions()
        if argv.count > 3 {
            guard let parsed = parseExtendedOptions(c, argv, from: 3, kind: .set) else { return }
            opts = parsed
        }
        var when: Int64 = -1
        if opts.expireArg >= 0 {
            guard let v = c.intArgOrReply(argv, opts.expireArg),
                  let ms = absoluteExpire(c, Int64(v), flags: opts.flags) else { return }
            when = ms
        }
        setGeneric(c, flags: opts.flags, key: argv[1], value: argv[2], expireAt: when, okReply: nil, abortReply: nil, argv: argv)
    }

    static func setnx(_ c: Client, _ argv: Argv) {
        setGeneric(c, flags: .nx, key: argv[1], value: argv[2], expireAt: -1, okReply: ":1\r\n", abortReply: ":0\r\n")
    }

    static func setex(_ c: Client, _ argv: Argv) {
        guard let v = c.intArgOrReply(argv, 2),
              let when = absoluteExpire(c, Int64(v), flags: .ex) else { return }
        setGeneric(c, flags: [], key: argv[1], value: argv[3], expireAt: when, okReply: nil, abortReply: nil)
    }

    static func psetex(_ c: Client, _ argv: Argv) {
        guard let v = c.intArgOrReply(argv, 2),
              let when = absoluteExpire(c, Int64(v), flags: .px) else { return }
        setGeneric(c, flags: [], key: argv[1], value: argv[3], expireAt: when, okReply: nil, abortReply: nil)
    }

    /// Redis's msetGenericCommand. With NX nothing is set when any key exists. A key given
    /// twice simply takes its last value.
    static func msetGeneric(_ c: Client, _ argv: Argv, nx: Bool) {
        if argv.count % 2 == 0 {
            c.addReplyError("wrong number of arguments for '\(c.lastCommandName)' command")
            return
        }
        if nx {
            var j = 1
            while j < argv.count {
                if c.lookupWrite(argv[j]) != nil {
                    c.addReplyRaw(":0\r\n")
                    return
                }
                j += 2
            }
        }
        var j = 1
        while j < argv.count {
            setString(c, key: argv[j], value: argv[j + 1], existing: c.lookupWrite(argv[j]), keepTTL: false, expireAt: -1)
            c.server.signalModifiedKey(c.db, argv[j])  // setKey's
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "set", argv[j], c.db.id)
            j += 2
        }
        c.noteWrite((argv.count - 1) / 2)
        if nx { c.addReplyRaw(":1\r\n") } else { c.addReplyOK() }
    }

    static func mset(_ c: Client, _ argv: Argv) { msetGeneric(c, argv, nx: false) }
    static func msetnx(_ c: Client, _ argv: Argv) { msetGeneric(c, argv, nx: true) }

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
            // Redis overwrites the value and keeps the TTL (dbOverwrite); always "int".
            if let e = existing, n <= e.valueCapacity {
                e.setStringValueInPlace(digits)
                e.encoding = .int
            } else {
                setString(c, key: key, value: digits, existing: existing, keepTTL: true, expireAt: -1).encoding = .int
            }
        }
        c.server.signalModifiedKey(c.db, key)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "incrby", key, c.db.id)
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

    /// Redis's incrbyfloatCommand: long double arithmetic, stored in ld2string's
    /// human-friendly form (so the reply and the stored text agree).
    static func incrbyfloat(_ c: Client, _ argv: Argv) {
        let existing = c.lookupWrite(argv[1])
        var value: Float80 = 0
        if let e = existing {
            guard e.type == .string else { c.addReplyErrorWrongType(); return }
            guard let v = parseLongDouble(e.stringValue) else { c.addReplyErrorNotFloat(); return }
            value = v
        }
        guard let incr = parseLongDouble(argv[2]) else { c.addReplyErrorNotFloat(); return }
        value += incr
        if value.isNaN || value.isInfinite {
            c.addReplyError("increment would produce NaN or Infinity")
            return
        }
        let text = formatLongDouble(value, .human)
        text.withUnsafeBytes { t in
            // createStringObject: embstr up to 44 bytes, never "int".
            let e = setString(c, key: argv[1], value: t, existing: existing, keepTTL: true, expireAt: -1)
            e.encoding = t.count <= 44 ? .embstr : .raw
            c.addReplyBulk(t)
        }
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "incrbyfloat", argv[1], c.db.id)
        c.noteWrite()
        // Always as SET key <result> KEEPTTL, so float formatting cannot differ on replicas.
        if c.server.isPropagating {
            c.server.propagateInstead([propWord("SET"), argv.bytes(1), text, propWord("KEEPTTL")])
        }
    }

    // MARK: APPEND, SETRANGE, GETRANGE

    /// sds's SDS_MAX_PREALLOC: below it a growing string doubles, above it gains 1MB.
    static let maxPrealloc = 1024 * 1024

    /// Room to reserve for a string that must hold `needed` bytes (sdsMakeRoomFor's greedy
    /// policy), which makes repeated APPEND amortized O(1).
    @inline(__always)
    static func greedyCapacity(_ needed: Int) -> Int {
        needed < maxPrealloc ? needed * 2 : needed + maxPrealloc
    }

    /// `e` if its value can grow to `needed` bytes in place; otherwise a copy with greedy
    /// spare room that replaces it in the database (the TTL moves over, like dbOverwrite).
    static func entryWithRoom(_ c: Client, _ e: KeyEntry, for needed: Int) -> KeyEntry {
        if needed <= e.valueCapacity { return e }
        let current = e.stringValue
        let grown = KeyEntry.make(key: e.key, value: current, encoding: e.encoding, lru: c.server.lruClock,
                                  spare: greedyCapacity(needed) - current.count)
        c.db.replace(e, with: grown, keepTTL: true)
        return grown
    }

    /// Redis's checkStringLength: `size + append` must not exceed proto-max-bulk-len (nor
    /// overflow). We also cap at 4GB, the most a KeyEntry can hold.
    static func checkStringLength(_ c: Client, _ size: Int, _ append: Int) -> Bool {
        let (total, o) = size.addingReportingOverflow(append)
        if o || total > c.server.config.protoMaxBulkLen || total > Int(UInt32.max) {
            c.addReplyError("string exceeds maximum allowed size (proto-max-bulk-len)")
            return false
        }
        return true
    }

    static func append(_ c: Client, _ argv: Argv) {
        let key = argv[1], tail = argv[2]
        guard let e = c.lookupWrite(key) else {
            // A new key stores the argument as SET would (tryObjectEncoding).
            c.db.add(KeyEntry.make(key: key, value: tail, encoding: stringEncoding(for: tail), lru: c.server.lruClock))
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "append", key, c.db.id)
            c.noteWrite()
            c.addReplyInt(tail.count)
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        let old = e.stringValue.count
        guard checkStringLength(c, old, tail.count) else { return }
        let total = old + tail.count
        let target = entryWithRoom(c, e, for: total)
        if tail.count > 0 {
            target.withMutableValue { p, _ in (p + old).copyMemory(from: tail.baseAddress!, byteCount: tail.count) }
        }
        target.setStringValueLength(total)
        target.encoding = .raw  // dbUnshareStringValue: always a raw sds afterwards
        c.server.signalModifiedKey(c.db, key)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "append", key, c.db.id)
        c.noteWrite()
        c.addReplyInt(total)
    }

    static func setrange(_ c: Client, _ argv: Argv) {
        let key = argv[1], patch = argv[3]
        guard let offset = c.intArgOrReply(argv, 2) else { return }
        if offset < 0 {
            c.addReplyError("offset is out of range")
            return
        }
        let target: KeyEntry
        var old = 0
        if let e = c.lookupWrite(key) {
            guard e.type == .string else { c.addReplyErrorWrongType(); return }
            old = e.stringValue.count
            if patch.count == 0 {
                c.addReplyInt(old)
                return
            }
            guard checkStringLength(c, offset, patch.count) else { return }
            target = entryWithRoom(c, e, for: offset + patch.count)
        } else {
            // Setting nothing on a missing key creates nothing.
            if patch.count == 0 {
                c.addReplyInt(0)
                return
            }
            guard checkStringLength(c, offset, patch.count) else { return }
            target = KeyEntry.make(key: key, value: emptyBytes, encoding: .raw, lru: c.server.lruClock,
                                   spare: offset + patch.count)
            c.db.add(target)
        }
        let end = offset + patch.count
        target.withMutableValue { p, _ in
            // sdsgrowzero: the gap between the old end and the offset reads as zero bytes.
            if offset > old { (p + old).initializeMemory(as: UInt8.self, repeating: 0, count: offset - old) }
            (p + offset).copyMemory(from: patch.baseAddress!, byteCount: patch.count)
        }
        if end > old { target.setStringValueLength(end) }
        target.encoding = .raw
        c.server.signalModifiedKey(c.db, key)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "setrange", key, c.db.id)
        c.noteWrite()
        c.addReplyInt(Swift.max(end, old))
    }

    /// GETRANGE and its old name SUBSTR (Redis's getrangeCommand): inclusive byte range with
    /// negative indexes counted from the end; an empty bulk when nothing is selected.
    static func getrange(_ c: Client, _ argv: Argv) {
        guard var start = c.intArgOrReply(argv, 2), var end = c.intArgOrReply(argv, 3) else { return }
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyBulk(emptyBytes)
            return
        }
        guard e.type == .string else { c.addReplyErrorWrongType(); return }
        let s = e.stringValue
        let len = s.count
        if start < 0 && end < 0 && start > end {
            c.addReplyBulk(emptyBytes)
            return
        }
        if start < 0 { start = len &+ start }
        if end < 0 { end = len &+ end }
        if start < 0 { start = 0 }
        if end < 0 { end = 0 }
        if end >= len { end = len - 1 }
        if start > end || len == 0 {
            c.addReplyBulk(emptyBytes)
        } else {
            c.addReplyBulk(UnsafeRawBufferPointer(rebasing: s[start...end]))
        }
    }

    // MARK: LCS (Redis's lcsCommand)

    static func lcs(_ c: Client, _ argv: Argv) {
        let ea = c.lookupRead(argv[1])
        let eb = c.lookupRead(argv[2])
        if (ea.map { $0.type != .string } ?? false) || (eb.map { $0.type != .string } ?? false) {
            c.addReplyError("The specified keys must contain string values")
            return
        }
        var getIdx = false, getLen = false, withMatchLen = false
        var minMatchLen = 0
        var j = 3
        while j < argv.count {
            let moreArgs = argv.count - 1 - j
            if optionIs(argv, j, "idx") {
                getIdx = true
            } else if optionIs(argv, j, "len") {
                getLen = true
            } else if optionIs(argv, j, "withmatchlen") {
                withMatchLen = true
            } else if optionIs(argv, j, "minmatchlen") && moreArgs > 0 {
                guard let v = c.intArgOrReply(argv, j + 1) else { return }
                minMatchLen = Swift.max(v, 0)
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        if getIdx && getLen {
            c.addReplyError("If you want both the length and indexes, please just use IDX.")
            return
        }
        let a = ea?.stringValue ?? emptyBytes
        let b = eb?.stringValue ?? emptyBytes
        if a.count >= Int(UInt32.max) - 1 || b.count >= Int(UInt32.max) - 1 {
            c.addReplyError("String too long for LCS")
            return
        }
        // The (alen+1) x (blen+1) table of LCS lengths of prefixes, as Redis allocates it.
        let alen = a.count, blen = b.count
        let cells = UInt64(alen + 1) * UInt64(blen + 1)
        let (bytes, overflow) = cells.multipliedReportingOverflow(by: 4)
        if !overflow && bytes > UInt64(c.server.config.protoMaxBulkLen) {
            c.addReplyError("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
            return
        }
        guard !overflow, bytes < UInt64(Int.max), let raw = malloc(Int(bytes)) else {
            c.addReplyError("Insufficient memory, failed allocating transient memory for LCS")
            return
        }
        defer { free(raw) }
        let dp = raw.bindMemory(to: UInt32.self, capacity: Int(cells))
        fillLCSTable(dp, a, b)
        replyLCS(c, dp, a, b, getIdx: getIdx, getLen: getLen, withMatchLen: withMatchLen, minMatchLen: minMatchLen)
    }

    /// dp[i*(blen+1)+j] = length of the LCS of a[0..<i] and b[0..<j].
    static func fillLCSTable(_ dp: UnsafeMutablePointer<UInt32>, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) {
        let alen = a.count, blen = b.count
        let w = blen + 1
        for j in 0...blen { dp[j] = 0 }
        if alen == 0 { return }
        for i in 1...alen {
            let row = dp + i * w, prev = dp + (i - 1) * w
            row[0] = 0
            if blen == 0 { continue }
            let ca = a[i - 1]
            for j in 1...blen {
                if ca == b[j - 1] {
                    row[j] = prev[j - 1] + 1
                } else {
                    let up = prev[j], left = row[j - 1]
                    row[j] = up > left ? up : left
                }
            }
        }
    }

    /// Walks the table back from the end, as Redis does, building the LCS string and (for
    /// IDX) the matched ranges, from the last match to the first.
    static func replyLCS(_ c: Client, _ dp: UnsafeMutablePointer<UInt32>, _ a: UnsafeRawBufferPointer,
                         _ b: UnsafeRawBufferPointer, getIdx: Bool, getLen: Bool, withMatchLen: Bool, minMatchLen: Int) {
        let alen = a.count, blen = b.count
        let w = blen + 1
        @inline(__always) func cell(_ i: Int, _ j: Int) -> Int { Int(dp[i * w + j]) }
        let total = cell(alen, blen)
        let computeLCS = getIdx || !getLen
        var result = [UInt8](repeating: 0, count: computeLCS ? total : 0)
        var arrayMark = -1
        var ranges = 0
        if getIdx {
            c.addReplyMapLen(2)
            c.addReplyBulk("matches" as StaticString)
            arrayMark = c.addReplyDeferredLen()
        }
        // arangeStart == alen means "no range open".
        var arangeStart = alen, arangeEnd = 0, brangeStart = 0, brangeEnd = 0
        var idx = total
        var i = alen, j = blen
        while computeLCS && i > 0 && j > 0 {
            var emitRange = false
            if a[i - 1] == b[j - 1] {
                result[idx - 1] = a[i - 1]
                if arangeStart == alen {
                    arangeStart = i - 1; arangeEnd = i - 1
                    brangeStart = j - 1; brangeEnd = j - 1
                } else if arangeStart == i && brangeStart == j {
                    // Contiguous with the open range: extend it backward.
                    arangeStart -= 1
                    brangeStart -= 1
                } else {
                    emitRange = true
                }
                // A match at the first byte of either string ends the walk.
                if arangeStart == 0 || brangeStart == 0 { emitRange = true }
                idx -= 1; i -= 1; j -= 1
            } else {
                if cell(i - 1, j) > cell(i, j - 1) { i -= 1 } else { j -= 1 }
                if arangeStart != alen { emitRange = true }
            }
            if emitRange {
                // Redis computes this in uint32_t; it is only used when a range is open.
                let matchLen = Int(UInt32(truncatingIfNeeded: arangeEnd &- arangeStart &+ 1))
                if (minMatchLen == 0 || matchLen >= minMatchLen) && arrayMark >= 0 {
                    c.addReplyArrayLen(withMatchLen ? 3 : 2)
                    c.addReplyArrayLen(2)
                    c.addReplyInt(arangeStart)
                    c.addReplyInt(arangeEnd)
                    c.addReplyArrayLen(2)
                    c.addReplyInt(brangeStart)
                    c.addReplyInt(brangeEnd)
                    if withMatchLen { c.addReplyInt(matchLen) }
                    ranges += 1
                }
                arangeStart = alen
            }
        }
        if arrayMark >= 0 {
            c.addReplyBulk("len" as StaticString)
            c.addReplyInt(total)
            c.setDeferredArrayLen(arrayMark, ranges)
        } else if getLen {
            c.addReplyInt(total)
        } else {
            c.addReplyBulk(result)
        }
    }
}
