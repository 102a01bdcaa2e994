#if canImport(Glibc)
import Glibc
#endif

/// Stream commands (Redis 7.0's t_stream.c). Values are `StreamValue`s
/// (Types/StreamValue.swift).
enum StreamCommands {
    static let table: [CommandImpl] = [
        CommandImpl("xadd", xadd),
        CommandImpl("xrange", xrange),
        CommandImpl("xrevrange", xrevrange),
        CommandImpl("xlen", xlen),
        CommandImpl("xdel", xdel),
        CommandImpl("xtrim", xtrim),
        CommandImpl("xsetid", xsetid),
        CommandImpl("xread", xread),
        CommandImpl("xreadgroup", xreadgroup),
        CommandImpl("xack", xack),
        CommandImpl("xpending", xpending),
        CommandImpl("xclaim", xclaim),
        CommandImpl("xautoclaim", xautoclaim),
        CommandImpl("xgroup|create", xgroup),
        CommandImpl("xgroup|setid", xgroup),
        CommandImpl("xgroup|destroy", xgroup),
        CommandImpl("xgroup|createconsumer", xgroup),
        CommandImpl("xgroup|delconsumer", xgroup),
        CommandImpl("xgroup|help", xgroup),
        CommandImpl("xinfo|stream", xinfo),
        CommandImpl("xinfo|groups", xinfo),
        CommandImpl("xinfo|consumers", xinfo),
        CommandImpl("xinfo|help", xinfo),
    ]

    static let invalidID = "Invalid stream ID specified as stream command argument"

    @inline(__always) static func bytesEqual(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        if a.count != b.count { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { memcmp($0.baseAddress!, b.baseAddress!, a.count) == 0 }
    }

    // MARK: ID parsing

    /// Redis's string2ull: string2ll for non-negative values, else strtoull (leading
    /// spaces, a sign, leading zeros accepted; a minus wraps).
    static func parseULL(_ b: UnsafeRawBufferPointer) -> UInt64? {
        if let v = parseStrictInt(b) { return v < 0 ? nil : UInt64(v) }
        var i = 0
        let n = b.count
        while i < n, b[i] == 32 || (b[i] >= 9 && b[i] <= 13) { i += 1 }
        var negative = false
        if i < n, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") {
            negative = b[i] == UInt8(ascii: "-")
            i += 1
        }
        if i >= n { return nil }
        var v: UInt64 = 0
        while i < n {
            let d = b[i] &- 48
            if d > 9 { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { return nil }
            v = a
            i += 1
        }
        return negative ? 0 &- v : v
    }

    /// streamGenericParseIDOrReply. `seqGiven` is non-nil where the `<ms>-*` form is
    /// allowed (XADD). Replies the error itself when `c` is given.
    static func parseID(_ c: Client?, _ b: UnsafeRawBufferPointer, missingSeq: UInt64, strict: Bool,
                        seqGiven: UnsafeMutablePointer<Bool>? = nil) -> StreamID? {
        func invalid() -> StreamID? {
            c?.addReplyError(invalidID)
            return nil
        }
        if b.count > 127 { return invalid() }
        // C string semantics: stop at an embedded NUL.
        var len = b.count
        if let z = b.firstIndex(of: 0) { len = z }
        let s = UnsafeRawBufferPointer(rebasing: b[0..<len])
        if strict && len == 1 && (s[0] == UInt8(ascii: "-") || s[0] == UInt8(ascii: "+")) { return invalid() }
        seqGiven?.pointee = true
        if len == 1 && s[0] == UInt8(ascii: "-") { return .zero }
        if len == 1 && s[0] == UInt8(ascii: "+") { return .max }
        if let dash = s.firstIndex(of: UInt8(ascii: "-")) {
            guard let ms = parseULL(UnsafeRawBufferPointer(rebasing: s[0..<dash])) else { return invalid() }
            let rest = UnsafeRawBufferPointer(rebasing: s[(dash + 1)..<len])
            if let sg = seqGiven, rest.count == 1 && rest[0] == UInt8(ascii: "*") {
                sg.pointee = false
                return StreamID(ms: ms, seq: 0)
            }
            guard let seq = parseULL(rest) else { return invalid() }
            return StreamID(ms: ms, seq: seq)
        }
        guard let ms = parseULL(s) else { return invalid() }
        return StreamID(ms: ms, seq: missingSeq)
    }

    @inline(__always) static func strictID(_ c: Client?, _ b: UnsafeRawBufferPointer, missingSeq: UInt64 = 0) -> StreamID? {
        parseID(c, b, missingSeq: missingSeq, strict: true)
    }

    /// streamParseIntervalIDOrReply: a leading '(' makes the bound exclusive.
    static func intervalID(_ c: Client, _ b: UnsafeRawBufferPointer, missingSeq: UInt64) -> (StreamID, Bool)? {
        if b.count > 1 && b[0] == UInt8(ascii: "(") {
            guard let id = parseID(c, UnsafeRawBufferPointer(rebasing: b[1...]), missingSeq: missingSeq, strict: true) else { return nil }
            return (id, true)
        }
        guard let id = parseID(c, b, missingSeq: missingSeq, strict: false) else { return nil }
        return (id, false)
    }

    // MARK: replies

    static func addReplyStreamID(_ c: Client, _ id: StreamID) {
        var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            var n = 0
            func put(_ v: UInt64) {
                var digits = 1
                var t = v
                while t >= 10 { t /= 10; digits += 1 }
                var x = v
                for k in stride(from: n + digits - 1, through: n, by: -1) {
                    buf[k] = UInt8(48 + x % 10)
                    x /= 10
                }
                n += digits
            }
            put(id.ms)
            buf[n] = UInt8(ascii: "-")
            n += 1
            put(id.seq)
            c.addReplyBulk(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[0..<n]))
        }
    }

    @inline(__always) static func addReplyEntry(_ c: Client, _ id: StreamID, _ f: StreamEntryFields) {
        c.addReplyArrayLen(2)
        addReplyStreamID(c, id)
        c.addReplyArrayLen(f.count * 2)
        f.forEachPair { k, v in
            c.addReplyBulk(k)
            c.addReplyBulk(v)
        }
    }

    /// One entry as streamReplyWithRange(..., STREAM_RWR_RAWENTRIES) emits it; false when
    /// there is no such entry.
    @discardableResult
    static func addReplyOneEntry(_ c: Client, _ s: StreamValue, _ id: StreamID, reverse: Bool = false,
                                 start: StreamID? = nil, end: StreamID? = nil) -> Bool {
        var emitted = false
        s.forEachEntry(from: start ?? id, to: end ?? id, reverse: reverse) { eid, f in
            addReplyEntry(c, eid, f)
            emitted = true
            return false
        }
        return emitted
    }

    /// streamReplyWithRange without a group: an array of entries.
    static func replyRange(_ c: Client, _ s: StreamValue, _ start: StreamID, _ end: StreamID, count: Int, reverse: Bool) {
        let mark = c.addReplyDeferredLen()
        var n = 0
        s.forEachEntry(from: start, to: end, reverse: reverse) { id, f in
            addReplyEntry(c, id, f)
            n += 1
            return count == 0 || n < count
        }
        c.setDeferredArrayLen(mark, n)
    }

    // MARK: lookups

    static func readStream(_ c: Client, _ key: UnsafeRawBufferPointer, write: Bool = false) -> (StreamValue?, Bool) {
        switch c.lookupValue(key, .stream, as: StreamValue.self, write: write) {
        case .found(_, let s): return (s, true)
        case .wrongType: return (nil, false)
        case .missing: return (nil, true)
        }
    }

    // MARK: XADD / XTRIM

    struct AddTrimArgs {
        var maxlen = -1
        var minid = StreamID.zero
        var strategy = 0  // 0 none, 1 maxlen, 2 minid
        var approx = false
        var limit = 0
        var id = StreamID.zero
        var idGiven = false
        var seqGiven = true
        var noMkStream = false
        var strategyArgIndex = 0

        var trimStrategy: StreamValue.TrimStrategy {
            strategy == 1 ? .maxlen(maxlen) : .minid(minid)
        }
    }

    /// streamParseAddOrTrimArgsOrReply: the index of the ID (XADD) or -1 after an error.
    static func parseAddTrimArgs(_ c: Client, _ argv: Argv, _ a: inout AddTrimArgs, xadd: Bool) -> Int {
        var i = 2
        var limitGiven = false
        while i < argv.count {
            let moreargs = argv.count - 1 - i
            let opt = argv[i]
            if xadd && opt.count == 1 && opt[0] == UInt8(ascii: "*") {
                break
            } else if (argv.equals(i, "maxlen") || argv.equals(i, "minid")) && moreargs > 0 {
                let maxlen = argv.equals(i, "maxlen")
                if a.strategy != 0 {
                    c.addReplyError("syntax error, MAXLEN and MINID options at the same time are not compatible")
                    return -1
                }
                a.approx = false
                let next = argv[i + 1]
                if moreargs >= 2 && next.count == 1 && next[0] == UInt8(ascii: "~") {
                    a.approx = true
                    i += 1
                } else if moreargs >= 2 && next.count == 1 && next[0] == UInt8(ascii: "=") {
                    i += 1
                }
                if maxlen {
                    guard let v = c.intArgOrReply(argv, i + 1) else { return -1 }
                    if v < 0 {
                        c.addReplyError("The MAXLEN argument must be >= 0.")
                        return -1
                    }
                    a.maxlen = v
                    a.strategy = 1
                } else {
                    guard let id = strictID(c, argv[i + 1]) else { return -1 }
                    a.minid = id
                    a.strategy = 2
                }
                i += 1
                a.strategyArgIndex = i
            } else if argv.equals(i, "limit") && moreargs > 0 {
                guard let v = c.intArgOrReply(argv, i + 1) else { return -1 }
                if v < 0 {
                    c.addReplyError("The LIMIT argument must be >= 0.")
                    return -1
                }
                a.limit = v
                limitGiven = true
                i += 1
            } else if xadd && argv.equals(i, "nomkstream") {
                a.noMkStream = true
            } else if xadd {
                var seqGiven = true
                guard let id = parseID(c, argv[i], missingSeq: 0, strict: true, seqGiven: &seqGiven) else { return -1 }
                a.id = id
                a.seqGiven = seqGiven
                a.idGiven = true
                break
            } else {
                c.addReplyErrorSyntax()
                return -1
            }
            i += 1
        }
        if a.limit != 0 && a.strategy == 0 {
            c.addReplyError("syntax error, LIMIT cannot be used without specifying a trimming strategy")
            return -1
        }
        if !xadd && a.strategy == 0 {
            c.addReplyError("syntax error, XTRIM must be called with a trimming strategy")
            return -1
        }
        if limitGiven {
            if !a.approx {
                c.addReplyError("syntax error, LIMIT cannot be used without the special ~ option")
                return -1
            }
        } else if a.approx {
            a.limit = 100 &* c.server.config.streamNodeMaxEntries
            if a.limit <= 0 || a.limit > 1_000_000 { a.limit = 10_000 }
        } else {
            a.limit = 0
        }
        return i
    }

    static func xadd(_ c: Client, _ argv: Argv) {
        var a = AddTrimArgs()
        let idpos = parseAddTrimArgs(c, argv, &a, xadd: true)
        if idpos < 0 { return }
        let fieldPos = idpos + 1
        if argv.count - fieldPos < 2 || (argv.count - fieldPos) % 2 == 1 {
            c.addReplyError("wrong number of arguments for 'xadd' command")
            return
        }
        if a.idGiven && a.seqGiven && a.id.isZero {
            c.addReplyError("The ID specified in XADD must be greater than 0-0")
            return
        }
        let key = argv[1]
        let s: StreamValue
        switch c.lookupValue(key, .stream, as: StreamValue.self, write: true) {
        case .wrongType: return
        case .found(_, let found): s = found
        case .missing:
            if a.noMkStream {
                c.addReplyNull()
                return
            }
            s = StreamValue()
            c.addValue(key, s, type: .stream)
        }
        if s.lastID == .max {
            c.addReplyError("The stream has exhausted the last possible ID, unable to add more items")
            return
        }
        // streamAppendItem's ID choice.
        var id: StreamID
        if a.idGiven {
            if a.seqGiven {
                id = a.id
            } else if s.lastID.ms == a.id.ms {
                if s.lastID.seq == UInt64.max {
                    // Redis 7.0.15 fails here without setting errno = EDOM, so XADD
                    // reports the other error.
                    c.addReplyError("Elements are too large to be stored")
                    return
                }
                id = StreamID(ms: s.lastID.ms, seq: s.lastID.seq + 1)
            } else {
                id = a.id
            }
        } else {
            let ms = UInt64(Swift.max(0, wallClockMs()))
            // streamNextID: past the clock, or the last ID + 1 (a full sequence carries
            // into the milliseconds, as streamIncrID does); lastID == max was refused above.
            id = ms > s.lastID.ms ? StreamID(ms: ms, seq: 0) : (s.lastID.incremented() ?? s.lastID)
        }
        if id <= s.lastID {
            c.addReplyError("The ID specified in XADD is equal or smaller than the target stream top item")
            return
        }
        var total = 0
        for i in fieldPos..<argv.count { total += argv[i].count }
        if total > (1 << 30) {
            c.addReplyError("Elements are too large to be stored")
            return
        }
        let cfg = c.server.config
        s.append(id, argv, from: fieldPos, maxBytes: cfg.streamNodeMaxBytes, maxEntries: cfg.streamNodeMaxEntries)
        addReplyStreamID(c, id)
        c.server.signalModifiedKey(c.db, key)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xadd", key, c.db.id)
        c.noteWrite()
        if a.strategy != 0 {
            if s.trim(a.trimStrategy, approx: a.approx, limit: a.limit) > 0 {
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xtrim", key, c.db.id)
            }
        }
        // Propagated with the ID it got (for `*` and `ms-*`) and an approximate trim as
        // the exact one it turned out to be (Redis's xaddCommand).
        if c.server.isPropagating && (!a.idGiven || !a.seqGiven || a.approx) {
            var v = (0..<argv.count).map { argv.bytes($0) }
            if !a.idGiven || !a.seqGiven { v[idpos] = id.bytes }
            if a.approx { rewriteApproxTrim(&v, s, a) }
            c.server.propagateInstead(v)
        }
        c.server.signalKeyAsReady(c.db, key)
    }

    /// `MAXLEN|MINID ~ x` becomes `= <length now>` or `= <first entry ID now>`, so that
    /// replicas trim exactly as much (Redis's streamRewriteApproxSpecifier and
    /// streamRewriteTrimArgument; the first ID counts deleted entries still in the node,
    /// and an empty stream gives the largest ID).
    static func rewriteApproxTrim(_ v: inout [[UInt8]], _ s: StreamValue, _ a: AddTrimArgs) {
        v[a.strategyArgIndex - 1] = propWord("=")
        if a.strategy == 1 {
            v[a.strategyArgIndex] = propInt(s.length)
        } else {
            v[a.strategyArgIndex] = (s.firstStoredID ?? StreamID.max).bytes
        }
    }

    static func xtrim(_ c: Client, _ argv: Argv) {
        var a = AddTrimArgs()
        if parseAddTrimArgs(c, argv, &a, xadd: false) < 0 { return }
        let key = argv[1]
        let (found, ok) = readStream(c, key, write: true)
        guard ok else { return }
        guard let s = found else {
            c.addReplyInt(0)
            return
        }
        let deleted = s.trim(a.trimStrategy, approx: a.approx, limit: a.limit)
        if deleted > 0 {
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xtrim", key, c.db.id)
            c.server.signalModifiedKey(c.db, key)
            c.noteWrite(deleted)
            if a.approx && c.server.isPropagating {
                var v = (0..<argv.count).map { argv.bytes($0) }
                rewriteApproxTrim(&v, s, a)
                c.server.propagateInstead(v)
            }
        }
        c.addReplyInt(deleted)
    }

    // MARK: XRANGE / XREVRANGE / XLEN

    static func xrange(_ c: Client, _ argv: Argv) { xrangeGeneric(c, argv, reverse: false) }
    static func xrevrange(_ c: Client, _ argv: Argv) { xrangeGeneric(c, argv, reverse: true) }

    static func xrangeGeneric(_ c: Client, _ argv: Argv, reverse: Bool) {
        let startArg = reverse ? argv[3] : argv[2]
        let endArg = reverse ? argv[2] : argv[3]
        guard case (var start, let startEx)? = intervalID(c, startArg, missingSeq: 0) else { return }
        if startEx {
            guard let s = start.incremented() else {
                c.addReplyError("invalid start ID for the interval")
                return
            }
            start = s
        }
        guard case (var end, let endEx)? = intervalID(c, endArg, missingSeq: UInt64.max) else { return }
        if endEx {
            guard let e = end.decremented() else {
                c.addReplyError("invalid end ID for the interval")
                return
            }
            end = e
        }
        var count = -1
        var j = 4
        while j < argv.count {
            if argv.equals(j, "count") && argv.count - j - 1 >= 1 {
                guard let v = c.intArgOrReply(argv, j + 1) else { return }
                count = v < 0 ? 0 : v
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        guard let s = found else {
            c.addReplyArrayLen(0)
            return
        }
        if count == 0 {
            c.addReplyNullArray()
            return
        }
        replyRange(c, s, start, end, count: count < 0 ? 0 : count, reverse: reverse)
    }

    static func xlen(_ c: Client, _ argv: Argv) {
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        c.addReplyInt(found?.length ?? 0)
    }

    // MARK: XDEL

    static func xdel(_ c: Client, _ argv: Argv) {
        let key = argv[1]
        let (found, ok) = readStream(c, key, write: true)
        guard ok else { return }
        guard let s = found else {
            c.addReplyInt(0)
            return
        }
        var ids: [StreamID] = []
        ids.reserveCapacity(argv.count - 2)
        for j in 2..<argv.count {
            guard let id = strictID(c, argv[j]) else { return }
            ids.append(id)
        }
        var deleted = 0
        var firstEntry = false
        for id in ids where s.delete(id) {
            if id == s.firstID { firstEntry = true }
            if id > s.maxDeletedID { s.maxDeletedID = id }
            deleted += 1
        }
        if deleted > 0 {
            if s.length == 0 {
                s.firstID = .zero
            } else if firstEntry, let f = s.edgeID(first: true) {
                s.firstID = f
            }
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xdel", key, c.db.id)
            c.noteWrite(deleted)
        }
        c.addReplyInt(deleted)
    }

    // MARK: XSETID

    static func xsetid(_ c: Client, _ argv: Argv) {
        guard let id = strictID(c, argv[2]) else { return }
        var entriesAdded: Int64 = -1
        var maxXdel = StreamID.zero
        var i = 3
        while i < argv.count {
            let moreargs = argv.count - 1 - i
            if argv.equals(i, "entriesadded") && moreargs > 0 {
                guard let v = c.intArgOrReply(argv, i + 1) else { return }
                if v < 0 {
                    c.addReplyError("entries_added must be positive")
                    return
                }
                entriesAdded = Int64(v)
                i += 2
            } else if argv.equals(i, "maxdeletedid") && moreargs > 0 {
                guard let m = strictID(c, argv[i + 1]) else { return }
                if id < m {
                    c.addReplyError("The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
                    return
                }
                maxXdel = m
                i += 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }
        let key = argv[1]
        let (found, ok) = readStream(c, key, write: true)
        guard ok else { return }
        guard let s = found else {
            c.addReplyError("no such key")
            return
        }
        if s.length > 0 {
            if id < s.lastValidID {
                c.addReplyError("The ID specified in XSETID is smaller than the target stream top item")
                return
            }
            if entriesAdded != -1 && Int64(s.length) > entriesAdded {
                c.addReplyError("The entries_added specified in XSETID is smaller than the target stream length")
                return
            }
        }
        s.lastID = id
        if entriesAdded != -1 { s.entriesAdded = entriesAdded }
        if !maxXdel.isZero { s.maxDeletedID = maxXdel }
        // No signalModifiedKey: Redis 7.0.15's xsetidCommand does not call it, so a
        // WATCH on the stream survives XSETID there too.
        c.addReplyOK()
        c.noteWrite()
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xsetid", key, c.db.id)
    }

    // MARK: XREAD / XREADGROUP

    static func xread(_ c: Client, _ argv: Argv) { xreadGeneric(c, argv, group: false) }
    static func xreadgroup(_ c: Client, _ argv: Argv) { xreadGeneric(c, argv, group: true) }

    static let xreadBlockedDefaultCount = 1000

    static func xreadGeneric(_ c: Client, _ argv: Argv, group xreadgroup: Bool) {
        var timeout: Int64 = -1
        var blockArg = -1
        var count = 0
        var countGiven = false
        var streamsArg = 0
        var streamsCount = 0
        var groupArg = -1
        var noack = false
        var i = 1
        while i < argv.count {
            let moreargs = argv.count - i - 1
            if argv.equals(i, "block") && moreargs > 0 {
                i += 1
                guard let t = parseStrictInt(argv[i]) else {
                    c.addReplyError("timeout is not an integer or out of range")
                    return
                }
                if t < 0 {
                    c.addReplyError("timeout is negative")
                    return
                }
                var deadline: Int64 = 0
                if t > 0 {
                    // As Redis 7.0.15: a deadline past Int64.max wraps, and never comes.
                    let (d, overflow) = Int64(t).addingReportingOverflow(c.server.cachedTimeMs)
                    deadline = overflow ? 0 : d
                }
                timeout = deadline
                blockArg = i
            } else if argv.equals(i, "count") && moreargs > 0 {
                i += 1
                guard let v = c.intArgOrReply(argv, i) else { return }
                count = v < 0 ? 0 : v
                countGiven = true
            } else if argv.equals(i, "streams") && moreargs > 0 {
                streamsArg = i + 1
                streamsCount = argv.count - streamsArg
                if streamsCount % 2 != 0 {
                    let name = xreadgroup ? "XREADGROUP" : "XREAD"
                    let symbol = xreadgroup ? ">" : "$"
                    c.addReplyError("Unbalanced \(name) list of streams: for each stream key an ID or '\(symbol)' must be specified.")
                    return
                }
                streamsCount /= 2
                break
            } else if argv.equals(i, "group") && moreargs >= 2 {
                if !xreadgroup {
                    c.addReplyError("The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
                    return
                }
                groupArg = i + 1
                i += 2
            } else if argv.equals(i, "noack") {
                if !xreadgroup {
                    c.addReplyError("The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
                    return
                }
                noack = true
            } else {
                c.addReplyErrorSyntax()
                return
            }
            i += 1
        }
        if streamsArg == 0 {
            c.addReplyErrorSyntax()
            return
        }
        if xreadgroup && groupArg < 0 {
            c.addReplyError("Missing GROUP option for XREADGROUP")
            return
        }
        var ids: [StreamID] = []
        ids.reserveCapacity(streamsCount)
        var groups: [StreamGroup?] = []
        var streams: [StreamValue?] = []
        let isReprocessing = c.reprocessingDeadline != nil
        // A parked read woken by one key answers with that key's stream only and looks at
        // no other key (Redis's serveClientsBlockedOnStreamKey).
        let servingKey = isReprocessing ? c.server.blocking.servingKey : nil
        for j in (streamsArg + streamsCount)..<argv.count {
            let key = argv[j - streamsCount]
            if let sk = servingKey, !bytesEqual(sk.key, key) {
                streams.append(nil)
                groups.append(nil)
                ids.append(.zero)
                continue
            }
            let (s, ok) = readStream(c, key)
            guard ok else { return }
            streams.append(s)
            if groupArg >= 0 {
                guard let s, let g = s.lookupGroup(argv[groupArg]) else {
                    if isReprocessing {
                        c.addReplyError("-NOGROUP the consumer group this client was blocked on no longer exists")
                    } else {
                        c.addReplyError("-NOGROUP No such key '\(argv.string(j - streamsCount))' or consumer group '\(argv.string(groupArg))' in XREADGROUP with GROUP option")
                    }
                    return
                }
                groups.append(g)
            }
            let a = argv[j]
            if a.count == 1 && a[0] == UInt8(ascii: "$") {
                if xreadgroup {
                    c.addReplyError("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
                    return
                }
                ids.append(s?.lastID ?? .zero)
                continue
            } else if a.count == 1 && a[0] == UInt8(ascii: ">") {
                if !xreadgroup {
                    c.addReplyError("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
                    return
                }
                ids.append(.max)
                continue
            }
            guard let id = strictID(c, a) else { return }
            ids.append(id)
        }

        let now = c.server.cachedTimeMs
        var mark = -1
        var arraylen = 0
        for k in 0..<streamsCount {
            guard let s = streams[k] else { continue }
            var gt = ids[k]
            var serve = false
            var history = false
            if xreadgroup {
                if gt != .max {
                    serve = true
                    history = true
                } else if s.length > 0 {
                    let last = groups[k]!.lastID
                    if s.lastValidID > last {
                        serve = true
                        gt = last
                    }
                }
            } else if s.length > 0 {
                if s.lastValidID > gt { serve = true }
            }
            guard serve else { continue }
            arraylen += 1
            if arraylen == 1 {
                mark = c.addReplyDeferredLen()
            }
            let start = gt.incremented() ?? gt
            if c.resp == 2 { c.addReplyArrayLen(2) }
            c.addReplyBulk(argv[streamsArg + k])
            if xreadgroup {
                let g = groups[k]!
                let cname = argv[groupArg + 1]
                let skey = argv[streamsArg + k]
                let propagating = c.server.isPropagating
                // XREADGROUP propagates what it did, never itself (Redis: its effects go
                // out as XCLAIMs, XGROUP SETID and XGROUP CREATECONSUMER).
                if propagating {
                    c.server.preventPropagation()
                    if noack && g.lookupConsumer(cname) == nil {
                        c.server.alsoPropagate(dbid: c.db.id, [propWord("XGROUP"), propWord("CREATECONSUMER"),
                                                               Array(skey), argv.bytes(groupArg), Array(cname)])
                    }
                }
                let consumer = consumerCreatingIfMissing(c, g, cname, key: skey, now: now)
                if history {
                    replyFromConsumerPEL(c, s, g, consumer, start: start, count: count, now: now)
                } else {
                    let prop = propagating ? (key: skey, group: argv[groupArg]) : nil
                    replyRangeForGroup(c, s, g, consumer, start: start, count: count, noack: noack, now: now, propagate: prop)
                }
                c.noteWrite()
            } else {
                replyRange(c, s, start, .max, count: count, reverse: false)
            }
        }
        if arraylen > 0 {
            if c.resp == 2 { c.setDeferredArrayLen(mark, arraylen) } else { c.setDeferredMapLen(mark, arraylen) }
            return
        }
        if timeout != -1 {
            if c.flags.contains(.denyBlocking) {
                c.addReplyNullArray()
                return
            }
            // Park with `$` resolved to the IDs seen now, and Redis's default COUNT for
            // blocked reads, so that the re-executed command reads only newer entries.
            var args: [[UInt8]] = [argv.bytes(0)]
            if groupArg >= 0 { args += [Array("GROUP".utf8), argv.bytes(groupArg), argv.bytes(groupArg + 1)] }
            args += [Array("COUNT".utf8), Array(String(countGiven && count > 0 ? count : xreadBlockedDefaultCount).utf8)]
            args += [Array("BLOCK".utf8), argv.bytes(blockArg)]
            if noack { args.append(Array("NOACK".utf8)) }
            args.append(Array("STREAMS".utf8))
            for k in 0..<streamsCount { args.append(argv.bytes(streamsArg + k)) }
            for k in 0..<streamsCount {
                if xreadgroup { args.append(argv.bytes(streamsArg + streamsCount + k)) } else { args.append(ids[k].bytes) }
            }
            let owned = OwnedArgv(args)
            let oargv = owned.argv
            let firstKey = args.count - 2 * streamsCount
            let keys = (0..<streamsCount).map { oargv[firstKey + $0] }
            withExtendedLifetime(owned) {
                c.server.blockForKeys(c, oargv, keys: keys, type: .stream, deadlineMs: timeout)
            }
            return
        }
        c.addReplyNullArray()
    }

    /// streamReplyWithRange for a group reading new entries (`>`): each entry advances the
    /// group's last ID and read counter and, unless NOACK, enters both PELs.
    /// The consumer `name` of `g`, seen now (streamLookupConsumer + streamCreateConsumer
    /// as XREADGROUP, XCLAIM and XAUTOCLAIM do): a missing one is created, which is a
    /// write and fires `xgroup-createconsumer` on `key`.
    static func consumerCreatingIfMissing(_ c: Client, _ g: StreamGroup, _ name: UnsafeRawBufferPointer,
                                          key: UnsafeRawBufferPointer, now: Int64) -> StreamConsumer {
        if let existing = g.lookupConsumer(name) {
            existing.seenTime = now
            return existing
        }
        let created = g.createConsumer(name, now: now)!
        c.noteWrite()
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-createconsumer", key, c.db.id)
        return created
    }

    static func replyRangeForGroup(_ c: Client, _ s: StreamValue, _ g: StreamGroup, _ consumer: StreamConsumer,
                                   start: StreamID, count: Int, noack: Bool, now: Int64,
                                   propagate: (key: UnsafeRawBufferPointer, group: UnsafeRawBufferPointer)? = nil) {
        let mark = c.addReplyDeferredLen()
        var n = 0
        var propagateLastID = false
        defer {
            // With NOACK the group's new last ID goes out on its own; otherwise each
            // XCLAIM carries it.
            if propagateLastID, let propagate { propagateGroupID(c, propagate.key, g, propagate.group) }
        }
        s.forEachEntry(from: start, to: .max, reverse: false) { id, f in
            if id > g.lastID {
                if noack { propagateLastID = true }
                if g.entriesRead != StreamGroup.invalidEntriesRead && !s.rangeHasTombstones(id, nil) {
                    g.entriesRead &+= 1
                } else if s.entriesAdded != 0 {
                    g.entriesRead = s.estimateDistanceFromFirstEverEntry(id)
                }
                g.lastID = id
            }
            addReplyEntry(c, id, f)
            if !noack {
                let nack = StreamNACK(consumer: consumer, deliveryTime: now, deliveryCount: 1)
                if !g.pel.insert(id, nack) {
                    // Already pending (XGROUP SETID moved the group back): reassign it.
                    g.pel.modify(id) { old in
                        old.consumer?.pel.remove(id)
                        old = nack
                    }
                }
                consumer.pel.insert(id, ())
                if let propagate { propagateXCLAIM(c, propagate.key, g, propagate.group, id.bytes, nack) }
            }
            n += 1
            return count == 0 || n < count
        }
        c.setDeferredArrayLen(mark, n)
    }

    /// streamReplyWithRangeFromConsumerPEL: the consumer's pending entries from `start`;
    /// a pending ID whose entry is gone is sent with a null body.
    static func replyFromConsumerPEL(_ c: Client, _ s: StreamValue, _ g: StreamGroup, _ consumer: StreamConsumer,
                                     start: StreamID, count: Int, now: Int64) {
        var ids: [StreamID] = []
        consumer.pel.forEach(from: start) { id, _ in
            ids.append(id)
            return count == 0 || ids.count < count
        }
        c.addReplyArrayLen(ids.count)
        for id in ids {
            if addReplyOneEntry(c, s, id) {
                g.pel.modify(id) { nack in
                    nack.deliveryTime = now
                    nack.deliveryCount &+= 1
                }
            } else {
                c.addReplyArrayLen(2)
                addReplyStreamID(c, id)
                c.addReplyNullArray()
            }
        }
    }

    // MARK: propagation of consumer group changes

    /// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last`:
    /// how a PEL change travels to replicas (Redis's streamPropagateXCLAIM).
    @inline(never)
    static func propagateXCLAIM(_ c: Client, _ key: UnsafeRawBufferPointer, _ g: StreamGroup,
                                _ group: UnsafeRawBufferPointer, _ id: [UInt8], _ nack: StreamNACK) {
        c.server.alsoPropagate(dbid: c.db.id, [
            propWord("XCLAIM"), Array(key), Array(group), nack.consumer?.name ?? [], propWord("0"), id,
            propWord("TIME"), propInt(nack.deliveryTime), propWord("RETRYCOUNT"), propInt(nack.deliveryCount),
            propWord("FORCE"), propWord("JUSTID"), propWord("LASTID"), g.lastID.bytes,
        ])
    }

    /// `XGROUP SETID key group last ENTRIESREAD n` (Redis's streamPropagateGroupID).
    @inline(never)
    static func propagateGroupID(_ c: Client, _ key: UnsafeRawBufferPointer, _ g: StreamGroup,
                                 _ group: UnsafeRawBufferPointer) {
        c.server.alsoPropagate(dbid: c.db.id, [
            propWord("XGROUP"), propWord("SETID"), Array(key), Array(group), g.lastID.bytes,
            propWord("ENTRIESREAD"), propInt(g.entriesRead),
        ])
    }

    // MARK: XACK

    static func xack(_ c: Client, _ argv: Argv) {
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        guard let s = found, let g = s.lookupGroup(argv[2]) else {
            c.addReplyInt(0)
            return
        }
        var ids: [StreamID] = []
        for j in 3..<argv.count {
            guard let id = strictID(c, argv[j]) else { return }
            ids.append(id)
        }
        var acked = 0
        for id in ids {
            if g.acknowledge(id) {
                acked += 1
                c.noteWrite()
            }
        }
        c.addReplyInt(acked)
    }

    // MARK: XPENDING

    static func xpending(_ c: Client, _ argv: Argv) {
        let justinfo = argv.count == 3
        if argv.count != 3 && (argv.count < 6 || argv.count > 9) {
            c.addReplyErrorSyntax()
            return
        }
        var start = StreamID.zero, end = StreamID.max
        var count = 0
        var minidle = 0
        var consumerArg = -1
        if argv.count >= 6 {
            var startidx = 3
            if argv.equals(3, "idle") {
                guard let v = c.intArgOrReply(argv, 4) else { return }
                minidle = v
                if argv.count < 8 {
                    c.addReplyErrorSyntax()
                    return
                }
                startidx += 2
            }
            guard let v = c.intArgOrReply(argv, startidx + 2) else { return }
            count = v < 0 ? 0 : v
            guard case (var s0, let sx)? = intervalID(c, argv[startidx], missingSeq: 0) else { return }
            if sx {
                guard let n = s0.incremented() else {
                    c.addReplyError("invalid start ID for the interval")
                    return
                }
                s0 = n
            }
            guard case (var e0, let ex)? = intervalID(c, argv[startidx + 1], missingSeq: UInt64.max) else { return }
            if ex {
                guard let n = e0.decremented() else {
                    c.addReplyError("invalid end ID for the interval")
                    return
                }
                e0 = n
            }
            start = s0
            end = e0
            if startidx + 3 < argv.count { consumerArg = startidx + 3 }
        }
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        guard let s = found, let g = s.lookupGroup(argv[2]) else {
            c.addReplyError("-NOGROUP No such key '\(argv.string(1))' or consumer group '\(argv.string(2))'")
            return
        }
        if justinfo {
            c.addReplyArrayLen(4)
            c.addReplyInt(g.pel.count)
            if g.pel.isEmpty {
                c.addReplyNull()
                c.addReplyNull()
                c.addReplyNullArray()
            } else {
                addReplyStreamID(c, g.pel.firstID!)
                addReplyStreamID(c, g.pel.lastID!)
                let withPending = g.consumers.filter { !$0.pel.isEmpty }
                c.addReplyArrayLen(withPending.count)
                for con in withPending {
                    c.addReplyArrayLen(2)
                    c.addReplyBulk(con.name)
                    c.addReplyBulkInt(con.pel.count)
                }
            }
            return
        }
        let now = c.server.cachedTimeMs
        var owner: StreamConsumer? = nil
        if consumerArg >= 0 {
            guard let con = g.lookupConsumer(argv[consumerArg]) else {
                c.addReplyArrayLen(0)
                return
            }
            owner = con
        }
        let mark = c.addReplyDeferredLen()
        var n = 0
        func emit(_ id: StreamID, _ nack: StreamNACK) -> Bool {
            if count <= 0 || id > end { return false }
            if minidle != 0 && now &- nack.deliveryTime < Int64(minidle) { return true }
            n += 1
            count -= 1
            c.addReplyArrayLen(4)
            addReplyStreamID(c, id)
            c.addReplyBulk(nack.consumer?.name ?? [])
            c.addReplyInt(Int(Swift.max(0, now &- nack.deliveryTime)))
            c.addReplyInt(Int(nack.deliveryCount))
            return true
        }
        if let owner {
            owner.pel.forEach(from: start) { id, _ in
                guard let nack = g.pel.get(id) else { return true }
                return emit(id, nack)
            }
        } else {
            g.pel.forEach(from: start) { id, nack in emit(id, nack) }
        }
        c.setDeferredArrayLen(mark, n)
    }

    // MARK: XCLAIM / XAUTOCLAIM

    static func xclaim(_ c: Client, _ argv: Argv) {
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        guard let s = found, let g = s.lookupGroup(argv[2]) else {
            c.addReplyError("-NOGROUP No such key '\(argv.string(1))' or consumer group '\(argv.string(2))'")
            return
        }
        guard var minidle = c.intArgOrReply(argv, 4, error: "Invalid min-idle-time argument for XCLAIM") else { return }
        if minidle < 0 { minidle = 0 }
        var j = 5
        var ids: [StreamID] = []
        while j < argv.count {
            guard let id = strictID(nil, argv[j]) else { break }
            ids.append(id)
            j += 1
        }
        // XCLAIM propagates each change it made as a forced XCLAIM, never itself.
        let propagating = c.server.isPropagating
        if propagating { c.server.preventPropagation() }
        var propagateLastID = false
        let now = c.server.cachedTimeMs
        var deliveryTime: Int64 = -1
        var retryCount: Int64 = -1
        var force = false, justid = false
        var lastID = StreamID.zero
        while j < argv.count {
            let moreargs = argv.count - 1 - j
            if argv.equals(j, "force") {
                force = true
            } else if argv.equals(j, "justid") {
                justid = true
            } else if argv.equals(j, "idle") && moreargs > 0 {
                j += 1
                guard let v = c.intArgOrReply(argv, j, error: "Invalid IDLE option argument for XCLAIM") else { return }
                deliveryTime = now &- Int64(v)
            } else if argv.equals(j, "time") && moreargs > 0 {
                j += 1
                guard let v = c.intArgOrReply(argv, j, error: "Invalid TIME option argument for XCLAIM") else { return }
                deliveryTime = Int64(v)
            } else if argv.equals(j, "retrycount") && moreargs > 0 {
                j += 1
                guard let v = c.intArgOrReply(argv, j, error: "Invalid RETRYCOUNT option argument for XCLAIM") else { return }
                retryCount = Int64(v)
            } else if argv.equals(j, "lastid") && moreargs > 0 {
                j += 1
                guard let id = strictID(c, argv[j]) else { return }
                lastID = id
            } else {
                c.addReplyError("Unrecognized XCLAIM option '\(argv.string(j))'")
                return
            }
            j += 1
        }
        if lastID > g.lastID {
            g.lastID = lastID
            propagateLastID = true
            c.noteWrite()
        }
        defer {
            if propagating && propagateLastID { propagateGroupID(c, argv[1], g, argv[2]) }
        }
        if deliveryTime != -1 {
            if deliveryTime < 0 || deliveryTime > now { deliveryTime = now }
        } else {
            deliveryTime = now
        }
        var consumer: StreamConsumer? = nil
        let name = argv[3]
        let mark = c.addReplyDeferredLen()
        var n = 0
        for (k, id) in ids.enumerated() {
            if !s.contains(id) {
                // The entry is gone: its PEL entry goes too, propagated as an XCLAIM of it.
                if propagating, let nack = g.pel.get(id) {
                    propagateXCLAIM(c, argv[1], g, argv[2], argv.bytes(5 + k), nack)
                    propagateLastID = false
                }
                if g.acknowledge(id) { c.noteWrite() }
                continue
            }
            if force && !g.pel.contains(id) {
                g.pel.insert(id, StreamNACK(consumer: nil, deliveryTime: now, deliveryCount: 1))
            }
            guard let nack = g.pel.get(id) else { continue }
            if nack.consumer != nil && minidle != 0 && now &- nack.deliveryTime < Int64(minidle) { continue }
            if consumer == nil { consumer = consumerCreatingIfMissing(c, g, name, key: argv[1], now: now) }
            g.assign(id, to: consumer!)
            g.pel.modify(id) { nack in
                nack.deliveryTime = deliveryTime
                if retryCount >= 0 {
                    nack.deliveryCount = retryCount
                } else if !justid {
                    nack.deliveryCount &+= 1
                }
            }
            if justid { addReplyStreamID(c, id) } else { addReplyOneEntry(c, s, id) }
            n += 1
            c.noteWrite()
            if propagating, let nack = g.pel.get(id) {
                propagateXCLAIM(c, argv[1], g, argv[2], argv.bytes(5 + k), nack)
                propagateLastID = false
            }
        }
        c.setDeferredArrayLen(mark, n)
    }

    static func xautoclaim(_ c: Client, _ argv: Argv) {
        guard var minidle = c.intArgOrReply(argv, 4, error: "Invalid min-idle-time argument for XAUTOCLAIM") else { return }
        if minidle < 0 { minidle = 0 }
        guard case (var start, let startEx)? = intervalID(c, argv[5], missingSeq: 0) else { return }
        if startEx {
            guard let n = start.incremented() else {
                c.addReplyError("invalid start ID for the interval")
                return
            }
            start = n
        }
        var count = 100
        var justid = false
        var j = 6
        while j < argv.count {
            let moreargs = argv.count - 1 - j
            if argv.equals(j, "count") && moreargs > 0 {
                let maxCount = Int.max / 16
                guard let v = parseStrictInt(argv[j + 1]), v >= 1, v <= maxCount else {
                    c.addReplyError("COUNT must be > 0")
                    return
                }
                count = v
                j += 1
            } else if argv.equals(j, "justid") {
                justid = true
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        let (found, ok) = readStream(c, argv[1])
        guard ok else { return }
        guard let s = found, let g = s.lookupGroup(argv[2]) else {
            c.addReplyError("-NOGROUP No such key '\(argv.string(1))' or consumer group '\(argv.string(2))'")
            return
        }
        var attempts = count &* 10
        var deletedIDs: [StreamID] = []
        var consumer: StreamConsumer? = nil
        let now = c.server.cachedTimeMs
        let name = argv[3]
        var claimed: [StreamID] = []
        // Each claim (and each PEL entry dropped) propagates as a forced XCLAIM.
        let propagating = c.server.isPropagating
        if propagating { c.server.preventPropagation() }
        var next = g.pel.next(atOrAfter: start)
        while attempts > 0 && count > 0, let (id, nack) = next {
            attempts -= 1
            if !s.contains(id) {
                if propagating { propagateXCLAIM(c, argv[1], g, argv[2], id.bytes, nack) }
                // A deleted entry leaves the PEL and counts against COUNT, as in Redis 7.0.
                g.acknowledge(id)
                deletedIDs.append(id)
                count -= 1
                c.noteWrite()
                next = g.pel.next(atOrAfter: id)
                continue
            }
            next = id.incremented().flatMap { g.pel.next(atOrAfter: $0) }
            if minidle != 0 && now &- nack.deliveryTime < Int64(minidle) { continue }
            if consumer == nil { consumer = consumerCreatingIfMissing(c, g, name, key: argv[1], now: now) }
            g.assign(id, to: consumer!)
            g.pel.modify(id) { nack in
                nack.deliveryTime = now
                if !justid { nack.deliveryCount &+= 1 }
            }
            claimed.append(id)
            count -= 1
            c.noteWrite()
            if propagating, let nack = g.pel.get(id) { propagateXCLAIM(c, argv[1], g, argv[2], id.bytes, nack) }
        }
        let cursor = next?.0 ?? StreamID.zero
        c.addReplyArrayLen(3)
        addReplyStreamID(c, cursor)
        c.addReplyArrayLen(claimed.count)
        for id in claimed {
            if justid { addReplyStreamID(c, id) } else { addReplyOneEntry(c, s, id) }
        }
        c.addReplyArrayLen(deletedIDs.count)
        for id in deletedIDs { addReplyStreamID(c, id) }
    }

    // MARK: XGROUP

    static func xgroup(_ c: Client, _ argv: Argv) {
        let opt = argv[1]
        var s: StreamValue? = nil
        var g: StreamGroup? = nil
        var mkstream = false
        var entriesRead: Int64 = StreamGroup.invalidEntriesRead
        let sub = argv.string(1)
        if argv.count >= 4 {
            if argv.equals(1, "create") {
                var i = 5
                while i < argv.count {
                    if argv.equals(i, "mkstream") {
                        mkstream = true
                        i += 1
                    } else if argv.equals(i, "entriesread") && i + 1 < argv.count {
                        guard let v = c.intArgOrReply(argv, i + 1) else { return }
                        if v < 0 && v != -1 {
                            c.addReplyError("value for ENTRIESREAD must be positive or -1")
                            return
                        }
                        entriesRead = Int64(v)
                        i += 2
                    } else {
                        c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try XGROUP HELP.")
                        return
                    }
                }
            }
            let (found, ok) = readStream(c, argv[2], write: true)
            guard ok else { return }
            s = found
            if s == nil && (!argv.equals(1, "create") || !mkstream) {
                c.addReplyError("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
                return
            }
            g = s?.lookupGroup(argv[3])
            if g == nil && (argv.equals(1, "setid") || argv.equals(1, "createconsumer") || argv.equals(1, "delconsumer")) {
                c.addReplyError("-NOGROUP No such consumer group '\(argv.string(3))' for key name '\(argv.string(2))'")
                return
            }
        }
        let key = argv.count > 2 ? argv[2] : opt
        if argv.count == 2 && argv.equals(1, "help") {
            c.addReplyHelp(command: "XGROUP", lines: [
                "CREATE <key> <groupname> <id|$> [option]",
                "    Create a new consumer group. Options are:",
                "    * MKSTREAM",
                "      Create the empty stream if it does not exist.",
                "    * ENTRIESREAD entries_read",
                "      Set the group's entries_read counter (internal use).",
                "CREATECONSUMER <key> <groupname> <consumer>",
                "    Create a new consumer in the specified group.",
                "DELCONSUMER <key> <groupname> <consumer>",
                "    Remove the specified consumer.",
                "DESTROY <key> <groupname>",
                "    Remove the specified group.",
                "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
                "    Set the current group ID and entries_read counter.",
            ])
        } else if argv.equals(1, "create") && argv.count >= 5 && argv.count <= 8 {
            var id: StreamID
            let a = argv[4]
            if a.count == 1 && a[0] == UInt8(ascii: "$") {
                id = s?.lastID ?? .zero
            } else {
                guard let p = strictID(c, a) else { return }
                id = p
            }
            if s == nil {
                let ns = StreamValue()
                c.addValue(key, ns, type: .stream)
                s = ns
                c.server.signalModifiedKey(c.db, key)
            }
            if s!.createGroup(argv[3], lastID: id, entriesRead: entriesRead) != nil {
                c.addReplyOK()
                c.noteWrite()
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-create", key, c.db.id)
            } else {
                c.addReplyError("-BUSYGROUP Consumer Group name already exists")
            }
        } else if argv.equals(1, "setid") && (argv.count == 5 || argv.count == 7) {
            var id: StreamID
            let a = argv[4]
            if a.count == 1 && a[0] == UInt8(ascii: "$") {
                id = s!.lastID
            } else {
                guard let p = parseID(c, a, missingSeq: 0, strict: false) else { return }
                id = p
            }
            if argv.count == 7 {
                if !argv.equals(5, "entriesread") {
                    c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try XGROUP HELP.")
                    return
                }
                guard let v = c.intArgOrReply(argv, 6) else { return }
                if v < 0 && v != -1 {
                    c.addReplyError("value for ENTRIESREAD must be positive or -1")
                    return
                }
                entriesRead = Int64(v)
            }
            g!.lastID = id
            g!.entriesRead = entriesRead
            c.addReplyOK()
            c.noteWrite()
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-setid", key, c.db.id)
        } else if argv.equals(1, "destroy") && argv.count == 4 {
            if g != nil, let st = s {
                let (i, _) = st.groupIndex(argv[3])
                st.groups.remove(at: i)
                c.addReplyInt(1)
                c.noteWrite()
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-destroy", key, c.db.id)
                c.server.signalKeyAsReady(c.db, key)
            } else {
                c.addReplyInt(0)
            }
        } else if argv.equals(1, "createconsumer") && argv.count == 5 {
            if g!.createConsumer(argv[4], now: c.server.cachedTimeMs) != nil {
                c.noteWrite()
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-createconsumer", key, c.db.id)
                c.addReplyInt(1)
            } else {
                c.addReplyInt(0)
            }
        } else if argv.equals(1, "delconsumer") && argv.count == 5 {
            // As Redis: a change (dirty, event) only when the consumer existed, and the
            // event goes out before the reply.
            var pending = 0
            if let p = g!.deleteConsumer(argv[4]) {
                pending = p
                c.noteWrite()
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.stream, "xgroup-delconsumer", key, c.db.id)
            }
            c.addReplyInt(pending)
        } else {
            c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try XGROUP HELP.")
        }
    }

    // MARK: XINFO

    static func xinfo(_ c: Client, _ argv: Argv) {
        if argv.equals(1, "help") {
            c.addReplyHelp(command: "XINFO", lines: [
                "CONSUMERS <key> <groupname>",
                "    Show consumers of <groupname>.",
                "GROUPS <key>",
                "    Show the stream consumer groups.",
                "STREAM <key> [FULL [COUNT <count>]",
                "    Show information about the stream.",
            ])
            return
        }
        let sub = argv.string(1)
        let (found, ok) = readStream(c, argv[2])
        guard ok else { return }
        guard let s = found else {
            c.addReplyError("no such key")
            return
        }
        let now = c.server.cachedTimeMs
        if argv.equals(1, "consumers") && argv.count == 4 {
            guard let g = s.lookupGroup(argv[3]) else {
                c.addReplyError("-NOGROUP No such consumer group '\(argv.string(3))' for key name '\(argv.string(2))'")
                return
            }
            c.addReplyArrayLen(g.consumers.count)
            for con in g.consumers {
                c.addReplyMapLen(3)
                c.addReplyBulk("name")
                c.addReplyBulk(con.name)
                c.addReplyBulk("pending")
                c.addReplyInt(con.pel.count)
                c.addReplyBulk("idle")
                c.addReplyInt(Int(Swift.max(0, now &- con.seenTime)))
            }
        } else if argv.equals(1, "groups") && argv.count == 3 {
            c.addReplyArrayLen(s.groups.count)
            for g in s.groups {
                c.addReplyMapLen(6)
                c.addReplyBulk("name")
                c.addReplyBulk(g.name)
                c.addReplyBulk("consumers")
                c.addReplyInt(g.consumers.count)
                c.addReplyBulk("pending")
                c.addReplyInt(g.pel.count)
                c.addReplyBulk("last-delivered-id")
                addReplyStreamID(c, g.lastID)
                c.addReplyBulk("entries-read")
                if g.entriesRead != StreamGroup.invalidEntriesRead { c.addReplyInt(Int(g.entriesRead)) } else { c.addReplyNull() }
                c.addReplyBulk("lag")
                if let lag = s.lag(of: g) { c.addReplyInt(Int(lag)) } else { c.addReplyNull() }
            }
        } else if argv.equals(1, "stream") {
            xinfoStream(c, argv, s, sub: sub)
        } else {
            c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try XINFO HELP.")
        }
    }

    static func xinfoStream(_ c: Client, _ argv: Argv, _ s: StreamValue, sub: String) {
        var full = true
        var count = 10
        let optc = argv.count - 3
        if optc == 0 {
            full = false
        } else {
            if (optc != 1 && optc != 3) || !argv.equals(3, "full") || (optc == 3 && !argv.equals(4, "count")) {
                c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try XINFO HELP.")
                return
            }
            if optc == 3 {
                guard let v = c.intArgOrReply(argv, 5) else { return }
                count = v < 0 ? 10 : v
            }
        }
        c.addReplyMapLen(full ? 9 : 10)
        c.addReplyBulk("length")
        c.addReplyInt(s.length)
        c.addReplyBulk("radix-tree-keys")
        c.addReplyInt(s.nodes.count)
        c.addReplyBulk("radix-tree-nodes")
        c.addReplyInt(s.radixTreeNodes)
        c.addReplyBulk("last-generated-id")
        addReplyStreamID(c, s.lastID)
        c.addReplyBulk("max-deleted-entry-id")
        addReplyStreamID(c, s.maxDeletedID)
        c.addReplyBulk("entries-added")
        c.addReplyInt(Int(s.entriesAdded))
        c.addReplyBulk("recorded-first-entry-id")
        addReplyStreamID(c, s.firstID)
        if !full {
            c.addReplyBulk("groups")
            c.addReplyInt(s.groups.count)
            c.addReplyBulk("first-entry")
            if !addReplyOneEntry(c, s, .zero, reverse: false, start: .zero, end: .max) { c.addReplyNull() }
            c.addReplyBulk("last-entry")
            if !addReplyOneEntry(c, s, .zero, reverse: true, start: .zero, end: .max) { c.addReplyNull() }
            return
        }
        c.addReplyBulk("entries")
        replyRange(c, s, .zero, .max, count: count, reverse: false)
        c.addReplyBulk("groups")
        c.addReplyArrayLen(s.groups.count)
        for g in s.groups {
            c.addReplyMapLen(7)
            c.addReplyBulk("name")
            c.addReplyBulk(g.name)
            c.addReplyBulk("last-delivered-id")
            addReplyStreamID(c, g.lastID)
            c.addReplyBulk("entries-read")
            if g.entriesRead != StreamGroup.invalidEntriesRead { c.addReplyInt(Int(g.entriesRead)) } else { c.addReplyNull() }
            c.addReplyBulk("lag")
            if let lag = s.lag(of: g) { c.addReplyInt(Int(lag)) } else { c.addReplyNull() }
            c.addReplyBulk("pel-count")
            c.addReplyInt(g.pel.count)
            c.addReplyBulk("pending")
            let np = count == 0 ? g.pel.count : Swift.min(count, g.pel.count)
            c.addReplyArrayLen(np)
            var k = 0
            g.pel.forEach { id, nack in
                if k >= np { return false }
                k += 1
                c.addReplyArrayLen(4)
                addReplyStreamID(c, id)
                c.addReplyBulk(nack.consumer?.name ?? [])
                c.addReplyInt(Int(nack.deliveryTime))
                c.addReplyInt(Int(nack.deliveryCount))
                return true
            }
            c.addReplyBulk("consumers")
            c.addReplyArrayLen(g.consumers.count)
            for con in g.consumers {
                c.addReplyMapLen(4)
                c.addReplyBulk("name")
                c.addReplyBulk(con.name)
                c.addReplyBulk("seen-time")
                c.addReplyInt(Int(con.seenTime))
                c.addReplyBulk("pel-count")
                c.addReplyInt(con.pel.count)
                c.addReplyBulk("pending")
                let nc = count == 0 ? con.pel.count : Swift.min(count, con.pel.count)
                c.addReplyArrayLen(nc)
                var k = 0
                con.pel.forEach { id, _ in
                    if k >= nc { return false }
                    k += 1
                    let nack = g.pel.get(id)
                    c.addReplyArrayLen(3)
                    addReplyStreamID(c, id)
                    c.addReplyInt(Int(nack?.deliveryTime ?? 0))
                    c.addReplyInt(Int(nack?.deliveryCount ?? 0))
                    return true
                }
            }
        }
    }
}
