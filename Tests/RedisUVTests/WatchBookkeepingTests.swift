import XCTest
@testable import RedisUV

/// WATCH's two-sided bookkeeping (Engine/Multi.swift), driven in process: the per-db
/// key → watchers map and each client's list must stay in step through WATCH, touches,
/// UNWATCH, EXEC, DISCARD, RESET and disconnects, and be empty when nobody watches.
final class WatchBookkeepingTests: InProcessTestCase {
    private func key(_ s: String) -> WatchKey { Array(s.utf8).withUnsafeBytes { WatchKey($0) } }

    private func watchers(_ s: String, db: Int = 0) -> Int {
        server.watches.byDb[db]?[key(s)]?.count ?? 0
    }

    private func touch(_ s: String, db: Int = 0) {
        Array(s.utf8).withUnsafeBytes { server.touchWatchedKey(server.db(db), $0) }
    }

    private func run(_ c: Client, _ args: String...) -> String {
        let saved = client
        client = c
        defer { client = saved }
        return run(args.map { Array($0.utf8) })
    }

    func testWatchRegistersOnBothSidesOnce() {
        XCTAssertEqual(run("WATCH", "a", "b", "a"), "+OK\r\n")
        XCTAssertEqual(run("WATCH", "b"), "+OK\r\n")
        XCTAssertEqual(server.watches.keyCount, 2)
        XCTAssertEqual(client.watchedKeys.count, 2)
        XCTAssertEqual(watchers("a"), 1)
        // The same name in another database is another key.
        run("SELECT", "1")
        run("WATCH", "a")
        XCTAssertEqual(server.watches.keyCount, 3)
        XCTAssertEqual(watchers("a", db: 1), 1)
        XCTAssertEqual(run("UNWATCH"), "+OK\r\n")
        XCTAssertEqual(server.watches.keyCount, 0)
        XCTAssertTrue(server.watches.byDb.isEmpty)
        XCTAssertTrue(client.watchedKeys.isEmpty)
    }

    func testTouchMarksEveryWatcherDirtyAndUnwatchesThem() {
        let other = server.createClient(now: 0)
        run("WATCH", "a", "b")
        _ = run(other, "WATCH", "a")
        _ = run(other, "WATCH", "c")
        XCTAssertEqual(watchers("a"), 2)
        touch("zzz")  // nobody watches it
        XCTAssertFalse(client.dirtyCAS || other.dirtyCAS)
        touch("a", db: 1)  // another database
        XCTAssertFalse(client.dirtyCAS || other.dirtyCAS)
        touch("a")
        XCTAssertTrue(client.dirtyCAS)
        XCTAssertTrue(other.dirtyCAS)
        // Both are dirty for good: nothing of theirs stays watched.
        XCTAssertEqual(server.watches.keyCount, 0)
        XCTAssertTrue(other.watchedKeys.isEmpty)
        XCTAssertEqual(run("MULTI"), "+OK\r\n")
        XCTAssertEqual(run("PING"), "+QUEUED\r\n")
        XCTAssertEqual(run("EXEC"), "*-1\r\n")
        XCTAssertFalse(client.dirtyCAS)
        // WATCH while dirty keeps nothing; UNWATCH clears the flag.
        _ = run(other, "WATCH", "d")
        XCTAssertEqual(server.watches.keyCount, 0)
        _ = run(other, "UNWATCH")
        XCTAssertFalse(other.dirtyCAS)
    }

    func testExecDiscardResetAndDisconnectUnwatch() {
        run("WATCH", "a")
        run("MULTI")
        run("EXEC")
        XCTAssertEqual(server.watches.keyCount, 0)
        run("WATCH", "a")
        run("MULTI")
        run("DISCARD")
        XCTAssertEqual(server.watches.keyCount, 0)
        XCTAssertNil(client.mstate)
        run("WATCH", "a")
        run("MULTI")
        XCTAssertEqual(run("RESET"), "+RESET\r\n")
        XCTAssertEqual(server.watches.keyCount, 0)
        XCTAssertNil(client.mstate)
        let gone = server.createClient(now: 0)
        _ = run(gone, "WATCH", "a", "b")
        _ = run(gone, "MULTI")
        _ = run(gone, "SET", "a", "1")
        XCTAssertEqual(server.watches.keyCount, 2)
        server.forgetClient(gone)
        XCTAssertEqual(server.watches.keyCount, 0)
        XCTAssertNil(gone.mstate)
        touch("a")  // must not reach the departed client
    }

    func testQueuedArgumentsAreCopies() {
        run("MULTI")
        let owned = OwnedArgv([Array("SET".utf8), Array("key".utf8), Array("value".utf8)])
        server.processCommand(client, owned.argv)
        // The bytes the command arrived in are reused for the next input.
        UnsafeMutableRawPointer(mutating: owned.argv[2].baseAddress!).storeBytes(of: UInt8(ascii: "X"), as: UInt8.self)
        XCTAssertEqual(client.mstate?.commands.count, 1)
        XCTAssertEqual(client.mstate.map { Array($0.commands[0].argv.argv[2]) }, Array("value".utf8))
        // multi-mem: argument bytes plus a pointer per argument (3 + 3 + 5 + 3 * 8)
        XCTAssertEqual(client.multiMemForInfo, 35)
        XCTAssertEqual(client.multiCountForInfo, 1)
        XCTAssertEqual(run("EXEC"), "*1\r\n+OK\r\n")
        XCTAssertEqual(client.multiCountForInfo, -1)
        XCTAssertEqual(run("GET", "key"), "$5\r\nvalue\r\n")
    }

    func testFlushTouchesOnlyKeysThatExist() {
        let other = server.createClient(now: 0)
        run("SET", "present", "1")
        run("WATCH", "present")
        _ = run(other, "WATCH", "missing")
        server.touchAllWatchedKeysInDb(server.db(0))
        XCTAssertTrue(client.dirtyCAS)
        XCTAssertFalse(other.dirtyCAS)
        XCTAssertEqual(server.watches.keyCount, 1)
    }

    func testSwapTouchesKeysExistingInEitherDatabase() {
        let a = server.createClient(now: 0), b = server.createClient(now: 0), c = server.createClient(now: 0)
        run("SELECT", "1")
        run("SET", "only-in-1", "x")
        run("SELECT", "0")
        run("SET", "only-in-0", "x")
        _ = run(a, "WATCH", "only-in-0")
        _ = run(b, "WATCH", "only-in-1")
        _ = run(c, "WATCH", "nowhere")
        server.touchAllWatchedKeysInDb(server.db(0), replacedWith: server.db(1))
        XCTAssertTrue(a.dirtyCAS)
        XCTAssertTrue(b.dirtyCAS)
        XCTAssertFalse(c.dirtyCAS)
    }

    func testNoWatchersMeansTheHotPathReturnsAtOnce() {
        XCTAssertEqual(server.watches.keyCount, 0)
        touch("anything")
        XCTAssertTrue(server.watches.byDb.isEmpty)
    }
}
