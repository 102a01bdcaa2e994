import Foundation
import XCTest

/// On a replica whose master is unreachable, EVAL/FCALL are refused by the dispatcher's
/// gates according to the flags the script declares (-READONLY for a shebang script
/// without no-writes, -MASTERDOWN without allow-stale), in MULTI too: the same replies
/// as redis-server's.
final class ScriptFlagsReplicaTests: XCTestCase {
    static let scripts = [
        "#!lua\nreturn 1",
        "#!lua flags=no-writes\nreturn 1",
        "#!lua flags=allow-stale\nreturn 1",
        "#!lua flags=allow-stale,no-writes\nreturn 1",
        "return 1",
        "return redis.call('set','a','1')",
        "#!lua flags=no-writes,allow-stale\nreturn redis.call('set','a','1')",
    ]

    func testScriptFlagsDecideTheReplicaGates() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("SKIPPED: redis-server not installed") }
        let nobody = try FreePort.find()  // nothing listens there: the link stays down
        for stale in ["yes", "no"] {
            let args = ["--replicaof", "127.0.0.1", String(nobody), "--replica-serve-stale-data", stale]
            let theirs = try transcript(.redisServer, args)
            let mine = try transcript(.redisUV, args)
            XCTAssertEqual(mine, theirs, "replica-serve-stale-data \(stale)")
            XCTAssertTrue(theirs.contains { $0.hasPrefix("-READONLY") }, "\(theirs)")
        }
    }

    private func transcript(_ kind: ServerProcess.Kind, _ args: [String]) throws -> [String] {
        let server = try ServerProcess.start(kind, arguments: args)
        defer { server.stop() }
        let conn = try server.connect()
        defer { conn.close() }
        var out: [String] = []
        for s in Self.scripts {
            out.append(RespEscape.escape(try conn.call("EVAL", s, "0")))
            out.append(RespEscape.escape(try conn.call("EVAL_RO", s, "0")))
        }
        for cmd in [["MULTI"], ["EVAL", "#!lua flags=no-writes,allow-stale\nreturn 1", "0"], ["EVAL", "#!lua\nreturn 1", "0"], ["EXEC"],
                    ["MULTI"], ["EVAL", "#!lua flags=no-writes,allow-stale\nreturn 7", "0"], ["EXEC"]] {
            try conn.send(command: cmd)
            out.append(RespEscape.escape(try conn.readReply()))
        }
        return out
    }
}
