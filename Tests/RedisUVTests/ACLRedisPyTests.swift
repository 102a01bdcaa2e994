import Foundation
import XCTest

/// redis-py's ACL helpers (acl_setuser, acl_getuser, acl_log, auth, ...) unmodified:
/// Tests/redis-py/acl_helpers.py prints what they return, against redis-server and
/// redis-uv; the outputs must be the same.
final class ACLRedisPyTests: XCTestCase {
    func testRedisPyACLHelpersMatchRedis() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("needs redis-server") }
        guard let python = TestEnvironment.which("python3"),
              (try? runProcess(python, ["-c", "import redis"]))?.status == 0 else {
            throw XCTSkip("needs redis-py (scripts/install-deps --test installs it)")
        }
        let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/redis-py/acl_helpers.py").path
        var outputs: [String] = []
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let server = try ServerProcess.start(kind)
            defer { server.stop() }
            let r = try runProcess(python, [script, String(server.port)], timeout: 60)
            XCTAssertEqual(r.status, 0, "\(kind.rawValue): \(r.stderrString)")
            outputs.append(r.stdoutString)
        }
        XCTAssertTrue(outputs[0].contains("\"getuser\""), outputs[0])
        XCTAssertEqual(outputs[1], outputs[0])
    }
}
