#if canImport(Glibc)
import Glibc
#endif

// Lists as Redis 7.0 keeps them (quicklist.c + listpack.c): a deque of nodes, each a
// packed run of entries. An entry is Redis's listpack entry byte for byte
// (encoding + data + "backlen", the entry's length written backwards), so a node can be
// walked from either end, and a node holds exactly the entries Redis's node would: the
// node-size rule (`list-max-listpack-size`) is quicklist's, computed on listpack sizes.
//
// What differs from Redis is the container around the entries: a node's entries sit in
// a malloc'ed block with free room at either end (no listpack header; its size is
// accounted for), so a push at the head does not move the node's bytes, and the nodes
// are kept in a ring of small structs instead of a linked list of separately allocated
// nodes.

/// One element read from a list: its bytes, or an integer for a decimal string that Redis
/// stores as a number (it reads back as the same text). Points into the list: valid until
/// the list changes.
struct ListElement {
    /// The bytes of a string element; nil for an integer.
    let bytes: UnsafeRawPointer?
    /// Byte count of a string element.
    let length: Int
    let integer: Int

    var isInteger: Bool { bytes == nil }

    /// The length of the element as text (quicklist's size estimates use it).
    var textLength: Int { bytes == nil ? decimalLength(integer) : length }
}

/// Digits (and sign) of `v` in decimal.
func decimalLength(_ v: Int) -> Int {
    var n = v < 0 ? 2 : 1
    var u = v.magnitude
    while u >= 10 {
        u /= 10
        n += 1
    }
    return n
}

/// The listpack entry format (Redis's listpack.c): encodings, sizes, reading both ways.
enum ListPack {
    /// LP_HDR_SIZE + LP_EOF: what a listpack adds around its entries.
    static let headerAndTrailer = 7

    /// Bytes of the backlen that closes an entry whose encoding+data take `l` bytes
    /// (lpEncodeBacklen).
    @inline(__always) static func backlenSize(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2_097_151 { return 3 }
        if l < 268_435_455 { return 4 }
        return 5
    }

    /// Encoding+data bytes of an integer (lpEncodeIntegerGetType).
    @inline(__always) static func integerPayload(_ v: Int) -> Int {
        if v >= 0 && v <= 127 { return 1 }
        if v >= -4096 && v <= 4095 { return 2 }
        if v >= -32768 && v <= 32767 { return 3 }
        if v >= -8_388_608 && v <= 8_388_607 { return 4 }
        if v >= -2_147_483_648 && v <= 2_147_483_647 { return 5 }
        return 9
    }

    /// Encoding+data bytes of a string of `n` bytes (lpEncodeString).
    @inline(__always) static func stringPayload(_ n: Int) -> Int {
        n < 64 ? 1 + n : (n < 4096 ? 2 + n : 5 + n)
    }

    /// Writes the backlen of an entry whose encoding+data take `l` bytes at `p`.
    @inline(__always) static func writeBacklen(_ l: Int, _ p: UnsafeMutableRawPointer) {
        let size = backlenSize(l)
        if size == 1 {
            p.storeBytes(of: UInt8(l), as: UInt8.self)
            return
        }
        // Most significant group first; every byte but the first has the high bit set.
        for i in 0..<size {
            var b = UInt8((l >> (7 * (size - 1 - i))) & 127)
            if i > 0 { b |= 128 }
            p.storeBytes(of: b, toByteOffset: i, as: UInt8.self)
        }
    }

    /// Reads the entry at `p` and its total size in bytes.
    @inline(__always)
    static func decode(_ p: UnsafeRawPointer) -> (element: ListElement, size: Int) {
        let b = p.load(as: UInt8.self)
        if b < 0x80 {                                   // 7-bit unsigned integer
            return (ListElement(bytes: nil, length: 0, integer: Int(b)), 2)
        }
        if b & 0xC0 == 0x80 {                           // string up to 63 bytes
            let n = Int(b & 0x3F)
            return (ListElement(bytes: p + 1, length: n, integer: 0), n + 2)
        }
        if b & 0xE0 == 0xC0 {                           // 13-bit signed integer
            let u = (UInt16(b & 0x1F) << 8) | UInt16(p.load(fromByteOffset: 1, as: UInt8.self))
            let v = Int(Int16(bitPattern: u << 3) >> 3)
            return (ListElement(bytes: nil, length: 0, integer: v), 3)
        }
        if b & 0xF0 == 0xE0 {                           // string up to 4095 bytes
            let n = (Int(b & 0x0F) << 8) | Int(p.load(fromByteOffset: 1, as: UInt8.self))
            return (ListElement(bytes: p + 2, length: n, integer: 0), 2 + n + backlenSize(2 + n))
        }
        switch b {
        case 0xF0:                                      // string with a 32-bit length
            let n = Int(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
            return (ListElement(bytes: p + 5, length: n, integer: 0), 5 + n + backlenSize(5 + n))
        case 0xF1:
            let v = Int(Int16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt16.self))))
            return (ListElement(bytes: nil, length: 0, integer: v), 4)
        case 0xF2:
            let lo = UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt16.self)))
            let u = lo | (UInt32(p.load(fromByteOffset: 3, as: UInt8.self)) << 16)
            let v = Int(Int32(bitPattern: u << 8) >> 8)
            return (ListElement(bytes: nil, length: 0, integer: v), 5)
        case 0xF3:
            let v = Int(Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt32.self))))
            return (ListElement(bytes: nil, length: 0, integer: v), 6)
        default:                                        // 0xF4: 64-bit integer
            let v = Int(Int64(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 1, as: UInt64.self))))
            return (ListElement(bytes: nil, length: 0, integer: v), 10)
        }
    }

    /// Total size of the entry at `p` (lpSkip).
    @inline(__always) static func entrySize(_ p: UnsafeRawPointer) -> Int {
        let b = p.load(as: UInt8.self)
        if b < 0x80 { return 2 }
        if b & 0xC0 == 0x80 { return Int(b & 0x3F) + 2 }
        return decode(p).size
    }

    /// Start of the entry that ends right before `p` (lpPrev, via the backlen).
    @inline(__always) static func entryBefore(_ p: UnsafeRawPointer) -> UnsafeRawPointer {
        var q = p - 1
        var b = q.load(as: UInt8.self)
        if b < 128 { return p - 1 - Int(b) }
        var value = 0
        var shift = 0
        while true {
            value |= Int(b & 127) << shift
            if b & 128 == 0 { break }
            shift += 7
            q -= 1
            b = q.load(as: UInt8.self)
        }
        return p - backlenSize(value) - value
    }
}

/// An element about to be stored: a string (kept as an integer when it is one in
/// Redis's strict sense, as lpEncodeGetType does), or an entry copied verbatim from
/// another list (LMOVE).
struct PackedEntry {
    private enum Kind { case string, integer, packed }
    private let kind: Kind
    private let source: UnsafeRawPointer?
    private let length: Int
    private let integer: Int
    /// Encoding + data bytes.
    private let payload: Int
    /// Bytes the entry takes in a node.
    let size: Int
    /// Length of the element as text: quicklist's node-size estimate uses it.
    let textLength: Int

    init(_ s: UnsafeRawBufferPointer) {
        textLength = s.count
        if let v = parseStrictInt(s) {
            kind = .integer
            source = nil
            length = 0
            integer = v
            payload = ListPack.integerPayload(v)
            size = payload + 1
        } else {
            kind = .string
            source = s.baseAddress
            length = s.count
            integer = 0
            payload = ListPack.stringPayload(s.count)
            size = payload + ListPack.backlenSize(payload)
        }
    }

    /// An integer element (lpAppendInteger), without going through its text.
    init(integer v: Int) {
        kind = .integer
        source = nil
        length = 0
        integer = v
        payload = ListPack.integerPayload(v)
        size = payload + 1
        var digits = v < 0 ? 2 : 1
        var m = v.magnitude
        while m >= 10 { m /= 10; digits += 1 }
        textLength = digits
    }

    /// The entry at `p` of some node, copied as is.
    init(packedAt p: UnsafeRawPointer) {
        let (e, total) = ListPack.decode(p)
        kind = .packed
        source = p
        length = total
        integer = 0
        payload = 0
        size = total
        textLength = e.textLength
    }

    @inline(__always) func write(to p: UnsafeMutableRawPointer) {
        switch kind {
        case .packed:
            p.copyMemory(from: source!, byteCount: size)
        case .string:
            if length < 64 {
                p.storeBytes(of: 0x80 | UInt8(length), as: UInt8.self)
                if length > 0 { (p + 1).copyMemory(from: source!, byteCount: length) }
            } else if length < 4096 {
                p.storeBytes(of: 0xE0 | UInt8(length >> 8), as: UInt8.self)
                p.storeBytes(of: UInt8(length & 0xFF), toByteOffset: 1, as: UInt8.self)
                (p + 2).copyMemory(from: source!, byteCount: length)
            } else {
                p.storeBytes(of: 0xF0, as: UInt8.self)
                p.storeBytes(of: UInt32(length).littleEndian, toByteOffset: 1, as: UInt32.self)
                (p + 5).copyMemory(from: source!, byteCount: length)
            }
            ListPack.writeBacklen(payload, p + payload)
        case .integer:
            let v = integer
            switch payload {
            case 1:
                p.storeBytes(of: UInt8(v), as: UInt8.self)
            case 2:
                let u = UInt16(bitPattern: Int16(v)) & 0x1FFF
                p.storeBytes(of: 0xC0 | UInt8(u >> 8), as: UInt8.self)
                p.storeBytes(of: UInt8(u & 0xFF), toByteOffset: 1, as: UInt8.self)
            case 3:
                p.storeBytes(of: 0xF1, as: UInt8.self)
                p.storeBytes(of: UInt16(bitPattern: Int16(v)).littleEndian, toByteOffset: 1, as: UInt16.self)
            case 4:
                let u = UInt32(bitPattern: Int32(v))
                p.storeBytes(of: 0xF2, as: UInt8.self)
                p.storeBytes(of: UInt16(truncatingIfNeeded: u).littleEndian, toByteOffset: 1, as: UInt16.self)
                p.storeBytes(of: UInt8(truncatingIfNeeded: u >> 16), toByteOffset: 3, as: UInt8.self)
            case 5:
                p.storeBytes(of: 0xF3, as: UInt8.self)
                p.storeBytes(of: UInt32(bitPattern: Int32(v)).littleEndian, toByteOffset: 1, as: UInt32.self)
            default:
                p.storeBytes(of: 0xF4, as: UInt8.self)
                p.storeBytes(of: UInt64(bitPattern: Int64(v)).littleEndian, toByteOffset: 1, as: UInt64.self)
            }
            p.storeBytes(of: UInt8(payload), toByteOffset: payload, as: UInt8.self)
        }
    }
}

/// An element to compare list entries with (LREM, LPOS, LINSERT's pivot), parsed once:
/// integer entries can only equal an integer argument, string entries only a string
/// (Redis's lpCompare), because only canonical decimal text is stored as an integer.
struct ListMatcher {
    let bytes: UnsafeRawBufferPointer
    let integer: Int?

    init(_ s: UnsafeRawBufferPointer) {
        bytes = s
        integer = parseStrictInt(s)
    }

    @inline(__always) func matches(_ e: ListElement) -> Bool {
        if let p = e.bytes {
            return integer == nil && e.length == bytes.count
                && (e.length == 0 || memcmp(p, bytes.baseAddress!, e.length) == 0)
        }
        return integer == e.integer
    }
}

/// One node: its entries are bytes `start..<end` of `buffer` (`capacity` bytes).
///
/// Offsets and counts are 32-bit (24 bytes a node instead of 40): a node's block stays
/// under 4 GB, since a node is a listpack in Redis (lpBytes is 32-bit, and so is the
/// length of a listpack string entry and of the node written to an RDB file). A value
/// that would not fit traps rather than wraps.
struct ListNode {
    var buffer: UnsafeMutableRawPointer
    private var capacity32: UInt32
    private var start32: UInt32
    private var end32: UInt32
    private var count32: UInt32

    init(buffer: UnsafeMutableRawPointer, capacity: Int, start: Int, end: Int, count: Int) {
        self.buffer = buffer
        capacity32 = UInt32(capacity)
        start32 = UInt32(start)
        end32 = UInt32(end)
        count32 = UInt32(count)
    }

    @inline(__always) var capacity: Int {
        get { Int(capacity32) }
        set { capacity32 = UInt32(newValue) }
    }
    @inline(__always) var start: Int {
        get { Int(start32) }
        set { start32 = UInt32(newValue) }
    }
    @inline(__always) var end: Int {
        get { Int(end32) }
        set { end32 = UInt32(newValue) }
    }
    /// Entries in the node.
    @inline(__always) var count: Int {
        get { Int(count32) }
        set { count32 = UInt32(newValue) }
    }

    @inline(__always) var bytes: Int { end - start }
    /// The size of Redis's listpack holding the same entries (lpBytes): quicklist's
    /// node-size rules are written in it.
    @inline(__always) var packedSize: Int { end - start + ListPack.headerAndTrailer }
}

/// A place in a list: node index, byte offset of the entry in the node's buffer, and the
/// entry's index within the node.
struct ListPosition {
    var node: Int
    var offset: Int
    var local: Int
}

/// The fixed part of a list's block (16 bytes; the ring of nodes follows it). Like
/// quicklist's bit fields, one word packs the element count (40 bits: a list of 2^40
/// elements would take terabytes), the ring's capacity as a power of two, and the fill.
struct ListHeader {
    var countShiftFill: UInt64
    /// Nodes in the ring, from `ringHead`.
    var nodeCount: UInt32
    var ringHead: UInt32

    static let countBits: UInt64 = 40
    static let countMask: UInt64 = (1 << countBits) - 1
    static let shiftBits: UInt64 = 8
    static let fillShift: UInt64 = countBits + shiftBits

    init(fill: Int) {
        countShiftFill = UInt64(UInt16(bitPattern: Int16(fill))) << ListHeader.fillShift
        nodeCount = 0
        ringHead = 0
    }

    @inline(__always) var count: Int { Int(truncatingIfNeeded: countShiftFill & ListHeader.countMask) }
    /// count += k in one add: the count is the low bits and stays in 0..<2^40.
    @inline(__always) mutating func addToCount(_ k: Int) {
        countShiftFill &+= UInt64(bitPattern: Int64(k))
    }
    /// log2 of the ring's capacity.
    @inline(__always) var ringShift: Int {
        get { Int(truncatingIfNeeded: (countShiftFill >> ListHeader.countBits) & 0xFF) }
        set {
            countShiftFill = (countShiftFill & ~(0xFF << ListHeader.countBits))
                | (UInt64(newValue) << ListHeader.countBits)
        }
    }
    /// list-max-listpack-size when the list was created, clamped (-5...32767).
    @inline(__always) var fill: Int { Int(Int16(truncatingIfNeeded: countShiftFill >> ListHeader.fillShift)) }
}

/// Redis's quicklist.
///
/// The whole state is one word, `storage`, kept in the key's entry (`SlotStoredValue`):
/// everything else is in the one block it points to, `[ListHeader][ring of ListNode]`, so
/// a list key costs its entry, that block and its nodes' blocks. While the ring has a
/// single slot (a list of one node, which is what most lists in a big dataset are), that
/// node's entries live in the same block right after the slot ("inline"), so a small list
/// is one allocation besides the entry. The inline node grows and shrinks with the block
/// (realloc); it moves to a block of its own when a second node comes, since the ring
/// then needs the room. This struct is a view of the entry's word; `storage` reads and
/// replaces it in the entry.
struct ListValue: SlotStoredValue {
    static var valueType: ValueType { .list }

    let entry: KeyEntry

    init(entry: KeyEntry) {
        self.entry = entry
    }

    /// The list's block, in the entry's slot.
    @inline(__always) private var storage: UnsafeMutableRawPointer {
        get { UnsafeMutableRawPointer(bitPattern: entry.slotWord).unsafelyUnwrapped }
        nonmutating set { entry.slotWord = UInt(bitPattern: newValue) }
    }

    private static let headerSize = MemoryLayout<ListHeader>.stride
    /// Where a one-slot ring's inline node begins.
    private static let inlineOffset = headerSize + MemoryLayout<ListNode>.stride

    @inline(__always) private var header: UnsafeMutablePointer<ListHeader> {
        storage.assumingMemoryBound(to: ListHeader.self)
    }
    @inline(__always) private var ring: UnsafeMutablePointer<ListNode> {
        (storage + ListValue.headerSize).assumingMemoryBound(to: ListNode.self)
    }

    /// Elements in the list (changed through `header.pointee.addToCount`).
    @inline(__always) var count: Int { header.pointee.count }
    private(set) var nodeCount: Int {
        @inline(__always) get { Int(header.pointee.nodeCount) }
        @inline(__always) nonmutating set { header.pointee.nodeCount = UInt32(newValue) }
    }
    @inline(__always) private var ringHead: Int {
        get { Int(header.pointee.ringHead) }
        nonmutating set { header.pointee.ringHead = UInt32(newValue) }
    }
    /// Ring capacity - 1; the capacity is a power of two.
    @inline(__always) private var ringMask: Int {
        get { (1 << header.pointee.ringShift) - 1 }
        nonmutating set { header.pointee.ringShift = (newValue + 1).trailingZeroBitCount }
    }

    /// list-max-listpack-size when the list was created (quicklistSetOptions), clamped as
    /// quicklistSetFill does: negative = node size class, positive = entries per node.
    @inline(__always) var fill: Int { header.pointee.fill }

    /// Redis's packed_threshold: elements this big get a node of their own.
    static let largeElement = 1 << 30
    /// SIZE_SAFETY_LIMIT: the most bytes a node may hold when the fill counts entries.
    static let sizeSafetyLimit = 8192
    /// SIZE_ESTIMATE_OVERHEAD: quicklist's guess of an entry's overhead.
    static let sizeEstimateOverhead = 8

    /// An empty list under no key yet (SORT ... STORE's result, tests).
    init(fill: Int) {
        self.init(detachedWord: ListValue.emptyWord(fill: fill))
    }

    /// The word of an empty list (createQuicklistObject + quicklistSetOptions: `fill`
    /// clamped), for `KeyEntry.make(key:word:type:lru:)`.
    static func emptyWord(fill: Int) -> UInt {
        let p = malloc(ListValue.inlineOffset)!
        p.initializeMemory(as: ListHeader.self,
                           repeating: ListHeader(fill: Swift.min(Swift.max(fill, -5), 32767)), count: 1)
        (p + ListValue.headerSize).bindMemory(to: ListNode.self, capacity: 1)
        return UInt(bitPattern: p)
    }

    // MARK: node-size rules (quicklist.c)

    /// Byte limit of a node: optimization_level[-fill-1] for a negative fill, else the
    /// safety limit.
    @inline(__always) var sizeLimit: Int {
        fill < 0 ? 4096 << (-fill - 1) : ListValue.sizeSafetyLimit
    }

    /// The most a growing node's block is given: just under the limit, so that a full
    /// node's block is one malloc size class (8184 bytes fill an 8192-byte chunk).
    @inline(__always) private var maxGrowth: Int { sizeLimit - 8 }

    /// _quicklistNodeAllowInsert: may an element of `sz` text bytes join `n`?
    @inline(__always) func allowInsert(_ n: ListNode, _ sz: Int) -> Bool {
        if sz >= ListValue.largeElement { return false }
        let newSize = n.packedSize + sz + ListValue.sizeEstimateOverhead
        if fill < 0 { return newSize <= sizeLimit }
        return newSize <= ListValue.sizeSafetyLimit && n.count < fill
    }

    /// _quicklistNodeAllowMerge.
    @inline(__always) func allowMerge(_ a: ListNode, _ b: ListNode) -> Bool {
        let merged = a.packedSize + b.packedSize - ListPack.headerAndTrailer
        if fill < 0 { return merged <= sizeLimit }
        return merged <= ListValue.sizeSafetyLimit && a.count + b.count <= fill
    }

    // MARK: the ring of nodes

    @inline(__always) func node(_ i: Int) -> UnsafeMutablePointer<ListNode> {
        ring + ((ringHead &+ i) & ringMask)
    }

    /// Is `n`'s buffer the inline area of the list's block? (With a ring of more than one
    /// slot that address is a ring slot, never a node's buffer.)
    @inline(__always) private func isInline(_ n: ListNode) -> Bool {
        n.buffer == storage + ListValue.inlineOffset
    }

    /// The usable bytes of the inline area, given the block's.
    @inline(__always) private func inlineCapacity() -> Int {
        Swift.min(Allocator.usableSize(UnsafeRawPointer(storage)) - ListValue.inlineOffset, Int(UInt32.max))
    }

    /// Gives the block room for `bytes` inline bytes (realloc: the header, the slot and
    /// the inline bytes already there keep their offsets). Node pointers taken before are
    /// stale afterwards.
    private func resizeInlineArea(_ bytes: Int) {
        storage = realloc(storage, ListValue.inlineOffset + Swift.max(bytes, 1))!
    }

    /// Can the next node be the inline one? Only as the first node of a one-slot ring.
    @inline(__always) private var inlineSlotFree: Bool { nodeCount == 0 && ringMask == 0 }

    /// Makes the ring hold at least `capacity` nodes. The inline node, if any, first moves
    /// to a block of its own: the inline area is where the ring grows.
    private func growRing(to capacity: Int) {
        if nodeCount > 0 && isInline(node(0).pointee) {
            let n = node(0).pointee
            let (buffer, bufferCapacity) = ListValue.allocate(n.bytes)
            buffer.copyMemory(from: n.buffer + n.start, byteCount: n.bytes)
            node(0).pointee = ListNode(buffer: buffer, capacity: bufferCapacity, start: 0, end: n.bytes, count: n.count)
        }
        var slots = ringMask + 1
        while slots < capacity { slots *= 2 }
        let fresh = malloc(ListValue.headerSize + slots * MemoryLayout<ListNode>.stride)!
        fresh.copyMemory(from: storage, byteCount: ListValue.headerSize)
        let freshRing = (fresh + ListValue.headerSize).bindMemory(to: ListNode.self, capacity: slots)
        for i in 0..<nodeCount { (freshRing + i).initialize(to: node(i).pointee) }
        free(storage)
        storage = fresh
        ringMask = slots - 1
        ringHead = 0
    }

    /// Room for `n` nodes in the ring, before appending them (RDB load, COPY): a list known
    /// to have several nodes does not start with an inline one only to move it out.
    func reserveNodes(_ n: Int) {
        if n > ringMask + 1 { growRing(to: n) }
    }

    private func insertNode(_ n: ListNode, at i: Int) {
        if nodeCount == ringMask + 1 { growRing(to: 2 * (ringMask + 1)) }
        if i < nodeCount / 2 {
            // Open the slot by moving the nodes before it one step towards the head.
            ringHead = (ringHead &- 1) & ringMask
            var j = 0
            while j < i {
                node(j).pointee = node(j + 1).pointee
                j += 1
            }
        } else {
            var j = nodeCount
            while j > i {
                node(j).pointee = node(j - 1).pointee
                j -= 1
            }
        }
        node(i).pointee = n
        nodeCount += 1
    }

    /// Adds a node holding the single entry `e` at index `i`, with its free room on the
    /// side it will grow: inline when it is the list's only node.
    private func addNode(_ e: PackedEntry, at i: Int, slack: Slack) {
        if inlineSlotFree {
            resizeInlineArea(e.size)
            let capacity = inlineCapacity()
            let start = slack == .front ? capacity - e.size : 0
            let buffer = storage + ListValue.inlineOffset
            e.write(to: buffer + start)
            ring.pointee = ListNode(buffer: buffer, capacity: capacity, start: start, end: start + e.size, count: 1)
            ringHead = 0
            nodeCount = 1
            return
        }
        let (buffer, capacity) = ListValue.allocate(e.size)
        let start = slack == .front ? capacity - e.size : 0
        e.write(to: buffer + start)
        insertNode(ListNode(buffer: buffer, capacity: capacity, start: start, end: start + e.size, count: 1), at: i)
    }

    /// Appends a node made of `entries`, `k` already-encoded (and validated) listpack
    /// entries, as they are: loading an RDB file keeps each saved node whatever the
    /// current fill, as Redis's quicklistAppendListpack does (Persistence/RDBObjects.swift).
    func appendEncodedNode(_ entries: UnsafeRawBufferPointer, count k: Int) {
        guard k > 0, entries.count > 0 else { return }
        if inlineSlotFree {
            resizeInlineArea(entries.count)
            let buffer = storage + ListValue.inlineOffset
            buffer.copyMemory(from: entries.baseAddress!, byteCount: entries.count)
            ring.pointee = ListNode(buffer: buffer, capacity: inlineCapacity(), start: 0, end: entries.count, count: k)
            ringHead = 0
            nodeCount = 1
        } else {
            let (buffer, capacity) = ListValue.allocate(entries.count)
            buffer.copyMemory(from: entries.baseAddress!, byteCount: entries.count)
            insertNode(ListNode(buffer: buffer, capacity: capacity, start: 0, end: entries.count, count: k), at: nodeCount)
        }
        header.pointee.addToCount(k)
    }

    /// Removes node `i` from the ring; its block is freed unless the caller took it. (An
    /// inline node's bytes stay in the list's block until the next inline node reuses them.)
    private func removeNode(at i: Int, freeBuffer: Bool = true) {
        if freeBuffer && !isInline(node(i).pointee) { free(node(i).pointee.buffer) }
        if i < nodeCount / 2 {
            var j = i
            while j > 0 {
                node(j).pointee = node(j - 1).pointee
                j -= 1
            }
            ringHead = (ringHead &+ 1) & ringMask
        } else {
            var j = i
            while j < nodeCount - 1 {
                node(j).pointee = node(j + 1).pointee
                j += 1
            }
        }
        nodeCount -= 1
        if nodeCount == 0 { ringHead = 0 }
    }

    // MARK: node blocks

    /// Where the spare room of a block goes: towards the end that grows.
    private enum Slack { case front, back, balanced }

    /// A block of at least `bytes` (its real usable size is used as capacity).
    @inline(__always)
    private static func allocate(_ bytes: Int) -> (UnsafeMutableRawPointer, Int) {
        let p = malloc(Swift.max(bytes, 1))!
        return (p, Swift.min(Allocator.usableSize(p), Int(UInt32.max)))
    }

    /// Turns bytes `at..<at+removing` of node `i` into a hole of `inserting` bytes, moving
    /// the shorter side of the node, or giving the node a bigger block when there is no
    /// room; returns the hole's offset. Entry counts are the caller's business. Node
    /// pointers taken before are stale afterwards (an inline node grows with the list's
    /// block).
    private func reshape(_ i: Int, at: Int, removing: Int, inserting: Int, slack: Slack) -> Int {
        var n = node(i)
        var buf = n.pointee.buffer
        let start = n.pointee.start, end = n.pointee.end
        let before = at - start
        let after = end - at - removing
        let delta = inserting - removing
        if delta == 0 { return at }
        if delta < 0 {
            let shift = -delta
            if before <= after {
                if before > 0 { memmove(buf + start + shift, buf + start, before) }
                n.pointee.start = start + shift
                return at + shift
            }
            if after > 0 { memmove(buf + at + inserting, buf + at + removing, after) }
            n.pointee.end = end - shift
            return at
        }
        let frontRoom = start
        let backRoom = n.pointee.capacity - end
        if before <= after && frontRoom >= delta {
            if before > 0 { memmove(buf + start - delta, buf + start, before) }
            n.pointee.start = start - delta
            return at - delta
        }
        if before > after && backRoom >= delta {
            if after > 0 { memmove(buf + at + inserting, buf + at + removing, after) }
            n.pointee.end = end + delta
            return at
        }
        // No room on the cheap side: lay the node out again with its spare room where
        // growth is expected, in a bigger block unless a quarter of the node would still
        // be free (then the bytes only move, once, and the next pushes are O(1) again).
        let used = end - start
        let needed = used + delta
        var capacity = n.pointee.capacity
        var target = buf
        if needed + needed / 4 > capacity {
            var grown = Swift.min(capacity * 2, maxGrowth)
            grown = Swift.max(grown, needed + needed / 8)
            if needed <= maxGrowth { grown = Swift.min(grown, maxGrowth) }
            grown = Swift.max(grown, needed)
            if grown > capacity {
                if isInline(n.pointee) {
                    // The bytes keep their offsets in the bigger block: laid out in place below.
                    resizeInlineArea(grown)
                    n = node(i)
                    buf = storage + ListValue.inlineOffset
                    target = buf
                    capacity = inlineCapacity()
                    n.pointee.buffer = buf
                    n.pointee.capacity = capacity
                } else {
                    (target, capacity) = ListValue.allocate(grown)
                }
            }
        }
        let spare = capacity - needed
        let newStart: Int
        switch slack {
        case .front: newStart = spare
        case .back: newStart = 0
        case .balanced: newStart = spare / 2
        }
        let newBack = newStart + before + inserting
        if target != buf {
            if before > 0 { (target + newStart).copyMemory(from: buf + start, byteCount: before) }
            if after > 0 { (target + newBack).copyMemory(from: buf + at + removing, byteCount: after) }
            free(buf)
            n.pointee.buffer = target
            n.pointee.capacity = capacity
        } else if newStart <= start {
            // Both parts move within the block; order the moves so neither overwrites
            // bytes still to be moved.
            if before > 0 { memmove(buf + newStart, buf + start, before) }
            if after > 0 { memmove(buf + newBack, buf + at + removing, after) }
        } else {
            if after > 0 { memmove(buf + newBack, buf + at + removing, after) }
            if before > 0 { memmove(buf + newStart, buf + start, before) }
        }
        n.pointee.start = newStart
        n.pointee.end = newBack + after
        return newStart + before
    }

    /// Gives back most of node `i`'s block when it is mostly empty (after pops and trims).
    /// Node pointers taken before are stale afterwards.
    @inline(__always) private func shrinkIfSparse(_ n: UnsafeMutablePointer<ListNode>, at i: Int) {
        let capacity = n.pointee.capacity
        if capacity > 256 && n.pointee.bytes * 4 < capacity { shrink(i) }
    }

    private func shrink(_ i: Int) {
        let n = node(i)
        let used = n.pointee.bytes
        let wanted = Swift.max(used + used / 2, 64)
        if isInline(n.pointee) {
            // The entries go to the front of the inline area, the block is cut (realloc
            // keeps its first bytes), then they are centred again.
            let old = n.pointee
            memmove(old.buffer, old.buffer + old.start, used)
            resizeInlineArea(wanted)
            let buffer = storage + ListValue.inlineOffset
            let capacity = inlineCapacity()
            let newStart = (capacity - used) / 2
            memmove(buffer + newStart, buffer, used)
            node(i).pointee = ListNode(buffer: buffer, capacity: capacity, start: newStart, end: newStart + used,
                                       count: old.count)
            return
        }
        let (target, capacity) = ListValue.allocate(wanted)
        if capacity >= n.pointee.capacity {
            free(target)
            return
        }
        let newStart = (capacity - used) / 2
        (target + newStart).copyMemory(from: n.pointee.buffer + n.pointee.start, byteCount: used)
        free(n.pointee.buffer)
        n.pointee.buffer = target
        n.pointee.capacity = capacity
        n.pointee.start = newStart
        n.pointee.end = newStart + used
    }

    // MARK: push and pop

    /// LPUSH/RPUSH of one element (quicklistPushHead/Tail).
    func push(_ s: UnsafeRawBufferPointer, atHead: Bool) {
        push(PackedEntry(s), atHead: atHead)
    }

    /// The common case inline: the end node takes the entry and has the room for it at
    /// that end. Everything else (a bigger block, a new node) is `pushSlow`.
    @inline(__always)
    func push(_ e: PackedEntry, atHead: Bool) {
        let nodes = nodeCount
        if nodes > 0 {
            let n = node(atHead ? 0 : nodes - 1)
            if allowInsert(n.pointee, e.textLength) {
                if atHead {
                    if n.pointee.start >= e.size {
                        n.pointee.start -= e.size
                        e.write(to: n.pointee.buffer + n.pointee.start)
                        n.pointee.count += 1
                        header.pointee.addToCount(1)
                        return
                    }
                } else if n.pointee.capacity - n.pointee.end >= e.size {
                    e.write(to: n.pointee.buffer + n.pointee.end)
                    n.pointee.end += e.size
                    n.pointee.count += 1
                    header.pointee.addToCount(1)
                    return
                }
            }
        }
        pushSlow(e, atHead: atHead)
    }

    @inline(never)
    private func pushSlow(_ e: PackedEntry, atHead: Bool) {
        header.pointee.addToCount(1)
        if nodeCount > 0 {
            let i = atHead ? 0 : nodeCount - 1
            let n = node(i)
            if allowInsert(n.pointee, e.textLength) {
                let at: Int
                if atHead {
                    at = reshape(i, at: n.pointee.start, removing: 0, inserting: e.size,
                                 slack: nodeCount == 1 && n.pointee.start < n.pointee.capacity - n.pointee.end ? .balanced : .front)
                } else {
                    at = reshape(i, at: n.pointee.end, removing: 0, inserting: e.size,
                                 slack: nodeCount == 1 && n.pointee.start > n.pointee.capacity - n.pointee.end ? .balanced : .back)
                }
                let grown = node(i)  // reshape may have moved the block
                e.write(to: grown.pointee.buffer + at)
                grown.pointee.count += 1
                return
            }
        }
        addNode(e, at: atHead ? 0 : nodeCount, slack: atHead ? .front : .back)
    }

    /// The first element; the list must not be empty.
    @inline(__always) var first: ListElement {
        let n = node(0).pointee
        return ListPack.decode(n.buffer + n.start).element
    }

    /// The last element; the list must not be empty.
    @inline(__always) var last: ListElement {
        let n = node(nodeCount - 1).pointee
        return ListPack.decode(ListPack.entryBefore(n.buffer + n.end)).element
    }

    /// The first or last entry, for copying it verbatim into another list.
    func packedEnd(atHead: Bool) -> PackedEntry {
        if atHead {
            let n = node(0).pointee
            return PackedEntry(packedAt: n.buffer + n.start)
        }
        let n = node(nodeCount - 1).pointee
        return PackedEntry(packedAt: ListPack.entryBefore(n.buffer + n.end))
    }

    func removeFirst() {
        let n = node(0)
        n.pointee.start += ListPack.entrySize(n.pointee.buffer + n.pointee.start)
        removed(1, from: n, at: 0)
    }

    func removeLast() {
        let n = node(nodeCount - 1)
        let buf = n.pointee.buffer
        n.pointee.end = ListPack.entryBefore(buf + n.pointee.end) - UnsafeRawPointer(buf)
        removed(1, from: n, at: nodeCount - 1)
    }

    /// Bookkeeping after `k` entries left node `i` (quicklistDelIndex: an emptied node
    /// goes away). Node pointers taken before are stale afterwards.
    @inline(__always) private func removed(_ k: Int, from n: UnsafeMutablePointer<ListNode>, at i: Int) {
        n.pointee.count -= k
        header.pointee.addToCount(-k)
        if n.pointee.count == 0 {
            removeNode(at: i)
        } else {
            shrinkIfSparse(n, at: i)
        }
    }

    // MARK: positions

    /// The position of element `index` (0 ≤ index < count), walking from the nearer end
    /// (quicklistGetIteratorAtIdx, then lpSeek within the node).
    func position(of index: Int) -> ListPosition {
        var i: Int
        var local: Int
        // The walk reads the ring through locals: nothing changes it meanwhile.
        let ring = self.ring, head = ringHead, mask = ringMask
        @inline(__always) func entries(_ i: Int) -> Int { ring[(head &+ i) & mask].count }
        if index < count / 2 {
            i = 0
            local = index
            while local >= entries(i) {
                local -= entries(i)
                i += 1
            }
        } else {
            i = nodeCount - 1
            var fromEnd = count - 1 - index
            while fromEnd >= entries(i) {
                fromEnd -= entries(i)
                i -= 1
            }
            local = entries(i) - 1 - fromEnd
        }
        let n = node(i).pointee
        var p: UnsafeRawPointer
        if local < n.count / 2 {
            p = UnsafeRawPointer(n.buffer + n.start)
            var k = 0
            while k < local {
                p += ListPack.entrySize(p)
                k += 1
            }
        } else {
            p = UnsafeRawPointer(n.buffer + n.end)
            var k = n.count
            while k > local {
                p = ListPack.entryBefore(p)
                k -= 1
            }
        }
        return ListPosition(node: i, offset: p - UnsafeRawPointer(n.buffer), local: local)
    }

    @inline(__always) func element(at p: ListPosition) -> ListElement {
        ListPack.decode(node(p.node).pointee.buffer + p.offset).element
    }

    /// Element `index`, counting from the tail when negative (quicklistGetIteratorEntryAtIdx);
    /// nil when out of range.
    func element(atIndex index: Int) -> ListElement? {
        let i = index < 0 ? count &+ index : index
        if i < 0 || i >= count { return nil }
        return element(at: position(of: i))
    }

    // MARK: iteration

    /// Calls `body` with `n` elements from `index` (0 ≤ index < count), towards the tail,
    /// or towards the head when `reverse`; the range must exist.
    @inline(__always)
    func forEach(from index: Int, count n: Int, reverse: Bool, _ body: (ListElement) -> Void) {
        if n <= 0 { return }
        let p = position(of: index)
        var ni = p.node
        var nd = node(ni).pointee
        var ptr = UnsafeRawPointer(nd.buffer + p.offset)
        var remaining = n
        if !reverse {
            var end = UnsafeRawPointer(nd.buffer + nd.end)
            while true {
                let (e, size) = ListPack.decode(ptr)
                body(e)
                remaining -= 1
                if remaining == 0 { return }
                ptr += size
                if ptr == end {
                    ni += 1
                    nd = node(ni).pointee
                    ptr = UnsafeRawPointer(nd.buffer + nd.start)
                    end = UnsafeRawPointer(nd.buffer + nd.end)
                }
            }
        } else {
            var begin = UnsafeRawPointer(nd.buffer + nd.start)
            while true {
                body(ListPack.decode(ptr).element)
                remaining -= 1
                if remaining == 0 { return }
                if ptr == begin {
                    ni -= 1
                    nd = node(ni).pointee
                    begin = UnsafeRawPointer(nd.buffer + nd.start)
                    ptr = ListPack.entryBefore(nd.buffer + nd.end)
                } else {
                    ptr = ListPack.entryBefore(ptr)
                }
            }
        }
    }

    /// Calls `body` with every element from the head (or from the tail) until it returns
    /// false. `body` must not change the list.
    @inline(__always)
    func iterate(fromTail: Bool, _ body: (ListElement) -> Bool) {
        if fromTail {
            var i = nodeCount - 1
            while i >= 0 {
                let nd = node(i).pointee
                let begin = UnsafeRawPointer(nd.buffer + nd.start)
                var ptr = UnsafeRawPointer(nd.buffer + nd.end)
                while ptr > begin {
                    ptr = ListPack.entryBefore(ptr)
                    if !body(ListPack.decode(ptr).element) { return }
                }
                i -= 1
            }
        } else {
            var i = 0
            while i < nodeCount {
                let nd = node(i).pointee
                let end = UnsafeRawPointer(nd.buffer + nd.end)
                var ptr = UnsafeRawPointer(nd.buffer + nd.start)
                while ptr < end {
                    let (e, size) = ListPack.decode(ptr)
                    if !body(e) { return }
                    ptr += size
                }
                i += 1
            }
        }
    }

    /// The position of the first element from the head that `m` matches.
    func firstPosition(matching m: ListMatcher) -> ListPosition? {
        var i = 0
        while i < nodeCount {
            let n = node(i).pointee
            var offset = n.start
            var local = 0
            while offset < n.end {
                let (e, size) = ListPack.decode(n.buffer + offset)
                if m.matches(e) { return ListPosition(node: i, offset: offset, local: local) }
                offset += size
                local += 1
            }
            i += 1
        }
        return nil
    }

    // MARK: changes in the middle

    /// LSET: element `index` (0 ≤ index < count) becomes `s`, in place (Redis 7.0's
    /// quicklistReplaceEntry does not re-split a node that grows past its limit).
    func replace(at index: Int, with s: UnsafeRawBufferPointer) {
        let p = position(of: index)
        let n = node(p.node)
        let old = ListPack.entrySize(n.pointee.buffer + p.offset)
        let e = PackedEntry(s)
        let at = reshape(p.node, at: p.offset, removing: old, inserting: e.size, slack: .balanced)
        e.write(to: node(p.node).pointee.buffer + at)
    }

    /// LINSERT: puts `s` before or after the first element matching `pivot`; false when
    /// there is none. Follows _quicklistInsert: into the pivot's node when it has room,
    /// else into the neighbour at that end, else a new node, else the node is split and
    /// its neighbourhood merged again.
    func insert(_ s: UnsafeRawBufferPointer, after: Bool, pivot: ListMatcher) -> Bool {
        guard let p = firstPosition(matching: pivot) else { return false }
        let e = PackedEntry(s)
        let sz = s.count
        let i = p.node
        let n = node(i)
        let full = !allowInsert(n.pointee, sz)
        var atTail = false, atHead = false, availNext = false, availPrev = false
        if after && p.local == n.pointee.count - 1 {
            atTail = true
            availNext = i + 1 < nodeCount && allowInsert(node(i + 1).pointee, sz)
        }
        if !after && p.local == 0 {
            atHead = true
            availPrev = i > 0 && allowInsert(node(i - 1).pointee, sz)
        }
        header.pointee.addToCount(1)
        if !full {
            let pivotSize = ListPack.entrySize(n.pointee.buffer + p.offset)
            let at = after ? p.offset + pivotSize : p.offset
            let hole = reshape(i, at: at, removing: 0, inserting: e.size, slack: .balanced)
            let grown = node(i)  // reshape may have moved the block
            e.write(to: grown.pointee.buffer + hole)
            grown.pointee.count += 1
        } else if atTail && availNext && after {
            // (Two nodes or more: none is inline, node pointers stay valid.)
            let next = node(i + 1)
            let hole = reshape(i + 1, at: next.pointee.start, removing: 0, inserting: e.size, slack: .balanced)
            e.write(to: next.pointee.buffer + hole)
            next.pointee.count += 1
        } else if atHead && availPrev && !after {
            let prev = node(i - 1)
            let hole = reshape(i - 1, at: prev.pointee.end, removing: 0, inserting: e.size, slack: .balanced)
            e.write(to: prev.pointee.buffer + hole)
            prev.pointee.count += 1
        } else if (atTail && after) || (atHead && !after) {
            addNode(e, at: after ? i + 1 : i, slack: .balanced)
        } else {
            // _quicklistSplitNode: after → the node keeps 0...local and the new node gets
            // the rest, the element first; before → the new node gets 0..<local and the
            // element last. Then _quicklistMergeNodes around the original node.
            let nd = n.pointee
            let splitAt = after ? p.offset + ListPack.entrySize(nd.buffer + p.offset) : p.offset
            let moved = after ? nd.end - splitAt : splitAt - nd.start
            let movedCount = after ? nd.count - p.local - 1 : p.local
            let (buffer, capacity) = ListValue.allocate(moved + e.size)
            if after {
                e.write(to: buffer)
                (buffer + e.size).copyMemory(from: nd.buffer + splitAt, byteCount: moved)
                n.pointee.end = splitAt
            } else {
                buffer.copyMemory(from: nd.buffer + nd.start, byteCount: moved)
                e.write(to: buffer + moved)
                n.pointee.start = splitAt
            }
            n.pointee.count -= movedCount
            shrinkIfSparse(n, at: i)
            let fresh = ListNode(buffer: buffer, capacity: capacity, start: 0, end: moved + e.size, count: movedCount + 1)
            insertNode(fresh, at: after ? i + 1 : i)
            mergeAround(after ? i : i + 1)
        }
        return true
    }

    /// _quicklistMergeNodes around node `center`.
    private func mergeAround(_ center: Int) {
        var c = center
        if c >= 2 && allowMerge(node(c - 1).pointee, node(c - 2).pointee) {
            merge(c - 2)
            c -= 1
        }
        if c + 2 < nodeCount && allowMerge(node(c + 1).pointee, node(c + 2).pointee) {
            merge(c + 1)
        }
        var target = c
        if c >= 1 && allowMerge(node(c).pointee, node(c - 1).pointee) {
            merge(c - 1)
            target = c - 1
        }
        if target + 1 < nodeCount && allowMerge(node(target).pointee, node(target + 1).pointee) {
            merge(target)
        }
    }

    /// Joins node `i + 1` onto node `i`.
    private func merge(_ i: Int) {
        let a = node(i), b = node(i + 1)
        let bBytes = b.pointee.bytes
        if b.pointee.start >= a.pointee.bytes && b.pointee.capacity > a.pointee.capacity {
            // The second block is bigger and has the room: the first node's bytes go in front.
            let aBytes = a.pointee.bytes
            let bStart = b.pointee.start - aBytes
            (b.pointee.buffer + bStart).copyMemory(from: a.pointee.buffer + a.pointee.start, byteCount: aBytes)
            free(a.pointee.buffer)
            a.pointee = ListNode(buffer: b.pointee.buffer, capacity: b.pointee.capacity, start: bStart,
                                 end: b.pointee.end, count: a.pointee.count + b.pointee.count)
            removeNode(at: i + 1, freeBuffer: false)
            return
        }
        // (Two nodes or more: none is inline, node pointers stay valid.)
        let hole = reshape(i, at: a.pointee.end, removing: 0, inserting: bBytes, slack: .balanced)
        (a.pointee.buffer + hole).copyMemory(from: b.pointee.buffer + b.pointee.start, byteCount: bBytes)
        a.pointee.count += b.pointee.count
        removeNode(at: i + 1)
    }

    /// Deletes `n` elements from `start` (quicklistDelRange; 0 ≤ start, start + n ≤ count):
    /// whole nodes are dropped, partial ones cut.
    func removeRange(_ start: Int, _ n: Int) {
        if n <= 0 { return }
        var p = position(of: start)
        var i = p.node
        var remaining = n
        while remaining > 0 {
            let nd = node(i)
            let inNode = nd.pointee.count - p.local
            if p.local == 0 && remaining >= nd.pointee.count {
                remaining -= nd.pointee.count
                header.pointee.addToCount(-(nd.pointee.count))
                removeNode(at: i)
            } else {
                let k = Swift.min(remaining, inNode)
                var endOffset = nd.pointee.end
                if k < inNode {
                    var q = UnsafeRawPointer(nd.pointee.buffer + p.offset)
                    for _ in 0..<k { q += ListPack.entrySize(q) }
                    endOffset = q - UnsafeRawPointer(nd.pointee.buffer)
                }
                _ = reshape(i, at: p.offset, removing: endOffset - p.offset, inserting: 0, slack: .balanced)
                remaining -= k
                // The node keeps the entries before the cut (or after it), so it stays.
                removed(k, from: node(i), at: i)
                i += 1
            }
            if remaining > 0 {
                p = ListPosition(node: i, offset: node(i).pointee.start, local: 0)
            }
        }
    }

    /// LREM: removes elements matching `m`, at most `limit` (0 = all), scanning from the
    /// head or from the tail; returns how many went. Each node is compacted in one pass.
    func removeAll(matching m: ListMatcher, limit: Int, fromTail: Bool) -> Int {
        var removedTotal = 0
        var i = fromTail ? nodeCount - 1 : 0
        while i >= 0 && i < nodeCount {
            if limit != 0 && removedTotal == limit { break }
            let n = node(i)
            let buf = n.pointee.buffer
            var removedHere = 0
            if !fromTail {
                var read = n.pointee.start
                var write = read
                var runStart = read
                let end = n.pointee.end
                while read < end {
                    if limit != 0 && removedTotal == limit { break }
                    let (e, size) = ListPack.decode(buf + read)
                    if m.matches(e) {
                        let run = read - runStart
                        if run > 0 && write != runStart { memmove(buf + write, buf + runStart, run) }
                        write += run
                        read += size
                        runStart = read
                        removedHere += 1
                        removedTotal += 1
                    } else {
                        read += size
                    }
                }
                let run = end - runStart
                if run > 0 && write != runStart { memmove(buf + write, buf + runStart, run) }
                n.pointee.end = write + run
            } else {
                var read = n.pointee.end
                var write = read
                var runEnd = read
                let start = n.pointee.start
                while read > start {
                    if limit != 0 && removedTotal == limit { break }
                    let p = ListPack.entryBefore(buf + read) - UnsafeRawPointer(buf)
                    if m.matches(ListPack.decode(buf + p).element) {
                        let run = runEnd - read
                        if run > 0 && write != runEnd { memmove(buf + write - run, buf + read, run) }
                        write -= run
                        runEnd = p
                        removedHere += 1
                        removedTotal += 1
                    }
                    read = p
                }
                let run = runEnd - start
                if run > 0 && write != runEnd { memmove(buf + write - run, buf + start, run) }
                n.pointee.start = write - run
            }
            // An emptied node leaves the ring: going forward, the next node then has its index.
            let emptied = removedHere > 0 && removedHere == n.pointee.count
            if removedHere > 0 { removed(removedHere, from: n, at: i) }
            if fromTail || !emptied { i += fromTail ? -1 : 1 }
        }
        return removedTotal
    }

    // MARK: SlotStoredValue

    /// The ring of a list's block, as `node(_:)` reads it, for the static functions that
    /// get only the word.
    private static func nodes(of word: UInt) -> (block: UnsafeMutableRawPointer, nodes: [UnsafeMutablePointer<ListNode>]) {
        let p = UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped
        let h = p.assumingMemoryBound(to: ListHeader.self).pointee
        let ring = (p + headerSize).assumingMemoryBound(to: ListNode.self)
        let mask = (1 << h.ringShift) - 1
        return (p, (0..<Int(h.nodeCount)).map { ring + ((Int(h.ringHead) &+ $0) & mask) })
    }

    static func destroy(_ word: UInt) {
        let p = UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped
        let h = p.assumingMemoryBound(to: ListHeader.self).pointee
        let ring = (p + headerSize).assumingMemoryBound(to: ListNode.self)
        let mask = (1 << h.ringShift) - 1
        for i in 0..<Int(h.nodeCount) {
            let buffer = ring[(Int(h.ringHead) &+ i) & mask].buffer
            if buffer != p + inlineOffset { free(buffer) }
        }
        free(p)
    }

    static func encodingName(_ word: UInt) -> String { "quicklist" }

    /// COPY (quicklistDup): the same nodes, each in a block of its own size (a single
    /// node inline).
    static func duplicate(_ word: UInt) -> UInt {
        let p = UnsafeMutableRawPointer(bitPattern: word).unsafelyUnwrapped
        let copy = ListValue(fill: p.assumingMemoryBound(to: ListHeader.self).pointee.fill)
        let (_, nodes) = ListValue.nodes(of: word)
        copy.reserveNodes(nodes.count)
        for node in nodes {
            let n = node.pointee
            copy.appendEncodedNode(UnsafeRawBufferPointer(start: n.buffer + n.start, count: n.bytes), count: n.count)
        }
        return copy.entry.takeSlotWord()
    }

    /// Redis's objectComputeSize for a quicklist: the fixed parts plus the average of the
    /// first `samples` nodes (0 = all) times the number of nodes. An inline node's bytes
    /// are counted with the list's block.
    static func memoryUsage(_ word: UInt, samples: Int) -> Int {
        let (p, nodes) = ListValue.nodes(of: word)
        var size = Allocator.usableSize(UnsafeRawPointer(p))
        if nodes.isEmpty { return size }
        let sampled = samples == 0 ? nodes.count : Swift.min(samples, nodes.count)
        var nodesSize = 0
        for node in nodes[0..<sampled] where node.pointee.buffer != p + inlineOffset {
            nodesSize += MemoryLayout<ListNode>.stride + Allocator.usableSize(UnsafeRawPointer(node.pointee.buffer))
        }
        size += Int(Double(nodesSize) / Double(sampled) * Double(nodes.count))
        return size
    }

    // MARK: checks (tests)

    /// Every node walked both ways agrees with its count and with the total; for tests.
    func checkConsistency() -> String? {
        var total = 0
        for i in 0..<nodeCount {
            let n = node(i).pointee
            if n.count <= 0 { return "node \(i) is empty" }
            if n.start < 0 || n.end > n.capacity || n.start > n.end { return "node \(i) bounds" }
            if isInline(n) && (ringMask != 0 || n.capacity > inlineCapacity()) { return "node \(i) inline out of place" }
            var p = UnsafeRawPointer(n.buffer + n.start)
            var k = 0
            while p < UnsafeRawPointer(n.buffer + n.end) {
                p += ListPack.entrySize(p)
                k += 1
            }
            if p != UnsafeRawPointer(n.buffer + n.end) || k != n.count { return "node \(i) forward walk: \(k) of \(n.count)" }
            k = 0
            while p > UnsafeRawPointer(n.buffer + n.start) {
                p = ListPack.entryBefore(p)
                k += 1
            }
            if p != UnsafeRawPointer(n.buffer + n.start) || k != n.count { return "node \(i) backward walk" }
            total += n.count
        }
        return total == count ? nil : "count \(count) but nodes hold \(total)"
    }

    /// Is the (only) node's data in the list's own block? For tests.
    var hasInlineNode: Bool { nodeCount == 1 && isInline(node(0).pointee) }

    /// Node entry counts, head to tail; for tests.
    var nodeCounts: [Int] { (0..<nodeCount).map { node($0).pointee.count } }
    /// Node listpack sizes (lpBytes), head to tail; for tests.
    var nodePackedSizes: [Int] { (0..<nodeCount).map { node($0).pointee.packedSize } }
}
