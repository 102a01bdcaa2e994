#if canImport(Glibc)
import Glibc
#endif

/// A stream entry ID (Redis's streamID): milliseconds and sequence, compared as a
/// 128-bit number.
struct StreamID: Comparable, Hashable {
    var ms: UInt64
    var seq: UInt64

    static let zero = StreamID(ms: 0, seq: 0)
    static let max = StreamID(ms: UInt64.max, seq: UInt64.max)

    @inline(__always) static func < (a: StreamID, b: StreamID) -> Bool {
        a.ms != b.ms ? a.ms < b.ms : a.seq < b.seq
    }

    var isZero: Bool { ms == 0 && seq == 0 }

    /// Redis's streamIncrID: nil when the ID is already the largest one.
    func incremented() -> StreamID? {
        if seq == UInt64.max {
            if ms == UInt64.max { return nil }
            return StreamID(ms: ms + 1, seq: 0)
        }
        return StreamID(ms: ms, seq: seq + 1)
    }

    /// Redis's streamDecrID: nil when the ID is 0-0.
    func decremented() -> StreamID? {
        if seq == 0 {
            if ms == 0 { return nil }
            return StreamID(ms: ms - 1, seq: UInt64.max)
        }
        return StreamID(ms: ms, seq: seq - 1)
    }

    /// "ms-seq" as bytes.
    var bytes: [UInt8] { Array("\(ms)-\(seq)".utf8) }

    /// The 16-byte big-endian form Redis uses as radix tree key.
    func bigEndianByte(_ i: Int) -> UInt8 {
        i < 8 ? UInt8(truncatingIfNeeded: ms >> UInt64(56 - 8 * i)) : UInt8(truncatingIfNeeded: seq >> UInt64(56 - 8 * (i - 8)))
    }
}

// MARK: - Listpack size model

/// Sizes of listpack elements (Redis's listpack.c), so that nodes fill up exactly when
/// Redis's would (`stream-node-max-bytes`).
enum ListpackSize {
    @inline(__always) static func backlen(_ l: Int) -> Int {
        if l <= 127 { return 1 }
        if l < 16383 { return 2 }
        if l < 2097151 { return 3 }
        if l < 268435455 { return 4 }
        return 5
    }

    @inline(__always) static func int(_ v: Int64) -> Int {
        let enc: Int
        if v >= 0 && v <= 127 { enc = 1 }
        else if v >= -4096 && v <= 4095 { enc = 2 }
        else if v >= -32768 && v <= 32767 { enc = 3 }
        else if v >= -8388608 && v <= 8388607 { enc = 4 }
        else if v >= -2147483648 && v <= 2147483647 { enc = 5 }
        else { enc = 9 }
        return enc + 1
    }

    /// A string element: stored as an integer when it reads as one (lpStringToInt64).
    @inline(__always) static func string(_ s: UnsafeRawBufferPointer) -> Int {
        if s.count <= 20, let v = parseStrictInt(s) { return int(Int64(v)) }
        let l = s.count
        let enc = l < 64 ? 1 + l : (l < 4096 ? 2 + l : 5 + l)
        return enc + backlen(enc)
    }
}

// MARK: - Varints

@inline(__always) func appendVarint(_ a: inout [UInt8], _ v: UInt64) {
    var v = v
    while v >= 0x80 {
        a.append(UInt8(truncatingIfNeeded: v) | 0x80)
        v >>= 7
    }
    a.append(UInt8(v))
}

@inline(__always) func readVarint(_ p: UnsafePointer<UInt8>, _ pos: inout Int) -> UInt64 {
    var v: UInt64 = 0
    var shift: UInt64 = 0
    while true {
        let b = p[pos]
        pos += 1
        v |= UInt64(b & 0x7f) << shift
        if b < 0x80 { return v }
        shift += 7
    }
}

// MARK: - Nodes

/// One node of a stream: up to `stream-node-max-entries` entries, packed in one byte
/// array the way Redis packs a listpack (a master entry holds the field names of the
/// node's first entry; an entry with the same fields stores only its values; a deleted
/// entry is only flagged). Layout of each entry in `data`:
/// `flags` (bit 0 deleted, bit 1 same fields), varint ms - master.ms, varint seq,
/// then either the values (same fields) or varint field count and field/value pairs;
/// every string is a varint length and its bytes.
final class StreamNode {
    static let flagDeleted: UInt8 = 1
    static let flagSameFields: UInt8 = 2

    let master: StreamID
    /// The ID of the last entry in the node, deleted or not (lpGetEdgeStreamID).
    var last: StreamID
    var count = 0
    var deleted = 0
    let masterFieldCount: Int
    /// Packed field names of the master entry.
    let masterFields: [UInt8]
    var data: [UInt8] = []
    /// The size Redis's listpack would have, without the count and deleted elements.
    var lpBaseBytes: Int

    init(master: StreamID, fieldCount: Int, fields: [UInt8], lpBaseBytes: Int) {
        self.master = master
        self.last = master
        self.masterFieldCount = fieldCount
        self.masterFields = fields
        self.lpBaseBytes = lpBaseBytes
    }

    init(copying n: StreamNode) {
        master = n.master
        last = n.last
        count = n.count
        deleted = n.deleted
        masterFieldCount = n.masterFieldCount
        masterFields = n.masterFields
        data = n.data
        lpBaseBytes = n.lpBaseBytes
    }

    /// lpBytes() of Redis's listpack for this node.
    var listpackBytes: Int { lpBaseBytes + ListpackSize.int(Int64(count)) + ListpackSize.int(Int64(deleted)) }

    /// Offset just past the entry at `off`.
    @inline(__always)
    func skipEntry(_ p: UnsafePointer<UInt8>, _ off: Int) -> Int {
        var pos = off + 1
        let flags = p[off]
        _ = readVarint(p, &pos)
        _ = readVarint(p, &pos)
        let strings: Int
        if flags & StreamNode.flagSameFields != 0 {
            strings = masterFieldCount
        } else {
            strings = Int(readVarint(p, &pos)) * 2
        }
        for _ in 0..<strings {
            let l = Int(readVarint(p, &pos))
            pos += l
        }
        return pos
    }

    @inline(__always)
    func entryID(_ p: UnsafePointer<UInt8>, _ off: Int) -> StreamID {
        var pos = off + 1
        let dms = readVarint(p, &pos)
        let seq = readVarint(p, &pos)
        return StreamID(ms: master.ms &+ dms, seq: seq)
    }

    /// Offsets of every entry (deleted ones too), in order.
    func entryOffsets() -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(count + deleted)
        data.withUnsafeBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            var off = 0
            while off < buf.count {
                result.append(off)
                off = skipEntry(p, off)
            }
        }
        return result
    }
}

/// The fields and values of one entry, valid during the iteration callback only.
struct StreamEntryFields {
    let data: UnsafePointer<UInt8>
    /// Offset of the first string after the header.
    let offset: Int
    let sameFields: Bool
    let masterFields: UnsafePointer<UInt8>?
    /// Number of field/value pairs.
    let count: Int

    func forEachPair(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        var pos = offset
        var mpos = 0
        for _ in 0..<count {
            let field: UnsafeRawBufferPointer
            if sameFields {
                let l = Int(readVarint(masterFields!, &mpos))
                field = UnsafeRawBufferPointer(start: masterFields! + mpos, count: l)
                mpos += l
            } else {
                let l = Int(readVarint(data, &pos))
                field = UnsafeRawBufferPointer(start: data + pos, count: l)
                pos += l
            }
            let l = Int(readVarint(data, &pos))
            let value = UnsafeRawBufferPointer(start: data + pos, count: l)
            pos += l
            body(field, value)
        }
    }
}

// MARK: - Consumer groups

/// A sorted map from stream IDs to values (Redis keeps PELs in a rax keyed by the
/// 128-bit ID): chunks of at most a few hundred IDs, found by binary search, so inserts
/// and removals anywhere cost O(log n + chunk) even for PELs of millions of entries.
struct StreamIDMap<V> {
    struct Chunk {
        var ids: [StreamID]
        var values: [V]
    }

    static var chunkSize: Int { 128 }

    private(set) var chunks: [Chunk] = []
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }
    var firstID: StreamID? { chunks.first?.ids.first }
    var lastID: StreamID? { chunks.last?.ids.last }

    /// The last chunk whose first ID is <= id, or 0.
    private func chunkIndex(_ id: StreamID) -> Int {
        var lo = 0, hi = chunks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunks[mid].ids[0] <= id { lo = mid + 1 } else { hi = mid }
        }
        return Swift.max(0, lo - 1)
    }

    /// Chunk and index of the first ID >= id inside the chunk that would hold id.
    private func position(_ id: StreamID) -> (Int, Int, Bool) {
        if chunks.isEmpty { return (0, 0, false) }
        let ci = chunkIndex(id)
        let i = lowerBound(chunks[ci].ids, id)
        return (ci, i, i < chunks[ci].ids.count && chunks[ci].ids[i] == id)
    }

    func get(_ id: StreamID) -> V? {
        let (ci, i, found) = position(id)
        return found ? chunks[ci].values[i] : nil
    }

    func contains(_ id: StreamID) -> Bool { position(id).2 }

    /// Changes the value at `id` in place; false when absent.
    @discardableResult
    mutating func modify(_ id: StreamID, _ body: (inout V) -> Void) -> Bool {
        let (ci, i, found) = position(id)
        if !found { return false }
        body(&chunks[ci].values[i])
        return true
    }

    /// Adds `id` → `value`; false (and no change) when `id` is already there.
    @discardableResult
    mutating func insert(_ id: StreamID, _ value: V) -> Bool {
        if let last = chunks.last?.ids.last, last < id {
            if chunks[chunks.count - 1].ids.count >= Self.chunkSize {
                chunks.append(Chunk(ids: [id], values: [value]))
            } else {
                chunks[chunks.count - 1].ids.append(id)
                chunks[chunks.count - 1].values.append(value)
            }
            count += 1
            return true
        }
        if chunks.isEmpty {
            chunks.append(Chunk(ids: [id], values: [value]))
            count = 1
            return true
        }
        let (ci, i, found) = position(id)
        if found { return false }
        chunks[ci].ids.insert(id, at: i)
        chunks[ci].values.insert(value, at: i)
        count += 1
        if chunks[ci].ids.count > 2 * Self.chunkSize {
            let half = chunks[ci].ids.count / 2
            let tail = Chunk(ids: Array(chunks[ci].ids[half...]), values: Array(chunks[ci].values[half...]))
            chunks[ci].ids.removeSubrange(half...)
            chunks[ci].values.removeSubrange(half...)
            chunks.insert(tail, at: ci + 1)
        }
        return true
    }

    @discardableResult
    mutating func remove(_ id: StreamID) -> V? {
        let (ci, i, found) = position(id)
        if !found { return nil }
        chunks[ci].ids.remove(at: i)
        let v = chunks[ci].values.remove(at: i)
        if chunks[ci].ids.isEmpty { chunks.remove(at: ci) }
        count -= 1
        return v
    }

    /// The first entry with an ID >= id.
    func next(atOrAfter id: StreamID) -> (StreamID, V)? {
        if chunks.isEmpty { return nil }
        var (ci, i, _) = position(id)
        if i >= chunks[ci].ids.count {
            ci += 1
            i = 0
            if ci >= chunks.count { return nil }
        }
        return (chunks[ci].ids[i], chunks[ci].values[i])
    }

    /// Entries from the first ID >= `from`, in order, until `body` returns false.
    func forEach(from: StreamID = .zero, _ body: (StreamID, V) -> Bool) {
        if chunks.isEmpty { return }
        var (ci, i, _) = position(from)
        while ci < chunks.count {
            let c = chunks[ci]
            while i < c.ids.count {
                if !body(c.ids[i], c.values[i]) { return }
                i += 1
            }
            ci += 1
            i = 0
        }
    }

    var allocatedBytes: Int {
        chunks.reduce(chunks.capacity * MemoryLayout<Chunk>.stride) {
            $0 + $1.ids.capacity * MemoryLayout<StreamID>.stride + $1.values.capacity * MemoryLayout<V>.stride + 64
        }
    }
}

/// A consumer of a group (streamConsumer).
/// Binary search of `name` in `items` kept sorted by name in memcmp order, shorter prefix
/// first (a group's consumers, a stream's groups, as rax orders them): where it is or
/// would go, and whether it is there.
@inline(__always)
func sortedNameIndex<T>(_ items: [T], _ name: UnsafeRawBufferPointer, _ nameOf: (T) -> [UInt8]) -> (Int, Bool) {
    var lo = 0, hi = items.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if nameOf(items[mid]).withUnsafeBytes({ compareBytes($0, name) }) < 0 { lo = mid + 1 } else { hi = mid }
    }
    return (lo, lo < items.count && nameOf(items[lo]).withUnsafeBytes { bytesEqual($0, name) })
}

final class StreamConsumer {
    let name: [UInt8]
    var seenTime: Int64
    /// IDs this consumer has pending.
    var pel = StreamIDMap<Void>()

    init(name: [UInt8], seenTime: Int64) {
        self.name = name
        self.seenTime = seenTime
    }
}

/// A pending entry (streamNACK): its owner (nil only for an XCLAIM FORCE placeholder
/// before it is assigned), last delivery time and delivery count.
struct StreamNACK {
    var consumer: StreamConsumer?
    var deliveryTime: Int64
    var deliveryCount: Int64
}

/// A consumer group (streamCG): last delivered ID, read counter, pending entries list,
/// consumers ordered by name.
final class StreamGroup {
    static let invalidEntriesRead: Int64 = -1

    let name: [UInt8]
    var lastID: StreamID
    var entriesRead: Int64
    var pel = StreamIDMap<StreamNACK>()
    var consumers: [StreamConsumer] = []

    init(name: [UInt8], lastID: StreamID, entriesRead: Int64) {
        self.name = name
        self.lastID = lastID
        self.entriesRead = entriesRead
    }

    func consumerIndex(_ name: UnsafeRawBufferPointer) -> (Int, Bool) {
        sortedNameIndex(consumers, name) { $0.name }
    }

    func lookupConsumer(_ name: UnsafeRawBufferPointer) -> StreamConsumer? {
        let (i, found) = consumerIndex(name)
        return found ? consumers[i] : nil
    }

    /// streamCreateConsumer: nil when it already exists.
    func createConsumer(_ name: UnsafeRawBufferPointer, now: Int64) -> StreamConsumer? {
        let (i, found) = consumerIndex(name)
        if found { return nil }
        let c = StreamConsumer(name: Array(name), seenTime: now)
        consumers.insert(c, at: i)
        return c
    }

    /// streamDelConsumer: removes the consumer and its pending entries; returns how many
    /// it had pending, or nil when there is no such consumer.
    func deleteConsumer(_ name: UnsafeRawBufferPointer) -> Int? {
        let (i, found) = consumerIndex(name)
        guard found else { return nil }
        let c = consumers[i]
        c.pel.forEach { id, _ in
            pel.remove(id)
            return true
        }
        consumers.remove(at: i)
        return c.pel.count
    }

    /// Removes `id` from the group PEL and from its owner's (XACK).
    @discardableResult
    func acknowledge(_ id: StreamID) -> Bool {
        guard let nack = pel.remove(id) else { return false }
        nack.consumer?.pel.remove(id)
        return true
    }

    /// Gives the pending entry `id` to `consumer` (removing it from its previous owner).
    func assign(_ id: StreamID, to consumer: StreamConsumer) {
        pel.modify(id) { nack in
            if nack.consumer !== consumer {
                nack.consumer?.pel.remove(id)
                consumer.pel.insert(id, ())
                nack.consumer = consumer
            }
        }
    }
}


@inline(__always) func lowerBound(_ a: [StreamID], _ id: StreamID) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) / 2
        if a[mid] < id { lo = mid + 1 } else { hi = mid }
    }
    return lo
}

// MARK: - The stream

/// A stream (Redis's stream, t_stream.c): entries ordered by ID in nodes sorted by
/// their master ID (Redis: a radix tree of listpacks keyed by master ID), plus the
/// stream's counters and its consumer groups.
final class StreamValue: KeyspaceValue {
    var nodes: [StreamNode] = []
    var length = 0
    var lastID = StreamID.zero
    var firstID = StreamID.zero
    var maxDeletedID = StreamID.zero
    var entriesAdded: Int64 = 0
    var groups: [StreamGroup] = []

    init() {}

    var encodingName: String { "stream" }

    func duplicate() -> KeyspaceValue {
        let s = StreamValue()
        s.nodes = nodes.map { StreamNode(copying: $0) }
        s.length = length
        s.lastID = lastID
        s.firstID = firstID
        s.maxDeletedID = maxDeletedID
        s.entriesAdded = entriesAdded
        for g in groups {
            let ng = StreamGroup(name: g.name, lastID: g.lastID, entriesRead: g.entriesRead)
            var map: [ObjectIdentifier: StreamConsumer] = [:]
            for c in g.consumers {
                let nc = StreamConsumer(name: c.name, seenTime: c.seenTime)
                nc.pel = c.pel
                map[ObjectIdentifier(c)] = nc
                ng.consumers.append(nc)
            }
            g.pel.forEach { id, nack in
                var m = nack
                if let c = nack.consumer { m.consumer = map[ObjectIdentifier(c)] }
                ng.pel.insert(id, m)
                return true
            }
            s.groups.append(ng)
        }
        return s
    }

    func memoryUsage(samples: Int) -> Int {
        var size = 96 + nodes.capacity * 8
        for n in nodes { size += 112 + n.data.capacity + n.masterFields.capacity + 64 }
        for g in groups {
            size += 128 + g.name.count + g.pel.allocatedBytes
            for c in g.consumers { size += 80 + c.name.count + c.pel.allocatedBytes }
        }
        return size
    }

    // MARK: appending

    /// streamAppendItem's storage part: `id` is already known to be greater than lastID.
    /// `argv[from...]` holds field/value pairs.
    func append(_ id: StreamID, _ argv: Argv, from: Int, maxBytes: Int, maxEntries: Int) {
        let numFields = (argv.count - from) / 2
        var totelelen = 0
        for i in from..<argv.count { totelelen += argv[i].count }
        var node = nodes.last
        if let n = node {
            var nodeMaxBytes = maxBytes
            if nodeMaxBytes == 0 || nodeMaxBytes > (1 << 30) { nodeMaxBytes = 1 << 30 }
            if n.listpackBytes + totelelen >= nodeMaxBytes {
                node = nil
            } else if maxEntries != 0 && n.count + n.deleted >= maxEntries {
                node = nil
            }
            // lpShrinkToFit: a full node keeps only the bytes it uses.
            if node == nil { n.data = n.data.withUnsafeBufferPointer { Array($0) } }
        }
        var flags: UInt8 = 0
        let n: StreamNode
        if let existing = node {
            n = existing
            if numFields == n.masterFieldCount {
                var same = true
                n.masterFields.withUnsafeBufferPointer { mf in
                    var pos = 0
                    for i in 0..<numFields {
                        let l = Int(readVarint(mf.baseAddress!, &pos))
                        let f = argv[from + 2 * i]
                        if l != f.count || (l > 0 && memcmp(mf.baseAddress! + pos, f.baseAddress!, l) != 0) {
                            same = false
                            break
                        }
                        pos += l
                    }
                }
                if same { flags |= StreamNode.flagSameFields }
            }
        } else {
            var packed: [UInt8] = []
            // listpack header + EOF, num-fields, fields, master terminator
            var lp = 7 + ListpackSize.int(Int64(numFields)) + ListpackSize.int(0)
            for i in 0..<numFields {
                let f = argv[from + 2 * i]
                appendVarint(&packed, UInt64(f.count))
                packed.append(contentsOf: f)
                lp += ListpackSize.string(f)
            }
            n = StreamNode(master: id, fieldCount: numFields, fields: packed, lpBaseBytes: lp)
            nodes.append(n)
            flags |= StreamNode.flagSameFields
        }
        let same = flags & StreamNode.flagSameFields != 0
        n.data.append(flags)
        appendVarint(&n.data, id.ms &- n.master.ms)
        appendVarint(&n.data, id.seq)
        var lp = 2 + ListpackSize.int(Int64(bitPattern: id.ms &- n.master.ms))
            + ListpackSize.int(Int64(bitPattern: id.seq &- n.master.seq))
        if !same {
            appendVarint(&n.data, UInt64(numFields))
            lp += ListpackSize.int(Int64(numFields))
        }
        for i in 0..<numFields {
            if !same {
                let f = argv[from + 2 * i]
                appendVarint(&n.data, UInt64(f.count))
                n.data.append(contentsOf: f)
                lp += ListpackSize.string(f)
            }
            let v = argv[from + 2 * i + 1]
            appendVarint(&n.data, UInt64(v.count))
            n.data.append(contentsOf: v)
            lp += ListpackSize.string(v)
        }
        lp += ListpackSize.int(Int64(numFields + 3 + (same ? 0 : numFields + 1)))
        n.lpBaseBytes += lp
        n.count += 1
        n.last = id
        length += 1
        entriesAdded &+= 1
        lastID = id
        if length == 1 { firstID = id }
    }

    // MARK: seeking and iteration

    /// Index of the last node whose master ID is <= id, or 0.
    @inline(__always) func nodeIndex(for id: StreamID) -> Int {
        var lo = 0, hi = nodes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if nodes[mid].master <= id { lo = mid + 1 } else { hi = mid }
        }
        return Swift.max(0, lo - 1)
    }

    /// Calls `body` for each live entry with start <= ID <= end, ascending (descending
    /// when `reverse`), until it returns false.
    func forEachEntry(from start: StreamID, to end: StreamID, reverse: Bool,
                      _ body: (StreamID, StreamEntryFields) -> Bool) {
        if nodes.isEmpty || end < start { return }
        if !reverse {
            var ni = nodeIndex(for: start)
            while ni < nodes.count {
                let n = nodes[ni]
                if n.master > end { return }
                var stop = false
                n.masterFields.withUnsafeBufferPointer { mf in
                    n.data.withUnsafeBufferPointer { buf in
                        let p = buf.baseAddress!
                        var off = 0
                        while off < buf.count {
                            let flags = p[off]
                            var pos = off + 1
                            let dms = readVarint(p, &pos)
                            let seq = readVarint(p, &pos)
                            let id = StreamID(ms: n.master.ms &+ dms, seq: seq)
                            if id > end { stop = true; return }
                            let same = flags & StreamNode.flagSameFields != 0
                            var fc = n.masterFieldCount
                            if !same { fc = Int(readVarint(p, &pos)) }
                            if flags & StreamNode.flagDeleted == 0 && id >= start {
                                let f = StreamEntryFields(data: p, offset: pos, sameFields: same,
                                                          masterFields: mf.baseAddress, count: fc)
                                if !body(id, f) { stop = true; return }
                            }
                            off = n.skipEntry(p, off)
                        }
                    }
                }
                if stop { return }
                ni += 1
            }
        } else {
            var ni = nodeIndex(for: end)
            while ni >= 0 {
                let n = nodes[ni]
                if n.last < start { return }
                let offsets = n.entryOffsets()
                var stop = false
                n.masterFields.withUnsafeBufferPointer { mf in
                    n.data.withUnsafeBufferPointer { buf in
                        let p = buf.baseAddress!
                        for off in offsets.reversed() {
                            let flags = p[off]
                            var pos = off + 1
                            let dms = readVarint(p, &pos)
                            let seq = readVarint(p, &pos)
                            let id = StreamID(ms: n.master.ms &+ dms, seq: seq)
                            if id < start { stop = true; return }
                            if flags & StreamNode.flagDeleted != 0 || id > end { continue }
                            let same = flags & StreamNode.flagSameFields != 0
                            var fc = n.masterFieldCount
                            if !same { fc = Int(readVarint(p, &pos)) }
                            let f = StreamEntryFields(data: p, offset: pos, sameFields: same,
                                                      masterFields: mf.baseAddress, count: fc)
                            if !body(id, f) { stop = true; return }
                        }
                    }
                }
                if stop { return }
                ni -= 1
            }
        }
    }

    /// Whether a live entry with this ID exists (streamEntryExists).
    func contains(_ id: StreamID) -> Bool {
        var found = false
        forEachEntry(from: id, to: id, reverse: false) { _, _ in found = true; return false }
        return found
    }

    /// The first (or last) live entry ID (streamGetEdgeID with skip_tombstones), nil when empty.
    func edgeID(first: Bool) -> StreamID? {
        var result: StreamID? = nil
        forEachEntry(from: .zero, to: .max, reverse: !first) { id, _ in result = id; return false }
        return result
    }

    /// The first entry still stored, deleted or not (streamGetEdgeID without skipping
    /// tombstones), nil when empty: what an approximate MINID trim propagates.
    var firstStoredID: StreamID? {
        guard let n = nodes.first else { return nil }
        return n.data.withUnsafeBufferPointer { buf -> StreamID? in
            guard let p = buf.baseAddress, buf.count > 0 else { return nil }
            return n.entryID(p, 0)
        }
    }

    /// streamLastValidID.
    var lastValidID: StreamID { edgeID(first: false) ?? .zero }

    // MARK: deletion and trimming

    /// Deletes one live entry (streamDeleteItem); true if it was there.
    func delete(_ id: StreamID) -> Bool {
        if nodes.isEmpty { return false }
        let ni = nodeIndex(for: id)
        let n = nodes[ni]
        if id < n.master || id > n.last { return false }
        var hit = false
        n.data.withUnsafeMutableBufferPointer { buf in
            let p = UnsafePointer(buf.baseAddress!)
            var off = 0
            while off < buf.count {
                let eid = n.entryID(p, off)
                if eid > id { return }
                if eid == id {
                    if buf[off] & StreamNode.flagDeleted == 0 {
                        buf[off] |= StreamNode.flagDeleted
                        hit = true
                    }
                    return
                }
                off = n.skipEntry(p, off)
            }
        }
        guard hit else { return false }
        length -= 1
        if n.count == 1 {
            nodes.remove(at: ni)
        } else {
            n.count -= 1
            n.deleted += 1
        }
        return true
    }

    enum TrimStrategy {
        case maxlen(Int)
        case minid(StreamID)
    }

    /// streamTrim: whole nodes from the head, then (unless `approx`) entries of one node
    /// flagged deleted. `limit` 0 = no limit. Returns the number of entries removed.
    func trim(_ strategy: TrimStrategy, approx: Bool, limit: Int) -> Int {
        var deleted = 0
        // Whole nodes go in one removal at the end (a long trim stays linear).
        var ni = 0
        defer { if ni > 0 { nodes.removeFirst(ni) } }
        while ni < nodes.count {
            if case .maxlen(let maxlen) = strategy, length <= maxlen { break }
            let n = nodes[ni]
            let entries = n.count
            if limit != 0 && deleted + entries > limit { break }
            let removeNode: Bool
            switch strategy {
            case .maxlen(let maxlen): removeNode = length - entries >= maxlen
            case .minid(let minid): removeNode = n.last < minid
            }
            if removeNode {
                ni += 1
                length -= entries
                deleted += entries
                continue
            }
            if approx { break }
            var deletedHere = 0
            n.data.withUnsafeMutableBufferPointer { buf in
                let p = UnsafePointer(buf.baseAddress!)
                var off = 0
                while off < buf.count {
                    let stop: Bool
                    switch strategy {
                    case .maxlen(let maxlen): stop = length <= maxlen
                    case .minid(let minid): stop = n.entryID(p, off) >= minid
                    }
                    if stop { break }
                    let next = n.skipEntry(p, off)
                    if buf[off] & StreamNode.flagDeleted == 0 {
                        buf[off] |= StreamNode.flagDeleted
                        deletedHere += 1
                        length -= 1
                    }
                    off = next
                }
            }
            deleted += deletedHere
            n.count -= deletedHere
            n.deleted += deletedHere
            break
        }
        if length == 0 {
            firstID = .zero
        } else {
            // The first live entry, past the nodes about to be removed.
            var found: StreamID? = nil
            var k = ni
            while found == nil && k < nodes.count {
                found = StreamValue.firstLive(nodes[k])
                k += 1
            }
            if let f = found { firstID = f }
        }
        return deleted
    }

    /// The first entry of `n` not flagged deleted.
    static func firstLive(_ n: StreamNode) -> StreamID? {
        n.data.withUnsafeBufferPointer { buf -> StreamID? in
            guard let p = buf.baseAddress else { return nil }
            var off = 0
            while off < buf.count {
                if p[off] & StreamNode.flagDeleted == 0 { return n.entryID(p, off) }
                off = n.skipEntry(p, off)
            }
            return nil
        }
    }

    // MARK: introspection

    /// The number of radix tree nodes Redis's rax would have for these node keys
    /// (XINFO STREAM radix-tree-nodes): a compressed chain counts one node, a branch one.
    var radixTreeNodes: Int {
        if nodes.isEmpty { return 1 }
        return nodes.withUnsafeBufferPointer { buf in
            StreamValue.raxCount(buf, 0, buf.count, 0)
        }
    }

    private static func raxCount(_ keys: UnsafeBufferPointer<StreamNode>, _ lo: Int, _ hi: Int, _ depth: Int) -> Int {
        if depth == 16 { return 1 }
        // Longest common prefix from depth.
        var d = depth
        let first = keys[lo].master, lastKey = keys[hi - 1].master
        while d < 16 && first.bigEndianByte(d) == lastKey.bigEndianByte(d) { d += 1 }
        if d > depth { return 1 + raxCount(keys, lo, hi, d) }
        var total = 1
        var i = lo
        while i < hi {
            let b = keys[i].master.bigEndianByte(depth)
            var j = i + 1
            while j < hi && keys[j].master.bigEndianByte(depth) == b { j += 1 }
            total += raxCount(keys, i, j, depth + 1)
            i = j
        }
        return total
    }

    // MARK: groups

    func lookupGroup(_ name: UnsafeRawBufferPointer) -> StreamGroup? {
        let (i, found) = groupIndex(name)
        return found ? groups[i] : nil
    }

    func groupIndex(_ name: UnsafeRawBufferPointer) -> (Int, Bool) {
        sortedNameIndex(groups, name) { $0.name }
    }

    /// streamCreateCG: nil if the group exists.
    func createGroup(_ name: UnsafeRawBufferPointer, lastID: StreamID, entriesRead: Int64) -> StreamGroup? {
        let (i, found) = groupIndex(name)
        if found { return nil }
        let g = StreamGroup(name: Array(name), lastID: lastID, entriesRead: entriesRead)
        groups.insert(g, at: i)
        return g
    }

    /// streamRangeHasTombstones.
    func rangeHasTombstones(_ start: StreamID?, _ end: StreamID?) -> Bool {
        if length == 0 || maxDeletedID.isZero { return false }
        if firstID > maxDeletedID { return false }
        let s = start ?? .zero
        let e = end ?? .max
        return s <= maxDeletedID && maxDeletedID <= e
    }

    /// streamEstimateDistanceFromFirstEverEntry.
    func estimateDistanceFromFirstEverEntry(_ id: StreamID) -> Int64 {
        if entriesAdded == 0 { return 0 }
        if length == 0 && id <= lastID { return entriesAdded }
        if id == lastID { return entriesAdded }
        if id > lastID { return StreamGroup.invalidEntriesRead }
        if maxDeletedID.isZero || maxDeletedID < firstID {
            if id < firstID { return entriesAdded &- Int64(length) }
            if id == firstID { return entriesAdded &- Int64(length) &+ 1 }
        }
        return StreamGroup.invalidEntriesRead
    }

    /// streamReplyWithCGLag's value, nil when unknown.
    func lag(of g: StreamGroup) -> Int64? {
        if entriesAdded == 0 { return 0 }
        if g.entriesRead != StreamGroup.invalidEntriesRead && !rangeHasTombstones(g.lastID, nil) {
            return entriesAdded &- g.entriesRead
        }
        let er = estimateDistanceFromFirstEverEntry(g.lastID)
        if er != StreamGroup.invalidEntriesRead { return entriesAdded &- er }
        return nil
    }
}
