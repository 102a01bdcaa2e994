#if canImport(Glibc)
import Glibc
#endif

/// Redis's LISTPACK_MAX_SAFETY_SIZE: a packed hash never grows past 1 GB (lpSafeToAdd).
let listpackMaxSafetySize = 1 << 30

/// The thresholds that decide a hash's encoding (hash-max-listpack-entries/-value).
struct HashLimits {
    var maxEntries: Int
    var maxValue: Int

    init(maxEntries: Int, maxValue: Int) {
        self.maxEntries = maxEntries
        self.maxValue = maxValue
    }
}

/// A hash value (Redis's OBJ_HASH). Two encodings, chosen as Redis 7.0 chooses them:
///
/// - "listpack": small hashes are one malloc'ed block of field/value pairs in insertion
///   order, found by a linear scan. While a hash has at most hash-max-listpack-entries
///   pairs and no field or value longer than hash-max-listpack-value bytes this is both
///   the smallest form and, at these sizes, as fast as hashing.
/// - "hashtable": past either threshold the pairs move into a chained hash table keyed by
///   the field bytes (`FieldTable`). Like Redis, a hash never converts back.
///
/// The whole state is a single word kept in the key's entry (`SlotStoredValue`), so a
/// hash key costs its entry plus its data: the word points either at the packed block
/// (bit 0 clear) or, tagged with bit 0, at a `FieldTable` struct allocated on its own.
/// This struct is a view of that word; `storage` reads and replaces it in the entry.
struct HashValue: SlotStoredValue {
    static var valueType: ValueType { .hash }

    let entry: KeyEntry

    init(entry: KeyEntry) {
        self.entry = entry
    }

    /// An empty hash in the listpack encoding (Redis's createHashObject), under no key yet.
    init() {
        self.init(detachedWord: HashValue.emptyWord(packedCapacity: 0))
    }

    /// An empty listpack-encoded hash with room for `capacity` item bytes, under no key
    /// yet, for bulk construction: `set` then appends without growing the block pair by
    /// pair; `shrinkToFit` gives back what was not used.
    init(packedCapacity capacity: Int) {
        self.init(detachedWord: HashValue.emptyWord(packedCapacity: capacity))
    }

    /// The word of an empty listpack-encoded hash with room for `capacity` item bytes
    /// (for `KeyEntry.make(key:word:type:lru:)`).
    static func emptyWord(packedCapacity capacity: Int) -> UInt {
        UInt(bitPattern: PackedPairs.create(capacity: max(0, capacity)))
    }

    /// Replaces this empty listpack with one of room for `capacity` item bytes (RDB load,
    /// once the pairs' size is known).
    func reservePacked(capacity: Int) {
        precondition(!isTable && count == 0)
        free(storage)
        storage = PackedPairs.create(capacity: max(0, capacity))
    }

    /// Returns a listpack block's unused reservation to the allocator (after bulk
    /// construction). Does nothing for the hashtable encoding.
    func shrinkToFit() {
        if isTable { return }
        var p = packed
        p.shrinkToFit()
        storage = p.block
    }

    /// The packed block or the tagged table pointer, in the entry's slot.
    @inline(__always) private var storage: UnsafeMutableRawPointer {
        get { UnsafeMutableRawPointer(bitPattern: entry.slotWord).unsafelyUnwrapped }
        nonmutating set { entry.slotWord = UInt(bitPattern: newValue) }
    }

    @inline(__always) var isTable: Bool { UInt(bitPattern: storage) & 1 != 0 }

    @inline(__always) private var table: UnsafeMutablePointer<FieldTable> { HashValue.table(entry.slotWord) }

    @inline(__always) private var packed: PackedPairs { PackedPairs(block: storage) }

    @inline(__always) private static func table(_ word: UInt) -> UnsafeMutablePointer<FieldTable> {
        UnsafeMutablePointer(bitPattern: word & ~1).unsafelyUnwrapped
    }

    // MARK: SlotStoredValue

    static func destroy(_ word: UInt) {
        if word & 1 != 0 {
            let t = table(word)
            t.pointee.destroy()
            t.deinitialize(count: 1)
            t.deallocate()
        } else {
            free(UnsafeMutableRawPointer(bitPattern: word))
        }
    }

    static func encodingName(_ word: UInt) -> String { word & 1 != 0 ? "hashtable" : "listpack" }

    /// Redis's hashTypeDup: same pairs, same encoding.
    static func duplicate(_ word: UInt) -> UInt {
        if word & 1 != 0 {
            let copy = UnsafeMutablePointer<FieldTable>.allocate(capacity: 1)
            copy.initialize(to: table(word).pointee.duplicate())
            return UInt(bitPattern: copy) | 1
        }
        return UInt(bitPattern: PackedPairs(block: UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped).duplicate())
    }

    /// Our allocations, sampled the way Redis's objectComputeSize does for a hash: the
    /// whole block when packed; for a table, its bucket array plus the average size of
    /// the first `samples` pairs times their number.
    static func memoryUsage(_ word: UInt, samples: Int) -> Int {
        if word & 1 == 0 { return Allocator.usableSize(UnsafeRawPointer(bitPattern: word).unsafelyUnwrapped) }
        let t = table(word).pointee
        var size = MemoryLayout<FieldTable>.size + t.bucketCount * MemoryLayout<UnsafeMutableRawPointer?>.size
        var seen = 0
        var bytes = 0
        t.forEachEntry { entry in
            if samples != 0 && seen >= samples { return false }
            bytes += Allocator.usableSize(entry)
            seen += 1
            return true
        }
        if seen > 0 { size += Int(Double(bytes) / Double(seen) * Double(t.count)) }
        return size
    }

    // MARK: reading

    /// Number of pairs (Redis's hashTypeLength).
    @inline(__always) var count: Int {
        isTable ? table.pointee.count : packed.count
    }

    /// The value of `field`, pointing into the hash: valid until the next change.
    @inline(__always)
    func get(_ field: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        if isTable {
            guard let e = table.pointee.find(field) else { return nil }
            return FieldTable.value(e)
        }
        let p = packed
        let at = p.find(field)
        if at < 0 { return nil }
        return p.pair(at: at).value
    }

    @inline(__always)
    func contains(_ field: UnsafeRawBufferPointer) -> Bool {
        isTable ? table.pointee.find(field) != nil : packed.find(field) >= 0
    }

    /// Every pair, in listpack order (insertion order) or in bucket order for a table.
    /// The body returns false to stop.
    @inline(__always)
    func forEach(_ body: (_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        if isTable {
            table.pointee.forEachEntry { e in body(FieldTable.field(e), FieldTable.value(e)) }
        } else {
            packed.forEach(body)
        }
    }

    // MARK: writing

    /// Redis's hashTypeTryConversion: before a write of these arguments, a listpack
    /// becomes a table when one of them is longer than hash-max-listpack-value or
    /// together they would take the block past the listpack's safety size.
    func prepareForWrite(of args: Argv, from start: Int, limits: HashLimits) {
        if isTable { return }
        var sum = 0
        for i in start..<args.count {
            let n = args[i].count
            if n > limits.maxValue {
                convertToTable()
                return
            }
            sum += n
        }
        if packed.used + sum > listpackMaxSafetySize { convertToTable() }
    }

    /// Redis's hashTypeSet: sets `field` to `value`; true when the field is new. A pair
    /// too long for the listpack converts first (the HINCRBY* path); a listpack longer
    /// than hash-max-listpack-entries after the write converts afterwards.
    @discardableResult
    func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, limits: HashLimits) -> Bool {
        if !isTable {
            if !packedAccepts(field, value, limits: limits) {
                convertToTable()
            } else {
                var p = packed
                let created = p.set(field, value)
                storage = p.block
                // Checked after updates too: a listpack left over from a larger
                // limit converts on its next write, as in Redis.
                if p.count > limits.maxEntries { convertToTable() }
                return created
            }
        }
        return table.pointee.set(field, value)
    }

    /// Whether the listpack encoding may hold this pair (hash-max-listpack-value and
    /// lpSafeToAdd); a pair it may not makes the hash a table.
    @inline(__always)
    private func packedAccepts(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, limits: HashLimits) -> Bool {
        field.count <= limits.maxValue && value.count <= limits.maxValue
            && packed.used + field.count + value.count <= listpackMaxSafetySize
    }

    /// `set` for a field the caller knows is absent (bulk loading, which checks for
    /// duplicates itself): a listpack appends without scanning for the field.
    func appendNew(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, limits: HashLimits) {
        if !isTable && packedAccepts(field, value, limits: limits) && packed.count < limits.maxEntries {
            var p = packed
            p.append(field, value)
            storage = p.block
            return
        }
        set(field, value, limits: limits)
    }

    /// Removes `field`; true when it was there. The caller deletes the key when the
    /// hash becomes empty.
    @discardableResult
    func delete(_ field: UnsafeRawBufferPointer) -> Bool {
        if isTable { return table.pointee.delete(field) }
        var p = packed
        let removed = p.delete(field)
        storage = p.block
        return removed
    }

    /// Redis's hashTypeConvertListpack: the pairs move into a table sized for them.
    func convertToTable() {
        if isTable { return }
        let old = packed
        var t = FieldTable(capacity: old.count)
        old.forEach { f, v in
            t.insertNew(f, v)
            return true
        }
        free(old.block)
        let p = UnsafeMutablePointer<FieldTable>.allocate(capacity: 1)
        p.initialize(to: t)
        storage = UnsafeMutableRawPointer(p) + 1
    }

    // MARK: HSCAN and HRANDFIELD

    /// One step of Redis's dictScan over a table-encoded hash: the pairs of one bucket
    /// and the next cursor. Only for the "hashtable" encoding (a listpack is returned
    /// whole by HSCAN).
    func scanTable(cursor: UInt64, _ visit: (_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Void) -> UInt64 {
        precondition(isTable)
        return table.pointee.scan(cursor: cursor) { e in visit(FieldTable.field(e), FieldTable.value(e)) }
    }

    /// A random pair of a non-empty hash (Redis's dictGetFairRandomKey / lpRandomPair).
    func randomPair<G: RandomNumberGenerator>(using rng: inout G) -> (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        if isTable {
            let e = table.pointee.randomEntry(using: &rng)
            return (FieldTable.field(e), FieldTable.value(e))
        }
        let p = packed
        return p.pair(at: p.offset(ofPair: Int.random(in: 0..<p.count, using: &rng)))
    }

    /// Offsets of every pair of a listpack, so that random picks are O(1) each.
    func packedPairOffsets() -> [Int] {
        precondition(!isTable)
        return packed.pairOffsets()
    }

    /// The pair at an offset from `packedPairOffsets` (valid until the next change).
    func packedPair(at offset: Int) -> (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        packed.pair(at: offset)
    }

    /// Every entry of a table-encoded hash, for sampling without repetition.
    func tableEntries() -> [UnsafeMutableRawPointer] {
        precondition(isTable)
        var all: [UnsafeMutableRawPointer] = []
        all.reserveCapacity(table.pointee.count)
        table.pointee.forEachEntry { e in
            all.append(e)
            return true
        }
        return all
    }

    func tableRandomEntry<G: RandomNumberGenerator>(using rng: inout G) -> UnsafeMutableRawPointer {
        table.pointee.randomEntry(using: &rng)
    }

    static func entryPair(_ e: UnsafeMutableRawPointer) -> (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        (FieldTable.field(e), FieldTable.value(e))
    }

    /// Bucket-array size of a table-encoded hash (tests).
    var tableBucketCount: Int { isTable ? table.pointee.bucketCount : 0 }
}

// MARK: - Listpack form

/// Length prefixes of packed items: 7 bits per byte, low bits first, the top bit set on
/// every byte but the last (so lengths below 128, the common case, take one byte).
enum PackedLength {
    @inline(__always)
    static func size(_ n: Int) -> Int {
        n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5
    }

    @inline(__always)
    static func read(_ p: UnsafeRawPointer, _ offset: inout Int) -> Int {
        var b = Int(p.load(fromByteOffset: offset, as: UInt8.self))
        offset &+= 1
        if b < 0x80 { return b }
        var n = b & 0x7F
        var shift = 7
        repeat {
            b = Int(p.load(fromByteOffset: offset, as: UInt8.self))
            offset &+= 1
            n |= (b & 0x7F) << shift
            shift &+= 7
        } while b >= 0x80
        return n
    }

    @inline(__always)
    static func write(_ n: Int, to p: UnsafeMutableRawPointer) -> Int {
        var v = n
        var i = 0
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v | 0x80), toByteOffset: i, as: UInt8.self)
            v >>= 7
            i += 1
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: i, as: UInt8.self)
        return i + 1
    }
}

/// A view of a packed block: `[count u32][used u32][capacity u32][items]`, where items
/// are field, value, field, value, ... each a `PackedLength` prefix and its bytes.
/// `used` and `capacity` count item bytes only. The block is malloc'ed; growing it
/// reallocs, so after a change the owner takes `block` back.
struct PackedPairs {
    static let headerSize = 12
    var block: UnsafeMutableRawPointer

    /// A new empty block with room for `capacity` item bytes (at least what malloc's
    /// smallest chunk holds anyway).
    static func create(capacity: Int) -> UnsafeMutableRawPointer {
        let p = malloc(headerSize + capacity)!
        p.storeBytes(of: 0, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: 0, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: UInt32(Allocator.usableSize(p) - headerSize), toByteOffset: 8, as: UInt32.self)
        return p
    }

    @inline(__always) var count: Int { Int(block.load(fromByteOffset: 0, as: UInt32.self)) }
    @inline(__always) var used: Int { Int(block.load(fromByteOffset: 4, as: UInt32.self)) }
    @inline(__always) var capacity: Int { Int(block.load(fromByteOffset: 8, as: UInt32.self)) }
    @inline(__always) var items: UnsafeMutableRawPointer { block + PackedPairs.headerSize }

    @inline(__always) private func setCount(_ n: Int) { block.storeBytes(of: UInt32(n), toByteOffset: 0, as: UInt32.self) }
    @inline(__always) private func setUsed(_ n: Int) { block.storeBytes(of: UInt32(n), toByteOffset: 4, as: UInt32.self) }

    /// Offset (into the items) of the pair whose field is `field`, or -1. Compares the
    /// length first, so most non-matching fields cost one byte read.
    @inline(__always)
    func find(_ field: UnsafeRawBufferPointer) -> Int {
        let p = UnsafeRawPointer(items)
        let end = used
        let n = field.count
        var off = 0
        while off < end {
            let start = off
            let fl = PackedLength.read(p, &off)
            if fl == n && (n == 0 || memcmp(p + off, field.baseAddress!, n) == 0) { return start }
            off &+= fl
            let vl = PackedLength.read(p, &off)
            off &+= vl
        }
        return -1
    }

    /// The pair starting at `offset`.
    @inline(__always)
    func pair(at offset: Int) -> (field: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        let p = UnsafeRawPointer(items)
        var off = offset
        let fl = PackedLength.read(p, &off)
        let field = UnsafeRawBufferPointer(start: p + off, count: fl)
        off &+= fl
        let vl = PackedLength.read(p, &off)
        return (field, UnsafeRawBufferPointer(start: p + off, count: vl))
    }

    /// Offset of the pair after the one at `offset`.
    @inline(__always)
    func offset(after offset: Int) -> Int {
        let p = UnsafeRawPointer(items)
        var off = offset
        off &+= PackedLength.read(p, &off)
        off &+= PackedLength.read(p, &off)
        return off
    }

    func offset(ofPair index: Int) -> Int {
        var off = 0
        for _ in 0..<index { off = offset(after: off) }
        return off
    }

    func pairOffsets() -> [Int] {
        var all: [Int] = []
        all.reserveCapacity(count)
        var off = 0
        let end = used
        while off < end {
            all.append(off)
            off = offset(after: off)
        }
        return all
    }

    @inline(__always)
    func forEach(_ body: (_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool) {
        var off = 0
        let end = used
        while off < end {
            let (f, v) = pair(at: off)
            if !body(f, v) { return }
            off = v.baseAddress! + v.count - UnsafeRawPointer(items)
        }
    }

    func duplicate() -> UnsafeMutableRawPointer {
        let copy = PackedPairs.create(capacity: used)
        copy.copyMemory(from: block, byteCount: PackedPairs.headerSize + used)
        copy.storeBytes(of: UInt32(Allocator.usableSize(copy) - PackedPairs.headerSize), toByteOffset: 8, as: UInt32.self)
        return copy
    }

    /// Makes room for `needed` item bytes. Like a listpack the block grows to just what
    /// it needs (small hashes are most of a dataset's memory), rounded up to what the
    /// allocator really hands out.
    private mutating func reserve(_ needed: Int) {
        if needed <= capacity { return }
        block = realloc(block, PackedPairs.headerSize + needed)!
        block.storeBytes(of: UInt32(Allocator.usableSize(block) - PackedPairs.headerSize), toByteOffset: 8, as: UInt32.self)
    }

    /// Reallocates the block to what is used (a no-op when that would not free a chunk).
    mutating func shrinkToFit() {
        if capacity - used < 16 { return }
        block = realloc(block, PackedPairs.headerSize + used)!
        block.storeBytes(of: UInt32(Allocator.usableSize(block) - PackedPairs.headerSize), toByteOffset: 8, as: UInt32.self)
    }

    /// Gives memory back after a removal once a whole minimal chunk can be returned.
    private mutating func trim() {
        if capacity - used < 32 { return }
        block = realloc(block, PackedPairs.headerSize + used)!
        block.storeBytes(of: UInt32(Allocator.usableSize(block) - PackedPairs.headerSize), toByteOffset: 8, as: UInt32.self)
    }

    /// Replaces the bytes `[at, at+oldSize)` of the items with `newSize` bytes, moving
    /// the tail; returns the (possibly moved) items pointer.
    private mutating func resizeRange(at: Int, oldSize: Int, newSize: Int) -> UnsafeMutableRawPointer {
        let u = used
        if newSize > oldSize { reserve(u + newSize - oldSize) }
        let p = items
        let tail = u - at - oldSize
        if tail > 0 && newSize != oldSize { memmove(p + at + newSize, p + at + oldSize, tail) }
        setUsed(u + newSize - oldSize)
        return p
    }

    /// Sets `field` to `value` in place or appends the pair; true when appended.
    mutating func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let at = find(field)
        if at >= 0 {
            let (f, old) = pair(at: at)
            let valueAt = f.baseAddress! + f.count - UnsafeRawPointer(items)
            let oldSize = PackedLength.size(old.count) + old.count
            let newSize = PackedLength.size(value.count) + value.count
            let p = resizeRange(at: valueAt, oldSize: oldSize, newSize: newSize)
            let w = PackedLength.write(value.count, to: p + valueAt)
            if value.count > 0 { (p + valueAt + w).copyMemory(from: value.baseAddress!, byteCount: value.count) }
            if newSize < oldSize { trim() }
            return false
        }
        append(field, value)
        return true
    }

    /// Appends a pair whose field is not in the block.
    mutating func append(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        let u = used
        let add = PackedLength.size(field.count) + field.count + PackedLength.size(value.count) + value.count
        let p = resizeRange(at: u, oldSize: 0, newSize: add)
        var off = u
        off += PackedLength.write(field.count, to: p + off)
        if field.count > 0 { (p + off).copyMemory(from: field.baseAddress!, byteCount: field.count) }
        off += field.count
        off += PackedLength.write(value.count, to: p + off)
        if value.count > 0 { (p + off).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        setCount(count + 1)
    }

    mutating func delete(_ field: UnsafeRawBufferPointer) -> Bool {
        let at = find(field)
        if at < 0 { return false }
        let size = offset(after: at) - at
        _ = resizeRange(at: at, oldSize: size, newSize: 0)
        setCount(count - 1)
        trim()
        return true
    }
}

// MARK: - Hashtable form

/// A chained hash table of field/value pairs over a power-of-two bucket array, like
/// Redis's dict (so HSCAN's reverse-binary cursor keeps dictScan's guarantees). Each
/// pair is one malloc'ed entry: `[next][field length u32][value length u32][field][value]`.
/// Lookups hash the argument bytes directly and never allocate.
struct FieldTable {
    static let initialSize = 4
    static let entryHeader = 16

    private(set) var buckets: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private(set) var mask: Int
    private(set) var count = 0
    let seed: UInt64

    /// A table sized for `capacity` pairs (Redis's dictExpand to the next power of two).
    init(capacity: Int) {
        var size = FieldTable.initialSize
        while size < capacity { size *= 2 }
        buckets = .allocate(capacity: size)
        buckets.initialize(repeating: nil, count: size)
        mask = size - 1
        seed = fieldHashSeed
    }

    var bucketCount: Int { mask + 1 }

    // Entry layout accessors.
    @inline(__always) static func next(_ e: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        e.load(as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func setNext(_ e: UnsafeMutableRawPointer, _ n: UnsafeMutableRawPointer?) {
        e.storeBytes(of: n, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func fieldLength(_ e: UnsafeMutableRawPointer) -> Int {
        Int(e.load(fromByteOffset: 8, as: UInt32.self))
    }
    @inline(__always) static func field(_ e: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: e + entryHeader, count: fieldLength(e))
    }
    @inline(__always) static func value(_ e: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        let fl = fieldLength(e)
        return UnsafeRawBufferPointer(start: e + entryHeader + fl, count: Int(e.load(fromByteOffset: 12, as: UInt32.self)))
    }

    static func makeEntry(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let e = malloc(entryHeader + field.count + value.count)!
        setNext(e, nil)
        e.storeBytes(of: UInt32(field.count), toByteOffset: 8, as: UInt32.self)
        e.storeBytes(of: UInt32(value.count), toByteOffset: 12, as: UInt32.self)
        if field.count > 0 { (e + entryHeader).copyMemory(from: field.baseAddress!, byteCount: field.count) }
        if value.count > 0 { (e + entryHeader + field.count).copyMemory(from: value.baseAddress!, byteCount: value.count) }
        return e
    }

    @inline(__always)
    private func bucket(_ field: UnsafeRawBufferPointer) -> Int {
        Int(truncatingIfNeeded: hashKeyBytes(field.baseAddress, field.count, seed: seed)) & mask
    }

    @inline(__always)
    private static func fieldEquals(_ e: UnsafeMutableRawPointer, _ field: UnsafeRawBufferPointer) -> Bool {
        let n = field.count
        return fieldLength(e) == n && (n == 0 || memcmp(e + entryHeader, field.baseAddress!, n) == 0)
    }

    @inline(__always)
    func find(_ field: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        var e = buckets[bucket(field)]
        while let cur = e {
            if FieldTable.fieldEquals(cur, field) { return cur }
            e = FieldTable.next(cur)
        }
        return nil
    }

    /// Adds a pair whose field is known to be absent (conversion, copies).
    mutating func insertNew(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) {
        link(FieldTable.makeEntry(field, value), at: bucket(field))
    }

    private mutating func link(_ e: UnsafeMutableRawPointer, at i: Int) {
        FieldTable.setNext(e, buckets[i])
        buckets[i] = e
        count += 1
        // Redis's dictExpandIfNeeded: grow once there are as many pairs as buckets.
        if count > mask { resize(to: (mask + 1) * 2) }
    }

    /// Sets `field` to `value`; true when the field is new. A value of another length
    /// reallocs the entry, which is then relinked where it was.
    mutating func set(_ field: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        let i = bucket(field)
        var slot = buckets + i
        while let cur = slot.pointee {
            if FieldTable.fieldEquals(cur, field) {
                let fl = field.count
                var e = cur
                if Int(cur.load(fromByteOffset: 12, as: UInt32.self)) != value.count {
                    e = realloc(cur, FieldTable.entryHeader + fl + value.count)!
                    e.storeBytes(of: UInt32(value.count), toByteOffset: 12, as: UInt32.self)
                    slot.pointee = e
                }
                if value.count > 0 {
                    (e + FieldTable.entryHeader + fl).copyMemory(from: value.baseAddress!, byteCount: value.count)
                }
                return false
            }
            slot = cur.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        }
        link(FieldTable.makeEntry(field, value), at: i)
        return true
    }

    /// Removes `field`; shrinks a table less than 10% full, as Redis's hdel does
    /// (htNeedsResize + dictResize).
    mutating func delete(_ field: UnsafeRawBufferPointer) -> Bool {
        var slot = buckets + bucket(field)
        while let cur = slot.pointee {
            if FieldTable.fieldEquals(cur, field) {
                slot.pointee = FieldTable.next(cur)
                free(cur)
                count -= 1
                let size = mask + 1
                if size > FieldTable.initialSize && count * 10 < size { resize(to: count) }
                return true
            }
            slot = cur.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
        }
        return false
    }

    /// Rehashes into the smallest power of two ≥ `newSize` (at least 4).
    mutating func resize(to newSize: Int) {
        var size = FieldTable.initialSize
        while size < newSize { size *= 2 }
        if size == mask + 1 { return }
        let newBuckets = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: size)
        newBuckets.initialize(repeating: nil, count: size)
        let newMask = size - 1
        for i in 0...mask {
            var e = buckets[i]
            while let cur = e {
                e = FieldTable.next(cur)
                let f = FieldTable.field(cur)
                let j = Int(truncatingIfNeeded: hashKeyBytes(f.baseAddress, f.count, seed: seed)) & newMask
                FieldTable.setNext(cur, newBuckets[j])
                newBuckets[j] = cur
            }
        }
        buckets.deallocate()
        buckets = newBuckets
        mask = newMask
    }

    /// Visits entries in bucket order; the body returns false to stop.
    @inline(__always)
    func forEachEntry(_ body: (UnsafeMutableRawPointer) -> Bool) {
        for i in 0...mask {
            var e = buckets[i]
            while let cur = e {
                e = FieldTable.next(cur)
                if !body(cur) { return }
            }
        }
    }

    /// Redis's dictScan on one table: the entries of one bucket, then the cursor with
    /// its reversed bits incremented.
    func scan(cursor: UInt64, _ visit: (UnsafeMutableRawPointer) -> Void) -> UInt64 {
        let m = UInt64(mask)
        var v = cursor
        var e = buckets[Int(v & m)]
        while let cur = e {
            e = FieldTable.next(cur)
            visit(cur)
        }
        v |= ~m
        v = reverseBits(v)
        v &+= 1
        v = reverseBits(v)
        return v
    }

    /// Redis's dictGetFairRandomKey (Support/FairRandom.swift).
    func randomEntry<G: RandomNumberGenerator>(using rng: inout G) -> UnsafeMutableRawPointer {
        precondition(count > 0)
        let b = buckets
        return fairRandomEntry(count: count, mask: mask, head: { b[$0] }, next: { FieldTable.next($0) },
                               below: { Int.random(in: 0..<$0, using: &rng) })
    }

    func duplicate() -> FieldTable {
        var copy = FieldTable(capacity: count)
        forEachEntry { e in
            copy.insertNew(FieldTable.field(e), FieldTable.value(e))
            return true
        }
        return copy
    }

    /// Frees every entry and the bucket array; the table must not be used afterwards.
    mutating func destroy() {
        for i in 0...mask {
            var e = buckets[i]
            while let cur = e {
                e = FieldTable.next(cur)
                free(cur)
            }
        }
        buckets.deallocate()
        count = 0
    }
}

/// Seed of every hash's field table: random per process, like Redis's dict hash seed, so
/// field names chosen by a client cannot be made to collide on purpose.
let fieldHashSeed = UInt64.random(in: 0...UInt64.max)

/// A fast generator for sampling (HRANDFIELD can draw millions of numbers; the system
/// generator costs a system call each). wyrand, seeded from the system generator.
struct SamplingRandom: RandomNumberGenerator {
    private var state: UInt64

    init() {
        state = UInt64.random(in: 0...UInt64.max)
    }

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0xa076_1d64_78bd_642f
        return mixMultiply(state, state ^ 0xe703_7ed1_a0b4_28db)
    }
}
