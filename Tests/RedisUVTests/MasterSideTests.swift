import XCTest
@testable import RedisUV

/// The master side without sockets: the PSYNC decision as a pure function, the backlog,
/// and REPLCONF / PSYNC / WAIT / min-replicas-to-write through the real dispatcher with
/// in-process clients.
final class MasterSideTests: InProcessTestCase {
    private let idA = Array(String(repeating: "a", count: 40).utf8)
    private let idB = Array(String(repeating: "b", count: 40).utf8)
    private let idC = Array(String(repeating: "c", count: 40).utf8)

    private func decide(_ asked: [UInt8], _ offset: Int64, second: Int64 = -1,
                        backlog: (first: Int64, histlen: Int)? = (first: 101, histlen: 1000)) -> PSYNCDecision {
        ResyncDecision.decide(replid: asked, offset: offset, replid: idA, replid2: idB,
                              secondReplOffset: second, backlog: backlog)
    }

    // MARK: the decision

    func testPartialWhenTheIdMatchesAndTheOffsetIsInTheBacklog() {
        XCTAssertEqual(decide(idA, 101), .partial(from: 101))       // first byte held
        XCTAssertEqual(decide(idA, 600), .partial(from: 600))
        XCTAssertEqual(decide(idA, 1101), .partial(from: 1101))     // nothing missing: empty continue
        XCTAssertEqual(decide(Array(String(repeating: "A", count: 40).utf8), 600), .partial(from: 600))  // strcasecmp
    }

    func testFullWhenTheOffsetIsOutsideTheBacklog() {
        XCTAssertEqual(decide(idA, 100), .full(.notInBacklog))
        XCTAssertEqual(decide(idA, 1102), .full(.notInBacklog))
        XCTAssertEqual(decide(idA, 500, backlog: nil), .full(.notInBacklog))
    }

    func testFullWhenAskedOrTheIdIsUnknown() {
        XCTAssertEqual(decide(Array("?".utf8), -1), .full(.requested))
        XCTAssertEqual(decide(idC, 500), .full(.replidMismatch))
    }

    func testSecondIdIsValidUpToItsOffset() {
        XCTAssertEqual(decide(idB, 500, second: 500), .partial(from: 500))
        XCTAssertEqual(decide(idB, 500, second: 800), .partial(from: 500))
        XCTAssertEqual(decide(idB, 501, second: 500), .full(.secondIDOffsetTooHigh))
        XCTAssertEqual(decide(idB, 50, second: 500), .full(.notInBacklog))
    }

    // MARK: the backlog

    func testBacklogResizeKeepsTheNewestBytes() {
        let b = ReplicationBacklog(capacity: 64 * 1024, nextOffset: 1)
        let data = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        b.append(data)
        b.resize(16 * 1024)
        XCTAssertEqual(b.histlen, 16 * 1024)
        XCTAssertEqual(b.firstByteOffset, Int64(1 + 50_000 - 16 * 1024))
        XCTAssertEqual(b.bytes(from: b.firstByteOffset), Array(data.suffix(16 * 1024)))
        b.resize(1 << 20)
        XCTAssertEqual(b.bytes(from: b.firstByteOffset), Array(data.suffix(16 * 1024)))
        b.append([1, 2, 3])
        XCTAssertEqual(b.bytes(from: b.firstByteOffset + Int64(16 * 1024)), [1, 2, 3])
    }

    func testConfigSetBacklogSizeResizesTheLiveBacklog() {
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        for i in 0..<2000 { run("SET", "k\(i)", String(repeating: "v", count: 20)) }
        XCTAssertGreaterThan(server.repl.backlog!.histlen, 16 * 1024)
        XCTAssertEqual(run("CONFIG", "SET", "repl-backlog-size", "16384"), "+OK\r\n")
        XCTAssertEqual(server.repl.backlog!.capacity, 16 * 1024)
        XCTAssertEqual(server.repl.backlog!.histlen, 16 * 1024)
        XCTAssertEqual(server.repl.backlog!.firstByteOffset + Int64(16 * 1024), server.repl.masterReplOffset + 1)
    }

    // MARK: REPLCONF

    func testReplconfRepliesAndErrors() {
        XCTAssertEqual(run("REPLCONF", "listening-port", "6380", "capa", "eof", "capa", "psync2", "capa", "xyz"), "+OK\r\n")
        let rs = client.replicaState!
        XCTAssertEqual(rs.listeningPort, 6380)
        XCTAssertTrue(rs.capaEOF && rs.capaPSYNC2)
        XCTAssertEqual(run("REPLCONF"), "+OK\r\n")
        XCTAssertEqual(run("REPLCONF", "listening-port"), "-ERR syntax error\r\n")
        XCTAssertEqual(run("REPLCONF", "listening-port", "x"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run("REPLCONF", "nope", "1"), "-ERR Unrecognized REPLCONF option: nope\r\n")
        XCTAssertEqual(run("REPLCONF", "rdb-only", "2"), "-ERR value is out of range, value must between 0 and 1\r\n")
        XCTAssertEqual(run("REPLCONF", "rdb-filter-only", "keys"), "-ERR Unsupported rdb-filter-only option: keys\r\n")
        XCTAssertEqual(run("REPLCONF", "ip-address", String(repeating: "1", count: 256)),
                       "-ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes\r\n")
        XCTAssertEqual(run("REPLCONF", "ip-address", "10.0.0.1"), "+OK\r\n")
        XCTAssertEqual(rs.announcedIP, "10.0.0.1")
        // ACK from a client that is not a replica, and GETACK on a master: no reply at all.
        XCTAssertEqual(run("REPLCONF", "ACK", "10"), "")
        XCTAssertEqual(run("REPLCONF", "GETACK", "*"), "")
    }

    // MARK: PSYNC

    /// A replica whose history is in the backlog gets +CONTINUE, the missing bytes, then
    /// the live stream.
    func testPartialResyncSendsTheBacklogThenTheStream() {
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        let writer = server.createClient(now: 0)
        func write(_ args: String...) {
            let owned = OwnedArgv(args.map { Array($0.utf8) })
            server.processCommand(writer, owned.argv)
        }
        write("SET", "a", "1")
        let from = server.repl.masterReplOffset + 1
        write("SET", "b", "2")
        run("REPLCONF", "capa", "psync2")
        let replid = String(decoding: server.repl.replid, as: UTF8.self)
        let reply = run("PSYNC", replid, String(from))
        XCTAssertEqual(reply, "+CONTINUE \(replid)\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
        XCTAssertEqual(server.repl.syncPartialOK, 1)
        XCTAssertTrue(client.flags.contains(.replica))
        XCTAssertEqual(client.flagLetters, "S")
        client.peerAddress = "127.0.0.1:50000"
        client.replicaState!.listeningPort = 6380
        client.replicaState!.ackOffset = 7
        XCTAssertEqual(server.replicaInfoLines().map { "\($0.0):\($0.1)" }, ["slave0:ip=127.0.0.1,port=6380,state=online,offset=7,lag=0"])
        client.out.count = 0
        write("DEL", "a")
        XCTAssertEqual(String(decoding: client.out.bytes, as: UTF8.self), "*2\r\n$3\r\nDEL\r\n$1\r\na\r\n")
        XCTAssertTrue(run("INFO", "stats").contains("sync_full:0\r\nsync_partial_ok:1\r\nsync_partial_err:0\r\n"))
        run("CONFIG", "RESETSTAT")
        XCTAssertTrue(run("INFO", "stats").contains("sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n"))
    }

    func testUnknownHistoryCountsAPartialErrorAndStartsAFullSync() {
        run("REPLCONF", "capa", "eof")
        // No loop and no dir: the diskless delay keeps the replica waiting for its save.
        XCTAssertEqual(run("PSYNC", String(repeating: "c", count: 40), "100"), "")
        XCTAssertEqual(server.repl.syncPartialErr, 1)
        XCTAssertEqual(server.repl.syncFull, 1)
        XCTAssertNotNil(server.repl.backlog)
        XCTAssertEqual(client.replicaState?.phase, .waitBgsaveStart)
        // The forced form does not count as a failed partial resync.
        let other = server.createClient(now: 0)
        server.replicaStateCreating(other).capaEOF = true
        let owned = OwnedArgv([Array("PSYNC".utf8), Array("?".utf8), Array("-1".utf8)])
        server.processCommand(other, owned.argv)
        XCTAssertEqual(server.repl.syncPartialErr, 1)
        XCTAssertEqual(server.repl.syncFull, 2)
        XCTAssertEqual(server.repl.replicas.count, 2)
        // A replica that goes away leaves the list.
        server.forgetClient(other)
        XCTAssertEqual(server.repl.replicas.count, 1)
    }

    // MARK: WAIT

    func testWaitCountsAcksAndBlocksUntilEnough() {
        XCTAssertEqual(run("WAIT", "0", "0"), ":0\r\n")
        XCTAssertEqual(run("WAIT", "x", "0"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run("WAIT", "1", "-1"), "-ERR timeout is negative\r\n")
        XCTAssertEqual(run("WAIT", "1", "1.5"), "-ERR timeout is not an integer or out of range\r\n")
        // An online replica, attached by partial resync.
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        let replica = server.createClient(now: 0)
        func replicaRun(_ args: String...) {
            let owned = OwnedArgv(args.map { Array($0.utf8) })
            server.processCommand(replica, owned.argv)
        }
        replicaRun("PSYNC", String(decoding: server.repl.replid, as: UTF8.self), "1")
        XCTAssertEqual(replica.replicaState?.phase, .online)
        run("SET", "k", "v")
        let woff = client.woff
        XCTAssertEqual(woff, server.repl.masterReplOffset)
        XCTAssertEqual(run("WAIT", "1", "0"), "")  // blocked
        XCTAssertNotNil(client.blocked)
        server.beforeSleep()
        XCTAssertTrue(String(decoding: replica.out.bytes, as: UTF8.self).hasSuffix("*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"))
        replicaRun("REPLCONF", "ACK", String(woff - 1))
        server.beforeSleep()
        XCTAssertNotNil(client.blocked)
        replicaRun("REPLCONF", "ACK", String(woff))
        server.beforeSleep()
        XCTAssertNil(client.blocked)
        XCTAssertEqual(String(decoding: client.out.bytes, as: UTF8.self), ":1\r\n")
        // Enough already: no blocking; inside MULTI: the count at once.
        XCTAssertEqual(run("WAIT", "1", "0"), ":1\r\n")
        run("MULTI")
        run("WAIT", "5", "0")
        XCTAssertEqual(run("EXEC"), "*1\r\n:1\r\n")
    }

    // MARK: min-replicas-to-write

    func testNotEnoughGoodReplicasRefusesWrites() {
        XCTAssertEqual(run("CONFIG", "SET", "min-replicas-to-write", "1"), "+OK\r\n")
        XCTAssertEqual(run("SET", "k", "v"), "-NOREPLICAS Not enough good replicas to write.\r\n")
        XCTAssertEqual(run("GET", "k"), "$-1\r\n")
        run("MULTI")
        XCTAssertEqual(run("SET", "k", "v"), "-NOREPLICAS Not enough good replicas to write.\r\n")
        XCTAssertEqual(run("EXEC"), "-EXECABORT Transaction discarded because of previous errors.\r\n")
        // A replica that acked recently makes one good replica.
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        let replica = server.createClient(now: 0)
        let owned = OwnedArgv(["PSYNC", String(decoding: server.repl.replid, as: UTF8.self), "1"].map { Array($0.utf8) })
        server.processCommand(replica, owned.argv)
        XCTAssertEqual(server.repl.goodReplicasCount, 1)
        XCTAssertEqual(run("SET", "k", "v"), "+OK\r\n")
        XCTAssertEqual(run("CONFIG", "SET", "min-replicas-max-lag", "0"), "+OK\r\n")
        server.forgetClient(replica)
        XCTAssertEqual(run("SET", "k", "v"), "+OK\r\n")  // max-lag 0 turns the check off
    }
}
