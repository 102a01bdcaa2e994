import XCTest
@testable import RedisUV

/// FAILOVER's decisions without sockets: the wait-for-sync step driven with a fake clock,
/// and the handshake's PSYNC ... FAILOVER.
final class FailoverTests: XCTestCase {
    typealias R = FailoverState.Replica

    private func waiting(target: (String, Int)? = nil, endMs: Int64 = 0, force: Bool = false) -> FailoverState {
        var st = FailoverState()
        st.phase = .waitForSync
        st.targetHost = target?.0
        st.targetPort = target?.1 ?? 0
        st.endMs = endMs
        st.force = force
        return st
    }

    func testAnyReplicaFailsOverToTheFirstInSync() {
        var st = waiting()
        let lagging = R(host: "10.0.0.1", port: 7001, ackOffset: 90)
        XCTAssertEqual(st.update(now: 1000, masterOffset: 100, replicas: [lagging]), .wait)
        XCTAssertNil(st.targetHost, "no target is chosen before one is in sync")
        let synced = R(host: "10.0.0.2", port: 7002, ackOffset: 100)
        XCTAssertEqual(st.update(now: 1001, masterOffset: 100, replicas: [lagging, synced]),
                       .failOver(host: "10.0.0.2", port: 7002, log: "Failover target 10.0.0.2:7002 is synced, failing over."))
        XCTAssertEqual(st.phase, .inProgress)
        XCTAssertEqual(st.stateName, "failover-in-progress")
        // Once in progress, nothing more is decided here (the PSYNC answer ends it).
        XCTAssertEqual(st.update(now: 1002, masterOffset: 100, replicas: [synced]), .wait)
    }

    func testNamedTargetWaitsForThatReplicaOnly() {
        var st = waiting(target: ("LOCALHOST", 7002))
        let other = R(host: "localhost", port: 7003, ackOffset: 100)
        let target = R(host: "localhost", port: 7002, ackOffset: 99)
        XCTAssertEqual(st.update(now: 0, masterOffset: 100, replicas: [other, target]), .wait)
        XCTAssertEqual(st.stateName, "waiting-for-sync")
        var caught = target
        caught.ackOffset = 100
        // The host is compared without case, as Redis's strcasecmp.
        XCTAssertEqual(st.update(now: 0, masterOffset: 100, replicas: [other, caught]),
                       .failOver(host: "LOCALHOST", port: 7002, log: "Failover target LOCALHOST:7002 is synced, failing over."))
        // A target that disappeared just keeps the wait going.
        var gone = waiting(target: ("h", 1))
        XCTAssertEqual(gone.update(now: 0, masterOffset: 5, replicas: []), .wait)
    }

    func testTimeoutAbortsOrForces() {
        let lagging = [R(host: "h", port: 1, ackOffset: 1)]
        var st = waiting(target: ("h", 1), endMs: 5000)
        XCTAssertEqual(st.update(now: 4999, masterOffset: 10, replicas: lagging), .wait)
        XCTAssertEqual(st.update(now: 5000, masterOffset: 10, replicas: lagging), .abort("Replica never caught up before timeout"))
        var forced = waiting(target: ("h", 1), endMs: 5000, force: true)
        XCTAssertEqual(forced.update(now: 5001, masterOffset: 10, replicas: lagging),
                       .failOver(host: "h", port: 1, log: "FAILOVER to h:1 time out exceeded, failing over."))
        XCTAssertEqual(forced.phase, .inProgress)
        // A replica in sync before the deadline wins over the timeout.
        var inTime = waiting(endMs: 5000)
        XCTAssertEqual(inTime.update(now: 10, masterOffset: 1, replicas: lagging),
                       .failOver(host: "h", port: 1, log: "Failover target h:1 is synced, failing over."))
        var idle = FailoverState()
        XCTAssertEqual(idle.update(now: 10, masterOffset: 1, replicas: lagging), .wait)
        XCTAssertEqual(idle.stateName, "no-failover")
    }

    // MARK: the handshake

    private func toPsync(_ s: ReplicaHandshake.Settings) -> (ReplicaHandshake, [ReplicaHandshake.Action]) {
        var hs = ReplicaHandshake(settings: s, now: 0)
        _ = hs.connected(now: 0)
        _ = hs.receivedLine("+PONG", now: 0)
        _ = hs.receivedLine("+OK", now: 0)
        let a = hs.receivedLine("+OK", now: 0)
        return (hs, a)
    }

    func testHandshakeAsksForFailoverAndARefusalEndsIt() {
        let id = String(repeating: "c", count: 40)
        var s = ReplicaHandshake.Settings()
        s.cachedReplid = Array(id.utf8)
        s.cachedOffset = 99
        s.failover = true
        let (hs, sent) = toPsync(s)
        XCTAssertTrue(sent.contains(.send([["PSYNC", id, "100", "FAILOVER"]])))
        var accepted = hs
        XCTAssertTrue(accepted.receivedLine("+CONTINUE \(String(repeating: "d", count: 40))", now: 0)
            .contains(.sync(.partial(newReplid: Array(String(repeating: "d", count: 40).utf8)))))
        // A refusal does not fall back to SYNC: the failover is over.
        var refused = hs
        let r = refused.receivedLine("-ERR PSYNC FAILOVER replid must match my replid.", now: 0)
        XCTAssertTrue(r.contains(.failoverRejected))
        XCTAssertFalse(r.contains(.sendRaw("SYNC\r\n")))
        // "Try later" answers keep the failover and retry.
        var later = hs
        let l = later.receivedLine("-NOMASTERLINK Can't SYNC while failing over", now: 0)
        XCTAssertTrue(l.contains(.abort))
        XCTAssertFalse(l.contains(.failoverRejected))
        // Without a failover, PSYNC has its two arguments.
        s.failover = false
        XCTAssertTrue(toPsync(s).1.contains(.send([["PSYNC", id, "100"]])))
    }
}
