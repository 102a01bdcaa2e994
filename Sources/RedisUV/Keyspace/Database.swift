/// Counters shared by all databases (INFO stats: keyspace_hits, expired_keys, ...).
final class KeyspaceStats {
    var hits = 0
    var misses = 0
    var expiredKeys = 0
    var expiredStaleSamples = 0
}

/// One of the `databases` numbered keyspaces: keys, their values, and which keys have a TTL.
final class Database {
    let id: Int
    var table: KeyTable
    /// Every entry that has a TTL, for the active expiry cycle's sampling and INFO's
    /// `expires=`. An entry knows its slot (`volatileSlot`), so removal is O(1).
    private(set) var volatile: [KeyEntry] = []
    let stats: KeyspaceStats
    /// Sum of TTLs seen by the last expiry cycles, for INFO's avg_ttl.
    var avgTTL: Int64 = 0
    /// Set while keys were deleted, so the cron knows to consider shrinking the table.
    var needsShrinkCheck = false
    /// Set when maxmemory-policy is an LFU one: accesses then bump the entries' LFU
    /// counters instead of stamping the LRU clock (Server.applyAccessPolicy keeps it current).
    var lfu: LFUPolicy? = nil
    /// Where the active expiry cycle resumes in `volatile` (Redis's db->expires_cursor).
    var expireCursor = 0
    /// The server whose keyspace hooks fire from here: the `new` event when a key is added
    /// (Redis's dbAdd) and `expired` + signalModifiedKey when a key is found expired
    /// (deleteExpiredKeyAndPropagate). Set once by Server.init; nil for a Database built
    /// on its own (unit tests).
    unowned(unsafe) var server: Server? = nil

    init(id: Int, seed: UInt64, stats: KeyspaceStats) {
        self.id = id
        self.table = KeyTable(seed: seed)
        self.stats = stats
    }

    deinit { table.destroy() }

    var count: Int { table.count }
    var volatileCount: Int { volatile.count }

    // MARK: lookups (lazy expiry happens here, as in Redis's lookupKey)

    /// The live entry for `key`, deleting it first if its TTL has passed (Redis's
    /// keyIsExpired: a key is still alive at exactly its expire time).
    @inline(__always)
    func lookup(_ key: UnsafeRawBufferPointer, now: Int64) -> KeyEntry? {
        guard let e = table.find(key) else { return nil }
        if e.header.expireAt >= 0 && e.header.expireAt < now {
            deleteExpired(e)
            return nil
        }
        return e
    }

    /// Deletes a key found expired, then fires `expired` and signalModifiedKey, in Redis's
    /// order (deleteExpiredKeyAndPropagate: lazy expiry, SCAN, RANDOMKEY, active expiry).
    @inline(never)
    func deleteExpired(_ e: KeyEntry) {
        delete(entry: e)
        server?.keyExpired(self, e.key)
        stats.expiredKeys += 1
    }

    /// Lookup for reading: counts hits/misses and refreshes the LRU clock.
    @inline(__always)
    func lookupRead(_ key: UnsafeRawBufferPointer, now: Int64, lruClock: UInt32) -> KeyEntry? {
        if let e = lookup(key, now: now) {
            stats.hits &+= 1
            touch(e, lruClock: lruClock, now: now)
            return e
        }
        stats.misses &+= 1
        return nil
    }

    /// Lookup for writing: refreshes the LRU clock, no hit/miss accounting.
    @inline(__always)
    func lookupWrite(_ key: UnsafeRawBufferPointer, now: Int64, lruClock: UInt32) -> KeyEntry? {
        guard let e = lookup(key, now: now) else { return nil }
        touch(e, lruClock: lruClock, now: now)
        return e
    }

    /// Records an access for eviction: the LRU clock, or the LFU counter under an LFU
    /// policy (Redis's lookupKey: updateLFU or val->lru = LRU_CLOCK()).
    @inline(__always)
    func touch(_ e: KeyEntry, lruClock: UInt32, now: Int64) {
        if lfu == nil {
            e.lru = lruClock
        } else {
            e.lru = lfu!.accessed(e.lru, nowMs: now)
        }
    }

    // MARK: changes

    /// Adds a new key (must be absent) and fires the `new` event, as Redis 7.0's dbAdd.
    /// Under LFU a new value starts with Redis's
    /// initial counter (createObject).
    func add(_ entry: KeyEntry) {
        if lfu != nil { entry.lru = LFUPolicy.initialStamp(nowMs: wallClockMs()) }
        table.insert(entry)
        server?.notifyKeyspaceEvent(KeyspaceEventFlags.new, "new", entry.key, id)
    }

    /// Replaces an existing key's entry by `new` (same key). The TTL moves over when
    /// `keepTTL`, otherwise it is dropped.
    func replace(_ old: KeyEntry, with new: KeyEntry, keepTTL: Bool) {
        // Under LFU the key keeps its access history across overwrites (Redis's dbSetValue).
        if lfu != nil { new.lru = old.lru }
        table.replace(old, with: new)
        if old.header.volatileSlot >= 0 {
            if keepTTL {
                let slot = Int(old.header.volatileSlot)
                new.header.expireAt = old.header.expireAt
                new.header.volatileSlot = Int32(slot)
                volatile[slot] = new
                old.header.volatileSlot = -1
            } else {
                removeVolatile(old)
            }
        }
    }

    /// Sets or overwrites `entry`'s key with `entry` (SET semantics).
    func setKey(_ entry: KeyEntry, keepTTL: Bool, now: Int64) {
        if let old = lookup(entry.key, now: now) {
            replace(old, with: entry, keepTTL: keepTTL)
        } else {
            add(entry)
        }
    }

    @discardableResult
    func delete(_ key: UnsafeRawBufferPointer) -> Bool {
        guard let e = table.remove(key) else { return false }
        if e.header.volatileSlot >= 0 { removeVolatile(e) }
        needsShrinkCheck = true
        return true
    }

    func delete(entry: KeyEntry) {
        delete(entry.key)
    }

    /// Removes every key.
    func removeAll() {
        table.removeAll()
        for e in volatile { e.header.volatileSlot = -1 }
        volatile.removeAll()
        avgTTL = 0
    }

    // MARK: expiry

    func setExpire(_ entry: KeyEntry, at when: Int64) {
        entry.header.expireAt = when
        if entry.header.volatileSlot < 0 {
            entry.header.volatileSlot = Int32(volatile.count)
            volatile.append(entry)
        }
    }

    /// Drops a TTL; returns whether there was one.
    @discardableResult
    func removeExpire(_ entry: KeyEntry) -> Bool {
        guard entry.header.volatileSlot >= 0 else { return false }
        removeVolatile(entry)
        return true
    }

    private func removeVolatile(_ entry: KeyEntry) {
        let slot = Int(entry.header.volatileSlot)
        let last = volatile.count - 1
        if slot != last {
            let moved = volatile[last]
            volatile[slot] = moved
            moved.header.volatileSlot = Int32(slot)
        }
        volatile.removeLast()
        entry.header.volatileSlot = -1
        entry.header.expireAt = -1
    }

    /// A random entry with a TTL, for the active expiry cycle.
    func randomVolatile() -> KeyEntry? {
        volatile.isEmpty ? nil : volatile[Int.random(in: 0..<volatile.count)]
    }

    /// Exchanges the contents of two databases (SWAPDB).
    func swapContents(with other: Database) {
        swap(&table, &other.table)
        swap(&volatile, &other.volatile)
        swap(&avgTTL, &other.avgTTL)
        swap(&expireCursor, &other.expireCursor)
    }
}
