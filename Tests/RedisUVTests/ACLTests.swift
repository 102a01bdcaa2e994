import XCTest
@testable import RedisUV

/// The ACL rule parser, rule compaction and permission checks, on their own; and the
/// reply shapes that depend on hash order in Redis (so the corpus masks them).
final class ACLRuleTests: XCTestCase {
    private func user(_ rules: String...) -> ACLUser {
        let u = ACLUser(name: Array("u".utf8), pubsubDefaultAll: false)
        for r in rules { XCTAssertNil(u.apply(Array(r.utf8), pubsubDefaultAll: false), r) }
        return u
    }

    private func error(_ rule: String, on u: ACLUser? = nil) -> ACLRuleError? {
        (u ?? user()).apply(Array(rule.utf8), pubsubDefaultAll: false)
    }

    func testNewUserIsOffWithNothing() {
        let u = user()
        XCTAssertEqual(u.description, "off resetchannels -@all")
        XCTAssertTrue(u.needsCheck)
    }

    func testDefaultUserNeedsNoCheck() {
        let d = ACLState.makeDefaultUser()
        XCTAssertFalse(d.needsCheck)
        XCTAssertEqual(d.configLine, "user default on nopass ~* &* +@all")
        XCTAssertNil(d.apply(Array("-flushall".utf8), pubsubDefaultAll: false))
        XCTAssertTrue(d.needsCheck, "one command less makes the gate look")
        XCTAssertEqual(d.selectors[0].commandRules, "+@all -flushall")
    }

    func testPasswordsAreSHA256Hex() {
        let u = user(">password", ">password", "#5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8")
        XCTAssertEqual(u.passwords, ["5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"])
        XCTAssertNil(u.apply(Array("on".utf8), pubsubDefaultAll: false))
        XCTAssertTrue(Array("password".utf8).withUnsafeBytes { u.checkPassword($0) })
        XCTAssertFalse(Array("Password".utf8).withUnsafeBytes { u.checkPassword($0) })
        XCTAssertEqual(error("<nope", on: u), .noSuchPassword)
        XCTAssertEqual(error("#ABC"), .badHash)
        XCTAssertEqual(error("!5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8"), .badHash)
        XCTAssertNil(u.apply(Array("<password".utf8), pubsubDefaultAll: false))
        XCTAssertEqual(u.passwords, [])
        XCTAssertNil(u.apply(Array("nopass".utf8), pubsubDefaultAll: false))
        XCTAssertTrue(Array("anything".utf8).withUnsafeBytes { u.checkPassword($0) })
        XCTAssertNil(u.apply(Array("off".utf8), pubsubDefaultAll: false))
        XCTAssertFalse(Array("anything".utf8).withUnsafeBytes { u.checkPassword($0) }, "a disabled user never authenticates")
    }

    func testKeyPatternsMergeFlags() {
        let u = user("~a", "%R~b", "%W~b", "%R~c", "%RW~d")
        XCTAssertEqual(u.selectors[0].keysDescription, "~a ~b %R~c ~d")
        XCTAssertEqual(error("~x", on: user("allkeys")), .keyAfterAll)
        XCTAssertEqual(error("&x", on: user("allchannels")), .channelAfterAll)
        XCTAssertEqual(error("%X~a"), .syntax)
        XCTAssertEqual(error("%~a"), .syntax)
        XCTAssertEqual(error("%RR~a"), .syntax)
        XCTAssertEqual(error("~a b"), .syntax)
    }

    func testCommandRuleErrors() {
        XCTAssertEqual(error("+nosuch"), .unknownCommand)
        XCTAssertEqual(error("-nosuch"), .unknownCommand)
        XCTAssertEqual(error("+@nosuch"), .unknownCommand)
        XCTAssertEqual(error("+"), .unknownCommand)
        XCTAssertEqual(error("+config|get|x"), .firstArgOfSubcommand)
        XCTAssertEqual(error("+get|"), .syntax)
        XCTAssertEqual(error("+config|nosuch"), .unknownCommand)
        XCTAssertEqual(error("bogus"), .syntax)
        XCTAssertEqual(error("(on)"), .syntax)
        XCTAssertNil(error(""), "an empty rule does nothing")
    }

    /// Redis 7.0 compacts the bitmap: the best-fitting categories, then single commands.
    func testCompaction() {
        XCTAssertEqual(user("+@hash").selectors[0].commandRules, "-@all +@hash")
        XCTAssertEqual(user("+@all", "-@dangerous").selectors[0].commandRules, "+@all -@dangerous")
        XCTAssertEqual(user("+@hash", "-hget").selectors[0].commandRules, "-@all +@hash -hget")
        XCTAssertEqual(user("+get", "+set").selectors[0].commandRules, "-@all +get +set")
        XCTAssertEqual(user("+config|get", "+select|0").selectors[0].commandRules, "-@all +config|get +select|0")
        // A container's rule covers its subcommands.
        XCTAssertEqual(user("+config", "-config|set").selectors[0].commandRules, "-@all +config -config|set")
        // Rebuilding from the text gives the same bitmap.
        let u = user("+@read", "-get", "+@hash", "-@string", "+client|id")
        let again = ACLUser(name: [], pubsubDefaultAll: false)
        for r in u.selectors[0].commandRules.split(separator: " ") {
            XCTAssertNil(again.apply(Array(r.utf8), pubsubDefaultAll: false))
        }
        XCTAssertEqual(again.selectors[0].allowed, u.selectors[0].allowed)
    }

    func testSelectorsAndReset() {
        let u = user("on", "~r", "(+get ~s:*)", "(+set &c)", "clearselectors", "(+lpush)")
        XCTAssertEqual(u.selectors.count, 2)
        XCTAssertEqual(u.description, "on ~r resetchannels -@all (resetchannels -@all +lpush)")
        XCTAssertNil(u.apply(Array("reset".utf8), pubsubDefaultAll: false))
        XCTAssertEqual(u.description, "off sanitize-payload resetchannels -@all")
        let all = ACLUser(name: [], pubsubDefaultAll: true)
        XCTAssertNil(all.apply(Array("(+get)".utf8), pubsubDefaultAll: true))
        XCTAssertEqual(all.description, "off &* -@all (&* -@all +get)")
    }

    func testMergeSelectorArguments() {
        let args = ["on", "(+get", "~a", "~b)", "(+set)", "x"].map { Array($0.utf8) }
        let (merged, _) = ACLCommand.mergeSelectorArguments(args)
        XCTAssertEqual(merged?.map { String(decoding: $0, as: UTF8.self) }, ["on", "(+get ~a ~b)", "(+set)", "x"])
        let (open, at) = ACLCommand.mergeSelectorArguments(["(+get", "~a"].map { Array($0.utf8) })
        XCTAssertNil(open)
        XCTAssertEqual(at, 0)
    }

    // MARK: checks

    private func check(_ u: ACLUser, _ args: String...) -> ACLDenial? {
        let argv = args.map { Array($0.utf8) }
        let id = ACLCommandIndex.lookup(argv[0])!
        return aclCheckCommand(user: u, id: id, argv: argv)
    }

    func testPermissionMatrix() {
        let u = user("on", "nopass", "~k:*", "%R~r:*", "%W~w:*", "&ch:*", "+get", "+set", "+copy", "+publish",
                     "+psubscribe", "+select|1")
        XCTAssertNil(check(u, "get", "k:1"))
        XCTAssertEqual(check(u, "get", "x"), ACLDenial(reason: .key, argIndex: 1))
        XCTAssertNil(check(u, "get", "r:1"))
        XCTAssertEqual(check(u, "set", "r:1", "v")?.reason, .key)
        XCTAssertNil(check(u, "set", "w:1", "v"), "SET without GET only writes")
        XCTAssertEqual(check(u, "set", "w:1", "v", "GET")?.reason, .key, "SET ... GET also reads")
        XCTAssertEqual(check(u, "get", "w:1")?.reason, .key)
        XCTAssertEqual(check(u, "copy", "w:1", "k:2"), ACLDenial(reason: .key, argIndex: 1))
        XCTAssertNil(check(u, "copy", "r:1", "w:2"))
        XCTAssertEqual(check(u, "hget", "k:1", "f"), ACLDenial(reason: .command, argIndex: 0))
        XCTAssertNil(check(u, "select", "1"))
        XCTAssertEqual(check(u, "select", "2")?.reason, .command)
        XCTAssertNil(check(u, "publish", "ch:1", "m"))
        XCTAssertEqual(check(u, "publish", "other", "m"), ACLDenial(reason: .channel, argIndex: 1))
        XCTAssertNil(check(u, "psubscribe", "ch:*"), "the pattern itself is allowed")
        XCTAssertEqual(check(u, "psubscribe", "ch:1", "ch:*"), ACLDenial(reason: .channel, argIndex: 1),
                       "PSUBSCRIBE compares literally")
        XCTAssertNil(check(u, "auth", "x", "y"), "no_auth commands need no bit")
    }

    func testSelectorsPickTheMostRelevantDenial() {
        let u = user("~a", "+get", "(+set ~b)")
        XCTAssertNil(check(u, "get", "a"))
        XCTAssertNil(check(u, "set", "b", "v"))
        // GET b: the root refuses the key, the selector the command: the key wins.
        XCTAssertEqual(check(u, "get", "b"), ACLDenial(reason: .key, argIndex: 1))
        XCTAssertEqual(check(u, "del", "a")?.reason, .command)
    }

    func testEveryCommandHasAnID() {
        for spec in CommandSpecs.allIncludingSubcommands {
            XCTAssertEqual(ACLCommandIndex.entries[ACLCommandIndex.id(of: spec)].spec.fullName, spec.fullName)
        }
        XCTAssertNotNil(ACLCommandIndex.lookup(Array("CONFIG|GET".utf8)))
        XCTAssertNil(ACLCommandIndex.lookup(Array("get|x".utf8)))
        XCTAssertNil(ACLCommandIndex.lookup(Array("config|get|x".utf8)))
    }
}

/// Replies through the real dispatcher for what the corpus masks or cannot see.
final class ACLInProcessTests: InProcessTestCase {
    func testGetUserShapeInRESP3() {
        run("ACL", "SETUSER", "u", "on", ">p", "~k", "&c", "+get", "(+set ~s)")
        run("HELLO", "3")
        let reply = run("ACL", "GETUSER", "u")
        XCTAssertEqual(reply, "%6\r\n$5\r\nflags\r\n~1\r\n$2\r\non\r\n"
            + "$9\r\npasswords\r\n*1\r\n$64\r\n\(aclHashPassword(Array("p".utf8)))\r\n"
            + "$8\r\ncommands\r\n$10\r\n-@all +get\r\n$4\r\nkeys\r\n$2\r\n~k\r\n$8\r\nchannels\r\n$2\r\n&c\r\n"
            + "$9\r\nselectors\r\n*1\r\n%3\r\n$8\r\ncommands\r\n$10\r\n-@all +set\r\n$4\r\nkeys\r\n$2\r\n~s\r\n"
            + "$8\r\nchannels\r\n$0\r\n\r\n")
    }

    func testClientListShowsUserAndGateCounts() {
        run("ACL", "SETUSER", "u", "on", "nopass", "+client|info", "+get")
        XCTAssertEqual(run("AUTH", "u", "x"), "+OK\r\n")
        XCTAssertTrue(run("CLIENT", "INFO").contains(" user=u "))
        XCTAssertEqual(run("SET", "k", "v"), "-NOPERM this user has no permissions to run the 'set' command\r\n")
        XCTAssertEqual(server.commands.lookup("set")?.rejectedCalls, 1)
        XCTAssertEqual(server.acl.log.first?.reason, .command)
        XCTAssertEqual(server.acl.log.first?.object, Array("set".utf8))
        XCTAssertTrue(server.acl.log.first?.clientInfo.contains("user=u") ?? false)
    }

    func testLogGroupsWithinAMinute() {
        run("ACL", "SETUSER", "u", "on", "nopass")
        run("AUTH", "u", "x")
        run("GET", "k")
        server.acl.log[0].ctime -= 30_000  // as if it were 30 s ago
        run("GET", "k")
        XCTAssertEqual(server.acl.log.count, 1)
        XCTAssertEqual(server.acl.log[0].count, 2)
        server.acl.log[0].ctime -= 61_000
        run("GET", "k")
        XCTAssertEqual(server.acl.log.count, 2, "over 60 s apart: a new entry")
        run("AUTH", "default", "x")
        XCTAssertTrue(run("ACL", "LOG", "1").contains("$11\r\nage-seconds\r\n$1\r\n0\r\n"))
    }

    func testRequirepassIsTheDefaultPassword() {
        var cfg = server.config
        cfg.requirepass = "s3"
        server.applyConfig(cfg)
        XCTAssertEqual(server.acl.defaultUser.passwords, [aclHashPassword(Array("s3".utf8))])
        XCTAssertFalse(server.createClient(now: 0).authenticated)
        cfg.requirepass = ""
        server.applyConfig(cfg)
        XCTAssertTrue(server.acl.defaultUser.flags.contains(.nopass))
        XCTAssertTrue(server.createClient(now: 0).authenticated)
    }

    func testConfigRewriteWritesUsers() {
        run("ACL", "SETUSER", "zed", "on", ">p", "+get")
        let users = server.acl.sortedUsers.map(\.configLine)
        let text = ConfigCommand.rewriteConfig(old: "port 6379\nuser old on\n", config: server.config, userLines: users)
        XCTAssertTrue(text.contains("user default on nopass ~* &* +@all\n"), text)
        XCTAssertTrue(text.contains("user zed on #\(aclHashPassword(Array("p".utf8))) resetchannels -@all +get\n"), text)
        XCTAssertFalse(text.contains("user old"), text)
        let none = ConfigCommand.rewriteConfig(old: "port 6379\nuser old on\n", config: server.config, userLines: [])
        XCTAssertFalse(none.contains("user "), none)
    }
}
