import XCTest
@testable import RedisUV

/// The pure bit helpers of the bitmap commands (Support/BitOps.swift) against bit-by-bit
/// and wide-integer references.
final class BitOpsTests: XCTestCase {
    private var rng = SeededRandom(state: 20_261_207)

    private func randomBytes(_ n: Int) -> [UInt8] {
        // Long runs of 0x00 / 0xFF with a few other bytes: the word paths and their ends.
        let fill: UInt8 = Bool.random(using: &rng) ? 0 : 0xFF
        var v = [UInt8](repeating: fill, count: n)
        for _ in 0..<Int.random(in: 0...3, using: &rng) where n > 0 {
            v[Int.random(in: 0..<n, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
        }
        if Bool.random(using: &rng) { for i in 0..<n { v[i] = UInt8.random(in: 0...255, using: &rng) } }
        return v
    }

    private func bit(_ v: [UInt8], _ i: Int) -> Bool { v[i >> 3] & (0x80 >> UInt8(i & 7)) != 0 }

    func testPopcountMatchesBitByBitCount() {
        for _ in 0..<400 {
            let v = randomBytes(Int.random(in: 0...300, using: &rng))
            for start in [0, 1, 3, 7] where start <= v.count {
                let expected = v[start...].reduce(0) { $0 + $1.nonzeroBitCount }
                let got = v.withUnsafeBytes { BitOps.popcount($0.baseAddress! + start, v.count - start) }
                XCTAssertEqual(got, expected, "length \(v.count) from \(start)")
            }
        }
        // One fold block and more (960 bytes), all ones: lane sums at their largest.
        let ones = [UInt8](repeating: 0xFF, count: 5000)
        XCTAssertEqual(ones.withUnsafeBytes { BitOps.popcount($0.baseAddress!, 5000) }, 40_000)
    }

    func testBitposMatchesFirstBitSearch() {
        for _ in 0..<600 {
            let v = randomBytes(Int.random(in: 1...100, using: &rng))
            for want in [false, true] {
                var expected = want ? -1 : v.count * 8
                for i in 0..<(v.count * 8) where bit(v, i) == want {
                    expected = i
                    break
                }
                XCTAssertEqual(v.withUnsafeBytes { BitOps.bitpos($0.baseAddress!, v.count, bit: want) }, expected)
            }
        }
    }

    func testBitfieldGetAndSetRoundTrip() {
        for _ in 0..<2000 {
            var v = randomBytes(20)
            let bits = Int.random(in: 1...64, using: &rng)
            let offset = Int.random(in: 0...(160 - bits), using: &rng)
            // Get: the bits read most significant first.
            var expected: UInt64 = 0
            for i in 0..<bits { expected = expected << 1 | (bit(v, offset + i) ? 1 : 0) }
            let got = v.withUnsafeBytes { BitOps.getUnsigned($0.baseAddress!, offset, bits) }
            XCTAssertEqual(got, expected)
            let signed = v.withUnsafeBytes { BitOps.getSigned($0.baseAddress!, offset, bits) }
            let shift = UInt64(64 - bits)
            XCTAssertEqual(signed, Int64(bitPattern: expected << shift) >> Int64(shift))
            // Set: only those bits change.
            let before = v
            let value = UInt64.random(in: 0...UInt64.max, using: &rng)
            v.withUnsafeMutableBytes { BitOps.setUnsigned($0.baseAddress!, offset, bits, value) }
            let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
            XCTAssertEqual(v.withUnsafeBytes { BitOps.getUnsigned($0.baseAddress!, offset, bits) }, value & mask)
            for i in 0..<160 where i < offset || i >= offset + bits {
                XCTAssertEqual(bit(v, i), bit(before, i))
            }
        }
    }

    private func randomInt64() -> Int64 {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return [Int64.min, Int64.max, 0, 1, -1, Int64.min + 1, Int64.max - 1].randomElement(using: &rng)!
        case 1: return Int64.random(in: -300...300, using: &rng)
        default: return Int64.random(in: .min ... .max, using: &rng) >> Int64.random(in: 0...63, using: &rng)
        }
    }

    func testUnsignedOverflowMatchesWideArithmetic() {
        for _ in 0..<20_000 {
            let bits = Int.random(in: 1...63, using: &rng)
            let max = (Int128(1) << bits) - 1
            let value = UInt64(truncatingIfNeeded: randomInt64()) & UInt64(max)
            let incr = randomInt64()
            let sum = Int128(value) + Int128(incr)
            let expectedDir = sum > max ? 1 : (sum < 0 ? -1 : 0)
            let wrapped = UInt64(sum & max)
            let (dir, wrap) = BitOps.checkUnsignedOverflow(value, incr, bits, .wrap)
            XCTAssertEqual(dir, expectedDir, "u\(bits) \(value) + \(incr)")
            if dir != 0 { XCTAssertEqual(wrap, wrapped, "u\(bits) \(value) + \(incr) wrapped") }
            let (_, sat) = BitOps.checkUnsignedOverflow(value, incr, bits, .sat)
            if dir != 0 { XCTAssertEqual(sat, dir > 0 ? UInt64(max) : 0) }
        }
    }

    func testSignedOverflowMatchesWideArithmetic() {
        for _ in 0..<20_000 {
            let bits = Int.random(in: 1...64, using: &rng)
            let max = (Int128(1) << (bits - 1)) - 1, min = -max - 1
            let shift = Int64(64 - bits)
            let value = (randomInt64() << shift) >> shift  // in range for the width
            let incr = randomInt64()
            let sum = Int128(value) + Int128(incr)
            let expectedDir = sum > max ? 1 : (sum < min ? -1 : 0)
            let span = Int128(1) << bits
            var w = (sum - min) % span
            if w < 0 { w += span }
            let wrapped = Int64(w + min)
            let (dir, wrap) = BitOps.checkSignedOverflow(value, incr, bits, .wrap)
            XCTAssertEqual(dir, expectedDir, "i\(bits) \(value) + \(incr)")
            if dir != 0 { XCTAssertEqual(wrap, wrapped, "i\(bits) \(value) + \(incr) wrapped") }
            let (_, sat) = BitOps.checkSignedOverflow(value, incr, bits, .sat)
            if dir != 0 { XCTAssertEqual(sat, Int64(dir > 0 ? max : min)) }
        }
    }

    func testBitopMatchesBytewiseOperations() {
        for _ in 0..<500 {
            let n = Int.random(in: 1...4, using: &rng)
            let sources = (0..<n).map { _ in randomBytes(Int.random(in: 0...40, using: &rng)) }
            let maxlen = sources.map(\.count).max()!
            guard maxlen > 0 else { continue }
            let ops: [BitOps.Operation] = n == 1 ? [.and, .or, .xor, .not] : [.and, .or, .xor]
            for op in ops {
                var expected = [UInt8](repeating: 0, count: maxlen)
                for j in 0..<maxlen {
                    var acc = j < sources[0].count ? sources[0][j] : 0
                    if op == .not { acc = ~acc }
                    for s in sources.dropFirst() {
                        let x = j < s.count ? s[j] : 0
                        switch op {
                        case .and: acc &= x
                        case .or: acc |= x
                        case .xor: acc ^= x
                        case .not: break
                        }
                    }
                    expected[j] = acc
                }
                var got = [UInt8](repeating: 0xAA, count: maxlen)
                let buffers = sources.map { s -> UnsafeMutableRawBufferPointer in
                    let p = UnsafeMutableRawBufferPointer.allocate(byteCount: s.count, alignment: 1)
                    p.copyBytes(from: s)
                    return p
                }
                defer { buffers.forEach { $0.deallocate() } }
                got.withUnsafeMutableBytes { r in
                    BitOps.bitop(op, buffers.map { UnsafeRawBufferPointer($0) }, into: r.baseAddress!, count: maxlen)
                }
                XCTAssertEqual(got, expected, "\(op) of \(sources)")
            }
        }
    }
}
