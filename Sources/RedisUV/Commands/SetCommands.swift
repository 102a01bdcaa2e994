/// Set commands (Redis 7.0's t_set.c). The data structure is Types/SetValue.swift.
enum SetCommands {
    static let table: [CommandImpl] = [
        CommandImpl("sadd", sadd),
        CommandImpl("srem", srem),
        CommandImpl("scard", scard),
        CommandImpl("sismember", sismember),
        CommandImpl("smismember", smismember),
        CommandImpl("smembers", smembers),
        CommandImpl("spop", spop),
        CommandImpl("srandmember", srandmember),
        CommandImpl("smove", smove),
        CommandImpl("sinter", sinter),
        CommandImpl("sintercard", sintercard),
        CommandImpl("sinterstore", sinterstore),
        CommandImpl("sunion", sunion),
        CommandImpl("sunionstore", sunionstore),
        CommandImpl("sdiff", sdiff),
        CommandImpl("sdiffstore", sdiffstore),
        CommandImpl("sscan", sscan),
    ]

    /// set-max-intset-entries as Redis applies it (clamped to 1G entries).
    @inline(__always)
    static func intsetLimit(_ c: Client) -> Int {
        SetValue.intsetLimit(c.server.config.setMaxIntsetEntries)
    }

    /// Redis's lookupKey*OrReply + checkType for a set: nil when missing (after replying
    /// `missing`) or of another type (after WRONGTYPE).
    @inline(__always)
    static func lookupSetOrReply(_ c: Client, _ key: UnsafeRawBufferPointer, write: Bool,
                                 missing: (Client) -> Void) -> SetValue? {
        switch c.lookupValue(key, .set, as: SetValue.self, write: write) {
        case .found(_, let s): return s
        case .wrongType: return nil
        case .missing:
            missing(c)
            return nil
        }
    }

    /// An empty set reply: `*0` in RESP2, `~0` in RESP3 (Redis's shared.emptyset).
    static func replyEmptySet(_ c: Client) { c.addReplySetLen(0) }

    @inline(__always)
    static func replyMember(_ c: Client, _ m: SetMember) {
        switch m {
        case .int(let v): c.addReplyBulkInt(Int(v))
        case .bytes(let b): c.addReplyBulk(b)
        }
    }

    /// Stores `value` (detached) under `key`, replacing whatever was there and dropping its
    /// TTL (Redis's setKey with no flags). Its word moves into the key's entry, leaving
    /// `value` empty: no longer usable.
    static func storeSet(_ c: Client, _ key: UnsafeRawBufferPointer, _ value: SetValue) {
        let e = KeyEntry.make(key: key, word: value.entry.takeSlotWord(), type: .set, lru: c.server.lruClock)
        c.db.setKey(e, keepTTL: false, now: c.server.cachedTimeMs)
    }

    // MARK: SADD SREM SCARD SISMEMBER SMISMEMBER

    static func sadd(_ c: Client, _ argv: Argv) {
        let key = argv[1]
        let set: SetValue
        switch c.lookupValue(key, .set, as: SetValue.self, write: true) {
        case .found(_, let s): set = s
        case .wrongType: return
        case .missing:
            set = c.addValue(key, word: SetValue.emptyWord(), as: SetValue.self)
        }
        let limit = intsetLimit(c)
        var added = 0
        for j in 2..<argv.count where set.add(argv[j], maxIntsetEntries: limit) { added += 1 }
        if added > 0 {
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "sadd", key, c.db.id)
        }
        c.noteWrite(added)
        c.addReplyInt(added)
    }

    static func srem(_ c: Client, _ argv: Argv) {
        guard let set = lookupSetOrReply(c, argv[1], write: true, missing: { $0.addReplyInt(0) }) else { return }
        var deleted = 0
        var keyRemoved = false
        for j in 2..<argv.count where set.remove(argv[j]) {
            deleted += 1
            if set.isEmpty {
                c.db.delete(argv[1])
                keyRemoved = true
                break
            }
        }
        if deleted > 0 {
            c.server.signalModifiedKey(c.db, argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "srem", argv[1], c.db.id)
            if keyRemoved { c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[1], c.db.id) }
        }
        c.noteWrite(deleted)
        c.addReplyInt(deleted)
    }

    static func scard(_ c: Client, _ argv: Argv) {
        guard let set = lookupSetOrReply(c, argv[1], write: false, missing: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(set.count)
    }

    static func sismember(_ c: Client, _ argv: Argv) {
        guard let set = lookupSetOrReply(c, argv[1], write: false, missing: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(set.contains(argv[2]) ? 1 : 0)
    }

    /// A missing key is an empty set: a zero for every member.
    static func smismember(_ c: Client, _ argv: Argv) {
        var set: SetValue? = nil
        switch c.lookupValue(argv[1], .set, as: SetValue.self, write: false) {
        case .found(_, let s): set = s
        case .wrongType: return
        case .missing: break
        }
        c.addReplyArrayLen(argv.count - 2)
        for j in 2..<argv.count {
            c.addReplyInt(set?.contains(argv[j]) == true ? 1 : 0)
        }
    }

    // MARK: SMOVE

    static func smove(_ c: Client, _ argv: Argv) {
        let srcKey = argv[1], dstKey = argv[2], member = argv[3]
        // Both lookups first, as Redis (each may reclaim an expired key).
        let srcEntry = c.lookupWrite(srcKey)
        let dstEntry = c.lookupWrite(dstKey)
        guard let srcEntry else {
            c.addReplyInt(0)
            return
        }
        guard srcEntry.type == .set, dstEntry == nil || dstEntry!.type == .set else {
            c.addReplyErrorWrongType()
            return
        }
        let src = SetValue(entry: srcEntry)
        // The same key: nothing moves; the reply says whether the member is there.
        if let dstEntry, dstEntry === srcEntry {
            c.addReplyInt(src.contains(member) ? 1 : 0)
            return
        }
        guard src.remove(member) else {
            c.addReplyInt(0)
            return
        }
        let server = c.server
        server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "srem", srcKey, c.db.id)
        if src.isEmpty {
            c.db.delete(srcKey)
            server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", srcKey, c.db.id)
        }
        let dst: SetValue
        if let dstEntry {
            dst = SetValue(entry: dstEntry)
        } else {
            dst = c.addValue(dstKey, word: SetValue.emptyWord(), as: SetValue.self)
        }
        server.signalModifiedKey(c.db, srcKey)
        c.noteWrite()
        if dst.add(member, maxIntsetEntries: intsetLimit(c)) {
            c.noteWrite()
            server.signalModifiedKey(c.db, dstKey)
            server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "sadd", dstKey, c.db.id)
        }
        c.addReplyInt(1)
    }

    // MARK: SPOP

    /// How much bigger than the remainder a SPOP count must be for Redis to build the
    /// remainder as a new set instead of popping one by one (SPOP_MOVE_STRATEGY_MUL).
    static let spopMoveStrategyMul = 5

    static func spop(_ c: Client, _ argv: Argv) {
        if argv.count == 3 {
            spopWithCount(c, argv)
            return
        }
        if argv.count > 3 {
            c.addReplyErrorSyntax()
            return
        }
        guard let set = lookupSetOrReply(c, argv[1], write: true, missing: { $0.addReplyNull() }) else { return }
        var rng = SetRandom()
        let m = set.randomMember(&rng).member
        replyMember(c, m)
        // Propagated as SREM key <the member popped>.
        if c.server.isPropagating { c.server.propagateInstead([propWord("SREM"), argv.bytes(1), m.array]) }
        set.remove(m)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "spop", argv[1], c.db.id)
        if set.isEmpty {
            c.db.delete(argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[1], c.db.id)
        }
        c.server.signalModifiedKey(c.db, argv[1])
        c.noteWrite()
    }

    /// Redis's spopWithCountCommand and its three cases.
    static func spopWithCount(_ c: Client, _ argv: Argv) {
        guard let count = parseStrictInt(argv[2]), count >= 0 else {
            c.addReplyError("value is out of range, must be positive")
            return
        }
        let set: SetValue
        switch c.lookupValue(argv[1], .set, as: SetValue.self, write: true) {
        case .found(_, let s): set = s
        case .wrongType: return
        case .missing:
            replyEmptySet(c)
            return
        }
        if count == 0 {
            replyEmptySet(c)
            return
        }
        let size = set.count
        // Redis notifies `spop` before popping anything.
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.set, "spop", argv[1], c.db.id)
        c.noteWrite(min(count, size))

        // CASE 1: everything is popped: the reply is SUNION of the key, then it goes.
        if count >= size {
            // Propagated as DEL key (Redis 7.0.15 does not look at lazyfree here).
            if c.server.isPropagating { c.server.propagateInstead([propWord("DEL"), argv.bytes(1)]) }
            sunionDiffGeneric(c, keys: [argv[1]], destination: nil, op: .union)
            c.db.delete(argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[1], c.db.id)
            c.server.signalModifiedKey(c.db, argv[1])
            return
        }
        defer { c.server.signalModifiedKey(c.db, argv[1]) }
        // Otherwise each popped member is propagated as its own SREM (in one MULTI/EXEC),
        // and the SPOP itself not.
        let propagating = c.server.isPropagating
        let dbid = c.db.id
        if propagating { c.server.preventPropagation() }
        @inline(never) func propagateSrem(_ m: SetMember) {
            c.server.alsoPropagate(dbid: dbid, [propWord("SREM"), argv.bytes(1), m.array])
        }

        var rng = SetRandom()
        c.addReplySetLen(count)
        let remaining = size - count
        if remaining * spopMoveStrategyMul > count {
            // CASE 2: a few members: pop them one at a time.
            for _ in 0..<count {
                let m = set.randomMember(&rng).member
                replyMember(c, m)
                if propagating { propagateSrem(m) }
                set.remove(m)
            }
        } else {
            // CASE 3: most members: move the few that stay into a new set, reply the rest,
            // and the new set becomes the value (so it may be an intset again, as in Redis).
            let kept = SetValue()
            let limit = intsetLimit(c)
            for _ in 0..<remaining {
                let m = set.randomMember(&rng).member
                kept.add(m, maxIntsetEntries: limit)
                set.remove(m)
            }
            set.forEach {
                replyMember(c, $0)
                if propagating { propagateSrem($0) }
                return true
            }
            // The key now holds `kept`'s word; the popped rest is freed with `kept`.
            set.swapContents(with: kept)
        }
    }

    // MARK: SRANDMEMBER

    /// Below this ratio of set size to count, Redis copies the set and removes random
    /// members instead of drawing distinct ones (SRANDMEMBER_SUB_STRATEGY_MUL).
    static let srandmemberSubStrategyMul = 3

    static func srandmember(_ c: Client, _ argv: Argv) {
        if argv.count == 3 {
            srandmemberWithCount(c, argv)
            return
        }
        if argv.count > 3 {
            c.addReplyErrorSyntax()
            return
        }
        guard let set = lookupSetOrReply(c, argv[1], write: false, missing: { $0.addReplyNull() }) else { return }
        var rng = SetRandom()
        replyMember(c, set.randomMember(&rng).member)
    }

    /// Redis's srandmemberWithCountCommand: a negative count may repeat members, a positive
    /// one gives distinct members. The replies are arrays (not sets) in Redis 7.0.
    static func srandmemberWithCount(_ c: Client, _ argv: Argv) {
        guard let l = parseStrictInt(argv[2]) else {
            c.addReplyErrorNotInteger()
            return
        }
        if l == Int.min {
            c.addReplyError("value is out of range, value must between -9223372036854775807 and 9223372036854775807")
            return
        }
        let unique = l >= 0
        var count = l.magnitude
        guard let set = lookupSetOrReply(c, argv[1], write: false, missing: { $0.addReplyArrayLen(0) }) else { return }
        if count == 0 {
            c.addReplyArrayLen(0)
            return
        }
        var rng = SetRandom()
        let size = set.count

        // CASE 1: repeats allowed (or a single member): independent draws.
        if !unique || count == 1 {
            c.addReplyArrayLen(Int(count))
            while count > 0 {
                replyMember(c, set.randomMember(&rng).member)
                count -= 1
                // Redis stops filling once the output limit closes the client.
                if count & 1023 == 0 {
                    c.server.checkOutputLimits(c)
                    if c.flags.contains(.closeASAP) { break }
                }
            }
            return
        }

        // CASE 2: at least the whole set: the whole set.
        if count >= UInt(size) {
            c.addReplyArrayLen(size)
            set.forEach { replyMember(c, $0); return true }
            return
        }
        let want = Int(count)

        // CASE 3: most of the set: all members, minus random ones down to the count.
        if want * srandmemberSubStrategyMul > size {
            var all = set.members
            // A partial Fisher-Yates shuffle: the first `want` places are a uniform sample.
            for i in 0..<want {
                all.swapAt(i, i + rng.below(size - i))
            }
            c.addReplyArrayLen(want)
            for i in 0..<want { replyMember(c, all[i]) }
            return
        }

        // CASE 4: a small part of a big set: draw until `want` distinct members.
        var seen = Set<Int>(minimumCapacity: want)
        var picked: [SetMember] = []
        picked.reserveCapacity(want)
        while picked.count < want {
            let (m, id) = set.randomMember(&rng)
            if seen.insert(id).inserted { picked.append(m) }
        }
        c.addReplyArrayLen(want)
        for m in picked { replyMember(c, m) }
    }

    // MARK: SMEMBERS SINTER SINTERCARD SINTERSTORE

    /// SMEMBERS is SINTER of one key in Redis 7.0 (a set reply in the set's order).
    static func smembers(_ c: Client, _ argv: Argv) {
        sinterGeneric(c, keys: [argv[1]], destination: nil)
    }

    static func sinter(_ c: Client, _ argv: Argv) {
        sinterGeneric(c, keys: (1..<argv.count).map { argv[$0] }, destination: nil)
    }

    static func sinterstore(_ c: Client, _ argv: Argv) {
        sinterGeneric(c, keys: (2..<argv.count).map { argv[$0] }, destination: argv[1])
    }

    /// SINTERCARD numkeys key [key ...] [LIMIT limit]
    static func sintercard(_ c: Client, _ argv: Argv) {
        guard let numkeys = parseStrictInt(argv[1]), numkeys >= 1 else {
            c.addReplyError("numkeys should be greater than 0")
            return
        }
        if numkeys > argv.count - 2 {
            c.addReplyError("Number of keys can't be greater than number of args")
            return
        }
        var limit = 0
        var j = 2 + numkeys
        while j < argv.count {
            if StringCommands.optionIs(argv, j, "limit") && j + 1 < argv.count {
                j += 1
                guard let v = parseStrictInt(argv[j]), v >= 0 else {
                    c.addReplyError("LIMIT can't be negative")
                    return
                }
                limit = v
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        sinterGeneric(c, keys: (2..<(2 + numkeys)).map { argv[$0] }, destination: nil,
                      cardinalityOnly: true, limit: limit)
    }

    /// Redis's sinterGenericCommand: SINTER, SMEMBERS, SINTERSTORE (`destination`) and
    /// SINTERCARD (`cardinalityOnly`, stopping at `limit` when not 0).
    static func sinterGeneric(_ c: Client, keys: [UnsafeRawBufferPointer], destination: UnsafeRawBufferPointer?,
                              cardinalityOnly: Bool = false, limit: Int = 0) {
        var sets: [SetValue] = []
        sets.reserveCapacity(keys.count)
        var anyMissing = false
        for key in keys {
            switch c.lookupValue(key, .set, as: SetValue.self, write: false) {
            case .found(_, let s): sets.append(s)
            case .wrongType: return
            case .missing: anyMissing = true
            }
        }
        // The intersection with an empty set is empty.
        if anyMissing {
            if let destination {
                if c.db.delete(destination) {
                    c.server.signalModifiedKey(c.db, destination)
                    c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", destination, c.db.id)
                    c.noteWrite()
                }
                c.addReplyInt(0)
            } else if cardinalityOnly {
                c.addReplyInt(0)
            } else {
                replyEmptySet(c)
            }
            return
        }
        // Smallest first (a stable sort, as glibc's qsort on small arrays).
        let ordered = sets.enumerated().sorted { ($0.element.count, $0.offset) < ($1.element.count, $1.offset) }.map(\.element)
        let first = ordered[0]
        let others = ordered.dropFirst().filter { !$0.isSame(as: first) }

        var cardinality = 0
        let result: SetValue? = destination == nil ? nil : SetValue()
        let limitEntries = intsetLimit(c)
        let mark = (destination == nil && !cardinalityOnly) ? c.addReplyDeferredLen() : 0
        first.forEach { m in
            for s in others where !s.contains(m) { return true }
            if cardinalityOnly {
                cardinality += 1
                return limit == 0 || cardinality < limit
            }
            if let result {
                result.add(m, maxIntsetEntries: limitEntries)
            } else {
                replyMember(c, m)
                cardinality += 1
            }
            return true
        }

        if cardinalityOnly {
            c.addReplyInt(cardinality)
        } else if let destination, let result {
            finishStore(c, destination, result, event: "sinterstore")
        } else {
            c.setDeferredSetLen(mark, cardinality)
        }
    }

    /// The end of every *STORE: a non-empty result replaces the destination (any type, TTL
    /// dropped); an empty one deletes it. The reply is the result's size.
    /// Events as Redis: setKey's (`new` when created, signalModifiedKey), then `event`;
    /// or signalModifiedKey + `del` when an empty result removed the destination.
    static func finishStore(_ c: Client, _ destination: UnsafeRawBufferPointer, _ result: SetValue,
                            event: StaticString) {
        let count = result.count
        if count > 0 {
            storeSet(c, destination, result)
            c.server.signalModifiedKey(c.db, destination)
            c.addReplyInt(count)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.set, event, destination, c.db.id)
            c.noteWrite()
        } else {
            c.addReplyInt(0)
            if c.db.delete(destination) {
                c.noteWrite()
                c.server.signalModifiedKey(c.db, destination)
                c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", destination, c.db.id)
            }
        }
    }

    // MARK: SUNION SUNIONSTORE SDIFF SDIFFSTORE

    enum SetOp { case union, diff }

    static func sunion(_ c: Client, _ argv: Argv) {
        sunionDiffGeneric(c, keys: (1..<argv.count).map { argv[$0] }, destination: nil, op: .union)
    }

    static func sunionstore(_ c: Client, _ argv: Argv) {
        sunionDiffGeneric(c, keys: (2..<argv.count).map { argv[$0] }, destination: argv[1], op: .union)
    }

    static func sdiff(_ c: Client, _ argv: Argv) {
        sunionDiffGeneric(c, keys: (1..<argv.count).map { argv[$0] }, destination: nil, op: .diff)
    }

    static func sdiffstore(_ c: Client, _ argv: Argv) {
        sunionDiffGeneric(c, keys: (2..<argv.count).map { argv[$0] }, destination: argv[1], op: .diff)
    }

    /// Redis's sunionDiffGenericCommand. The result is built in a new set that starts as an
    /// intset, exactly as Redis builds it, so its encoding (and an intset's ascending
    /// order) matches Redis's: SDIFF's choice between its two algorithms is mirrored too,
    /// since the second one adds members it may later remove.
    static func sunionDiffGeneric(_ c: Client, keys: [UnsafeRawBufferPointer], destination: UnsafeRawBufferPointer?, op: SetOp) {
        var sets: [SetValue?] = []
        sets.reserveCapacity(keys.count)
        var sameSet = false
        for key in keys {
            switch c.lookupValue(key, .set, as: SetValue.self, write: false) {
            case .found(_, let s):
                if !sets.isEmpty, let first = sets[0], first.isSame(as: s) { sameSet = true }
                sets.append(s)
            case .wrongType: return
            case .missing: sets.append(nil)
            }
        }

        var diffAlgorithm = 1
        if op == .diff, let first = sets[0], !sameSet {
            var algoOneWork = 0, algoTwoWork = 0
            for s in sets {
                guard let s else { continue }
                algoOneWork += first.count
                algoTwoWork += s.count
            }
            // Algorithm 1 has better constants and stops early on common members.
            algoOneWork /= 2
            diffAlgorithm = algoOneWork <= algoTwoWork ? 1 : 2
            if diffAlgorithm == 1 && sets.count > 1 {
                // Biggest first, to find a member's presence sooner (stable, like glibc's qsort).
                let rest = sets[1...].enumerated().sorted {
                    ($0.element?.count ?? 0, -$0.offset) > ($1.element?.count ?? 0, -$1.offset)
                }.map(\.element)
                sets.replaceSubrange(1..., with: rest)
            }
        }

        let result = SetValue()
        let limit = intsetLimit(c)
        var cardinality = 0
        switch op {
        case .union:
            for case let s? in sets {
                s.forEach { m in
                    if result.add(m, maxIntsetEntries: limit) { cardinality += 1 }
                    return true
                }
            }
        case .diff:
            guard let first = sets[0], !sameSet else { break }
            if diffAlgorithm == 1 {
                // Members of the first set found in none of the others.
                first.forEach { m in
                    for s in sets.dropFirst() {
                        guard let s else { continue }
                        if s.isSame(as: first) || s.contains(m) { return true }
                    }
                    result.add(m, maxIntsetEntries: limit)
                    cardinality += 1
                    return true
                }
            } else {
                // The first set, minus every member of the others.
                for (j, s) in sets.enumerated() {
                    guard let s else { continue }
                    s.forEach { m in
                        if j == 0 {
                            if result.add(m, maxIntsetEntries: limit) { cardinality += 1 }
                        } else if result.remove(m) {
                            cardinality -= 1
                        }
                        return true
                    }
                    if cardinality == 0 { break }
                }
            }
        }

        if let destination {
            finishStore(c, destination, result, event: op == .union ? "sunionstore" : "sdiffstore")
        } else {
            c.addReplySetLen(cardinality)
            result.forEach { replyMember(c, $0); return true }
        }
    }

    // MARK: SSCAN

    /// SSCAN key cursor [MATCH pattern] [COUNT count] (Redis's scanGenericCommand on a set).
    static func sscan(_ c: Client, _ argv: Argv) {
        guard let start = KeyspaceCommands.parseScanCursor(argv[2]) else {
            c.addReplyError("invalid cursor")
            return
        }
        // A missing key is an empty iteration, whatever the options (shared.emptyscan).
        guard let set = lookupSetOrReply(c, argv[1], write: false, missing: { c in
            c.addReplyArrayLen(2)
            c.addReplyBulk("0" as StaticString)
            c.addReplyArrayLen(0)
        }) else { return }

        var count = 10
        var pattern: UnsafeRawBufferPointer? = nil
        var i = 3
        while i < argv.count {
            let remaining = argv.count - i
            if StringCommands.optionIs(argv, i, "count") && remaining >= 2 {
                guard let v = c.intArgOrReply(argv, i + 1) else { return }
                if v < 1 {
                    c.addReplyErrorSyntax()
                    return
                }
                count = v
                i += 2
            } else if StringCommands.optionIs(argv, i, "match") && remaining >= 2 {
                let p = argv[i + 1]
                // Exactly "*" matches everything: no filtering.
                pattern = (p.count == 1 && p[0] == UInt8(ascii: "*")) ? nil : p
                i += 2
            } else {
                // TYPE is for SCAN only.
                c.addReplyErrorSyntax()
                return
            }
        }

        var collected: [SetMember] = []
        var cursor = start
        if set.encoding == .table {
            // Whole buckets until COUNT members or 10×COUNT buckets (the product wraps like
            // Redis's long arithmetic).
            var maxIterations = count &* 10
            while true {
                cursor = set.scan(cursor: cursor) { collected.append($0) }
                if cursor == 0 { break }
                let left = maxIterations
                maxIterations &-= 1
                if left == 0 || collected.count >= count { break }
            }
        } else {
            cursor = set.scan(cursor: cursor) { collected.append($0) }
        }

        if let pattern {
            collected.removeAll { m in !m.withBytes { globMatch(pattern: pattern, string: $0) } }
        }
        c.addReplyArrayLen(2)
        c.addReplyBulkInt(Int(Int64(bitPattern: cursor)))
        c.addReplyArrayLen(collected.count)
        for m in collected { replyMember(c, m) }
    }
}
