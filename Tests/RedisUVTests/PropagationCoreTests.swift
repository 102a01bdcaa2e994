import XCTest
@testable import RedisUV

/// The propagation path itself (Replication/Propagation.swift): which commands leave,
/// SELECT on a database change, MULTI/EXEC around several effects, and the stream bytes
/// that reach the backlog. Per-command rewrites are tested beside their commands.
final class PropagationCoreTests: InProcessTestCase {
    private var seen: [String] = []

    override func setUp() {
        super.setUp()
        seen = []
        server.propagation.observers.append { [unowned self] db, argv in
            seen.append("\(db) " + argv.map { String(decoding: $0, as: UTF8.self) }.joined(separator: " "))
        }
    }

    func testOnlyCommandsThatChangeDataPropagate() {
        run("SET", "a", "1")
        run("GET", "a")
        run("DEL", "missing")
        run("INCR", "a")
        run("SETNX", "a", "9")  // no-op write
        run("SAVE")             // lowers the change counter: nothing to propagate
        XCTAssertEqual(seen, ["0 SET a 1", "0 INCR a"])
    }

    func testTransactionsAreWrappedOnlyWhenTheyPropagateSeveralCommands() {
        run("MULTI"); run("SET", "a", "1"); run("GET", "a"); run("EXEC")
        XCTAssertEqual(seen, ["0 SET a 1"])
        seen = []
        run("MULTI"); run("SET", "a", "1"); run("SELECT", "2"); run("LPUSH", "l", "x"); run("EXEC")
        XCTAssertEqual(seen, ["0 MULTI", "0 SET a 1", "2 LPUSH l x", "2 EXEC"])
        seen = []
        run("MULTI"); run("GET", "a"); run("EXEC")
        XCTAssertEqual(seen, [])
    }

    func testStreamBytesCarrySelectAndAdvanceTheOffset() {
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        run("SET", "k", "v")
        run("SELECT", "1")
        run("SET", "k", "w")
        let expected = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
            + "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nw\r\n"
        let backlog = server.repl.backlog!
        XCTAssertEqual(String(decoding: backlog.bytes(from: 1), as: UTF8.self), expected)
        XCTAssertEqual(server.repl.masterReplOffset, Int64(expected.utf8.count))
    }

    func testBacklogRingKeepsTheLastBytes() {
        let b = ReplicationBacklog(capacity: 16 * 1024, nextOffset: 1)
        var all: [UInt8] = []
        var rng = SeededRandom(state: 7)
        for _ in 0..<200 {
            let n = Int(rng.next() % 700)
            let chunk = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            all += chunk
            b.append(chunk)
            let held = min(all.count, 16 * 1024)
            XCTAssertEqual(b.histlen, held)
            XCTAssertEqual(b.firstByteOffset, Int64(all.count - held + 1))
            XCTAssertEqual(b.bytes(from: b.firstByteOffset), Array(all.suffix(held)))
        }
        XCTAssertTrue(b.holds(from: Int64(all.count + 1)))
        XCTAssertFalse(b.holds(from: Int64(all.count + 2)))
        XCTAssertFalse(b.holds(from: b.firstByteOffset - 1))
        b.append(Array(repeating: 1, count: 40_000))  // more than it holds at once
        XCTAssertEqual(b.histlen, 16 * 1024)
        XCTAssertEqual(b.firstByteOffset, Int64(all.count + 40_000 - 16 * 1024 + 1))
    }
}
