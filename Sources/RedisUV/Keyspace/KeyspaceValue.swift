/// What every non-string value type (list, set, sorted set, hash, stream) provides to the
/// type-independent keyspace commands. Such values (streams) live in `KeyEntry.object`;
/// lists, hashes, sets and sorted sets instead keep one word in the entry itself
/// (`SlotStoredValue`).
protocol KeyspaceValue: AnyObject {
    /// OBJECT ENCODING's answer: "listpack", "quicklist", "intset", "hashtable",
    /// "skiplist" or "stream", as Redis would have chosen for the same contents.
    var encodingName: String { get }
    /// An independent deep copy, for COPY (Redis's listTypeDup, setTypeDup, zsetDup,
    /// hashTypeDup, streamDup).
    func duplicate() -> KeyspaceValue
    /// MEMORY USAGE's share of this value: its allocations, estimated from at most
    /// `samples` elements (0 = all) the way Redis's objectComputeSize extrapolates.
    func memoryUsage(samples: Int) -> Int
}

/// Redis's OBJ_SHARED_INTEGERS: string values 0..<10000 are shared objects.
let sharedIntegerLimit = 10_000
/// The refcount Redis reports for shared objects (OBJ_SHARED_REFCOUNT = INT_MAX).
let sharedObjectRefcount = Int(Int32.max)

extension KeyEntry {
    static let privateIntegerBit: UInt32 = 0x80

    /// Set on an int-encoded string that is its own object rather than one of Redis's
    /// shared integers, as COPY makes them (dupStringObject). Any change of encoding
    /// clears it: a re-encoded value is a fresh object, shared again when small enough.
    var isPrivateInteger: Bool {
        get { header.meta & KeyEntry.privateIntegerBit != 0 }
        set {
            if newValue { header.meta |= KeyEntry.privateIntegerBit } else { header.meta &= ~KeyEntry.privateIntegerBit }
        }
    }

    /// OBJECT REFCOUNT: 1 for values owned by this key, INT_MAX for the shared integers
    /// 0...9999 that Redis stores instead of a private object when sharing is allowed.
    func refcount(sharedIntegersAllowed: Bool) -> Int {
        guard type == .string, encoding == .int, !isPrivateInteger, sharedIntegersAllowed,
              let v = parseStrictInt(stringValue), v >= 0, v < sharedIntegerLimit else { return 1 }
        return sharedObjectRefcount
    }

    /// OBJECT ENCODING: the string encoding, or what the value object reports
    /// ("unknown" for a value without one, as Redis's strEncoding).
    var encodingName: String {
        if type == .string { return String(describing: encoding.name) }
        if let stored = type.slotStored { return stored.encodingName(slotWord) }
        return (object as? KeyspaceValue)?.encodingName ?? "unknown"
    }

    /// MEMORY USAGE's share of a non-string value (0 for strings, whose bytes are in the entry).
    func valueMemoryUsage(samples: Int) -> Int {
        if let stored = type.slotStored { return stored.memoryUsage(slotWord, samples: samples) }
        return (object as? KeyspaceValue)?.memoryUsage(samples: samples) ?? 0
    }

    /// The same value under another name (RENAME): Redis moves the robj, so the type,
    /// encoding, sharing and access clock all go with it. A slot-stored value's word moves
    /// (this entry is left empty, freeing nothing); an object is shared.
    func renamed(to key: UnsafeRawBufferPointer) -> KeyEntry {
        let e = KeyEntry.make(key: key, value: stringValue, type: type, encoding: encoding, lru: lru)
        e.header.meta = header.meta
        if type == .string && encoding == .raw { e.hllTerminatorKept = false }  // the byte after is not copied
        if type.slotStored != nil {
            e.slotWord = takeSlotWord()
        } else {
            e.object = object
        }
        return e
    }

    /// An independent copy of the value under `key` (COPY), stamped with `lru` as a new
    /// object; nil when the value type cannot be duplicated (Redis: "unknown type object").
    func duplicated(as key: UnsafeRawBufferPointer, lru: UInt32) -> KeyEntry? {
        if let stored = type.slotStored {
            return KeyEntry.make(key: key, word: stored.duplicate(slotWord), type: type, lru: lru)
        }
        if let object = object {
            guard let value = object as? KeyspaceValue else { return nil }
            return KeyEntry.make(key: key, object: value.duplicate(), type: type, lru: lru)
        }
        let e = KeyEntry.make(key: key, value: stringValue, type: .string, encoding: encoding, lru: lru)
        // dupStringObject makes a private object even of a shared integer.
        if encoding == .int { e.isPrivateInteger = true }
        return e
    }
}

extension Database {
    /// Lookup without refreshing the access clock but with hit/miss accounting (Redis's
    /// lookupKeyReadWithFlags(LOOKUP_NOTOUCH): EXISTS, TYPE, TTL, OBJECT).
    func lookupReadNoTouch(_ key: UnsafeRawBufferPointer, now: Int64) -> KeyEntry? {
        if let e = lookup(key, now: now) {
            stats.hits &+= 1
            return e
        }
        stats.misses &+= 1
        return nil
    }

    /// DEL of one key in a single hash lookup: true when a live key was removed; an
    /// expired one is reclaimed too but, as after Redis's expireIfNeeded, does not count.
    func deleteIfLive(_ key: UnsafeRawBufferPointer, now: Int64) -> Bool {
        guard let e = table.remove(key) else { return false }
        let expired = isExpired(e, now: now)
        if e.header.volatileSlot >= 0 { removeExpire(e) }
        needsShrinkCheck = true
        if expired {
            // Redis's expireIfNeeded before the delete: the key expired, it was not deleted.
            server?.keyExpired(self, e.key)
            stats.expiredKeys += 1
        }
        return !expired
    }

    /// Inserts a value object that already existed elsewhere (MOVE, RENAME): unlike `add`,
    /// its access clock is kept, as Redis's dbAdd of the same robj does; `new` fires as there.
    func adopt(_ entry: KeyEntry, expireAt: Int64) {
        table.insert(entry)
        server?.notifyKeyspaceEvent(KeyspaceEventFlags.new, "new", entry.key, id)
        if expireAt >= 0 { setExpire(entry, at: expireAt) }
    }

    /// Removes every key and returns how many there were (Redis's emptyData for one db).
    @discardableResult
    func flush() -> Int {
        let n = count
        removeAll()
        expireCursor = 0
        return n
    }
}
