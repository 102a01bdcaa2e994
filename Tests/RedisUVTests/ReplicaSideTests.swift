import XCTest
@testable import RedisUV

/// The replica side without sockets: the handshake state machine and the payload framing
/// driven with a fake clock, and the master client's stream applied in-process.
final class ReplicaSideTests: XCTestCase {
    typealias HS = ReplicaHandshake

    private func sent(_ actions: [HS.Action]) -> [[String]] {
        actions.flatMap { a -> [[String]] in
            if case .send(let cmds) = a { return cmds }
            if case .sendRaw(let raw) = a { return [[raw]] }
            return []
        }
    }

    private func aborted(_ actions: [HS.Action]) -> Bool { actions.contains(.abort) }

    private func logs(_ actions: [HS.Action]) -> [String] {
        actions.compactMap { if case .log(_, let t) = $0 { return t } else { return nil } }
    }

    private let id1 = String(repeating: "a", count: 40)
    private let id2 = String(repeating: "b", count: 40)

    // MARK: handshake

    func testFullHandshakeWithoutCachedMaster() {
        var s = HS.Settings()
        s.listeningPort = 7000
        var hs = HS(settings: s, now: 1000)
        XCTAssertEqual(hs.step, .connecting)
        XCTAssertEqual(hs.roleName, "connecting")
        XCTAssertEqual(sent(hs.connected(now: 1001)), [["PING"]])
        XCTAssertEqual(hs.roleName, "handshake")
        let afterPong = hs.receivedLine("+PONG", now: 1002)
        XCTAssertEqual(sent(afterPong), [["REPLCONF", "listening-port", "7000"], ["REPLCONF", "capa", "eof", "capa", "psync2"]])
        XCTAssertEqual(hs.step, .receivePort)
        XCTAssertEqual(sent(hs.receivedLine("+OK", now: 1003)), [])
        XCTAssertEqual(hs.step, .receiveCapa)
        let psync = hs.receivedLine("+OK", now: 1004)
        XCTAssertEqual(sent(psync), [["PSYNC", "?", "-1"]])
        XCTAssertTrue(logs(psync).contains("Partial resynchronization not possible (no cached master)"))
        // Keepalive newlines while the master prepares.
        XCTAssertEqual(hs.receivedLine("", now: 1005), [])
        XCTAssertEqual(hs.step, .receivePsync)
        let full = hs.receivedLine("+FULLRESYNC \(id1) 1234", now: 1006)
        XCTAssertTrue(full.contains(.sync(.full(replid: Array(id1.utf8), offset: 1234))))
        XCTAssertEqual(hs.step, .transfer)
        XCTAssertEqual(hs.roleName, "sync")
        hs.synced(now: 1007)
        XCTAssertEqual(hs.roleName, "connected")
    }

    func testAuthUserAnnounceIPAndErrors() {
        var s = HS.Settings()
        s.masterauth = "secret"
        s.masteruser = "repl"
        s.announceIP = "10.0.0.9"
        s.listeningPort = 6380
        var hs = HS(settings: s, now: 0)
        _ = hs.connected(now: 0)
        // NOAUTH to PING is fine: AUTH follows.
        let cmds = sent(hs.receivedLine("-NOAUTH Authentication required.", now: 1))
        XCTAssertEqual(cmds, [["AUTH", "repl", "secret"], ["REPLCONF", "listening-port", "6380"],
                              ["REPLCONF", "ip-address", "10.0.0.9"], ["REPLCONF", "capa", "eof", "capa", "psync2"]])
        XCTAssertEqual(hs.step, .receiveAuth)
        let bad = hs.receivedLine("-WRONGPASS invalid username-password pair or user is disabled.", now: 2)
        XCTAssertTrue(aborted(bad))
        XCTAssertTrue(logs(bad)[0].hasPrefix("Unable to AUTH to MASTER: -WRONGPASS"))
        XCTAssertEqual(hs.step, .failed)

        // AUTH accepted, REPLCONF errors are not critical.
        var ok = HS(settings: s, now: 0)
        _ = ok.connected(now: 0)
        _ = ok.receivedLine("-NOPERM this user has no permissions", now: 0)
        XCTAssertEqual(ok.receivedLine("+OK", now: 0), [])
        XCTAssertTrue(logs(ok.receivedLine("-ERR unknown", now: 0))[0].hasPrefix("(Non critical) Master does not understand REPLCONF listening-port"))
        XCTAssertEqual(ok.step, .receiveIP)
        XCTAssertTrue(logs(ok.receivedLine("-ERR unknown", now: 0))[0].hasPrefix("(Non critical) Master does not understand REPLCONF ip-address"))
        XCTAssertEqual(sent(ok.receivedLine("-ERR unknown", now: 0)), [["PSYNC", "?", "-1"]])
    }

    func testPingErrorAborts() {
        var hs = HS(settings: HS.Settings(), now: 0)
        _ = hs.connected(now: 0)
        let a = hs.receivedLine("-ERR operation not permitted", now: 0)
        XCTAssertFalse(aborted(a))  // old servers' way of saying NOAUTH
        var hs2 = HS(settings: HS.Settings(), now: 0)
        _ = hs2.connected(now: 0)
        let b = hs2.receivedLine("-DENIED Redis is running in protected mode", now: 0)
        XCTAssertTrue(aborted(b))
        XCTAssertEqual(logs(b), ["Error reply to PING from master: '-DENIED Redis is running in protected mode'"])
    }

    private func toPsync(_ s: HS.Settings) -> HS {
        var hs = HS(settings: s, now: 0)
        _ = hs.connected(now: 0)
        _ = hs.receivedLine("+PONG", now: 0)
        _ = hs.receivedLine("+OK", now: 0)
        _ = hs.receivedLine("+OK", now: 0)
        return hs
    }

    func testCachedMasterContinues() {
        var s = HS.Settings()
        s.cachedReplid = Array(id1.utf8)
        s.cachedOffset = 41
        var hs = HS(settings: s, now: 0)
        _ = hs.connected(now: 0)
        _ = hs.receivedLine("+PONG", now: 0)
        _ = hs.receivedLine("+OK", now: 0)
        let p = hs.receivedLine("+OK", now: 0)
        XCTAssertEqual(sent(p), [["PSYNC", id1, "42"]])
        XCTAssertTrue(logs(p).contains("Trying a partial resynchronization (request \(id1):42)."))
        var same = hs
        XCTAssertTrue(same.receivedLine("+CONTINUE", now: 0).contains(.sync(.partial(newReplid: nil))))
        XCTAssertEqual(same.step, .connected)
        var sameID = hs
        XCTAssertTrue(sameID.receivedLine("+CONTINUE \(id1)", now: 0).contains(.sync(.partial(newReplid: nil))))
        var changed = hs
        let c = changed.receivedLine("+CONTINUE \(id2)", now: 0)
        XCTAssertTrue(c.contains(.sync(.partial(newReplid: Array(id2.utf8)))))
        XCTAssertTrue(logs(c).contains("Master replication ID changed to \(id2)"))
    }

    func testPsyncRefusals() {
        for reply in ["-NOMASTERLINK Can't SYNC while not connected with my master", "-LOADING Redis is loading the dataset in memory"] {
            var hs = toPsync(HS.Settings())
            let a = hs.receivedLine(reply, now: 0)
            XCTAssertTrue(aborted(a), reply)
            XCTAssertEqual(logs(a), ["Master is currently unable to PSYNC but should be in the future: \(reply)"])
        }
        var legacy = toPsync(HS.Settings())
        let l = legacy.receivedLine("-ERR unknown command 'PSYNC'", now: 0)
        XCTAssertEqual(sent(l), [["SYNC\r\n"]])
        XCTAssertTrue(l.contains(.sync(.legacy)))
        XCTAssertEqual(legacy.step, .transfer)
        var odd = toPsync(HS.Settings())
        XCTAssertTrue(logs(odd.receivedLine("+WHAT", now: 0)).contains("Unexpected reply to PSYNC from master: +WHAT"))
        var malformed = toPsync(HS.Settings())
        XCTAssertTrue(malformed.receivedLine("+FULLRESYNC abc 1", now: 0)
            .contains(.sync(.full(replid: Array(repeating: 0, count: 40), offset: -1))))
    }

    func testTimeoutsOnEveryPhaseWithFakeClock() {
        var s = HS.Settings()
        s.timeoutSeconds = 60
        // Connecting.
        var hs = HS(settings: s, now: 10_000)
        XCTAssertEqual(hs.tick(now: 70_000), [])
        let t = hs.tick(now: 70_001)
        XCTAssertTrue(aborted(t))
        XCTAssertEqual(logs(t), ["Timeout connecting to the MASTER..."])
        // In the handshake: each reply restarts the clock.
        var h2 = HS(settings: s, now: 0)
        _ = h2.connected(now: 0)
        _ = h2.receivedLine("+PONG", now: 50_000)
        XCTAssertEqual(h2.tick(now: 100_000), [])
        XCTAssertTrue(aborted(h2.tick(now: 110_001)))
        // Transfer: progress restarts it.
        var h3 = toPsync(s)
        _ = h3.receivedLine("+FULLRESYNC \(id1) 0", now: 0)
        h3.transferProgress(now: 59_000)
        XCTAssertEqual(h3.tick(now: 119_000), [])
        XCTAssertTrue(logs(h3.tick(now: 119_001))[0].hasPrefix("Timeout receiving bulk data from MASTER"))
        // Connected: no data nor PING for repl-timeout.
        var h4 = toPsync(s)
        _ = h4.receivedLine("+CONTINUE", now: 0)
        h4.masterIO(now: 30_000)
        XCTAssertEqual(h4.tick(now: 90_000), [])
        XCTAssertEqual(logs(h4.tick(now: 90_001)), ["MASTER timeout: no data nor PING received..."])
        XCTAssertEqual(h4.step, .failed)
        XCTAssertEqual(h4.tick(now: 999_999), [])
    }

    func testLinkLostAndConnectFailure() {
        var hs = HS(settings: HS.Settings(), now: 0)
        XCTAssertTrue(aborted(hs.connectFailed("connection refused", now: 0)))
        var h2 = toPsync(HS.Settings())
        XCTAssertTrue(aborted(h2.linkLost(now: 0)))
        var h3 = toPsync(HS.Settings())
        _ = h3.receivedLine("+CONTINUE", now: 0)
        XCTAssertEqual(h3.linkLost(now: 0), [])
    }

    // MARK: payload framing

    private func feed(_ r: inout RDBPayloadReceiver, _ s: [UInt8], into sink: inout [UInt8]) -> [RDBPayloadReceiver.Event] {
        var got: [UInt8] = []
        let ev = s.withUnsafeBytes { b in r.feed(b) { chunk in got.append(contentsOf: chunk); return nil } }
        sink += got
        return ev
    }

    func testSizedPayloadSplitAcrossReadsWithStreamBehind() {
        var r = RDBPayloadReceiver()
        var data: [UInt8] = []
        XCTAssertEqual(feed(&r, Array("\n\n".utf8), into: &data), [.keepalive, .keepalive])
        XCTAssertEqual(feed(&r, Array("$1".utf8), into: &data), [])
        XCTAssertEqual(feed(&r, Array("0\r\nREDIS".utf8), into: &data), [.log("MASTER <-> REPLICA sync: receiving 10 bytes from master to disk")])
        XCTAssertEqual(r.totalBytes, 10)
        XCTAssertEqual(r.readBytes, 5)
        let tail = Array("00xx*1\r\n$4\r\nPING\r\n".utf8)
        XCTAssertEqual(feed(&r, tail, into: &data), [.complete(rest: 5)])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "REDIS00xx*")
        XCTAssertTrue(r.done)
    }

    func testEOFMarkPayload() {
        let mark = Array(String(repeating: "z", count: 39).utf8) + [UInt8(ascii: "Q")]
        var r = RDBPayloadReceiver()
        var data: [UInt8] = []
        let pre = feed(&r, Array("$EOF:".utf8) + mark + Array("\r\n".utf8), into: &data)
        XCTAssertEqual(pre, [.log("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk")])
        XCTAssertEqual(r.totalBytes, 0)
        let body = Array("REDIS0010".utf8) + Array(repeating: UInt8(ascii: "z"), count: 100)
        XCTAssertEqual(feed(&r, Array(body[0..<7]), into: &data), [])
        XCTAssertEqual(feed(&r, Array(body[7...]), into: &data), [])
        // The mark arrives split in three; bytes held back are released once not the mark.
        XCTAssertEqual(feed(&r, Array(mark[0..<10]), into: &data), [])
        XCTAssertEqual(feed(&r, Array(mark[10..<39]), into: &data), [])
        XCTAssertFalse(r.done)
        let end = feed(&r, [mark[39]], into: &data)
        XCTAssertEqual(end, [.complete(rest: 1)])
        XCTAssertEqual(data, body)
        XCTAssertEqual(r.readBytes, Int64(body.count))
    }

    func testPayloadErrors() {
        var r = RDBPayloadReceiver()
        var data: [UInt8] = []
        XCTAssertEqual(feed(&r, Array("-ERR no\r\n".utf8), into: &data), [.failed("MASTER aborted replication with an error: ERR no")])
        var r2 = RDBPayloadReceiver()
        let e = feed(&r2, Array("+OK\r\n".utf8), into: &data)
        XCTAssertEqual(e.count, 1)
        if case .failed(let t) = e[0] { XCTAssertTrue(t.hasPrefix("Bad protocol from MASTER")) } else { XCTFail() }
        var r3 = RDBPayloadReceiver()
        let ev = Array("$3\r\nabc".utf8).withUnsafeBytes { r3.feed($0) { _ in "disk full" } }
        XCTAssertEqual(ev.last, .failed("disk full"))
    }

    // MARK: the master client in-process

    private func makeReplica() -> (Server, Client) {
        var config = ServerConfig()
        config.databases = 4
        let server = Server(config: config, log: Logger(level: "warning"))
        server.repl.master = MasterLinkState(host: "127.0.0.1", port: 1)
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 1)
        let master = server.createClient(now: 0)
        master.flags.insert(.master)
        return (server, master)
    }

    private func feedBytes(_ c: Client, _ s: String) {
        Array(s.utf8).withUnsafeBytes { c.processInput($0) }
    }

    func testStreamAdvancesOffsetsByExactFramesAndRepliesAreSuppressed() {
        let (server, master) = makeReplica()
        let set = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n"
        let select = "*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
        // A frame split mid-bulk: only whole frames count.
        let setBytes = Array(set.utf8)
        (Array(select.utf8) + setBytes[0..<20]).withUnsafeBytes { master.processInput($0) }
        XCTAssertEqual(server.repl.master!.appliedReplOffset, Int64(select.utf8.count))
        XCTAssertEqual(server.repl.master!.readReplOffset, Int64(select.utf8.count + 20))
        Array(setBytes[20...]).withUnsafeBytes { master.processInput($0) }
        XCTAssertEqual(server.repl.master!.appliedReplOffset, Int64(select.utf8.count + set.utf8.count))
        XCTAssertEqual(server.repl.masterReplOffset, Int64(select.utf8.count + set.utf8.count))
        XCTAssertEqual(server.repl.backlog!.bytes(from: 1), Array((select + set).utf8))
        XCTAssertEqual(master.out.count, 0, "replies to the master are suppressed")
        let reader = server.createClient(now: 0)
        Array("*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".utf8).withUnsafeBytes { reader.processInput($0) }
        XCTAssertEqual(String(decoding: reader.out.bytes, as: UTF8.self), "+OK\r\n$2\r\nv1\r\n")
    }

    func testMultiAppliesOnlyAtExec() {
        let (server, master) = makeReplica()
        let multi = "*1\r\n$5\r\nMULTI\r\n"
        let incr = "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
        let exec = "*1\r\n$4\r\nEXEC\r\n"
        feedBytes(master, multi + incr + incr)
        XCTAssertEqual(server.repl.master!.appliedReplOffset, 0)
        XCTAssertEqual(server.repl.masterReplOffset, 0)
        feedBytes(master, exec)
        let total = Int64((multi + incr + incr + exec).utf8.count)
        XCTAssertEqual(server.repl.master!.appliedReplOffset, total)
        XCTAssertEqual(server.repl.masterReplOffset, total)
        XCTAssertEqual(server.repl.backlog!.histlen, Int(total))
        XCTAssertEqual(master.out.count, 0)
    }

    func testAckCarriesAppliedOffset() {
        let (server, master) = makeReplica()
        let m = server.repl.master!
        // Not synced (no link): no master client, nothing sent.
        server.replicationSendAck()
        XCTAssertEqual(master.out.count, 0)
        let link = ReplicaLink(settings: ReplicaHandshake.Settings(), now: 0)
        link.client = master
        link.machine.synced(now: 0)
        m.link = link
        XCTAssertTrue(server.masterLinkIsUp)
        XCTAssertEqual(link.roleState, "connected")
        feedBytes(master, "*1\r\n$4\r\nPING\r\n")
        XCTAssertEqual(m.appliedReplOffset, 14)
        XCTAssertEqual(master.out.count, 0)
        server.replicationSendAck()
        XCTAssertEqual(String(decoding: master.out.bytes, as: UTF8.self), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n14\r\n")
        // Asked while a command of the master runs (REPLCONF GETACK): the ACK survives the
        // suppression of that command's reply and carries the offset before it.
        master.out.count = 0
        server.masterCommandStarting()
        master.addReplyOK()
        server.replicationSendAck()
        XCTAssertEqual(master.out.count, 5)
        server.masterCommandFinished(master, outBefore: 0)
        XCTAssertEqual(String(decoding: master.out.bytes, as: UTF8.self), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$2\r\n14\r\n")
        XCTAssertFalse(m.executing)
        m.link = nil
    }

    func testReadOnlyAndStaleGates() {
        let (server, master) = makeReplica()
        let c = server.createClient(now: 0)
        Array("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self), "-READONLY You can't write against a read only replica.\r\n$-1\r\n")
        c.out.count = 0
        // Inside MULTI the refusal aborts EXEC.
        Array("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self),
                       "+OK\r\n-READONLY You can't write against a read only replica.\r\n-EXECABORT Transaction discarded because of previous errors.\r\n")
        // The master writes.
        feedBytes(master, "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n")
        c.out.count = 0
        Array("*2\r\n$3\r\nGET\r\n$1\r\na\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self), "$1\r\nb\r\n")
        // replica-serve-stale-data no: the link is down (no synced link), so MASTERDOWN for
        // GET, while INFO (stale) still runs.
        server.config.replicaServeStaleData = false
        c.out.count = 0
        Array("*2\r\n$3\r\nGET\r\n$1\r\na\r\n*1\r\n$4\r\nPING\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self),
                       "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
                       + "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n")
        // A writable replica accepts writes.
        server.config.replicaServeStaleData = true
        server.config.replicaReadOnly = false
        c.out.count = 0
        Array("*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self), "+OK\r\n")
    }

    func testExpiredKeysReadAsMissingButOnlyTheMasterDeletes() {
        let (server, master) = makeReplica()
        server.updateCachedTime()
        // An absolute expiry in the past (PXAT 1): the master still sees the key.
        feedBytes(master, "*5\r\n$3\r\nSET\r\n$1\r\ne\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$1\r\n1\r\n")
        XCTAssertEqual(server.db(0).count, 1)
        let c = server.createClient(now: 0)
        Array("*2\r\n$3\r\nGET\r\n$1\r\ne\r\n*2\r\n$6\r\nEXISTS\r\n$1\r\ne\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self), "$-1\r\n:0\r\n")
        XCTAssertEqual(server.db(0).count, 1, "a replica does not delete expired keys on access")
        c.out.count = 0
        Array("*2\r\n$4\r\nSCAN\r\n$1\r\n0\r\n*1\r\n$9\r\nRANDOMKEY\r\n*1\r\n$4\r\nKEYS\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        // SCAN skips it, RANDOMKEY (every key expired) gives up after 100 tries and names it.
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self), "*2\r\n$1\r\n0\r\n*0\r\n$1\r\ne\r\n-ERR wrong number of arguments for 'keys' command\r\n")
        XCTAssertEqual(server.db(0).count, 1)
        server.cron()
        XCTAssertEqual(server.db(0).count, 1, "no active expiry on a replica")
        feedBytes(master, "*2\r\n$3\r\nDEL\r\n$1\r\ne\r\n")
        XCTAssertEqual(server.db(0).count, 0)
    }

    func testSaveInfoAuxFieldsAndRestore() {
        let (server, master) = makeReplica()
        XCTAssertEqual(server.replicationSaveInfoAuxFields().count, 0, "no master, no cached master: no repl fields")
        server.repl.master!.masterReplid = Array(id1.utf8)
        server.repl.replid = Array(id1.utf8)
        server.repl.masterReplOffset = 77
        server.repl.master!.cachedDb = 3
        let aux = server.replicationSaveInfoAuxFields()
        XCTAssertEqual(aux.map(\.0), ["repl-stream-db", "repl-id", "repl-offset"])
        XCTAssertEqual(aux.map(\.1), ["3", id1, "77"])
        XCTAssertEqual(server.rdbAuxFields(nowMs: 0).map(\.0),
                       ["redis-ver", "redis-bits", "ctime", "used-mem", "repl-stream-db", "repl-id", "repl-offset", "aof-base"])
        _ = master
        // A restarted replica: the file's fields become a cached master.
        let (restarted, _) = makeReplica()
        restarted.replicationRestoreFromRDBAux([("repl-stream-db", "2"), ("repl-id", id2), ("repl-offset", "500")])
        XCTAssertEqual(restarted.repl.replid, Array(id2.utf8))
        XCTAssertEqual(restarted.repl.masterReplOffset, 500)
        XCTAssertEqual(restarted.repl.master!.masterReplid, Array(id2.utf8))
        XCTAssertEqual(restarted.repl.master!.appliedReplOffset, 500)
        XCTAssertEqual(restarted.repl.master!.cachedDb, 2)
        // -1 offsets (a master without backlog wrote the file) are ignored.
        let (other, _) = makeReplica()
        let before = other.repl.replid
        other.replicationRestoreFromRDBAux([("repl-stream-db", "0"), ("repl-id", id2), ("repl-offset", "-1")])
        XCTAssertEqual(other.repl.replid, before)
        XCTAssertNil(other.repl.master!.masterReplid)
    }

    func testReplicaofNoOneShiftsHistory() {
        let (server, _) = makeReplica()
        server.repl.replid = Array(id1.utf8)
        server.repl.masterReplOffset = 90
        server.repl.backlog = nil
        server.replicationUnsetMaster()
        XCTAssertNil(server.repl.master)
        XCTAssertEqual(server.repl.replid2, Array(id1.utf8))
        XCTAssertEqual(server.repl.secondReplOffset, 91)
        XCTAssertNotEqual(server.repl.replid, Array(id1.utf8))
        XCTAssertNotNil(server.repl.backlog)
        XCTAssertTrue(server.repl.backlog!.holds(from: 91))
    }

    func testInfoAndRoleOnAReplicaWithoutLink() {
        let (server, _) = makeReplica()
        let info = InfoCommand.generate(server, sections: ["replication"])
        let keys = info.split(separator: "\r\n").dropFirst().map { String($0.split(separator: ":")[0]) }
        XCTAssertEqual(keys, ["role", "master_host", "master_port", "master_link_status", "master_last_io_seconds_ago",
                              "master_sync_in_progress", "slave_read_repl_offset", "slave_repl_offset",
                              "master_link_down_since_seconds", "slave_priority", "slave_read_only", "replica_announced",
                              "connected_slaves", "master_failover_state", "master_replid", "master_replid2",
                              "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
                              "repl_backlog_first_byte_offset", "repl_backlog_histlen"])
        XCTAssertTrue(info.contains("\r\nslave_repl_offset:1\r\n"))
        XCTAssertTrue(info.contains("\r\nmaster_link_down_since_seconds:-1\r\n"))
        let c = server.createClient(now: 0)
        Array("*1\r\n$4\r\nROLE\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self),
                       "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:1\r\n$7\r\nconnect\r\n:-1\r\n")
    }

    /// The master's INFO replication and ROLE from repl.replicas (filled by the master side).
    func testInfoAndRoleOnAMasterWithReplicas() {
        var config = ServerConfig()
        config.databases = 2
        config.minReplicasToWrite = 1
        config.minReplicasMaxLag = 10
        let server = Server(config: config, log: Logger(level: "warning"))
        server.updateCachedTime()
        server.repl.masterReplOffset = 500
        server.repl.backlog = ReplicationBacklog(capacity: 1 << 20, nextOffset: 401)
        server.repl.backlog!.append([UInt8](repeating: 0, count: 100))
        let online = server.createClient(now: 0)
        online.flags.insert(.replica)
        online.peerAddress = "127.0.0.1:51000"
        let st = ReplicaClientState()
        st.phase = .online
        st.listeningPort = 6380
        st.ackOffset = 490
        st.ackTimeMs = server.cachedTimeMs
        online.replicaState = st
        let waiting = server.createClient(now: 0)
        waiting.flags.insert(.replica)
        waiting.peerAddress = "[::1]:51001"
        let st2 = ReplicaClientState()
        st2.phase = .waitBgsaveEnd
        st2.listeningPort = 6381
        waiting.replicaState = st2
        server.repl.replicas = [online, waiting]
        let info = InfoCommand.generate(server, sections: ["replication"])
        XCTAssertEqual(info, "# Replication\r\nrole:master\r\nconnected_slaves:2\r\nmin_slaves_good_slaves:1\r\n"
                       + "slave0:ip=127.0.0.1,port=6380,state=online,offset=490,lag=0\r\n"
                       + "slave1:ip=::1,port=6381,state=wait_bgsave,offset=0,lag=0\r\n"
                       + "master_failover_state:no-failover\r\nmaster_replid:\(String(decoding: server.repl.replid, as: UTF8.self))\r\n"
                       + "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:500\r\n"
                       + "second_repl_offset:-1\r\nrepl_backlog_active:1\r\nrepl_backlog_size:1048576\r\n"
                       + "repl_backlog_first_byte_offset:401\r\nrepl_backlog_histlen:100\r\n")
        let c = server.createClient(now: 0)
        Array("*1\r\n$4\r\nROLE\r\n".utf8).withUnsafeBytes { c.processInput($0) }
        XCTAssertEqual(String(decoding: c.out.bytes, as: UTF8.self),
                       "*3\r\n$6\r\nmaster\r\n:500\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6380\r\n$3\r\n490\r\n")
        XCTAssertTrue(online.infoLine(executing: nil).contains("flags=S "))
        XCTAssertEqual(online.type, .replica)
    }
}
