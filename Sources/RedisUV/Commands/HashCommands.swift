#if canImport(Glibc)
import Glibc
#endif

/// Hash commands (Redis's t_hash.c). Values are `HashValue`s (Types/HashValue.swift);
/// fields and values are bytes straight from the arguments.
enum HashCommands {
    static let table: [CommandImpl] = [
        CommandImpl("hset", hset),
        CommandImpl("hmset", hset),
        CommandImpl("hsetnx", hsetnx),
        CommandImpl("hget", hget),
        CommandImpl("hmget", hmget),
        CommandImpl("hdel", hdel),
        CommandImpl("hlen", hlen),
        CommandImpl("hstrlen", hstrlen),
        CommandImpl("hexists", hexists),
        CommandImpl("hkeys", hkeys),
        CommandImpl("hvals", hvals),
        CommandImpl("hgetall", hgetall),
        CommandImpl("hincrby", hincrby),
        CommandImpl("hincrbyfloat", hincrbyfloat),
        CommandImpl("hrandfield", hrandfield),
        CommandImpl("hscan", hscan),
    ]

    /// The encoding thresholds, read field by field (no copy of the whole config).
    @inline(__always) static func limits(_ c: Client) -> HashLimits {
        HashLimits(maxEntries: c.server.config.hashMaxListpackEntries, maxValue: c.server.config.hashMaxListpackValue)
    }

    /// The hash at `key` for reading; nil when missing (after `missingReply`) or after a
    /// WRONGTYPE error.
    @inline(__always)
    static func readHash(_ c: Client, _ key: UnsafeRawBufferPointer, missingReply: (Client) -> Void) -> HashValue? {
        switch c.lookupValue(key, .hash, as: HashValue.self, write: false) {
        case .found(_, let h): return h
        case .wrongType: return nil
        case .missing:
            missingReply(c)
            return nil
        }
    }

    /// Redis's hashTypeLookupWriteOrCreate: the hash at `key`, a new empty one stored
    /// there if the key is missing, or nil after a WRONGTYPE error.
    @inline(__always)
    static func writeHash(_ c: Client, _ key: UnsafeRawBufferPointer) -> HashValue? {
        switch c.lookupValue(key, .hash, as: HashValue.self, write: true) {
        case .found(_, let h): return h
        case .wrongType: return nil
        case .missing:
            return c.addValue(key, word: HashValue.emptyWord(packedCapacity: 0), as: HashValue.self)
        }
    }

    // MARK: HSET, HMSET, HSETNX

    /// Redis's hsetCommand, for HSET (the number of new fields) and HMSET (OK).
    static func hset(_ c: Client, _ argv: Argv) {
        if argv.count % 2 == 1 {
            c.addReplyError("wrong number of arguments for '\(c.lastCommandName)' command")
            return
        }
        guard let h = writeHash(c, argv[1]) else { return }
        let lim = limits(c)
        h.prepareForWrite(of: argv, from: 2, limits: lim)
        var created = 0
        var i = 2
        while i < argv.count {
            if h.set(argv[i], argv[i + 1], limits: lim) { created += 1 }
            i += 2
        }
        // HSET and HMSET differ only in the reply; Redis tells them apart by argv[0][1].
        let name = argv[0]
        if name.count > 1 && (name[1] == UInt8(ascii: "s") || name[1] == UInt8(ascii: "S")) {
            c.addReplyInt(created)
        } else {
            c.addReplyOK()
        }
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.hash, "hset", argv[1], c.db.id)
        c.noteWrite((argv.count - 2) / 2)
    }

    static func hsetnx(_ c: Client, _ argv: Argv) {
        guard let h = writeHash(c, argv[1]) else { return }
        if h.contains(argv[2]) {
            c.addReplyInt(0)
            return
        }
        let lim = limits(c)
        h.prepareForWrite(of: argv, from: 2, limits: lim)
        h.set(argv[2], argv[3], limits: lim)
        c.addReplyInt(1)
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.hash, "hset", argv[1], c.db.id)
        c.noteWrite()
    }

    // MARK: HGET, HMGET, HSTRLEN, HEXISTS, HLEN

    static func hget(_ c: Client, _ argv: Argv) {
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyNull() }) else { return }
        if let v = h.get(argv[2]) { c.addReplyBulk(v) } else { c.addReplyNull() }
    }

    /// A missing key is an array of nulls, another type an error (Redis's hmgetCommand).
    static func hmget(_ c: Client, _ argv: Argv) {
        var h: HashValue? = nil
        switch c.lookupValue(argv[1], .hash, as: HashValue.self, write: false) {
        case .found(_, let found): h = found
        case .wrongType: return
        case .missing: break
        }
        c.addReplyArrayLen(argv.count - 2)
        for i in 2..<argv.count {
            if let v = h?.get(argv[i]) { c.addReplyBulk(v) } else { c.addReplyNull() }
        }
    }

    static func hstrlen(_ c: Client, _ argv: Argv) {
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(h.get(argv[2])?.count ?? 0)
    }

    static func hexists(_ c: Client, _ argv: Argv) {
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(h.contains(argv[2]) ? 1 : 0)
    }

    static func hlen(_ c: Client, _ argv: Argv) {
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyInt(0) }) else { return }
        c.addReplyInt(h.count)
    }

    // MARK: HDEL

    /// Redis's hdelCommand: the key goes away with its last field.
    static func hdel(_ c: Client, _ argv: Argv) {
        guard let h = readHashForWrite(c, argv[1]) else { return }
        var deleted = 0
        var keyRemoved = false
        for i in 2..<argv.count where h.delete(argv[i]) {
            deleted += 1
            if h.count == 0 {
                _ = c.db.delete(argv[1])
                keyRemoved = true
                break
            }
        }
        if deleted > 0 {
            c.server.signalModifiedKey(c.db, argv[1])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.hash, "hdel", argv[1], c.db.id)
            if keyRemoved { c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[1], c.db.id) }
            c.noteWrite(deleted)
        }
        c.addReplyInt(deleted)
    }

    /// lookupKeyWriteOrReply(czero) + checkType.
    private static func readHashForWrite(_ c: Client, _ key: UnsafeRawBufferPointer) -> HashValue? {
        switch c.lookupValue(key, .hash, as: HashValue.self, write: true) {
        case .found(_, let h): return h
        case .wrongType: return nil
        case .missing:
            c.addReplyInt(0)
            return nil
        }
    }

    // MARK: HKEYS, HVALS, HGETALL

    static func hkeys(_ c: Client, _ argv: Argv) { getAll(c, argv, keys: true, values: false) }
    static func hvals(_ c: Client, _ argv: Argv) { getAll(c, argv, keys: false, values: true) }
    static func hgetall(_ c: Client, _ argv: Argv) { getAll(c, argv, keys: true, values: true) }

    /// Redis's genericHgetallCommand: a map for HGETALL, an array for HKEYS/HVALS.
    static func getAll(_ c: Client, _ argv: Argv, keys: Bool, values: Bool) {
        let both = keys && values
        guard let h = readHash(c, argv[1], missingReply: { both ? $0.addReplyMapLen(0) : $0.addReplyArrayLen(0) }) else { return }
        if both { c.addReplyMapLen(h.count) } else { c.addReplyArrayLen(h.count) }
        h.forEach { f, v in
            if keys { c.addReplyBulk(f) }
            if values { c.addReplyBulk(v) }
            return true
        }
    }

    // MARK: HINCRBY, HINCRBYFLOAT

    static func hincrby(_ c: Client, _ argv: Argv) {
        guard let incr = c.intArgOrReply(argv, 3) else { return }
        guard let h = writeHash(c, argv[1]) else { return }
        var value = 0
        if let current = h.get(argv[2]) {
            guard let v = parseStrictInt(current) else {
                c.addReplyError("hash value is not an integer")
                return
            }
            value = v
        }
        let (sum, overflow) = value.addingReportingOverflow(incr)
        if overflow {
            c.addReplyError("increment or decrement would overflow")
            return
        }
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { buf in
            let n = formatDecimal(sum, into: buf.baseAddress!)
            h.set(argv[2], UnsafeRawBufferPointer(start: buf.baseAddress, count: n), limits: limits(c))
        }
        c.addReplyInt(sum)
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.hash, "hincrby", argv[1], c.db.id)
        c.noteWrite()
    }

    /// Redis's hincrbyfloatCommand: long double arithmetic, stored (and replied) in
    /// ld2string's human-friendly form, as INCRBYFLOAT.
    static func hincrbyfloat(_ c: Client, _ argv: Argv) {
        guard let incr = parseLongDouble(argv[3]) else {
            c.addReplyErrorNotFloat()
            return
        }
        if incr.isNaN || incr.isInfinite {
            c.addReplyError("value is NaN or Infinity")
            return
        }
        guard let h = writeHash(c, argv[1]) else { return }
        var value: Float80 = 0
        if let current = h.get(argv[2]) {
            guard let v = parseLongDouble(current) else {
                c.addReplyError("hash value is not a float")
                return
            }
            value = v
        }
        value += incr
        if value.isNaN || value.isInfinite {
            c.addReplyError("increment would produce NaN or Infinity")
            return
        }
        let text = formatLongDouble(value, .human)
        text.withUnsafeBytes { t in
            h.set(argv[2], t, limits: limits(c))
            c.addReplyBulk(t)
        }
        c.server.signalModifiedKey(c.db, argv[1])
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.hash, "hincrbyfloat", argv[1], c.db.id)
        c.noteWrite()
        // Always as HSET key field <result>, so float formatting cannot differ on replicas.
        if c.server.isPropagating { c.server.propagateInstead([propWord("HSET"), argv.bytes(1), argv.bytes(2), text]) }
    }

    // MARK: HRANDFIELD

    /// Redis's hrandfieldCommand: one random field, or with a count the
    /// hrandfieldWithCountCommand cases. The count is checked before the key.
    static func hrandfield(_ c: Client, _ argv: Argv) {
        if argv.count >= 3 {
            guard let l = c.intArgOrReply(argv, 2) else { return }
            if l < -Int.max {
                c.addReplyError("value is out of range, value must between \(-Int.max) and \(Int.max)")
                return
            }
            var withValues = false
            if argv.count > 4 || (argv.count == 4 && !StringCommands.optionIs(argv, 3, "withvalues")) {
                c.addReplyErrorSyntax()
                return
            } else if argv.count == 4 {
                withValues = true
                // The reply of a RESP2 client has 2×count elements.
                if l < -Int.max / 2 || l > Int.max / 2 {
                    c.addReplyError("value is out of range")
                    return
                }
            }
            randomFields(c, argv, count: l, withValues: withValues)
            return
        }
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyNull() }) else { return }
        var rng = SamplingRandom()
        c.addReplyBulk(h.randomPair(using: &rng).field)
    }

    /// Redis's hrandfieldWithCountCommand. A negative count may repeat fields (random
    /// order); a positive one returns distinct fields: the whole hash when it asks for
    /// at least as many, else a sample (listpack order for a listpack, as Redis's
    /// lpRandomPairsUnique). With values, RESP3 nests each pair in an array.
    static func randomFields(_ c: Client, _ argv: Argv, count l: Int, withValues: Bool) {
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyArrayLen(0) }) else { return }
        if l == 0 {
            c.addReplyArrayLen(0)
            return
        }
        let unique = l >= 0
        let count = l.magnitude
        let nested = withValues && c.resp > 2
        func reply(_ f: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) {
            if nested { c.addReplyArrayLen(2) }
            c.addReplyBulk(f)
            if withValues { c.addReplyBulk(v) }
        }
        var rng = SamplingRandom()

        // CASE 1: repetitions allowed (or a single field): independent picks.
        if !unique || count == 1 {
            c.addReplyArrayLen(withValues && c.resp == 2 ? Int(count) * 2 : Int(count))
            let offsets = h.isTable ? [] : h.packedPairOffsets()
            var left = count
            while left > 0 {
                if h.isTable {
                    let (f, v) = HashValue.entryPair(h.tableRandomEntry(using: &rng))
                    reply(f, v)
                } else {
                    let (f, v) = h.packedPair(at: offsets[Int.random(in: 0..<offsets.count, using: &rng)])
                    reply(f, v)
                }
                left -= 1
                // A client past its output limit stops the work (Redis checks CLOSE_ASAP).
                if left & 1023 == 0 {
                    c.server.checkOutputLimits(c)
                    if c.flags.contains(.closeASAP) { break }
                }
            }
            return
        }

        let size = h.count
        let n = Int(count)
        c.addReplyArrayLen(withValues && c.resp == 2 ? min(n, size) * 2 : min(n, size))

        // CASE 2: the whole hash.
        if n >= size {
            h.forEach { f, v in
                reply(f, v)
                return true
            }
            return
        }

        // CASE 2.5: a listpack samples in order (selection sampling: each pair is taken
        // with probability needed/remaining).
        if !h.isTable {
            var needed = n
            var remaining = size
            h.forEach { f, v in
                if Int.random(in: 0..<remaining, using: &rng) < needed {
                    reply(f, v)
                    needed -= 1
                }
                remaining -= 1
                return needed > 0
            }
            return
        }

        // CASE 3 and 4: distinct random entries of a table. Asking for a large share of
        // it: shuffle the start of a list of all entries. A small share: draw until
        // enough distinct ones were seen.
        if n * 3 > size {
            var all = h.tableEntries()
            for i in 0..<n {
                all.swapAt(i, Int.random(in: i..<all.count, using: &rng))
                let (f, v) = HashValue.entryPair(all[i])
                reply(f, v)
            }
        } else {
            var seen = Set<UnsafeMutableRawPointer>(minimumCapacity: n)
            while seen.count < n {
                let e = h.tableRandomEntry(using: &rng)
                if seen.insert(e).inserted {
                    let (f, v) = HashValue.entryPair(e)
                    reply(f, v)
                }
            }
        }
    }

    // MARK: HSCAN

    /// Redis's hscanCommand + scanGenericCommand. The cursor is parsed first; a missing
    /// key is an empty scan before any option is looked at. A listpack is returned whole
    /// with cursor 0; a table is walked bucket by bucket like the keyspace.
    static func hscan(_ c: Client, _ argv: Argv) {
        guard let start = KeyspaceCommands.parseScanCursor(argv[2]) else {
            c.addReplyError("invalid cursor")
            return
        }
        guard let h = readHash(c, argv[1], missingReply: { $0.addReplyRaw("*2\r\n$1\r\n0\r\n*0\r\n") }) else { return }
        var count = 10
        var pattern: UnsafeRawBufferPointer? = nil
        var i = 3
        while i < argv.count {
            let remaining = argv.count - i
            if argv.equals(i, "count") && remaining >= 2 {
                guard let v = c.intArgOrReply(argv, i + 1) else { return }
                if v < 1 {
                    c.addReplyErrorSyntax()
                    return
                }
                count = v
                i += 2
            } else if argv.equals(i, "match") && remaining >= 2 {
                let p = argv[i + 1]
                // Exactly "*" matches everything, so it is the same as no pattern.
                pattern = (p.count == 1 && p[0] == UInt8(ascii: "*")) ? nil : p
                i += 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }

        var pairs: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []
        var cursor: UInt64 = 0
        if h.isTable {
            // Redis counts fields and values (count *= 2) and visits at most ten times
            // that many buckets; its `long` arithmetic wraps, and so does this.
            let wanted = count &* 2
            var maxIterations = wanted &* 10
            cursor = start
            while true {
                cursor = h.scanTable(cursor: cursor) { f, v in pairs.append((f, v)) }
                if cursor == 0 { break }
                let left = maxIterations
                maxIterations &-= 1
                if left == 0 || UInt(pairs.count * 2) >= UInt(bitPattern: wanted) { break }
            }
        } else {
            pairs.reserveCapacity(h.count)
            h.forEach { f, v in
                pairs.append((f, v))
                return true
            }
        }
        if let pattern {
            pairs.removeAll { !globMatch(pattern: pattern, string: $0.0) }
        }
        c.addReplyArrayLen(2)
        c.addReplyBulkInt(Int(bitPattern: UInt(cursor)))
        c.addReplyArrayLen(pairs.count * 2)
        for (f, v) in pairs {
            c.addReplyBulk(f)
            c.addReplyBulk(v)
        }
    }
}
