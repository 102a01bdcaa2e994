#if canImport(Glibc)
import Glibc
#endif

/// Type-independent keyspace commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE, KEYS,
/// SCAN, RANDOMKEY, RENAME, RENAMENX, MOVE, COPY, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL, TOUCH.
enum KeyspaceCommands {
    static let table: [CommandImpl] = [
        CommandImpl("del", del),
        CommandImpl("unlink", unlink),
        CommandImpl("exists", exists),
        CommandImpl("type", type),
        CommandImpl("keys", keys),
        CommandImpl("scan", scan),
        CommandImpl("randomkey", randomkey),
        CommandImpl("rename", rename),
        CommandImpl("renamenx", renamenx),
        CommandImpl("move", move),
        CommandImpl("copy", copy),
        CommandImpl("swapdb", swapdb),
        CommandImpl("dbsize", dbsize),
        CommandImpl("flushdb", flushdb),
        CommandImpl("flushall", flushall),
        CommandImpl("touch", touch),
    ]

    // MARK: DEL, UNLINK, EXISTS, TYPE, TOUCH, DBSIZE

    /// Redis's delGenericCommand. UNLINK frees in the background in Redis; the reply is
    /// the same, and freeing here is immediate.
    static func delGeneric(_ c: Client, _ argv: Argv) {
        let now = c.server.cachedTimeMs
        var deleted = 0
        for j in 1..<argv.count where c.db.deleteIfLive(argv[j], now: now) {
            c.server.signalModifiedKey(c.db, argv[j])
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", argv[j], c.db.id)
            deleted += 1
        }
        c.noteWrite(deleted)
        c.addReplyInt(deleted)
    }

    static func del(_ c: Client, _ argv: Argv) { delGeneric(c, argv) }
    static func unlink(_ c: Client, _ argv: Argv) { delGeneric(c, argv) }

    /// Counts every argument that exists, repeats included.
    static func exists(_ c: Client, _ argv: Argv) {
        var count = 0
        for j in 1..<argv.count where c.lookupReadNoTouch(argv[j]) != nil {
            count += 1
        }
        c.addReplyInt(count)
    }

    static func type(_ c: Client, _ argv: Argv) {
        let e = c.lookupReadNoTouch(argv[1])
        c.addReplyStatus(typeName(e))
    }

    /// Redis's getObjectTypeName: "none" for a missing key.
    static func typeName(_ e: KeyEntry?) -> String {
        guard let e else { return "none" }
        return String(describing: e.type.name)
    }

    /// Counts the keys that exist, refreshing their access time.
    static func touch(_ c: Client, _ argv: Argv) {
        var touched = 0
        for j in 1..<argv.count where c.lookupRead(argv[j]) != nil {
            touched += 1
        }
        c.addReplyInt(touched)
    }

    /// Includes keys that expired but were not reclaimed yet, as Redis's dictSize.
    static func dbsize(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.db.count)
    }

    // MARK: KEYS

    /// Redis's keysCommand: logically expired keys are skipped but not deleted.
    static func keys(_ c: Client, _ argv: Argv) {
        let pattern = argv[1]
        let allKeys = pattern.count == 1 && pattern[0] == UInt8(ascii: "*")
        let now = c.server.cachedTimeMs
        let db = c.db
        let mark = c.addReplyDeferredLen()
        var n = 0
        db.table.forEach { e in
            if (allKeys || globMatch(pattern: pattern, string: e.key)) && !db.isExpired(e, now: now) {
                c.addReplyBulk(e.key)
                n += 1
            }
        }
        c.setDeferredArrayLen(mark, n)
    }

    // MARK: SCAN

    static func scan(_ c: Client, _ argv: Argv) {
        guard let cursor = parseScanCursor(argv[1]) else {
            c.addReplyError("invalid cursor")
            return
        }
        scanKeys(c, argv, cursor: cursor)
    }

    /// Redis's parseScanCursorOrReply: C's strtoul in base 10 over the argument as a C
    /// string. So "" is 0, a sign is accepted ("-1" wraps to 2^64-1), and leading
    /// whitespace, trailing bytes or overflow are rejected.
    static func parseScanCursor(_ arg: UnsafeRawBufferPointer) -> UInt64? {
        let n = arg.firstIndex(of: 0) ?? arg.count
        if n == 0 { return 0 }
        if isCSpace(arg[0]) { return nil }
        var i = 0
        var negative = false
        if arg[0] == UInt8(ascii: "+") || arg[0] == UInt8(ascii: "-") {
            negative = arg[0] == UInt8(ascii: "-")
            i = 1
        }
        let digitsStart = i
        var v: UInt64 = 0
        var overflow = false
        while i < n, arg[i] >= UInt8(ascii: "0"), arg[i] <= UInt8(ascii: "9") {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(arg[i] - UInt8(ascii: "0")))
            if o1 || o2 { overflow = true }
            v = a
            i += 1
        }
        // Without digits strtoul points back at the start, which is not the end here.
        if i == digitsStart || i != n || overflow { return nil }
        return negative ? 0 &- v : v
    }

    @inline(__always) static func isCSpace(_ b: UInt8) -> Bool {
        b == 32 || (b >= 9 && b <= 13)
    }

    /// Redis's scanGenericCommand over the keyspace: parse options, collect from whole
    /// buckets until COUNT keys or 10×COUNT buckets, then filter by MATCH, TYPE and expiry.
    static func scanKeys(_ c: Client, _ argv: Argv, cursor start: UInt64) {
        var count = 10
        var pattern: UnsafeRawBufferPointer? = nil
        var typeFilter: UnsafeRawBufferPointer? = nil
        var i = 2
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
            } else if argv.equals(i, "type") && remaining >= 2 {
                typeFilter = argv[i + 1]
                i += 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }

        let db = c.db
        var collected: [KeyEntry] = []
        var cursor = start
        if db.count == 0 {
            cursor = 0  // dictScan on an empty dict ends the iteration at once
        } else {
            // The bucket budget keeps a sparse table from blocking the server; the
            // multiplication wraps like Redis's `long` arithmetic.
            var maxIterations = count &* 10
            while true {
                cursor = db.table.scan(cursor: cursor) { collected.append($0) }
                if cursor == 0 { break }
                let left = maxIterations
                maxIterations &-= 1
                if left == 0 || collected.count >= count { break }
            }
        }

        let now = c.server.cachedTimeMs
        var replyKeys: [KeyEntry] = []
        replyKeys.reserveCapacity(collected.count)
        for e in collected {
            if let pattern, !globMatch(pattern: pattern, string: e.key) { continue }
            if let typeFilter {
                // A lookup that reclaims an expired key, as Redis's does: such a key then
                // has type "none" (and is kept by TYPE none, as in Redis).
                let live = db.lookupReadNoTouch(e.key, now: now)
                if !typeNameEquals(typeFilter, typeName(live)) { continue }
            }
            // Redis's expireIfNeeded: drop (and reclaim) keys that are still present but expired
            // (a replica only skips them: its master deletes them).
            if let present = db.table.find(e.key), db.isExpired(present, now: now) {
                if !c.server.isReplica && !c.server.clientsArePaused { db.deleteExpired(present) }
                continue
            }
            replyKeys.append(e)
        }

        c.addReplyArrayLen(2)
        // The cursor is an unsigned long that Redis prints as a long long.
        c.addReplyBulkInt(Int(Int64(bitPattern: cursor)))
        c.addReplyArrayLen(replyKeys.count)
        for e in replyKeys { c.addReplyBulk(e.key) }
    }

    /// strcasecmp of the TYPE argument (a C string: it ends at a NUL byte) with a type name.
    static func typeNameEquals(_ arg: UnsafeRawBufferPointer, _ name: String) -> Bool {
        let n = arg.firstIndex(of: 0) ?? arg.count
        return Array(name.utf8).withUnsafeBytes { bytesEqualIgnoringCase(UnsafeRawBufferPointer(rebasing: arg[0..<n]), $0) }
    }

    // MARK: RANDOMKEY

    /// Redis's dbRandomKey: a picked key that turns out expired is reclaimed and another
    /// one picked, until a live key is found or the database is empty.
    /// On a replica expired keys are skipped, not reclaimed; when every key has a TTL they
    /// may all be expired, so after 100 tries the key picked is returned anyway.
    static func randomkey(_ c: Client, _ argv: Argv) {
        let db = c.db
        let now = c.server.cachedTimeMs
        let replica = c.server.isReplica
        let allVolatile = db.count == db.volatileCount
        var tries = 100
        while let e = db.table.randomEntry() {
            if replica && allVolatile {
                tries -= 1
                if tries == 0 {
                    c.addReplyBulk(e.key)
                    return
                }
            }
            if db.isExpired(e, now: now) {
                if !replica && !c.server.clientsArePaused { db.deleteExpired(e) }
                continue
            }
            c.addReplyBulk(e.key)
            return
        }
        c.addReplyNull()
    }

    // MARK: RENAME, RENAMENX

    static func rename(_ c: Client, _ argv: Argv) { renameGeneric(c, argv, nx: false) }
    static func renamenx(_ c: Client, _ argv: Argv) { renameGeneric(c, argv, nx: true) }

    /// Redis's renameGenericCommand: the value and its TTL move to the new name; a
    /// destination's own TTL goes with the destination's old value.
    static func renameGeneric(_ c: Client, _ argv: Argv, nx: Bool) {
        let src = argv[1]
        let dst = argv[2]
        let sameKey = sameBytes(src, dst)
        guard let o = c.lookupWrite(src) else {
            c.addReplyError("no such key")
            return
        }
        if sameKey {
            if nx { c.addReplyInt(0) } else { c.addReplyOK() }
            return
        }
        let expire = c.db.expireAt(of: o)
        if c.lookupWrite(dst) != nil {
            if nx {
                c.addReplyInt(0)
                return
            }
            c.db.delete(dst)
        }
        let moved = o.renamed(to: dst)
        c.db.delete(entry: o)
        c.db.adopt(moved, expireAt: expire)
        signalIfBlockable(c.server, c.db, moved)
        let server = c.server
        server.signalModifiedKey(c.db, src)
        server.signalModifiedKey(c.db, dst)
        server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "rename_from", src, c.db.id)
        server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "rename_to", dst, c.db.id)
        c.noteWrite()
        if nx { c.addReplyInt(1) } else { c.addReplyOK() }
    }

    /// Byte equality of two key names (Redis's sdscmp == 0).
    static func sameBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }

    // MARK: MOVE, COPY, SWAPDB

    /// A database index argument: Redis's getIntFromObjectOrReply (a C int) followed by
    /// selectDb's range check. Nil after replying.
    static func dbIndexArg(_ c: Client, _ argv: Argv, _ i: Int) -> Database? {
        guard let id = c.intArgOrReply(argv, i) else { return nil }
        guard id >= Int(Int32.min) && id <= Int(Int32.max) else {
            c.addReplyError("value is out of range, value must between \(Int32.min) and \(Int32.max)")
            return nil
        }
        guard id >= 0 && id < c.server.dbs.count else {
            c.addReplyError("DB index is out of range")
            return nil
        }
        return c.server.db(id)
    }

    /// Redis's moveCommand: the same value object, with its TTL, goes to another database.
    static func move(_ c: Client, _ argv: Argv) {
        guard let dst = dbIndexArg(c, argv, 2) else { return }
        if dst === c.db {
            c.addReplyError("source and destination objects are the same")
            return
        }
        let key = argv[1]
        guard let o = c.lookupWrite(key) else {
            c.addReplyInt(0)
            return
        }
        let expire = c.db.expireAt(of: o)
        if dst.lookupWrite(key, now: c.server.cachedTimeMs, lruClock: c.server.lruClock) != nil {
            c.addReplyInt(0)
            return
        }
        c.db.delete(entry: o)
        dst.adopt(o, expireAt: expire)
        signalIfBlockable(c.server, dst, o)
        let server = c.server
        server.signalModifiedKey(c.db, key)
        server.signalModifiedKey(dst, key)
        server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "move_from", key, c.db.id)
        server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "move_to", key, dst.id)
        c.noteWrite()
        c.addReplyInt(1)
    }

    /// Redis's copyCommand: COPY source destination [DB index] [REPLACE]. The copy is
    /// an independent value with the source's TTL.
    static func copy(_ c: Client, _ argv: Argv) {
        var dst = c.db
        var replace = false
        var j = 3
        while j < argv.count {
            if argv.equals(j, "replace") {
                replace = true
            } else if argv.equals(j, "db") && argv.count - j - 1 >= 1 {
                guard let d = dbIndexArg(c, argv, j + 1) else { return }
                dst = d
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
            j += 1
        }
        let key = argv[1]
        let newKey = argv[2]
        let sameKey = sameBytes(key, newKey)
        if dst === c.db && sameKey {
            c.addReplyError("source and destination objects are the same")
            return
        }
        guard let o = c.lookupRead(key) else {
            c.addReplyInt(0)
            return
        }
        let expire = c.db.expireAt(of: o)
        var deleteExisting = false
        if dst.lookupWrite(newKey, now: c.server.cachedTimeMs, lruClock: c.server.lruClock) != nil {
            if !replace {
                c.addReplyInt(0)
                return
            }
            deleteExisting = true
        }
        guard let copy = o.duplicated(as: newKey, lru: c.server.lruClock) else {
            c.addReplyError("unknown type object")
            return
        }
        if deleteExisting { dst.delete(newKey) }
        dst.add(copy)
        if expire >= 0 { dst.setExpire(copy, at: expire) }
        signalIfBlockable(c.server, dst, copy)
        c.server.signalModifiedKey(dst, newKey)
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "copy_to", newKey, dst.id)
        c.noteWrite()
        c.addReplyInt(1)
    }

    /// Redis's swapdbCommand: clients stay on their index and see the other contents.
    static func swapdb(_ c: Client, _ argv: Argv) {
        guard let id1 = int32Arg(argv[1]) else {
            c.addReplyError("invalid first DB index")
            return
        }
        guard let id2 = int32Arg(argv[2]) else {
            c.addReplyError("invalid second DB index")
            return
        }
        let n = c.server.dbs.count
        guard id1 >= 0 && id1 < n && id2 >= 0 && id2 < n else {
            c.addReplyError("DB index is out of range")
            return
        }
        if id1 != id2 {
            // Redis's dbSwapDatabases: WATCHers of either database, before the swap
            // (touchAllWatchedKeysInDb(db1, db2) and (db2, db1)).
            // A watched key counts when it exists in either database.
            c.server.touchAllWatchedKeysInDb(c.server.db(id1), replacedWith: c.server.db(id2))
            c.server.touchAllWatchedKeysInDb(c.server.db(id2), replacedWith: c.server.db(id1))
            c.server.db(id1).swapContents(with: c.server.db(id2))
            scanDatabaseForReadyKeys(c.server, c.server.db(id1))
            scanDatabaseForReadyKeys(c.server, c.server.db(id2))
        }
        c.noteWrite()
        c.addReplyOK()
    }

    /// A key appeared under a name (RENAME, MOVE, COPY): clients blocked on that name may
    /// now be served. Redis's dbAdd signals lists, sorted sets and streams.
    static func signalIfBlockable(_ server: Server, _ db: Database, _ e: KeyEntry) {
        if e.type == .list || e.type == .zset || e.type == .stream { server.signalKeyAsReady(db, e.key) }
    }

    /// Redis's scanDatabaseForReadyKeys (SWAPDB): every key someone waits on in `db`
    /// that now holds a value is signalled.
    static func scanDatabaseForReadyKeys(_ server: Server, _ db: Database) {
        for bk in server.blocking.clientsByKey.keys where bk.db == db.id {
            bk.key.withUnsafeBytes { key in
                if let e = db.table.find(key) { signalIfBlockable(server, db, e) }
            }
        }
    }

    /// A C int argument (Redis's getIntFromObject), or nil.
    static func int32Arg(_ arg: UnsafeRawBufferPointer) -> Int? {
        guard let v = parseStrictInt(arg), v >= Int(Int32.min), v <= Int(Int32.max) else { return nil }
        return v
    }

    // MARK: FLUSHDB, FLUSHALL

    /// Redis's getFlushCommandFlags: nothing, SYNC or ASYNC. Keys are freed at once either
    /// way; the reply does not depend on it.
    static func flushOptionOK(_ c: Client, _ argv: Argv) -> Bool {
        if argv.count == 1 || (argv.count == 2 && (argv.equals(1, "sync") || argv.equals(1, "async"))) {
            return true
        }
        c.addReplyErrorSyntax()
        return false
    }

    static func flushdb(_ c: Client, _ argv: Argv) {
        guard flushOptionOK(c, argv) else { return }
        // Redis's emptyData: signalFlushedDb while the keys are still there.
        c.server.signalFlushedDb(c.db)
        c.noteWrite(c.db.flush())
        // Propagated even when the database was already empty (Redis forces it).
        if c.server.isPropagating { c.server.forcePropagation() }
        c.addReplyOK()
    }

    /// Redis's flushallCommand: every database emptied, and one more change counted so the
    /// flush itself is a change even when the databases were empty.
    static func flushall(_ c: Client, _ argv: Argv) {
        guard flushOptionOK(c, argv) else { return }
        var removed = 0
        for db in c.server.dbs { c.server.signalFlushedDb(db) }  // signalFlushedDb(-1), before emptying
        for db in c.server.dbs { removed += db.flush() }
        c.server.dirty += removed
        c.server.flushAllResetRDB()
        c.server.dirty -= removed
        c.noteWrite(removed + 1)
        c.addReplyOK()
    }
}
