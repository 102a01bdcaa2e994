import XCTest
@testable import RedisUV

/// Drives RequestParser the way Client.processInput does: feed bytes in arbitrary chunks,
/// keep the partial frame, resume, and collect the commands.
private struct ParserHarness {
    var parser = RequestParser()
    var pending: [UInt8] = []
    var commands: [[String]] = []
    var error: String?
    var limits = RequestParser.Limits()

    mutating func feed(_ chunk: [UInt8]) {
        pending.append(contentsOf: chunk)
        pending.withUnsafeBytes { buf in
            while error == nil {
                switch parser.parse(buf, limits: limits) {
                case .command:
                    var args: [String] = []
                    for i in 0..<parser.argc {
                        let o = parser.argOffsets[i], l = parser.argLengths[i]
                        if parser.argsAreInline {
                            args.append(String(decoding: parser.inlineStorage[o..<(o + l)], as: UTF8.self))
                        } else {
                            args.append(String(decoding: buf[o..<(o + l)], as: UTF8.self))
                        }
                    }
                    commands.append(args)
                    parser.resetCommand()
                case .empty:
                    continue
                case .incomplete:
                    return
                case .protocolError(let m):
                    error = m
                }
            }
        }
        let consumed = parser.frameStart
        pending.removeFirst(consumed)
        parser.rebase(by: consumed)
    }
}

final class RequestParserTests: XCTestCase {
    let batch = Array("*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$5\r\nv\u{0}\r\nx\r\nPING\r\n*1\r\n$4\r\nPING\r\n*0\r\nECHO \"a b\" 'c\\'d' \"\\x41\\n\"\r\n\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n".utf8)
    let expected: [[String]] = [["SET", "k\r\n", "v\u{0}\r\nx"], ["PING"], ["PING"], ["ECHO", "a b", "c'd", "A\n"], ["GET", ""]]

    func testWholeBatch() {
        var h = ParserHarness()
        h.feed(batch)
        XCTAssertNil(h.error)
        XCTAssertEqual(h.commands, expected)
        XCTAssertTrue(h.pending.isEmpty)
    }

    func testEverySplitPoint() {
        for split in 0...batch.count {
            var h = ParserHarness()
            h.feed(Array(batch[0..<split]))
            h.feed(Array(batch[split...]))
            XCTAssertNil(h.error, "split at \(split)")
            XCTAssertEqual(h.commands, expected, "split at \(split)")
        }
    }

    func testEveryPairOfSplitPoints() {
        for a in stride(from: 0, through: batch.count, by: 3) {
            for b in a...batch.count {
                var h = ParserHarness()
                h.feed(Array(batch[0..<a]))
                h.feed(Array(batch[a..<b]))
                h.feed(Array(batch[b...]))
                XCTAssertEqual(h.commands, expected, "splits at \(a), \(b)")
            }
        }
    }

    func testByteByByte() {
        var h = ParserHarness()
        for byte in batch { h.feed([byte]) }
        XCTAssertEqual(h.commands, expected)
    }

    func testBigArgumentArrivesInPieces() {
        let value = String(repeating: "x", count: 200_000)
        let frame = Array("*2\r\n$4\r\nECHO\r\n$\(value.utf8.count)\r\n\(value)\r\n".utf8)
        var h = ParserHarness()
        var i = 0
        while i < frame.count {
            let n = min(7_919, frame.count - i)
            h.feed(Array(frame[i..<(i + n)]))
            i += n
        }
        XCTAssertEqual(h.commands.count, 1)
        XCTAssertEqual(h.commands.first?[1].count, 200_000)
    }

    private func error(for input: String, limits: RequestParser.Limits = .init()) -> String? {
        var h = ParserHarness()
        h.limits = limits
        h.feed(Array(input.utf8))
        return h.error
    }

    func testProtocolErrorsAsRedis() {
        XCTAssertEqual(error(for: "*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n"), "Protocol error: expected '$', got 'f'")
        XCTAssertEqual(error(for: "*abc\r\n"), "Protocol error: invalid multibulk length")
        XCTAssertEqual(error(for: "*3000000000\r\n"), "Protocol error: invalid multibulk length")
        XCTAssertEqual(error(for: "*1\r\n$-1\r\n"), "Protocol error: invalid bulk length")
        XCTAssertEqual(error(for: "*1\r\n$700000000\r\n"), "Protocol error: invalid bulk length")
        XCTAssertEqual(error(for: "*1\r\n$abc\r\n"), "Protocol error: invalid bulk length")
        XCTAssertEqual(error(for: "GET \"abc\r\n"), "Protocol error: unbalanced quotes in request")
        XCTAssertEqual(error(for: "GET \"a\"b\r\n"), "Protocol error: unbalanced quotes in request")
        XCTAssertEqual(error(for: "*" + String(repeating: "1", count: 70_000)), "Protocol error: too big mbulk count string")
        XCTAssertEqual(error(for: "*1\r\n$" + String(repeating: "1", count: 70_000)), "Protocol error: too big bulk count string")
        XCTAssertEqual(error(for: String(repeating: "G", count: 70_000)), "Protocol error: too big inline request")
    }

    func testLimitsAtTheEdge() {
        // Exactly at the inline limit is still "need more"; one byte over is an error.
        XCTAssertNil(error(for: String(repeating: "G", count: 64 * 1024)))
        XCTAssertNotNil(error(for: String(repeating: "G", count: 64 * 1024 + 1)))
        var l = RequestParser.Limits()
        l.maxBulkLength = 10
        XCTAssertNil(error(for: "*1\r\n$10\r\n", limits: l))
        XCTAssertEqual(error(for: "*1\r\n$11\r\n", limits: l), "Protocol error: invalid bulk length")
        l = .init()
        l.unauthenticated = true
        XCTAssertEqual(error(for: "*11\r\n", limits: l), "Protocol error: unauthenticated multibulk length")
        XCTAssertEqual(error(for: "*1\r\n$16385\r\n", limits: l), "Protocol error: unauthenticated bulk length")
        XCTAssertNil(error(for: "*10\r\n$16384\r\n", limits: l))
    }

    func testEmptyCommandsAreSkipped() {
        var h = ParserHarness()
        h.feed(Array("\r\n\r\n*0\r\n*-1\r\n   \r\nPING\r\n".utf8))
        XCTAssertNil(h.error)
        XCTAssertEqual(h.commands, [["PING"]])
    }

    func testStrictIntegerParsing() {
        func p(_ s: String) -> Int? { Array(s.utf8).withUnsafeBytes { parseStrictInt($0) } }
        XCTAssertEqual(p("0"), 0)
        XCTAssertEqual(p("-1"), -1)
        XCTAssertEqual(p("9223372036854775807"), Int.max)
        XCTAssertEqual(p("-9223372036854775808"), Int.min)
        XCTAssertNil(p("9223372036854775808"))
        XCTAssertNil(p("-9223372036854775809"))
        XCTAssertNil(p("01"))
        XCTAssertNil(p("-0"))
        XCTAssertNil(p("+1"))
        XCTAssertNil(p(" 1"))
        XCTAssertNil(p("1 "))
        XCTAssertNil(p(""))
        XCTAssertNil(p("-"))
        XCTAssertNil(p("1a"))
    }
}
