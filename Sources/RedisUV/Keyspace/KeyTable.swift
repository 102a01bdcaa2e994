#if canImport(Glibc)
import Glibc
#endif

/// The key → entry hash table of one database: chained buckets over a power-of-two array,
/// like Redis's dict (so SCAN's reverse-binary cursor keeps Redis's guarantees). The chain
/// link lives in the entry itself, so a key costs one allocation plus its bucket slot.
struct KeyTable {
    private(set) var buckets: UnsafeMutablePointer<KeyEntry?>
    private(set) var mask: Int
    private(set) var count: Int = 0
    let seed: UInt64

    static let initialSize = 4

    init(seed: UInt64) {
        self.seed = seed
        buckets = .allocate(capacity: KeyTable.initialSize)
        buckets.initialize(repeating: nil, count: KeyTable.initialSize)
        mask = KeyTable.initialSize - 1
    }

    var bucketCount: Int { mask + 1 }

    /// Frees every entry; the table stays usable and empty.
    mutating func removeAll() {
        let old = buckets
        let oldSize = mask + 1
        buckets = .allocate(capacity: KeyTable.initialSize)
        buckets.initialize(repeating: nil, count: KeyTable.initialSize)
        mask = KeyTable.initialSize - 1
        count = 0
        // Unlink chains iteratively so a long chain never recurses in deinit.
        for i in 0..<oldSize {
            var e = old[i]
            while let cur = e {
                e = cur.header.next
                cur.header.next = nil
            }
        }
        old.deinitialize(count: oldSize)
        old.deallocate()
    }

    /// Releases the storage; the table must not be used afterwards.
    mutating func destroy() {
        removeAll()
        buckets.deinitialize(count: mask + 1)
        buckets.deallocate()
    }

    @inline(__always)
    func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        hashKeyBytes(key.baseAddress, key.count, seed: seed)
    }

    @inline(__always)
    func find(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        findInChain(head(Int(truncatingIfNeeded: hash(key)) & mask), key)
    }

    /// Bucket `i`'s first entry as a bare pointer: reading it as a reference would retain it.
    @inline(__always)
    private func head(_ i: Int) -> UnsafeRawPointer? {
        UnsafeRawPointer(buckets + i).load(as: UnsafeRawPointer?.self)
    }

    /// The entry of `key` in the chain starting at `first`. The walk holds no references
    /// (a retain and release per link cost a tenth of an RDB load): the chain belongs to
    /// the table, which outlives the walk.
    @inline(__always)
    private func findInChain(_ first: UnsafeRawPointer?, _ key: UnsafeRawBufferPointer) -> KeyEntry? {
        guard let first else { return nil }
        var link = Unmanaged<KeyEntry>.fromOpaque(first)
        while true {
            let (hit, next) = link._withUnsafeGuaranteedRef { cur -> (Bool, UnsafeRawPointer?) in
                (cur.keyEquals(key), cur.nextLink)
            }
            if hit { return link.takeUnretainedValue() }
            guard let next else { return nil }
            link = Unmanaged.fromOpaque(next)
        }
    }

    /// Starts fetching the bucket `key` falls in (and returns its hash), so that an
    /// `insertIfAbsent(_:hash:)` after other work finds it in the cache: RDB loading
    /// probes when it has read a key, then parses the value.
    @inline(__always)
    func prefetchBucket(_ key: UnsafeRawBufferPointer) -> UInt64 {
        let h = hash(key)
        Allocator.prefetch(UnsafeRawPointer(buckets + (Int(truncatingIfNeeded: h) & mask)))
        return h
    }

    /// Adds `entry` unless its key is present (then returns false and changes nothing):
    /// one hash and one chain walk, for bulk loading. `hash` is the key's, if known.
    mutating func insertIfAbsent(_ entry: KeyEntry, hash known: UInt64? = nil) -> Bool {
        if count >= mask + 1 { resize(to: (mask + 1) * 2) }
        let key = entry.key
        let i = Int(truncatingIfNeeded: known ?? hash(key)) & mask
        if findInChain(head(i), key) != nil { return false }
        link(entry, atBucket: i)
        return true
    }

    /// Adds an entry whose key is known to be absent.
    mutating func insert(_ entry: KeyEntry) {
        if count >= mask + 1 { resize(to: (mask + 1) * 2) }
        link(entry, atBucket: Int(truncatingIfNeeded: hash(entry.key)) & mask)
    }

    /// Puts `entry` first in bucket `i`. The bucket's reference moves into the entry's
    /// link: no retain/release pair.
    @inline(__always)
    private mutating func link(_ entry: KeyEntry, atBucket i: Int) {
        entry.header.next = (buckets + i).move()
        (buckets + i).initialize(to: entry)
        count += 1
    }

    /// Puts `new` where `old` (same key) was.
    mutating func replace(_ old: KeyEntry, with new: KeyEntry) {
        let i = Int(truncatingIfNeeded: hash(old.key)) & mask
        new.header.next = old.header.next
        old.header.next = nil
        if buckets[i] === old {
            buckets[i] = new
            return
        }
        var e = buckets[i]
        while let cur = e {
            if cur.header.next === old {
                cur.header.next = new
                return
            }
            e = cur.header.next
        }
        preconditionFailure("KeyTable.replace: entry not in its bucket")
    }

    /// Unlinks and returns the entry for `key`, if any.
    @discardableResult
    mutating func remove(_ key: UnsafeRawBufferPointer) -> KeyEntry? {
        let i = Int(truncatingIfNeeded: hash(key)) & mask
        var prev: KeyEntry? = nil
        var e = buckets[i]
        while let cur = e {
            if cur.keyEquals(key) {
                if let prev { prev.header.next = cur.header.next } else { buckets[i] = cur.header.next }
                cur.header.next = nil
                count -= 1
                return cur
            }
            prev = cur
            e = cur.header.next
        }
        return nil
    }

    mutating func resize(to newSize: Int) {
        var size = KeyTable.initialSize
        while size < newSize { size *= 2 }
        if size == mask + 1 { return }
        let newBuckets = UnsafeMutablePointer<KeyEntry?>.allocate(capacity: size)
        newBuckets.initialize(repeating: nil, count: size)
        let newMask = size - 1
        for i in 0...mask {
            var e = buckets[i].take()
            while let cur = e {
                e = cur.header.next
                let j = Int(truncatingIfNeeded: hash(cur.key)) & newMask
                cur.header.next = newBuckets[j]
                newBuckets[j] = cur
            }
        }
        buckets.deinitialize(count: mask + 1)
        buckets.deallocate()
        buckets = newBuckets
        mask = newMask
    }

    /// Shrinks when less than 10% full (Redis's htNeedsResize), called from the cron.
    mutating func shrinkIfSparse() {
        let size = mask + 1
        if size > KeyTable.initialSize && count * 10 < size {
            resize(to: Swift.max(count, KeyTable.initialSize))
        }
    }

    /// Visits one bucket (all entries in it) and returns the next cursor, Redis's dictScan:
    /// the cursor's bits are incremented from the top, so buckets visited before a resize
    /// are never revisited needlessly and no key present throughout is missed.
    func scan(cursor: UInt64, _ visit: (KeyEntry) -> Void) -> UInt64 {
        let m = UInt64(mask)
        var v = cursor
        var e = buckets[Int(v & m)]
        while let cur = e {
            e = cur.header.next
            visit(cur)
        }
        v |= ~m
        v = reverseBits(v)
        v &+= 1
        v = reverseBits(v)
        return v
    }

    /// A random entry for RANDOMKEY and eviction sampling (Redis's dictGetFairRandomKey,
    /// Support/FairRandom.swift).
    func randomEntry() -> KeyEntry? {
        if count == 0 { return nil }
        let b = buckets
        return fairRandomEntry(count: count, mask: mask, head: { b[$0] }, next: { $0.header.next },
                               below: { Int.random(in: 0..<$0) })
    }

    func forEach(_ body: (KeyEntry) -> Void) {
        for i in 0...mask {
            var e = buckets[i]
            while let cur = e {
                e = cur.header.next
                body(cur)
            }
        }
    }
}

@inline(__always)
func reverseBits(_ x: UInt64) -> UInt64 {
    var v = x
    v = ((v >> 1) & 0x5555_5555_5555_5555) | ((v & 0x5555_5555_5555_5555) << 1)
    v = ((v >> 2) & 0x3333_3333_3333_3333) | ((v & 0x3333_3333_3333_3333) << 2)
    v = ((v >> 4) & 0x0F0F_0F0F_0F0F_0F0F) | ((v & 0x0F0F_0F0F_0F0F_0F0F) << 4)
    return v.byteSwapped
}
