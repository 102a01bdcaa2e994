/// Redis's stringmatchlen: glob matching over bytes with `*`, `?`, `[...]` (ranges, `^`
/// negation), and `\` escapes. Used by KEYS, SCAN MATCH, CONFIG GET and pub/sub patterns.
func globMatch(pattern: UnsafeRawBufferPointer, string: UnsafeRawBufferPointer, noCase: Bool = false) -> Bool {
    var skipLongerMatches = false
    return globMatchImpl(pattern, 0, string, 0, noCase, &skipLongerMatches, nesting: 0)
}

private func globMatchImpl(_ p: UnsafeRawBufferPointer, _ pStart: Int, _ s: UnsafeRawBufferPointer, _ sStart: Int,
                           _ noCase: Bool, _ skipLongerMatches: inout Bool, nesting: Int) -> Bool {
    // Redis caps recursion to avoid stack exhaustion on patterns like "a*a*a*...".
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
                if pi < pn && p[pi] == UInt8(ascii: "\\") && pi + 1 < pn {
                    pi += 1
                    if p[pi] == s[si] { match = true }
                } else if pi >= pn || p[pi] == UInt8(ascii: "]") {
                    break
                } else if pi + 2 < pn && p[pi + 1] == UInt8(ascii: "-") {
                    var start = p[pi]
                    var end = p[pi + 2]
                    var c = s[si]
                    if start > end { swap(&start, &end) }
                    if noCase {
                        start = asciiLower(start); end = asciiLower(end); c = asciiLower(c)
                    }
                    pi += 2
                    if c >= start && c <= end { match = true }
                } else {
                    if lower(p[pi]) == lower(s[si]) { match = true }
                }
                pi += 1
            }
            if pi >= pn { pi = pn - 1 }  // unterminated class: Redis treats the end as ']'
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
