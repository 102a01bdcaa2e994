// Bounds-checked readers for the blobs RDB files embed (listpack.c, ziplist.c, zipmap.c,
// intset.c), and a listpack builder for saving. Every offset is checked against the blob
// before it is read: a corrupt blob throws, it never reads outside.

/// One element of a packed blob: a string (pointing into the blob) or an integer.
enum PackedElement {
    case bytes(UnsafeRawBufferPointer)
    case int(Int64)

    @inline(__always) func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        switch self {
        case .bytes(let b): return try body(b)
        case .int(let v):
            var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)
            return try withUnsafeMutableBytes(of: &tmp) { (p: UnsafeMutableRawBufferPointer) throws -> R in
                let n = formatDecimal(Int(v), into: p.baseAddress!)
                return try body(UnsafeRawBufferPointer(start: p.baseAddress, count: n))
            }
        }
    }

    var array: [UInt8] {
        switch self {
        case .bytes(let b): return Array(b)
        case .int(let v): return Array(String(v).utf8)
        }
    }

    /// The element as a score (zzlGetScore: integers as is, text through strtod).
    var double: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .bytes(let b): return parseDouble(b)
        }
    }
}

enum PackedFormats {
    private static func le(_ b: UnsafeRawBufferPointer, _ at: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(b[at + i]) << (8 * UInt64(i)) }
        return v
    }

    // MARK: listpack (listpack.c)

    /// Calls `body` for every entry of a listpack; validates the header, each entry's
    /// bounds and back-length, the terminator and the element count.
    static func forEachListpack(_ lp: UnsafeRawBufferPointer, at offset: Int,
                                _ body: (PackedElement) throws -> Void) throws {
        func fail(_ m: String) -> RDBError { RDBError(offset: offset, message: "Listpack integrity check failed: " + m) }
        let n = lp.count
        guard n >= 7 else { throw fail("too short") }
        guard Int(le(lp, 0, 4)) == n else { throw fail("header size mismatch") }
        let declared = Int(le(lp, 4, 2))
        guard lp[n - 1] == 0xFF else { throw fail("missing terminator") }
        var p = 6
        var seen = 0
        let end = n - 1  // the terminator
        while p < end {
            let b = lp[p]
            // The two forms small values take (7-bit integers, strings up to 63 bytes)
            // first: one bounds check, and their back-length is the one byte payload size.
            if b < 0x80 {
                guard p + 2 <= end else { throw fail("entry out of range") }
                guard lp[p + 1] == 1 else { throw fail("bad back-length") }
                try body(.int(Int64(b)))
                seen += 1
                p += 2
                continue
            }
            if b & 0xC0 == 0x80 {
                let len = Int(b & 0x3F)
                guard p + len + 2 <= end else { throw fail("entry out of range") }
                guard lp[p + 1 + len] == UInt8(1 + len) else { throw fail("bad back-length") }
                try body(.bytes(UnsafeRawBufferPointer(start: lp.baseAddress! + p + 1, count: len)))
                seen += 1
                p += len + 2
                continue
            }
            var payload = 0  // encoding + data
            let elem: PackedElement
            @inline(__always) func need(_ k: Int) throws { if p + k > n - 1 { throw fail("entry out of range") } }
            if b & 0x80 == 0 {
                payload = 1; elem = .int(Int64(b & 0x7F))
            } else if b & 0xC0 == 0x80 {
                let len = Int(b & 0x3F); payload = 1 + len
                try need(payload); elem = .bytes(UnsafeRawBufferPointer(rebasing: lp[(p + 1)..<(p + 1 + len)]))
            } else if b & 0xE0 == 0xC0 {
                try need(2)
                let u = (UInt16(b & 0x1F) << 8) | UInt16(lp[p + 1])
                payload = 2; elem = .int(Int64(Int16(bitPattern: u << 3) >> 3))
            } else if b & 0xF0 == 0xE0 {
                try need(2)
                let len = (Int(b & 0x0F) << 8) | Int(lp[p + 1]); payload = 2 + len
                try need(payload); elem = .bytes(UnsafeRawBufferPointer(rebasing: lp[(p + 2)..<(p + 2 + len)]))
            } else {
                switch b {
                case 0xF0:
                    try need(5)
                    let len = Int(le(lp, p + 1, 4)); payload = 5 + len
                    guard len <= n else { throw fail("string length out of range") }
                    try need(payload); elem = .bytes(UnsafeRawBufferPointer(rebasing: lp[(p + 5)..<(p + 5 + len)]))
                case 0xF1:
                    try need(3); payload = 3; elem = .int(Int64(Int16(bitPattern: UInt16(le(lp, p + 1, 2)))))
                case 0xF2:
                    try need(4); payload = 4
                    elem = .int(Int64(Int32(bitPattern: UInt32(le(lp, p + 1, 3)) << 8) >> 8))
                case 0xF3:
                    try need(5); payload = 5; elem = .int(Int64(Int32(bitPattern: UInt32(le(lp, p + 1, 4)))))
                case 0xF4:
                    try need(9); payload = 9; elem = .int(Int64(bitPattern: le(lp, p + 1, 8)))
                default:
                    throw fail("invalid entry encoding \(b)")
                }
            }
            let bl = ListPack.backlenSize(payload)
            try need(payload + bl)
            // The back-length must encode the payload size.
            var v = 0
            for i in 0..<bl {
                let byte = lp[p + payload + i]
                v = (v << 7) | Int(byte & 127)
                if (i == 0) != (byte & 128 == 0) && bl > 1 { throw fail("bad back-length") }
            }
            if v != payload { throw fail("bad back-length") }
            try body(elem)
            seen += 1
            p += payload + bl
        }
        if declared != 65535 && declared != seen { throw fail("element count mismatch") }
    }

    /// Writes a listpack (header, entries, terminator) of text elements as a string.
    /// `each` is called twice with the same elements: once to size the blob, once to fill it.
    static func writeListpack(count: Int, to w: RDBWriter,
                              _ each: ((UnsafeRawBufferPointer) -> Void) -> Void) {
        var total = 6 + 1
        var n = 0
        each { s in
            total += PackedEntry(s).size
            n += 1
        }
        w.blobString(total) { p in
            p.storeBytes(of: UInt32(total).littleEndian, as: UInt32.self)
            p.storeBytes(of: UInt16(min(n, 65535)).littleEndian, toByteOffset: 4, as: UInt16.self)
            var off = 6
            each { s in
                let e = PackedEntry(s)
                e.write(to: p + off)
                off += e.size
            }
            p.storeBytes(of: 0xFF, toByteOffset: off, as: UInt8.self)
        }
    }

    // MARK: ziplist (ziplist.c)

    static func forEachZiplist(_ zl: UnsafeRawBufferPointer, at offset: Int,
                               _ body: (PackedElement) throws -> Void) throws {
        func fail(_ m: String) -> RDBError { RDBError(offset: offset, message: "Ziplist integrity check failed: " + m) }
        let n = zl.count
        guard n >= 11 else { throw fail("too short") }
        guard Int(le(zl, 0, 4)) == n else { throw fail("header size mismatch") }
        guard zl[n - 1] == 0xFF else { throw fail("missing terminator") }
        let declared = Int(le(zl, 8, 2))
        var p = 10
        var seen = 0
        while p < n - 1 {
            @inline(__always) func need(_ k: Int) throws { if p + k > n - 1 { throw fail("entry out of range") } }
            // prevlen
            try need(1)
            if zl[p] == 254 { try need(5); p += 5 } else { p += 1 }
            try need(1)
            let b = zl[p]
            let elem: PackedElement
            switch b >> 6 {
            case 0:
                let len = Int(b & 0x3F); try need(1 + len)
                elem = .bytes(UnsafeRawBufferPointer(rebasing: zl[(p + 1)..<(p + 1 + len)])); p += 1 + len
            case 1:
                try need(2); let len = (Int(b & 0x3F) << 8) | Int(zl[p + 1]); try need(2 + len)
                elem = .bytes(UnsafeRawBufferPointer(rebasing: zl[(p + 2)..<(p + 2 + len)])); p += 2 + len
            case 2:
                guard b == 0x80 else { throw fail("invalid string encoding") }
                try need(5)
                let len = (Int(zl[p + 1]) << 24) | (Int(zl[p + 2]) << 16) | (Int(zl[p + 3]) << 8) | Int(zl[p + 4])
                guard len <= n else { throw fail("string length out of range") }
                try need(5 + len)
                elem = .bytes(UnsafeRawBufferPointer(rebasing: zl[(p + 5)..<(p + 5 + len)])); p += 5 + len
            default:
                switch b {
                case 0xC0: try need(3); elem = .int(Int64(Int16(bitPattern: UInt16(le(zl, p + 1, 2))))); p += 3
                case 0xD0: try need(5); elem = .int(Int64(Int32(bitPattern: UInt32(le(zl, p + 1, 4))))); p += 5
                case 0xE0: try need(9); elem = .int(Int64(bitPattern: le(zl, p + 1, 8))); p += 9
                case 0xF0: try need(4); elem = .int(Int64(Int32(bitPattern: UInt32(le(zl, p + 1, 3)) << 8) >> 8)); p += 4
                case 0xFE: try need(2); elem = .int(Int64(Int8(bitPattern: zl[p + 1]))); p += 2
                case 0xF1...0xFD: elem = .int(Int64(b & 0x0F) - 1); p += 1
                default: throw fail("invalid entry encoding \(b)")
                }
            }
            try body(elem)
            seen += 1
        }
        if declared != 65535 && declared != seen { throw fail("element count mismatch") }
    }

    // MARK: zipmap (zipmap.c, RDB_TYPE_HASH_ZIPMAP)

    static func forEachZipmap(_ zm: UnsafeRawBufferPointer, at offset: Int,
                              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void) throws {
        func fail(_ m: String) -> RDBError { RDBError(offset: offset, message: "Zipmap integrity check failed: " + m) }
        let n = zm.count
        guard n >= 2 else { throw fail("too short") }
        var p = 1
        func readLen() throws -> Int {
            guard p < n else { throw fail("entry out of range") }
            let b = zm[p]
            if b < 254 { p += 1; return Int(b) }
            if b == 254 {
                guard p + 5 <= n else { throw fail("entry out of range") }
                let v = Int(le(zm, p + 1, 4)); p += 5; return v
            }
            throw fail("unexpected end marker")
        }
        while true {
            guard p < n else { throw fail("missing terminator") }
            if zm[p] == 255 { break }
            let flen = try readLen()
            guard flen <= n - p else { throw fail("field out of range") }
            let field = UnsafeRawBufferPointer(rebasing: zm[p..<(p + flen)]); p += flen
            let vlen = try readLen()
            guard p < n else { throw fail("entry out of range") }
            let free = Int(zm[p]); p += 1
            guard vlen <= n - p, free <= n - p - vlen else { throw fail("value out of range") }
            let value = UnsafeRawBufferPointer(rebasing: zm[p..<(p + vlen)]); p += vlen + free
            try body(field, value)
        }
        if p != n - 1 { throw fail("trailing bytes") }
    }

    // MARK: intset (intset.c)

    static func forEachIntset(_ s: UnsafeRawBufferPointer, at offset: Int,
                              _ body: (Int64) throws -> Void) throws {
        func fail(_ m: String) -> RDBError { RDBError(offset: offset, message: "Intset integrity check failed: " + m) }
        guard s.count >= 8 else { throw fail("too short") }
        let width = Int(le(s, 0, 4))
        guard width == 2 || width == 4 || width == 8 else { throw fail("invalid encoding \(width)") }
        let count = Int(le(s, 4, 4))
        guard count * width == s.count - 8 else { throw fail("size mismatch") }
        var prev = Int64.min
        for i in 0..<count {
            let raw = le(s, 8 + i * width, width)
            let v: Int64 = width == 2 ? Int64(Int16(truncatingIfNeeded: raw))
                : width == 4 ? Int64(Int32(truncatingIfNeeded: raw)) : Int64(bitPattern: raw)
            if i > 0 && v <= prev { throw fail("not sorted or duplicates") }
            prev = v
            try body(v)
        }
    }
}
