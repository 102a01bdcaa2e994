import XCTest
@testable import RedisUV

/// Redis's number rules (util.c: string2ll, string2ld, ld2string, string2d). Expected values
/// were checked against redis-server 7.0.15 (INCR, INCRBYFLOAT replies).
final class NumberTests: XCTestCase {
    private func ll(_ s: String) -> Int? { Array(s.utf8).withUnsafeBytes { parseStrictInt($0) } }
    private func ld(_ s: String) -> Float80? { parseLongDouble(Array(s.utf8)) }
    private func ld(_ b: [UInt8]) -> Float80? { parseLongDouble(b) }
    private func d(_ s: String) -> Double? { parseDouble(Array(s.utf8)) }
    private func human(_ v: Float80) -> String { String(decoding: formatLongDouble(v, .human), as: UTF8.self) }

    /// What INCRBYFLOAT replies for `start` + `incr` (both parsed as Redis does), or nil for an error.
    private func incrbyfloat(_ start: String, _ incr: String) -> String? {
        guard let a = ld(start), let b = ld(incr) else { return nil }
        let v = a + b
        if v.isNaN || v.isInfinite { return nil }
        return human(v)
    }

    // MARK: string2ll

    func testStrictIntegers() {
        XCTAssertEqual(ll("0"), 0)
        XCTAssertEqual(ll("-1"), -1)
        XCTAssertEqual(ll("123"), 123)
        XCTAssertEqual(ll("9223372036854775807"), Int.max)
        XCTAssertEqual(ll("-9223372036854775808"), Int.min)
        for bad in ["", "-", "+1", " 1", "1 ", "01", "-0", "00", "1.0", "0x10", "1e3",
                    "9223372036854775808", "-9223372036854775809", "123456789012345678901", "1\u{0}"] {
            XCTAssertNil(ll(bad), bad)
        }
    }

    // MARK: string2ld

    func testLongDoubleAccepted() {
        XCTAssertEqual(ld("1"), 1)
        XCTAssertEqual(ld("-1.5"), -1.5)
        XCTAssertEqual(ld("+2"), 2)
        XCTAssertEqual(ld("5.0e3"), 5000)
        XCTAssertEqual(ld("5E3"), 5000)
        XCTAssertEqual(ld(".5"), 0.5)
        XCTAssertEqual(ld("5."), 5)
        XCTAssertEqual(ld("0x10"), 16, "strtold reads hex")
        XCTAssertEqual(ld("0X1p4"), 16)
        XCTAssertEqual(ld("000001.5000"), 1.5, "leading zeros are fine for floats")
        XCTAssertEqual(ld("1e400"), 1e400 as Float80, "beyond double, within long double")
        XCTAssertEqual(ld("inf"), .infinity)
        XCTAssertEqual(ld("-Infinity"), -.infinity)
        let negZero = ld("-0")
        XCTAssertEqual(negZero, 0)
        XCTAssertEqual(negZero?.sign, .minus)
        // Underflow to a denormal is accepted (ERANGE, but not zero).
        XCTAssertNotNil(ld("1e-4940"))
        XCTAssertNotEqual(ld("1e-4940"), 0)
        // 5119 bytes is the longest text accepted.
        XCTAssertEqual(ld(String(repeating: "0", count: 5118) + "1"), 1)
    }

    func testLongDoubleRejected() {
        for bad in ["", " 1", "1 ", "\t1", "\n1", "1\n", "abc", "1,5", "1.5.5", "1e", "e1", "--1", "0x",
                    "1f", "nan", "NaN", "-nan", "1e5000", "-1e5000", "1e-5000"] {
            XCTAssertNil(ld(bad), bad)
        }
        XCTAssertNil(ld([0x31, 0x00]), "an embedded NUL ends strtold early")
        XCTAssertNil(ld(Array("1.5\u{0}abc".utf8)))
        XCTAssertNil(ld(String(repeating: "0", count: 5119) + "1"), "5120 bytes is too long")
    }

    // MARK: ld2string (human-friendly) and INCRBYFLOAT results

    func testHumanFormat() {
        XCTAssertEqual(human(0), "0")
        XCTAssertEqual(human(-0.0), "0", "negative zero prints as 0")
        XCTAssertEqual(human(3), "3")
        XCTAssertEqual(human(-2.5), "-2.5")
        XCTAssertEqual(human(0.5), "0.5")
        XCTAssertEqual(human(1e20), "100000000000000000000")
        XCTAssertEqual(human(-0.000000000000000001), "0", "rounds to -0.000..., then -0, then 0")
        XCTAssertEqual(human(.infinity), "inf")
        XCTAssertEqual(human(-.infinity), "-inf")
        XCTAssertEqual(human(.nan), "nan")
        XCTAssertEqual(String(decoding: formatLongDouble(1.5, .auto), as: UTF8.self), "1.5")
        XCTAssertEqual(String(decoding: formatLongDouble(1e20, .auto), as: UTF8.self), "1e+20")
    }

    func testIncrbyfloatResults() {
        XCTAssertEqual(incrbyfloat("10.5", "0.1"), "10.6")
        XCTAssertEqual(incrbyfloat("10.6", "-0.1"), "10.5")
        XCTAssertEqual(incrbyfloat("0", "5.0e3"), "5000")
        XCTAssertEqual(incrbyfloat("10.6", "5.0e3"), "5010.60000000000000009")
        XCTAssertEqual(incrbyfloat("0.1", "0.2"), "0.3")
        XCTAssertEqual(incrbyfloat("1.1", "2.2"), "3.3")
        XCTAssertEqual(incrbyfloat("100.1", "-100"), "0.1")
        XCTAssertEqual(incrbyfloat("3.0", "0"), "3")
        XCTAssertEqual(incrbyfloat("-0", "0"), "0")
        XCTAssertEqual(incrbyfloat("0", "-0.0"), "0")
        XCTAssertEqual(incrbyfloat("37", "1e-17"), "37.00000000000000001")
        XCTAssertEqual(incrbyfloat("1.23456789012345678901234567890", "0"), "1.23456789012345679")
        XCTAssertEqual(incrbyfloat("9223372036854775807", "1"), "9223372036854775808")
        XCTAssertEqual(incrbyfloat("-9223372036854775808", "0"), "-9223372036854775808")
        XCTAssertEqual(incrbyfloat("123456789012345678", "0.1"), "123456789012345678.1015625")
        XCTAssertEqual(incrbyfloat("0", "12345678901234567890123"), "12345678901234567889920")
        XCTAssertEqual(incrbyfloat("0", "0x10"), "16")
        XCTAssertEqual(incrbyfloat("0", "1e-4940"), "0")
        // 1e308 * 10 overflows a double but not a long double: Redis prints all 309 digits.
        let big = incrbyfloat("1e308", "1e308")
        XCTAssertEqual(big?.count, 309)
        XCTAssertEqual(big?.hasPrefix("1999999999999999999933717593116912913211"), true)
        XCTAssertEqual(incrbyfloat("0", "1e4000")?.count, 4000)
        // Errors: unparsable operands, and results that are NaN or infinite.
        XCTAssertNil(incrbyfloat("  1", "1"))
        XCTAssertNil(incrbyfloat("1 ", "1"))
        XCTAssertNil(incrbyfloat("1", "nan"))
        XCTAssertNil(incrbyfloat("1", "inf"))
        XCTAssertNil(incrbyfloat("inf", "-inf"))
        XCTAssertNil(incrbyfloat("1e4932", "1.18e4932"))
    }

    func testLargestFloat80FitsTheBuffer() {
        let text = formatLongDouble(.greatestFiniteMagnitude, .human)
        XCTAssertEqual(text.count, 4933)
        XCTAssertLessThan(text.count, maxLongDoubleChars)
        XCTAssertEqual(parseLongDouble(text), .greatestFiniteMagnitude, "the stored text reads back")
        XCTAssertEqual(formatLongDouble(-.greatestFiniteMagnitude, .human).first, UInt8(ascii: "-"))
    }

    // MARK: string2d

    func testDoubles() {
        XCTAssertEqual(d("1.5"), 1.5)
        XCTAssertEqual(d("-3"), -3)
        XCTAssertEqual(d("1e3"), 1000)
        XCTAssertEqual(d("0x10"), 16)
        XCTAssertEqual(d("007"), 7)
        XCTAssertEqual(d("inf"), .infinity)
        XCTAssertEqual(d("-inf"), -.infinity)
        XCTAssertEqual(d("+Infinity"), .infinity)
        XCTAssertEqual(d("-0")?.sign, .minus)
        let denormal = d("1e-310")
        XCTAssertEqual(denormal?.isSubnormal, true, "a denormal is accepted (ERANGE, but not zero)")
        for bad in ["", " 1", "1 ", "\t1", "abc", "1.5x", "nan", "-nan", "1e309", "-1e309", "1e-400", "1e400"] {
            XCTAssertNil(d(bad), bad)
        }
        XCTAssertNil(parseDouble([0x31, 0x00, 0x32]), "an embedded NUL ends strtod early")
    }

    /// The strtod-free path for short decimals must give strtod's exact bits, or step aside.
    func testPlainDecimalFastPathMatchesStrtod() {
        func strtodBits(_ s: String) -> UInt64 { strtod(s, nil).bitPattern }
        var rng = SystemRandomNumberGenerator()
        var samples = ["0", "-0", "0.0", "-0.0", "1.", "1.5", "007", "123456789012345",
                       "0.000000000000001", "999999999999999", "-99999999999999.9", "0.1", "0.3",
                       "2.675", "1.0000000000000002", "9007199254740993", "1e5", ".5", "-", "+1"]
        for _ in 0..<20_000 {
            let intPart = String(UInt64.random(in: 0..<1_000_000_000, using: &rng) >> UInt64.random(in: 0..<40, using: &rng))
            let fracDigits = Int.random(in: 0..<12, using: &rng)
            var s = Bool.random(using: &rng) ? "-" : ""
            s += intPart
            if fracDigits > 0 {
                s += "." + String((0..<fracDigits).map { _ in Character(String(Int.random(in: 0..<10, using: &rng))) })
            }
            samples.append(s)
        }
        var fast = 0
        for s in samples {
            let bytes = Array(s.utf8)
            if let v = bytes.withUnsafeBytes({ parsePlainDecimal($0) }) {
                fast += 1
                XCTAssertEqual(v.bitPattern, strtodBits(s), s)
            }
            if let v = d(s) { XCTAssertEqual(v.bitPattern, strtodBits(s), s) }
        }
        XCTAssertGreaterThan(fast, 15_000, "the fast path should take most short decimals")
    }
}
