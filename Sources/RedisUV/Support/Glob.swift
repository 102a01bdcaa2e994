/// Redis's stringmatchlen (util.c, 7.0): glob matching over bytes with `*`, `?`, `[...]`
/// (ranges, `^` negation, `\` escapes inside) and `\` escapes. Used by KEYS, SCAN MATCH,
/// CONFIG GET and pub/sub patterns.
///
/// Quirks kept on purpose, since replies must match Redis byte for byte:
/// - `*` never matches an empty string on its own (`"*"` does not match `""`); KEYS and
///   SCAN special-case the pattern `*` before calling this.
/// - Range bounds and the tested byte compare as C `char`, which is signed on the
///   platforms Redis ships for, so `[a-\xff]` is the range -1...97.
/// - An unterminated class (`[abc`) ends at the end of the pattern.
/// - Recursion deeper than 1000 `*` levels gives up with "no match" (Redis's defence
///   against abusive patterns, CVE-2022-36021).
func globMatch(pattern: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, noCase: Bool = false) -> Bool {
    var skipLongerMatches = false
    return globMatchImpl(pattern, 0, string, 0, noCase, &skipLongerMatches, nesting: 0)
}

/// The same match over byte arrays (tests, admin paths).
func globMatch(pattern: [UInt8], string: [UInt8], noCase: Bool = false) -> Bool {
    pattern.withUnsafeBytes { p in string.withUnsafeBytes { s in globMatch(pattern: p, string: s, noCase: noCase) } }
}

/// Redis's stringmatchlen_impl. `skipLongerMatches` is set once the rest of the pattern
/// after a `*` matched nowhere in the rest of the string: an earlier `*` swallowing more
/// cannot help then, which keeps patterns like "a*a*a*b" linear instead of exponential.
private func globMatchImpl(_ p: UnsafeRawBufferPointer, _ pStart: Int, _ s: UnsafeRawBufferPointer, _ sStart: Int,
                           _ noCase: Bool, _ skipLongerMatches: inout Bool, nesting: Int) -> Bool {
    if nesting > 1000 { return false }
    var pi = pStart
    var si = sStart
    let pn = p.count
    let sn = s.count
    @inline(__always) func lower(_ c: UInt8) -> UInt8 { noCase ? asciiLower(c) : c }
    while pi < pn && si < sn {
        switch p[pi] {
        case UInt8(ascii: "*"):
            while pi + 1 < pn && p[pi + 1] == UInt8(ascii: "*") { pi += 1 }
            if pi + 1 == pn { return true }
            while si < sn {
                if globMatchImpl(p, pi + 1, s, si, noCase, &skipLongerMatches, nesting: nesting + 1) { return true }
                if skipLongerMatches { return false }
                si += 1
            }
            skipLongerMatches = true
            return false
        case UInt8(ascii: "?"):
            si += 1
        case UInt8(ascii: "["):
            pi += 1
            let not = pi < pn && p[pi] == UInt8(ascii: "^")
            if not { pi += 1 }
            var match = false
            while true {
                if pi + 1 < pn && p[pi] == UInt8(ascii: "\\") {
                    // An escaped byte matches itself exactly, even with noCase.
                    pi += 1
                    if p[pi] == s[si] { match = true }
                } else if pi >= pn || p[pi] == UInt8(ascii: "]") {
                    break
                } else if pi + 2 < pn && p[pi + 1] == UInt8(ascii: "-") {
                    var start = signedChar(p[pi])
                    var end = signedChar(p[pi + 2])
                    var c = signedChar(s[si])
                    if start > end { swap(&start, &end) }
                    if noCase {
                        start = signedLower(start); end = signedLower(end); c = signedLower(c)
                    }
                    pi += 2
                    if c >= start && c <= end { match = true }
                } else if lower(p[pi]) == lower(s[si]) {
                    match = true
                }
                pi += 1
            }
            // An unterminated class stops on the last pattern byte, as if it were the ']'.
            if pi >= pn { pi = pn - 1 }
            if not { match = !match }
            if !match { return false }
            si += 1
        case UInt8(ascii: "\\"):
            if pi + 1 < pn { pi += 1 }
            if lower(p[pi]) != lower(s[si]) { return false }
            si += 1
        default:
            if lower(p[pi]) != lower(s[si]) { return false }
            si += 1
        }
        pi += 1
        if si == sn {
            while pi < pn && p[pi] == UInt8(ascii: "*") { pi += 1 }
            break
        }
    }
    return pi == pn && si == sn
}

/// A byte as C's (signed) `char`.
@inline(__always) private func signedChar(_ b: UInt8) -> Int { Int(Int8(bitPattern: b)) }

/// C's tolower in the "C" locale on a signed char: ASCII letters only.
@inline(__always) private func signedLower(_ c: Int) -> Int { (c >= 65 && c <= 90) ? c | 0x20 : c }
