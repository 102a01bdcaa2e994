import XCTest

/// The reply framing of the test client, on canned bytes.
final class RespFramingTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    private func assertFrame(_ s: String, _ expectedEnd: Int?, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(try RespFraming.frameEnd(b(s)), expectedEnd, "\"\(RespEscape.escape(b(s)))\"",
                       file: file, line: line)
    }

    func testSimpleTypes() {
        assertFrame("+OK\r\n", 5)
        assertFrame("-ERR x\r\n", 8)
        assertFrame(":-12\r\n", 6)
        assertFrame("_\r\n", 3)
        assertFrame("#t\r\n", 4)
        assertFrame(",3.14\r\n", 7)
        assertFrame(",inf\r\n", 6)
        assertFrame("(3492890328409238509324850943850943825024385\r\n", 46)
        assertFrame("+OK\r\n+NEXT\r\n", 5)
    }

    func testBulkTypes() {
        assertFrame("$3\r\nfoo\r\n", 9)
        assertFrame("$0\r\n\r\n", 6)
        assertFrame("$-1\r\n", 5)
        assertFrame("$4\r\na\r\nb\r\n", 10)  // CRLF inside the payload
        assertFrame("$3\r\n\u{0}\u{1}\u{2}\r\n", 9)
        assertFrame("!21\r\nSYNTAX invalid syntax\r\n", 28)
        assertFrame("=15\r\ntxt:Some string\r\n", 22)
    }

    func testAggregates() {
        assertFrame("*0\r\n", 4)
        assertFrame("*-1\r\n", 5)
        assertFrame("*2\r\n$1\r\na\r\n:1\r\n", 15)
        assertFrame("*2\r\n*1\r\n+x\r\n*0\r\n", 16)
        assertFrame("%1\r\n+k\r\n:1\r\n", 12)
        assertFrame("~2\r\n+a\r\n+b\r\n", 12)
        assertFrame(">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", 27)
        // attribute map, then the reply it belongs to
        let attr = "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n*2\r\n:2039123\r\n:9543892\r\n"
        assertFrame(attr, b(attr).count)
        assertFrame(attr + "+next\r\n", b(attr).count)
    }

    func testIncompleteIsNil() {
        for s in ["", "+OK", "+OK\r", "$3\r\nfo", "$3\r\nfoo\r", "*2\r\n$1\r\na\r\n", "%1\r\n+k\r\n",
                  "|1\r\n+a\r\n+b\r\n", "*1\r\n*1\r\n", "$10\r\n"] {
            assertFrame(s, nil)
        }
    }

    func testGarbageThrows() {
        for s in ["?x\r\n", "$abc\r\nx\r\n", "$3\r\nfooXY", ":1.5\r\n", "#x\r\n", "*-2\r\n", "_x\r\n", "Q"] {
            XCTAssertThrowsError(try RespFraming.frameEnd(b(s)), "\"\(RespEscape.escape(b(s)))\"")
        }
    }

    func testParseTree() throws {
        let v = try RespValue.parse(b("*3\r\n$1\r\na\r\n*-1\r\n%1\r\n+k\r\n:7\r\n"))
        XCTAssertEqual(v.children.count, 3)
        XCTAssertEqual(v.children[0].text, "a")
        XCTAssertTrue(v.children[1].isNull)
        XCTAssertEqual(v.children[2].children[1].integer, 7)
        let a = try RespValue.parse(b("|1\r\n+ttl\r\n:3\r\n$2\r\nhi\r\n"))
        XCTAssertEqual(a.type, UInt8(ascii: "$"))
        XCTAssertEqual(a.text, "hi")
        XCTAssertEqual(a.attribute?.count, 2)
        XCTAssertThrowsError(try RespValue.parse(b("+OK\r\n+OK\r\n")))
    }

    func testEncodeCommand() {
        XCTAssertEqual(RespFraming.encodeCommand([b("SET"), b("k"), [0, 13, 10]]),
                       b("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n") + [0, 13, 10] + b("\r\n"))
    }

    func testEscape() {
        XCTAssertEqual(RespEscape.escape(b("+OK\r\n")), "+OK\\r\\n")
        XCTAssertEqual(RespEscape.escape([0, 0xff, 0x41, 0x5c, 0x22]), "\\x00\\xffA\\\\\\\"")
    }
}
