import XCTest
@testable import RedisUV

/// The reply helpers against the exact bytes Redis 7.0 sends, in RESP2 and RESP3.
final class ReplyWriterTests: XCTestCase {
    private func server() -> Server {
        var config = ServerConfig()
        config.databases = 2
        return Server(config: config, log: Logger(level: "warning"))
    }

    private func bytes(resp: Int, _ body: (Client) -> Void) -> String {
        let s = server()
        let c = s.createClient(now: 0)
        c.resp = resp
        body(c)
        return String(decoding: c.out.bytes, as: UTF8.self)
    }

    func testScalars() {
        for resp in [2, 3] {
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyOK() }, "+OK\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyInt(0) }, ":0\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyInt(-42) }, ":-42\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyInt(Int.min) }, ":-9223372036854775808\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyInt(Int.max) }, ":9223372036854775807\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyBulk("") }, "$0\r\n\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyBulk("a\r\nb") }, "$4\r\na\r\nb\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyBulkInt(-7) }, "$2\r\n-7\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyError("syntax error") }, "-ERR syntax error\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyError("-WRONGTYPE x") }, "-WRONGTYPE x\r\n")
            XCTAssertEqual(bytes(resp: resp) { $0.addReplyError("a\r\nb") }, "-ERR a  b\r\n")
        }
    }

    func testProtocolDependentTypes() {
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyNull() }, "$-1\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyNull() }, "_\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyNullArray() }, "*-1\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyNullArray() }, "_\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyMapLen(2) }, "*4\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyMapLen(2) }, "%2\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplySetLen(3) }, "*3\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplySetLen(3) }, "~3\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyPushLen(3) }, "*3\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyPushLen(3) }, ">3\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyBool(true) }, ":1\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyBool(false) }, "#f\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyDouble(1.5) }, "$3\r\n1.5\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyDouble(1.5) }, ",1.5\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyDouble(0.1) }, "$19\r\n0.10000000000000001\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyDouble(.infinity) }, ",inf\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyDouble(-.infinity) }, "$4\r\n-inf\r\n")
        XCTAssertEqual(bytes(resp: 2) { $0.addReplyVerbatim("hi") }, "$2\r\nhi\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyVerbatim("hi") }, "=6\r\ntxt:hi\r\n")
        XCTAssertEqual(bytes(resp: 3) { $0.addReplyBigNum("123") }, "(123\r\n")
    }

    func testDeferredLengths() {
        XCTAssertEqual(bytes(resp: 2) { c in
            c.addReplyInt(1)
            let mark = c.addReplyDeferredLen()
            c.addReplyBulk("a"); c.addReplyBulk("b")
            c.setDeferredArrayLen(mark, 2)
        }, ":1\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n")
        XCTAssertEqual(bytes(resp: 3) { c in
            let mark = c.addReplyDeferredLen()
            c.addReplyBulk("k"); c.addReplyInt(1)
            c.setDeferredMapLen(mark, 1)
        }, "%1\r\n$1\r\nk\r\n:1\r\n")
    }

    func testDecimalFormatting() {
        var buf = [UInt8](repeating: 0, count: 24)
        for v in [0, 7, 9, 10, 99, 100, -1, -10, 123456789, Int.max, Int.min] {
            let n = buf.withUnsafeMutableBytes { formatDecimal(v, into: $0.baseAddress!) }
            XCTAssertEqual(String(decoding: buf[0..<n], as: UTF8.self), String(v))
        }
    }
}
