#if canImport(Glibc)
import Glibc
#endif

// Number parsing and formatting with Redis's exact rules (Redis's util.c). Integers use
// `parseStrictInt` (Redis's string2ll, in Protocol/RequestParser.swift).
//
// Redis leans on libc (strtold, strtod, snprintf) for floating point; so do we, because
// matching glibc's rounding and accepted syntax ("0x10", "1e5", "inf", "infinity") by hand
// would be a second implementation to get wrong. `long double` is Float80 on x86_64 Linux.

/// Redis's MAX_LONG_DOUBLE_CHARS: longest text string2ld accepts (exclusive) and the room
/// ld2string has. The largest Float80 printed with `%.17Lf` (~4950 bytes) fits.
let maxLongDoubleChars = 5 * 1024

/// C's isspace in the "C" locale, as Redis's string2ld/string2d test the first byte.
@inline(__always) private func isCSpace(_ c: UInt8) -> Bool {
    c == 32 || (c >= 9 && c <= 13)
}

/// Runs `body` on a NUL-terminated copy of `s` (strtod/strtold need one; Redis's sds always
/// has it).
@inline(__always)
private func withCString<R>(_ s: UnsafeRawBufferPointer, _ body: (UnsafeMutablePointer<CChar>) -> R) -> R {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: s.count + 1) { buf in
        let p = buf.baseAddress!
        if s.count > 0 { UnsafeMutableRawPointer(p).copyMemory(from: s.baseAddress!, byteCount: s.count) }
        p[s.count] = 0
        return body(p)
    }
}

/// Redis's string2ld: the whole text must be a long double for strtold. Rejected: empty or
/// too long text, a leading space, trailing bytes (an embedded NUL included), overflow to
/// ±inf, underflow to zero, and NaN. Accepted as strtold does: "inf", "-infinity", hex
/// ("0x10"), exponents, leading zeros, "+1", "-0".
func parseLongDouble(_ s: UnsafeRawBufferPointer) -> Float80? {
    let n = s.count
    if n == 0 || n >= maxLongDoubleChars { return nil }
    return withCString(s) { p -> Float80? in
        var end: UnsafeMutablePointer<CChar>?
        errno = 0
        let value = strtold(p, &end)
        let rangeError = errno == ERANGE
        if isCSpace(UInt8(bitPattern: p[0])) || end.map({ $0 - p }) != n { return nil }
        if rangeError && (value.isInfinite || value == 0) { return nil }
        if value.isNaN { return nil }
        return value
    }
}

func parseLongDouble(_ bytes: [UInt8]) -> Float80? {
    bytes.withUnsafeBytes { parseLongDouble($0) }
}

/// Redis's string2d: the same rules as string2ld, for a double with strtod (no length limit).
func parseDouble(_ s: UnsafeRawBufferPointer) -> Double? {
    let n = s.count
    if n == 0 { return nil }
    if let v = parsePlainDecimal(s) { return v }
    return withCString(s) { p -> Double? in
        var end: UnsafeMutablePointer<CChar>?
        errno = 0
        let value = strtod(p, &end)
        let rangeError = errno == ERANGE
        if isCSpace(UInt8(bitPattern: p[0])) || end.map({ $0 - p }) != n { return nil }
        if rangeError && (value.isInfinite || value == 0) { return nil }
        if value.isNaN { return nil }
        return value
    }
}

/// strtod's answer for the common short form `-?D+(.D*)?` with at most 15 digits, without
/// strtod: the digits as an integer m (< 10^15 < 2^53, exact) over 10^k (exact for k <= 22)
/// (10^k for k <= 22 is an exact double, and every product on the way is exact too)
/// is one correctly rounded IEEE division, so it equals the correctly rounded decimal that
/// strtod returns (Clinger's fast path). nil for anything else (strtod decides).
@inline(__always)
func parsePlainDecimal(_ s: UnsafeRawBufferPointer) -> Double? {
    let n = s.count
    if n == 0 || n > 17 { return nil }
    var i = 0
    let negative = s[0] == UInt8(ascii: "-")
    if negative { i = 1 }
    var m: UInt64 = 0
    var digits = 0
    var fraction = 0
    var seenPoint = false
    var intDigits = 0
    while i < n {
        let c = s[i]
        if c >= 48 && c <= 57 {
            m = m &* 10 &+ UInt64(c &- 48)
            digits += 1
            if seenPoint { fraction += 1 } else { intDigits += 1 }
        } else if c == UInt8(ascii: ".") && !seenPoint {
            seenPoint = true
        } else {
            return nil
        }
        i += 1
    }
    if intDigits == 0 || digits > 15 { return nil }
    var scale = 1.0
    for _ in 0..<fraction { scale *= 10 }
    let v = Double(m) / scale
    return negative ? -v : v
}

func parseDouble(_ bytes: [UInt8]) -> Double? {
    bytes.withUnsafeBytes { parseDouble($0) }
}

/// Redis's ld2string modes.
enum LongDoubleFormat {
    /// `%.17Lg` (LD_STR_AUTO).
    case auto
    /// `%.17Lf` with trailing zeros (and a bare '.') removed and "-0" turned into "0"
    /// (LD_STR_HUMAN): what INCRBYFLOAT stores, so 10.5 + 0.1 reads "10.6".
    case human
}

/// Redis's ld2string: the text of `value`. Infinity and NaN are spelled "inf", "-inf",
/// "nan" whatever libc would say.
func formatLongDouble(_ value: Float80, _ mode: LongDoubleFormat = .human) -> [UInt8] {
    if value.isInfinite { return value > 0 ? Array("inf".utf8) : Array("-inf".utf8) }
    if value.isNaN { return Array("nan".utf8) }
    func printf(_ buf: inout [UInt8]) -> Int {
        buf.withUnsafeMutableBufferPointer { b -> Int in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { p in
                Int(withVaList([value]) { vsnprintf(p, b.count, mode == .human ? "%.17Lf" : "%.17Lg", $0) })
            }
        }
    }
    // Most results are short; only huge magnitudes need the full MAX_LONG_DOUBLE_CHARS.
    var buf = [UInt8](repeating: 0, count: 64)
    var len = printf(&buf)
    if len >= buf.count {
        buf = [UInt8](repeating: 0, count: maxLongDoubleChars)
        len = printf(&buf)
    }
    // Redis gives up (empty text) when the output did not fit; cannot happen for Float80.
    if len < 0 || len + 1 > maxLongDoubleChars { return [] }
    if mode == .human {
        if buf[0..<len].contains(UInt8(ascii: ".")) {
            while buf[len - 1] == UInt8(ascii: "0") { len -= 1 }
            if buf[len - 1] == UInt8(ascii: ".") { len -= 1 }
        }
        if len == 2 && buf[0] == UInt8(ascii: "-") && buf[1] == UInt8(ascii: "0") {
            buf[0] = UInt8(ascii: "0")
            len = 1
        }
    }
    buf.removeSubrange(len...)
    return buf
}
