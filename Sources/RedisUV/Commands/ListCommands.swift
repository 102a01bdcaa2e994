#if canImport(Glibc)
import Glibc
#endif

/// List commands (Redis 7.0's t_list.c), the blocking ones included: BLPOP and friends
/// pop at once when they can, else park the client (Engine/Blocking.swift); when a key
/// gets data the same handler runs again, so each command has one pop implementation.
enum ListCommands {
    static let table: [CommandImpl] = [
        CommandImpl("lpush", lpush),
        CommandImpl("rpush", rpush),
        CommandImpl("lpushx", lpushx),
        CommandImpl("rpushx", rpushx),
        CommandImpl("lpop", lpop),
        CommandImpl("rpop", rpop),
        CommandImpl("llen", llen),
        CommandImpl("lrange", lrange),
        CommandImpl("lindex", lindex),
        CommandImpl("lset", lset),
        CommandImpl("linsert", linsert),
        CommandImpl("lrem", lrem),
        CommandImpl("ltrim", ltrim),
        CommandImpl("lpos", lpos),
        CommandImpl("lmove", lmove),
        CommandImpl("rpoplpush", rpoplpush),
        CommandImpl("lmpop", lmpop),
        CommandImpl("blpop", blpop),
        CommandImpl("brpop", brpop),
        CommandImpl("blmove", blmove),
        CommandImpl("brpoplpush", brpoplpush),
        CommandImpl("blmpop", blmpop),
    ]

    /// Redis's shared.emptyarray (the same in RESP2 and RESP3).
    @inline(__always) static func addReplyEmptyArray(_ c: Client) { c.addReplyRaw("*0\r\n") }

    /// Creates the list at `key` (absent) with the configured node size, as
    /// createQuicklistObject + quicklistSetOptions + dbAdd do; dbAdd is what wakes
    /// clients blocked on the key.
    @inline(__always)
    static func createList(_ c: Client, _ key: UnsafeRawBufferPointer) -> ListValue {
        let list = c.addValue(key, word: ListValue.emptyWord(fill: c.server.config.listMaxListpackSize),
                              as: ListValue.self)
        c.server.signalKeyAsReady(c.db, key)
        return list
    }

    /// Redis's listElementsRemoved: `n` elements left `key` from one end (`lpop`/`rpop`);
    /// an emptied list disappears (`del`).
    @inline(__always)
    static func elementsRemoved(_ c: Client, _ key: UnsafeRawBufferPointer, _ list: ListValue, _ n: Int, atHead: Bool) {
        let server = c.server
        server.notifyKeyspaceEvent(KeyspaceEventFlags.list, atHead ? "lpop" : "rpop", key, c.db.id)
        if list.count == 0 {
            c.db.delete(key)
            server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
        }
        server.signalModifiedKey(c.db, key)
        c.noteWrite(n)
    }

    // MARK: argument parsing

    /// LEFT or RIGHT (getListPositionFromObjectOrReply, compared as a C string): true for
    /// the head; nil after a syntax error.
    @inline(__always)
    static func endArgOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> Bool? {
        if StringCommands.optionIs(argv, i, "left") { return true }
        if StringCommands.optionIs(argv, i, "right") { return false }
        c.addReplyErrorSyntax()
        return nil
    }

    /// Redis's getRangeLongFromObjectOrReply with a message: any failure (not a number,
    /// out of `range`) replies `message`.
    @inline(__always)
    static func longInRangeOrReply(_ c: Client, _ argv: Argv, _ i: Int, _ range: ClosedRange<Int>,
                                   _ message: String) -> Int? {
        if let v = parseStrictInt(argv[i]), range.contains(v) { return v }
        c.addReplyError(message)
        return nil
    }

    /// getPositiveLongFromObjectOrReply.
    @inline(__always)
    static func positiveLongOrReply(_ c: Client, _ argv: Argv, _ i: Int,
                                    _ message: String = "value is out of range, must be positive") -> Int? {
        longInRangeOrReply(c, argv, i, 0...Int.max, message)
    }

    // MARK: replies

    @inline(__always)
    static func addReplyElement(_ c: Client, _ e: ListElement) {
        if let p = e.bytes {
            c.addReplyBulk(UnsafeRawBufferPointer(start: p, count: e.length))
        } else {
            c.addReplyBulkInt(e.integer)
        }
    }

    /// Redis's addListRangeReply: elements `start...end` (negative = from the tail),
    /// head to tail, or tail to head when `reverse` (then starting at `end`).
    static func addRangeReply(_ c: Client, _ list: ListValue, _ start: Int, _ end: Int, reverse: Bool) {
        let llen = list.count
        var start = start, end = end
        if start < 0 { start = llen &+ start }
        if end < 0 { end = llen &+ end }
        if start < 0 { start = 0 }
        if start > end || start >= llen {
            addReplyEmptyArray(c)
            return
        }
        if end >= llen { end = llen - 1 }
        let n = end - start + 1
        c.addReplyArrayLen(n)
        list.forEach(from: reverse ? end : start, count: n, reverse: reverse) { e in
            addReplyElement(c, e)
        }
    }

    /// Redis's listPopRangeAndReplyWithKey: [key, [up to `count` elements from one end]].
    /// [B]LMPOP propagate it as `LPOP|RPOP key <elements popped>` (`propagate`).
    static func popRangeWithKey(_ c: Client, _ key: UnsafeRawBufferPointer, _ list: ListValue,
                                atHead: Bool, count: Int, propagate: Bool = true) {
        if propagate && c.server.isPropagating {
            c.server.propagateInstead([atHead ? propWord("LPOP") : propWord("RPOP"), Array(key),
                                       propInt(Swift.min(count, list.count))])
        }
        c.addReplyArrayLen(2)
        c.addReplyBulk(key)
        popRange(c, key, list, atHead: atHead, count: count)
    }

    /// Up to `count` (≥ 1) elements from one end, replied as an array and removed.
    static func popRange(_ c: Client, _ key: UnsafeRawBufferPointer, _ list: ListValue, atHead: Bool, count: Int) {
        let llen = list.count
        let n = count > llen ? llen : count
        let start = atHead ? 0 : llen - n
        addRangeReply(c, list, atHead ? 0 : -n, atHead ? n - 1 : -1, reverse: !atHead)
        list.removeRange(start, n)
        elementsRemoved(c, key, list, n, atHead: atHead)
    }

    /// One element from one end, replied as a bulk and removed.
    @inline(__always)
    static func popOne(_ c: Client, _ key: UnsafeRawBufferPointer, _ list: ListValue, atHead: Bool) {
        if atHead {
            addReplyElement(c, list.first)
            list.removeFirst()
        } else {
            addReplyElement(c, list.last)
            list.removeLast()
        }
        elementsRemoved(c, key, list, 1, atHead: atHead)
    }

    // MARK: LPUSH, RPUSH, LPUSHX, RPUSHX

    static func lpush(_ c: Client, _ argv: Argv) { pushGeneric(c, argv, atHead: true, onlyIfExists: false) }
    static func rpush(_ c: Client, _ argv: Argv) { pushGeneric(c, argv, atHead: false, onlyIfExists: false) }
    static func lpushx(_ c: Client, _ argv: Argv) { pushGeneric(c, argv, atHead: true, onlyIfExists: true) }
    static func rpushx(_ c: Client, _ argv: Argv) { pushGeneric(c, argv, atHead: false, onlyIfExists: true) }

    /// Redis's pushGenericCommand.
    @inline(__always)
    static func pushGeneric(_ c: Client, _ argv: Argv, atHead: Bool, onlyIfExists: Bool) {
        let key = argv[1]
        let list: ListValue
        switch c.lookupValue(key, .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .found(_, let l):
            list = l
        case .missing:
            if onlyIfExists {
                c.addReplyInt(0)
                return
            }
            list = createList(c, key)
        }
        for j in 2..<argv.count { list.push(argv[j], atHead: atHead) }
        c.noteWrite(argv.count - 2)
        c.addReplyInt(list.count)
        c.server.signalModifiedKey(c.db, key)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, atHead ? "lpush" : "rpush", key, c.db.id)
    }

    // MARK: LPOP, RPOP

    static func lpop(_ c: Client, _ argv: Argv) { popGeneric(c, argv, atHead: true) }
    static func rpop(_ c: Client, _ argv: Argv) { popGeneric(c, argv, atHead: false) }

    /// Redis's popGenericCommand: LPOP key [count]. With a count the reply is an array
    /// (a null array for a missing key, an empty one for count 0).
    static func popGeneric(_ c: Client, _ argv: Argv, atHead: Bool) {
        if argv.count > 3 {
            c.addReplyError("wrong number of arguments for '\(c.lastCommandName)' command")
            return
        }
        let hasCount = argv.count == 3
        var count = 0
        if hasCount {
            guard let n = positiveLongOrReply(c, argv, 2) else { return }
            count = n
        }
        let key = argv[1]
        switch c.lookupValue(key, .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            if hasCount { c.addReplyNullArray() } else { c.addReplyNull() }
        case .found(_, let list):
            if !hasCount {
                popOne(c, key, list, atHead: atHead)
            } else if count == 0 {
                addReplyEmptyArray(c)
            } else {
                popRange(c, key, list, atHead: atHead, count: count)
            }
        }
    }

    // MARK: LLEN, LRANGE, LINDEX

    static func llen(_ c: Client, _ argv: Argv) {
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: false) {
        case .wrongType: return
        case .missing: c.addReplyInt(0)
        case .found(_, let list): c.addReplyInt(list.count)
        }
    }

    static func lrange(_ c: Client, _ argv: Argv) {
        guard let start = c.intArgOrReply(argv, 2), let end = c.intArgOrReply(argv, 3) else { return }
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: false) {
        case .wrongType: return
        case .missing: addReplyEmptyArray(c)
        case .found(_, let list): addRangeReply(c, list, start, end, reverse: false)
        }
    }

    /// The key is looked at before the index is parsed, as lindexCommand does.
    static func lindex(_ c: Client, _ argv: Argv) {
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: false) {
        case .wrongType:
            return
        case .missing:
            c.addReplyNull()
        case .found(_, let list):
            guard let index = c.intArgOrReply(argv, 2) else { return }
            if let e = list.element(atIndex: index) { addReplyElement(c, e) } else { c.addReplyNull() }
        }
    }

    // MARK: LSET, LINSERT, LREM, LTRIM

    static func lset(_ c: Client, _ argv: Argv) {
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            c.addReplyError("no such key")
        case .found(_, let list):
            guard let index = c.intArgOrReply(argv, 2) else { return }
            let i = index < 0 ? list.count &+ index : index
            if i < 0 || i >= list.count {
                c.addReplyError("index out of range")
                return
            }
            list.replace(at: i, with: argv[3])
            c.addReplyOK()
            c.server.signalModifiedKey(c.db, argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, "lset", argv[1], c.db.id)
            c.noteWrite()
        }
    }

    /// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot,
    /// 0 without the key.
    static func linsert(_ c: Client, _ argv: Argv) {
        let after: Bool
        if StringCommands.optionIs(argv, 2, "after") {
            after = true
        } else if StringCommands.optionIs(argv, 2, "before") {
            after = false
        } else {
            c.addReplyErrorSyntax()
            return
        }
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            c.addReplyInt(0)
        case .found(_, let list):
            if list.insert(argv[4], after: after, pivot: ListMatcher(argv[3])) {
                c.server.signalModifiedKey(c.db, argv[1])
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, "linsert", argv[1], c.db.id)
                c.noteWrite()
                c.addReplyInt(list.count)
            } else {
                c.addReplyInt(-1)
            }
        }
    }

    /// LREM key count element: count > 0 from the head, < 0 from the tail, 0 all.
    static func lrem(_ c: Client, _ argv: Argv) {
        guard let toRemove = c.intArgOrReply(argv, 2) else { return }
        let key = argv[1]
        switch c.lookupValue(key, .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            c.addReplyInt(0)
        case .found(_, let list):
            // Redis negates a long: LONG_MIN stays negative and then means "all".
            let fromTail = toRemove < 0
            let limit = fromTail ? (0 &- toRemove) : toRemove
            let removed = list.removeAll(matching: ListMatcher(argv[3]), limit: limit < 0 ? 0 : limit,
                                         fromTail: fromTail)
            if removed > 0 {
                c.server.signalModifiedKey(c.db, key)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, "lrem", key, c.db.id)
            }
            if list.count == 0 {
                c.db.delete(key)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
            }
            c.noteWrite(removed)
            c.addReplyInt(removed)
        }
    }

    static func ltrim(_ c: Client, _ argv: Argv) {
        guard var start = c.intArgOrReply(argv, 2), var end = c.intArgOrReply(argv, 3) else { return }
        let key = argv[1]
        switch c.lookupValue(key, .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            c.addReplyOK()
        case .found(_, let list):
            let llen = list.count
            if start < 0 { start = llen &+ start }
            if end < 0 { end = llen &+ end }
            if start < 0 { start = 0 }
            let ltrim: Int, rtrim: Int
            if start > end || start >= llen {
                ltrim = llen
                rtrim = 0
            } else {
                if end >= llen { end = llen - 1 }
                ltrim = start
                rtrim = llen - end - 1
            }
            list.removeRange(0, ltrim)
            list.removeRange(list.count - rtrim, rtrim)
            // Redis notifies `ltrim` even when nothing was trimmed.
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, "ltrim", key, c.db.id)
            if list.count == 0 {
                c.db.delete(key)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
            }
            c.server.signalModifiedKey(c.db, key)
            c.noteWrite(ltrim + rtrim)
            c.addReplyOK()
        }
    }

    // MARK: LPOS

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (Redis's lposCommand).
    static func lpos(_ c: Client, _ argv: Argv) {
        var rank = 1, count = -1, maxlen = 0
        var j = 3
        while j < argv.count {
            let moreArgs = argv.count - 1 - j
            if StringCommands.optionIs(argv, j, "rank") && moreArgs > 0 {
                j += 1
                guard let r = c.intArgOrReply(argv, j) else { return }
                if r == 0 {
                    c.addReplyError("RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                                    + "or use negative to start from the end of the list")
                    return
                }
                rank = r
            } else if StringCommands.optionIs(argv, j, "count") && moreArgs > 0 {
                j += 1
                guard let n = positiveLongOrReply(c, argv, j, "COUNT can't be negative") else { return }
                count = n
            } else if StringCommands.optionIs(argv, j, "maxlen") && moreArgs > 0 {
                j += 1
                guard let n = positiveLongOrReply(c, argv, j, "MAXLEN can't be negative") else { return }
                maxlen = n
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        // A negative rank searches from the tail. Redis negates a long: LONG_MIN stays
        // negative, so every match then qualifies.
        var fromTail = false
        if rank < 0 {
            rank = 0 &- rank
            fromTail = true
        }
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: false) {
        case .wrongType:
            return
        case .missing:
            if count != -1 { addReplyEmptyArray(c) } else { c.addReplyNull() }
        case .found(_, let list):
            let matcher = ListMatcher(argv[2])
            let mark = count != -1 ? c.addReplyDeferredLen() : -1
            let llen = list.count
            var index = 0, matches = 0, matchIndex = -1, arrayLen = 0
            list.iterate(fromTail: fromTail) { e in
                if maxlen != 0 && index >= maxlen { return false }
                if matcher.matches(e) {
                    matches += 1
                    matchIndex = fromTail ? llen - index - 1 : index
                    if matches >= rank {
                        if count != -1 {
                            arrayLen += 1
                            c.addReplyInt(matchIndex)
                            if count != 0 && (matches &- rank &+ 1) >= count { return false }
                        } else {
                            return false
                        }
                    }
                }
                index += 1
                matchIndex = -1
                return true
            }
            if count != -1 {
                c.setDeferredArrayLen(mark, arrayLen)
            } else if matchIndex != -1 {
                c.addReplyInt(matchIndex)
            } else {
                c.addReplyNull()
            }
        }
    }

    // MARK: LMOVE, RPOPLPUSH

    static func lmove(_ c: Client, _ argv: Argv) {
        guard let from = endArgOrReply(c, argv, 3), let to = endArgOrReply(c, argv, 4) else { return }
        moveGeneric(c, argv, fromHead: from, toHead: to)
    }

    static func rpoplpush(_ c: Client, _ argv: Argv) {
        moveGeneric(c, argv, fromHead: false, toHead: true)
    }

    /// Redis's lmoveGenericCommand: the element goes from one end of the source to one end
    /// of the destination (created if needed; may be the source itself) and is replied.
    static func moveGeneric(_ c: Client, _ argv: Argv, fromHead: Bool, toHead: Bool) {
        let srcKey = argv[1], dstKey = argv[2]
        let src: ListValue
        switch c.lookupValue(srcKey, .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .missing:
            c.addReplyNull()
            return
        case .found(_, let l):
            src = l
        }
        var dst: ListValue? = nil
        switch c.lookupValue(dstKey, .list, as: ListValue.self, write: true) {
        case .wrongType: return
        case .missing: break
        case .found(_, let l): dst = l
        }
        // The entry is copied as stored (no re-encoding), before it leaves the source.
        let entry = src.packedEnd(atHead: fromHead)
        withUnsafeTemporaryAllocation(byteCount: entry.size, alignment: 1) { tmp in
            let p = tmp.baseAddress!
            entry.write(to: p)
            if fromHead { src.removeFirst() } else { src.removeLast() }
            // lmoveHandlePush: create (`new`), signal, push, `lpush`/`rpush`.
            let target = dst ?? createList(c, dstKey)
            c.server.signalModifiedKey(c.db, dstKey)
            target.push(PackedEntry(packedAt: UnsafeRawPointer(p)), atHead: toHead)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, toHead ? "lpush" : "rpush", dstKey, c.db.id)
            addReplyElement(c, ListPack.decode(UnsafeRawPointer(p)).element)
        }
        // Then the source side, as lmoveGenericCommand (and serveClientBlockedOnList for
        // a served BLMOVE, which fires the same events).
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.list, fromHead ? "lpop" : "rpop", srcKey, c.db.id)
        if src.count == 0 {
            c.db.delete(srcKey)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", srcKey, c.db.id)
        }
        c.server.signalModifiedKey(c.db, srcKey)
        c.noteWrite()
    }

    // MARK: LMPOP

    static func lmpop(_ c: Client, _ argv: Argv) { mpopGeneric(c, argv, numkeysIndex: 1, blocking: false) }
    static func blmpop(_ c: Client, _ argv: Argv) { mpopGeneric(c, argv, numkeysIndex: 2, blocking: true) }

    /// Redis's lmpopGenericCommand: numkeys key... LEFT|RIGHT [COUNT count], checked in
    /// that order before any key is looked at.
    static func mpopGeneric(_ c: Client, _ argv: Argv, numkeysIndex: Int, blocking: Bool) {
        guard let numkeys = longInRangeOrReply(c, argv, numkeysIndex, 1...Int.max,
                                               "numkeys should be greater than 0") else { return }
        let whereIndex = numkeysIndex + 1 &+ numkeys
        if whereIndex >= argv.count || whereIndex < 0 {
            c.addReplyErrorSyntax()
            return
        }
        guard let atHead = endArgOrReply(c, argv, whereIndex) else { return }
        var count = -1
        var j = whereIndex + 1
        while j < argv.count {
            let moreArgs = argv.count - 1 - j
            if count == -1 && StringCommands.optionIs(argv, j, "count") && moreArgs > 0 {
                j += 1
                guard let n = longInRangeOrReply(c, argv, j, 1...Int.max, "count should be greater than 0") else { return }
                count = n
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        if count == -1 { count = 1 }
        let keys = numkeysIndex + 1
        if blocking {
            blockingPop(c, argv, keys: keys..<(keys + numkeys), atHead: atHead, timeoutIndex: 1, count: count)
        } else {
            for k in keys..<(keys + numkeys) {
                switch c.lookupValue(argv[k], .list, as: ListValue.self, write: true) {
                case .wrongType: return
                case .missing: continue
                case .found(_, let list):
                    popRangeWithKey(c, argv[k], list, atHead: atHead, count: count)
                    return
                }
            }
            c.addReplyNullArray()
        }
    }

    // MARK: blocking: BLPOP, BRPOP, BLMPOP, BLMOVE, BRPOPLPUSH

    static func blpop(_ c: Client, _ argv: Argv) {
        blockingPop(c, argv, keys: 1..<(argv.count - 1), atHead: true, timeoutIndex: argv.count - 1, count: -1)
    }

    static func brpop(_ c: Client, _ argv: Argv) {
        blockingPop(c, argv, keys: 1..<(argv.count - 1), atHead: false, timeoutIndex: argv.count - 1, count: -1)
    }

    /// Redis's blockingPopGenericCommand: pops from the first non-empty key (one element
    /// as [key, element], or with `count` ≥ 1 as [key, [elements]]), else blocks on all
    /// the keys; this same code runs again when one of them gets data.
    static func blockingPop(_ c: Client, _ argv: Argv, keys: Range<Int>, atHead: Bool, timeoutIndex: Int, count: Int) {
        guard let deadline = c.blockingTimeoutOrReply(argv, timeoutIndex) else { return }
        for k in keys {
            let key = argv[k]
            switch c.lookupValue(key, .list, as: ListValue.self, write: true) {
            case .wrongType:
                return
            case .missing:
                continue
            case .found(_, let list):
                if count != -1 {
                    popRangeWithKey(c, key, list, atHead: atHead, count: count)
                } else {
                    c.addReplyArrayLen(2)
                    c.addReplyBulk(key)
                    popOne(c, key, list, atHead: atHead)
                    // Propagated as the non-blocking LPOP|RPOP key, served now or later.
                    if c.server.isPropagating {
                        c.server.propagateInstead([atHead ? propWord("LPOP") : propWord("RPOP"), Array(key)])
                    }
                }
                return
            }
        }
        // A client that may not block (inside EXEC) gets the timeout reply, even with
        // timeout 0 (Redis's CLIENT_DENY_BLOCKING check in blockingPopGenericCommand).
        if c.flags.contains(.denyBlocking) {
            c.addReplyNullArray()
            return
        }
        c.server.blockForKeys(c, argv, keys: keys.map { argv[$0] }, type: .list, deadlineMs: deadline)
    }

    static func blmove(_ c: Client, _ argv: Argv) {
        guard let from = endArgOrReply(c, argv, 3), let to = endArgOrReply(c, argv, 4) else { return }
        blockingMove(c, argv, fromHead: from, toHead: to, timeoutIndex: 5)
    }

    static func brpoplpush(_ c: Client, _ argv: Argv) {
        blockingMove(c, argv, fromHead: false, toHead: true, timeoutIndex: 3)
    }

    /// Redis's blmoveGenericCommand: LMOVE when the source has data, else block on the
    /// source (the destination is checked when the move happens).
    static func blockingMove(_ c: Client, _ argv: Argv, fromHead: Bool, toHead: Bool, timeoutIndex: Int) {
        guard let deadline = c.blockingTimeoutOrReply(argv, timeoutIndex) else { return }
        switch c.lookupValue(argv[1], .list, as: ListValue.self, write: true) {
        case .wrongType:
            return
        case .found:
            moveGeneric(c, argv, fromHead: fromHead, toHead: toHead)
            if c.server.isPropagating { propagateBlockingMove(c, argv, fromHead: fromHead, toHead: toHead) }
        case .missing:
            // Inside EXEC: a null bulk right away (Redis's blmoveGenericCommand), not the
            // null array a timeout gives.
            if c.flags.contains(.denyBlocking) {
                c.addReplyNull()
                return
            }
            c.server.blockForKeys(c, argv, keys: [argv[1]], type: .list, deadlineMs: deadline)
        }
    }

    /// BLMOVE propagates as LMOVE, BRPOPLPUSH as RPOPLPUSH: with the words as typed when it
    /// moved at once (Redis's lmoveGenericCommand), as `left`/`right` when a push served it
    /// (serveClientBlockedOnList's getStringObjectFromListPosition).
    @inline(never)
    static func propagateBlockingMove(_ c: Client, _ argv: Argv, fromHead: Bool, toHead: Bool) {
        let server = c.server
        if c.lastCommand?.fullName == "brpoplpush" {
            server.propagateInstead([propWord("RPOPLPUSH"), argv.bytes(1), argv.bytes(2)])
        } else if server.blocking.servingKey != nil {
            server.propagateInstead([propWord("LMOVE"), argv.bytes(1), argv.bytes(2),
                                     fromHead ? propWord("left") : propWord("right"),
                                     toHead ? propWord("left") : propWord("right")])
        } else {
            server.propagateInstead([propWord("LMOVE"), argv.bytes(1), argv.bytes(2), argv.bytes(3), argv.bytes(4)])
        }
    }
}
