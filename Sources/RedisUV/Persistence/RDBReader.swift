#if canImport(Glibc)
import Glibc
#endif

/// A bounds-checked cursor over the bytes of an RDB file or a DUMP payload (Redis's rio
/// reading side). Every read checks what is left first, so a truncated or corrupt input
/// throws an RDBError naming the offset; no length read from the input is used to
/// allocate before it has been checked against the bytes that remain.
final class RDBReader {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var pos = 0
    /// The file's "used-mem" aux field once read (INFO's loading_rdb_used_mem).
    var announcedUsedMem = 0
    /// Redis 7.4 hash fields (types 22-25) dropped as expired, and kept without their TTL.
    var hashFieldsExpired = 0
    var hashFieldTTLsDiscarded = 0
    /// Holds strings that are not stored verbatim (LZF-compressed, integer-encoded).
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity = 64
    /// CRC64 of bytes 0..<crcPos.
    private(set) var crc: UInt64 = 0
    private(set) var crcPos = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!
        count = bytes.count
        scratch = malloc(scratchCapacity)!
    }

    deinit {
        free(scratch)
        free(keyBuffer)
    }

    var remaining: Int { count - pos }
    var atEnd: Bool { pos >= count }

    func error(_ message: String, at offset: Int? = nil) -> RDBError {
        RDBError(offset: offset ?? pos, message: message)
    }

    /// Extends the running checksum up to the current position.
    func updateChecksum(upTo end: Int? = nil) {
        let e = end ?? pos
        if e > crcPos {
            crc = CRC64.update(crc, UnsafeRawBufferPointer(start: base + crcPos, count: e - crcPos))
            crcPos = e
        }
    }

    @inline(__always) func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > count - pos {
            throw error("Unexpected end of data reading \(what()) (\(n) bytes wanted, \(count - pos) left)")
        }
    }

    @inline(__always) func byte() throws -> UInt8 {
        try need(1, "a byte")
        let b = base.load(fromByteOffset: pos, as: UInt8.self)
        pos += 1
        return b
    }

    func bytes(_ n: Int, _ what: @autoclosure () -> String = "bytes") throws -> UnsafeRawBufferPointer {
        try need(n, what())
        let r = UnsafeRawBufferPointer(start: base + pos, count: n)
        pos += n
        return r
    }

    func skip(_ n: Int) throws { try need(n, "skipped bytes"); pos += n }

    func uint32LE() throws -> UInt32 {
        try need(4, "a 32-bit integer")
        let v = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        pos += 4
        return v
    }

    func uint64LE() throws -> UInt64 {
        try need(8, "a 64-bit integer")
        let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
        pos += 8
        return v
    }

    /// rdbLoadMillisecondTime (always little-endian since RDB 9; older files wrote the
    /// host order, which was little-endian on every platform Redis shipped on).
    func millisecondTime() throws -> Int64 { Int64(bitPattern: try uint64LE()) }
    func secondTime() throws -> Int64 { Int64(Int32(bitPattern: try uint32LE())) }

    /// rdbLoadLenByRef: a length, or (isEncoded) the number of a special string encoding.
    func lengthOrEncoding() throws -> (value: Int, isEncoded: Bool) {
        let start = pos
        let b = try byte()
        switch b >> 6 {
        case RDB.len6bit: return (Int(b & 0x3F), false)
        case RDB.len14bit: return ((Int(b & 0x3F) << 8) | Int(try byte()), false)
        case RDB.encVal: return (Int(b & 0x3F), true)
        default:
            if b == RDB.len32bit {
                try need(4, "a 32-bit length")
                let v = UInt32(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
                pos += 4
                return (Int(v), false)
            }
            if b == RDB.len64bit {
                try need(8, "a 64-bit length")
                let v = UInt64(bigEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
                pos += 8
                guard v <= UInt64(Int.max) else { throw error("Length out of range", at: start) }
                return (Int(v), false)
            }
            throw error("Unknown length encoding \(b) in rdbLoadLen()", at: start)
        }
    }

    func length() throws -> Int {
        let start = pos
        let (v, enc) = try lengthOrEncoding()
        if enc { throw error("Encoded value where a length was expected", at: start) }
        return v
    }

    /// A count of `unit`-byte-or-more items: it cannot exceed what the input holds.
    func count(minimumItemBytes unit: Int, _ what: String) throws -> Int {
        let start = pos
        let n = try length()
        if unit > 0 && n > remaining / unit {
            throw error("\(what) length \(n) exceeds the \(remaining) bytes left", at: start)
        }
        return n
    }

    private func ensureScratch(_ n: Int) {
        if n > scratchCapacity {
            free(scratch)
            scratchCapacity = max(n, scratchCapacity * 2)
            scratch = malloc(scratchCapacity)!
        }
    }

    /// rdbGenericLoadStringObject: the string's bytes, valid until the next string read.
    func withString<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let start = pos
        let (len, encoded) = try lengthOrEncoding()
        if !encoded {
            return try body(try bytes(len, "a string of \(len) bytes"))
        }
        switch len {
        case RDB.encInt8, RDB.encInt16, RDB.encInt32:
            let v: Int
            if len == RDB.encInt8 {
                v = Int(Int8(bitPattern: try byte()))
            } else if len == RDB.encInt16 {
                let b = try bytes(2)
                v = Int(Int16(bitPattern: UInt16(b[0]) | UInt16(b[1]) << 8))
            } else {
                v = Int(Int32(bitPattern: try uint32LE()))
            }
            ensureScratch(24)
            let n = formatDecimal(v, into: scratch)
            return try body(UnsafeRawBufferPointer(start: scratch, count: n))
        case RDB.encLZF:
            let clen = try length()
            let ulen = try length()
            let data = try bytes(clen, "LZF data")
            // An LZF back reference yields at most 264 bytes from 2 input bytes.
            if ulen > clen * 132 + 64 || (ulen > 0 && clen == 0) {
                throw error("Invalid LZF lengths: \(clen) compressed, \(ulen) uncompressed", at: start)
            }
            ensureScratch(max(ulen, 1))
            if !LZF.decompress(data, into: UnsafeMutableRawBufferPointer(start: scratch, count: ulen)) {
                throw error("Invalid LZF compressed string", at: start)
            }
            return try body(UnsafeRawBufferPointer(start: scratch, count: ulen))
        default:
            throw error("Unknown RDB string encoding type \(len)", at: start)
        }
    }

    /// Reused by the zset loader for (member, score) pairs that point into a blob.
    private var zsetScratch: [(UnsafeRawBufferPointer, Double)] = []

    func takeZsetScratch() -> [(UnsafeRawBufferPointer, Double)] {
        var a: [(UnsafeRawBufferPointer, Double)] = []
        swap(&a, &zsetScratch)
        a.removeAll(keepingCapacity: true)
        return a
    }

    func returnZsetScratch(_ a: [(UnsafeRawBufferPointer, Double)]) { zsetScratch = a }

    /// Field hashes of the packed hash being loaded (its duplicate check), reused.
    private var fieldHashScratch: [UInt64] = []

    func takeFieldHashScratch() -> [UInt64] {
        var a: [UInt64] = []
        swap(&a, &fieldHashScratch)
        a.removeAll(keepingCapacity: true)
        return a
    }

    func returnFieldHashScratch(_ a: [UInt64]) { fieldHashScratch = a }

    private var keyBuffer: UnsafeMutableRawPointer? = nil
    private var keyCapacity = 0

    /// A string that stays valid while the next strings are read: a verbatim string
    /// points into the input; an encoded one is copied aside (until the next call).
    func stableString() throws -> UnsafeRawBufferPointer {
        try withString { b in
            if let p = b.baseAddress, p >= base, p <= base + count { return b }
            if b.count > keyCapacity {
                free(keyBuffer)
                keyCapacity = max(b.count, 64)
                keyBuffer = malloc(keyCapacity)!
            }
            if b.count > 0 { keyBuffer!.copyMemory(from: b.baseAddress!, byteCount: b.count) }
            return UnsafeRawBufferPointer(start: keyBuffer, count: b.count)
        }
    }

    func stringArray() throws -> [UInt8] {
        try withString { Array($0) }
    }

    /// rdbLoadDoubleValue: the text form used by RDB_TYPE_ZSET (a length byte, or
    /// 253/254/255 for nan/+inf/-inf).
    func textDouble() throws -> Double {
        let start = pos
        let n = try byte()
        switch n {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        default:
            let b = try bytes(Int(n), "a double")
            guard let d = parseDouble(b) else {
                throw error("Invalid double value", at: start)
            }
            return d
        }
    }

    func binaryDouble() throws -> Double {
        Double(bitPattern: try uint64LE())
    }
}
