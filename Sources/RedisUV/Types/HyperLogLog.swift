#if canImport(Glibc)
import Glibc
#endif

/// HyperLogLog in Redis 7.0's exact representation (hyperloglog.c), so the string value a
/// PFADD leaves is byte for byte what redis-server leaves, and either server reads the
/// other's payloads.
///
/// An HLL is an ordinary string value: a 16-byte header
/// `"HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes | cached cardinality (LE u64)`,
/// the cache being invalid when the top bit of its last byte is set; then either
/// 16384 6-bit registers packed LSB first (12288 bytes, "dense") or a run-length
/// "sparse" code of ZERO (`00xxxxxx`, 1-64 zero registers), XZERO (`01xxxxxx yyyyyyyy`,
/// 1-16384 zero registers) and VAL (`1vvvvvxx`, 1-4 registers of value 1-32) opcodes.
///
/// The functions work on raw bytes as Redis's do on an sds, including the byte right after
/// the string (the sds terminator): a truncated XZERO at the very end reads its second byte
/// there, and hllSparseSet can write into it. Callers pass that byte (`terminator`) to the
/// readers, and give the writers a buffer with room for it. Everything is bounds-checked
/// against the string: corrupted payloads give an error result, never an access outside.
enum HyperLogLog {
    static let p = 14
    /// Bits of the hash used for the run of zeros.
    static let q = 64 - p
    static let registerCount = 1 << p
    static let pMask = registerCount - 1
    static let registerMax: UInt8 = 63
    static let headerSize = 16
    static let denseRegistersSize = (registerCount * 6 + 7) / 8
    static let denseSize = headerSize + denseRegistersSize
    static let encodingDense: UInt8 = 0
    static let encodingSparse: UInt8 = 1
    static let maxEncoding: UInt8 = 1
    static let sparseValMaxValue = 32
    static let sparseValMaxLen = 4
    static let sparseZeroMaxLen = 64
    static let sparseXZeroMaxLen = 16384
    /// The seed hllPatLen hashes with.
    static let hashSeed: UInt32 = 0xadc8_3b19
    /// 0.5 / ln(2), Ertl's alpha for m -> infinity.
    static let alphaInf = 0.721347520444481703680

    static let invalidError = "-INVALIDOBJ Corrupted HLL object detected"
    static let notHLLError = "-WRONGTYPE Key is not a valid HyperLogLog string value."

    // MARK: hashing

    /// MurmurHash2, 64-bit version (MurmurHash64A), as Redis has it (endian neutral).
    static func murmurHash64A(_ key: UnsafeRawBufferPointer, seed: UInt32) -> UInt64 {
        let m: UInt64 = 0xc6a4_a793_5bd1_e995
        let r: UInt64 = 47
        let len = key.count
        var h = UInt64(seed) ^ (UInt64(truncatingIfNeeded: len) &* m)
        let blocks = len & ~7
        var i = 0
        if let base = key.baseAddress {
            while i < blocks {
                var k = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                k = k &* m
                k ^= k >> r
                k = k &* m
                h ^= k
                h = h &* m
                i += 8
            }
            let rest = len & 7
            if rest > 0 {
                var t = rest - 1
                while t >= 0 {
                    h ^= UInt64(key[blocks + t]) << UInt64(8 * t)
                    t -= 1
                }
                h = h &* m
            }
        }
        h ^= h >> r
        h = h &* m
        h ^= h >> r
        return h
    }

    /// hllPatLen: the register an element maps to and the length of its 000..1 pattern (1...q+1).
    @inline(__always)
    static func patLen(_ ele: UnsafeRawBufferPointer) -> (index: Int, count: UInt8) {
        var hash = murmurHash64A(ele, seed: hashSeed)
        let index = Int(hash & UInt64(pMask))
        hash >>= UInt64(p)
        hash |= UInt64(1) << UInt64(q)
        return (index, UInt8(hash.trailingZeroBitCount + 1))
    }

    // MARK: dense registers

    /// HLL_DENSE_GET_REGISTER on the 12288 register bytes. The second byte is read only when
    /// the register spans two bytes, so the last register never reads past the registers.
    @inline(__always)
    static func denseGet(_ regs: UnsafePointer<UInt8>, _ i: Int) -> UInt8 {
        let bit = i * 6
        let byte = bit >> 3, fb = bit & 7
        var v = UInt32(regs[byte]) >> UInt32(fb)
        if fb > 2 { v |= UInt32(regs[byte + 1]) << UInt32(8 - fb) }
        return UInt8(v & 63)
    }

    /// HLL_DENSE_SET_REGISTER (`v` < 64).
    @inline(__always)
    static func denseSet(_ regs: UnsafeMutablePointer<UInt8>, _ i: Int, _ v: UInt8) {
        let bit = i * 6
        let byte = bit >> 3, fb = bit & 7
        let w = UInt32(v)
        regs[byte] = UInt8(truncatingIfNeeded: (UInt32(regs[byte]) & ~(63 << UInt32(fb))) | (w << UInt32(fb)))
        if fb > 2 {
            let fb8 = UInt32(8 - fb)
            regs[byte + 1] = UInt8(truncatingIfNeeded: (UInt32(regs[byte + 1]) & ~(63 >> fb8)) | (w >> fb8))
        }
    }

    /// hllDenseSet: raises register `i` to `count`; true when it changed.
    @inline(__always)
    static func denseSetIfGreater(_ regs: UnsafeMutablePointer<UInt8>, _ i: Int, _ count: UInt8) -> Bool {
        if count > denseGet(UnsafePointer(regs), i) {
            denseSet(regs, i, count)
            return true
        }
        return false
    }

    // MARK: header

    /// The checks of isHLLObjectOrReply on a string's bytes: magic, a known encoding, and
    /// the exact size for dense.
    static func isValid(_ v: UnsafeRawBufferPointer) -> Bool {
        if v.count < headerSize { return false }
        if v[0] != UInt8(ascii: "H") || v[1] != UInt8(ascii: "Y") || v[2] != UInt8(ascii: "L") || v[3] != UInt8(ascii: "L") {
            return false
        }
        if v[4] > maxEncoding { return false }
        if v[4] == encodingDense && v.count != denseSize { return false }
        return true
    }

    @inline(__always) static func cacheIsValid(_ v: UnsafeRawBufferPointer) -> Bool { v[15] & 0x80 == 0 }

    @inline(__always) static func invalidateCache(_ p: UnsafeMutablePointer<UInt8>) { p[15] |= 0x80 }

    static func cachedCardinality(_ v: UnsafeRawBufferPointer) -> UInt64 {
        var card: UInt64 = 0
        for i in 0..<8 { card |= UInt64(v[8 + i]) << UInt64(8 * i) }
        return card
    }

    static func storeCardinality(_ p: UnsafeMutablePointer<UInt8>, _ card: UInt64) {
        for i in 0..<8 { p[8 + i] = UInt8(truncatingIfNeeded: card >> UInt64(8 * i)) }
    }

    /// createHLLObject's value: an empty sparse HLL (XZERO:16384), 18 bytes.
    static let emptySparse: [UInt8] = {
        var v: [UInt8] = Array("HYLL".utf8) + [encodingSparse, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        var aux = registerCount
        while aux > 0 {
            let x = Swift.min(sparseXZeroMaxLen, aux)
            v.append(UInt8((x - 1) >> 8) | 0x40)
            v.append(UInt8((x - 1) & 0xFF))
            aux -= x
        }
        return v
    }()

    // MARK: sparse decoding

    /// One sparse opcode at `i` of `v` (the header included in `v`): Redis's macros, the
    /// XZERO's second byte being `terminator` when the string ends after its first byte.
    @inline(__always)
    static func opcode(_ v: UnsafeRawBufferPointer, _ i: Int, _ terminator: UInt8) -> (kind: UInt8, runlen: Int, value: Int, size: Int) {
        let b = v[i]
        if b & 0xC0 == 0 { return (0, Int(b & 0x3F) + 1, 0, 1) }
        if b & 0xC0 == 0x40 {
            let b1 = i + 1 < v.count ? v[i + 1] : terminator
            return (1, ((Int(b & 0x3F) << 8) | Int(b1)) + 1, 0, 2)
        }
        return (2, Int(b & 0x3) + 1, Int((b >> 2) & 0x1F) + 1, 1)
    }

    /// hllSparseToDense's loop: writes the registers of sparse `v` into `regs` (zeroed,
    /// 12288 bytes); false when the code does not cover exactly 16384 registers.
    static func sparseToDenseRegisters(_ v: UnsafeRawBufferPointer, terminator: UInt8, into regs: UnsafeMutablePointer<UInt8>) -> Bool {
        var idx = 0
        var i = headerSize
        while i < v.count {
            let op = opcode(v, i, terminator)
            if op.kind == 2 {
                // 7.0.15 fails right there (older versions broke out of the loop, so a last
                // run past the end went unnoticed when the registers before summed to 16384).
                if op.runlen + idx > registerCount { return false }
                for _ in 0..<op.runlen {
                    denseSet(regs, idx, UInt8(op.value))
                    idx += 1
                }
            } else {
                idx += op.runlen
            }
            i += op.size
        }
        return idx == registerCount
    }

    /// hllSparseToDense on bytes: the dense string (header copied, encoding set to dense), or
    /// nil for a corrupted sparse code.
    static func sparseToDense(_ v: UnsafeRawBufferPointer, terminator: UInt8) -> [UInt8]? {
        var dense = [UInt8](repeating: 0, count: denseSize)
        let ok = dense.withUnsafeMutableBufferPointer { d -> Bool in
            for i in 0..<headerSize { d[i] = v[i] }
            d[4] = encodingDense
            return sparseToDenseRegisters(v, terminator: terminator, into: d.baseAddress! + headerSize)
        }
        return ok ? dense : nil
    }

    /// hllMerge: max[i] = max(max[i], register i) over 16384 bytes; false for a corrupted
    /// sparse code. `v` passed isValid.
    static func merge(into max: UnsafeMutablePointer<UInt8>, _ v: UnsafeRawBufferPointer, terminator: UInt8) -> Bool {
        if v[4] == encodingDense {
            let regs = v.baseAddress!.assumingMemoryBound(to: UInt8.self) + headerSize
            for i in 0..<registerCount {
                let r = denseGet(regs, i)
                if r > max[i] { max[i] = r }
            }
            return true
        }
        var idx = 0
        var i = headerSize
        while i < v.count {
            let op = opcode(v, i, terminator)
            if op.kind == 2 {
                if op.runlen + idx > registerCount { return false }  // as hllSparseToDense
                let val = UInt8(op.value)
                for _ in 0..<op.runlen {
                    if val > max[idx] { max[idx] = val }
                    idx += 1
                }
            } else {
                idx += op.runlen
            }
            i += op.size
        }
        return idx == registerCount
    }

    // MARK: counting

    /// The register histogram (64 buckets) of a valid HLL; false when a sparse code does
    /// not cover exactly 16384 registers (hllSparseRegHisto's `invalid`).
    static func histogram(_ v: UnsafeRawBufferPointer, terminator: UInt8, into h: inout [Int]) -> Bool {
        if v[4] == encodingDense {
            let r = v.baseAddress!.assumingMemoryBound(to: UInt8.self) + headerSize
            var j = 0
            // 4 registers per 3 bytes.
            while j < denseRegistersSize {
                let b0 = Int(r[j]), b1 = Int(r[j + 1]), b2 = Int(r[j + 2])
                h[b0 & 63] += 1
                h[((b0 >> 6) | (b1 << 2)) & 63] += 1
                h[((b1 >> 4) | (b2 << 4)) & 63] += 1
                h[b2 >> 2] += 1
                j += 3
            }
            return true
        }
        var idx = 0
        var i = headerSize
        while i < v.count {
            let op = opcode(v, i, terminator)
            idx += op.runlen
            h[op.value] += op.runlen
            i += op.size
        }
        return idx == registerCount
    }

    /// hllRawRegHisto: the histogram of 16384 one-byte registers (PFCOUNT of many keys).
    static func rawHistogram(_ regs: UnsafePointer<UInt8>, into h: inout [Int]) {
        for i in 0..<registerCount { h[Int(regs[i]) & 63] += 1 }
    }

    static func sigma(_ x: Double) -> Double {
        if x == 1 { return Double.infinity }
        var x = x
        var zPrime: Double
        var y = 1.0
        var z = x
        repeat {
            x *= x
            zPrime = z
            z += x * y
            y += y
        } while zPrime != z
        return z
    }

    static func tau(_ x: Double) -> Double {
        if x == 0 || x == 1 { return 0 }
        var x = x
        var zPrime: Double
        var y = 1.0
        var z = 1 - x
        repeat {
            x = sqrt(x)
            zPrime = z
            y *= 0.5
            z -= pow(1 - x, 2) * y
        } while zPrime != z
        return z / 3
    }

    /// hllCount's estimator (Ertl, arXiv:1702.01284) on a register histogram, with Redis's
    /// operation order so the result is the same double.
    static func estimate(_ h: [Int]) -> UInt64 {
        let m = Double(registerCount)
        var z = m * tau((m - Double(h[q + 1])) / m)
        var j = q
        while j >= 1 {
            z += Double(h[j])
            z *= 0.5
            j -= 1
        }
        z += m * sigma(Double(h[0]) / m)
        let e = (alphaInf * m * m / z).rounded(.toNearestOrAwayFromZero)  // llroundl
        // Out of long long's range (z == 0 gives infinity) llroundl yields LLONG_MIN on
        // x86-64, which Redis stores and replies as such.
        if !(e < 9_223_372_036_854_775_808.0) || !(e >= -9_223_372_036_854_775_808.0) { return 0x8000_0000_0000_0000 }
        return UInt64(bitPattern: Int64(e))
    }

    /// hllCount of one HLL; nil for a corrupted sparse code.
    static func count(_ v: UnsafeRawBufferPointer, terminator: UInt8) -> UInt64? {
        var h = [Int](repeating: 0, count: 64)
        guard histogram(v, terminator: terminator, into: &h) else { return nil }
        return estimate(h)
    }

    // MARK: sparse update

    enum SparseSetResult {
        /// The register already held as much (0).
        case unchanged
        /// Updated in place, cache invalidated (1).
        case updated
        /// The sparse code is corrupted (-1).
        case invalid
        /// The value does not fit the sparse code, or the string would outgrow
        /// hll-sparse-max-bytes: convert to dense, then set there.
        case promote
    }

    /// hllSparseSet up to its promotion: raises register `index` to `count` in the sparse
    /// string at `s` of `len` bytes (header included). The buffer must have room for
    /// `len + 4` bytes (Redis's sdsMakeRoomFor(3) plus the terminator) and hold the sds
    /// terminator at `s[len]`; both stay true afterwards with the new `len`.
    static func sparseSet(_ s: UnsafeMutablePointer<UInt8>, len: inout Int, index: Int, count: UInt8, maxBytes: Int) -> SparseSetResult {
        if Int(count) > sparseValMaxValue { return .promote }
        let sparse = headerSize
        var end = len
        @inline(__always) func isZero(_ i: Int) -> Bool { s[i] & 0xC0 == 0 }
        @inline(__always) func isXZero(_ i: Int) -> Bool { s[i] & 0xC0 == 0x40 }
        @inline(__always) func isVal(_ i: Int) -> Bool { s[i] & 0x80 != 0 }
        @inline(__always) func zeroLen(_ i: Int) -> Int { Int(s[i] & 0x3F) + 1 }
        @inline(__always) func xzeroLen(_ i: Int) -> Int { ((Int(s[i] & 0x3F) << 8) | Int(s[i + 1])) + 1 }
        @inline(__always) func valValue(_ i: Int) -> Int { Int((s[i] >> 2) & 0x1F) + 1 }
        @inline(__always) func valLen(_ i: Int) -> Int { Int(s[i] & 0x3) + 1 }
        @inline(__always) func valByte(_ val: Int, _ len: Int) -> UInt8 { UInt8(truncatingIfNeeded: ((val - 1) << 2) | (len - 1)) | 0x80 }

        // Step 1: find the opcode covering `index`.
        var p = sparse
        var first = 0
        var prev = -1
        var span = 0
        while p < end {
            var oplen = 1
            if isZero(p) {
                span = zeroLen(p)
            } else if isVal(p) {
                span = valLen(p)
            } else {
                span = xzeroLen(p)  // s[p+1] is at most the terminator
                oplen = 2
            }
            if index <= first + span - 1 { break }
            prev = p
            p += oplen
            first += span
        }
        if span == 0 || p >= end { return .invalid }

        var next = isXZero(p) ? p + 2 : p + 1
        if next >= end { next = -1 }

        var isZeroOp = false, isXZeroOp = false, isValOp = false
        var runlen = 0
        if isZero(p) {
            isZeroOp = true
            runlen = zeroLen(p)
        } else if isXZero(p) {
            isXZeroOp = true
            runlen = xzeroLen(p)
        } else {
            isValOp = true
            runlen = valLen(p)
        }

        var trivial = false
        if isValOp {
            let oldcount = valValue(p)
            if oldcount >= Int(count) { return .unchanged }  // case A
            if runlen == 1 {  // case B
                s[p] = valByte(Int(count), 1)
                trivial = true
            }
        }
        if !trivial && isZeroOp && runlen == 1 {  // case C
            s[p] = valByte(Int(count), 1)
            trivial = true
        }

        if !trivial {
            // Case D: split the opcode into up to three (at most 5 bytes).
            var seq: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
            var n = 0
            withUnsafeMutableBytes(of: &seq) { q in
                @inline(__always) func zeros(_ len: Int) {
                    if len > sparseZeroMaxLen {
                        q[n] = UInt8(truncatingIfNeeded: (len - 1) >> 8) | 0x40
                        q[n + 1] = UInt8(truncatingIfNeeded: len - 1)
                        n += 2
                    } else {
                        q[n] = UInt8(truncatingIfNeeded: len - 1)
                        n += 1
                    }
                }
                let last = first + span - 1
                if isZeroOp || isXZeroOp {
                    if index != first { zeros(index - first) }
                    q[n] = valByte(Int(count), 1); n += 1
                    if index != last { zeros(last - index) }
                } else {
                    let curval = valValue(p)
                    if index != first { q[n] = valByte(curval, index - first); n += 1 }
                    q[n] = valByte(Int(count), 1); n += 1
                    if index != last { q[n] = valByte(curval, last - index); n += 1 }
                }
            }
            // Step 3: put the new sequence in place of the old opcode.
            let seqlen = n
            let oldlen = isXZeroOp ? 2 : 1
            let deltalen = seqlen - oldlen
            if deltalen > 0 && len + deltalen > maxBytes { return .promote }
            if deltalen != 0 && next >= 0 {
                memmove(s + next + deltalen, s + next, end - next)
            }
            len += deltalen  // sdsIncrLen: new terminator...
            s[len] = 0
            withUnsafeBytes(of: &seq) { q in  // ...which this may overwrite, as in Redis
                for k in 0..<seqlen { s[p + k] = q[k] }
            }
            end += deltalen
        }

        // Step 4: merge adjacent VAL opcodes of the same value, up to 5 opcodes from prev.
        p = prev >= 0 ? prev : sparse
        var scanlen = 5
        while p < end && scanlen > 0 {
            scanlen -= 1
            if isXZero(p) { p += 2; continue }
            if isZero(p) { p += 1; continue }
            if p + 1 < end && isVal(p + 1) {
                let v1 = valValue(p), v2 = valValue(p + 1)
                if v1 == v2 {
                    let l = valLen(p) + valLen(p + 1)
                    if l <= sparseValMaxLen {
                        s[p + 1] = valByte(v1, l)
                        // memmove(p, p+1, end-p): the terminator moves down too.
                        memmove(s + p, s + p + 1, end - p)
                        len -= 1
                        s[len] = 0
                        end -= 1
                        continue
                    }
                }
            }
            p += 1
        }
        invalidateCache(s)
        return .updated
    }

    // MARK: PFDEBUG DECODE

    /// PFDEBUG DECODE's text of a sparse HLL: "Z:n z:n v:val,len" separated by spaces.
    static func decode(_ v: UnsafeRawBufferPointer, terminator: UInt8) -> [UInt8] {
        var out: [UInt8] = []
        var i = headerSize
        while i < v.count {
            let op = opcode(v, i, terminator)
            switch op.kind {
            case 0: out += Array("z:\(op.runlen) ".utf8)
            case 1: out += Array("Z:\(op.runlen) ".utf8)
            default: out += Array("v:\(op.value),\(op.runlen) ".utf8)
            }
            i += op.size
        }
        while out.last == 32 { out.removeLast() }
        return out
    }
}

/// An HLL string held in an array (with its sds terminator), for PFSELFTEST and the tests:
/// PFADD's logic without a keyspace.
struct HLLBuffer {
    /// The string's bytes, then the terminator, then spare room.
    private(set) var storage: [UInt8]
    private(set) var count: Int

    init(_ bytes: [UInt8] = HyperLogLog.emptySparse, terminator: UInt8 = 0) {
        storage = bytes + [terminator]
        count = bytes.count
    }

    var bytes: [UInt8] { Array(storage[0..<count]) }
    var terminator: UInt8 { storage[count] }
    var isSparse: Bool { storage[4] == HyperLogLog.encodingSparse }

    /// hllSet: raises register `index` to `value`; 1 changed, 0 unchanged, -1 corrupted.
    mutating func set(index: Int, value: UInt8, sparseMaxBytes: Int) -> Int {
        if !isSparse {
            return storage.withUnsafeMutableBufferPointer {
                HyperLogLog.denseSetIfGreater($0.baseAddress! + HyperLogLog.headerSize, index, value) ? 1 : 0
            }
        }
        if storage.count < count + 4 { storage += [UInt8](repeating: 0, count: count + 4 - storage.count + count) }
        var len = count
        let r = storage.withUnsafeMutableBufferPointer {
            HyperLogLog.sparseSet($0.baseAddress!, len: &len, index: index, count: value, maxBytes: sparseMaxBytes)
        }
        count = len
        switch r {
        case .unchanged: return 0
        case .updated: return 1
        case .invalid: return -1
        case .promote:
            guard toDense() else { return -1 }
            return set(index: index, value: value, sparseMaxBytes: sparseMaxBytes)
        }
    }

    /// hllAdd.
    mutating func add(_ ele: UnsafeRawBufferPointer, sparseMaxBytes: Int) -> Int {
        let (index, c) = HyperLogLog.patLen(ele)
        return set(index: index, value: c, sparseMaxBytes: sparseMaxBytes)
    }

    mutating func add(_ ele: [UInt8], sparseMaxBytes: Int = 3000) -> Int {
        ele.withUnsafeBytes { add($0, sparseMaxBytes: sparseMaxBytes) }
    }

    /// hllSparseToDense (true when already dense).
    mutating func toDense() -> Bool {
        if !isSparse { return true }
        let t = terminator
        guard let d = storage.withUnsafeBytes({ HyperLogLog.sparseToDense(UnsafeRawBufferPointer(rebasing: $0[0..<count]), terminator: t) }) else {
            return false
        }
        storage = d + [0]
        count = d.count
        return true
    }

    /// hllCount (nil when corrupted).
    func cardinality() -> UInt64? {
        let t = terminator
        return storage.withUnsafeBytes { HyperLogLog.count(UnsafeRawBufferPointer(rebasing: $0[0..<count]), terminator: t) }
    }

    func register(_ i: Int) -> UInt8? {
        var copy = self
        guard copy.toDense() else { return nil }
        return copy.storage.withUnsafeBufferPointer { HyperLogLog.denseGet($0.baseAddress! + HyperLogLog.headerSize, i) }
    }
}
