#if canImport(Glibc)
import Glibc
#endif

// Streams in RDB files and DUMP payloads (rdb.c's RDB_TYPE_STREAM_LISTPACKS parts):
// the nodes as (16-byte big-endian master ID, listpack) pairs, then the stream's
// counters, then the consumer groups with their PELs and consumers.
//
// Node listpack layout (t_stream.c): master entry `count, deleted, num-fields,
// field..., 0`, then per entry `flags, ms-diff, seq-diff, [num-fields, field, value,
// ...] | value..., lp-count`. Our StreamNode keeps the same entries in its own varint
// layout, so nodes are re-encoded on save and decoded (strictly validated) on load.

extension RDBReader {
    /// rdbLoadLen for values Redis stores as full 64-bit numbers (stream IDs, counters).
    func length64() throws -> UInt64 {
        let start = pos
        let b = try byte()
        switch b >> 6 {
        case RDB.len6bit: return UInt64(b & 0x3F)
        case RDB.len14bit: return UInt64(b & 0x3F) << 8 | UInt64(try byte())
        default:
            if b == RDB.len32bit {
                let p = try bytes(4)
                return p.reduce(0) { $0 << 8 | UInt64($1) }
            }
            if b == RDB.len64bit {
                let p = try bytes(8)
                return p.reduce(0) { $0 << 8 | UInt64($1) }
            }
            throw error("Unknown length encoding \(b) in rdbLoadLen()", at: start)
        }
    }

    /// A raw 16-byte big-endian stream ID (rdbWriteRaw of a rax key).
    func rawStreamID() throws -> StreamID {
        let p = try bytes(16, "a stream ID")
        var ms: UInt64 = 0, seq: UInt64 = 0
        for i in 0..<8 { ms = ms << 8 | UInt64(p[i]) }
        for i in 8..<16 { seq = seq << 8 | UInt64(p[i]) }
        return StreamID(ms: ms, seq: seq)
    }
}

extension RDBWriter {
    /// rdbSaveLen of a full 64-bit value.
    func length64(_ v: UInt64) {
        if v <= UInt64(UInt32.max) {
            length(Int(v))
        } else {
            byte(RDB.len64bit)
            withUnsafeBytes(of: v.bigEndian) { raw($0) }
        }
    }

    func rawStreamID(_ id: StreamID) {
        withUnsafeBytes(of: id.ms.bigEndian) { raw($0) }
        withUnsafeBytes(of: id.seq.bigEndian) { raw($0) }
    }
}

/// Builds one listpack in memory (lpAppend / lpAppendInteger encodings), reusing its
/// buffer from one listpack to the next.
final class ListpackBuilder {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 6
    private(set) var count = 0

    init(reserve: Int = 64) {
        capacity = max(reserve + 7, 64)
        base = malloc(capacity)!
    }

    deinit { free(base) }

    /// Empties the builder for the next listpack, keeping its memory.
    func reset(reserve: Int) {
        used = 6
        count = 0
        ensure(reserve + 1)
    }

    @inline(__always) private func ensure(_ extra: Int) {
        if used + extra > capacity {
            capacity = max(capacity * 2, used + extra)
            base = realloc(base, capacity)!
        }
    }

    @inline(__always) private func append(_ e: PackedEntry) {
        ensure(e.size)
        e.write(to: base + used)
        used += e.size
        count += 1
    }

    /// A string element (stored as an integer when it reads as one, as lpAppend).
    func append(_ s: UnsafeRawBufferPointer) { append(PackedEntry(s)) }

    func append(_ v: Int64) { append(PackedEntry(integer: Int(v))) }

    /// Terminator and header in place; the listpack stays valid until the next reset.
    func finish() -> UnsafeRawBufferPointer {
        ensure(1)
        base.storeBytes(of: 0xFF, toByteOffset: used, as: UInt8.self)
        used += 1
        base.storeBytes(of: UInt32(used).littleEndian, as: UInt32.self)
        base.storeBytes(of: UInt16(min(count, 65535)).littleEndian, toByteOffset: 4, as: UInt16.self)
        return UnsafeRawBufferPointer(start: base, count: used)
    }
}

extension RDBObjects {
    // MARK: saving

    /// The listpack Redis would hold for this node.
    static func streamNodeListpack(_ n: StreamNode) -> [UInt8] {
        let lp = ListpackBuilder()
        return withExtendedLifetime(lp) { Array(streamNodeListpack(n, into: lp)) }
    }

    /// The same, built in `lp` (reused from node to node by the saver).
    static func streamNodeListpack(_ n: StreamNode, into lp: ListpackBuilder) -> UnsafeRawBufferPointer {
        lp.reset(reserve: n.listpackBytes)
        lp.append(Int64(n.count))
        lp.append(Int64(n.deleted))
        lp.append(Int64(n.masterFieldCount))
        n.masterFields.withUnsafeBufferPointer { mf in
            var pos = 0
            for _ in 0..<n.masterFieldCount {
                let l = Int(readVarint(mf.baseAddress!, &pos))
                lp.append(UnsafeRawBufferPointer(start: mf.baseAddress! + pos, count: l))
                pos += l
            }
        }
        lp.append(0)
        n.data.withUnsafeBufferPointer { buf in
            guard let p = buf.baseAddress else { return }
            var pos = 0
            while pos < buf.count {
                let flags = p[pos]
                pos += 1
                let dms = readVarint(p, &pos)
                let seq = readVarint(p, &pos)
                lp.append(Int64(flags))
                lp.append(Int64(bitPattern: dms))
                lp.append(Int64(bitPattern: seq &- n.master.seq))
                let same = flags & StreamNode.flagSameFields != 0
                var fields = n.masterFieldCount
                if !same {
                    fields = Int(readVarint(p, &pos))
                    lp.append(Int64(fields))
                }
                for _ in 0..<(same ? fields : fields * 2) {
                    let l = Int(readVarint(p, &pos))
                    lp.append(UnsafeRawBufferPointer(start: p + pos, count: l))
                    pos += l
                }
                lp.append(Int64(fields + 3 + (same ? 0 : fields + 1)))
            }
        }
        return lp.finish()
    }

    /// rdbSaveObject for OBJ_STREAM: RDB_TYPE_STREAM_LISTPACKS_2 from version 10 on,
    /// RDB_TYPE_STREAM_LISTPACKS (Redis 5 to 6.2) below.
    static func saveStream(_ s: StreamValue, to w: RDBWriter, version: Int) {
        let v2 = version >= 10
        w.length(s.nodes.count)
        var key = [UInt8](repeating: 0, count: 16)
        let lp = ListpackBuilder()
        for n in s.nodes {
            for i in 0..<16 { key[i] = n.master.bigEndianByte(i) }
            w.string(key)
            w.string(streamNodeListpack(n, into: lp))
        }
        w.length(s.length)
        w.length64(s.lastID.ms)
        w.length64(s.lastID.seq)
        if v2 {
            w.length64(s.firstID.ms)
            w.length64(s.firstID.seq)
            w.length64(s.maxDeletedID.ms)
            w.length64(s.maxDeletedID.seq)
            w.length64(UInt64(bitPattern: s.entriesAdded))
        }
        w.length(s.groups.count)
        for g in s.groups {
            w.string(g.name)
            w.length64(g.lastID.ms)
            w.length64(g.lastID.seq)
            if v2 { w.length64(UInt64(bitPattern: g.entriesRead)) }
            w.length(g.pel.count)
            g.pel.forEach { id, nack in
                w.rawStreamID(id)
                w.millisecondTime(nack.deliveryTime)
                w.length64(UInt64(bitPattern: nack.deliveryCount))
                return true
            }
            w.length(g.consumers.count)
            for c in g.consumers {
                w.string(c.name)
                w.millisecondTime(c.seenTime)
                w.length(c.pel.count)
                c.pel.forEach { id, _ in
                    w.rawStreamID(id)
                    return true
                }
            }
        }
    }

    // MARK: loading

    /// rdbLoadObject for RDB_TYPE_STREAM_LISTPACKS(_2, _3). Stricter than Redis's
    /// non-deep load: every listpack is validated entry by entry, the IDs must be in
    /// order and the counters agree with the entries, and every pending entry must have
    /// exactly one owner (a file Redis wrote always passes).
    static func loadStream(type: UInt8, from r: RDBReader, at start: Int) throws -> StreamValue {
        let s = StreamValue()
        let v2 = type >= RDB.typeStreamListpacks2
        let v3 = type >= RDB.typeStreamListpacks3
        let nodeCount = try r.count(minimumItemBytes: 2, "stream listpacks")
        var live = 0
        var previousLast: StreamID? = nil
        for _ in 0..<nodeCount {
            let keyAt = r.pos
            let master: StreamID = try r.withString { k throws in
                guard k.count == 16 else {
                    throw r.error("Stream node key entry is not the size of a stream ID", at: keyAt)
                }
                var ms: UInt64 = 0, seq: UInt64 = 0
                for i in 0..<8 { ms = ms << 8 | UInt64(k[i]) }
                for i in 8..<16 { seq = seq << 8 | UInt64(k[i]) }
                return StreamID(ms: ms, seq: seq)
            }
            if let p = previousLast, master <= p {
                throw r.error("Stream node key \(master.ms)-\(master.seq) not after the previous node", at: keyAt)
            }
            let at = r.pos
            let node = try r.withString { lp throws in try decodeStreamNode(lp, master: master, r: r, at: at) }
            previousLast = node.last
            live += node.count
            s.nodes.append(node)
        }
        let metaAt = r.pos
        let length = try r.length64()
        s.lastID = StreamID(ms: try r.length64(), seq: try r.length64())
        guard length == UInt64(live) else {
            throw r.error("Stream length \(length) inconsistent with the \(live) entries of its listpacks", at: metaAt)
        }
        s.length = live
        if let p = previousLast, s.lastID < p {
            throw r.error("Stream last ID is smaller than its last entry", at: metaAt)
        }
        if v2 {
            s.firstID = StreamID(ms: try r.length64(), seq: try r.length64())
            s.maxDeletedID = StreamID(ms: try r.length64(), seq: try r.length64())
            s.entriesAdded = Int64(bitPattern: try r.length64())
        } else {
            // As Redis 7.0 migrates a 6.x stream: offset = length, first ID looked up
            // (streamGetEdgeID gives the largest ID when there is no entry).
            s.maxDeletedID = .zero
            s.entriesAdded = Int64(live)
            s.firstID = s.edgeID(first: true) ?? .max
        }
        let groupCount = try r.count(minimumItemBytes: 5, "stream consumer groups")
        for _ in 0..<groupCount {
            let nameAt = r.pos
            let name = try r.stringArray()
            let lastID = StreamID(ms: try r.length64(), seq: try r.length64())
            let entriesRead = v2 ? Int64(bitPattern: try r.length64()) : s.estimateDistanceFromFirstEverEntry(lastID)
            guard let g = name.withUnsafeBytes({ s.createGroup($0, lastID: lastID, entriesRead: entriesRead) }) else {
                throw r.error("Duplicated consumer group name \(String(decoding: name, as: UTF8.self))", at: nameAt)
            }
            let pelCount = try r.count(minimumItemBytes: 25, "stream PEL")
            for _ in 0..<pelCount {
                let idAt = r.pos
                let id = try r.rawStreamID()
                let time = try r.millisecondTime()
                let deliveries = Int64(bitPattern: try r.length64())
                if !g.pel.insert(id, StreamNACK(consumer: nil, deliveryTime: time, deliveryCount: deliveries)) {
                    throw r.error("Duplicated global PEL entry loading stream consumer group", at: idAt)
                }
            }
            let consumerCount = try r.count(minimumItemBytes: 10, "stream consumers")
            for _ in 0..<consumerCount {
                let cAt = r.pos
                let cname = try r.stringArray()
                guard let c = cname.withUnsafeBytes({ g.createConsumer($0, now: 0) }) else {
                    throw r.error("Duplicate stream consumer detected.", at: cAt)
                }
                c.seenTime = try r.millisecondTime()
                // 7.2's active-time (last successful read): we keep seen-time only.
                if v3 { _ = try r.millisecondTime() }
                let n = try r.count(minimumItemBytes: 16, "stream consumer PEL")
                for _ in 0..<n {
                    let idAt = r.pos
                    let id = try r.rawStreamID()
                    var owned = false, found = false
                    g.pel.modify(id) { nack in
                        found = true
                        if nack.consumer != nil { owned = true } else { nack.consumer = c }
                    }
                    if !found { throw r.error("Consumer entry not found in group global PEL", at: idAt) }
                    if owned || !c.pel.insert(id, ()) {
                        throw r.error("Duplicated consumer PEL entry loading a stream consumer group", at: idAt)
                    }
                }
            }
            var orphan = false
            g.pel.forEach { _, nack in
                if nack.consumer == nil { orphan = true; return false }
                return true
            }
            if orphan { throw r.error("Stream CG PEL entry without consumer", at: nameAt) }
        }
        return s
    }

    /// One node from its listpack (streamValidateListpackIntegrity, deep, plus the ID
    /// order and flag counts our node layout relies on).
    static func decodeStreamNode(_ lp: UnsafeRawBufferPointer, master: StreamID, r: RDBReader, at: Int) throws -> StreamNode {
        var elements: [PackedElement] = []
        try PackedFormats.forEachListpack(lp, at: at) { elements.append($0) }
        func fail(_ m: String) -> RDBError { r.error("Stream listpack integrity check failed: " + m, at: at) }
        if elements.isEmpty { throw r.error("Empty listpack inside stream", at: at) }
        var i = 0
        func next() throws -> PackedElement {
            guard i < elements.count else { throw fail("entry missing") }
            i += 1
            return elements[i - 1]
        }
        func int(_ what: String) throws -> Int64 {
            switch try next() {
            case .int(let v): return v
            case .bytes(let b):
                guard let v = parseStrictInt(b) else { throw fail("\(what) is not an integer") }
                return Int64(v)
            }
        }
        func appendString(_ e: PackedElement, to a: inout [UInt8]) {
            _ = try? e.withBytes { b in
                appendVarint(&a, UInt64(b.count))
                a.append(contentsOf: b)
            }
        }
        let count = try int("entry count")
        let deleted = try int("deleted count")
        let masterFields = try int("master field count")
        guard count >= 0, deleted >= 0, masterFields >= 0, count <= elements.count, deleted <= elements.count,
              masterFields <= elements.count else {
            throw fail("negative or oversized master counters")
        }
        var fields: [UInt8] = []
        for _ in 0..<masterFields { appendString(try next(), to: &fields) }
        guard try int("master terminator") == 0 else { throw fail("master entry not terminated by 0") }
        let total = Int(count) + Int(deleted)
        guard total > 0 else { throw r.error("Empty listpack inside stream", at: at) }
        guard total <= elements.count else { throw fail("more entries declared than present") }
        let node = StreamNode(master: master, fieldCount: Int(masterFields), fields: fields,
                              lpBaseBytes: lp.count - ListpackSize.int(count) - ListpackSize.int(deleted))
        var data: [UInt8] = []
        data.reserveCapacity(lp.count)
        var seenLive = 0, seenDeleted = 0
        var previous: StreamID? = nil
        for _ in 0..<total {
            let flags = try int("flags")
            guard flags >= 0 && flags <= 3 else { throw fail("unknown entry flags \(flags)") }
            let msDiff = UInt64(bitPattern: try int("ms-diff"))
            let seqDiff = UInt64(bitPattern: try int("seq-diff"))
            let id = StreamID(ms: master.ms &+ msDiff, seq: master.seq &+ seqDiff)
            if id < master || (previous.map { id <= $0 } ?? false) {
                throw fail("entry ID \(id.ms)-\(id.seq) out of order")
            }
            previous = id
            let same = flags & Int64(StreamNode.flagSameFields) != 0
            data.append(UInt8(flags))
            appendVarint(&data, msDiff)
            appendVarint(&data, id.seq)
            var n = masterFields
            if !same {
                n = try int("field count")
                guard n >= 0 && n <= elements.count else { throw fail("bad field count") }
                appendVarint(&data, UInt64(n))
            }
            for _ in 0..<(same ? n : n * 2) { appendString(try next(), to: &data) }
            let lpCount = try int("lp-count")
            guard lpCount == n + 3 + (same ? 0 : n + 1) else { throw fail("lp-count mismatch") }
            if flags & Int64(StreamNode.flagDeleted) != 0 { seenDeleted += 1 } else { seenLive += 1 }
        }
        guard i == elements.count else { throw fail("trailing elements") }
        guard seenLive == count && seenDeleted == deleted else {
            throw fail("counters \(count)/\(deleted) disagree with the entry flags \(seenLive)/\(seenDeleted)")
        }
        node.data = data
        node.count = seenLive
        node.deleted = seenDeleted
        node.last = previous!
        return node
    }
}
