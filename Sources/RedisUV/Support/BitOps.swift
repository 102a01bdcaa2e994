/// Pure bit helpers of the bitmap commands (Redis's bitops.c, first part): population
/// count, first-bit search and arbitrary-width integers at bit offsets. Bit 0 is the
/// most significant bit of byte 0, as in SETBIT.
enum BitOps {
    // MARK: popcount

    /// Bits set in `count` bytes at `p` (Redis's redisPopcount). Eight bytes at a time:
    /// each word is reduced to per-byte counts (at most 8 each), 31 of which still fit
    /// in a byte lane; the lanes are folded to a total once per block.
    static func popcount(_ p: UnsafeRawPointer, _ count: Int) -> Int {
        var total = 0
        var i = 0
        let m1: UInt64 = 0x5555_5555_5555_5555
        let m2: UInt64 = 0x3333_3333_3333_3333
        let m4: UInt64 = 0x0F0F_0F0F_0F0F_0F0F
        @inline(__always) func bytesCounts(_ w: UInt64) -> UInt64 {
            var x = w &- ((w >> 1) & m1)
            x = (x & m2) &+ ((x >> 2) & m2)
            return (x &+ (x >> 4)) & m4
        }
        @inline(__always) func fold(_ acc: UInt64) -> Int {
            // Byte lanes (each <= 248) to 16-bit lanes, then their sum in the top 16 bits.
            let y = (acc & 0x00FF_00FF_00FF_00FF) &+ ((acc >> 8) & 0x00FF_00FF_00FF_00FF)
            return Int((y &* 0x0001_0001_0001_0001) >> 48)
        }
        // 4 independent lanes of 30 words: 960 bytes per fold.
        while count - i >= 32 {
            var a: UInt64 = 0, b: UInt64 = 0, c: UInt64 = 0, d: UInt64 = 0
            var rounds = 0
            while rounds < 30 && count - i >= 32 {
                a &+= bytesCounts(p.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                b &+= bytesCounts(p.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                c &+= bytesCounts(p.loadUnaligned(fromByteOffset: i + 16, as: UInt64.self))
                d &+= bytesCounts(p.loadUnaligned(fromByteOffset: i + 24, as: UInt64.self))
                i += 32
                rounds += 1
            }
            total += fold(a) + fold(b) + fold(c) + fold(d)
        }
        while count - i >= 8 {
            total += p.loadUnaligned(fromByteOffset: i, as: UInt64.self).nonzeroBitCount
            i += 8
        }
        while i < count {
            total += p.load(fromByteOffset: i, as: UInt8.self).nonzeroBitCount
            i += 1
        }
        return total
    }

    // MARK: bitpos

    /// Position of the first bit equal to `bit` in `count` bytes at `p` (Redis's
    /// redisBitpos): whole words equal to all-zeros (looking for 1) or all-ones (looking
    /// for 0) are skipped. Not found: -1 for a 1, `count * 8` for a 0 (the string reads
    /// as zero-padded on the right).
    static func bitpos(_ p: UnsafeRawPointer, _ count: Int, bit: Bool) -> Int {
        let skipWord: UInt64 = bit ? 0 : ~0
        var i = 0
        while count - i >= 8 {
            let w = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            if w != skipWord { break }
            i += 8
        }
        let skipByte: UInt8 = bit ? 0 : 0xFF
        while i < count {
            let byte = p.load(fromByteOffset: i, as: UInt8.self)
            if byte != skipByte {
                let x = bit ? byte : ~byte
                return i * 8 + x.leadingZeroBitCount
            }
            i += 1
        }
        return bit ? -1 : count * 8
    }

    // MARK: bitfields

    /// The `bits`-wide (1...64) unsigned integer at bit `offset` of `p` (most significant
    /// bit first); the caller makes sure those bytes exist.
    static func getUnsigned(_ p: UnsafeRawPointer, _ offset: Int, _ bits: Int) -> UInt64 {
        var value: UInt64 = 0
        var off = offset
        for _ in 0..<bits {
            let byte = p.load(fromByteOffset: off >> 3, as: UInt8.self)
            let bit = 7 - (off & 7)
            value = (value << 1) | UInt64((byte >> UInt8(bit)) & 1)
            off += 1
        }
        return value
    }

    /// `getUnsigned` read as two's complement of `bits` bits.
    static func getSigned(_ p: UnsafeRawPointer, _ offset: Int, _ bits: Int) -> Int64 {
        var value = getUnsigned(p, offset, bits)
        if bits < 64 && value & (UInt64(1) << UInt64(bits - 1)) != 0 {
            value |= ~UInt64(0) << UInt64(bits)
        }
        return Int64(bitPattern: value)
    }

    /// Stores the low `bits` bits of `value` at bit `offset` of `p`.
    static func setUnsigned(_ p: UnsafeMutableRawPointer, _ offset: Int, _ bits: Int, _ value: UInt64) {
        var off = offset
        for j in 0..<bits {
            let bitval = UInt8(truncatingIfNeeded: (value >> UInt64(bits - 1 - j)) & 1)
            let bit = UInt8(7 - (off & 7))
            let q = p + (off >> 3)
            var byte = q.load(as: UInt8.self)
            byte &= ~(1 << bit)
            byte |= bitval << bit
            q.storeBytes(of: byte, as: UInt8.self)
            off += 1
        }
    }

    /// What to do when a value does not fit (BITFIELD's OVERFLOW).
    enum Overflow { case wrap, sat, fail }

    /// Whether `value + incr` overflows a `bits`-wide unsigned integer (Redis's
    /// checkUnsignedBitfieldOverflow): 0 when it fits, 1 above, -1 below; with the value
    /// to store instead for WRAP (wrapped) and SAT (the limit).
    static func checkUnsignedOverflow(_ value: UInt64, _ incr: Int64, _ bits: Int,
                                      _ ow: Overflow) -> (Int, UInt64) {
        let max: UInt64 = bits == 64 ? UInt64.max : (UInt64(1) << UInt64(bits)) &- 1
        // C computes these in int64_t from uint64_t (two's complement wrap).
        let maxincr = Int64(bitPattern: max &- value)
        let minincr = Int64(bitPattern: 0 &- value)
        @inline(__always) func wrapped() -> UInt64 {
            let mask = bits >= 64 ? 0 : ~UInt64(0) << UInt64(bits)
            return (value &+ UInt64(bitPattern: incr)) & ~mask
        }
        if value > max || (incr > 0 && incr > maxincr) {
            switch ow {
            case .wrap: return (1, wrapped())
            case .sat: return (1, max)
            case .fail: return (1, 0)
            }
        } else if incr < 0 && incr < minincr {
            switch ow {
            case .wrap: return (-1, wrapped())
            case .sat: return (-1, 0)
            case .fail: return (-1, 0)
            }
        }
        return (0, 0)
    }

    /// The signed twin (Redis's checkSignedBitfieldOverflow); WRAP wraps around towards
    /// the most negative value.
    static func checkSignedOverflow(_ value: Int64, _ incr: Int64, _ bits: Int,
                                    _ ow: Overflow) -> (Int, Int64) {
        let max: Int64 = bits == 64 ? Int64.max : (Int64(1) << Int64(bits - 1)) - 1
        let min: Int64 = -max - 1
        // Computed with wrap-around, as C does; used only when they cannot have wrapped.
        let maxincr = Int64(bitPattern: UInt64(bitPattern: max) &- UInt64(bitPattern: value))
        let minincr = min &- value
        @inline(__always) func wrapped() -> Int64 {
            var c = UInt64(bitPattern: value) &+ UInt64(bitPattern: incr)
            if bits < 64 {
                let msb = UInt64(1) << UInt64(bits - 1)
                let mask = ~UInt64(0) << UInt64(bits)
                if c & msb != 0 { c |= mask } else { c &= ~mask }
            }
            return Int64(bitPattern: c)
        }
        if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
            switch ow {
            case .wrap: return (1, wrapped())
            case .sat: return (1, max)
            case .fail: return (1, 0)
            }
        } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
            switch ow {
            case .wrap: return (-1, wrapped())
            case .sat: return (-1, min)
            case .fail: return (-1, 0)
            }
        }
        return (0, 0)
    }

    // MARK: BITOP

    enum Operation { case and, or, xor, not }

    /// `res[0..<maxlen]` = `op` over the sources, each read as zero-padded to `maxlen`
    /// (Redis's bitopCommand). Words while every source has 8 more bytes, then bytes.
    static func bitop(_ op: Operation, _ sources: [UnsafeRawBufferPointer], into res: UnsafeMutableRawPointer, count maxlen: Int) {
        var minlen = Int.max
        for s in sources { minlen = Swift.min(minlen, s.count) }
        var j = 0
        if op == .not {
            let s = sources[0]
            while maxlen - j >= 8 && s.count - j >= 8 {
                res.storeBytes(of: ~s.baseAddress!.loadUnaligned(fromByteOffset: j, as: UInt64.self),
                               toByteOffset: j, as: UInt64.self)
                j += 8
            }
            while j < maxlen {
                res.storeBytes(of: ~(j < s.count ? s[j] : 0), toByteOffset: j, as: UInt8.self)
                j += 1
            }
            return
        }
        while minlen - j >= 8 {
            var w = sources[0].baseAddress!.loadUnaligned(fromByteOffset: j, as: UInt64.self)
            for k in 1..<sources.count {
                let x = sources[k].baseAddress!.loadUnaligned(fromByteOffset: j, as: UInt64.self)
                switch op {
                case .and: w &= x
                case .or: w |= x
                case .xor: w ^= x
                case .not: break
                }
            }
            res.storeBytes(of: w, toByteOffset: j, as: UInt64.self)
            j += 8
        }
        while j < maxlen {
            var b: UInt8 = j < sources[0].count ? sources[0][j] : 0
            for k in 1..<sources.count {
                let x: UInt8 = j < sources[k].count ? sources[k][j] : 0
                switch op {
                case .and: b &= x
                case .or: b |= x
                case .xor: b ^= x
                case .not: break
                }
            }
            res.storeBytes(of: b, toByteOffset: j, as: UInt8.self)
            j += 1
        }
    }
}
