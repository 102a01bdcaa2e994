// LZF as Redis bundles it (lzf_c.c with HLOG 16 and VERY_FAST, lzf_d.c). The compressor
// follows lzf_c.c's matching so its output has the same shape as Redis's; any valid LZF
// stream decompresses the same, which is what compatibility needs. The decompressor
// checks every read and write against the buffers' bounds.

/// The compressor's hash table, kept between calls (one per writer): clearing 64 K
/// slots for every small string cost more than compressing it. Each call bumps the
/// epoch, and slots stamped with an older epoch count as empty, so the output is the
/// same as with a fresh table.
final class LZFState {
    let table: UnsafeMutablePointer<UInt64>
    var epoch: UInt64 = 0

    init() {
        table = .allocate(capacity: 1 << 16)
        table.initialize(repeating: 0, count: 1 << 16)
    }

    deinit { table.deallocate() }

    /// Starts a new input: every slot written before is stale.
    func next() {
        epoch += 1
        if epoch >= 1 << 31 {
            table.update(repeating: 0, count: 1 << 16)
            epoch = 1
        }
    }
}

enum LZF {
    private static let hlog = 16
    private static let hsize = 1 << 16
    private static let maxLit = 1 << 5
    private static let maxOff = 1 << 13
    private static let maxRef = (1 << 8) + (1 << 3)

    /// Compresses `input` into at most `limit` bytes; nil when it does not fit (Redis then
    /// stores the string as is).
    static func compress(_ input: UnsafeRawBufferPointer, limit: Int, state: LZFState? = nil) -> [UInt8]? {
        let st = state ?? LZFState()
        st.next()
        let epoch = st.epoch << 32
        let inLen = input.count
        if inLen == 0 || limit <= 0 { return nil }
        let ip0 = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var out = [UInt8](repeating: 0, count: limit + 8)
        let produced: Int = out.withUnsafeMutableBufferPointer { ob -> Int in
            let op0 = ob.baseAddress!
            let htab = st.table
            @inline(__always) func idx(_ h: UInt32) -> Int {
                Int(((h >> UInt32(3 * 8 - hlog)) &- (h &* 5)) & UInt32(hsize - 1))
            }
            var ip = 0
            var op = 0
            let outEnd = limit
            var lit = 0
            op += 1  // start run
            var hval = (UInt32(ip0[0]) << 8) | (inLen > 1 ? UInt32(ip0[1]) : 0)
            while ip < inLen - 2 {
                hval = (hval << 8) | UInt32(ip0[ip + 2])
                let slot = idx(hval)
                let stamped = htab[slot]
                // A slot from an earlier input is empty (0), as in a fresh table.
                let ref = stamped & ~0xFFFF_FFFF == epoch ? Int(stamped & 0xFFFF_FFFF) : 0
                htab[slot] = epoch | UInt64(ip)
                let off = ip - ref - 1
                if ref > 0 && off < maxOff && off >= 0 && ip0[ref + 2] == ip0[ip + 2]
                    && ip0[ref] == ip0[ip] && ip0[ref + 1] == ip0[ip + 1] {
                    var len = 2
                    var maxlen = inLen - ip - len
                    if maxlen > maxRef { maxlen = maxRef }
                    if op + 3 + 1 >= outEnd {
                        if op - (lit == 0 ? 1 : 0) + 3 + 1 >= outEnd { return -1 }
                    }
                    op0[op - lit - 1] = UInt8(truncatingIfNeeded: lit - 1)
                    if lit == 0 { op -= 1 }
                    // lzf_c.c's unrolled first 16 steps (they may run up to 2 past maxlen).
                    var done = false
                    if maxlen > 16 {
                        for _ in 0..<16 {
                            len += 1
                            if ip0[ref + len] != ip0[ip + len] { done = true; break }
                        }
                    }
                    if !done {
                        repeat { len += 1 } while len < maxlen && ip0[ref + len] == ip0[ip + len]
                    }
                    len -= 2
                    ip += 1
                    if len < 7 {
                        op0[op] = UInt8((off >> 8) + (len << 5)); op += 1
                    } else {
                        op0[op] = UInt8((off >> 8) + (7 << 5)); op += 1
                        op0[op] = UInt8(len - 7); op += 1
                    }
                    op0[op] = UInt8(truncatingIfNeeded: off); op += 1
                    lit = 0
                    op += 1
                    ip += len + 1
                    if ip >= inLen - 2 { break }
                    ip -= 2
                    hval = (UInt32(ip0[ip]) << 8) | UInt32(ip0[ip + 1])
                    hval = (hval << 8) | UInt32(ip0[ip + 2])
                    htab[idx(hval)] = epoch | UInt64(ip)
                    ip += 1
                    hval = (hval << 8) | UInt32(ip0[ip + 2])
                    htab[idx(hval)] = epoch | UInt64(ip)
                    ip += 1
                } else {
                    if op >= outEnd { return -1 }
                    lit += 1
                    op0[op] = ip0[ip]; op += 1; ip += 1
                    if lit == maxLit {
                        op0[op - lit - 1] = UInt8(lit - 1)
                        lit = 0
                        op += 1
                    }
                }
            }
            if op + 3 > outEnd { return -1 }
            while ip < inLen {
                lit += 1
                op0[op] = ip0[ip]; op += 1; ip += 1
                if lit == maxLit {
                    op0[op - lit - 1] = UInt8(lit - 1)
                    lit = 0
                    op += 1
                }
            }
            op0[op - lit - 1] = UInt8(truncatingIfNeeded: lit - 1)
            if lit == 0 { op -= 1 }
            return op <= outEnd ? op : -1
        }
        if produced <= 0 { return nil }
        out.removeLast(out.count - produced)
        return out
    }

    /// lzf_compress's return value: the compressed length, or 0 when it would not fit
    /// in `limit` bytes (DEBUG OBJECT's serializedlength).
    static func compressedLength(_ input: UnsafeRawBufferPointer, limit: Int) -> Int {
        compress(input, limit: limit)?.count ?? 0
    }

    /// Decompresses `input` into exactly `output.count` bytes; false on any malformed
    /// input (a back reference before the start, a run past either end, a length mismatch).
    static func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Bool {
        let inLen = input.count
        let outLen = output.count
        guard inLen > 0 else { return outLen == 0 }
        let ip0 = input.baseAddress!.assumingMemoryBound(to: UInt8.self)
        guard let op0 = output.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        var ip = 0
        var op = 0
        while ip < inLen {
            var ctrl = Int(ip0[ip]); ip += 1
            if ctrl < 32 {
                ctrl += 1
                if op + ctrl > outLen || ip + ctrl > inLen { return false }
                (op0 + op).update(from: ip0 + ip, count: ctrl)
                op += ctrl
                ip += ctrl
            } else {
                var len = ctrl >> 5
                if len == 7 {
                    if ip >= inLen { return false }
                    len += Int(ip0[ip]); ip += 1
                }
                if ip >= inLen { return false }
                let ref = op - ((ctrl & 0x1F) << 8) - 1 - Int(ip0[ip]); ip += 1
                len += 2
                if op + len > outLen || ref < 0 { return false }
                // Overlapping copies repeat bytes: copy forwards one at a time.
                for k in 0..<len { op0[op + k] = op0[ref + k] }
                op += len
            }
        }
        return op == outLen
    }
}
