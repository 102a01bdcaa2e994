/// Seeded 64-bit hash for key bytes (wyhash-style multiply-mix, 8 bytes per step).
/// Hashing `[UInt8]` through Hashable feeds the hasher byte by byte (measured ~18% of a
/// naive server's time); this reads words and never allocates.
@inline(__always)
func mixMultiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let r = a.multipliedFullWidth(by: b)
    return r.high ^ r.low
}

@inline(__always)
func hashKeyBytes(_ p: UnsafeRawPointer?, _ n: Int, seed: UInt64) -> UInt64 {
    var h = seed ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
    guard let p else { return mixMultiply(h, 0xe703_7ed1_a0b4_28db) }
    var i = 0
    while i &+ 16 <= n {
        let a = p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
        let b = p.loadUnaligned(fromByteOffset: i &+ 8, as: UInt64.self)
        h = mixMultiply(a ^ 0xa076_1d64_78bd_642f ^ h, b ^ 0xe703_7ed1_a0b4_28db)
        i &+= 16
    }
    if i &+ 8 <= n {
        h = mixMultiply(p.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ 0x8ebc_6af0_9c88_c6e3, h ^ 0xa076_1d64_78bd_642f)
        i &+= 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
        tail |= UInt64(p.load(fromByteOffset: i, as: UInt8.self)) << shift
        shift &+= 8
        i &+= 1
    }
    return mixMultiply(h ^ tail ^ 0x5899_65cc_7537_4cc3, UInt64(truncatingIfNeeded: n) ^ 0x1d8e_4e27_c47d_124f)
}
