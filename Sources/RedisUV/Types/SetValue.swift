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
///   `set-max-intset-entries` of them: a sorted array of 2, 4 or 8-byte integers, as
///   Redis's intset.c. OBJECT ENCODING says "intset"; iteration is ascending, as in Redis.
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
final class SetValue: KeyspaceValue {
    enum Encoding: UInt8 { case intset, packed, table }

    static let packedMaxEntries = 64
    static let packedMaxMemberLength = 64
    /// Redis limits intsets to 1G entries whatever set-max-intset-entries says.
    static let intsetHardLimit = 1 << 30

    // Field order keeps the object at 40 bytes (a 48-byte malloc chunk).
    /// intset: `capacity` integers of `width` bytes; packed: entries; table: the buckets.
    private var storage: UnsafeMutableRawPointer? = nil
    private var n: UInt32 = 0
    /// intset: integers that fit; packed: bytes; table: buckets (a power of two).
    private var capacity: UInt32 = 0
    /// packed: bytes in use.
    private var used: UInt32 = 0
    private(set) var encoding: Encoding = .intset
    /// intset: bytes per integer (2, 4 or 8).
    private(set) var width: UInt8 = 2

    /// An empty set in intset form (Redis's createIntsetObject).
    init() {}

    deinit { releaseStorage() }

    var count: Int { Int(n) }
    var isEmpty: Bool { n == 0 }

    var encodingName: String { encoding == .intset ? "intset" : "hashtable" }

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
        guard let p = storage else { return }
        switch encoding {
        case .intset:
            for i in 0..<Int(n) where !body(.int(intAt(i))) { return }
        case .packed:
            var off = 0
            let end = Int(used)
            while off < end {
                let len = Int(p.load(fromByteOffset: off, as: UInt8.self))
                if !body(.bytes(UnsafeRawBufferPointer(start: p + off + 2, count: len))) { return }
                off += 2 + len
            }
        case .table:
            let b = buckets
            for i in 0..<Int(capacity) {
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
        guard encoding == .table, let _ = storage else {
            forEach { visit($0); return true }
            return 0
        }
        let m = UInt64(capacity - 1)
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
        let p = storage!
        switch encoding {
        case .intset:
            let v = intAt(rng.below(Int(n)))
            return (.int(v), Int(v))
        case .packed:
            var k = rng.below(Int(n))
            var off = 0
            while k > 0 {
                off += 2 + Int(p.load(fromByteOffset: off, as: UInt8.self))
                k -= 1
            }
            let len = Int(p.load(fromByteOffset: off, as: UInt8.self))
            return (.bytes(UnsafeRawBufferPointer(start: p + off + 2, count: len)), off)
        case .table:
            let b = buckets
            let size = Int(capacity)
            while true {
                guard let head = b[rng.below(size)] else { continue }
                var len = 0
                var node: UnsafeMutableRawPointer? = head
                while let cur = node { len += 1; node = SetValue.nodeNext(cur) }
                var k = rng.below(len)
                var pick = head
                while k > 0 { pick = SetValue.nodeNext(pick)!; k -= 1 }
                return (.bytes(SetValue.nodeMember(pick)), Int(bitPattern: pick))
            }
        }
    }

    // MARK: KeyspaceValue

    /// COPY (Redis's setTypeDup): the same encoding and contents.
    func duplicate() -> KeyspaceValue {
        let copy = SetValue()
        copy.encoding = encoding
        copy.width = width
        copy.n = n
        copy.used = used
        guard let p = storage else { return copy }
        switch encoding {
        case .intset, .packed:
            let bytes = encoding == .intset ? Int(n) * Int(width) : Int(used)
            let q = malloc(max(bytes, 1))!
            q.copyMemory(from: p, byteCount: bytes)
            copy.storage = q
            copy.capacity = encoding == .intset ? UInt32(max(bytes, 1) / Int(width)) : UInt32(max(bytes, 1))
        case .table:
            copy.allocateBuckets(Int(capacity))
            let src = buckets
            let dst = copy.buckets
            for i in 0..<Int(capacity) {
                var node = src[i]
                while let cur = node {
                    node = SetValue.nodeNext(cur)
                    let size = SetValue.nodeHeader + Int(SetValue.nodeLength(cur))
                    let q = malloc(size)!
                    q.copyMemory(from: cur, byteCount: size)
                    q.storeBytes(of: dst[i], as: UnsafeMutableRawPointer?.self)
                    dst[i] = q
                }
            }
        }
        return copy
    }

    /// What this set allocated: the object, its buffer and (for a table, extrapolated from
    /// `samples` members as Redis's objectComputeSize does; 0 = all) its member nodes.
    func memoryUsage(samples: Int) -> Int {
        var total = Allocator.usableSize(UnsafeRawPointer(Unmanaged.passUnretained(self).toOpaque()))
        guard let p = storage else { return total }
        total += Allocator.usableSize(p)
        if encoding == .table && n > 0 {
            var sampled = 0
            var bytes = 0
            forEach { m in
                guard case .bytes(let b) = m else { return false }
                bytes += Allocator.usableSize(b.baseAddress! - SetValue.nodeHeader)
                sampled += 1
                return samples == 0 || sampled < samples
            }
            total += sampled == Int(n) ? bytes : Int(Double(bytes) / Double(sampled) * Double(n))
        }
        return total
    }

    // MARK: storage

    /// Grows `storage` to at least `bytes`: exactly for small sets (memory per set is what
    /// matters there), with half again as much past 256 bytes so runs of adds stay amortized
    /// O(1). Returns the usable size.
    private func growStorage(toBytes bytes: Int) -> Int {
        let want = bytes > 256 ? bytes + bytes / 2 : bytes
        guard let p = realloc(storage, max(want, 1)) else { fatalError("SetValue: out of memory") }
        storage = p
        return Allocator.usableSize(p)
    }

    /// Gives back most of a buffer that emptied out (Redis's intsetRemove and listpack
    /// deletes shrink their blob too).
    private func shrinkStorage(usedBytes: Int, capacityBytes: Int) -> Int? {
        guard capacityBytes > 256 && usedBytes < capacityBytes / 4, let p = realloc(storage, max(usedBytes * 2, 16)) else {
            return nil
        }
        storage = p
        return Allocator.usableSize(p)
    }

    private func releaseStorage() {
        if encoding == .table, storage != nil {
            let b = buckets
            for i in 0..<Int(capacity) {
                var node = b[i]
                while let cur = node {
                    node = SetValue.nodeNext(cur)
                    free(cur)
                }
            }
        }
        free(storage)
        storage = nil
        capacity = 0
        used = 0
        n = 0
    }

    // MARK: intset (Redis's intset.c: sorted integers, 2/4/8 bytes each)

    @inline(__always)
    private func intAt(_ i: Int) -> Int64 {
        let p = storage!
        switch width {
        case 2: return Int64(p.load(fromByteOffset: i &* 2, as: Int16.self))
        case 4: return Int64(p.load(fromByteOffset: i &* 4, as: Int32.self))
        default: return p.load(fromByteOffset: i &* 8, as: Int64.self)
        }
    }

    @inline(__always)
    private func setInt(_ i: Int, _ v: Int64) {
        let p = storage!
        switch width {
        case 2: p.storeBytes(of: Int16(truncatingIfNeeded: v), toByteOffset: i &* 2, as: Int16.self)
        case 4: p.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: i &* 4, as: Int32.self)
        default: p.storeBytes(of: v, toByteOffset: i &* 8, as: Int64.self)
        }
    }

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
        let count = Int(n)
        if count == 0 { return (false, 0) }
        if v > intAt(count - 1) { return (false, count) }
        if v < intAt(0) { return (false, 0) }
        var lo = 0
        var hi = count - 1
        while lo <= hi {
            let mid = (lo &+ hi) >> 1
            let x = intAt(mid)
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
        let w = SetValue.intWidth(v)
        if w > width {
            // Redis's intsetUpgradeAndAdd: the value is outside every stored one.
            intsetUpgrade(to: w)
        }
        let (found, pos) = intsetSearch(v)
        if found { return false }
        let count = Int(n)
        if count + 1 > Int(capacity) {
            capacity = UInt32(min(growStorage(toBytes: (count + 1) * Int(width)) / Int(width), Int(UInt32.max)))
        }
        let p = storage!
        let wb = Int(width)
        if pos < count {
            memmove(p + (pos + 1) * wb, p + pos * wb, (count - pos) * wb)
        }
        setInt(pos, v)
        n += 1
        return true
    }

    private func intsetUpgrade(to newWidth: UInt8) {
        let count = Int(n)
        let old = storage
        let oldWidth = width
        let size = max((count + 1) * Int(newWidth), 1)
        guard let q = malloc(size) else { fatalError("SetValue: out of memory") }
        for i in 0..<count {
            let v: Int64
            switch oldWidth {
            case 2: v = Int64(old!.load(fromByteOffset: i * 2, as: Int16.self))
            case 4: v = Int64(old!.load(fromByteOffset: i * 4, as: Int32.self))
            default: v = old!.load(fromByteOffset: i * 8, as: Int64.self)
            }
            switch newWidth {
            case 4: q.storeBytes(of: Int32(truncatingIfNeeded: v), toByteOffset: i * 4, as: Int32.self)
            default: q.storeBytes(of: v, toByteOffset: i * 8, as: Int64.self)
            }
        }
        free(old)
        storage = q
        width = newWidth
        capacity = UInt32(Allocator.usableSize(q) / Int(newWidth))
    }

    private func intsetRemove(_ v: Int64) -> Bool {
        let (found, pos) = intsetSearch(v)
        if !found { return false }
        let p = storage!
        let wb = Int(width)
        let count = Int(n)
        if pos < count - 1 {
            memmove(p + pos * wb, p + (pos + 1) * wb, (count - pos - 1) * wb)
        }
        n -= 1
        if let usable = shrinkStorage(usedBytes: Int(n) * wb, capacityBytes: Int(capacity) * wb) {
            capacity = UInt32(usable / wb)
        }
        return true
    }

    /// Redis's setTypeConvert(OBJ_ENCODING_HT): the integers become decimal members of a
    /// packed set, or of a table when `incoming` more members would not fit one.
    private func convertFromIntset(incoming: Int) {
        let ints = (0..<Int(n)).map { intAt($0) }
        releaseStorage()
        width = 2
        if ints.count + incoming <= SetValue.packedMaxEntries {
            encoding = .packed
            for v in ints {
                withDecimal(v) { packedAppend($0, tag: SetValue.tag(SetValue.hash($0))) }
            }
        } else {
            encoding = .table
            allocateBuckets(SetValue.tableSize(for: ints.count))
            for v in ints {
                withDecimal(v) { tableInsert($0, hash: SetValue.hash($0)) }
            }
        }
    }

    // MARK: packed: [length: 1][tag: 1][bytes] entries

    @inline(__always)
    static func tag(_ h: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: h >> 56) }

    /// Offset of the entry holding `m`, or -1.
    @inline(__always)
    private func packedFind(_ m: UnsafeRawBufferPointer, tag: UInt8) -> Int {
        guard let p = storage, m.count <= SetValue.packedMaxMemberLength else { return -1 }
        let len = m.count
        let want = UInt16(len) | (UInt16(tag) << 8)
        let end = Int(used)
        var off = 0
        while off < end {
            let head = p.loadUnaligned(fromByteOffset: off, as: UInt16.self)
            if head == want && (len == 0 || memcmp(p + off + 2, m.baseAddress!, len) == 0) { return off }
            off += 2 + Int(head & 0xFF)
        }
        return -1
    }

    private func packedAppend(_ m: UnsafeRawBufferPointer, tag: UInt8) {
        let need = Int(used) + 2 + m.count
        if need > Int(capacity) { capacity = UInt32(growStorage(toBytes: need)) }
        let p = storage! + Int(used)
        p.storeBytes(of: UInt8(m.count), as: UInt8.self)
        p.storeBytes(of: tag, toByteOffset: 1, as: UInt8.self)
        if m.count > 0 { (p + 2).copyMemory(from: m.baseAddress!, byteCount: m.count) }
        used = UInt32(need)
        n += 1
    }

    private func packedRemove(at off: Int) {
        let p = storage!
        let size = 2 + Int(p.load(fromByteOffset: off, as: UInt8.self))
        let tail = Int(used) - off - size
        if tail > 0 { memmove(p + off, p + off + size, tail) }
        used -= UInt32(size)
        n -= 1
        if let usable = shrinkStorage(usedBytes: Int(used), capacityBytes: Int(capacity)) {
            capacity = UInt32(usable)
        }
    }

    private func convertPackedToTable() {
        let old = storage
        let end = Int(used)
        let count = Int(n)
        storage = nil
        capacity = 0
        used = 0
        n = 0
        encoding = .table
        allocateBuckets(SetValue.tableSize(for: count + 1))
        if let p = old {
            var off = 0
            while off < end {
                let len = Int(p.load(fromByteOffset: off, as: UInt8.self))
                let m = UnsafeRawBufferPointer(start: p + off + 2, count: len)
                tableInsert(m, hash: SetValue.hash(m))
                off += 2 + len
            }
        }
        free(old)
    }

    // MARK: table: chained buckets of nodes [next: 8][hash: 4][length: 4][bytes]

    static let nodeHeader = 16

    @inline(__always) private var buckets: UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        storage!.assumingMemoryBound(to: UnsafeMutableRawPointer?.self)
    }

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

    /// A zeroed bucket array (all chains empty); malloc'ed like the other buffers.
    private static func newBuckets(_ size: Int) -> UnsafeMutablePointer<UnsafeMutableRawPointer?> {
        guard let p = calloc(size, MemoryLayout<UnsafeMutableRawPointer?>.stride) else {
            fatalError("SetValue: out of memory")
        }
        return p.bindMemory(to: UnsafeMutableRawPointer?.self, capacity: size)
    }

    private func allocateBuckets(_ size: Int) {
        storage = UnsafeMutableRawPointer(SetValue.newBuckets(size))
        capacity = UInt32(size)
    }

    @inline(__always)
    private func tableFind(_ m: UnsafeRawBufferPointer, hash h: UInt64) -> UnsafeMutableRawPointer? {
        let h32 = UInt32(truncatingIfNeeded: h)
        let len = UInt32(m.count)
        var node = buckets[Int(h32 & (capacity - 1))]
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
        if n >= capacity { tableResize(Int(capacity) * 2) }
        let h32 = UInt32(truncatingIfNeeded: h)
        guard let node = malloc(SetValue.nodeHeader + m.count) else { fatalError("SetValue: out of memory") }
        node.storeBytes(of: h32, toByteOffset: 8, as: UInt32.self)
        node.storeBytes(of: UInt32(m.count), toByteOffset: 12, as: UInt32.self)
        if m.count > 0 { (node + SetValue.nodeHeader).copyMemory(from: m.baseAddress!, byteCount: m.count) }
        let b = buckets
        let i = Int(h32 & (capacity - 1))
        node.storeBytes(of: b[i], as: UnsafeMutableRawPointer?.self)
        b[i] = node
        n += 1
    }

    private func tableRemove(_ m: UnsafeRawBufferPointer, hash h: UInt64) -> Bool {
        let h32 = UInt32(truncatingIfNeeded: h)
        let len = UInt32(m.count)
        let b = buckets
        let i = Int(h32 & (capacity - 1))
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
                if capacity > 4 && UInt64(n) * 10 < UInt64(capacity) {
                    tableResize(SetValue.tableSize(for: Int(n)))
                }
                return true
            }
            prev = cur
            node = next
        }
        return false
    }

    private func tableResize(_ size: Int) {
        let oldSize = Int(capacity)
        if size == oldSize { return }
        let old = buckets
        let fresh = SetValue.newBuckets(size)
        let mask = UInt32(size - 1)
        for i in 0..<oldSize {
            var node = old[i]
            while let cur = node {
                node = SetValue.nodeNext(cur)
                let j = Int(SetValue.nodeHash(cur) & mask)
                cur.storeBytes(of: fresh[j], as: UnsafeMutableRawPointer?.self)
                fresh[j] = cur
            }
        }
        free(old)
        storage = UnsafeMutableRawPointer(fresh)
        capacity = UInt32(size)
    }
}
