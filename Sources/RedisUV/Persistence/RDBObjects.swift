#if canImport(Glibc)
import Glibc
#endif

/// What the object loader needs from the configuration: the encoding thresholds that
/// decide each loaded value's form, as Redis's rdbLoadObject consults them.
struct RDBLoadLimits {
    var listFill: Int
    var maxIntsetEntries: Int
    var hash: HashLimits
    var zset: ZsetLimits

    init(_ c: ServerConfig) {
        listFill = c.listMaxListpackSize
        maxIntsetEntries = SetValue.intsetLimit(c.setMaxIntsetEntries)
        hash = HashLimits(maxEntries: c.hashMaxListpackEntries, maxValue: c.hashMaxListpackValue)
        zset = c.zsetLimits
    }
}

/// The value serializer shared by RDB files and DUMP/RESTORE (Redis's rdbSaveObjectType,
/// rdbSaveObject and rdbLoadObject).
enum RDBObjects {
    // MARK: saving

    /// `d2string(d)` handed to `body` without allocating for integral values.
    @inline(__always)
    static func withD2String<R>(_ d: Double, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        if d != 0 && d > -4_503_599_627_370_495 && d < 4_503_599_627_370_496 && d == Double(Int64(d)) {
            return withDecimal(Int64(d), body)
        }
        var tmp: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let r: R? = withUnsafeMutableBytes(of: &tmp) { p in
            let n = dyadicG17(d, into: p.baseAddress!)
            return n > 0 ? body(UnsafeRawBufferPointer(start: p.baseAddress, count: n)) : nil
        }
        if let r { return r }
        return d2string(d).withUnsafeBytes(body)
    }

    /// `%.17g` of `d` written without printf when `d` is a short binary fraction (a
    /// multiple of 2^-k, k <= 10, between 2^-10 and 1e15 in magnitude: 1.5, 0.25, 3.125 —
    /// the usual non-integral scores). Such a value's decimal expansion is exact and has
    /// at most 17 significant digits, so `%.17g` prints exactly those digits in fixed
    /// notation. Returns the byte count (at most 28), or 0 when `d` is not of that form
    /// (integral values included) and the caller must use printf.
    static func dyadicG17(_ d: Double, into p: UnsafeMutableRawPointer) -> Int {
        let a = d.magnitude
        guard a >= 1.0 / 1024 && a < 1e15 else { return 0 }
        var s = a
        var k = 0
        while s != s.rounded(.towardZero) {
            if k == 10 { return 0 }
            s *= 2  // exact
            k += 1
        }
        guard k > 0, s < 9_007_199_254_740_992 else { return 0 }
        let m = UInt64(s)
        let ip = m >> UInt64(k)
        var pow5: UInt64 = 1
        for _ in 0..<k { pow5 *= 5 }
        // m is odd (k is minimal), so the k fraction digits end in 5: nothing to strip.
        let frac = (m & ((1 << UInt64(k)) - 1)) * pow5
        var n = 0
        if d < 0 { p.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self); n = 1 }
        if ip == 0 {
            p.storeBytes(of: UInt8(ascii: "0"), toByteOffset: n, as: UInt8.self)
            n += 1
        } else {
            let digits = decimalLength(Int(ip))
            if digits + k > 17 { return 0 }  // %.17g would round: leave it to printf
            n += formatDecimal(Int(ip), into: p + n)
        }
        p.storeBytes(of: UInt8(ascii: "."), toByteOffset: n, as: UInt8.self)
        n += 1
        var f = frac
        var i = n + k - 1
        while i >= n {
            p.storeBytes(of: UInt8(48 + f % 10), toByteOffset: i, as: UInt8.self)
            f /= 10
            i -= 1
        }
        return n + k
    }

    /// Redis's d2string, the text a score has inside a listpack.
    static func d2string(_ d: Double) -> [UInt8] {
        if d.isNaN { return Array("nan".utf8) }
        if d.isInfinite { return Array((d > 0 ? "inf" : "-inf").utf8) }
        if d == 0 { return Array((d.sign == .minus ? "-0" : "0").utf8) }
        if d > -4_503_599_627_370_495 && d < 4_503_599_627_370_496 && d == Double(Int64(d)) {
            return Array(String(Int64(d)).utf8)
        }
        var tmp: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let fast: [UInt8]? = withUnsafeMutableBytes(of: &tmp) { p in
            let n = dyadicG17(d, into: p.baseAddress!)
            return n > 0 ? Array(UnsafeRawBufferPointer(start: p.baseAddress, count: n)) : nil
        }
        return fast ?? Array(formatDoubleG17(d).utf8)
    }

    struct SaveError: Error, CustomStringConvertible {
        let description: String
    }

    /// rdbSaveObjectType: the type byte `save` writes for `e`.
    static func objectType(_ e: KeyEntry, version: Int) throws -> UInt8 {
        switch e.type {
        case .string: return RDB.typeString
        case .list: return version < 10 ? RDB.typeListQuicklist : RDB.typeListQuicklist2
        case .set: return SetValue(entry: e).encoding == .intset ? RDB.typeSetIntset : RDB.typeSet
        case .zset:
            if SortedSetValue(entry: e).isPacked { return version < 10 ? RDB.typeZsetZiplist : RDB.typeZsetListpack }
            return RDB.typeZset2
        case .hash:
            if !HashValue(entry: e).isTable { return version < 10 ? RDB.typeHashZiplist : RDB.typeHashListpack }
            return RDB.typeHash
        case .stream:
            return version < 10 ? RDB.typeStreamListpacks : RDB.typeStreamListpacks2
        }
    }

    /// Writes the type byte, the key when given, and the value of `e` (rdbSaveObjectType + rdbSaveObject).
    /// `version` 9 writes the ziplist-era forms Redis 6.x reads.
    static func save(_ e: KeyEntry, to w: RDBWriter, version: Int = RDB.version,
                     key: UnsafeRawBufferPointer? = nil) throws {
        w.byte(try objectType(e, version: version))
        if let key { w.string(key) }
        switch e.type {
        case .string:
            w.string(e.stringValue)
        case .list:
            saveList(ListValue(entry: e), to: w, version: version)
        case .set:
            let s = SetValue(entry: e)
            if s.encoding == .intset {
                // The block is Redis's intset blob (rdbSaveObject writes o->ptr as it is).
                s.withIntsetBlob { w.string($0) }
            } else {
                w.length(s.count)
                s.forEach { m in
                    m.withBytes { w.string($0) }
                    return true
                }
            }
        case .zset:
            let z = SortedSetValue(entry: e)
            if z.isPacked {
                if version < 10 {
                    writeZiplist(count: z.count * 2, to: w) { emit in
                        z.forEach { m, score in
                            emit(m)
                            withD2String(score) { emit($0) }
                        }
                    }
                } else {
                    PackedFormats.writeListpack(count: z.count * 2, to: w) { emit in
                        z.forEach { m, score in
                            emit(m)
                            withD2String(score) { emit($0) }
                        }
                    }
                }
            } else {
                // From the tail, so loading inserts each at the head (rdbSaveObject).
                w.length(z.count)
                z.forEachReversed { m, score in
                    w.string(m)
                    w.binaryDouble(score)
                }
            }
        case .hash:
            let h = HashValue(entry: e)
            if !h.isTable {
                let n = h.count
                let body: ((UnsafeRawBufferPointer) -> Void) -> Void = { emit in
                    h.forEach { f, v in
                        emit(f)
                        emit(v)
                        return true
                    }
                }
                if version < 10 {
                    writeZiplist(count: n * 2, to: w, body)
                } else {
                    PackedFormats.writeListpack(count: n * 2, to: w, body)
                }
            } else {
                let n = h.count
                w.length(n)
                h.forEach { f, v in
                    w.string(f)
                    w.string(v)
                    return true
                }
            }
        case .stream:
            saveStream(e.object as! StreamValue, to: w, version: version)
        }
    }

    /// RDB_TYPE_LIST_QUICKLIST_2: each node as a listpack (container PACKED); version 9
    /// writes RDB_TYPE_LIST_QUICKLIST with ziplist nodes.
    static func saveList(_ l: ListValue, to w: RDBWriter, version: Int) {
        w.length(l.nodeCount)
        for i in 0..<l.nodeCount {
            let n = l.node(i).pointee
            if version < 10 {
                writeZiplist(count: n.count, to: w) { emit in
                    var off = n.start
                    while off < n.end {
                        let (e, size) = ListPack.decode(UnsafeRawPointer(n.buffer + off))
                        if let b = e.bytes {
                            emit(UnsafeRawBufferPointer(start: b, count: e.length))
                        } else {
                            withDecimal(Int64(e.integer)) { emit($0) }
                        }
                        off += size
                    }
                }
                continue
            }
            w.length(RDB.quicklistNodePacked)
            let total = n.bytes + ListPack.headerAndTrailer
            w.blobString(total) { p in
                p.storeBytes(of: UInt32(total).littleEndian, as: UInt32.self)
                p.storeBytes(of: UInt16(min(n.count, 65535)).littleEndian, toByteOffset: 4, as: UInt16.self)
                (p + 6).copyMemory(from: n.buffer + n.start, byteCount: n.bytes)
                p.storeBytes(of: 0xFF, toByteOffset: total - 1, as: UInt8.self)
            }
        }
    }

    /// A ziplist (ziplist.c) of text elements, for RDB version 9.
    static func writeZiplist(count: Int, to w: RDBWriter, _ each: ((UnsafeRawBufferPointer) -> Void) -> Void) {
        var body: [UInt8] = []
        var prevlen = 0
        var lastOffset = 10
        var n = 0
        each { s in
            let start = body.count
            if prevlen < 254 {
                body.append(UInt8(prevlen))
            } else {
                body.append(254)
                withUnsafeBytes(of: UInt32(prevlen).littleEndian) { body.append(contentsOf: $0) }
            }
            if s.count <= 20, let v = parseStrictInt(s) {
                if v >= 0 && v <= 12 {
                    body.append(0xF1 + UInt8(v))
                } else if v >= -128 && v <= 127 {
                    body.append(0xFE); body.append(UInt8(bitPattern: Int8(v)))
                } else if v >= -32768 && v <= 32767 {
                    body.append(0xC0); withUnsafeBytes(of: Int16(v).littleEndian) { body.append(contentsOf: $0) }
                } else if v >= -8_388_608 && v <= 8_388_607 {
                    body.append(0xF0)
                    let u = UInt32(bitPattern: Int32(v))
                    body.append(UInt8(u & 0xFF)); body.append(UInt8((u >> 8) & 0xFF)); body.append(UInt8((u >> 16) & 0xFF))
                } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
                    body.append(0xD0); withUnsafeBytes(of: Int32(v).littleEndian) { body.append(contentsOf: $0) }
                } else {
                    body.append(0xE0); withUnsafeBytes(of: Int64(v).littleEndian) { body.append(contentsOf: $0) }
                }
            } else if s.count <= 0x3F {
                body.append(UInt8(s.count)); body.append(contentsOf: s)
            } else if s.count <= 0x3FFF {
                body.append(0x40 | UInt8(s.count >> 8)); body.append(UInt8(s.count & 0xFF)); body.append(contentsOf: s)
            } else {
                body.append(0x80)
                withUnsafeBytes(of: UInt32(s.count).bigEndian) { body.append(contentsOf: $0) }
                body.append(contentsOf: s)
            }
            prevlen = body.count - start
            lastOffset = 10 + start
            n += 1
        }
        var blob: [UInt8] = []
        blob.reserveCapacity(body.count + 11)
        let total = 10 + body.count + 1
        withUnsafeBytes(of: UInt32(total).littleEndian) { blob.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(lastOffset).littleEndian) { blob.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(min(n, 65535)).littleEndian) { blob.append(contentsOf: $0) }
        blob.append(contentsOf: body)
        blob.append(0xFF)
        w.string(blob)
    }

    // MARK: loading

    /// Reads a value of RDB type `type` (rdbLoadObject) and returns the key's entry, or
    /// nil for an empty value (Redis skips empty keys). Throws on anything malformed.
    static func load(type: UInt8, key: UnsafeRawBufferPointer, from r: RDBReader, limits: RDBLoadLimits,
                     lru: UInt32) throws -> KeyEntry? {
        let start = r.pos  // where the value begins (errors name it)
        switch type {
        case RDB.typeString:
            return try r.withString { v throws in
                KeyEntry.make(key: key, value: v, type: .string, encoding: stringEncoding(for: v), lru: lru)
            }
        case RDB.typeList:
            let n = try r.count(minimumItemBytes: 1, "list")
            // Built in place in the key's entry (freed with it if the load fails).
            let e = KeyEntry.make(key: key, word: ListValue.emptyWord(fill: limits.listFill), type: .list, lru: lru)
            let l = ListValue(entry: e)
            for _ in 0..<n { try r.withString { s throws in l.push(s, atHead: false) } }
            return l.count == 0 ? nil : e
        case RDB.typeListZiplist, RDB.typeListQuicklist, RDB.typeListQuicklist2:
            let e = KeyEntry.make(key: key, word: ListValue.emptyWord(fill: limits.listFill), type: .list, lru: lru)
            let l = ListValue(entry: e)
            let nodes = type == RDB.typeListZiplist ? 1 : try r.count(minimumItemBytes: 1, "quicklist")
            // Several nodes: none goes inline only to move out when the next one comes.
            if nodes > 1 { l.reserveNodes(2) }
            for _ in 0..<nodes {
                var container = RDB.quicklistNodePacked
                if type == RDB.typeListQuicklist2 {
                    let at = r.pos
                    container = try r.length()
                    guard container == RDB.quicklistNodePlain || container == RDB.quicklistNodePacked else {
                        throw r.error("Quicklist integrity check failed: unknown container \(container)", at: at)
                    }
                }
                let at = r.pos
                try r.withString { blob throws in
                    if container == RDB.quicklistNodePlain {
                        l.push(blob, atHead: false)
                    } else if type == RDB.typeListQuicklist2 {
                        // Validated, then kept as the node it was (quicklistAppendListpack).
                        var k = 0
                        try PackedFormats.forEachListpack(blob, at: at) { _ in k += 1 }
                        l.appendEncodedNode(UnsafeRawBufferPointer(rebasing: blob[6..<(blob.count - 1)]), count: k)
                    } else if type == RDB.typeListQuicklist {
                        // Each ziplist node becomes one listpack node of the same entries.
                        var entries: [UInt8] = []
                        var k = 0
                        try PackedFormats.forEachZiplist(blob, at: at) { e throws in
                            try e.withBytes { b in
                                let p = PackedEntry(b)
                                let start = entries.count
                                entries.append(contentsOf: repeatElement(0, count: p.size))
                                entries.withUnsafeMutableBytes { p.write(to: $0.baseAddress! + start) }
                            }
                            k += 1
                        }
                        entries.withUnsafeBytes { l.appendEncodedNode($0, count: k) }
                    } else {
                        try PackedFormats.forEachZiplist(blob, at: at) { e throws in
                            try e.withBytes { b throws in l.push(b, atHead: false) }
                        }
                    }
                }
            }
            return l.count == 0 ? nil : e
        case RDB.typeSet:
            let n = try r.count(minimumItemBytes: 1, "set")
            // Built in place in the key's entry (freed with it if the load fails).
            let e = KeyEntry.make(key: key, word: SetValue.emptyWord(), type: .set, lru: lru)
            let s = SetValue(entry: e)
            for _ in 0..<n {
                let at = r.pos
                let added = try r.withString { m throws in s.add(m, maxIntsetEntries: limits.maxIntsetEntries) }
                if !added { throw r.error("Duplicate set members detected", at: at) }
            }
            return s.isEmpty ? nil : e
        case RDB.typeSetIntset:
            let at = r.pos
            let word = try r.withString { blob throws in
                // Validated (deeply: sorted, no duplicates), then kept as it is, at its
                // width, as Redis's rdbLoadObject keeps the blob.
                try PackedFormats.forEachIntset(blob, at: at) { _ in }
                return SetValue.intsetWord(copying: blob)
            }
            let e = KeyEntry.make(key: key, word: word, type: .set, lru: lru)
            let s = SetValue(entry: e)
            s.convertIfOverIntsetLimit(limits.maxIntsetEntries)
            return s.isEmpty ? nil : e
        case RDB.typeSetListpack:
            let e = KeyEntry.make(key: key, word: SetValue.emptyWord(), type: .set, lru: lru)
            let s = SetValue(entry: e)
            let at = r.pos
            try r.withString { blob throws in
                try PackedFormats.forEachListpack(blob, at: at) { e throws in
                    let added = try e.withBytes { m throws in s.add(m, maxIntsetEntries: limits.maxIntsetEntries) }
                    if !added { throw r.error("Duplicate set members detected", at: at) }
                }
            }
            return s.isEmpty ? nil : e
        case RDB.typeZset, RDB.typeZset2:
            let n = try r.count(minimumItemBytes: 2, "sorted set")
            var elements: [(member: [UInt8], score: Double)] = []
            elements.reserveCapacity(min(n, 1 << 16))  // n is bounded by the input, not trusted
            for _ in 0..<n {
                let m = try r.stringArray()
                let at = r.pos
                let score = type == RDB.typeZset2 ? try r.binaryDouble() : try r.textDouble()
                if score.isNaN { throw r.error("Zset with NAN score detected", at: at) }
                elements.append((m, score))
            }
            return try buildZset(elements, key: key, limits: limits, lru: lru, r: r, at: start)
        case RDB.typeZsetZiplist, RDB.typeZsetListpack:
            var elements: [(member: [UInt8], score: Double)] = []
            let at = r.pos
            var built: UInt? = nil  // a packed set's word
            try r.withString { blob throws in
                if type == RDB.typeZsetListpack {
                    built = try packedZsetFromListpack(blob, at: at, limits: limits, r: r)
                    if built != nil { return }
                }
                var pending: [UInt8]? = nil
                let visit: (PackedElement) throws -> Void = { e throws in
                    if let m = pending {
                        guard let d = e.double, !d.isNaN else { throw r.error("Zset listpack with an invalid score", at: at) }
                        elements.append((m, d))
                        pending = nil
                    } else {
                        pending = e.array
                    }
                }
                if type == RDB.typeZsetListpack {
                    try PackedFormats.forEachListpack(blob, at: at, visit)
                } else {
                    try PackedFormats.forEachZiplist(blob, at: at, visit)
                }
                if pending != nil { throw r.error("Zset listpack with an odd number of elements", at: at) }
            }
            if let built { return KeyEntry.make(key: key, word: built, type: .zset, lru: lru) }
            // Packed on disk: only the entry count can make it a skiplist (as Redis 7.0).
            return try buildZset(elements, key: key, limits: limits, lru: lru, r: r, at: at, packedOnDisk: true)
        case RDB.typeHash:
            let n = try r.count(minimumItemBytes: 2, "hash")
            // Built in place in the key's entry (freed with it if the load fails).
            let e = KeyEntry.make(key: key, word: HashValue.emptyWord(packedCapacity: 0), type: .hash, lru: lru)
            let h = HashValue(entry: e)
            for _ in 0..<n {
                let at = r.pos
                let f = try r.stringArray()
                let created = try r.withString { v throws in
                    f.withUnsafeBytes { h.set($0, v, limits: limits.hash) }
                }
                if !created { throw r.error("Duplicate hash fields detected", at: at) }
            }
            return n == 0 ? nil : e
        case RDB.typeHashZipmap, RDB.typeHashZiplist, RDB.typeHashListpack:
            let e = KeyEntry.make(key: key, word: HashValue.emptyWord(packedCapacity: 0), type: .hash, lru: lru)
            let h = HashValue(entry: e)
            // A ziplist/listpack hash stays packed whatever its value lengths: Redis 7.0
            // converts it only past hash-max-listpack-entries (a zipmap also by length).
            var hashLimits = limits.hash
            if type != RDB.typeHashZipmap { hashLimits.maxValue = Int.max }
            var n = 0
            let at = r.pos
            // Duplicates are found by comparing field sketches; only when two agree does
            // `set` scan the fields' bytes (a memcmp per earlier field was most of the load).
            var seen = r.takeFieldHashScratch()
            defer { r.returnFieldHashScratch(seen) }
            try r.withString { blob throws in
                func add(_ f: UnsafeRawBufferPointer, _ v: UnsafeRawBufferPointer) throws {
                    let hv = RDBObjects.sketch(f)
                    if !seen.contains(hv) {
                        seen.append(hv)
                        h.appendNew(f, v, limits: hashLimits)
                    } else if !h.set(f, v, limits: hashLimits) {
                        throw r.error("Duplicate hash fields detected", at: at)
                    }
                    n += 1
                }
                if type == RDB.typeHashZipmap {
                    try PackedFormats.forEachZipmap(blob, at: at) { f, v throws in try add(f, v) }
                    return
                }
                // The pairs' exact size first (a validating pass), so the block is
                // allocated once instead of regrown pair by pair.
                var size = 0
                let measure: (PackedElement) throws -> Void = { e in
                    let len: Int
                    switch e {
                    case .bytes(let b): len = b.count
                    case .int(let v): len = decimalLength(Int(v))
                    }
                    size += PackedLength.size(len) + len
                }
                if type == RDB.typeHashListpack {
                    try PackedFormats.forEachListpack(blob, at: at, measure)
                } else {
                    try PackedFormats.forEachZiplist(blob, at: at, measure)
                }
                h.reservePacked(capacity: size)
                // The field waits as an element: its bytes stay in the blob (an integer
                // is formatted when its value arrives), no copy per field.
                var pending: PackedElement? = nil
                let visit: (PackedElement) throws -> Void = { e throws in
                    if let f = pending {
                        try f.withBytes { fb throws in try e.withBytes { v throws in try add(fb, v) } }
                        pending = nil
                    } else {
                        pending = e
                    }
                }
                if type == RDB.typeHashListpack {
                    try PackedFormats.forEachListpack(blob, at: at, visit)
                } else {
                    try PackedFormats.forEachZiplist(blob, at: at, visit)
                }
                if pending != nil { throw r.error("Hash listpack with an odd number of elements", at: at) }
                h.shrinkToFit()
            }
            return n == 0 ? nil : e
        case RDB.typeHashMetadataPreGA, RDB.typeHashListpackExPreGA, RDB.typeHashMetadata, RDB.typeHashListpackEx:
            let loaded = try RDBHashFieldExpiry.load(type: type, from: r, nowMs: wallClockMs(), at: start)
            r.hashFieldsExpired += loaded.expired
            r.hashFieldTTLsDiscarded += loaded.ttlsDiscarded
            if loaded.pairs.isEmpty { return nil }
            let e = KeyEntry.make(key: key, word: HashValue.emptyWord(packedCapacity: 0), type: .hash, lru: lru)
            let h = HashValue(entry: e)
            for (f, v) in loaded.pairs {
                let created = f.withUnsafeBytes { fb in v.withUnsafeBytes { vb in h.set(fb, vb, limits: limits.hash) } }
                if !created { throw r.error("Duplicate hash fields detected", at: start) }
            }
            return e
        case RDB.typeStreamListpacks, RDB.typeStreamListpacks2, RDB.typeStreamListpacks3:
            // Kept even when empty (Redis never skips an empty stream).
            let s = try loadStream(type: type, from: r, at: start)
            return KeyEntry.make(key: key, object: s, type: .stream, lru: lru)
        case RDB.typeModule, RDB.typeModule2:
            throw r.error("Module value types are not supported (RDB type \(type)): redis-uv has no modules", at: start)
        default:
            throw r.error("Unknown RDB value type \(type)", at: start)
        }
    }

    /// A cheap fingerprint of a field or member for the duplicate checks of small packed
    /// values: length, first, middle and last byte. Equal bytes give equal sketches; equal
    /// sketches only send the caller to compare the bytes. Cheaper than a hash for the
    /// short strings these values hold (members differing in one digit differ here).
    @inline(__always)
    static func sketch(_ m: UnsafeRawBufferPointer) -> UInt64 {
        let n = m.count
        if n == 0 { return 0 }
        return UInt64(truncatingIfNeeded: n) << 24 | UInt64(m[0]) << 16 | UInt64(m[n >> 1]) << 8 | UInt64(m[n - 1])
    }

    /// The fast path for a listpack zset as Redis writes it: members are strings, in
    /// (score, member) order, unrepeated, within zset-max-listpack-entries. Builds the
    /// packed value in one allocation without copying members aside; nil (nothing
    /// thrown) when the blob is valid but not of that shape, and the general path runs.
    private static func packedZsetFromListpack(_ blob: UnsafeRawBufferPointer, at: Int, limits: RDBLoadLimits,
                                               r: RDBReader) throws -> UInt? {
        var pairs = r.takeZsetScratch()
        defer { r.returnZsetScratch(pairs) }
        var pending: UnsafeRawBufferPointer? = nil
        var shapeOK = true
        try PackedFormats.forEachListpack(blob, at: at) { e throws in
            if let m = pending {
                guard let d = e.double, !d.isNaN else { throw r.error("Zset listpack with an invalid score", at: at) }
                pairs.append((m, d))
                pending = nil
            } else if case .bytes(let b) = e {
                pending = b
            } else {
                shapeOK = false  // an integer member: the general path formats it
                pending = UnsafeRawBufferPointer(start: nil, count: 0)
            }
        }
        if pending != nil { throw r.error("Zset listpack with an odd number of elements", at: at) }
        let n = pairs.count
        guard shapeOK, n > 0, n <= 32, n <= limits.zset.maxEntries else { return nil }
        for i in 1..<n {
            let a = pairs[i - 1], b = pairs[i]
            if !(a.1 < b.1 || (a.1 == b.1 && compareBytes(a.0, b.0) < 0)) { return nil }
        }
        // Pairwise on sketches, bytes only when two sketches agree: no memcmp per pair.
        let duplicate = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { h -> Bool in
            for i in 0..<n {
                let m = pairs[i].0
                h[i] = RDBObjects.sketch(m)
                for j in 0..<i where h[j] == h[i] && compareBytes(pairs[j].0, m) == 0 { return true }
            }
            return false
        }
        if duplicate { throw r.error("Duplicate zset fields detected", at: at) }
        return SortedSetValue.buildPackedWord(count: n) { emit in
            for p in pairs { emit(p.0, p.1) }
        }
    }

    private static func buildZset(_ elements: [(member: [UInt8], score: Double)], key: UnsafeRawBufferPointer,
                                  limits: RDBLoadLimits, lru: UInt32, r: RDBReader, at: Int,
                                  packedOnDisk: Bool = false) throws -> KeyEntry? {
        if elements.isEmpty { return nil }
        if elements.count > 1 && elements.count <= 32 {
            // Small sets (the common case): pairwise, no hashing of arrays.
            for i in 1..<elements.count {
                for j in 0..<i where elements[i].member == elements[j].member {
                    throw r.error("Duplicate zset fields detected", at: at)
                }
            }
        } else if elements.count > 32 {
            var seen = Set<[UInt8]>(minimumCapacity: elements.count)
            for e in elements where !seen.insert(e.member).inserted {
                throw r.error("Duplicate zset fields detected", at: at)
            }
        }
        var zl = limits.zset
        if packedOnDisk { zl.maxValue = Int.max }
        return KeyEntry.make(key: key, word: SortedSetValue.buildWord(elements, limits: zl), type: .zset, lru: lru)
    }
}
