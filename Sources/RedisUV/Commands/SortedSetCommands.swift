#if canImport(Glibc)
import Glibc
#endif

/// Sorted set commands (Redis's t_zset.c). The data structure is Types/SortedSetValue.swift;
/// function names follow t_zset.c where that helps (zaddGenericCommand, zrangeGenericCommand,
/// zunionInterDiffGenericCommand, genericZpopCommand...).
enum SortedSetCommands {
    static let table: [CommandImpl] = [
        CommandImpl("zadd", zadd),
        CommandImpl("zincrby", zincrby),
        CommandImpl("zrem", zrem),
        CommandImpl("zcard", zcard),
        CommandImpl("zcount", zcount),
        CommandImpl("zlexcount", zlexcount),
        CommandImpl("zscore", zscore),
        CommandImpl("zmscore", zmscore),
        CommandImpl("zrank", zrank),
        CommandImpl("zrevrank", zrevrank),
        CommandImpl("zrange", zrange),
        CommandImpl("zrangestore", zrangestore),
        CommandImpl("zrevrange", zrevrange),
        CommandImpl("zrangebyscore", zrangebyscore),
        CommandImpl("zrevrangebyscore", zrevrangebyscore),
        CommandImpl("zrangebylex", zrangebylex),
        CommandImpl("zrevrangebylex", zrevrangebylex),
        CommandImpl("zremrangebyrank", zremrangebyrank),
        CommandImpl("zremrangebyscore", zremrangebyscore),
        CommandImpl("zremrangebylex", zremrangebylex),
        CommandImpl("zpopmin", zpopmin),
        CommandImpl("zpopmax", zpopmax),
        CommandImpl("bzpopmin", bzpopmin),
        CommandImpl("bzpopmax", bzpopmax),
        CommandImpl("zmpop", zmpop),
        CommandImpl("bzmpop", bzmpop),
        CommandImpl("zunion", zunion),
        CommandImpl("zinter", zinter),
        CommandImpl("zdiff", zdiff),
        CommandImpl("zunionstore", zunionstore),
        CommandImpl("zinterstore", zinterstore),
        CommandImpl("zdiffstore", zdiffstore),
        CommandImpl("zintercard", zintercard),
        CommandImpl("zrandmember", zrandmember),
        CommandImpl("zscan", zscan),
    ]

    @inline(__always) static func opt(_ argv: Argv, _ i: Int, _ word: StaticString) -> Bool {
        StringCommands.optionIs(argv, i, word)
    }

    // MARK: argument parsing

    /// Redis's getDoubleFromObject (string2d), with integers read directly: for a
    /// canonical integer, Double(i) and strtod round the same exact value the same way.
    @inline(__always)
    static func parseScore(_ a: UnsafeRawBufferPointer) -> Double? {
        if let i = parseStrictInt(a) { return Double(i) }
        return parseDouble(a)
    }

    /// getLongFromObjectOrReply with Redis's optional message (used for both a non-integer
    /// and, through `range`, a value out of bounds).
    static func longArgOrReply(_ c: Client, _ argv: Argv, _ i: Int, min: Int = Int.min, max: Int = Int.max,
                               message: String? = nil) -> Int? {
        guard let v = parseStrictInt(argv[i]) else {
            c.addReplyError(message ?? "value is not an integer or out of range")
            return nil
        }
        if v < min || v > max {
            c.addReplyError(message ?? "value is out of range, value must between \(min) and \(max)")
            return nil
        }
        return v
    }

    /// The argument as C sees it (up to its first NUL byte), NUL-terminated, for strtod.
    private static func withCString<R>(_ a: UnsafeRawBufferPointer, from start: Int,
                                       _ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
        let end = a.firstIndex(of: 0) ?? a.count
        let n = Swift.max(0, end - start)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buf in
            let p = buf.baseAddress!
            if n > 0 { UnsafeMutableRawPointer(p).copyMemory(from: a.baseAddress! + start, byteCount: n) }
            p[n] = 0
            return body(p)
        }
    }

    /// One end of zslParseRange: "(" makes it exclusive; the rest goes to strtod, which
    /// must consume it all (so "" is 0, leading spaces pass, "1e999" is inf); NaN fails.
    static func parseScoreBound(_ a: UnsafeRawBufferPointer) -> (value: Double, exclusive: Bool)? {
        let exclusive = a.count > 0 && a[0] == UInt8(ascii: "(")
        return withCString(a, from: exclusive ? 1 : 0) { p -> (Double, Bool)? in
            var end: UnsafeMutablePointer<CChar>?
            let v = strtod(p, &end)
            if end!.pointee != 0 || v.isNaN { return nil }
            return (v, exclusive)
        }
    }

    /// zslParseRange, or nil after Redis's error.
    static func scoreRangeOrReply(_ c: Client, _ min: UnsafeRawBufferPointer, _ max: UnsafeRawBufferPointer) -> ZScoreRange? {
        guard let lo = parseScoreBound(min), let hi = parseScoreBound(max) else {
            c.addReplyError("min or max is not a float")
            return nil
        }
        return ZScoreRange(min: lo.value, max: hi.value, minExclusive: lo.exclusive, maxExclusive: hi.exclusive)
    }

    /// zslParseLexRangeItem: "+" / "-" (alone, as C strings), or "(" / "[" and the bytes.
    static func parseLexBound(_ a: UnsafeRawBufferPointer) -> ZLexBound? {
        guard a.count > 0 else { return nil }
        let rest = UnsafeRawBufferPointer(rebasing: a[1...])
        switch a[0] {
        case UInt8(ascii: "+"):
            if a.count > 1 && a[1] != 0 { return nil }
            return ZLexBound(kind: .plusInfinity, bytes: rest, exclusive: true)
        case UInt8(ascii: "-"):
            if a.count > 1 && a[1] != 0 { return nil }
            return ZLexBound(kind: .minusInfinity, bytes: rest, exclusive: true)
        case UInt8(ascii: "("):
            return ZLexBound(kind: .value, bytes: rest, exclusive: true)
        case UInt8(ascii: "["):
            return ZLexBound(kind: .value, bytes: rest, exclusive: false)
        default:
            return nil
        }
    }

    /// zslParseLexRange, or nil after Redis's error.
    static func lexRangeOrReply(_ c: Client, _ min: UnsafeRawBufferPointer, _ max: UnsafeRawBufferPointer) -> ZLexRange? {
        guard let lo = parseLexBound(min), let hi = parseLexBound(max) else {
            c.addReplyError("min or max not valid string range item")
            return nil
        }
        return ZLexRange(min: lo, max: hi)
    }

    // MARK: ZADD / ZINCRBY

    static func zadd(_ c: Client, _ argv: Argv) { zaddGeneric(c, argv, flags: []) }
    static func zincrby(_ c: Client, _ argv: Argv) { zaddGeneric(c, argv, flags: .incr) }

    /// Redis's zaddGenericCommand: options, then score/member pairs; every score is parsed
    /// before anything changes.
    static func zaddGeneric(_ c: Client, _ argv: Argv, flags initial: SortedSetValue.AddFlags) {
        var flags = initial
        var ch = false
        var scoreIdx = 2
        while scoreIdx < argv.count {
            if opt(argv, scoreIdx, "nx") { flags.insert(.nx) }
            else if opt(argv, scoreIdx, "xx") { flags.insert(.xx) }
            else if opt(argv, scoreIdx, "ch") { ch = true }
            else if opt(argv, scoreIdx, "incr") { flags.insert(.incr) }
            else if opt(argv, scoreIdx, "gt") { flags.insert(.gt) }
            else if opt(argv, scoreIdx, "lt") { flags.insert(.lt) }
            else { break }
            scoreIdx += 1
        }
        let incr = flags.contains(.incr), nx = flags.contains(.nx), xx = flags.contains(.xx)
        let gt = flags.contains(.gt), lt = flags.contains(.lt)
        let rest = argv.count - scoreIdx
        if rest % 2 != 0 || rest == 0 {
            c.addReplyErrorSyntax()
            return
        }
        let pairs = rest / 2
        if nx && xx {
            c.addReplyError("XX and NX options at the same time are not compatible")
            return
        }
        if (gt && nx) || (lt && nx) || (gt && lt) {
            c.addReplyError("GT, LT, and/or NX options at the same time are not compatible")
            return
        }
        if incr && pairs > 1 {
            c.addReplyError("INCR option supports a single increment-element pair")
            return
        }
        // Redis notifies at its `cleanup` label, so also after a NaN error part-way.
        var changed = false
        defer {
            if changed {
                let key = argv[1]
                c.server.signalModifiedKey(c.db, key)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, incr ? "zincr" : "zadd", key, c.db.id)
            }
        }
        withUnsafeTemporaryAllocation(of: Double.self, capacity: pairs) { scores in
            for j in 0..<pairs {
                guard let s = parseScore(argv[scoreIdx + j * 2]) else {
                    c.addReplyErrorNotFloat()
                    return
                }
                scores[j] = s
            }
            let key = argv[1]
            let zset: SortedSetValue
            switch c.lookupValue(key, .zset, as: SortedSetValue.self, write: true) {
            case .wrongType:
                return
            case .found(_, let z):
                zset = z
            case .missing:
                if xx {
                    if incr { c.addReplyNull() } else { c.addReplyInt(0) }
                    return
                }
                zset = c.addValue(key, word: newSetWord(c, firstMemberLength: argv[scoreIdx + 1].count),
                                  as: SortedSetValue.self)
                c.server.signalKeyAsReady(c.db, key)
            }
            let limits = c.server.config.zsetLimits
            var added = 0, updated = 0, processed = 0
            var score = 0.0
            for j in 0..<pairs {
                let (outcome, newScore) = zset.add(scores[j], argv[scoreIdx + 1 + j * 2], flags: flags, limits: limits)
                switch outcome {
                case .nan:
                    c.addReplyError("resulting score is not a number (NaN)")
                    c.noteWrite(added + updated)
                    changed = added + updated > 0
                    return
                case .added: added += 1; processed += 1
                case .updated: updated += 1; processed += 1
                case .unchanged: processed += 1
                case .skipped: break
                }
                score = newScore
            }
            c.noteWrite(added + updated)
            changed = added + updated > 0
            if incr {
                if processed > 0 { c.addReplyScore(score) } else { c.addReplyNull() }
            } else {
                c.addReplyInt(ch ? added + updated : added)
            }
        }
    }

    /// The encoding ZADD gives a new key (Redis 7.0's zaddGenericCommand): skiplist when
    /// listpacks are disabled or the first member is already too long.
    static func newSetWord(_ c: Client, firstMemberLength: Int) -> UInt {
        let limits = c.server.config.zsetLimits
        if limits.maxEntries == 0 || limits.maxValue < firstMemberLength {
            return SortedSetValue.emptyWord(skiplistCapacity: 0)
        }
        return SortedSetValue.emptyWord()
    }

    // MARK: ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK

    static func zrem(_ c: Client, _ argv: Argv) {
        let key = argv[1]
        guard case .found(_, let z) = lookupOrReply(c, key, write: true, missing: { $0.addReplyInt(0) }) else { return }
        var deleted = 0
        var keyRemoved = false
        for j in 2..<argv.count {
            if z.remove(argv[j]) { deleted += 1 }
            if z.count == 0 {
                _ = c.db.delete(key)
                keyRemoved = true
                break
            }
        }
        if deleted > 0 {
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, "zrem", key, c.db.id)
            if keyRemoved { c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id) }
            c.server.signalModifiedKey(c.db, key)
        }
        c.noteWrite(deleted)
        c.addReplyInt(deleted)
    }

    /// lookupKey*OrReply + checkType: the set, or nil after the reply for a missing key
    /// (`missing`) or WRONGTYPE.
    @inline(__always)
    static func lookupOrReply(_ c: Client, _ key: UnsafeRawBufferPointer, write: Bool,
                              missing: (Client) -> Void) -> TypedLookup<SortedSetValue> {
        let r = c.lookupValue(key, .zset, as: SortedSetValue.self, write: write)
        if case .missing = r { missing(c) }
        return r
    }

    static func zcard(_ c: Client, _ argv: Argv) {
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(z.count)
    }

    static func zscore(_ c: Client, _ argv: Argv) {
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyNull() }) else { return }
        if let s = z.score(of: argv[2]) { c.addReplyScore(s) } else { c.addReplyNull() }
    }

    static func zmscore(_ c: Client, _ argv: Argv) {
        var zset: SortedSetValue? = nil
        switch c.lookupValue(argv[1], .zset, as: SortedSetValue.self, write: false) {
        case .wrongType: return
        case .missing: break
        case .found(_, let z): zset = z
        }
        c.addReplyArrayLen(argv.count - 2)
        for j in 2..<argv.count {
            if let s = zset?.score(of: argv[j]) { c.addReplyScore(s) } else { c.addReplyNull() }
        }
    }

    static func zrank(_ c: Client, _ argv: Argv) { zrankGeneric(c, argv, reverse: false) }
    static func zrevrank(_ c: Client, _ argv: Argv) { zrankGeneric(c, argv, reverse: true) }

    static func zrankGeneric(_ c: Client, _ argv: Argv, reverse: Bool) {
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyNull() }) else { return }
        if let r = z.rank(of: argv[2], reverse: reverse) { c.addReplyInt(r.rank) } else { c.addReplyNull() }
    }

    // MARK: ZCOUNT, ZLEXCOUNT

    static func zcount(_ c: Client, _ argv: Argv) {
        guard let range = scoreRangeOrReply(c, argv[2], argv[3]) else { return }
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyInt(0) }) else { return }
        func count<V: ZsetReadView>(_ v: V) -> Int {
            guard let first = v.firstInRange(range), let last = v.lastInRange(range) else { return 0 }
            return v.rank(last) - v.rank(first) + 1
        }
        c.addReplyInt(z.isPacked ? z.withPackedView { count($0) } : count(SkiplistView(sl: z.skiplist)))
    }

    static func zlexcount(_ c: Client, _ argv: Argv) {
        guard let range = lexRangeOrReply(c, argv[2], argv[3]) else { return }
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyInt(0) }) else { return }
        if z.isPacked {
            // The listpack walk: from the first member in range while <= max.
            let n = z.withPackedView { v -> Int in
                guard var p = v.firstInLexRange(range) else { return 0 }
                var n = 1
                while let q = v.next(p), range.lteMax(v.member(q)) { n += 1; p = q }
                return n
            }
            c.addReplyInt(n)
            return
        }
        let v = SkiplistView(sl: z.skiplist)
        guard let first = v.firstInLexRange(range) else { c.addReplyInt(0); return }
        let firstRank = v.rank(first)
        let lastRank = v.lastInLexRange(range).map { v.rank($0) } ?? v.length - 1
        // zlexcountCommand: count from the first on, minus what follows the last.
        c.addReplyInt(lastRank - firstRank + 1)
    }

    // MARK: ZRANGE family (zrangeGenericCommand)

    enum RangeType { case auto, rank, score, lex }
    enum Direction { case auto, forward, reverse }

    static func zrange(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .auto, direction: .auto)
    }
    static func zrangestore(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 2, store: true, rangeType: .auto, direction: .auto)
    }
    static func zrevrange(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .rank, direction: .reverse)
    }
    static func zrangebyscore(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .score, direction: .forward)
    }
    static func zrevrangebyscore(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .score, direction: .reverse)
    }
    static func zrangebylex(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .lex, direction: .forward)
    }
    static func zrevrangebylex(_ c: Client, _ argv: Argv) {
        zrangeGeneric(c, argv, argStart: 1, store: false, rangeType: .lex, direction: .reverse)
    }

    /// Where a range goes: to the client (Redis's zrangeResultHandler for clients: WITHSCORES
    /// pairs flat in RESP2, nested in RESP3) or into a new set (ZRANGESTORE).
    struct RangeSink {
        let c: Client
        let dst: UnsafeRawBufferPointer?
        var withScores = false
        var nested = false
        var deferred = -1
        /// ZRANGESTORE's set under construction.
        var stored: SortedSetValue? = nil
        let limits: ZsetLimits

        init(_ c: Client, dst: UnsafeRawBufferPointer?) {
            self.c = c
            self.dst = dst
            limits = c.server.config.zsetLimits
        }

        mutating func enableScores() {
            withScores = true
            nested = c.resp > 2
        }

        /// `length` when known in advance, else -1 (deferred array length).
        mutating func begin(_ length: Int) {
            if dst != nil {
                // zrangeResultBeginStore: zsetTypeCreate(length, 0), then plain zsetAdds,
                // so a listpack start converts on the way (and keeps -0 only from then on).
                let hint = Swift.max(length, 0)
                stored = hint <= limits.maxEntries ? SortedSetValue() : SortedSetValue(skiplistWithCapacity: hint)
                return
            }
            if length > 0 {
                c.addReplyArrayLen(withScores && c.resp == 2 ? length * 2 : length)
            } else {
                deferred = c.addReplyDeferredLen()
            }
        }

        @inline(__always) mutating func emit(_ member: UnsafeRawBufferPointer, _ score: Double) {
            if let stored {
                _ = stored.add(score, member, flags: [], limits: limits)
                return
            }
            if nested { c.addReplyArrayLen(2) }
            c.addReplyBulk(member)
            if withScores { c.addReplyScore(score) }
        }

        mutating func finish(_ count: Int) {
            guard let dst else {
                if deferred >= 0 { c.setDeferredArrayLen(deferred, withScores && c.resp == 2 ? count * 2 : count) }
                return
            }
            // zrangeResultFinalizeStore.
            storeResult(c, dst, count > 0 ? stored : nil, event: "zrangestore")
        }
    }

    /// Stores a computed set under `dst` (setKey: any old value and its TTL go) and replies
    /// its size; no result (or an empty one) deletes `dst` and replies 0.
    /// Events as Redis: setKey's (`new` when created, signalModifiedKey) then `event`; an
    /// empty result that removed `dst` (dbDelete, which ignores TTLs) fires `del`.
    static func storeResult(_ c: Client, _ dst: UnsafeRawBufferPointer, _ value: SortedSetValue?,
                            event: StaticString) {
        guard let value, value.count > 0 else {
            c.addReplyInt(0)
            if c.db.delete(dst) {
                c.server.signalModifiedKey(c.db, dst)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", dst, c.db.id)
                c.noteWrite()
            }
            return
        }
        let count = value.count
        // The result's word moves from its detached entry into the key's.
        let entry = KeyEntry.make(key: dst, word: value.entry.takeSlotWord(), type: .zset, lru: c.server.lruClock)
        if let old = c.lookupWrite(dst) {
            c.db.replace(old, with: entry, keepTTL: false)
        } else {
            c.db.add(entry)
            c.server.signalKeyAsReady(c.db, dst)
        }
        c.server.signalModifiedKey(c.db, dst)
        c.noteWrite()
        c.addReplyInt(count)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, event, dst, c.db.id)
    }

    /// Redis's zrangeGenericCommand: `<src> <min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES]
    /// [LIMIT offset count]` from `argStart`; the older commands fix the type or direction.
    static func zrangeGeneric(_ c: Client, _ argv: Argv, argStart: Int, store: Bool,
                              rangeType initialType: RangeType, direction initialDirection: Direction) {
        var rangeType = initialType
        var direction = initialDirection
        let key = argv[argStart]
        var minIdx = argStart + 1
        var maxIdx = argStart + 2
        var withScores = false
        var offset = 0
        var limit = -1

        var j = argStart + 3
        while j < argv.count {
            let left = argv.count - j - 1
            if !store && opt(argv, j, "withscores") {
                withScores = true
            } else if opt(argv, j, "limit") && left >= 2 {
                guard let o = longArgOrReply(c, argv, j + 1), let l = longArgOrReply(c, argv, j + 2) else { return }
                offset = o
                limit = l
                j += 2
            } else if direction == .auto && opt(argv, j, "rev") {
                direction = .reverse
            } else if rangeType == .auto && opt(argv, j, "bylex") {
                rangeType = .lex
            } else if rangeType == .auto && opt(argv, j, "byscore") {
                rangeType = .score
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        if direction == .auto { direction = .forward }
        if rangeType == .auto { rangeType = .rank }
        if limit != -1 && rangeType == .rank {
            c.addReplyError("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
            return
        }
        if withScores && rangeType == .lex {
            c.addReplyError("syntax error, WITHSCORES not supported in combination with BYLEX")
            return
        }
        let reverse = direction == .reverse
        if reverse && rangeType != .rank { swap(&minIdx, &maxIdx) }

        var start = 0, end = 0
        var scoreRange = ZScoreRange(min: 0, max: 0)
        var lexRange: ZLexRange? = nil
        switch rangeType {
        case .auto, .rank:
            guard let s = longArgOrReply(c, argv, minIdx), let e = longArgOrReply(c, argv, maxIdx) else { return }
            start = s
            end = e
        case .score:
            guard let r = scoreRangeOrReply(c, argv[minIdx], argv[maxIdx]) else { return }
            scoreRange = r
        case .lex:
            guard let r = lexRangeOrReply(c, argv[minIdx], argv[maxIdx]) else { return }
            lexRange = r
        }

        var sink = RangeSink(c, dst: store ? argv[1] : nil)
        if withScores || store { sink.enableScores() }

        let z: SortedSetValue
        switch c.lookupValue(key, .zset, as: SortedSetValue.self, write: false) {
        case .wrongType:
            return
        case .missing:
            if store {
                sink.begin(-1)
                sink.finish(0)
            } else {
                c.addReplyArrayLen(0)
            }
            return
        case .found(_, let found):
            z = found
        }

        func run<V: ZsetReadView>(_ v: V) -> Int {
            switch rangeType {
            case .auto, .rank: return rangeByRank(v, &sink, start, end, reverse: reverse)
            case .score: return rangeByScore(v, &sink, scoreRange, offset: offset, limit: limit, reverse: reverse)
            case .lex: return rangeByLex(v, &sink, lexRange!, offset: offset, limit: limit, reverse: reverse)
            }
        }
        // finish() may replace the source (ZRANGESTORE onto itself): only after the view.
        let emitted = z.isPacked ? z.withPackedView { run($0) } : run(SkiplistView(sl: z.skiplist))
        sink.finish(emitted)
    }

    /// genericZrangebyrankCommand; returns how many were emitted.
    static func rangeByRank<V: ZsetReadView>(_ v: V, _ sink: inout RangeSink, _ s: Int, _ e: Int, reverse: Bool) -> Int {
        let llen = v.length
        var start = s, end = e
        if start < 0 { start = llen + start }
        if end < 0 { end = llen + end }
        if start < 0 { start = 0 }
        if start > end || start >= llen {
            sink.begin(0)
            return 0
        }
        if end >= llen { end = llen - 1 }
        let n = end - start + 1
        sink.begin(n)
        var p = v.at(rank: reverse ? llen - 1 - start : start)
        for _ in 0..<n {
            guard let q = p else { break }
            sink.emit(v.member(q), v.score(q))
            p = reverse ? v.prev(q) : v.next(q)
        }
        return n
    }

    /// genericZrangebyscoreCommand: from the first (last) element in range, skip `offset`
    /// without checking, then emit up to `limit` (negative: all) while in range.
    static func rangeByScore<V: ZsetReadView>(_ v: V, _ sink: inout RangeSink, _ range: ZScoreRange,
                                              offset initialOffset: Int, limit initialLimit: Int, reverse: Bool) -> Int {
        sink.begin(-1)
        var offset = initialOffset, limit = initialLimit
        var emitted = 0
        var p = reverse ? v.lastInRange(range) : v.firstInRange(range)
        while let q = p, offset != 0 {
            offset &-= 1
            p = reverse ? v.prev(q) : v.next(q)
        }
        while let q = p, limit != 0 {
            limit &-= 1
            let s = v.score(q)
            if reverse ? !range.gteMin(s) : !range.lteMax(s) { break }
            sink.emit(v.member(q), s)
            emitted += 1
            p = reverse ? v.prev(q) : v.next(q)
        }
        return emitted
    }

    /// genericZrangebylexCommand, the same walk with lexicographic bounds.
    static func rangeByLex<V: ZsetReadView>(_ v: V, _ sink: inout RangeSink, _ range: ZLexRange,
                                            offset initialOffset: Int, limit initialLimit: Int, reverse: Bool) -> Int {
        sink.begin(-1)
        var offset = initialOffset, limit = initialLimit
        var emitted = 0
        var p = reverse ? v.lastInLexRange(range) : v.firstInLexRange(range)
        while let q = p, offset != 0 {
            offset &-= 1
            p = reverse ? v.prev(q) : v.next(q)
        }
        while let q = p, limit != 0 {
            limit &-= 1
            let m = v.member(q)
            if reverse ? !range.gteMin(m) : !range.lteMax(m) { break }
            sink.emit(m, v.score(q))
            emitted += 1
            p = reverse ? v.prev(q) : v.next(q)
        }
        return emitted
    }

    // MARK: ZREMRANGEBY*

    static func zremrangebyrank(_ c: Client, _ argv: Argv) {
        guard let s = longArgOrReply(c, argv, 2), let e = longArgOrReply(c, argv, 3) else { return }
        zremrange(c, argv, event: "zremrangebyrank") { z in
            let llen = z.count
            var start = s, end = e
            if start < 0 { start = llen + start }
            if end < 0 { end = llen + end }
            if start < 0 { start = 0 }
            if start > end || start >= llen { return 0 }
            if end >= llen { end = llen - 1 }
            return z.removeRange(ranks: start, end)
        }
    }

    static func zremrangebyscore(_ c: Client, _ argv: Argv) {
        guard let range = scoreRangeOrReply(c, argv[2], argv[3]) else { return }
        zremrange(c, argv, event: "zremrangebyscore") { $0.removeRange(range) }
    }

    static func zremrangebylex(_ c: Client, _ argv: Argv) {
        guard let range = lexRangeOrReply(c, argv[2], argv[3]) else { return }
        zremrange(c, argv, event: "zremrangebylex") { $0.removeRange(range) }
    }

    /// zremrangeGenericCommand after the range was parsed.
    static func zremrange(_ c: Client, _ argv: Argv, event: StaticString, _ remove: (SortedSetValue) -> Int) {
        let key = argv[1]
        guard case .found(_, let z) = lookupOrReply(c, key, write: true, missing: { $0.addReplyInt(0) }) else { return }
        let deleted = remove(z)
        let keyRemoved = z.count == 0
        if keyRemoved { _ = c.db.delete(key) }
        if deleted > 0 {
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, event, key, c.db.id)
            if keyRemoved { c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id) }
        }
        c.noteWrite(deleted)
        c.addReplyInt(deleted)
    }

    // MARK: ZPOPMIN, ZPOPMAX, ZMPOP and the blocking forms

    static func zpopmin(_ c: Client, _ argv: Argv) { zpopMinMax(c, argv, max: false) }
    static func zpopmax(_ c: Client, _ argv: Argv) { zpopMinMax(c, argv, max: true) }

    /// zpopMinMaxCommand: ZPOPMIN/ZPOPMAX key [count]. A count makes RESP3 nest the pairs.
    static func zpopMinMax(_ c: Client, _ argv: Argv, max: Bool) {
        if argv.count > 3 {
            c.addReplyErrorSyntax()
            return
        }
        var count = -1
        if argv.count == 3 {
            guard let n = positiveLongArgOrReply(c, argv, 2) else { return }
            count = n
        }
        genericZpop(c, argv, keys: 1..<2, max: max, emitKey: false, count: count,
                    nested: c.resp > 2 && count != -1, nilWhenEmpty: false)
    }

    /// getPositiveLongFromObjectOrReply: one message for a non-integer and a negative value.
    static func positiveLongArgOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> Int? {
        longArgOrReply(c, argv, i, min: 0, max: Int.max, message: "value is out of range, must be positive")
    }

    /// Redis's genericZpopCommand: pops from the first existing key among `keys` (argv
    /// indexes). `count` -1 is the plain single pop. Reply shapes: flat pairs, nested
    /// pairs (`nested`), with the key first (`emitKey`: BZPOP* flat, ZMPOP nested).
    static func genericZpop(_ c: Client, _ argv: Argv, keys: Range<Int>, max: Bool, emitKey: Bool, count: Int,
                            nested: Bool, nilWhenEmpty: Bool) {
        var found: (key: UnsafeRawBufferPointer, zset: SortedSetValue)? = nil
        for k in keys {
            switch c.lookupValue(argv[k], .zset, as: SortedSetValue.self, write: true) {
            case .wrongType: return
            case .missing: continue
            case .found(_, let z): found = (argv[k], z)
            }
            break
        }
        guard let (key, z) = found else {
            if nilWhenEmpty { c.addReplyNullArray() } else { c.addReplyArrayLen(0) }
            return
        }
        if count == 0 {
            c.addReplyArrayLen(0)
            return
        }
        let llen = z.count
        let n = Swift.min(count == -1 ? 1 : count, llen)
        switch (nested, emitKey) {
        case (false, false): c.addReplyArrayLen(n * 2)
        case (true, false): c.addReplyArrayLen(n)
        case (false, true):
            c.addReplyArrayLen(n * 2 + 1)
            c.addReplyBulk(key)
        case (true, true):
            c.addReplyArrayLen(2)
            c.addReplyBulk(key)
            c.addReplyArrayLen(n)
        }
        func emit<V: ZsetReadView>(_ v: V) {
            var p = max ? v.last() : v.first()
            for _ in 0..<n {
                guard let q = p else { break }
                if nested { c.addReplyArrayLen(2) }
                c.addReplyBulk(v.member(q))
                c.addReplyScore(v.score(q))
                p = max ? v.prev(q) : v.next(q)
            }
        }
        if z.isPacked { z.withPackedView { emit($0) } } else { emit(SkiplistView(sl: z.skiplist)) }
        if max { z.removeRange(ranks: llen - n, llen - 1) } else { z.removeRange(ranks: 0, n - 1) }
        c.noteWrite(n)
        // BZPOPMIN/BZPOPMAX propagate as ZPOPMIN/ZPOPMAX key, [B]ZMPOP as ZPOPMIN/ZPOPMAX
        // key <popped>, served now or later.
        if emitKey && c.server.isPropagating {
            var v = [max ? propWord("ZPOPMAX") : propWord("ZPOPMIN"), Array(key)]
            if count != -1 { v.append(propInt(n)) }
            c.server.propagateInstead(v)
        }
        // Redis fires these at the first element popped, then `del` after the last.
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, max ? "zpopmax" : "zpopmin", key, c.db.id)
        c.server.signalModifiedKey(c.db, key)
        if z.count == 0 {
            _ = c.db.delete(key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
        }
    }

    static func bzpopmin(_ c: Client, _ argv: Argv) {
        blockingGenericZpop(c, argv, keys: 1..<(argv.count - 1), max: false, timeoutIndex: argv.count - 1,
                            count: -1, nested: false, nilWhenEmpty: false)
    }

    static func bzpopmax(_ c: Client, _ argv: Argv) {
        blockingGenericZpop(c, argv, keys: 1..<(argv.count - 1), max: true, timeoutIndex: argv.count - 1,
                            count: -1, nested: false, nilWhenEmpty: false)
    }

    /// blockingGenericZpopCommand: pop from the first non-empty key, or park the client on
    /// all of them; when one gets data the whole command runs again (Engine/Blocking.swift).
    static func blockingGenericZpop(_ c: Client, _ argv: Argv, keys: Range<Int>, max: Bool, timeoutIndex: Int,
                                    count: Int, nested: Bool, nilWhenEmpty: Bool) {
        guard let deadline = c.blockingTimeoutOrReply(argv, timeoutIndex) else { return }
        for k in keys {
            switch c.lookupValue(argv[k], .zset, as: SortedSetValue.self, write: true) {
            case .wrongType: return
            case .missing: continue
            case .found(_, let z):
                if z.count == 0 { continue }
                genericZpop(c, argv, keys: k..<(k + 1), max: max, emitKey: true, count: count,
                            nested: nested, nilWhenEmpty: nilWhenEmpty)
                return
            }
        }
        // Inside EXEC (CLIENT_DENY_BLOCKING): the timeout reply right away, even with
        // timeout 0, as Redis's blockingGenericZpopCommand.
        if c.flags.contains(.denyBlocking) {
            c.addReplyNullArray()
            return
        }
        c.server.blockForKeys(c, argv, keys: keys.map { argv[$0] }, type: .zset, deadlineMs: deadline)
    }

    static func zmpop(_ c: Client, _ argv: Argv) { zmpopGeneric(c, argv, numkeysIndex: 1, blocking: false) }
    static func bzmpop(_ c: Client, _ argv: Argv) { zmpopGeneric(c, argv, numkeysIndex: 2, blocking: true) }

    /// zmpopGenericCommand: `numkeys key... MIN|MAX [COUNT count]`.
    static func zmpopGeneric(_ c: Client, _ argv: Argv, numkeysIndex: Int, blocking: Bool) {
        guard let numkeys = longArgOrReply(c, argv, numkeysIndex, min: 1, max: Int.max,
                                           message: "numkeys should be greater than 0") else { return }
        let whereIdx = numkeysIndex &+ numkeys &+ 1
        if numkeys >= argv.count || whereIdx >= argv.count {
            c.addReplyErrorSyntax()
            return
        }
        let max: Bool
        if opt(argv, whereIdx, "min") { max = false }
        else if opt(argv, whereIdx, "max") { max = true }
        else {
            c.addReplyErrorSyntax()
            return
        }
        var count = -1
        var j = whereIdx + 1
        while j < argv.count {
            let more = argv.count - 1 - j
            if count == -1 && opt(argv, j, "count") && more > 0 {
                j += 1
                guard let n = longArgOrReply(c, argv, j, min: 1, max: Int.max,
                                             message: "count should be greater than 0") else { return }
                count = n
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        if count == -1 { count = 1 }
        let keys = (numkeysIndex + 1)..<whereIdx
        if blocking {
            blockingGenericZpop(c, argv, keys: keys, max: max, timeoutIndex: 1, count: count,
                                nested: true, nilWhenEmpty: true)
        } else {
            genericZpop(c, argv, keys: keys, max: max, emitKey: true, count: count, nested: true, nilWhenEmpty: true)
        }
    }

    // MARK: ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD

    enum SetOperation { case union, inter, diff }

    static func zunion(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: nil, numkeysIndex: 1, op: .union) }
    static func zinter(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: nil, numkeysIndex: 1, op: .inter) }
    static func zdiff(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: nil, numkeysIndex: 1, op: .diff) }
    static func zunionstore(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: argv[1], numkeysIndex: 2, op: .union) }
    static func zinterstore(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: argv[1], numkeysIndex: 2, op: .inter) }
    static func zdiffstore(_ c: Client, _ argv: Argv) { zsetOperation(c, argv, dst: argv[1], numkeysIndex: 2, op: .diff) }
    static func zintercard(_ c: Client, _ argv: Argv) {
        zsetOperation(c, argv, dst: nil, numkeysIndex: 1, op: .inter, cardinalityOnly: true)
    }

    /// One input of a set operation (Redis's zsetopsrc): a sorted set, a plain set (every
    /// member scoring 1) or a missing key (empty).
    struct Operand {
        enum Subject {
            case none
            case zset(SortedSetValue)
            case set(SetValue)
        }
        var subject: Subject
        var weight = 1.0

        var count: Int {
            switch subject {
            case .none: return 0
            case .zset(let z): return z.count
            case .set(let s): return s.count
            }
        }

        /// The value's owner (its entry), to spot the same key given twice.
        var identity: ObjectIdentifier? {
            switch subject {
            case .none: return nil
            case .zset(let z): return ObjectIdentifier(z.entry)
            case .set(let s): return ObjectIdentifier(s.entry)
            }
        }

        /// zuiFind: the member's score in this input.
        func score(of member: UnsafeRawBufferPointer) -> Double? {
            switch subject {
            case .none: return nil
            case .zset(let z): return z.score(of: member)
            case .set(let s): return s.contains(member) ? 1.0 : nil
            }
        }

        /// zuiNext over every element.
        func forEach(_ body: (UnsafeRawBufferPointer, Double) -> Void) {
            switch subject {
            case .none: return
            case .zset(let z): z.forEachReversed(body)
            case .set(let s): s.forEach { m in m.withBytes { body($0, 1.0) }; return true }
            }
        }
    }

    /// zunionInterAggregate: SUM turns NaN (inf + -inf) into 0.
    enum Aggregate { case sum, min, max }

    @inline(__always)
    static func aggregate(_ target: inout Double, _ value: Double, _ how: Aggregate) {
        switch how {
        case .sum:
            target += value
            if target.isNaN { target = 0 }
        case .min:
            target = value < target ? value : target
        case .max:
            target = value > target ? value : target
        }
    }

    /// Redis's zunionInterDiffGenericCommand.
    static func zsetOperation(_ c: Client, _ argv: Argv, dst: UnsafeRawBufferPointer?, numkeysIndex: Int,
                              op: SetOperation, cardinalityOnly: Bool = false) {
        guard let setnum = longArgOrReply(c, argv, numkeysIndex) else { return }
        if setnum < 1 {
            c.addReplyError("at least 1 input key is needed for '\(c.lastCommandName)' command")
            return
        }
        if setnum > argv.count - (numkeysIndex + 1) {
            c.addReplyErrorSyntax()
            return
        }
        var src: [Operand] = []
        src.reserveCapacity(setnum)
        var j = numkeysIndex + 1
        for _ in 0..<setnum {
            if let e = c.lookupRead(argv[j]) {
                switch e.type {
                case .zset:
                    src.append(Operand(subject: .zset(SortedSetValue(entry: e))))
                case .set:
                    src.append(Operand(subject: .set(SetValue(entry: e))))
                default:
                    c.addReplyErrorWrongType()
                    return
                }
            } else {
                src.append(Operand(subject: .none))
            }
            j += 1
        }

        var how = Aggregate.sum
        var withScores = false
        var limit = 0
        var remaining = argv.count - j
        while remaining > 0 {
            if op != .diff && !cardinalityOnly && remaining >= setnum + 1 && opt(argv, j, "weights") {
                j += 1
                remaining -= 1
                for i in 0..<setnum {
                    guard let w = parseDouble(argv[j]) else {
                        c.addReplyError("weight value is not a float")
                        return
                    }
                    src[i].weight = w
                    j += 1
                    remaining -= 1
                }
            } else if op != .diff && !cardinalityOnly && remaining >= 2 && opt(argv, j, "aggregate") {
                j += 1
                if opt(argv, j, "sum") { how = .sum }
                else if opt(argv, j, "min") { how = .min }
                else if opt(argv, j, "max") { how = .max }
                else {
                    c.addReplyErrorSyntax()
                    return
                }
                j += 1
                remaining -= 2
            } else if remaining >= 1 && dst == nil && !cardinalityOnly && opt(argv, j, "withscores") {
                j += 1
                remaining -= 1
                withScores = true
            } else if cardinalityOnly && remaining >= 2 && opt(argv, j, "limit") {
                j += 1
                guard let l = longArgOrReply(c, argv, j, min: 0, max: Int.max, message: "LIMIT can't be negative") else { return }
                limit = l
                j += 1
                remaining -= 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }

        if op != .diff {
            // Smallest input first (qsort by cardinality); a stable sort keeps the order of
            // equal sizes, so sums add up in the same order.
            src = stableSortedByCount(src)
        }

        var result: [(member: [UInt8], score: Double)] = []
        var cardinality = 0
        switch op {
        case .inter:
            // Elements of the smallest input found in every other one (an input given
            // twice is not searched in itself: its own score is used).
            if src[0].count > 0 {
                let first = src[0]
                let firstID = first.identity
                var done = false
                first.forEach { member, s in
                    if done { return }
                    var score = first.weight * s
                    if score.isNaN { score = 0 }
                    for k in 1..<src.count {
                        if src[k].identity == firstID {
                            aggregate(&score, s * src[k].weight, how)
                        } else if let v = src[k].score(of: member) {
                            aggregate(&score, v * src[k].weight, how)
                        } else {
                            return
                        }
                    }
                    if cardinalityOnly {
                        cardinality += 1
                        if limit > 0 && cardinality >= limit { done = true }
                    } else {
                        result.append((Array(member), score))
                    }
                }
            }
        case .union:
            var acc: [ZsetMemberKey: Int] = [:]
            for operand in src where operand.count > 0 {
                operand.forEach { member, s in
                    var score = operand.weight * s
                    if score.isNaN { score = 0 }
                    let k = ZsetMemberKey(member)
                    if let i = acc[k] {
                        aggregate(&result[i].score, score, how)
                    } else {
                        acc[k] = result.count
                        result.append((k.bytes, score))
                    }
                }
            }
        case .diff:
            // zdiff: nothing when the first input is empty or given again later.
            let firstID = src[0].identity
            if src[0].count > 0 && !src.dropFirst().contains(where: { $0.identity != nil && $0.identity == firstID }) {
                let others = Array(src.dropFirst())
                src[0].forEach { member, s in
                    for o in others where o.score(of: member) != nil { return }
                    result.append((Array(member), s))
                }
            }
        }

        if let dst {
            // Built whole, then a listpack if it fits (zsetConvertToListpackIfNeeded).
            storeResult(c, dst, result.isEmpty ? nil : SortedSetValue.build(result, limits: c.server.config.zsetLimits),
                        event: op == .union ? "zunionstore" : (op == .inter ? "zinterstore" : "zdiffstore"))
            return
        }
        if cardinalityOnly {
            c.addReplyInt(cardinality)
            return
        }
        result.sort { a, b in
            if a.score != b.score { return a.score < b.score }
            return a.member.withUnsafeBytes { x in b.member.withUnsafeBytes { y in compareBytes(x, y) < 0 } }
        }
        c.addReplyArrayLen(withScores && c.resp == 2 ? result.count * 2 : result.count)
        for e in result {
            if withScores && c.resp > 2 { c.addReplyArrayLen(2) }
            c.addReplyBulk(e.member)
            if withScores { c.addReplyScore(e.score) }
        }
    }

    private static func stableSortedByCount(_ src: [Operand]) -> [Operand] {
        src.enumerated().sorted { a, b in
            let x = a.element.count, y = b.element.count
            return x != y ? x < y : a.offset < b.offset
        }.map { $0.element }
    }

    // MARK: ZRANDMEMBER

    /// ZRANDMEMBER key [count [WITHSCORES]] (zrandmemberCommand).
    static func zrandmember(_ c: Client, _ argv: Argv) {
        if argv.count >= 3 {
            guard let l = longArgOrReply(c, argv, 2, min: -Int.max, max: Int.max) else { return }
            var withScores = false
            if argv.count > 4 || (argv.count == 4 && !opt(argv, 3, "withscores")) {
                c.addReplyErrorSyntax()
                return
            } else if argv.count == 4 {
                withScores = true
                if l < -Int.max / 2 || l > Int.max / 2 {
                    c.addReplyError("value is out of range")
                    return
                }
            }
            zrandmemberWithCount(c, argv, l, withScores: withScores)
            return
        }
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyNull() }) else { return }
        var rng = ZRandom()
        c.addReplyBulk(z.randomElement(&rng).0)
    }

    /// zrandmemberWithCountCommand: negative counts may repeat members; positive ones are
    /// distinct (the whole set, in zuiNext's order, when the count covers it).
    static func zrandmemberWithCount(_ c: Client, _ argv: Argv, _ l: Int, withScores: Bool) {
        guard case .found(_, let z) = lookupOrReply(c, argv[1], write: false, missing: { $0.addReplyArrayLen(0) }) else { return }
        let size = z.count
        let uniq = l >= 0
        let count = l.magnitude
        if count == 0 {
            c.addReplyArrayLen(0)
            return
        }
        let nested = withScores && c.resp > 2
        func reply(_ member: UnsafeRawBufferPointer, _ score: Double) {
            if nested { c.addReplyArrayLen(2) }
            c.addReplyBulk(member)
            if withScores { c.addReplyScore(score) }
        }
        var rng = ZRandom()
        // CASE 1: repetitions allowed (or a single member).
        if !uniq || count == 1 {
            c.addReplyArrayLen(withScores && c.resp == 2 ? Int(count) * 2 : Int(count))
            var left = count
            while left > 0 {
                let (m, s) = z.randomElement(&rng)
                reply(m, s)
                left -= 1
                if c.flags.contains(.closeASAP) { break }
            }
            return
        }
        let n = Int(count)
        c.addReplyArrayLen(withScores && c.resp == 2 ? Swift.min(n, size) * 2 : Swift.min(n, size))
        // CASE 2: the whole set.
        if n >= size {
            z.forEachReversed(reply)
            return
        }
        // CASE 2.5 (listpack): a sample in the set's order.
        if z.isPacked {
            z.withPackedView { v in
                var need = n
                var i = 0
                while need > 0 {
                    if rng.next(below: size - i) < need {
                        reply(v.member(i), v.score(i))
                        need -= 1
                    }
                    i += 1
                }
            }
            return
        }
        let sl = z.skiplist
        if n * 3 > size {
            // CASE 3: everything, minus random members until `count` are left.
            var nodes: [UnsafeMutableRawPointer] = []
            nodes.reserveCapacity(size)
            var node = sl.firstNode
            while let x = node { nodes.append(x); node = ZNode.forward(x, 0) }
            while nodes.count > n { nodes.swapAt(rng.next(below: nodes.count), nodes.count - 1); nodes.removeLast() }
            for x in nodes { reply(ZNode.member(x), ZNode.score(x)) }
            return
        }
        // CASE 4: random picks, skipping repeats.
        var seen = Set<UnsafeMutableRawPointer>()
        while seen.count < n {
            let x = sl.fairRandomNode(&rng)
            if seen.insert(x).inserted { reply(ZNode.member(x), ZNode.score(x)) }
        }
    }

    // MARK: ZSCAN

    /// ZSCAN key cursor [MATCH pattern] [COUNT count] (zscanCommand + scanGenericCommand):
    /// a listpack answers whole with cursor 0; a skiplist is scanned through its hash table.
    static func zscan(_ c: Client, _ argv: Argv) {
        guard let start = KeyspaceCommands.parseScanCursor(argv[2]) else {
            c.addReplyError("invalid cursor")
            return
        }
        let z: SortedSetValue
        switch c.lookupValue(argv[1], .zset, as: SortedSetValue.self, write: false) {
        case .wrongType: return
        case .missing:
            c.addReplyArrayLen(2)
            c.addReplyBulk("0")
            c.addReplyArrayLen(0)
            return
        case .found(_, let found): z = found
        }
        var count = 10
        var pattern: UnsafeRawBufferPointer? = nil
        var i = 3
        while i < argv.count {
            let left = argv.count - i
            if opt(argv, i, "count") && left >= 2 {
                guard let v = longArgOrReply(c, argv, i + 1) else { return }
                if v < 1 {
                    c.addReplyErrorSyntax()
                    return
                }
                count = v
                i += 2
            } else if opt(argv, i, "match") && left >= 2 {
                let p = argv[i + 1]
                pattern = (p.count == 1 && p[0] == UInt8(ascii: "*")) ? nil : p
                i += 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }
        var items: [(member: UnsafeRawBufferPointer, score: Double)] = []
        var cursor: UInt64 = 0
        let collect = { (m: UnsafeRawBufferPointer, s: Double) in
            if let pattern, !globMatch(pattern: pattern, string: m) { return }
            items.append((m, s))
        }
        if z.isPacked {
            z.forEach(collect)
        } else {
            // Member and score count as two items against COUNT, as in Redis's keys list;
            // the filter runs after collecting, so count before it.
            var collected = 0
            var maxIterations = count &* 10
            cursor = start
            repeat {
                cursor = z.scanStep(cursor: cursor) { m, s in
                    collected += 2
                    collect(m, s)
                }
                if cursor == 0 { break }
                let left = maxIterations
                maxIterations &-= 1
                if left == 0 || collected >= count { break }
            } while true
        }
        c.addReplyArrayLen(2)
        c.addReplyBulkInt(Int(Int64(bitPattern: cursor)))
        c.addReplyArrayLen(items.count * 2)
        for (m, s) in items {
            c.addReplyBulk(m)
            withScoreText(s) { c.addReplyBulk($0) }
        }
    }
}

/// Member bytes as a dictionary key for ZUNION's accumulator, hashed with the keyspace's
/// word-at-a-time hash (not [UInt8]'s byte-by-byte Hashable).
struct ZsetMemberKey: Hashable {
    let bytes: [UInt8]

    init(_ member: UnsafeRawBufferPointer) { bytes = Array(member) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(hashKeyBytes($0.baseAddress, $0.count, seed: zsetHashSeed)) }
    }

    static func == (a: ZsetMemberKey, b: ZsetMemberKey) -> Bool { a.bytes == b.bytes }
}

/// Score text as Redis 7.0 prints it (addReplyDouble's "%.17g", "inf"/"-inf"), with the
/// common integral scores formatted directly: below 1e17 "%.17g" prints every digit of
/// an integer, so the decimal form is the same text without snprintf.
@inline(__always)
func withScoreText<R>(_ d: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var tmp: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    return withUnsafeMutableBytes(of: &tmp) { buf -> R in
        let p = buf.baseAddress!
        if d.isInfinite {
            let s: StaticString = d > 0 ? "inf" : "-inf"
            return body(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
        }
        if d.magnitude < 1e17, let i = Int(exactly: d), !(d == 0 && d.sign == .minus) {
            return body(UnsafeRawBufferPointer(start: p, count: formatDecimal(i, into: p)))
        }
        let n = withVaList([d]) { vsnprintf(p.assumingMemoryBound(to: CChar.self), 64, "%.17g", $0) }
        return body(UnsafeRawBufferPointer(start: p, count: Int(n)))
    }
}

extension Client {
    /// addReplyDouble for scores: a bulk in RESP2, a double (`,`) in RESP3.
    @inline(__always)
    func addReplyScore(_ d: Double) {
        withScoreText(d) { text in
            if resp == 2 {
                addReplyBulk(text)
            } else {
                out.append(byte: UInt8(ascii: ","))
                out.append(text)
                out.append("\r\n")
            }
        }
    }
}
