import XCTest
import Foundation
import Glibc
@testable import RedisUV

/// SHUTDOWN with replicas, as Redis 7.0: it waits (writes paused) for lagging replicas up
/// to shutdown-timeout, so a write acknowledged just before it is not lost; ABORT cancels
/// the wait; NOW skips it; SIGTERM goes the same way. Each scenario runs on redis-server
/// and on redis-uv, and both must behave the same.
final class ShutdownIntegrationTests: ReplicationTestCase {
    override func setUpWithError() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("redis-server not installed") }
    }

    private func pair(_ kind: ServerProcess.Kind, timeout: Int = 10) throws -> (ServerProcess, ServerProcess) {
        let master = try startServer(kind, ["--repl-diskless-sync-delay", "0", "--shutdown-timeout", String(timeout)])
        let replica = try startServer(kind, ["--replicaof", "127.0.0.1 \(master.port)"])
        let mc = try master.connect()
        defer { mc.close() }
        try call(mc, "SET", "k", "v")
        try waitInSync(master, replica)
        return (master, replica)
    }

    private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// A stopped replica makes SHUTDOWN wait; writes meanwhile wait too; ABORT ends it.
    private func abortScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let (master, replica) = try pair(kind)
        var seen: [String] = []
        replica.signal(SIGSTOP)
        defer { replica.signal(SIGCONT) }
        let mc = try master.connect()
        defer { mc.close() }
        try call(mc, "SET", "unacked", "1")
        let shut = try master.connect()
        defer { shut.close() }
        try shut.send(command: ["SHUTDOWN"])
        seen.append("SHUTDOWN -> " + text(try shut.readAvailable(timeout: 0.5)))
        let writer = try master.connect()
        defer { writer.close() }
        try writer.send(command: ["SET", "during", "1"])
        seen.append("SET while waiting -> " + text(try writer.readAvailable(timeout: 0.3)))
        try writer.send(command: ["PING"])
        seen.append("blocked_clients=" + (try info(mc, "blocked_clients", section: "clients") ?? "?"))
        seen.append("SHUTDOWN ABORT -> " + (try raw(mc, "SHUTDOWN", "ABORT")))
        seen.append("the waiting SHUTDOWN -> " + text(try shut.readReply(timeout: 5)))
        seen.append("the write -> " + text(try writer.readReply(timeout: 5)) + text(try writer.readReply(timeout: 5)))
        seen.append("again -> " + (try raw(mc, "SHUTDOWN", "ABORT")))
        return seen
    }

    func testShutdownWaitsForALaggingReplicaAndAbortCancelsIt() throws {
        let expected = try abortScenario(.redisServer)
        XCTAssertEqual(try abortScenario(.redisUV), expected)
        XCTAssertEqual(expected.first, "SHUTDOWN -> ", "the scenario must see SHUTDOWN wait")
    }

    /// The last write before SHUTDOWN reaches the replica before the master exits; with a
    /// replica that never answers, the wait ends at shutdown-timeout.
    private func exitScenario(_ kind: ServerProcess.Kind, signal: Bool) throws {
        let (master, replica) = try pair(kind)
        let mc = try master.connect()
        try call(mc, [b("SET"), b("last"), [UInt8](repeating: 120, count: 1 << 20)])
        if signal {
            master.signal(SIGTERM)
        } else {
            try mc.send(command: ["SHUTDOWN", "NOSAVE"])
        }
        XCTAssertNotNil(master.waitForExit(timeout: 10), "\(kind) exits")
        mc.close()
        let rc = try replica.connect()
        defer { rc.close() }
        XCTAssertEqual(try call(rc, "STRLEN", "last").integer, 1 << 20, "\(kind): the replica got the write")
        XCTAssertTrue(master.log.contains("1 of 1 replicas are in sync when shutting down."), "\(kind):\n\(master.log)")

        // A silent replica: the wait gives up after shutdown-timeout (1 s) and says so.
        let (m2, r2) = try pair(kind, timeout: 1)
        r2.signal(SIGSTOP)
        defer { r2.signal(SIGCONT) }
        let c2 = try m2.connect()
        try call(c2, "SET", "unacked", "1")
        let t0 = Date()
        try c2.send(command: ["SHUTDOWN", "NOSAVE"])
        XCTAssertNotNil(m2.waitForExit(timeout: 10))
        XCTAssertGreaterThan(Date().timeIntervalSince(t0), 0.8, "\(kind) waited for the replica")
        c2.close()
        XCTAssertTrue(m2.log.contains("Waiting for replicas before shutting down."), m2.log)
        XCTAssertTrue(m2.log.contains("0 of 1 replicas are in sync when shutting down."), m2.log)
    }

    func testLastWriteReachesTheReplicaAndTheWaitEndsAtTheTimeout() throws {
        for kind in [ServerProcess.Kind.redisServer, .redisUV] { try exitScenario(kind, signal: false) }
    }

    func testSigtermWaitsForReplicasToo() throws {
        for kind in [ServerProcess.Kind.redisServer, .redisUV] { try exitScenario(kind, signal: true) }
    }

    func testShutdownNowDoesNotWait() throws {
        let (master, replica) = try pair(.redisUV, timeout: 30)
        replica.signal(SIGSTOP)
        defer { replica.signal(SIGCONT) }
        let mc = try master.connect()
        try call(mc, "SET", "unacked", "1")
        let t0 = Date()
        try mc.send(command: ["SHUTDOWN", "NOW", "NOSAVE"])
        XCTAssertNotNil(master.waitForExit(timeout: 10))
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5)
        mc.close()
        XCTAssertFalse(master.log.contains("Waiting for replicas"), master.log)
    }
}
