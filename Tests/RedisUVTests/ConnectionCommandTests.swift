import XCTest
@testable import RedisUV

/// AUTH / HELLO / RESET / CLIENT driven through the dispatcher on clients without a
/// transport. Expected bytes are what Redis 7.0.15 sends for the same sequence.
final class ConnectionCommandTests: XCTestCase {
    /// Clients hold their server unowned: keep it in a local for the whole test.
    private func makeServer(requirepass: String = "") -> Server {
        var config = ServerConfig()
        config.requirepass = requirepass
        return Server(config: config, log: Logger(level: "warning"))
    }

    /// Runs one command and returns (and clears) everything it replied.
    @discardableResult
    private func run(_ c: Client, _ args: String...) -> String {
        let owned = OwnedArgv(strings: args)
        c.server.processCommand(c, owned.argv)
        let text = String(decoding: c.out.bytes, as: UTF8.self)
        c.out.count = 0
        return text
    }

    private let wrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"

    func testRequirepassGatesCommandsUntilAuth() {
        let server = makeServer(requirepass: "secret")
        let c = server.createClient(now: 0)
        XCTAssertFalse(c.authenticated)
        XCTAssertEqual(run(c, "PING"), "-NOAUTH Authentication required.\r\n")
        XCTAssertEqual(run(c, "CLIENT", "ID"), "-NOAUTH Authentication required.\r\n")
        XCTAssertEqual(run(c, "AUTH", "wrong"), wrongPass)
        XCTAssertEqual(run(c, "AUTH", "nosuchuser", "secret"), wrongPass)
        XCTAssertEqual(run(c, "AUTH", "default", "secre"), wrongPass)
        XCTAssertFalse(c.authenticated)
        XCTAssertEqual(run(c, "AUTH", "secret"), "+OK\r\n")
        XCTAssertEqual(run(c, "PING"), "+PONG\r\n")
        // A later failure does not undo an earlier success.
        XCTAssertEqual(run(c, "AUTH", "wrong"), wrongPass)
        XCTAssertEqual(run(c, "PING"), "+PONG\r\n")
        // RESET goes back to the default user, which needs a password.
        XCTAssertEqual(run(c, "RESET"), "+RESET\r\n")
        XCTAssertEqual(run(c, "PING"), "-NOAUTH Authentication required.\r\n")
        XCTAssertEqual(run(c, "AUTH", "default", "secret"), "+OK\r\n")
        XCTAssertEqual(run(c, "PING"), "+PONG\r\n")
    }

    func testHelloWithRequirepass() {
        let server = makeServer(requirepass: "secret")
        let c = server.createClient(now: 0)
        let noauth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n"
        XCTAssertEqual(run(c, "HELLO"), noauth)
        XCTAssertEqual(run(c, "HELLO", "3"), noauth)
        XCTAssertEqual(run(c, "HELLO", "3", "AUTH", "default", "bad"), wrongPass)
        // Options apply in order: a bad name before AUTH stops before authenticating...
        XCTAssertEqual(run(c, "HELLO", "3", "SETNAME", "a b", "AUTH", "default", "secret"),
                       "-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        XCTAssertFalse(c.authenticated)
        // ...while a bad name after it leaves the client authenticated, still in RESP2.
        XCTAssertEqual(run(c, "HELLO", "3", "AUTH", "default", "secret", "SETNAME", "a b"),
                       "-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        XCTAssertTrue(c.authenticated)
        XCTAssertEqual(c.resp, 2)
        // SETNAME before the NOAUTH check takes effect even though HELLO then fails.
        run(c, "RESET")
        XCTAssertEqual(run(c, "HELLO", "2", "SETNAME", "early"), noauth)
        XCTAssertEqual(c.name, Array("early".utf8))

        let reply = run(c, "HELLO", "3", "AUTH", "default", "secret", "SETNAME", "n3")
        XCTAssertEqual(reply, "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n"
                       + "$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:\(c.id)\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
                       + "$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n")
        XCTAssertEqual(c.resp, 3)
        XCTAssertEqual(c.name, Array("n3".utf8))
        XCTAssertEqual(run(c, "GET", "missing"), "_\r\n")
        // No version: the protocol stays.
        XCTAssertTrue(run(c, "HELLO").hasPrefix("%7\r\n"))
        XCTAssertEqual(c.resp, 3)
        XCTAssertTrue(run(c, "HELLO", "2").hasPrefix("*14\r\n"))
        XCTAssertEqual(c.resp, 2)
    }

    func testAuthWithoutPassword() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        XCTAssertTrue(c.authenticated)
        XCTAssertEqual(run(c, "AUTH", "x"), "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n")
        XCTAssertEqual(run(c, "AUTH", "default", "anything"), "+OK\r\n")
        XCTAssertEqual(run(c, "AUTH", "Default", "anything"), wrongPass)
        XCTAssertEqual(run(c, "AUTH", "a", "b", "c"), "-ERR syntax error\r\n")
    }

    func testNewClientsNeedAuthOnceRequirepassIsSet() {
        let server = makeServer()
        let before = server.createClient(now: 0)
        var config = server.config
        config.requirepass = "secret"
        server.applyConfig(config)
        let after = server.createClient(now: 0)
        XCTAssertEqual(run(before, "PING"), "+PONG\r\n", "existing connections stay authenticated")
        XCTAssertEqual(run(after, "PING"), "-NOAUTH Authentication required.\r\n")
    }

    func testResetKeepsNoEvictAndClearsTheRest() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        run(c, "HELLO", "3", "SETNAME", "x")
        run(c, "SELECT", "4")
        run(c, "CLIENT", "NO-EVICT", "on")
        XCTAssertEqual(run(c, "RESET"), "+RESET\r\n")
        XCTAssertEqual(c.resp, 2)
        XCTAssertNil(c.name)
        XCTAssertEqual(c.db.id, 0)
        XCTAssertTrue(c.flags.contains(.noEvict))
        XCTAssertEqual(run(c, "RESET", "x"), "-ERR wrong number of arguments for 'reset' command\r\n")
    }

    func testSelectErrors() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        XCTAssertEqual(run(c, "SELECT", "abc"), "-ERR value is not an integer or out of range\r\n")
        XCTAssertEqual(run(c, "SELECT", "2147483648"), "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n")
        XCTAssertEqual(run(c, "SELECT", "16"), "-ERR DB index is out of range\r\n")
        XCTAssertEqual(run(c, "SELECT", "15"), "+OK\r\n")
        XCTAssertEqual(c.db.id, 15)
    }

    // MARK: CLIENT

    func testClientNameRules() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        for bad in ["a b", "a\nb", "\u{7f}", "é", "\t"] {
            XCTAssertEqual(run(c, "CLIENT", "SETNAME", bad),
                           "-ERR Client names cannot contain spaces, newlines or special characters.\r\n", bad)
        }
        XCTAssertEqual(run(c, "CLIENT", "GETNAME"), "$-1\r\n")
        XCTAssertEqual(run(c, "CLIENT", "SETNAME", "!~"), "+OK\r\n")
        XCTAssertEqual(run(c, "CLIENT", "GETNAME"), "$2\r\n!~\r\n")
        XCTAssertEqual(run(c, "CLIENT", "SETNAME", ""), "+OK\r\n")
        XCTAssertNil(c.name)
    }

    func testClientTypeNames() {
        func type(_ s: String) -> ClientType? { Array(s.utf8).withUnsafeBytes { ClientType(name: $0) } }
        XCTAssertEqual(type("NORMAL"), .normal)
        XCTAssertEqual(type("slave"), .replica)
        XCTAssertEqual(type("Replica"), .replica)
        XCTAssertEqual(type("pubsub"), .pubsub)
        XCTAssertEqual(type("master"), .master)
        XCTAssertNil(type("monitor"))
    }

    func testInfoLineHasRedisFieldsInOrder() {
        let server = makeServer()
        let c = server.createClient(now: server.cachedTimeMs)
        c.peerAddress = "127.0.0.1:5000"
        c.localAddress = "127.0.0.1:6379"
        run(c, "CLIENT", "SETNAME", "me")
        run(c, "SELECT", "3")
        let info = run(c, "CLIENT", "INFO")
        XCTAssertTrue(info.hasPrefix("$"))
        let line = info.split(separator: "\r\n")[1]
        XCTAssertTrue(line.hasSuffix("\n"))
        let fields = line.dropLast().split(separator: " ").map { $0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false) }
        XCTAssertEqual(fields.map { String($0[0]) },
                       ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub", "ssub",
                        "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl", "oll", "omem",
                        "tot-mem", "events", "cmd", "user", "redir", "resp"])
        let value = Dictionary(uniqueKeysWithValues: fields.map { (String($0[0]), String($0[1])) })
        XCTAssertEqual(value["id"], String(c.id))
        XCTAssertEqual(value["addr"], "127.0.0.1:5000")
        XCTAssertEqual(value["name"], "me")
        XCTAssertEqual(value["flags"], "N")
        XCTAssertEqual(value["db"], "3")
        XCTAssertEqual(value["multi"], "-1")
        XCTAssertEqual(value["argv-mem"], "10")  // "client" + "info"
        XCTAssertEqual(value["cmd"], "client|info")
        XCTAssertEqual(value["user"], "default")
        XCTAssertEqual(value["redir"], "-1")
        XCTAssertEqual(value["resp"], "2")
        run(c, "CLIENT", "NO-EVICT", "on")
        XCTAssertTrue(run(c, "CLIENT", "INFO").contains(" flags=e "))
    }

    func testClientListFilters() {
        let server = makeServer()
        let a = server.createClient(now: 0)
        let b = server.createClient(now: 0)
        let all = run(a, "CLIENT", "LIST")
        XCTAssertTrue(all.contains("id=\(a.id) ") && all.contains("id=\(b.id) "))
        XCTAssertTrue(all.contains("cmd=client|list"))
        let one = run(a, "CLIENT", "LIST", "ID", String(b.id), "12345", String(b.id))
        XCTAssertEqual(one.components(separatedBy: "id=\(b.id) ").count, 3, "listed once per id given")
        XCTAssertEqual(run(a, "CLIENT", "LIST", "TYPE", "pubsub"), "$0\r\n\r\n")
        XCTAssertEqual(run(a, "CLIENT", "LIST", "TYPE", "x"), "-ERR Unknown client type 'x'\r\n")
        XCTAssertEqual(run(a, "CLIENT", "LIST", "ID", "1", "x"), "-ERR Invalid client ID\r\n")
    }

    func testClientKill() {
        let server = makeServer()
        let a = server.createClient(now: 0)
        let b = server.createClient(now: 0)
        let c = server.createClient(now: 0)
        a.peerAddress = "127.0.0.1:1001"
        b.peerAddress = "127.0.0.1:1002"
        c.peerAddress = "127.0.0.1:1003"
        XCTAssertEqual(run(a, "CLIENT", "KILL", "ID", String(b.id)), ":1\r\n")
        XCTAssertNil(server.clients[b.id])
        XCTAssertEqual(run(a, "CLIENT", "KILL", "127.0.0.1:1002"), "-ERR No such client\r\n")
        // SKIPME defaults to yes in the new form.
        XCTAssertEqual(run(a, "CLIENT", "KILL", "ADDR", "127.0.0.1:1001"), ":0\r\n")
        XCTAssertEqual(run(a, "CLIENT", "KILL", "USER", "default"), ":1\r\n")
        XCTAssertNil(server.clients[c.id])
        XCTAssertFalse(a.flags.contains(.closeAfterReply))
        // The old form can kill the caller: the reply goes out first.
        XCTAssertEqual(run(a, "CLIENT", "KILL", "127.0.0.1:1001"), "+OK\r\n")
        XCTAssertTrue(a.flags.contains(.closeAfterReply))
    }

    func testClientKillSelfByNewForm() {
        let server = makeServer()
        let a = server.createClient(now: 0)
        XCTAssertEqual(run(a, "CLIENT", "KILL", "ID", String(a.id)), ":0\r\n")
        XCTAssertEqual(run(a, "CLIENT", "KILL", "ID", String(a.id), "SKIPME", "no"), ":1\r\n")
        XCTAssertTrue(a.flags.contains(.closeAfterReply))
    }

    func testClientReplyModes() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "OFF"), "")
        XCTAssertEqual(run(c, "PING"), "")
        XCTAssertEqual(run(c, "NOSUCHCOMMAND"), "")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "SKIP"), "", "ignored while OFF")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "ON"), "+OK\r\n")
        XCTAssertEqual(run(c, "PING"), "+PONG\r\n")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "SKIP"), "")
        XCTAssertEqual(run(c, "GET"), "", "a rejected command uses up the SKIP")
        XCTAssertEqual(run(c, "PING"), "+PONG\r\n")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "SKIP"), "")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "ON"), "+OK\r\n", "ON clears the SKIP it was subject to")
        XCTAssertEqual(run(c, "CLIENT", "REPLY", "maybe"), "-ERR syntax error\r\n")
    }

    func testClientHelpShape() {
        let server = makeServer()
        let c = server.createClient(now: 0)
        let help = run(c, "client", "help")
        XCTAssertTrue(help.hasPrefix("*\(ClientCommand.helpLines.count + 3)\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"))
        XCTAssertTrue(help.hasSuffix("+HELP\r\n+    Prints this help.\r\n"))
    }

    func testConstantTimeEqual() {
        func eq(_ a: String, _ b: String) -> Bool { Array(a.utf8).withUnsafeBytes { constantTimeEqual($0, Array(b.utf8)) } }
        XCTAssertTrue(eq("secret", "secret"))
        XCTAssertTrue(eq("", ""))
        XCTAssertFalse(eq("secret", "secreT"))
        XCTAssertFalse(eq("secret", "secret\0"))
        XCTAssertFalse(eq("", "a"))
        // Lengths differing by a multiple of 256 must not compare equal.
        XCTAssertFalse(eq(String(repeating: "a", count: 256), ""))
    }
}
