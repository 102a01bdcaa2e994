import Foundation
import XCTest

/// aclfile (ACL LOAD / ACL SAVE), `user` lines in redis.conf and their start-up errors,
/// each scenario run against redis-server and redis-uv and compared.
final class ACLIntegrationTests: XCTestCase {
    private var dirs: [URL] = []

    override func tearDown() {
        for d in dirs { try? FileManager.default.removeItem(at: d) }
        dirs = []
        super.tearDown()
    }

    private func requireRedis() throws {
        guard TestEnvironment.redisServerBinary != nil else { throw XCTSkip("needs redis-server") }
    }

    private func scratch(_ kind: ServerProcess.Kind) throws -> URL {
        let d = TestEnvironment.scratchDirectory.appendingPathComponent("acl-\(kind.rawValue)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        dirs.append(d)
        return d
    }

    /// Reply text with every run of single-command rules sorted (Redis prints those in its
    /// dict's random order) and `path` replaced by a placeholder.
    private func normalized(_ reply: [UInt8], path: String? = nil) -> String {
        var s = String(decoding: reply, as: UTF8.self)
        if let path { s = s.replacingOccurrences(of: path, with: "ACLFILE") }
        // Lines split on the bytes: a String keeps "\r\n" as one Character, and the CR
        // must not be sorted along with the last rule.
        return Array(s.utf8).split(separator: 10, omittingEmptySubsequences: false)
            .map { sub -> String in
                var line = Array(sub)
                let cr = line.last == 13
                if cr { line.removeLast() }
                return ReplyComparator.aclRulesKey(line).joined(separator: " ") + (cr ? "\r" : "")
            }
            .joined(separator: "\n")
    }

    private let initialFile = """
        user default on nopass ~* &* +@all
        user alice on #5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8 ~a:* %R~r:* resetchannels &news -@all +get +set
        user bob off resetchannels -@all +@read (~b:* resetchannels -@all +set)

        """

    /// Runs the same ACL file scenario on one server; returns every reply, normalized.
    private func aclFileScenario(_ kind: ServerProcess.Kind) throws -> [String] {
        let dir = try scratch(kind)
        let path = dir.appendingPathComponent("users.acl").path
        try initialFile.write(toFile: path, atomically: true, encoding: .utf8)
        let server = try ServerProcess.start(kind, arguments: ["--aclfile", path])
        defer { server.stop() }
        let c = try server.connect()
        var out: [String] = []
        func run(_ args: String...) throws {
            try c.send(command: args)
            do {
                out.append(normalized(try c.readReply(), path: path))
            } catch {
                XCTFail("\(kind.rawValue): \(args.joined(separator: " ")): \(error)\n\(server.log)")
                throw error
            }
        }
        try run("ACL", "LIST")
        try run("AUTH", "alice", "password")
        try run("ACL", "WHOAMI")
        try run("GET", "b:1")
        try run("AUTH", "default", "x")
        try run("ACL", "SETUSER", "carol", "on", ">pw", "~c:*", "+@hash", "(+get ~x)")
        try run("ACL", "DELUSER", "bob")
        try run("ACL", "SAVE")
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        out.append(normalized(Array(saved.utf8)))
        // The rewrite went through a temporary file that is gone now.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0 != "users.acl" }
        XCTAssertEqual(leftovers, [], "\(kind.rawValue) left \(leftovers)")

        // A client authenticated as a user that ACL LOAD replaces is disconnected; the
        // default user's clients stay.
        let other = try server.connect()
        XCTAssertEqual(try other.callString("AUTH", "carol", "pw"), "+OK\r\n")
        try run("ACL", "LOAD")
        XCTAssertThrowsError(try other.call("PING"), "\(kind.rawValue): carol's client survived ACL LOAD")
        try run("PING")
        try run("ACL", "LIST")

        // A broken file: nothing changes, every problem is reported.
        try """
            user default on nopass ~* &* +@all
            user dave on +nosuchcommand
            bogus line
            user dave on
            user eve on >x %X~a <nosuch +nosuch -nosuch2
            user bad\u{1}name on
            # comment
            user frank on %X~y

            """.write(toFile: path, atomically: true, encoding: .utf8)
        try run("ACL", "LOAD")
        try run("ACL", "USERS")
        try FileManager.default.removeItem(atPath: path)
        try run("ACL", "LOAD")
        return out
    }

    func testACLFileLoadSaveMatchesRedis() throws {
        try requireRedis()
        let expected = try aclFileScenario(.redisServer)
        let actual = try aclFileScenario(.redisUV)
        if TestEnvironment.flag("ACL_TEST_VERBOSE") { print(expected.joined(separator: "\n----\n")) }
        XCTAssertEqual(expected.count, actual.count)
        for (i, (e, a)) in zip(expected, actual).enumerated() {
            XCTAssertEqual(a, e, "step \(i)")
        }
    }

    func testNoACLFileConfigured() throws {
        try requireRedis()
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let server = try ServerProcess.start(kind)
            defer { server.stop() }
            let c = try server.connect()
            XCTAssertEqual(try c.callString("ACL", "SAVE"),
                           "-ERR \(ACLCommandErrorText.noACLFile)\r\n", kind.rawValue)
            XCTAssertEqual(try c.callString("ACL", "LOAD"),
                           "-ERR \(ACLCommandErrorText.noACLFile)\r\n", kind.rawValue)
        }
    }

    /// `user` lines in redis.conf, with requirepass after them.
    func testUserLinesInConfigFile() throws {
        try requireRedis()
        var results: [[String]] = []
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let dir = try scratch(kind)
            let conf = dir.appendingPathComponent("redis.conf").path
            try """
                user alice on >pw ~a:* +get
                user default on nopass ~* &* +@all -flushall
                user sel on nopass (+set ~s:*) (+get ~g:*)
                acllog-max-len 3

                """.write(toFile: conf, atomically: true, encoding: .utf8)
            let server = try ServerProcess.start(kind, configFile: conf)
            defer { server.stop() }
            let c = try server.connect()
            var out: [String] = []
            for cmd in [["ACL", "LIST"], ["FLUSHALL"], ["AUTH", "alice", "pw"], ["SET", "a:1", "v"], ["GET", "a:1"],
                        ["AUTH", "sel", "x"], ["SET", "s:1", "v"], ["GET", "s:1"], ["GET", "g:1"],
                        ["CONFIG", "GET", "acllog-max-len"], ["AUTH", "default", "x"], ["ACL", "LOG", "10"]] {
                try c.send(command: cmd)
                let reply = try c.readReply()
                out.append(cmd == ["ACL", "LOG", "10"] ? String(reply.prefix(4).map { Character(UnicodeScalar($0)) }) : normalized(reply))
            }
            results.append(out)
        }
        XCTAssertEqual(results[1], results[0])
    }

    /// Start-up refusals: both an aclfile and user lines; a bad user line; a bad aclfile.
    func testStartupErrors() throws {
        try requireRedis()
        for kind in [ServerProcess.Kind.redisServer, .redisUV] {
            let dir = try scratch(kind)
            let exe = kind == .redisServer ? TestEnvironment.redisServerBinary! : try TestEnvironment.redisUVBinary()
            let acl = dir.appendingPathComponent("users.acl").path
            try "user default on nopass ~* &* +@all\n".write(toFile: acl, atomically: true, encoding: .utf8)
            let conf = dir.appendingPathComponent("both.conf").path
            try "user alice on >pw\naclfile \(acl)\n".write(toFile: conf, atomically: true, encoding: .utf8)
            let port = String(try FreePort.find())
            let both = try runProcess(exe, [conf, "--port", port, "--save", ""], timeout: 20, currentDirectory: dir)
            XCTAssertNotEqual(both.status, 0, kind.rawValue)
            XCTAssertTrue(both.stdoutString.contains("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid"),
                          "\(kind.rawValue): \(both.stdoutString)")

            let badLine = dir.appendingPathComponent("bad.conf").path
            try "user alice on %X~y\n".write(toFile: badLine, atomically: true, encoding: .utf8)
            let bad = try runProcess(exe, [badLine, "--port", port, "--save", ""], timeout: 20, currentDirectory: dir)
            XCTAssertNotEqual(bad.status, 0, kind.rawValue)
            let all = bad.stdoutString + bad.stderrString
            XCTAssertTrue(all.contains("Error in user declaration 'alice': Syntax error"), "\(kind.rawValue): \(all)")

            try "user alice on +get\nuser alice off\n".write(toFile: acl, atomically: true, encoding: .utf8)
            let badFile = try runProcess(exe, ["--aclfile", acl, "--port", port, "--save", ""], timeout: 20, currentDirectory: dir)
            XCTAssertNotEqual(badFile.status, 0, kind.rawValue)
            XCTAssertTrue(badFile.stdoutString.contains("Aborting Redis startup because of ACL errors: WARNING: Duplicate user 'alice' found on line 2."),
                          "\(kind.rawValue): \(badFile.stdoutString)")
        }
    }

    /// A replica authenticates with masteruser/masterauth: a real redis-server replica of a
    /// redis-uv master whose replication user may only run what replication needs.
    func testRealReplicaAuthenticatesWithMasteruser() throws {
        try requireRedis()
        let master = try ServerProcess.start(.redisUV)
        defer { master.stop() }
        let m = try master.connect()
        XCTAssertEqual(try m.callString("ACL", "SETUSER", "repl", "on", ">rpw", "+psync", "+replconf", "+ping", "+sync"), "+OK\r\n")
        XCTAssertEqual(try m.callString("SET", "k", "v"), "+OK\r\n")
        XCTAssertEqual(try m.callString("ACL", "SETUSER", "default", "resetpass", ">adminpw"), "+OK\r\n")
        let replica = try ServerProcess.start(.redisServer, arguments: [
            "--replicaof", "127.0.0.1", String(master.port), "--masteruser", "repl", "--masterauth", "rpw"])
        defer { replica.stop() }
        let r = try replica.connect()
        let deadline = Date().addingTimeInterval(15)
        var value = ""
        while Date() < deadline {
            value = try r.callString("GET", "k")
            if value == "$1\r\nv\r\n" { break }
            usleep(100_000)
        }
        XCTAssertEqual(value, "$1\r\nv\r\n", "replica log:\n\(replica.log)")
        XCTAssertEqual(try m.callString("AUTH", "adminpw"), "+OK\r\n")
        let list = try m.callString("CLIENT", "LIST", "TYPE", "replica")
        XCTAssertTrue(list.contains("user=repl"), list)
    }
}

/// The fixed ACL error texts the tests compare (kept apart so both sides use one spelling).
enum ACLCommandErrorText {
    static let noACLFile = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."
}
