/// Counters shared by all databases (INFO stats: keyspace_hits, expired_keys, ...).
final class KeyspaceStats {
    var hits = 0
    var misses = 0
    var expiredKeys = 0
    var expiredStaleSamples = 0
}

/// A key with a TTL and when it expires (Unix ms): an entry of Redis's db->expires. The
/// expiry time is kept here rather than in every KeyEntry because most keys have none.
struct VolatileKey {
    var entry: KeyEntry
    var expireAt: Int64
}

/// One of the `databases` numbered keyspaces: keys, their values, and which keys have a TTL.
final class Database {
    let id: Int
    var table: KeyTable
    /// Every entry that has a TTL, with its expiry time, for lookups, the active expiry
    /// cycle's sampling and INFO's `expires=`. An entry knows its slot (`volatileSlot`),
    /// so reading its time and removal are O(1).
    private(set) var volatile: [VolatileKey] = []
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
        if isExpired(e, now: now) {
            // Redis's expireIfNeeded on a replica: the master's commands still see the key
            // (it will send the DEL); other clients read it as missing, and only a writable
            // replica's own writes delete it.
            if let s = server, let m = s.repl.master {
                if m.executing { return e }
                if s.config.replicaReadOnly { return nil }
            }
            // While clients are paused the dataset stays as it is (the pause's end, or
            // the new master after a failover, deletes it).
            if let s = server, s.clientsArePaused { return nil }
            deleteExpired(e)
            return nil
        }
        return e
    }

    /// Whether `e` (an entry of this database) is logically expired, without deleting it
    /// (Redis's keyIsExpired, used where the keyspace must not change, as KEYS). A key
    /// without TTL costs one branch on its own header.
    @inline(__always)
    func isExpired(_ e: KeyEntry, now: Int64) -> Bool {
        let slot = e.header.volatileSlot
        return slot >= 0 && volatile[Int(slot)].expireAt < now
    }

    /// The absolute expiry time (Unix ms) of `e`, an entry of this database, or -1.
    @inline(__always)
    func expireAt(of e: KeyEntry) -> Int64 {
        let slot = e.header.volatileSlot
        return slot >= 0 ? volatile[Int(slot)].expireAt : -1
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
                new.header.volatileSlot = Int32(slot)
                volatile[slot].entry = new  // the expiry time stays
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
        for v in volatile { v.entry.header.volatileSlot = -1 }
        volatile.removeAll()
        avgTTL = 0
    }

    // MARK: expiry

    /// Gives `entry` (of this database) a TTL ending at `when`, Unix ms. Callers never pass
    /// a negative time (Redis rejects or deletes those first), so -1 can mean "no TTL".
    func setExpire(_ entry: KeyEntry, at when: Int64) {
        let slot = entry.header.volatileSlot
        if slot >= 0 {
            volatile[Int(slot)].expireAt = when
        } else {
            entry.header.volatileSlot = Int32(volatile.count)
            volatile.append(VolatileKey(entry: entry, expireAt: when))
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
            moved.entry.header.volatileSlot = Int32(slot)
        }
        volatile.removeLast()
        entry.header.volatileSlot = -1
    }

    /// A random entry with a TTL, for the active expiry cycle.
    func randomVolatile() -> KeyEntry? {
        volatile.isEmpty ? nil : volatile[Int.random(in: 0..<volatile.count)].entry
    }

    /// Exchanges the contents of two databases (SWAPDB).
    func swapContents(with other: Database) {
        swap(&table, &other.table)
        swap(&volatile, &other.volatile)
        swap(&avgTTL, &other.avgTTL)
        swap(&expireCursor, &other.expireCursor)
    }
}
