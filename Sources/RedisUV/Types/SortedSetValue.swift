#if canImport(Glibc)
import Glibc
#endif

/// Redis's sorted set (t_zset.c): members (binary-safe bytes, each once) ordered by
/// (score, member bytes). Two encodings, chosen as Redis chooses them, so OBJECT ENCODING
/// answers the same:
/// - "listpack": at most zset-max-listpack-entries members of at most
///   zset-max-listpack-value bytes, sorted, in ONE packed allocation that operations scan
///   (it is small), as Redis's listpack.
/// - "skiplist": Redis's skiplist with spans (O(log n) insert, delete, rank, n-th), whose
///   nodes also chain into a member → node hash table (Redis's zset dict).
/// A packed set becomes a skiplist when an insert would exceed the limits and never goes
/// back; only results built whole (Z*STORE, GEO STORE) get the encoding their final size
/// calls for (Redis's zsetConvertToListpackIfNeeded).
///
/// The whole state is one word kept in the key's entry (`SlotStoredValue`): the packed
/// block (low bit clear) or the skiplist's state block (low bit set). This struct is a
/// view of that word; `storage` reads and replaces it in the entry.
struct SortedSetValue: SlotStoredValue {
    static var valueType: ValueType { .zset }

    let entry: KeyEntry

    init(entry: KeyEntry) {
        self.entry = entry
    }

    /// An empty set in the packed encoding, under no key yet.
    init() {
        self.init(detachedWord: SortedSetValue.emptyWord())
    }

    /// An empty set in the skiplist encoding, its hash table sized for `capacity`
    /// members, under no key yet.
    init(skiplistWithCapacity capacity: Int) {
        self.init(detachedWord: SortedSetValue.emptyWord(skiplistCapacity: capacity))
    }

    /// The word of an empty set: packed, or a skiplist sized for `skiplistCapacity`
    /// members (for `KeyEntry.make(key:word:type:lru:)`).
    static func emptyWord(skiplistCapacity: Int? = nil) -> UInt {
        if let capacity = skiplistCapacity { return UInt(bitPattern: ZSkiplist.create(capacity: capacity).state) | 1 }
        return UInt(bitPattern: Packed.create())
    }

    @inline(__always) private var storage: UInt {
        get { entry.slotWord }
        nonmutating set { entry.slotWord = newValue }
    }

    @inline(__always) var isPacked: Bool { storage & 1 == 0 }

    @inline(__always) fileprivate var packedBase: UnsafeMutableRawPointer {
        UnsafeMutableRawPointer(bitPattern: storage).unsafelyUnwrapped
    }

    /// The skiplist encoding's structure (only when !isPacked).
    @inline(__always) var skiplist: ZSkiplist { SortedSetValue.skiplist(storage) }

    @inline(__always) private static func skiplist(_ word: UInt) -> ZSkiplist {
        ZSkiplist(state: UnsafeMutablePointer(bitPattern: word & ~1).unsafelyUnwrapped)
    }

    var count: Int { isPacked ? Packed.count(packedBase) : skiplist.length }

    // MARK: SlotStoredValue

    static func destroy(_ word: UInt) {
        if word & 1 == 0 { free(UnsafeMutableRawPointer(bitPattern: word)) } else { skiplist(word).destroy() }
    }

    static func encodingName(_ word: UInt) -> String { word & 1 == 0 ? "listpack" : "skiplist" }

    /// zsetDup: a copy in the same encoding.
    static func duplicate(_ word: UInt) -> UInt {
        if word & 1 == 0 {
            let base = UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped
            let n = Packed.used(base)
            let copy = malloc(n)!
            copy.copyMemory(from: base, byteCount: n)
            return UInt(bitPattern: copy)
        }
        let src = skiplist(word)
        let dst = ZSkiplist.create(capacity: src.length)
        // From the greatest down, so every insert stops at the head (as zsetDup does).
        var node = src.tail
        while let n = node {
            _ = dst.insert(score: ZNode.score(n), member: ZNode.member(n))
            node = ZNode.backward(n)
        }
        return UInt(bitPattern: dst.state) | 1
    }

    /// MEMORY USAGE: the packed block, or the skiplist's state, buckets and nodes (the
    /// first `samples` nodes extrapolated, as objectComputeSize does).
    static func memoryUsage(_ word: UInt, samples: Int) -> Int {
        if word & 1 == 0 { return Allocator.usableSize(UnsafeRawPointer(bitPattern: word).unsafelyUnwrapped) }
        let sl = skiplist(word)
        var total = Allocator.usableSize(sl.state) + Allocator.usableSize(sl.state.pointee.buckets)
        total += Allocator.usableSize(sl.state.pointee.header)
        var node = ZNode.forward(sl.state.pointee.header, 0)
        var sampled = 0, bytes = 0
        while let n = node, samples == 0 || sampled < samples {
            bytes += Allocator.usableSize(n)
            sampled += 1
            node = ZNode.forward(n, 0)
        }
        if sampled > 0 { total += bytes * sl.length / sampled }
        return total
    }

    // MARK: lookups

    /// The score of `member` (zsetScore).
    func score(of member: UnsafeRawBufferPointer) -> Double? {
        if isPacked {
            guard let o = Packed.find(packedBase, member) else { return nil }
            return Packed.score(packedBase, o.scoreOffset)
        }
        guard let n = skiplist.find(member) else { return nil }
        return ZNode.score(n)
    }

    /// The 0-based rank of `member` from the lowest (or highest, `reverse`) score
    /// (zsetRank), with its score.
    func rank(of member: UnsafeRawBufferPointer, reverse: Bool) -> (rank: Int, score: Double)? {
        let n = count
        if isPacked {
            let base = packedBase
            var off = Packed.headerSize
            var i = 0
            let end = Packed.used(base)
            while off < end {
                let e = Packed.entry(base, off)
                if Packed.memberEquals(base, e, member) {
                    let s = Packed.score(base, e.scoreOffset)
                    return (reverse ? n - 1 - i : i, s)
                }
                off = e.end
                i += 1
            }
            return nil
        }
        let sl = skiplist
        guard let node = sl.find(member) else { return nil }
        let r = sl.rank(score: ZNode.score(node), member: member)  // 1-based
        return (reverse ? n - r : r - 1, ZNode.score(node))
    }

    // MARK: ZADD (zsetAdd)

    struct AddFlags: OptionSet {
        let rawValue: UInt8
        static let incr = AddFlags(rawValue: 1)
        static let nx = AddFlags(rawValue: 2)
        static let xx = AddFlags(rawValue: 4)
        static let gt = AddFlags(rawValue: 8)
        static let lt = AddFlags(rawValue: 16)
    }

    /// What zsetAdd did (Redis's ZADD_OUT_* flags); none of them: processed, unchanged.
    enum AddOutcome {
        case added, updated, unchanged
        /// Nothing done because of NX, XX, GT or LT.
        case skipped
        /// INCR made the score NaN; nothing changed.
        case nan
    }

    /// Redis's zsetAdd: adds `member` or updates its score under `flags`; the final score
    /// (after INCR) is returned with the outcome. A packed set about to exceed `limits`
    /// becomes a skiplist first.
    func add(_ score: Double, _ member: UnsafeRawBufferPointer, flags: AddFlags,
             limits: ZsetLimits) -> (AddOutcome, Double) {
        var score = score
        if score.isNaN { return (.nan, score) }
        if isPacked {
            let base = packedBase
            if let e = Packed.find(base, member) {
                if flags.contains(.nx) { return (.skipped, score) }
                let current = Packed.score(base, e.scoreOffset)
                if flags.contains(.incr) {
                    score += current
                    if score.isNaN { return (.nan, score) }
                }
                if (flags.contains(.lt) && score >= current) || (flags.contains(.gt) && score <= current) {
                    return (.skipped, score)
                }
                if score != current {
                    // Remove and re-insert, as zzlDelete + zzlInsert.
                    let shrunk = Packed.remove(base, from: e.start, to: e.end, entries: 1)
                    storage = UInt(bitPattern: Packed.insert(shrunk, score: score, member: member))
                    return (.updated, score)
                }
                return (.unchanged, score)
            }
            if flags.contains(.xx) { return (.skipped, score) }
            if Packed.count(base) + 1 > limits.maxEntries || member.count > limits.maxValue
                || Packed.used(base) + member.count > Packed.maxBytes {
                convertToSkiplist(capacity: Packed.count(base) + 1)
            } else {
                storage = UInt(bitPattern: Packed.insert(base, score: score, member: member))
                return (.added, score)
            }
        }
        let sl = skiplist
        if let node = sl.find(member) {
            if flags.contains(.nx) { return (.skipped, score) }
            let current = ZNode.score(node)
            if flags.contains(.incr) {
                score += current
                if score.isNaN { return (.nan, score) }
            }
            if (flags.contains(.lt) && score >= current) || (flags.contains(.gt) && score <= current) {
                return (.skipped, score)
            }
            if score != current {
                sl.updateScore(node, to: score)
                return (.updated, score)
            }
            return (.unchanged, score)
        }
        if flags.contains(.xx) { return (.skipped, score) }
        _ = sl.insert(score: score, member: member)
        return (.added, score)
    }

    /// zsetDel: removes `member`, true when it was there.
    @discardableResult
    func remove(_ member: UnsafeRawBufferPointer) -> Bool {
        if isPacked {
            let base = packedBase
            guard let e = Packed.find(base, member) else { return false }
            storage = UInt(bitPattern: Packed.remove(base, from: e.start, to: e.end, entries: 1))
            return true
        }
        let sl = skiplist
        guard sl.delete(member) else { return false }
        sl.shrinkIfSparse()
        return true
    }

    /// zsetConvert(OBJ_ENCODING_SKIPLIST), the hash table sized for `capacity`.
    func convertToSkiplist(capacity: Int) {
        guard isPacked else { return }
        let base = packedBase
        let sl = ZSkiplist.create(capacity: capacity)
        Packed.forEach(base) { member, score in _ = sl.insert(score: score, member: member) }
        free(base)
        storage = UInt(bitPattern: sl.state) | 1
    }

    // MARK: range removals (ZREMRANGEBY*, ZPOP*)

    /// Removes ranks `start...end` (0-based, valid); returns how many.
    @discardableResult
    func removeRange(ranks start: Int, _ end: Int) -> Int {
        if isPacked {
            let base = packedBase
            let from = Packed.offset(base, ofIndex: start)
            let to = Packed.offset(base, ofIndex: end + 1)
            storage = UInt(bitPattern: Packed.remove(base, from: from, to: to, entries: end - start + 1))
            return end - start + 1
        }
        let sl = skiplist
        let n = sl.deleteRange(ranks: start + 1, end + 1)
        sl.shrinkIfSparse()
        return n
    }

    /// zzlDeleteRangeByScore / zslDeleteRangeByScore.
    func removeRange(_ range: ZScoreRange) -> Int {
        if isPacked {
            return removePacked { $0.firstInRange(range) } through: { v, p in range.lteMax(v.score(p)) }
        }
        let sl = skiplist
        let n = sl.deleteRange(range)
        sl.shrinkIfSparse()
        return n
    }

    /// zzlDeleteRangeByLex / zslDeleteRangeByLex.
    func removeRange(_ range: ZLexRange) -> Int {
        if isPacked {
            return removePacked { $0.firstInLexRange(range) } through: { v, p in range.lteMax(v.member(p)) }
        }
        let sl = skiplist
        let n = sl.deleteRange(range)
        sl.shrinkIfSparse()
        return n
    }

    /// The listpack range deletions: from the first element in range, everything while
    /// `inRange` holds.
    private func removePacked(first: (PackedView) -> Int?, through inRange: (PackedView, Int) -> Bool) -> Int {
        let (from, to) = withPackedView { v -> (Int, Int) in
            guard let f = first(v) else { return (0, 0) }
            var l = f
            while l + 1 < v.length && inRange(v, l + 1) { l += 1 }
            return (f, l + 1)
        }
        if to == from { return 0 }
        removeRange(ranks: from, to - 1)
        return to - from
    }

    // MARK: reading

    /// Runs `body` over a decoded index of the packed encoding (only when isPacked): the
    /// range algorithms then read it by position, in both directions.
    func withPackedView<R>(_ body: (PackedView) throws -> R) rethrows -> R {
        let base = packedBase
        let n = Packed.count(base)
        return try withUnsafeTemporaryAllocation(of: PackedView.Item.self, capacity: max(n, 1)) { items in
            var off = Packed.headerSize
            for i in 0..<n {
                let e = Packed.entry(base, off)
                items[i] = PackedView.Item(member: UnsafeRawPointer(base + e.memberOffset), length: e.memberLength,
                                           score: Packed.score(base, e.scoreOffset))
                off = e.end
            }
            return try body(PackedView(items: UnsafeBufferPointer(rebasing: items[0..<n])))
        }
    }

    /// Every member with its score, in order.
    func forEach(_ body: (UnsafeRawBufferPointer, Double) -> Void) {
        if isPacked {
            Packed.forEach(packedBase, body)
            return
        }
        var node = ZNode.forward(skiplist.state.pointee.header, 0)
        while let n = node {
            body(ZNode.member(n), ZNode.score(n))
            node = ZNode.forward(n, 0)
        }
    }

    /// Every member with its score from the highest down: the order in which Redis's
    /// zuiNext walks a sorted set (ZRANDMEMBER returning the whole set shows it).
    func forEachReversed(_ body: (UnsafeRawBufferPointer, Double) -> Void) {
        if isPacked {
            withPackedView { v in
                var i = v.length - 1
                while i >= 0 { body(v.member(i), v.score(i)); i -= 1 }
            }
            return
        }
        var node = skiplist.tail
        while let n = node {
            body(ZNode.member(n), ZNode.score(n))
            node = ZNode.backward(n)
        }
    }

    /// Longest member and total member bytes (what decides the encoding of a built set).
    var memberLengths: (max: Int, total: Int) {
        var m = 0, t = 0
        forEach { member, _ in m = max(m, member.count); t += member.count }
        return (m, t)
    }

    /// A random member with its score (skiplist: Redis's dictGetFairRandomKey).
    func randomElement(_ rng: inout ZRandom) -> (UnsafeRawBufferPointer, Double) {
        if isPacked {
            let i = rng.next(below: count)
            let base = packedBase
            let e = Packed.entry(base, Packed.offset(base, ofIndex: i))
            return (UnsafeRawBufferPointer(start: base + e.memberOffset, count: e.memberLength),
                    Packed.score(base, e.scoreOffset))
        }
        let n = skiplist.fairRandomNode(&rng)
        return (ZNode.member(n), ZNode.score(n))
    }

    // MARK: building whole sets (Z*STORE, ZRANGESTORE, GEO STORE)

    /// A set holding `elements` (members unique) in the encoding Redis ends up with for a
    /// result built whole: listpack when within `limits`, else skiplist.
    static func build(_ elements: [(member: [UInt8], score: Double)], limits: ZsetLimits) -> SortedSetValue {
        SortedSetValue(detachedWord: buildWord(elements, limits: limits))
    }

    /// `build`'s word, for an entry made directly with it (RDB load).
    static func buildWord(_ elements: [(member: [UInt8], score: Double)], limits: ZsetLimits) -> UInt {
        var maxLength = 0, total = 0
        for e in elements {
            maxLength = max(maxLength, e.member.count)
            total += e.member.count
        }
        let sorted = elements.sorted { a, b in
            if a.score != b.score { return a.score < b.score }
            return a.member.withUnsafeBytes { x in b.member.withUnsafeBytes { y in compareBytes(x, y) < 0 } }
        }
        if elements.count <= limits.maxEntries && maxLength <= limits.maxValue && total < Packed.maxBytes {
            return UInt(bitPattern: Packed.build(sorted))
        }
        let sl = ZSkiplist.create(capacity: elements.count)
        // From the greatest down, so every insert stops at the head.
        for e in sorted.reversed() {
            e.member.withUnsafeBytes { _ = sl.insert(score: e.score, member: $0) }
        }
        return UInt(bitPattern: sl.state) | 1
    }

    /// Bulk construction (RDB load of a listpack zset): the packed encoding in one
    /// allocation from members that `each` hands over, twice, in (score, member) order
    /// and without repeats. The caller has checked order, uniqueness and the limits;
    /// `build` is the general path (any order, either encoding).
    static func buildPacked(count: Int, _ each: ((UnsafeRawBufferPointer, Double) -> Void) -> Void) -> SortedSetValue {
        SortedSetValue(detachedWord: buildPackedWord(count: count, each))
    }

    /// `buildPacked`'s word, for an entry made directly with it (RDB load).
    static func buildPackedWord(count: Int, _ each: ((UnsafeRawBufferPointer, Double) -> Void) -> Void) -> UInt {
        var size = Packed.headerSize
        each { m, score in size += Packed.entrySize(member: m.count, score: score) }
        let b = malloc(size)!
        var off = Packed.headerSize
        each { m, score in off += Packed.writeEntry(b + off, member: m, score: score) }
        precondition(off == size)
        Packed.setHeader(b, used: size, count: count)
        return UInt(bitPattern: b)
    }

    // MARK: ZSCAN

    /// One step of ZSCAN over the skiplist encoding's hash table (Redis's dictScan): the
    /// members of one bucket go to `visit`; returns the next cursor.
    func scanStep(cursor: UInt64, _ visit: (UnsafeRawBufferPointer, Double) -> Void) -> UInt64 {
        skiplist.scan(cursor: cursor) { visit(ZNode.member($0), ZNode.score($0)) }
    }
}

/// The packed-encoding limits in force (zset-max-listpack-entries / -value).
struct ZsetLimits {
    var maxEntries: Int
    var maxValue: Int
}

extension ServerConfig {
    var zsetLimits: ZsetLimits {
        ZsetLimits(maxEntries: zsetMaxListpackEntries, maxValue: zsetMaxListpackValue)
    }
}

// MARK: - ranges

/// A score interval (Redis's zrangespec): an exclusive end was written with "(".
struct ZScoreRange {
    var min: Double
    var max: Double
    var minExclusive = false
    var maxExclusive = false

    @inline(__always) func gteMin(_ v: Double) -> Bool { minExclusive ? v > min : v >= min }
    @inline(__always) func lteMax(_ v: Double) -> Bool { maxExclusive ? v < max : v <= max }
    /// Ranges that can hold nothing (zslIsInRange's first test).
    var isEmpty: Bool { min > max || (min == max && (minExclusive || maxExclusive)) }
}

/// One end of a lexicographic range (zslParseLexRangeItem): "-" and "+" are below and
/// above every string, "(" and "[" open and close a value. The bytes point into the
/// command's arguments.
struct ZLexBound {
    enum Kind { case value, minusInfinity, plusInfinity }
    var kind: Kind
    var bytes: UnsafeRawBufferPointer
    var exclusive: Bool

    /// sdscmplex(member, bound).
    @inline(__always) func compare(member m: UnsafeRawBufferPointer) -> Int {
        switch kind {
        case .minusInfinity: return 1
        case .plusInfinity: return -1
        case .value: return compareBytes(m, bytes)
        }
    }
}

/// A lexicographic interval (Redis's zlexrangespec).
struct ZLexRange {
    var min: ZLexBound
    var max: ZLexBound

    @inline(__always) func gteMin(_ m: UnsafeRawBufferPointer) -> Bool {
        let c = min.compare(member: m)
        return min.exclusive ? c > 0 : c >= 0
    }
    @inline(__always) func lteMax(_ m: UnsafeRawBufferPointer) -> Bool {
        let c = max.compare(member: m)
        return max.exclusive ? c < 0 : c <= 0
    }

    /// Ranges that can hold nothing (zslIsInLexRange's first test, sdscmplex(min, max)).
    var isEmpty: Bool {
        let c: Int
        if min.kind == max.kind && min.kind != .value {
            c = 0
        } else if min.kind == .minusInfinity || max.kind == .plusInfinity {
            c = -1
        } else if min.kind == .plusInfinity || max.kind == .minusInfinity {
            c = 1
        } else {
            c = compareBytes(min.bytes, max.bytes)
        }
        return c > 0 || (c == 0 && (min.exclusive || max.exclusive))
    }
}

/// Redis's sdscmp: bytes compared unsigned, then the shorter first.
@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = Swift.min(a.count, b.count)
    if n > 0 {
        let r = memcmp(a.baseAddress!, b.baseAddress!, n)
        if r != 0 { return Int(r) }
    }
    return a.count - b.count
}

@inline(__always)
func bytesEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
}

// MARK: - read views (one range algorithm for both encodings)

/// Position-based reading shared by both encodings, so each range algorithm of the
/// commands is written once (Redis writes each twice, zzl* and zsl*). The searches keep
/// each encoding's own algorithm: they differ when members of a lexicographic range do
/// not share one score, where Redis's results differ too.
protocol ZsetReadView {
    associatedtype Pos
    var length: Int { get }
    func first() -> Pos?
    func last() -> Pos?
    func next(_ p: Pos) -> Pos?
    func prev(_ p: Pos) -> Pos?
    func score(_ p: Pos) -> Double
    func member(_ p: Pos) -> UnsafeRawBufferPointer
    /// 0-based rank → position.
    func at(rank: Int) -> Pos?
    /// 0-based rank of a position.
    func rank(_ p: Pos) -> Int
    func firstInRange(_ r: ZScoreRange) -> Pos?
    func lastInRange(_ r: ZScoreRange) -> Pos?
    func firstInLexRange(_ r: ZLexRange) -> Pos?
    func lastInLexRange(_ r: ZLexRange) -> Pos?
}

/// The packed encoding, decoded into an array of (member, score) for the command.
struct PackedView: ZsetReadView {
    struct Item {
        var member: UnsafeRawPointer
        var length: Int
        var score: Double
    }
    let items: UnsafeBufferPointer<Item>

    var length: Int { items.count }
    func first() -> Int? { items.isEmpty ? nil : 0 }
    func last() -> Int? { items.isEmpty ? nil : items.count - 1 }
    func next(_ p: Int) -> Int? { p + 1 < items.count ? p + 1 : nil }
    func prev(_ p: Int) -> Int? { p > 0 ? p - 1 : nil }
    func score(_ p: Int) -> Double { items[p].score }
    func member(_ p: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: items[p].member, count: items[p].length) }
    func at(rank: Int) -> Int? { rank >= 0 && rank < items.count ? rank : nil }
    func rank(_ p: Int) -> Int { p }

    /// zzlIsInRange.
    private func isInRange(_ r: ZScoreRange) -> Bool {
        if r.isEmpty || items.isEmpty { return false }
        return r.gteMin(items[items.count - 1].score) && r.lteMax(items[0].score)
    }

    /// zzlFirstInRange.
    func firstInRange(_ r: ZScoreRange) -> Int? {
        if !isInRange(r) { return nil }
        for i in 0..<items.count where r.gteMin(items[i].score) {
            return r.lteMax(items[i].score) ? i : nil
        }
        return nil
    }

    /// zzlLastInRange.
    func lastInRange(_ r: ZScoreRange) -> Int? {
        if !isInRange(r) { return nil }
        var i = items.count - 1
        while i >= 0 {
            if r.lteMax(items[i].score) { return r.gteMin(items[i].score) ? i : nil }
            i -= 1
        }
        return nil
    }

    /// zzlIsInLexRange.
    private func isInLexRange(_ r: ZLexRange) -> Bool {
        if r.isEmpty || items.isEmpty { return false }
        return r.gteMin(member(items.count - 1)) && r.lteMax(member(0))
    }

    /// zzlFirstInLexRange: the first member >= min, if it is also <= max.
    func firstInLexRange(_ r: ZLexRange) -> Int? {
        if !isInLexRange(r) { return nil }
        for i in 0..<items.count where r.gteMin(member(i)) {
            return r.lteMax(member(i)) ? i : nil
        }
        return nil
    }

    /// zzlLastInLexRange: from the tail, the first member <= max, if it is also >= min.
    func lastInLexRange(_ r: ZLexRange) -> Int? {
        if !isInLexRange(r) { return nil }
        var i = items.count - 1
        while i >= 0 {
            if r.lteMax(member(i)) { return r.gteMin(member(i)) ? i : nil }
            i -= 1
        }
        return nil
    }
}

// MARK: - packed encoding

/// The packed block: `[used bytes: UInt32][count: UInt32]` then the entries in order,
/// each `[member length: LEB128][member bytes][score]`. A score is one tag byte, with the
/// value in the tag (integers 0...239) or after it: Int8, Int16, Int32, Float32 (when
/// exact) or Float64, so small and integral scores cost 1-5 bytes as in Redis's listpack
/// (which stores scores as short integers or text).
enum Packed {
    static let headerSize = 8
    /// Redis's listpack safety limit (lpSafeToAdd): 1 GB.
    static let maxBytes = 1 << 30

    static let tagInt8: UInt8 = 0xF0, tagInt16: UInt8 = 0xF1, tagInt32: UInt8 = 0xF2
    static let tagFloat32: UInt8 = 0xF3, tagFloat64: UInt8 = 0xF4

    struct Entry {
        var start: Int
        var memberOffset: Int
        var memberLength: Int
        var scoreOffset: Int
        var end: Int
    }

    static func create() -> UnsafeMutableRawPointer {
        let p = malloc(headerSize)!
        p.storeBytes(of: UInt32(headerSize), as: UInt32.self)
        p.storeBytes(of: UInt32(0), toByteOffset: 4, as: UInt32.self)
        return p
    }

    @inline(__always) static func used(_ b: UnsafeRawPointer) -> Int { Int(b.load(as: UInt32.self)) }
    @inline(__always) static func count(_ b: UnsafeRawPointer) -> Int { Int(b.load(fromByteOffset: 4, as: UInt32.self)) }

    @inline(__always) static func setHeader(_ b: UnsafeMutableRawPointer, used: Int, count: Int) {
        b.storeBytes(of: UInt32(used), as: UInt32.self)
        b.storeBytes(of: UInt32(count), toByteOffset: 4, as: UInt32.self)
    }

    /// The entry starting at `off`.
    @inline(__always) static func entry(_ b: UnsafeRawPointer, _ off: Int) -> Entry {
        var p = off
        var len = 0
        var shift = 0
        while true {
            let byte = b.load(fromByteOffset: p, as: UInt8.self)
            p += 1
            len |= Int(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        let s = p + len
        return Entry(start: off, memberOffset: p, memberLength: len, scoreOffset: s,
                     end: s + scoreSize(tag: b.load(fromByteOffset: s, as: UInt8.self)))
    }

    @inline(__always) static func scoreSize(tag: UInt8) -> Int {
        switch tag {
        case tagInt8: return 2
        case tagInt16: return 3
        case tagInt32, tagFloat32: return 5
        case tagFloat64: return 9
        default: return 1
        }
    }

    @inline(__always) static func score(_ b: UnsafeRawPointer, _ off: Int) -> Double {
        let tag = b.load(fromByteOffset: off, as: UInt8.self)
        switch tag {
        case tagInt8: return Double(b.load(fromByteOffset: off + 1, as: Int8.self))
        case tagInt16: return Double(b.loadUnaligned(fromByteOffset: off + 1, as: Int16.self))
        case tagInt32: return Double(b.loadUnaligned(fromByteOffset: off + 1, as: Int32.self))
        case tagFloat32: return Double(b.loadUnaligned(fromByteOffset: off + 1, as: Float.self))
        case tagFloat64: return b.loadUnaligned(fromByteOffset: off + 1, as: Double.self)
        default: return Double(tag)
        }
    }

    /// Bytes the score takes. -0.0 is stored as the integer 0, as Redis 7.0's zzlInsertAt
    /// (double2ll) does, so a listpack reads it back as 0.
    @inline(__always) static func encodedSize(of d: Double) -> Int {
        if let i = Int32(exactly: d) {
            if i >= 0 && i < Int32(tagInt8) { return 1 }
            if Int8(exactly: i) != nil { return 2 }
            if Int16(exactly: i) != nil { return 3 }
            return 5
        }
        if Double(Float(d)) == d { return 5 }
        return 9
    }

    @inline(__always) static func writeScore(_ d: Double, to p: UnsafeMutableRawPointer) {
        if let i = Int32(exactly: d) {
            if i >= 0 && i < Int32(tagInt8) {
                p.storeBytes(of: UInt8(i), as: UInt8.self)
            } else if let v = Int8(exactly: i) {
                p.storeBytes(of: tagInt8, as: UInt8.self)
                p.storeBytes(of: v, toByteOffset: 1, as: Int8.self)
            } else if let v = Int16(exactly: i) {
                p.storeBytes(of: tagInt16, as: UInt8.self)
                p.storeBytes(of: v, toByteOffset: 1, as: Int16.self)
            } else {
                p.storeBytes(of: tagInt32, as: UInt8.self)
                p.storeBytes(of: i, toByteOffset: 1, as: Int32.self)
            }
        } else if Double(Float(d)) == d {
            p.storeBytes(of: tagFloat32, as: UInt8.self)
            p.storeBytes(of: Float(d), toByteOffset: 1, as: Float.self)
        } else {
            p.storeBytes(of: tagFloat64, as: UInt8.self)
            p.storeBytes(of: d, toByteOffset: 1, as: Double.self)
        }
    }

    @inline(__always) static func varintSize(_ n: Int) -> Int {
        var size = 1
        var v = n >> 7
        while v != 0 { size += 1; v >>= 7 }
        return size
    }

    static func entrySize(member n: Int, score: Double) -> Int {
        varintSize(n) + n + encodedSize(of: score)
    }

    /// Writes one entry at `p`; returns its size.
    @discardableResult
    static func writeEntry(_ p: UnsafeMutableRawPointer, member: UnsafeRawBufferPointer, score: Double) -> Int {
        var o = 0
        var v = member.count
        repeat {
            let byte = UInt8(v & 0x7F)
            v >>= 7
            p.storeBytes(of: v != 0 ? byte | 0x80 : byte, toByteOffset: o, as: UInt8.self)
            o += 1
        } while v != 0
        if member.count > 0 { (p + o).copyMemory(from: member.baseAddress!, byteCount: member.count) }
        o += member.count
        writeScore(score, to: p + o)
        return o + encodedSize(of: score)
    }

    @inline(__always) static func memberEquals(_ b: UnsafeRawPointer, _ e: Entry, _ m: UnsafeRawBufferPointer) -> Bool {
        e.memberLength == m.count && (m.count == 0 || memcmp(b + e.memberOffset, m.baseAddress!, m.count) == 0)
    }

    /// lpFind: the entry of `member`.
    static func find(_ b: UnsafeRawPointer, _ member: UnsafeRawBufferPointer) -> Entry? {
        let end = used(b)
        var off = headerSize
        while off < end {
            let e = entry(b, off)
            if memberEquals(b, e, member) { return e }
            off = e.end
        }
        return nil
    }

    /// Byte offset of entry `index` (`count` gives the end).
    static func offset(_ b: UnsafeRawPointer, ofIndex index: Int) -> Int {
        var off = headerSize
        var i = 0
        while i < index {
            off = entry(b, off).end
            i += 1
        }
        return off
    }

    static func forEach(_ b: UnsafeRawPointer, _ body: (UnsafeRawBufferPointer, Double) -> Void) {
        let end = used(b)
        var off = headerSize
        while off < end {
            let e = entry(b, off)
            body(UnsafeRawBufferPointer(start: b + e.memberOffset, count: e.memberLength), score(b, e.scoreOffset))
            off = e.end
        }
    }

    /// zzlInsert: at the place (score, member) sorts to; returns the (moved) block.
    static func insert(_ b: UnsafeMutableRawPointer, score: Double, member: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let end = used(b)
        var off = headerSize
        while off < end {
            let e = entry(b, off)
            let s = Packed.score(b, e.scoreOffset)
            if s > score { break }
            if s == score && compareBytes(UnsafeRawBufferPointer(start: b + e.memberOffset, count: e.memberLength), member) > 0 {
                break
            }
            off = e.end
        }
        let size = entrySize(member: member.count, score: score)
        let nb = realloc(b, end + size)!
        if off < end { memmove(nb + off + size, nb + off, end - off) }
        writeEntry(nb + off, member: member, score: score)
        setHeader(nb, used: end + size, count: count(nb) + 1)
        return nb
    }

    /// Removes the bytes `from..<to` holding `entries` entries; returns the (moved) block.
    @discardableResult
    static func remove(_ b: UnsafeMutableRawPointer, from: Int, to: Int, entries: Int) -> UnsafeMutableRawPointer {
        let end = used(b)
        if to < end { memmove(b + from, b + to, end - to) }
        let newUsed = end - (to - from)
        setHeader(b, used: newUsed, count: count(b) - entries)
        return realloc(b, newUsed)!
    }

    /// A block holding `sorted` (already in order).
    static func build(_ sorted: [(member: [UInt8], score: Double)]) -> UnsafeMutableRawPointer {
        var size = headerSize
        for e in sorted { size += entrySize(member: e.member.count, score: e.score) }
        let b = malloc(size)!
        var off = headerSize
        for e in sorted {
            off += e.member.withUnsafeBytes { writeEntry(b + off, member: $0, score: e.score) }
        }
        setHeader(b, used: size, count: sorted.count)
        return b
    }
}

// MARK: - skiplist encoding

/// A skiplist node, one malloc'ed block (Redis's zskiplistNode with the member inline and
/// the hash chain link of the zset dict folded in):
/// `[score: Double][backward][hash next][member length: UInt32][level: UInt32]`
/// `[level × (forward, span)][member bytes]`.
enum ZNode {
    static let maxLevel = 32  // ZSKIPLIST_MAXLEVEL
    static let levelsOffset = 32

    @inline(__always) static func score(_ n: UnsafeMutableRawPointer) -> Double { n.load(as: Double.self) }
    @inline(__always) static func setScore(_ n: UnsafeMutableRawPointer, _ v: Double) { n.storeBytes(of: v, as: Double.self) }
    @inline(__always) static func backward(_ n: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        n.load(fromByteOffset: 8, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func setBackward(_ n: UnsafeMutableRawPointer, _ v: UnsafeMutableRawPointer?) {
        n.storeBytes(of: v, toByteOffset: 8, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func hashNext(_ n: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
        n.load(fromByteOffset: 16, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func setHashNext(_ n: UnsafeMutableRawPointer, _ v: UnsafeMutableRawPointer?) {
        n.storeBytes(of: v, toByteOffset: 16, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func memberLength(_ n: UnsafeMutableRawPointer) -> Int { Int(n.load(fromByteOffset: 24, as: UInt32.self)) }
    @inline(__always) static func level(_ n: UnsafeMutableRawPointer) -> Int { Int(n.load(fromByteOffset: 28, as: UInt32.self)) }
    @inline(__always) static func forward(_ n: UnsafeMutableRawPointer, _ i: Int) -> UnsafeMutableRawPointer? {
        n.load(fromByteOffset: levelsOffset + i &* 16, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func setForward(_ n: UnsafeMutableRawPointer, _ i: Int, _ v: UnsafeMutableRawPointer?) {
        n.storeBytes(of: v, toByteOffset: levelsOffset + i &* 16, as: UnsafeMutableRawPointer?.self)
    }
    @inline(__always) static func span(_ n: UnsafeMutableRawPointer, _ i: Int) -> Int {
        n.load(fromByteOffset: levelsOffset + 8 + i &* 16, as: Int.self)
    }
    @inline(__always) static func setSpan(_ n: UnsafeMutableRawPointer, _ i: Int, _ v: Int) {
        n.storeBytes(of: v, toByteOffset: levelsOffset + 8 + i &* 16, as: Int.self)
    }
    @inline(__always) static func member(_ n: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: n + levelsOffset + level(n) &* 16, count: memberLength(n))
    }

    static func create(level: Int, score: Double, member: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let n = malloc(levelsOffset + level * 16 + member.count)!
        setScore(n, score)
        setBackward(n, nil)
        setHashNext(n, nil)
        n.storeBytes(of: UInt32(member.count), toByteOffset: 24, as: UInt32.self)
        n.storeBytes(of: UInt32(level), toByteOffset: 28, as: UInt32.self)
        if member.count > 0 { (n + levelsOffset + level * 16).copyMemory(from: member.baseAddress!, byteCount: member.count) }
        return n
    }

    /// (node.score, node.member) < (score, member)
    @inline(__always) static func less(_ n: UnsafeMutableRawPointer, _ score: Double, _ member: UnsafeRawBufferPointer) -> Bool {
        let s = ZNode.score(n)
        return s < score || (s == score && compareBytes(ZNode.member(n), member) < 0)
    }
}

/// The skiplist's bookkeeping, in its own malloc'ed block.
struct ZSkiplistState {
    var header: UnsafeMutableRawPointer
    var tail: UnsafeMutableRawPointer?
    var length: Int
    var level: Int
    /// The member → node hash table: chains through the nodes' `hash next`.
    var buckets: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    var mask: Int
    /// State of the level generator (xorshift64*).
    var random: UInt64
}

/// Seed of the member hash, random per process as Redis's siphash seed.
let zsetHashSeed: UInt64 = UInt64.random(in: 0...UInt64.max)

/// Redis's zskiplist (Pugh's skiplist with spans for ranks and a backward link on level 0)
/// plus the hash table of its nodes by member. Functions follow t_zset.c's zsl*.
struct ZSkiplist {
    let state: UnsafeMutablePointer<ZSkiplistState>

    static let minBuckets = 4  // DICT_HT_INITIAL_SIZE

    static func create(capacity: Int) -> ZSkiplist {
        let header = ZNode.create(level: ZNode.maxLevel, score: 0, member: UnsafeRawBufferPointer(start: nil, count: 0))
        for i in 0..<ZNode.maxLevel {
            ZNode.setForward(header, i, nil)
            ZNode.setSpan(header, i, 0)
        }
        let size = bucketCount(for: capacity)
        let buckets = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: size)
        buckets.initialize(repeating: nil, count: size)
        let state = UnsafeMutablePointer<ZSkiplistState>.allocate(capacity: 1)
        let seed = UInt64(UInt(bitPattern: state)) &* 0x9E37_79B9_7F4A_7C15 ^ zsetHashSeed
        state.initialize(to: ZSkiplistState(header: header, tail: nil, length: 0, level: 1, buckets: buckets,
                                            mask: size - 1, random: seed | 1))
        return ZSkiplist(state: state)
    }

    /// Redis's _dictNextExp: the power of two at least `n` (at least 4).
    static func bucketCount(for n: Int) -> Int {
        var size = minBuckets
        while size < n { size *= 2 }
        return size
    }

    func destroy() {
        var node: UnsafeMutableRawPointer? = state.pointee.header
        while let n = node {
            node = ZNode.forward(n, 0)
            free(n)
        }
        state.pointee.buckets.deallocate()
        state.deallocate()
    }

    @inline(__always) var length: Int { state.pointee.length }
    @inline(__always) var tail: UnsafeMutableRawPointer? { state.pointee.tail }
    @inline(__always) var firstNode: UnsafeMutableRawPointer? { ZNode.forward(state.pointee.header, 0) }

    /// zslRandomLevel: level k+1 with probability 4^-k (ZSKIPLIST_P = 0.25), two random
    /// bits per level.
    private func randomLevel() -> Int {
        var x = state.pointee.random
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        state.pointee.random = x
        let r = x &* 0x2545_F491_4F6C_DD1D
        return Swift.min(1 + r.trailingZeroBitCount / 2, ZNode.maxLevel)
    }

    // MARK: hash table

    @inline(__always) private func bucket(_ member: UnsafeRawBufferPointer) -> Int {
        Int(truncatingIfNeeded: hashKeyBytes(member.baseAddress, member.count, seed: zsetHashSeed)) & state.pointee.mask
    }

    /// The node of `member` (dictFind).
    func find(_ member: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer? {
        var n = state.pointee.buckets[bucket(member)]
        while let cur = n {
            if bytesEqual(ZNode.member(cur), member) { return cur }
            n = ZNode.hashNext(cur)
        }
        return nil
    }

    private func hashInsert(_ node: UnsafeMutableRawPointer) {
        // dict's _dictExpandIfNeeded: grow when full, to the next power of two.
        if state.pointee.length >= state.pointee.mask + 1 { resize(to: state.pointee.length + 1) }
        let b = bucket(ZNode.member(node))
        ZNode.setHashNext(node, state.pointee.buckets[b])
        state.pointee.buckets[b] = node
    }

    private func hashRemove(_ node: UnsafeMutableRawPointer) {
        let b = bucket(ZNode.member(node))
        var prev: UnsafeMutableRawPointer? = nil
        var n = state.pointee.buckets[b]
        while let cur = n {
            if cur == node {
                if let prev { ZNode.setHashNext(prev, ZNode.hashNext(cur)) } else { state.pointee.buckets[b] = ZNode.hashNext(cur) }
                return
            }
            prev = cur
            n = ZNode.hashNext(cur)
        }
    }

    private func resize(to n: Int) {
        let size = ZSkiplist.bucketCount(for: n)
        if size == state.pointee.mask + 1 { return }
        let old = state.pointee.buckets
        let oldSize = state.pointee.mask + 1
        let buckets = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: size)
        buckets.initialize(repeating: nil, count: size)
        state.pointee.buckets = buckets
        state.pointee.mask = size - 1
        for i in 0..<oldSize {
            var node = old[i]
            while let cur = node {
                node = ZNode.hashNext(cur)
                let b = bucket(ZNode.member(cur))
                ZNode.setHashNext(cur, buckets[b])
                buckets[b] = cur
            }
        }
        old.deallocate()
    }

    /// Redis's htNeedsResize + dictResize after deletions: below 10% full, shrink to fit.
    func shrinkIfSparse() {
        let size = state.pointee.mask + 1
        let used = state.pointee.length
        if size > ZSkiplist.minBuckets && used * 100 / size < 10 { resize(to: Swift.max(used, ZSkiplist.minBuckets)) }
    }

    /// dictScan over the buckets: all of one bucket, then the reverse-binary next cursor.
    func scan(cursor: UInt64, _ visit: (UnsafeMutableRawPointer) -> Void) -> UInt64 {
        let m = UInt64(state.pointee.mask)
        var v = cursor
        var n = state.pointee.buckets[Int(v & m)]
        while let cur = n {
            n = ZNode.hashNext(cur)
            visit(cur)
        }
        v |= ~m
        v = reverseBits(v)
        v &+= 1
        return reverseBits(v)
    }

    /// dictGetFairRandomKey over the member hash (Support/FairRandom.swift).
    func fairRandomNode(_ rng: inout ZRandom) -> UnsafeMutableRawPointer {
        let b = state.pointee.buckets
        return fairRandomEntry(count: state.pointee.length, mask: state.pointee.mask, head: { b[$0] },
                               next: { ZNode.hashNext($0) }, below: { rng.next(below: $0) })
    }

    // MARK: skiplist

    /// zslInsert of a new member (absent): creates its node and hashes it.
    @discardableResult
    func insert(score: Double, member: UnsafeRawBufferPointer) -> UnsafeMutableRawPointer {
        let node = ZNode.create(level: randomLevel(), score: score, member: member)
        link(node)
        hashInsert(node)
        state.pointee.length += 1
        return node
    }

    /// Links `node` (its score, member and level set) at its place in the levels.
    private func link(_ node: UnsafeMutableRawPointer) {
        let score = ZNode.score(node)
        let member = ZNode.member(node)
        let level = ZNode.level(node)
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: ZNode.maxLevel) { rank in
                var x = state.pointee.header
                let top = state.pointee.level
                var i = top - 1
                while i >= 0 {
                    rank[i] = i == top - 1 ? 0 : rank[i + 1]
                    while let f = ZNode.forward(x, i), ZNode.less(f, score, member) {
                        rank[i] += ZNode.span(x, i)
                        x = f
                    }
                    update[i] = x
                    i -= 1
                }
                if level > top {
                    for j in top..<level {
                        rank[j] = 0
                        update[j] = state.pointee.header
                        ZNode.setSpan(state.pointee.header, j, state.pointee.length)
                    }
                    state.pointee.level = level
                }
                for j in 0..<level {
                    ZNode.setForward(node, j, ZNode.forward(update[j], j))
                    ZNode.setForward(update[j], j, node)
                    ZNode.setSpan(node, j, ZNode.span(update[j], j) - (rank[0] - rank[j]))
                    ZNode.setSpan(update[j], j, rank[0] - rank[j] + 1)
                }
                var j = level
                while j < state.pointee.level {
                    ZNode.setSpan(update[j], j, ZNode.span(update[j], j) + 1)
                    j += 1
                }
                ZNode.setBackward(node, update[0] == state.pointee.header ? nil : update[0])
                if let f = ZNode.forward(node, 0) { ZNode.setBackward(f, node) } else { state.pointee.tail = node }
            }
        }
    }

    /// zslDeleteNode: unlinks `x` from the levels, `update` holding its predecessors.
    private func unlink(_ x: UnsafeMutableRawPointer, _ update: UnsafeMutablePointer<UnsafeMutableRawPointer>) {
        for i in 0..<state.pointee.level {
            if ZNode.forward(update[i], i) == x {
                ZNode.setSpan(update[i], i, ZNode.span(update[i], i) + ZNode.span(x, i) - 1)
                ZNode.setForward(update[i], i, ZNode.forward(x, i))
            } else {
                ZNode.setSpan(update[i], i, ZNode.span(update[i], i) - 1)
            }
        }
        if let f = ZNode.forward(x, 0) { ZNode.setBackward(f, ZNode.backward(x)) } else { state.pointee.tail = ZNode.backward(x) }
        while state.pointee.level > 1 && ZNode.forward(state.pointee.header, state.pointee.level - 1) == nil {
            state.pointee.level -= 1
        }
    }

    /// Predecessors of (score, member) on every level.
    private func predecessors(_ score: Double, _ member: UnsafeRawBufferPointer,
                              _ update: UnsafeMutablePointer<UnsafeMutableRawPointer>) -> UnsafeMutableRawPointer {
        var x = state.pointee.header
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), ZNode.less(f, score, member) { x = f }
            update[i] = x
            i -= 1
        }
        return x
    }

    /// Removes `member` (zsetRemoveFromSkiplist); true when it was there.
    func delete(_ member: UnsafeRawBufferPointer) -> Bool {
        guard let node = find(member) else { return false }
        remove(node)
        return true
    }

    /// Unlinks `node` from the levels and the hash table and frees it.
    func remove(_ node: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            _ = predecessors(ZNode.score(node), ZNode.member(node), update.baseAddress!)
            unlink(node, update.baseAddress!)
        }
        hashRemove(node)
        state.pointee.length -= 1
        free(node)
    }

    /// zslUpdateScore: in place when the order does not change, else unlink and relink the
    /// same node (so its hash chain link stays valid).
    func updateScore(_ node: UnsafeMutableRawPointer, to newScore: Double) {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            _ = predecessors(ZNode.score(node), ZNode.member(node), update.baseAddress!)
            let back = ZNode.backward(node)
            let fwd = ZNode.forward(node, 0)
            if (back == nil || ZNode.score(back!) < newScore) && (fwd == nil || ZNode.score(fwd!) > newScore) {
                ZNode.setScore(node, newScore)
                return
            }
            unlink(node, update.baseAddress!)
            ZNode.setScore(node, newScore)
            link(node)
        }
    }

    /// zslGetRank: 1-based rank of (score, member), 0 when absent.
    func rank(score: Double, member: UnsafeRawBufferPointer) -> Int {
        var x = state.pointee.header
        var rank = 0
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i) {
                let s = ZNode.score(f)
                guard s < score || (s == score && compareBytes(ZNode.member(f), member) <= 0) else { break }
                rank += ZNode.span(x, i)
                x = f
            }
            if x != state.pointee.header && bytesEqual(ZNode.member(x), member) { return rank }
            i -= 1
        }
        return 0
    }

    /// zslGetElementByRank (1-based).
    func element(atRank r: Int) -> UnsafeMutableRawPointer? {
        var x = state.pointee.header
        var traversed = 0
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), traversed + ZNode.span(x, i) <= r {
                traversed += ZNode.span(x, i)
                x = f
            }
            if traversed == r { return x == state.pointee.header ? nil : x }
            i -= 1
        }
        return nil
    }

    /// zslIsInRange.
    private func isInRange(_ r: ZScoreRange) -> Bool {
        if r.isEmpty { return false }
        guard let t = state.pointee.tail, r.gteMin(ZNode.score(t)) else { return false }
        guard let f = firstNode, r.lteMax(ZNode.score(f)) else { return false }
        return true
    }

    /// zslFirstInRange.
    func firstInRange(_ r: ZScoreRange) -> UnsafeMutableRawPointer? {
        if !isInRange(r) { return nil }
        var x = state.pointee.header
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), !r.gteMin(ZNode.score(f)) { x = f }
            i -= 1
        }
        guard let n = ZNode.forward(x, 0), r.lteMax(ZNode.score(n)) else { return nil }
        return n
    }

    /// zslLastInRange.
    func lastInRange(_ r: ZScoreRange) -> UnsafeMutableRawPointer? {
        if !isInRange(r) { return nil }
        var x = state.pointee.header
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), r.lteMax(ZNode.score(f)) { x = f }
            i -= 1
        }
        if x == state.pointee.header || !r.gteMin(ZNode.score(x)) { return nil }
        return x
    }

    /// zslIsInLexRange.
    private func isInLexRange(_ r: ZLexRange) -> Bool {
        if r.isEmpty { return false }
        guard let t = state.pointee.tail, r.gteMin(ZNode.member(t)) else { return false }
        guard let f = firstNode, r.lteMax(ZNode.member(f)) else { return false }
        return true
    }

    /// zslFirstInLexRange.
    func firstInLexRange(_ r: ZLexRange) -> UnsafeMutableRawPointer? {
        if !isInLexRange(r) { return nil }
        var x = state.pointee.header
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), !r.gteMin(ZNode.member(f)) { x = f }
            i -= 1
        }
        guard let n = ZNode.forward(x, 0), r.lteMax(ZNode.member(n)) else { return nil }
        return n
    }

    /// zslLastInLexRange.
    func lastInLexRange(_ r: ZLexRange) -> UnsafeMutableRawPointer? {
        if !isInLexRange(r) { return nil }
        var x = state.pointee.header
        var i = state.pointee.level - 1
        while i >= 0 {
            while let f = ZNode.forward(x, i), r.lteMax(ZNode.member(f)) { x = f }
            i -= 1
        }
        if x == state.pointee.header || !r.gteMin(ZNode.member(x)) { return nil }
        return x
    }

    /// Unlinks and frees nodes from `x` on while `inRange`, `update` holding the
    /// predecessors of `x`; returns how many.
    private func deleteRun(from start: UnsafeMutableRawPointer?, _ update: UnsafeMutablePointer<UnsafeMutableRawPointer>,
                           while inRange: (UnsafeMutableRawPointer) -> Bool) -> Int {
        var removed = 0
        var x = start
        while let n = x, inRange(n) {
            let next = ZNode.forward(n, 0)
            unlink(n, update)
            hashRemove(n)
            state.pointee.length -= 1
            free(n)
            removed += 1
            x = next
        }
        return removed
    }

    /// zslDeleteRangeByScore.
    func deleteRange(_ r: ZScoreRange) -> Int {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            var x = state.pointee.header
            var i = state.pointee.level - 1
            while i >= 0 {
                while let f = ZNode.forward(x, i), r.minExclusive ? ZNode.score(f) <= r.min : ZNode.score(f) < r.min { x = f }
                update[i] = x
                i -= 1
            }
            return deleteRun(from: ZNode.forward(x, 0), update.baseAddress!) { r.lteMax(ZNode.score($0)) }
        }
    }

    /// zslDeleteRangeByLex.
    func deleteRange(_ r: ZLexRange) -> Int {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            var x = state.pointee.header
            var i = state.pointee.level - 1
            while i >= 0 {
                while let f = ZNode.forward(x, i), !r.gteMin(ZNode.member(f)) { x = f }
                update[i] = x
                i -= 1
            }
            return deleteRun(from: ZNode.forward(x, 0), update.baseAddress!) { r.lteMax(ZNode.member($0)) }
        }
    }

    /// zslDeleteRangeByRank (1-based, inclusive).
    func deleteRange(ranks start: Int, _ end: Int) -> Int {
        withUnsafeTemporaryAllocation(of: UnsafeMutableRawPointer.self, capacity: ZNode.maxLevel) { update in
            var x = state.pointee.header
            var traversed = 0
            var i = state.pointee.level - 1
            while i >= 0 {
                while let f = ZNode.forward(x, i), traversed + ZNode.span(x, i) < start {
                    traversed += ZNode.span(x, i)
                    x = f
                }
                update[i] = x
                i -= 1
            }
            var rank = traversed + 1
            return deleteRun(from: ZNode.forward(x, 0), update.baseAddress!) { _ in
                defer { rank += 1 }
                return rank <= end
            }
        }
    }

    /// Checks the structure (unit tests): order, spans, backward links, hash table.
    func verify() -> Bool {
        var count = 0
        var prev: UnsafeMutableRawPointer? = nil
        var node = firstNode
        while let n = node {
            if ZNode.backward(n) != prev { return false }
            if let p = prev, !ZNode.less(p, ZNode.score(n), ZNode.member(n)) { return false }
            if find(ZNode.member(n)) != n { return false }
            count += 1
            prev = n
            node = ZNode.forward(n, 0)
        }
        if count != length || tail != prev { return false }
        // Every level's spans add up to the ranks.
        for i in 0..<state.pointee.level {
            var x = state.pointee.header
            var rank = 0
            while let f = ZNode.forward(x, i) {
                rank += ZNode.span(x, i)
                if self.rank(score: ZNode.score(f), member: ZNode.member(f)) != rank { return false }
                x = f
            }
        }
        var hashed = 0
        for b in 0...state.pointee.mask {
            var n = state.pointee.buckets[b]
            while let cur = n { hashed += 1; n = ZNode.hashNext(cur) }
        }
        return hashed == count
    }
}

/// The skiplist encoding as a read view.
struct SkiplistView: ZsetReadView {
    let sl: ZSkiplist

    var length: Int { sl.length }
    func first() -> UnsafeMutableRawPointer? { sl.firstNode }
    func last() -> UnsafeMutableRawPointer? { sl.tail }
    func next(_ p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? { ZNode.forward(p, 0) }
    func prev(_ p: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? { ZNode.backward(p) }
    func score(_ p: UnsafeMutableRawPointer) -> Double { ZNode.score(p) }
    func member(_ p: UnsafeMutableRawPointer) -> UnsafeRawBufferPointer { ZNode.member(p) }
    func at(rank: Int) -> UnsafeMutableRawPointer? {
        // Ends first: no log(n) walk for the most common starting points.
        if rank == 0 { return sl.firstNode }
        if rank == sl.length - 1 { return sl.tail }
        return sl.element(atRank: rank + 1)
    }
    func rank(_ p: UnsafeMutableRawPointer) -> Int { sl.rank(score: ZNode.score(p), member: ZNode.member(p)) - 1 }
    func firstInRange(_ r: ZScoreRange) -> UnsafeMutableRawPointer? { sl.firstInRange(r) }
    func lastInRange(_ r: ZScoreRange) -> UnsafeMutableRawPointer? { sl.lastInRange(r) }
    func firstInLexRange(_ r: ZLexRange) -> UnsafeMutableRawPointer? { sl.firstInLexRange(r) }
    func lastInLexRange(_ r: ZLexRange) -> UnsafeMutableRawPointer? { sl.lastInLexRange(r) }
}

/// A small fast generator (xorshift64*) for random members and levels; Redis uses
/// random() for the same purposes, so no sequence is part of the contract.
struct ZRandom {
    var state: UInt64

    init() {
        var s: UInt64 = 0
        while s == 0 { s = UInt64.random(in: 1...UInt64.max) }
        state = s
    }

    init(seed: UInt64) { state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in 0..<n (n > 0).
    mutating func next(below n: Int) -> Int {
        Int(truncatingIfNeeded: next().multipliedFullWidth(by: UInt64(n)).high)
    }
}
