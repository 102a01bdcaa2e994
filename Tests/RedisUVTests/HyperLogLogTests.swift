import XCTest
@testable import RedisUV

/// Types/HyperLogLog.swift on its own: the hash, register packing, sparse/dense agreement,
/// the sparse code's edits and the corrupted cases (no server involved).
final class HyperLogLogTests: XCTestCase {
    typealias HLL = HyperLogLog

    private func hash(_ s: [UInt8], seed: UInt32 = HLL.hashSeed) -> UInt64 {
        s.withUnsafeBytes { HLL.murmurHash64A($0, seed: seed) }
    }

    /// Values of Redis's MurmurHash64A (compiled from hyperloglog.c) for every tail length.
    func testMurmurHash64AKnownVectors() {
        let vectors: [(String, UInt64, UInt64)] = [
            ("", 0xd8df_ea65_85bc_9732, 0x0000_0000_0000_0000),
            ("a", 0x53d2_470a_9b43_b1a7, 0x0717_17d2_d36b_6b11),
            ("ab", 0x0eae_d676_4371_42cf, 0x62be_85b2_fe53_d1f8),
            ("abc", 0x77ec_90ae_b374_e502, 0x9cc9_c334_98a9_5efb),
            ("hello", 0x0f65_6f01_eecf_e400, 0x1e68_d17c_457b_f117),
            ("1234567", 0x8556_3db1_6363_2857, 0xae9e_bd20_9527_9402),
            ("12345678", 0x95eb_b863_8913_2953, 0x758f_67d1_62b2_d202),
            ("123456789", 0x2175_32cb_09f2_a44d, 0x4977_4902_5167_4330),
            ("foobar-foobar-foo", 0x02da_2334_b3fe_7bb8, 0xaf48_7a6d_ddc2_5eb5),
        ]
        for (s, withSeed, zeroSeed) in vectors {
            XCTAssertEqual(hash(Array(s.utf8)), withSeed, s)
            XCTAssertEqual(hash(Array(s.utf8), seed: 0), zeroSeed, s)
        }
        XCTAssertEqual(hash([0, 0xFF, 0x80]), 0x0b3a_88b2_d350_bf7f)
    }

    func testPatLenSplitsTheHash() {
        let (index, count) = [UInt8]("a".utf8).withUnsafeBytes { HLL.patLen($0) }
        let h: UInt64 = 0x53d2_470a_9b43_b1a7
        XCTAssertEqual(index, Int(h & 16383))
        XCTAssertEqual(Int(count), ((h >> 14) | (1 << 50)).trailingZeroBitCount + 1)
    }

    func testDenseRegistersRoundTripWithoutTouchingNeighbours() {
        var regs = [UInt8](repeating: 0, count: HLL.denseRegistersSize)
        var expected = [UInt8](repeating: 0, count: HLL.registerCount)
        var rng = SeededRandom(state: 71)
        regs.withUnsafeMutableBufferPointer { r in
            for round in 0..<3 {
                for i in 0..<HLL.registerCount {
                    let v = round == 2 ? UInt8(63) : UInt8.random(in: 0...63, using: &rng)
                    expected[i] = v
                    HLL.denseSet(r.baseAddress!, i, v)
                }
                for i in 0..<HLL.registerCount { XCTAssertEqual(HLL.denseGet(r.baseAddress!, i), expected[i]) }
            }
        }
        XCTAssertTrue(regs.allSatisfy { $0 == 0xFF })
        // Register 0 is the low 6 bits of byte 0, register 1 the next 6 (LSB first).
        var two = [UInt8](repeating: 0, count: 3)
        two.withUnsafeMutableBufferPointer { HLL.denseSet($0.baseAddress!, 1, 0b101011) }
        XCTAssertEqual(two, [0b1100_0000, 0b0000_1010, 0])
    }

    func testEmptySparseIsOneXZero() {
        XCTAssertEqual(HLL.emptySparse, Array("HYLL".utf8) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x7F, 0xFF])
        XCTAssertEqual(HLLBuffer().cardinality(), 0)
        XCTAssertEqual(HLL.emptySparse.withUnsafeBytes { HLL.decode($0, terminator: 0) }, Array("Z:16384".utf8))
    }

    /// The worked example of hyperloglog.c's comment: registers 1000, 1020, 1021 = 2, 3, 3.
    func testSparseSetSplitsAndMergesOpcodes() {
        var b = HLLBuffer()
        XCTAssertEqual(b.set(index: 1000, value: 2, sparseMaxBytes: 3000), 1)
        XCTAssertEqual(b.set(index: 1020, value: 3, sparseMaxBytes: 3000), 1)
        XCTAssertEqual(b.set(index: 1021, value: 3, sparseMaxBytes: 3000), 1)
        XCTAssertEqual(b.set(index: 1021, value: 2, sparseMaxBytes: 3000), 0)
        let text = b.bytes.withUnsafeBytes { HLL.decode($0, terminator: 0) }
        XCTAssertEqual(String(decoding: text, as: UTF8.self), "Z:1000 v:2,1 z:19 v:3,2 Z:15362")
        XCTAssertEqual(Array(b.bytes[16...]), [0x43, 0xE7, 0x84, 0x12, 0x89, 0x7C, 0x01])
        XCTAssertEqual(b.bytes[15] & 0x80, 0x80, "cache invalidated")
        XCTAssertEqual(b.register(1000), 2)
        XCTAssertEqual(b.register(1021), 3)
        XCTAssertEqual(b.register(1022), 0)
    }

    /// The same elements added to a sparse HLL (promoted at hll-sparse-max-bytes) and to a
    /// dense one give the same registers and count at every size.
    func testSparseAndDenseAgree() {
        for maxBytes in [0, 200, 3000, 20000] {
            var sparse = HLLBuffer()
            var dense = HLLBuffer()
            XCTAssertTrue(dense.toDense())
            var rng = SeededRandom(state: UInt64(maxBytes) + 1)
            var n = 0
            for target in [1, 10, 100, 1000, 5000, 20000] {
                while n < target {
                    let ele = Array(String(rng.next()).utf8)
                    let a = sparse.add(ele, sparseMaxBytes: maxBytes)
                    let d = dense.add(ele, sparseMaxBytes: maxBytes)
                    XCTAssertEqual(a, d, "element \(n)")
                    n += 1
                }
                XCTAssertEqual(sparse.cardinality(), dense.cardinality(), "n=\(n) max=\(maxBytes)")
                var converted = sparse
                XCTAssertTrue(converted.toDense())
                XCTAssertEqual(Array(converted.bytes[16...]), Array(dense.bytes[16...]), "registers n=\(n)")
                if sparse.isSparse { XCTAssertLessThanOrEqual(sparse.count, Swift.max(maxBytes, 18)) }
            }
            if maxBytes == 0 { XCTAssertFalse(sparse.isSparse) }
            if maxBytes == 20000 { XCTAssertTrue(sparse.isSparse) }
            let card = Int(dense.cardinality()!)
            XCTAssertLessThan(abs(card - 20000), 20000 * 3 / 100)
        }
    }

    /// A value above 32 cannot be a VAL opcode: the HLL turns dense.
    func testLargeRegisterPromotes() {
        var b = HLLBuffer()
        XCTAssertEqual(b.set(index: 5, value: 33, sparseMaxBytes: 3000), 1)
        XCTAssertFalse(b.isSparse)
        XCTAssertEqual(b.count, HLL.denseSize)
        XCTAssertEqual(b.register(5), 33)
    }

    func testEstimatorEdges() {
        var h = [Int](repeating: 0, count: 64)
        h[0] = HLL.registerCount
        XCTAssertEqual(HLL.estimate(h), 0)
        // Every register above the largest pattern a 64-bit hash gives: z = 0, infinite,
        // llroundl's LLONG_MIN as Redis stores it.
        h[0] = 0
        h[63] = HLL.registerCount
        XCTAssertEqual(HLL.estimate(h), 0x8000_0000_0000_0000)
        h = [Int](repeating: 0, count: 64)
        h[0] = HLL.registerCount - 1
        h[1] = 1
        XCTAssertEqual(HLL.estimate(h), 1)
    }

    func testHeaderValidation() {
        XCTAssertTrue(HLL.emptySparse.withUnsafeBytes { HLL.isValid($0) })
        var bad = HLL.emptySparse
        bad[3] = UInt8(ascii: "X")
        XCTAssertFalse(bad.withUnsafeBytes { HLL.isValid($0) })
        bad = HLL.emptySparse
        bad[4] = 2
        XCTAssertFalse(bad.withUnsafeBytes { HLL.isValid($0) })
        bad = HLL.emptySparse
        bad[4] = 0  // dense but 18 bytes
        XCTAssertFalse(bad.withUnsafeBytes { HLL.isValid($0) })
        XCTAssertFalse(Array(HLL.emptySparse[0..<15]).withUnsafeBytes { HLL.isValid($0) })
    }

    /// Corrupted sparse codes: too few / too many registers, a VAL past the end, a header
    /// alone. Every reader and the writer report it; none reads outside the bytes.
    func testCorruptedSparseCodes() {
        let header = Array(HLL.emptySparse[0..<16])
        let cases: [[UInt8]] = [header + [0x4E, 0x7B, 0x84, 0x58, 0x26, 0x80, 0x43, 0x9F, 0x80, 0x55, 0xB9, 0x80, 0x55, 0xB9],
                                header + [0x7F, 0xFE], header + [0x7F, 0xFF, 0x00], header + [0x7F, 0xFE, 0x83], header,
                                header + [0x7F]]
        for payload in cases {
            var b = HLLBuffer(payload)
            XCTAssertNil(b.cardinality(), "\(payload[16...])")
            var max = [UInt8](repeating: 0, count: HLL.registerCount)
            XCTAssertFalse(max.withUnsafeMutableBufferPointer { m in
                payload.withUnsafeBytes { HLL.merge(into: m.baseAddress!, $0, terminator: 0) }
            })
            XCTAssertNil(payload.withUnsafeBytes { HLL.sparseToDense($0, terminator: 0) })
            var copy = b
            XCTAssertFalse(copy.toDense())
            // Some writes still succeed on a corrupted code (Redis edits what it finds).
            for i in stride(from: 0, to: HLL.registerCount, by: 997) { _ = b.set(index: i, value: 3, sparseMaxBytes: 3000) }
            var headerOnly = HLLBuffer(header)
            XCTAssertEqual(headerOnly.set(index: 0, value: 1, sparseMaxBytes: 3000), -1)
        }
    }

    /// An XZERO cut after its first byte reads its second byte from the terminator, as an
    /// sds does; splitting it leaves the sequence's last byte there.
    func testTruncatedXZeroUsesTheTerminator() {
        let header = Array(HLL.emptySparse[0..<16])
        // 0x7F then terminator 0xFF: XZERO:16384, a valid empty HLL.
        XCTAssertEqual(HLLBuffer(header + [0x7F], terminator: 0xFF).cardinality(), 0)
        XCTAssertNil(HLLBuffer(header + [0x7F], terminator: 0).cardinality())
        var b = HLLBuffer(header + [0x7F], terminator: 0xFF)
        XCTAssertEqual(b.set(index: 8000, value: 1, sparseMaxBytes: 3000), 1)
        // XZERO:8000 VAL XZERO:8383 = 5 bytes replacing 2 of which 1 existed: 4 in the string,
        // the last one in the terminator.
        XCTAssertEqual(b.count, 16 + 4)
        XCTAssertEqual(b.terminator, UInt8((8383 - 1) & 0xFF))
        XCTAssertEqual(b.cardinality(), 1)
    }
}
