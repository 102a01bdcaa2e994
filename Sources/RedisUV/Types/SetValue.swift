#if canImport(Glibc)
import Glibc
#endif

/// One member of a set as its storage holds it: an intset's integers by value, every other
/// member as bytes inside the set (valid until the set next changes).
enum SetMember {
    case int(Int64)
    case bytes(UnsafeRawBufferPointer)

    /// The member's bytes (an integer as its decimal text), for lookups and replies.
    @inline(__always)
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        switch self {
        case .bytes(let b): return body(b)
        case .int(let v): return withDecimal(v, body)
        }
    }

    /// An owned copy (for tests and for results that outlive the set).
    var array: [UInt8] { withBytes { Array($0) } }
}

/// `v` as decimal text in a stack buffer, for the duration of `body`.
@inline(__always)
func withDecimal<R>(_ v: Int64, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
    return withUnsafeMutableBytes(of: &tmp) { p in
        let n = formatDecimal(Int(v), into: p.baseAddress!)
        return body(UnsafeRawBufferPointer(start: p.baseAddress, count: n))
    }
}

/// A small, fast generator (wyrand) for SPOP and SRANDMEMBER. A command seeds one from the
/// cycle counter and draws from it; tests seed it for repeatable picks. Swift's default
/// generator reads the kernel's entropy on every draw, far too slow for a pop.
struct SetRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// Seeded from the cycle counter: a fresh sequence per command.
    init() { state = mixMultiply(cycleCount() ^ 0x2d35_8dcc_aa6c_78a5, 0x8bb8_4b93_962e_acc9) }

    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0xa076_1d64_78bd_642f
        return mixMultiply(state, state ^ 0xe703_7ed1_a0b4_28db)
    }

    /// Uniform in 0..<n (n > 0), by the high half of a 128-bit product.
    @inline(__always)
    mutating func below(_ n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }
}

/// The seed of the member hash: random per process, as Redis seeds its dict hash, so
/// clients cannot pick members that all land in one bucket.
let setMemberHashSeed: UInt64 = UInt64.random(in: 0 ... UInt64.max)

/// A Redis set (t_set.c). Three internal forms:
///
/// - **intset**: every member an integer (Redis's isSdsRepresentableAsLongLong) and at most
///   `set-max-intset-entries` of them: Redis's intset.c blob exactly, a sorted array of 2,
///   4 or 8-byte integers behind an 8-byte header. OBJECT ENCODING says "intset";
///   iteration is ascending, as in Redis. As in Redis the width only ever grows, and a
///   blob loaded from RDB/RESTORE is kept as it is, so SAVE and DUMP write the same bytes.
/// - **packed**: small sets with other members (at most `packedMaxEntries`, each at most
///   `packedMaxMemberLength` bytes): one buffer of `[length][hash tag][bytes]` entries,
///   searched linearly with the tag ruling out almost every non-match. Redis 7.0 holds such
///   sets in a dict of sds strings (~60 bytes a member); this is a few bytes a member.
///   OBJECT ENCODING says "hashtable", as Redis 7.0 would; the order of a hashtable is
///   unspecified, so the different iteration order is not observable.
/// - **table**: chained hash table of member nodes, like Redis's dict (the same
///   power-of-two growth, shrinking below 10% fill, and reverse-binary SSCAN cursor).
///
/// Conversions go one way, as in Redis: intset → packed or table when a non-integer or the
/// (max+1)th member arrives, packed → table past its limits. Commands that build a new set
/// (SPOP with a count, the *STORE commands) start again from an intset, as Redis does.
///
/// The whole state is one word, `storage`, kept in the key's entry (`SlotStoredValue`), so
/// a set key costs its entry plus this block: every piece of state lives in the malloc'ed
/// block it points at, which starts with two little-endian UInt32s, a kind and the member
/// count:
///
/// - intset: `[width 2/4/8][count][integers]`, Redis's intset header (its `encoding` field
///   is the width in bytes, so it doubles as the kind);
/// - packed: `[packedKind][count][entry bytes in use: UInt32][entries]`;
/// - table: `[tableKind][count][buckets: UInt32][unused: UInt32][bucket heads]`.
///
/// Capacities are the blocks' usable sizes (or the bucket count), not stored. This struct
/// is a view of the entry's word; `storage` reads and replaces it in the entry.
struct SetValue: SlotStoredValue {
    static var valueType: ValueType { .set }

    enum Encoding: UInt8 { case intset, packed, table }

    static let packedMaxEntries = 64
    static let packedMaxMemberLength = 64
    /// Redis limits intsets to 1G entries whatever set-max-intset-entries says.
    static let intsetHardLimit = 1 << 30

    let entry: KeyEntry

    init(entry: KeyEntry) {
        self.entry = entry
    }

    /// The block holding the kind, count and members, in the entry's slot.
    @inline(__always) private var storage: UnsafeMutableRawPointer {
        get { UnsafeMutableRawPointer(bitPattern: entry.slotWord).unsafelyUnwrapped }
        nonmutating set { entry.slotWord = UInt(bitPattern: newValue) }
    }

    // Block kinds besides the intset widths (2, 4, 8).
    private static let packedKind: UInt32 = 1
    private static let tableKind: UInt32 = 3
    private static let intsetHeader = 8
    private static let packedHeader = 12
    private static let tableHeader = 16

    /// An empty set in intset form (Redis's createIntsetObject), under no key yet.
    init() {
        self.init(detachedWord: SetValue.emptyWord())
    }

    /// The word of an empty set in intset form (Redis's createIntsetObject: intsetNew,
    /// 16-bit), for `KeyEntry.make(key:word:type:lru:)`.
    static func emptyWord() -> UInt {
        let p = allocate(intsetHeader)
        p.storeBytes(of: UInt32(2), as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        return UInt(bitPattern: p)
    }

    /// A set holding a copy of a Redis intset blob, validated by the caller
    /// (PackedFormats.forEachIntset), under no key yet; see `intsetWord(copying:)`.
    static func fromIntsetBlob(_ blob: UnsafeRawBufferPointer, maxIntsetEntries: Int) -> SetValue {
        let s = SetValue(detachedWord: intsetWord(copying: blob))
        s.convertIfOverIntsetLimit(maxIntsetEntries)
        return s
    }

    /// The word of a set holding a copy of a validated Redis intset blob, at its own width
    /// as Redis keeps it (RDB load makes the key's entry with it directly).
    static func intsetWord(copying blob: UnsafeRawBufferPointer) -> UInt {
        let p = allocate(blob.count)
        p.copyMemory(from: blob.baseAddress!, byteCount: blob.count)
        return UInt(bitPattern: p)
    }

    /// Converts a loaded intset holding more than `maxIntsetEntries` integers, as Redis's
    /// rdbLoadObject does.
    func convertIfOverIntsetLimit(_ maxIntsetEntries: Int) {
        if encoding == .intset && count > maxIntsetEntries { convertFromIntset(incoming: 0) }
    }

    /// Exchanges the contents of two sets (their words): SPOP makes the members it kept
    /// the key's value, and the popped rest goes with the other (detached) set.
    func swapContents(with other: SetValue) {
        let word = entry.slotWord
        entry.slotWord = other.entry.slotWord
        other.entry.slotWord = word
    }

    /// Whether both are views of the same value (the same key given twice).
    @inline(__always)
    func isSame(as other: SetValue) -> Bool { entry === other.entry }

    // MARK: header fields

    @inline(__always) private var kind: UInt32 { storage.load(as: UInt32.self) }

    @inline(__always) private var n: UInt32 {
        get { storage.load(fromByteOffset: 4, as: UInt32.self) }
        nonmutating set { storage.storeBytes(of: newValue, toByteOffset: 4, as: UInt32.self) }
    }

    var encoding: Encoding {
        switch kind {
        case SetValue.packedKind: return .packed
        case SetValue.tableKind: return .table
        default: return .intset
        }
    }

    /// intset: bytes per integer (2, 4 or 8).
    var width: UInt8 { UInt8(truncatingIfNeeded: kind) }

    var count: Int { Int(n) }
    var isEmpty: Bool { n == 0 }

    /// The intset blob exactly as Redis's intset.c lays it out (for RDB save and DUMP).
    func withIntsetBlob<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        precondition(encoding == .intset)
        return body(UnsafeRawBufferPointer(start: storage, count: SetValue.intsetHeader + Int(n) * Int(width)))
    }

    /// The effective intset limit for a configured set-max-intset-entries.
    @inline(__always)
    static func intsetLimit(_ configured: Int) -> Int { min(max(configured, 0), intsetHardLimit) }

    @inline(__always)
    static func hash(_ m: UnsafeRawBufferPointer) -> UInt64 {
        hashKeyBytes(m.baseAddress, m.count, seed: setMemberHashSeed)
    }

    // MARK: membership

    func contains(_ m: UnsafeRawBufferPointer) -> Bool {
        switch encoding {
        case .intset:
            guard let v = parseStrictInt(m) else { return false }
            return intsetSearch(Int64(v)).found
        case .packed:
            return packedFind(m, tag: SetValue.tag(SetValue.hash(m))) >= 0
        case .table:
            return tableFind(m, hash: SetValue.hash(m)) != nil
        }
    }

    @inline(__always)
    func contains(_ m: SetMember) -> Bool {
        switch m {
        case .bytes(let b): return contains(b)
        case .int(let v):
            if encoding == .intset { return intsetSearch(v).found }
            return withDecimal(v) { contains($0) }
        }
    }

    // MARK: adding (Redis's setTypeAdd)

    /// Adds `m`; false when it was already a member. `maxIntsetEntries` is the effective
    /// set-max-intset-entries (see `intsetLimit`).
    @discardableResult
    func add(_ m: UnsafeRawBufferPointer, maxIntsetEntries: Int) -> Bool {
        if encoding == .intset {
            if let v = parseStrictInt(m) { return addInt(Int64(v), maxIntsetEntries: maxIntsetEntries) }
            // A non-integer can never be in an intset: convert, then it is new.
            convertFromIntset(incoming: 1)
            insertAbsent(m, hash: SetValue.hash(m))
            return true
        }
        return addBytes(m)
    }

    @discardableResult
    func add(_ m: SetMember, maxIntsetEntries: Int) -> Bool {
        switch m {
        case .bytes(let b): return add(b, maxIntsetEntries: maxIntsetEntries)
        case .int(let v):
            if encoding == .intset { return addInt(v, maxIntsetEntries: maxIntsetEntries) }
            return withDecimal(v) { addBytes($0) }
        }
    }

    private func addInt(_ v: Int64, maxIntsetEntries: Int) -> Bool {
        guard intsetAdd(v) else { return false }
        if Int(n) > maxIntsetEntries { convertFromIntset(incoming: 0) }
        return true
    }

    /// Adds to a packed or table set.
    private func addBytes(_ m: UnsafeRawBufferPointer) -> Bool {
        let h = SetValue.hash(m)
        if encoding == .packed {
            if packedFind(m, tag: SetValue.tag(h)) >= 0 { return false }
        } else if tableFind(m, hash: h) != nil {
            return false
        }
        insertAbsent(m, hash: h)
        return true
    }

    /// Inserts a member known to be absent into a packed or table set, converting a packed
    /// set that would pass its limits.
    private func insertAbsent(_ m: UnsafeRawBufferPointer, hash h: UInt64) {
        if encoding == .packed {
            if Int(n) < SetValue.packedMaxEntries && m.count <= SetValue.packedMaxMemberLength {
                packedAppend(m, tag: SetValue.tag(h))
                return
            }
            convertPackedToTable()
        }
        tableInsert(m, hash: h)
    }

    // MARK: removing (Redis's setTypeRemove)

    @discardableResult
    func remove(_ m: UnsafeRawBufferPointer) -> Bool {
        switch encoding {
        case .intset:
            guard let v = parseStrictInt(m) else { return false }
            return intsetRemove(Int64(v))
        case .packed:
            let off = packedFind(m, tag: SetValue.tag(SetValue.hash(m)))
            if off < 0 { return false }
            packedRemove(at: off)
            return true
        case .table:
            return tableRemove(m, hash: SetValue.hash(m))
        }
    }

    @discardableResult
    func remove(_ m: SetMember) -> Bool {
        switch m {
        case .bytes(let b): return remove(b)
        case .int(let v):
            if encoding == .intset { return intsetRemove(v) }
            return withDecimal(v) { remove($0) }
        }
    }

    // MARK: iteration

    /// Calls `body` for every member until it returns false: an intset in ascending order,
    /// the other forms in storage order. The set must not change meanwhile.
    @inline(__always)
    func forEach(_ body: (SetMember) -> Bool) {
        let p = storage
        switch encoding {
        case .intset:
            let w = Int(width)
            for i in 0..<Int(n) where !body(.int(SetValue.intAt(p, i, width: w))) { return }
        case .packed:
            let base = p + SetValue.packedHeader
            var off = 0
            let end = packedUsed
            while off < end {
                let len = Int(base.load(fromByteOffset: off, as: UInt8.self))
                if !body(.bytes(UnsafeRawBufferPointer(start: base + off + 2, count: len))) { return }
                off += 2 + len
            }
        case .table:
            let b = buckets
            for i in 0..<bucketCount {
                var node = b[i]
                while let cur = node {
                    node = SetValue.nodeNext(cur)
                    if !body(.bytes(SetValue.nodeMember(cur))) { return }
                }
            }
        }
    }

    /// Every member, in `forEach` order.
    var members: [SetMember] {
        var out: [SetMember] = []
        out.reserveCapacity(count)
        forEach { out.append($0); return true }
        return out
    }

    /// One SSCAN step (Redis's scanGenericCommand): a table visits one bucket and returns
    /// the next reverse-binary cursor, as dictScan; the compact forms hand over everything
    /// at once and end the iteration (cursor 0), as Redis does for an intset.
    func scan(cursor: UInt64, _ visit: (SetMember) -> Void) -> UInt64 {
        guard encoding == .table else {
            forEach { visit($0); return true }
            return 0
        }
        let m = UInt64(bucketCount - 1)
        var v = cursor
        var node = buckets[Int(v & m)]
        while let cur = node {
            node = SetValue.nodeNext(cur)
            visit(.bytes(SetValue.nodeMember(cur)))
        }
        v |= ~m
        v = reverseBits(v)
        v &+= 1
        return reverseBits(v)
    }

    // MARK: random members (Redis's setTypeRandomElement)

    /// A uniformly chosen member of an intset or packed set; for a table, a uniformly
    /// chosen non-empty bucket, then a uniform member of its chain (chains are short at
    /// Redis's load factor, so this is close to fair, like Redis's dictGetFairRandomKey).
    /// `identity` tells apart distinct picks (value, offset or node address).
    func randomMember(_ rng: inout SetRandom) -> (member: SetMember, identity: Int) {
        precondition(n > 0, "randomMember of an empty set")
        switch encoding {
        case .intset:
            let v = intAt(rng.below(Int(n)))
            return (.int(v), Int(v))
        case .packed:
            let base = storage + SetValue.packedHeader
            var k = rng.below(Int(n))
            var off = 0
            while k > 0 {
                off += 2 + Int(base.load(fromByteOffset: off, as: UInt8.self))
                k -= 1
            }
            let len = Int(base.load(fromByteOffset: off, as: UInt8.self))
            return (.bytes(UnsafeRawBufferPointer(start: base + off + 2, count: len)), off)
        case .table:
            // dictGetFairRandomKey (Support/FairRandom.swift).
            let b = buckets
            let pick = fairRandomEntry(count: Int(n), mask: bucketCount - 1, head: { b[$0] },
                                       next: { SetValue.nodeNext($0) }, below: { rng.below($0) })
            return (.bytes(SetValue.nodeMember(pick)), Int(bitPattern: pick))
        }
    }

    // MARK: SlotStoredValue

    @inline(__always) private static func block(_ word: UInt) -> UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped
    }

    static func destroy(_ word: UInt) { freeBlock(block(word)) }

    static func encodingName(_ word: UInt) -> String {
        switch block(word).load(as: UInt32.self) {
        case packedKind, tableKind: return "hashtable"
        default: return "intset"
        }
    }

    /// COPY (Redis's setTypeDup): the same encoding and contents (an intset at its width).
    static func duplicate(_ word: UInt) -> UInt {
        let p = block(word)
        let kind = p.load(as: UInt32.self)
        let count = Int(p.load(fromByteOffset: 4, as: UInt32.self))
        if kind != tableKind {
            let bytes = kind == packedKind
                ? packedHeader + Int(p.load(fromByteOffset: 8, as: UInt32.self)) : intsetHeader + count * Int(kind)
            let q = allocate(bytes)
            q.copyMemory(from: p, byteCount: bytes)
            return UInt(bitPattern: q)
        }
        let size = Int(p.load(fromByteOffset: 8, as: UInt32.self))
        let q = newTableBlock(buckets: size)
        q.storeBytes(of: UInt32(count), toByteOffset: 4, as: UInt32.self)
        let src = buckets(of: p)
        let dst = buckets(of: q)
        for i in 0..<size {
            var node = src[i]
            while let cur = node {
                node = nodeNext(cur)
                let nodeSize = nodeHeader + Int(nodeLength(cur))
                let copy = allocate(nodeSize)
                copy.copyMemory(from: cur, byteCount: nodeSize)
                copy.storeBytes(of: dst[i], as: UnsafeMutableRawPointer?.self)
                dst[i] = copy
            }
        }
        return UInt(bitPattern: q)
    }

    /// What this set allocated: its block and (for a table, extrapolated from `samples`
    /// members as Redis's objectComputeSize does; 0 = all) its member nodes.
    static func memoryUsage(_ word: UInt, samples: Int) -> Int {
        let p = block(word)
        var total = Allocator.usableSize(p)
        let count = Int(p.load(fromByteOffset: 4, as: UInt32.self))
        guard p.load(as: UInt32.self) == tableKind && count > 0 else { return total }
        let b = buckets(of: p)
        var sampled = 0
        var bytes = 0
        scan: for i in 0..<Int(p.load(fromByteOffset: 8, as: UInt32.self)) {
            var node = b[i]
            while let cur = node {
                node = nodeNext(cur)
                bytes += Allocator.usableSize(cur)
                sampled += 1
                if samples != 0 && sampled >= samples { break scan }
            }
        }
        total += sampled == count ? bytes : Int(Double(bytes) / Double(sampled) * Double(count))
        return total
    }

    // MARK: blocks

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        guard let p = malloc(max(bytes, 1)) else { fatalError("SetValue: out of memory") }
        return p
    }

    /// Frees a block and, for a table, its member nodes.
    private static func freeBlock(_ p: UnsafeMutableRawPointer) {
        if p.load(as: UInt32.self) == tableKind {
            let b = buckets(of: p)
            for i in 0..<Int(p.load(fromByteOffset: 8, as: UInt32.self)) {
                var node = b[i]
                while let cur = node {
                    node = nodeNext(cur)
                    free(cur)
                }
            }
        }
        free(p)
    }

    /// Makes the block hold at least `bytes`: exactly for small sets (memory per set is
    /// what matters there, and Redis's intset grows by exact reallocs too), with half again
    /// as much past 256 bytes so runs of adds stay amortized O(1).
    @inline(__always)
    private func reserve(bytes: Int) {
        if bytes <= Allocator.usableSize(storage) { return }
        let want = bytes > 256 ? bytes + bytes / 2 : bytes
        guard let p = realloc(storage, want) else { fatalError("SetValue: out of memory") }
        storage = p
    }

    /// Gives back most of a block that emptied out (Redis's intsetRemove and listpack
    /// deletes shrink their blob too).
    private func shrinkIfSparse(usedBytes: Int) {
        let capacity = Allocator.usableSize(storage)
        guard capacity > 256 && usedBytes < capacity / 4, let p = realloc(storage, max(usedBytes * 2, 16)) else { return }
        storage = p
    }

    // MARK: intset (Redis's intset.c: sorted integers, 2/4/8 bytes each, little endian)

    @inline(__always)
    private static func intAt(_ p: UnsafeMutableRawPointer, _ i: Int, width: Int) -> Int64 {
        let at = intsetHeader &+ i &* width
        switch width {
        case 2: return Int64(p.load(fromByteOffset: at, as: Int16.self))
        case 4: return Int64(p.load(fromByteOffset: at, as: Int32.self))
        default: return p.load(fromByteOffset: at, as: Int64.self)
        }
    }

    @inline(__always)
    private static func setInt(_ p: UnsafeMutableRawPointer, _ i: Int, _ v: Int64, width: Int) {
        let at = intsetHeader &+ i &* width
        switch width {
        case 2: p.storeBytes(of: Int16(truncatingIfNeeded: v), toByteOffset: at, as: Int16.self)
        case 4: p.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: at, as: Int32.self)
        default: p.storeBytes(of: v, toByteOffset: at, as: Int64.self)
        }
    }

    @inline(__always)
    private func intAt(_ i: Int) -> Int64 { SetValue.intAt(storage, i, width: Int(width)) }

    /// Redis's _intsetValueEncoding.
    @inline(__always)
    static func intWidth(_ v: Int64) -> UInt8 {
        if v >= Int64(Int16.min) && v <= Int64(Int16.max) { return 2 }
        if v >= Int64(Int32.min) && v <= Int64(Int32.max) { return 4 }
        return 8
    }

    /// Redis's intsetSearch: whether `v` is present and where it is or would go. The ends
    /// are checked first so ascending or descending runs of adds skip the search.
    @inline(__always)
    private func intsetSearch(_ v: Int64) -> (found: Bool, index: Int) {
        let p = storage
        let w = Int(width)
        let count = Int(n)
        if count == 0 { return (false, 0) }
        if v > SetValue.intAt(p, count - 1, width: w) { return (false, count) }
        if v < SetValue.intAt(p, 0, width: w) { return (false, 0) }
        var lo = 0
        var hi = count - 1
        while lo <= hi {
            let mid = (lo &+ hi) >> 1
            let x = SetValue.intAt(p, mid, width: w)
            if x < v {
                lo = mid + 1
            } else if x > v {
                hi = mid - 1
            } else {
                return (true, mid)
            }
        }
        return (false, lo)
    }

    private func intsetAdd(_ v: Int64) -> Bool {
        if SetValue.intWidth(v) > width {
            intsetUpgradeAndAdd(v)
            return true
        }
        let (found, pos) = intsetSearch(v)
        if found { return false }
        let count = Int(n)
        let w = Int(width)
        reserve(bytes: SetValue.intsetHeader + (count + 1) * w)
        let p = storage
        if pos < count {
            let at = p + SetValue.intsetHeader + pos * w
            memmove(at + w, at, (count - pos) * w)
        }
        SetValue.setInt(p, pos, v, width: w)
        n = UInt32(count + 1)
        return true
    }

    /// Redis's intsetUpgradeAndAdd: `v` needs a wider encoding, so it lies outside every
    /// stored value: it goes first when negative, last otherwise.
    private func intsetUpgradeAndAdd(_ v: Int64) {
        let old = storage
        let oldWidth = Int(width)
        let newWidth = Int(SetValue.intWidth(v))
        let count = Int(n)
        let q = SetValue.allocate(SetValue.intsetHeader + (count + 1) * newWidth)
        let prepend = v < 0 ? 1 : 0
        for i in 0..<count {
            SetValue.setInt(q, i + prepend, SetValue.intAt(old, i, width: oldWidth), width: newWidth)
        }
        SetValue.setInt(q, prepend == 1 ? 0 : count, v, width: newWidth)
        q.storeBytes(of: UInt32(newWidth), as: UInt32.self)
        q.storeBytes(of: UInt32(count + 1), toByteOffset: 4, as: UInt32.self)
        free(old)
        storage = q
    }

    /// Redis's intsetRemove; the width stays, as in Redis.
    private func intsetRemove(_ v: Int64) -> Bool {
        let (found, pos) = intsetSearch(v)
        if !found { return false }
        let w = Int(width)
        let count = Int(n)
        if pos < count - 1 {
            let at = storage + SetValue.intsetHeader + pos * w
            memmove(at, at + w, (count - pos - 1) * w)
        }
        n = UInt32(count - 1)
        shrinkIfSparse(usedBytes: SetValue.intsetHeader + (count - 1) * w)
        return true
    }

    /// Redis's setTypeConvert(OBJ_ENCODING_HT): the integers become decimal members of a
    /// packed set, or of a table when `incoming` more members would not fit one.
    private func convertFromIntset(incoming: Int) {
        let old = storage
        let w = Int(width)
        let count = Int(n)
        if count + incoming <= SetValue.packedMaxEntries {
            // Up to 20 digits and the 2-byte entry head per integer; trimmed below.
            storage = SetValue.newPackedBlock(capacity: count * 22)
            for i in 0..<count {
                withDecimal(SetValue.intAt(old, i, width: w)) { packedAppend($0, tag: SetValue.tag(SetValue.hash($0))) }
            }
            if let p = realloc(storage, SetValue.packedHeader + packedUsed) { storage = p }
        } else {
            storage = SetValue.newTableBlock(buckets: SetValue.tableSize(for: count))
            for i in 0..<count {
                withDecimal(SetValue.intAt(old, i, width: w)) { tableInsert($0, hash: SetValue.hash($0)) }
            }
        }
        free(old)
    }

    // MARK: packed: [length: 1][tag: 1][bytes] entries after the header

    @inline(__always)
    static func tag(_ h: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: h >> 56) }

    /// Entry bytes in use.
    @inline(__always) private var packedUsed: Int {
        get { Int(storage.load(fromByteOffset: 8, as: UInt32.self)) }
        nonmutating set { storage.storeBytes(of: UInt32(newValue), toByteOffset: 8, as: UInt32.self) }
    }

    private static func newPackedBlock(capacity: Int) -> UnsafeMutableRawPointer {
        let p = allocate(packedHeader + capacity)
        p.storeBytes(of: packedKind, as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 8, as: UInt32.self)
        return p
    }

    /// Offset of the entry holding `m` (from the first entry), or -1.
    @inline(__always)
    private func packedFind(_ m: UnsafeRawBufferPointer, tag: UInt8) -> Int {
        guard m.count <= SetValue.packedMaxMemberLength else { return -1 }
        let base = storage + SetValue.packedHeader
        let len = m.count
        let want = UInt16(len) | (UInt16(tag) << 8)
        let end = packedUsed
        var off = 0
        while off < end {
            let head = base.loadUnaligned(fromByteOffset: off, as: UInt16.self)
            if head == want && (len == 0 || memcmp(base + off + 2, m.baseAddress!, len) == 0) { return off }
            off += 2 + Int(head & 0xFF)
        }
        return -1
    }

    private func packedAppend(_ m: UnsafeRawBufferPointer, tag: UInt8) {
        let used = packedUsed
        let need = used + 2 + m.count
        reserve(bytes: SetValue.packedHeader + need)
        let p = storage + SetValue.packedHeader + used
        p.storeBytes(of: UInt8(m.count), as: UInt8.self)
        p.storeBytes(of: tag, toByteOffset: 1, as: UInt8.self)
        if m.count > 0 { (p + 2).copyMemory(from: m.baseAddress!, byteCount: m.count) }
        packedUsed = need
        n += 1
    }

    private func packedRemove(at off: Int) {
        let base = storage + SetValue.packedHeader
        let size = 2 + Int(base.load(fromByteOffset: off, as: UInt8.self))
        let used = packedUsed
        let tail = used - off - size
        if tail > 0 { memmove(base + off, base + off + size, tail) }
        packedUsed = used - size
        n -= 1
        shrinkIfSparse(usedBytes: SetValue.packedHeader + used - size)
    }

    private func convertPackedToTable() {
        let old = storage
        let end = packedUsed
        storage = SetValue.newTableBlock(buckets: SetValue.tableSize(for: count + 1))
        let base = old + SetValue.packedHeader
        var off = 0
        while off < end {
            let len = Int(base.load(fromByteOffset: off, as: UInt8.self))
            let m = UnsafeRawBufferPointer(start: base + off + 2, count: len)
            tableInsert(m, hash: SetValue.hash(m))
            off += 2 + len
        }
        free(old)
    }

    // MARK: table: chained buckets of nodes [next: 8][hash: 4][length: 4][bytes]

    static let nodeHeader = 16

    @inline(__always) private static func buckets(of p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        (p + tableHeader).assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

    @inline(__always) private var buckets: UnsafeMutablePointer<UnsafeMutableRawPointer?> { SetValue.buckets(of: storage) }

    /// Number of buckets (a power of two).
    @inline(__always) private var bucketCount: Int { Int(storage.load(fromByteOffset: 8, as: UInt32.self)) }

    @inline(__always) static func nodeNext(_ node: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        node.load(as: UnsafeMutableRawPointer?.self)
    }

    @inline(__always) static func nodeHash(_ node: UnsafeMutableRawPointer) -> UInt32 {
        node.load(fromByteOffset: 8, as: UInt32.self)
    }

    @inline(__always) static func nodeLength(_ node: UnsafeMutableRawPointer) -> UInt32 {
        node.load(fromByteOffset: 12, as: UInt32.self)
    }

    @inline(__always) static func nodeMember(_ node: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: node + nodeHeader, count: Int(nodeLength(node)))
    }

    /// Buckets for `count` members: the power of two at or above it, at least 4 (Redis's
    /// dictExpand and DICT_HT_INITIAL_SIZE).
    static func tableSize(for count: Int) -> Int {
        var size = 4
        while size < count { size *= 2 }
        return size
    }

    /// An empty table block with `size` buckets (all chains empty).
    private static func newTableBlock(buckets size: Int) -> UnsafeMutableRawPointer {
        guard let p = calloc(tableHeader / 8 + size, 8) else { fatalError("SetValue: out of memory") }
        p.storeBytes(of: tableKind, as: UInt32.self)
        p.storeBytes(of: UInt32(size), toByteOffset: 8, as: UInt32.self)
        return p
    }

    @inline(__always)
    private func tableFind(_ m: UnsafeRawBufferPointer, hash h: UInt64) -> UnsafeMutableRawPointer? {
        let h32 = UInt32(truncatingIfNeeded: h)
        let len = UInt32(m.count)
        var node = buckets[Int(h32 & UInt32(bucketCount - 1))]
        while let cur = node {
            if SetValue.nodeHash(cur) == h32 && SetValue.nodeLength(cur) == len
                && (len == 0 || memcmp(cur + SetValue.nodeHeader, m.baseAddress!, Int(len)) == 0) {
                return cur
            }
            node = SetValue.nodeNext(cur)
        }
        return nil
    }

    /// Adds a node for an absent member, growing first when full (Redis's dict expands when
    /// it holds as many entries as buckets).
    private func tableInsert(_ m: UnsafeRawBufferPointer, hash h: UInt64) {
        if Int(n) >= bucketCount { tableResize(bucketCount * 2) }
        let h32 = UInt32(truncatingIfNeeded: h)
        let node = SetValue.allocate(SetValue.nodeHeader + m.count)
        node.storeBytes(of: h32, toByteOffset: 8, as: UInt32.self)
        node.storeBytes(of: UInt32(m.count), toByteOffset: 12, as: UInt32.self)
        if m.count > 0 { (node + SetValue.nodeHeader).copyMemory(from: m.baseAddress!, byteCount: m.count) }
        let b = buckets
        let i = Int(h32 & UInt32(bucketCount - 1))
        node.storeBytes(of: b[i], as: UnsafeMutableRawPointer?.self)
        b[i] = node
        n += 1
    }

    private func tableRemove(_ m: UnsafeRawBufferPointer, hash h: UInt64) -> Bool {
        let h32 = UInt32(truncatingIfNeeded: h)
        let len = UInt32(m.count)
        let b = buckets
        let size = bucketCount
        let i = Int(h32 & UInt32(size - 1))
        var prev: UnsafeMutableRawPointer? = nil
        var node = b[i]
        while let cur = node {
            let next = SetValue.nodeNext(cur)
            if SetValue.nodeHash(cur) == h32 && SetValue.nodeLength(cur) == len
                && (len == 0 || memcmp(cur + SetValue.nodeHeader, m.baseAddress!, Int(len)) == 0) {
                if let prev { prev.storeBytes(of: next, as: UnsafeMutableRawPointer?.self) } else { b[i] = next }
                free(cur)
                n -= 1
                // Redis's htNeedsResize after a delete: under 10% full shrinks to fit.
                if size > 4 && UInt64(n) * 10 < UInt64(size) {
                    tableResize(SetValue.tableSize(for: Int(n)))
                }
                return true
            }
            prev = cur
            node = next
        }
        return false
    }

    /// Moves every node into a fresh block of `size` buckets.
    private func tableResize(_ size: Int) {
        let oldSize = bucketCount
        if size == oldSize { return }
        let old = buckets
        let fresh = SetValue.newTableBlock(buckets: size)
        fresh.storeBytes(of: n, toByteOffset: 4, as: UInt32.self)
        let dst = SetValue.buckets(of: fresh)
        let mask = UInt32(size - 1)
        for i in 0..<oldSize {
            var node = old[i]
            while let cur = node {
                node = SetValue.nodeNext(cur)
                let j = Int(SetValue.nodeHash(cur) & mask)
                cur.storeBytes(of: dst[j], as: UnsafeMutableRawPointer?.self)
                dst[j] = cur
            }
        }
        free(storage)
        storage = fresh
    }
}
