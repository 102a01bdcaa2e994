#if canImport(Glibc)
import Glibc
#endif

/// DUMP and RESTORE (Redis's cluster.c): the RDB serialization of one value, followed by
/// a 2-byte RDB version and the CRC64 of everything before it, both little-endian.
enum DumpRestoreCommands {
    static let table: [CommandImpl] = [
        CommandImpl("dump", dump),
        CommandImpl("restore", restore),
    ]

    /// createDumpPayload.
    static func payload(_ e: KeyEntry, compress: Bool) throws -> [UInt8] {
        let w = RDBWriter(compress: compress)
        try RDBObjects.save(e, to: w, version: RDB.version)
        w.byte(UInt8(RDB.version & 0xFF))
        w.byte(UInt8(RDB.version >> 8))
        w.uint64LE(w.checksum())
        return w.bytes
    }

    /// verifyDumpPayload: long enough, a version we read, a matching CRC64.
    static func verify(_ p: UnsafeRawBufferPointer) -> Bool {
        guard p.count >= 10 else { return false }
        let footer = p.count - 10
        let version = Int(p[footer]) | Int(p[footer + 1]) << 8
        if version > RDB.version { return false }
        var stored: UInt64 = 0
        for i in 0..<8 { stored |= UInt64(p[footer + 2 + i]) << (8 * UInt64(i)) }
        return CRC64.update(0, UnsafeRawBufferPointer(rebasing: p[0..<(p.count - 8)])) == stored
    }

    static func dump(_ c: Client, _ argv: Argv) {
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyNull()
            return
        }
        do {
            c.addReplyBulk(try payload(e, compress: c.server.config.rdbcompression))
        } catch {
            c.addReplyError("\(error)")
        }
    }

    /// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
    static func restore(_ c: Client, _ argv: Argv) {
        var replace = false, absttl = false
        var idle = -1, freq = -1
        var j = 4
        while j < argv.count {
            let additional = argv.count - j - 1
            if argv.equals(j, "replace") {
                replace = true
            } else if argv.equals(j, "absttl") {
                absttl = true
            } else if argv.equals(j, "idletime") && additional >= 1 && freq == -1 {
                guard let v = c.intArgOrReply(argv, j + 1) else { return }
                if v < 0 {
                    c.addReplyError("Invalid IDLETIME value, must be >= 0")
                    return
                }
                idle = v
                j += 1
            } else if argv.equals(j, "freq") && additional >= 1 && idle == -1 {
                guard let v = c.intArgOrReply(argv, j + 1) else { return }
                if v < 0 || v > 255 {
                    c.addReplyError("Invalid FREQ value, must be >= 0 and <= 255")
                    return
                }
                freq = v
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        let key = argv[1]
        if !replace && c.lookupWrite(key) != nil {
            c.addReplyError("-BUSYKEY Target key name already exists.")
            return
        }
        guard var ttl = c.intArgOrReply(argv, 2) else { return }
        if ttl < 0 {
            c.addReplyError("Invalid TTL value, must be >= 0")
            return
        }
        let data = argv[3]
        guard verify(data) else {
            c.addReplyError("DUMP payload version or checksum are wrong")
            return
        }
        let server = c.server
        let r = RDBReader(UnsafeRawBufferPointer(rebasing: data[0..<(data.count - 10)]))
        var entry: KeyEntry? = nil
        do {
            let type = try r.byte()
            if RDB.isObjectType(type) {
                entry = try RDBObjects.load(type: type, key: key, from: r, limits: RDBLoadLimits(server.config),
                                            lru: server.lruClock)
            }
        } catch {
            entry = nil
        }
        guard let entry else {
            c.addReplyError("Bad data format")
            return
        }
        var deleted = false
        if replace { deleted = c.db.delete(key) }
        let now = server.cachedTimeMs
        // Wrapping as in Redis (C arithmetic): a huge TTL turns into a time in the past.
        if ttl != 0 && !absttl { ttl = ttl &+ Int(now) }
        if ttl != 0 && server.checkAlreadyExpired(Int64(ttl)) {
            // Already expired (Redis's checkAlreadyExpired: never on a replica or while
            // loading): the key is gone (and a replaced one deleted, propagated as DEL).
            if deleted {
                if server.isPropagating { server.propagateInstead([propWord("DEL"), argv.bytes(1)]) }
                server.signalModifiedKey(c.db, key)
                server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", key, c.db.id)
                c.noteWrite()
            }
            c.addReplyOK()
            return
        }
        c.db.add(entry)
        if ttl != 0 { c.db.setExpire(entry, at: Int64(ttl)) }
        // A relative TTL is propagated as the absolute time it became, with ABSTTL added.
        if ttl != 0 && !absttl && server.isPropagating {
            var v = (0..<argv.count).map { argv.bytes($0) }
            v[2] = propInt(ttl)
            v.append(propWord("ABSTTL"))
            server.propagateInstead(v)
        }
        // objectSetLRUOrLFU.
        if server.lfuPolicySelected {
            if freq >= 0 { entry.lru = (LFUPolicy.minutes(nowMs: now) << 8) | UInt32(freq) }
        } else if idle >= 0 {
            let clock = server.lruClock
            let i = UInt32(truncatingIfNeeded: min(idle, Int(KeyEntry.lruMask)))
            entry.lru = clock >= i ? clock - i : KeyEntry.lruMask - (i - clock) + 1
        }
        if entry.type == .list || entry.type == .zset || entry.type == .stream { server.signalKeyAsReady(c.db, key) }
        server.signalModifiedKey(c.db, key)
        server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "restore", key, c.db.id)
        c.addReplyOK()
        c.noteWrite()
    }
}
