#if canImport(Glibc)
import Glibc
#endif

/// The HyperLogLog commands (the command half of Redis's hyperloglog.c). An HLL is a
/// plain string value (Types/HyperLogLog.swift has its representation); these handlers
/// edit its bytes inside the key's entry, replacing the entry when a sparse HLL needs room
/// or turns dense.
enum HyperLogLogCommands {
    static let table: [CommandImpl] = [
        CommandImpl("pfadd", pfadd),
        CommandImpl("pfcount", pfcount),
        CommandImpl("pfmerge", pfmerge),
        CommandImpl("pfdebug", pfdebug),
        CommandImpl("pfselftest", pfselftest),
    ]

    typealias HLL = HyperLogLog

    // MARK: the HLL inside a key entry

    /// isHLLObjectOrReply: a string (else the usual WRONGTYPE), sds-encoded, with a valid
    /// header (else Redis's own WRONGTYPE text).
    static func isHLLOrReply(_ c: Client, _ e: KeyEntry) -> Bool {
        guard e.type == .string else {
            c.addReplyErrorWrongType()
            return false
        }
        if e.encoding == .int || !HLL.isValid(e.stringValue) {
            c.addReplyError(HLL.notHLLError)
            return false
        }
        return true
    }

    /// dbUnshareStringValue: the value becomes a raw string of its own. A short one was an
    /// embstr, copied afresh (so with a zero terminator: re-encoding drops the kept one).
    @inline(__always)
    static func unshare(_ e: KeyEntry) {
        if e.encoding != .raw { e.encoding = .raw }
    }

    /// The byte after the value, which Redis's sds keeps as its terminator: 0 unless HLL code
    /// wrote one there (see `hllTerminatorKept`).
    static func terminator(_ e: KeyEntry) -> UInt8 {
        guard e.hllTerminatorKept else { return 0 }
        let n = Int(e.header.valueLength)
        guard e.valueCapacity > n else { return 0 }
        return e.elements.load(fromByteOffset: e.keyLength + n, as: UInt8.self)
    }

    /// A new HLL key holding an empty sparse HLL (createHLLObject + dbAdd).
    static func addEmpty(_ c: Client, _ key: UnsafeRawBufferPointer) -> KeyEntry {
        let e = HLL.emptySparse.withUnsafeBytes {
            KeyEntry.make(key: key, value: $0, encoding: .raw, lru: c.server.lruClock)
        }
        c.db.add(e)
        return e
    }

    /// `e`, or a larger copy that replaced it, with room for 3 more bytes and the
    /// terminator (sdsMakeRoomFor(3)), the terminator byte in place.
    static func withSparseRoom(_ c: Client, _ e: KeyEntry) -> KeyEntry {
        let n = Int(e.header.valueLength)
        let t = terminator(e)
        var target = e
        if e.valueCapacity < n + 4 {
            target = KeyEntry.make(key: e.key, value: e.stringValue, encoding: .raw, lru: e.lru,
                                   spare: StringCommands.greedyCapacity(n + 4) - n)
            c.db.replace(e, with: target, keepTTL: true)
        }
        target.elements.storeBytes(of: t, toByteOffset: target.keyLength + n, as: UInt8.self)
        target.hllTerminatorKept = true
        return target
    }

    /// hllSparseToDense on the key: its entry is replaced by one holding the dense HLL.
    static func toDense(_ c: Client, _ e: inout KeyEntry) -> Bool {
        guard let dense = HLL.sparseToDense(e.stringValue, terminator: terminator(e)) else { return false }
        let n = dense.withUnsafeBytes { KeyEntry.make(key: e.key, value: $0, encoding: .raw, lru: e.lru) }
        c.db.replace(e, with: n, keepTTL: true)
        e = n
        return true
    }

    @inline(__always)
    static func denseRegisters(_ e: KeyEntry) -> UnsafeMutablePointer<UInt8> {
        (e.elements + e.keyLength + HLL.headerSize).assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    static func header(_ e: KeyEntry) -> UnsafeMutablePointer<UInt8> {
        (e.elements + e.keyLength).assumingMemoryBound(to: UInt8.self)
    }

    @inline(__always)
    static func isSparse(_ e: KeyEntry) -> Bool {
        e.elements.load(fromByteOffset: e.keyLength + 4, as: UInt8.self) == HLL.encodingSparse
    }

    /// hllDenseSet / hllSparseSet (with its promotion) on the key: 1 when the register
    /// grew, 0 when not, -1 for a corrupted HLL. `e` follows the entry if it is replaced.
    @inline(__always)
    static func set(_ c: Client, _ e: inout KeyEntry, index: Int, count: UInt8) -> Int {
        if !isSparse(e) { return HLL.denseSetIfGreater(denseRegisters(e), index, count) ? 1 : 0 }
        return sparseSet(c, &e, index: index, count: count)
    }

    @inline(never)
    static func sparseSet(_ c: Client, _ e: inout KeyEntry, index: Int, count: UInt8) -> Int {
        var result = HLL.SparseSetResult.promote
        if Int(count) <= HLL.sparseValMaxValue {
            e = withSparseRoom(c, e)
            var len = Int(e.header.valueLength)
            result = HLL.sparseSet(header(e), len: &len, index: index, count: count,
                                   maxBytes: c.server.config.hllSparseMaxBytes)
            e.header.valueLength = UInt32(len)
        }
        switch result {
        case .unchanged: return 0
        case .updated: return 1
        case .invalid: return -1
        case .promote:
            guard toDense(c, &e) else { return -1 }
            return HLL.denseSetIfGreater(denseRegisters(e), index, count) ? 1 : 0
        }
    }

    // MARK: PFADD

    static func pfadd(_ c: Client, _ argv: Argv) {
        let key = argv[1]
        var updated = 0
        var e: KeyEntry
        if let found = c.lookupWrite(key) {
            guard isHLLOrReply(c, found) else { return }
            unshare(found)
            e = found
        } else {
            e = addEmpty(c, key)
            updated += 1
        }
        if argv.count > 2 {
            for j in 2..<argv.count {
                let (index, count) = HLL.patLen(argv[j])
                let r = set(c, &e, index: index, count: count)
                if r == 1 {
                    updated += 1
                } else if r < 0 {
                    c.addReplyError(HLL.invalidError)
                    return
                }
            }
        }
        if updated > 0 {
            c.server.signalModifiedKey(c.db, key)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "pfadd", key, c.db.id)
            c.noteWrite(updated)
            HLL.invalidateCache(header(e))
            c.addReplyRaw(":1\r\n")
        } else {
            c.addReplyRaw(":0\r\n")
        }
    }

    // MARK: PFCOUNT

    static func pfcount(_ c: Client, _ argv: Argv) {
        if argv.count > 2 {
            // The cardinality of the union, through a temporary of one byte per register.
            var max = [UInt8](repeating: 0, count: HLL.registerCount)
            for j in 1..<argv.count {
                guard let o = c.lookupRead(argv[j]) else { continue }
                guard isHLLOrReply(c, o) else { return }
                let ok = max.withUnsafeMutableBufferPointer { HLL.merge(into: $0.baseAddress!, o.stringValue, terminator: terminator(o)) }
                if !ok {
                    c.addReplyError(HLL.invalidError)
                    return
                }
            }
            var h = [Int](repeating: 0, count: 64)
            max.withUnsafeBufferPointer { HLL.rawHistogram($0.baseAddress!, into: &h) }
            c.addReplyInt(Int(bitPattern: UInt(HLL.estimate(h))))
            return
        }
        guard let e = c.lookupRead(argv[1]) else {
            c.addReplyRaw(":0\r\n")
            return
        }
        guard isHLLOrReply(c, e) else { return }
        unshare(e)
        let v = e.stringValue
        if HLL.cacheIsValid(v) {
            c.addReplyInt(Int(bitPattern: UInt(HLL.cachedCardinality(v))))
            return
        }
        guard let card = HLL.count(v, terminator: terminator(e)) else {
            c.addReplyError(HLL.invalidError)
            return
        }
        HLL.storeCardinality(header(e), card)
        // A read-only command that changed the value: the cache write is propagated (and
        // counts as a change) like any write.
        c.server.signalModifiedKey(c.db, argv[1])
        c.noteWrite()
        c.addReplyInt(Int(bitPattern: UInt(card)))
    }

    // MARK: PFMERGE

    static func pfmerge(_ c: Client, _ argv: Argv) {
        var max = [UInt8](repeating: 0, count: HLL.registerCount)
        var useDense = false
        // The destination is a source too (j starts at 1).
        for j in 1..<argv.count {
            guard let o = c.lookupRead(argv[j]) else { continue }
            guard isHLLOrReply(c, o) else { return }
            if !isSparse(o) { useDense = true }
            let ok = max.withUnsafeMutableBufferPointer { HLL.merge(into: $0.baseAddress!, o.stringValue, terminator: terminator(o)) }
            if !ok {
                c.addReplyError(HLL.invalidError)
                return
            }
        }
        let key = argv[1]
        var e: KeyEntry
        if let found = c.lookupWrite(key) {
            unshare(found)  // checked as a source above
            e = found
        } else {
            e = addEmpty(c, key)
        }
        if useDense && isSparse(e) && !toDense(c, &e) {
            c.addReplyError(HLL.invalidError)
            return
        }
        for j in 0..<HLL.registerCount where max[j] != 0 {
            _ = set(c, &e, index: j, count: max[j])
        }
        HLL.invalidateCache(header(e))
        c.server.signalModifiedKey(c.db, key)
        // Redis sends "pfadd" for PFMERGE too (a mass add, semantically).
        c.server.notifyKeyspaceEvent(KeyspaceEventFlags.string, "pfadd", key, c.db.id)
        c.noteWrite()
        c.addReplyOK()
    }

    // MARK: PFDEBUG

    /// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is checked before the
    /// subcommand, which is matched as a C string (up to a NUL byte).
    static func pfdebug(_ c: Client, _ argv: Argv) {
        guard var e = c.lookupWrite(argv[2]) else {
            c.addReplyError("The specified key does not exist")
            return
        }
        guard isHLLOrReply(c, e) else { return }
        unshare(e)
        if StringCommands.optionIs(argv, 1, "getreg") {
            if isSparse(e) {
                guard toDense(c, &e) else {
                    c.addReplyError(HLL.invalidError)
                    return
                }
                c.noteWrite()  // an encoding change is propagated
            }
            let regs = denseRegisters(e)
            c.addReplyArrayLen(HLL.registerCount)
            for j in 0..<HLL.registerCount { c.addReplyInt(Int(HLL.denseGet(regs, j))) }
        } else if StringCommands.optionIs(argv, 1, "decode") {
            guard isSparse(e) else {
                c.addReplyError("HLL encoding is not sparse")
                return
            }
            c.addReplyBulk(HLL.decode(e.stringValue, terminator: terminator(e)))
        } else if StringCommands.optionIs(argv, 1, "encoding") {
            c.addReplyStatus(isSparse(e) ? "sparse" : "dense")
        } else if StringCommands.optionIs(argv, 1, "todense") {
            var converted = false
            if isSparse(e) {
                guard toDense(c, &e) else {
                    c.addReplyError(HLL.invalidError)
                    return
                }
                converted = true
                c.noteWrite()
            }
            c.addReplyRaw(converted ? ":1\r\n" : ":0\r\n")
        } else {
            let sub = argv[1].prefix { $0 != 0 }
            c.addReplyError("Unknown PFDEBUG subcommand '\(String(decoding: sub, as: UTF8.self))'")
        }
    }

    // MARK: PFSELFTEST

    /// PFSELFTEST: register access, then 10 M elements added to a dense and a sparse HLL
    /// alike, checking at powers of ten that sparse is used while small, that both count
    /// the same, and that the error is within 6 standard errors.
    static func pfselftest(_ c: Client, _ argv: Argv) {
        // Redis uses rand(); a small generator seeded once keeps this off getrandom(2).
        var sys = SystemRandomNumberGenerator()
        var rng = SelfTestRandom(state: sys.next() | 1)
        var dense = [UInt8](repeating: 0, count: HLL.denseSize)
        var expected = [UInt8](repeating: 0, count: HLL.registerCount)
        for _ in 0..<1000 {
            let failure: String? = dense.withUnsafeMutableBufferPointer { d in
                let regs = d.baseAddress! + HLL.headerSize
                for i in 0..<HLL.registerCount {
                    let r = UInt8(truncatingIfNeeded: rng.next() >> 58)
                    expected[i] = r
                    HLL.denseSet(regs, i, r)
                }
                for i in 0..<HLL.registerCount {
                    let v = HLL.denseGet(regs, i)
                    if v != expected[i] { return "TESTFAILED Register \(i) should be \(expected[i]) but is \(v)" }
                }
                return nil
            }
            if let failure {
                c.addReplyError(failure)
                return
            }
        }
        var flat = HLLBuffer([UInt8](repeating: 0, count: HLL.denseSize))  // dense, header zeroed
        var sparse = HLLBuffer()
        let maxBytes = c.server.config.hllSparseMaxBytes
        let relerr = 1.04 / Double(HLL.registerCount).squareRoot()
        var checkpoint = 1
        let seed = rng.next()
        for j in 1...10_000_000 {
            var ele = UInt64(j) ^ seed
            withUnsafeBytes(of: &ele) { b in
                _ = flat.add(b, sparseMaxBytes: maxBytes)
                _ = sparse.add(b, sparseMaxBytes: maxBytes)
            }
            guard j == checkpoint else { continue }
            if j < maxBytes / 2 && !sparse.isSparse {
                c.addReplyError("TESTFAILED sparse encoding not used")
                return
            }
            let card = flat.cardinality() ?? 0
            if card != sparse.cardinality() {
                c.addReplyError("TESTFAILED dense/sparse disagree")
                return
            }
            var abserr = checkpoint - Int(card)
            var maxerr = Int((relerr * 6 * Double(checkpoint)).rounded(.up))
            if j == 10 { maxerr = 1 }
            if abserr < 0 { abserr = -abserr }
            if abserr > maxerr {
                c.addReplyError("TESTFAILED Too big error. card:\(checkpoint) abserr:\(abserr)")
                return
            }
            checkpoint *= 10
        }
        c.addReplyOK()
    }
}

/// xorshift64*, for PFSELFTEST's random registers and elements.
struct SelfTestRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}

extension KeyEntry {
    /// Whether the byte after the value (inside the allocation) is the sds terminator that
    /// Redis's HLL code would have there: hllSparseSet can write its last byte past the new
    /// end, and a truncated XZERO at the end then reads it. Bit 7 of `meta`, which
    /// otherwise only int-encoded strings use (`isPrivateInteger`); any re-encoding or
    /// length change by the other string commands clears it (a zero terminator).
    var hllTerminatorKept: Bool {
        get { header.meta & KeyEntry.privateIntegerBit != 0 && encoding == .raw }
        set { if newValue { header.meta |= KeyEntry.privateIntegerBit } else { header.meta &= ~KeyEntry.privateIntegerBit } }
    }
}
