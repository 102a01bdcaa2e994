import XCTest
@testable import RedisUV

/// globMatch against Redis's stringmatchlen (util.c, 7.0.15). Expectations come from
/// Redis's own tests (tests/unit/keyspace.tcl, the CVE-2022-36021 regression tests) and
/// from KEYS on a live redis-server 7.0.15, which also agreed with a randomized
/// comparison of 12000 patterns over keys made of `*?[]^-\` and high bytes.
final class GlobTests: XCTestCase {
    private func match(_ pattern: String, _ string: String, noCase: Bool = false) -> Bool {
        globMatch(pattern: Array(pattern.utf8), string: Array(string.utf8), noCase: noCase)
    }

    private func match(_ pattern: [UInt8], _ string: [UInt8]) -> Bool {
        globMatch(pattern: pattern, string: string)
    }

    // MARK: keyspace.tcl

    func testKeysWithPattern() {
        let keys = ["key_x", "key_y", "key_z", "foo_a", "foo_b", "foo_c"]
        XCTAssertEqual(keys.filter { match("foo*", $0) }, ["foo_a", "foo_b", "foo_c"])
        XCTAssertEqual(keys.filter { match("*", $0) }, keys)
    }

    func testKeysWithHashtag() {
        let keys = ["{a}x", "{a}y", "{a}z", "{b}a", "{b}b", "{b}c"]
        XCTAssertEqual(keys.filter { match("{a}*", $0) }, ["{a}x", "{a}y", "{a}z"])
        XCTAssertEqual(keys.filter { match("*{b}*", $0) }, ["{b}a", "{b}b", "{b}c"])
    }

    func testLongKeyMatchedTwice() {
        XCTAssertTrue(match("*", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"))
        XCTAssertTrue(match("*", "dlskeriewrioeuwqoirueioqwrueoqwrueqw"))
    }

    /// "Regression for pattern matching long nested loops": must answer quickly.
    func testLongNestedLoops() {
        let key = String(repeating: "a", count: 40)
        XCTAssertFalse(match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", key))
        XCTAssertTrue(match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", key))
    }

    /// "Regression for pattern matching very long nested loops" (CVE-2022-36021): the
    /// nesting limit turns this into a fast "no match" instead of a stack overflow.
    func testVeryLongNestedLoops() {
        let key = [UInt8](repeating: UInt8(ascii: "a"), count: 50_000)
        let pattern = Array(String(repeating: "*?", count: 50_000).utf8)
        XCTAssertFalse(match(pattern, key))
    }

    /// Beyond 1000 levels of `*` the match gives up, even where it would succeed.
    func testNestingLimit() {
        let key = [UInt8](repeating: UInt8(ascii: "a"), count: 2_000)
        XCTAssertTrue(match(Array((String(repeating: "a*", count: 999) + "a").utf8), key))
        XCTAssertFalse(match(Array(String(repeating: "a*", count: 1_200).utf8), key))
    }

    // MARK: the matcher's rules

    func testLiteralsAndWildcards() {
        XCTAssertTrue(match("", ""))
        XCTAssertFalse(match("", "a"))
        XCTAssertTrue(match("hello", "hello"))
        XCTAssertFalse(match("hello", "hell"))
        XCTAssertTrue(match("h?llo", "hello"))
        XCTAssertFalse(match("h?llo", "heello"))
        XCTAssertTrue(match("h*o", "hello"))
        XCTAssertTrue(match("h*o", "ho"))
        XCTAssertTrue(match("a*b*c", "abbbbbc"))
        XCTAssertTrue(match("*world*", "hello world again"))
        XCTAssertTrue(match("**b", "ab"))
        XCTAssertTrue(match("a**", "a"))
        XCTAssertTrue(match("a*", "a"))
        XCTAssertFalse(match("?", ""))
        XCTAssertTrue(match("?*?", "ab"))
        XCTAssertFalse(match("?*?", "a"))
    }

    /// `*` alone never matches the empty string (KEYS special-cases the pattern "*").
    func testStarAndEmptyString() {
        XCTAssertFalse(match("*", ""))
        XCTAssertFalse(match("**", ""))
        XCTAssertFalse(match("?*", ""))
    }

    func testClasses() {
        XCTAssertTrue(match("[abc]", "a"))
        XCTAssertFalse(match("[abc]", "d"))
        XCTAssertTrue(match("[a-z]", "m"))
        XCTAssertFalse(match("[a-z]", "A"))
        XCTAssertTrue(match("[z-a]", "m"), "reversed ranges are swapped")
        XCTAssertFalse(match("[^abc]", "a"))
        XCTAssertTrue(match("[^abc]", "d"))
        XCTAssertTrue(match("key_[^x]", "key_y"))
        XCTAssertTrue(match("a[-]b", "a-b"))
        XCTAssertTrue(match("a[^-]b", "axb"))
        XCTAssertFalse(match("a[^-]b", "a-b"))
        XCTAssertTrue(match("a[\\]]b", "a]b"))
        XCTAssertTrue(match("a[\\\\]b", "a\\b"))
        XCTAssertTrue(match("a[*?]b", "a*b"))
        XCTAssertFalse(match("a[*?]b", "axb"))
        XCTAssertFalse(match("[]", "]"), "a ']' right after '[' closes an empty class")
        XCTAssertFalse(match("[]a", "a"))
        XCTAssertFalse(match("[]]", "]"))
    }

    /// An unterminated class ends at the end of the pattern; a lone "[^" matches any byte.
    func testUnterminatedClasses() {
        XCTAssertFalse(match("a[", "a["))
        XCTAssertFalse(match("a[", "ab"))
        XCTAssertTrue(match("a[x", "ax"))
        XCTAssertFalse(match("a[x", "a["))
        XCTAssertTrue(match("[^", "a"))
        XCTAssertTrue(match("[^", "]"))
        XCTAssertFalse(match("[^", "ab"))
        XCTAssertTrue(match("[a", "a"))
        XCTAssertTrue(match("[\\", "\\"), "a trailing backslash in a class is a literal")
    }

    func testEscapes() {
        XCTAssertTrue(match("a\\*b", "a*b"))
        XCTAssertFalse(match("a\\*b", "axb"))
        XCTAssertTrue(match("a\\?b", "a?b"))
        XCTAssertTrue(match("a\\[b", "a[b"))
        XCTAssertTrue(match("a\\\\b", "a\\b"))
        XCTAssertTrue(match("\\a", "a"), "escaping an ordinary byte is harmless")
        XCTAssertFalse(match("a\\", "a"), "a trailing backslash must match a backslash")
        XCTAssertTrue(match("a\\", "a\\"))
    }

    /// Range bounds and bytes compare as signed C chars: 0x80...0xff are below ASCII.
    func testSignedCharRanges() {
        let aToFF: [UInt8] = Array("[a-".utf8) + [0xFF, UInt8(ascii: "]")]
        XCTAssertTrue(match(aToFF, Array("]".utf8)), "-1...97 contains ']' (93)")
        XCTAssertTrue(match(aToFF, Array("a".utf8)))
        XCTAssertFalse(match(aToFF, Array("b".utf8)))
        XCTAssertFalse(match(aToFF, [0xE9]), "0xe9 is -23, below -1")
        XCTAssertTrue(match(aToFF, [0xFF]))
        let highRange: [UInt8] = [UInt8(ascii: "["), 0xE0, UInt8(ascii: "-"), 0xF0, UInt8(ascii: "]")]
        XCTAssertTrue(match(highRange, [0xE9]))
        XCTAssertFalse(match(highRange, [0xF1]))
        XCTAssertFalse(match(highRange, Array("a".utf8)))
    }

    func testBinaryBytes() {
        XCTAssertTrue(match([UInt8(ascii: "a"), 0, UInt8(ascii: "*")], [UInt8(ascii: "a"), 0, UInt8(ascii: "b")]))
        XCTAssertFalse(match([UInt8(ascii: "a"), 0], [UInt8(ascii: "a")]))
        XCTAssertTrue(match(Array("a\r\n?".utf8), Array("a\r\nb".utf8)))
        XCTAssertTrue(match([UInt8(ascii: "["), 0, UInt8(ascii: "]")], [0]))
    }

    /// CONFIG GET matches without case; ranges lowercase their bounds, escapes stay exact.
    func testNoCase() {
        XCTAssertTrue(match("MAXMEMORY*", "maxmemory-policy", noCase: true))
        XCTAssertFalse(match("MAXMEMORY*", "maxmemory-policy"))
        XCTAssertTrue(match("[A-C]x", "bX", noCase: true))
        XCTAssertTrue(match("[B]", "b", noCase: true))
        XCTAssertFalse(match("[\\B]", "b", noCase: true))
        XCTAssertTrue(match("\\B", "b", noCase: true))
    }
}
