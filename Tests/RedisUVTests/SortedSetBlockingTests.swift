import XCTest
import Foundation

/// BZPOPMIN / BZPOPMAX / BZMPOP with several clients over real sockets: FIFO service,
/// wake-up by another client's ZADD, timeouts (their RESP2 and RESP3 shapes), a client
/// that disconnects while blocked. Every check runs against redis-uv and, when installed,
/// redis-server, with Redis 7.0.15's bytes as the expected values.
final class SortedSetBlockingTests: XCTestCase {
    private var servers: [ServerProcess] = []

    override func tearDown() {
        for s in servers { s.stop() }
        servers = []
        super.tearDown()
    }

    private func startServers() throws -> [ServerProcess] {
        var started = [try ServerProcess.start(.redisUV)]
        if TestEnvironment.redisServerBinary != nil { started.append(try ServerProcess.start(.redisServer)) }
        servers += started
        return started
    }

    private func text(_ b: [UInt8]) -> String { String(decoding: b, as: UTF8.self) }

    func testServedInArrivalOrderWhenAnotherClientAdds() throws {
        for server in try startServers() {
            let name = server.kind.rawValue
            let first = try server.connect(), second = try server.connect(), third = try server.connect()
            let writer = try server.connect()
            try first.send(command: ["BZPOPMIN", "q", "0"])
            try second.send(command: ["BZPOPMIN", "q", "0"])
            try third.send(command: ["BZPOPMAX", "other", "q", "0"])
            Thread.sleep(forTimeInterval: 0.1)
            XCTAssertEqual(text(try writer.call("ZADD", "q", "1", "a", "2", "b", "3", "c", "4", "d")), ":4\r\n", name)
            XCTAssertEqual(text(try first.readReply()), "*3\r\n$1\r\nq\r\n$1\r\na\r\n$1\r\n1\r\n", name)
            XCTAssertEqual(text(try second.readReply()), "*3\r\n$1\r\nq\r\n$1\r\nb\r\n$1\r\n2\r\n", name)
            XCTAssertEqual(text(try third.readReply()), "*3\r\n$1\r\nq\r\n$1\r\nd\r\n$1\r\n4\r\n", name)
            XCTAssertEqual(text(try writer.call("ZRANGE", "q", "0", "-1")), "*1\r\n$1\r\nc\r\n", name)

            // Two waiters, one element: the second keeps waiting until the next write.
            try first.send(command: ["BZMPOP", "0", "1", "r", "MIN", "COUNT", "5"])
            try second.send(command: ["BZPOPMIN", "r", "0"])
            Thread.sleep(forTimeInterval: 0.1)
            XCTAssertEqual(text(try writer.call("ZADD", "r", "1", "x")), ":1\r\n", name)
            XCTAssertEqual(text(try first.readReply()), "*2\r\n$1\r\nr\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n", name)
            XCTAssertThrowsError(try second.readReply(timeout: 0.2), name)
            XCTAssertEqual(text(try writer.call("ZINCRBY", "r", "2.5", "y")), "$3\r\n2.5\r\n", name)
            XCTAssertEqual(text(try second.readReply()), "*3\r\n$1\r\nr\r\n$1\r\ny\r\n$3\r\n2.5\r\n", name)
            XCTAssertEqual(text(try writer.call("EXISTS", "r")), ":0\r\n", name)
        }
    }

    func testTimeoutsReplyNullArrays() throws {
        for server in try startServers() {
            let name = server.kind.rawValue
            let c = try server.connect()
            var start = Date()
            XCTAssertEqual(text(try c.call("BZPOPMIN", "none", "0.2")), "*-1\r\n", name)
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.15, name)
            XCTAssertEqual(text(try c.call("BZPOPMAX", "none", "none2", "0.05")), "*-1\r\n", name)
            XCTAssertEqual(text(try c.call("BZMPOP", "0.05", "2", "none", "none2", "MIN")), "*-1\r\n", name)
            _ = try c.call("HELLO", "3")
            start = Date()
            XCTAssertEqual(text(try c.call("BZPOPMIN", "none", "0.1")), "_\r\n", name)
            XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.08, name)
            XCTAssertEqual(text(try c.call("BZMPOP", "0.05", "1", "none", "MAX", "COUNT", "2")), "_\r\n", name)
            // Served in RESP3: the score is a double.
            let writer = try server.connect()
            try c.send(command: ["BZPOPMIN", "q3", "5"])
            Thread.sleep(forTimeInterval: 0.05)
            _ = try writer.call("ZADD", "q3", "1.5", "m")
            XCTAssertEqual(text(try c.readReply()), "*3\r\n$2\r\nq3\r\n$1\r\nm\r\n,1.5\r\n", name)
        }
    }

    func testNothingIsPoppedForAClientThatLeft() throws {
        for server in try startServers() {
            let name = server.kind.rawValue
            let gone = try server.connect()
            let waiter = try server.connect()
            let writer = try server.connect()
            try gone.send(command: ["BZPOPMIN", "k", "0"])
            Thread.sleep(forTimeInterval: 0.05)
            try waiter.send(command: ["BZPOPMIN", "k", "0"])
            Thread.sleep(forTimeInterval: 0.05)
            gone.close()
            Thread.sleep(forTimeInterval: 0.1)
            XCTAssertEqual(text(try writer.call("ZADD", "k", "1", "a", "2", "b")), ":2\r\n", name)
            XCTAssertEqual(text(try waiter.readReply()), "*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n", name)
            XCTAssertEqual(text(try writer.call("ZRANGE", "k", "0", "-1")), "*1\r\n$1\r\nb\r\n", name)
        }
    }
}
