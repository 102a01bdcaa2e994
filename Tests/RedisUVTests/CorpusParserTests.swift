import XCTest

/// sdssplitargs quoting, corpus syntax and the reply masks.
final class CorpusParserTests: XCTestCase {
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    func testSplitArgs() {
        XCTAssertEqual(SplitArgs.split("SET  k   v"), [b("SET"), b("k"), b("v")])
        XCTAssertEqual(SplitArgs.split(#"SET k "a b\r\n\x00\xFFz\"\\""#),
                       [b("SET"), b("k"), b("a b\r\n") + [0, 0xff] + b("z\"\\")])
        XCTAssertEqual(SplitArgs.split(#"ECHO "\t\b\a\q""#), [b("ECHO"), [9, 8, 7] + b("q")])
        XCTAssertEqual(SplitArgs.split(#"ECHO 'it\'s \n raw'"#), [b("ECHO"), b(#"it's \n raw"#)])
        XCTAssertEqual(SplitArgs.split(#"ECHO """#), [b("ECHO"), []])
        XCTAssertEqual(SplitArgs.split(#"ECHO a"b c"d"#), nil)      // closing quote then 'd'
        XCTAssertEqual(SplitArgs.split(#"ECHO a"b c""#), [b("ECHO"), b("ab c")])
        XCTAssertEqual(SplitArgs.split(#"ECHO "\x4"#), nil)          // unterminated
        XCTAssertEqual(SplitArgs.split(#"ECHO "\x4g""#), [b("ECHO"), b("x4g")])
        XCTAssertEqual(SplitArgs.split("ECHO 'abc"), nil)
        XCTAssertEqual(SplitArgs.split("   "), [])
    }

    func testCorpusSyntax() throws {
        let f = try CorpusFile.parse("""
            # comment
              # indented comment

            PING
            @mask int
            @mask ttl-approx
            INCR x
            @conn 2
            @sleep 10
            @raw "PING\\r\\n" "ECHO x\\r\\n"
            @raw-noreply "*1\\r\\n"
            @send BLPOP l 0
            @mask lines ^uptime
            @read
            @closed
            @resp3
            """)
        XCTAssertEqual(f.steps.count, 10)
        XCTAssertEqual(f.steps[0].line, 4)
        guard case .command(let incr) = f.steps[1].action else { return XCTFail("not a command") }
        XCTAssertEqual(incr, [b("INCR"), b("x")])
        XCTAssertEqual(f.steps[1].masks, [.int, .ttlApprox])
        guard case .raw(let bytes, true) = f.steps[4].action else { return XCTFail("not @raw") }
        XCTAssertEqual(bytes, b("PING\r\nECHO x\r\n"))
        guard case .raw(_, false) = f.steps[5].action else { return XCTFail("not @raw-noreply") }
        XCTAssertEqual(f.steps[7].masks, [.lines("^uptime")])
    }

    func testCorpusErrors() {
        for text in ["ECHO \"unterminated", "@mask nonsense\nPING", "@mask int", "@bogus", "@sleep x",
                     "@conn 0", "@mask lines (\nPING"] {
            XCTAssertThrowsError(try CorpusFile.parse(text), text) { error in
                XCTAssertTrue("\(error)".contains("inline.redis:"), "\(error)")
            }
        }
    }

    private func v(_ s: String) throws -> RespValue { try RespValue.parse(b(s)) }

    private func same(_ e: String, _ a: String, _ masks: [ReplyMask] = []) throws -> Bool {
        ReplyComparator.compare(try v(e), try v(a), masks: masks) == nil
    }

    func testMasks() throws {
        XCTAssertTrue(try same(":1\r\n", ":1\r\n"))
        XCTAssertFalse(try same(":1\r\n", ":2\r\n"))
        XCTAssertTrue(try same(":1\r\n", ":99\r\n", [.int]))
        XCTAssertFalse(try same(":1\r\n", "$2\r\n99\r\n", [.int]))
        XCTAssertTrue(try same("*2\r\n:1\r\n+a\r\n", "*2\r\n:5\r\n+a\r\n", [.int]))
        XCTAssertTrue(try same(":100\r\n", ":99\r\n", [.ttlApprox]))
        XCTAssertFalse(try same(":100\r\n", ":98\r\n", [.ttlApprox]))
        XCTAssertTrue(try same("$1\r\na\r\n", "$3\r\nbcd\r\n", [.bulk]))
        XCTAssertFalse(try same("$1\r\na\r\n", "$-1\r\n", [.bulk]))
        XCTAssertTrue(try same("*2\r\n+a\r\n+b\r\n", "*2\r\n+b\r\n+a\r\n", [.sorted]))
        XCTAssertFalse(try same("*2\r\n+a\r\n+a\r\n", "*2\r\n+b\r\n+a\r\n", [.sorted]))
        XCTAssertTrue(try same("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:2\r\n+a\r\n:1\r\n", [.sorted]))
        XCTAssertFalse(try same("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n", "%2\r\n+b\r\n:1\r\n+a\r\n:2\r\n", [.sorted]))
        XCTAssertFalse(try same("*2\r\n+a\r\n+b\r\n", "*2\r\n+b\r\n+a\r\n"))
        XCTAssertTrue(try same("-ERR a\r\n", "-ERR b\r\n", [.any]))
        XCTAssertFalse(try same("-ERR a\r\n", "+OK\r\n", [.any]))
        let info1 = "# Server\r\nredis_version:7.0.15\r\nrun_id:abc\r\ntcp_port:1\r\n"
        let info2 = "# Server\r\nredis_version:7.0.15\r\nrun_id:xyz\r\ntcp_port:2\r\n"
        func bulk(_ s: String) -> String { "$\(s.utf8.count)\r\n\(s)\r\n" }
        XCTAssertFalse(try same(bulk(info1), bulk(info2)))
        XCTAssertTrue(try same(bulk(info1), bulk(info2), [.lines("^(run_id|tcp_port):")]))
        XCTAssertFalse(try same(bulk(info1), bulk(info2), [.lines("^run_id:")]))
    }
}
