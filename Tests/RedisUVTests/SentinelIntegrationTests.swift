import XCTest
import Foundation
import Glibc

/// The real `redis-sentinel` 7.0 managing redis-uv: a master and two replicas, Sentinel
/// discovers the replicas from INFO, the master is killed with SIGKILL, Sentinel promotes
/// a replica (MULTI, SLAVEOF NO ONE, CONFIG REWRITE, CLIENT KILL TYPE normal, EXEC),
/// repoints the other, and the old master, restarted on its port, comes back as a replica
/// of the new one. Skipped (loudly) when redis-sentinel is not installed.
///
/// `SENTINEL_TEST_KIND=redis-server` runs the same scenario on real redis-servers, which
/// checks the scenario itself.
final class SentinelIntegrationTests: XCTestCase {
    private var processes: [ServerProcess] = []
    private var configDirs: [URL] = []

    override func tearDown() {
        for p in processes.reversed() { p.stop() }
        processes = []
        for d in configDirs { try? FileManager.default.removeItem(at: d) }
        configDirs = []
        super.tearDown()
    }

    private var kind: ServerProcess.Kind {
        TestEnvironment.environment["SENTINEL_TEST_KIND"] == "redis-server" ? .redisServer : .redisUV
    }

    private func start(_ kind: ServerProcess.Kind, config: String, arguments: [String] = [], port: Int? = nil) throws -> ServerProcess {
        // Each server gets a config file of its own: Sentinel's CONFIG REWRITE needs one.
        let dir = TestEnvironment.scratchDirectory.appendingPathComponent("sentinel-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        configDirs.append(dir)
        let file = dir.appendingPathComponent(kind == .redisSentinel ? "sentinel.conf" : "redis.conf")
        try Data(config.utf8).write(to: file)
        let p = try ServerProcess.start(kind, configFile: file.path, arguments: arguments, port: port)
        processes.append(p)
        return p
    }

    /// INFO of `server` over a new connection: Sentinel's CLIENT KILL TYPE normal ends
    /// the test's own connections whenever it reconfigures a server.
    private func info(_ server: ServerProcess, _ section: String) -> [String: String] {
        guard let c = try? server.connect(), let reply = try? c.call("INFO", section), let v = try? RespValue.parse(reply), let body = v.payload else { return [:] }
        var fields: [String: String] = [:]
        for line in String(decoding: body, as: UTF8.self).split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// Polls `condition` every 100 ms until it holds or `seconds` pass.
    private func eventually(_ seconds: Double, _ what: String, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        XCTFail("not within \(seconds) s: \(what)")
        return false
    }

    private func masterAddress(_ sentinel: RespConnection) -> Int? {
        guard let r = try? sentinel.call("SENTINEL", "get-master-addr-by-name", "mymaster"),
              let v = try? RespValue.parse(r), v.children.count == 2 else { return nil }
        return Int(String(decoding: v.children[1].payload ?? [], as: UTF8.self))
    }

    func testSentinelFailsOverARedisUVMasterAndTheOldMasterComesBackAsAReplica() throws {
        guard TestEnvironment.which("redis-sentinel") != nil else {
            throw XCTSkip("SKIPPED LOUDLY: redis-sentinel is not installed (apt-get install redis-sentinel)")
        }
        let kind = self.kind
        let master = try start(kind, config: "appendonly no\n")
        let replicas = try (0..<2).map { _ in
            try start(kind, config: "appendonly no\nreplicaof 127.0.0.1 \(master.port)\n")
        }
        let mc = try master.connect()
        XCTAssertEqual(try mc.callString("SET", "before-failover", "1"), "+OK\r\n")
        guard eventually(20, "both replicas online", {
            let i = info(master, "replication")
            return i["connected_slaves"] == "2" && (0..<2).allSatisfy { i["slave\($0)"]?.contains("state=online") == true }
        }) else { return }

        let sentinel = try start(.redisSentinel, config: """
            sentinel monitor mymaster 127.0.0.1 \(master.port) 1
            sentinel down-after-milliseconds mymaster 2000
            sentinel failover-timeout mymaster 20000
            sentinel parallel-syncs mymaster 1

            """)
        let sc = try sentinel.connect()
        guard eventually(20, "Sentinel discovers both replicas from INFO", {
            guard let r = try? sc.call("SENTINEL", "replicas", "mymaster"), let v = try? RespValue.parse(r) else { return false }
            return v.children.count == 2
        }) else { return }
        guard eventually(15, "the replicas have the master's write", {
            replicas.allSatisfy { (try? $0.connect().callString("GET", "before-failover")) == "$1\r\n1\r\n" }
        }) else { return }

        let oldPort = master.port
        kill(master.pid, SIGKILL)
        let killedAt = Date()
        guard eventually(30, "Sentinel names a new master", { (masterAddress(sc) ?? oldPort) != oldPort }) else {
            harnessLog("sentinel log:\n\(sentinel.log)")
            return
        }
        let failoverSeconds = Date().timeIntervalSince(killedAt)
        harnessLog("Sentinel failover: new master \(masterAddress(sc) ?? 0) after \(String(format: "%.1f", failoverSeconds)) s")
        let newPort = masterAddress(sc)!
        guard let promoted = replicas.first(where: { $0.port == newPort }),
              let other = replicas.first(where: { $0.port != newPort }) else {
            return XCTFail("new master \(newPort) is not one of the replicas")
        }
        let pc = try promoted.connect()
        XCTAssertEqual(info(promoted, "replication")["role"], "master")
        XCTAssertEqual(try pc.callString("GET", "before-failover"), "$1\r\n1\r\n")
        XCTAssertEqual(try pc.callString("SET", "after-failover", "2"), "+OK\r\n")
        defer { if testRun?.hasSucceeded == false { harnessLog("sentinel log:\n\(sentinel.log)") } }
        _ = eventually(30, "the other replica follows the new master") {
            let i = info(other, "replication")
            return i["master_port"] == String(newPort) && i["master_link_status"] == "up"
                && (try? other.connect().callString("GET", "after-failover")) == "$1\r\n2\r\n"
        }

        // The old master, restarted where Sentinel knows it, is turned into a replica.
        let reborn = try start(kind, config: "appendonly no\n", port: oldPort)
        _ = eventually(40, "the old master comes back as a replica of the new one") {
            let i = info(reborn, "replication")
            return i["role"] == "slave" && i["master_port"] == String(newPort) && i["master_link_status"] == "up"
                && (try? reborn.connect().callString("GET", "after-failover")) == "$1\r\n2\r\n"
        }
    }
}
