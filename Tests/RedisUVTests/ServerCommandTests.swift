import XCTest
@testable import RedisUV

/// Pure logic behind COMMAND, CONFIG, DEBUG and MEMORY, with expected values taken
/// from a real redis-server 7.0.15.
final class ServerCommandTests: XCTestCase {
    func makeServer() -> Server {
        Server(config: ServerConfig(), log: Logger(level: "warning"))
    }

    /// Runs one command on a fresh client of `server` and returns the reply bytes.
    func run(_ server: Server, _ args: [String], resp: Int = 2, _ proc: CommandProc) -> String {
        let c = server.createClient(now: server.cachedTimeMs)
        c.resp = resp
        let owned = OwnedArgv(strings: args)
        proc(c, owned.argv)
        return String(decoding: c.out.bytes, as: UTF8.self)
    }

    // MARK: COMMAND

    func testCommandInfoGetRESP3MatchesRedis() {
        let server = makeServer()
        let reply = run(server, ["COMMAND", "INFO", "get"], resp: 3, CommandCommand.info)
        XCTAssertEqual(reply, "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n")
        XCTAssertEqual(run(server, ["COMMAND", "INFO", "nosuch"], resp: 3, CommandCommand.info), "*1\r\n_\r\n")
        XCTAssertEqual(run(server, ["COMMAND", "INFO", "config|get"], resp: 3, CommandCommand.info),
                       "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n~4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n~3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n~0\r\n~0\r\n~0\r\n")
    }

    func testCommandDocsRESP3MatchesRedis() {
        let server = makeServer()
        XCTAssertEqual(run(server, ["COMMAND", "DOCS", "get"], resp: 3, CommandCommand.docs),
                       "%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n")
        XCTAssertEqual(run(server, ["COMMAND", "DOCS", "config|get"], resp: 3, CommandCommand.docs),
                       "%1\r\n$10\r\nconfig|get\r\n%6\r\n$7\r\nsummary\r\n$42\r\nGet the values of configuration parameters\r\n$5\r\nsince\r\n$5\r\n2.0.0\r\n$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$62\r\nO(N) when N is the number of configuration parameters provided\r\n$7\r\nhistory\r\n~1\r\n*2\r\n$5\r\n7.0.0\r\n$65\r\nAdded the ability to pass multiple pattern parameters in one call\r\n$9\r\narguments\r\n*1\r\n%4\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$5\r\nblock\r\n$5\r\nflags\r\n~1\r\n+multiple\r\n$9\r\narguments\r\n*1\r\n%2\r\n$4\r\nname\r\n$9\r\nparameter\r\n$4\r\ntype\r\n$6\r\nstring\r\n")
        XCTAssertEqual(run(server, ["COMMAND", "DOCS", "nosuch"], resp: 3, CommandCommand.docs), "%0\r\n")
        XCTAssertEqual(run(server, ["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "get"], resp: 3, CommandCommand.getkeysAndFlags),
                       "*1\r\n*2\r\n$1\r\nk\r\n~3\r\n+RW\r\n+access\r\n+update\r\n")
    }

    func keys(_ command: String, _ args: [String]) throws -> [Int] {
        let spec = try XCTUnwrap(CommandSpecs.named(command))
        return KeyExtraction.keys(spec, ([command] + args).map { Array($0.utf8) }).map(\.position)
    }

    /// Key extraction for commands other families will register, against what
    /// COMMAND GETKEYS answers on Redis 7.0.15.
    func testKeyExtractionUsesSpecsThenGetkeysFunctions() throws {
        XCTAssertEqual(try keys("get", ["a"]), [1])
        XCTAssertEqual(try keys("mset", ["a", "1", "b", "2"]), [1, 3])
        XCTAssertEqual(try keys("mset", ["a", "1", "b"]), [1, 3], "Redis 7.0.15 answers a, b")
        XCTAssertEqual(try keys("eval", ["s", "0"]), [], "no keys: NO_MANDATORY_KEYS gives an empty array")
        XCTAssertEqual(try keys("eval", ["s", "2", "k1", "k2", "arg"]), [3, 4])
        XCTAssertEqual(try keys("zunionstore", ["d", "5", "a", "b"]), [], "Invalid arguments specified for command")
        XCTAssertEqual(try keys("zunionstore", ["d", "2", "a", "b"]), [1, 3, 4])
        XCTAssertEqual(try keys("sort", ["a", "store", "b"]), [1, 3])
        XCTAssertEqual(try keys("sort", ["a", "limit", "0", "1", "get", "x", "store", "b"]), [1, 8])
        XCTAssertEqual(try keys("lmove", ["a", "b", "left", "right"]), [1, 2])
        XCTAssertEqual(try keys("xread", ["count", "2", "streams", "s1", "s2", "0", "0"]), [4, 5])
        XCTAssertEqual(try keys("migrate", ["h", "p", "", "0", "5", "keys", "a", "b"]), [7, 8])
        let set = try XCTUnwrap(CommandSpecs.named("set"))
        let flags = KeyExtraction.keys(set, ["set", "k", "v"].map { Array($0.utf8) }).map(\.flags)
        XCTAssertEqual(flags, [["OW", "update"]])
        let bitfield = try XCTUnwrap(CommandSpecs.named("bitfield"))
        XCTAssertEqual(KeyExtraction.keys(bitfield, ["bitfield", "k", "get", "u8", "0"].map { Array($0.utf8) }).map(\.flags),
                       [["RO", "access"]])
        XCTAssertEqual(KeyExtraction.atoi(Array(" 12abc".utf8)), 12)
        XCTAssertEqual(KeyExtraction.atoi(Array("-3".utf8)), -3)
        XCTAssertEqual(KeyExtraction.atoi(Array("x".utf8)), 0)
    }

    // MARK: CONFIG

    func testMemtoull() {
        XCTAssertEqual(memtoull("1gb"), 1 << 30)
        XCTAssertEqual(memtoull("1G"), 1_000_000_000)
        XCTAssertEqual(memtoull("10K"), 10_000)
        XCTAssertEqual(memtoull("10kb"), 10_240)
        XCTAssertEqual(memtoull("123"), 123)
        XCTAssertEqual(memtoull(""), 0, "Redis accepts an empty memory value as 0")
        XCTAssertNil(memtoull("-1"))
        XCTAssertNil(memtoull("1.5mb"))
        XCTAssertNil(memtoull("1zb"))
        XCTAssertNil(memtoull("+5"))
        XCTAssertEqual(memtoull("18446744073709551616"), UInt64.max, "strtoull saturates")
        XCTAssertNil(memtoull("18446744073709551615gb"))
        XCTAssertEqual(formatMemoryForRewrite(3 << 20), "3mb")
        XCTAssertEqual(formatMemoryForRewrite(3000), "3000")
        XCTAssertEqual(formatMemoryForRewrite(0), "0")
    }

    func testConfigSetIsAllOrNothing() {
        let server = makeServer()
        XCTAssertEqual(run(server, ["CONFIG", "SET", "timeout", "5", "maxmemory", "x"], ConfigCommand.set),
                       "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n")
        XCTAssertEqual(server.config.timeout, 0)
        XCTAssertEqual(run(server, ["CONFIG", "SET", "timeout", "5", "hz", "20"], ConfigCommand.set), "+OK\r\n")
        XCTAssertEqual(server.config.timeout, 5)
        XCTAssertEqual(server.config.hz, 20)
        XCTAssertEqual(run(server, ["CONFIG", "SET", "timeout", "1", "TIMEOUT", "2"], ConfigCommand.set),
                       "-ERR CONFIG SET failed (possibly related to argument 'TIMEOUT') - duplicate parameter\r\n")
        XCTAssertEqual(run(server, ["CONFIG", "SET", "databases", "1", "nosuch", "2"], ConfigCommand.set),
                       "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n")
        XCTAssertEqual(run(server, ["CONFIG", "SET", "nosuch", "1", "databases", "2"], ConfigCommand.set),
                       "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n")
        XCTAssertEqual(run(server, ["CONFIG", "SET", "dir", "/tmp"], ConfigCommand.set),
                       "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config\r\n")
        XCTAssertEqual(run(server, ["CONFIG", "SET", "a", "b", "c"], ConfigCommand.set), "-ERR syntax error\r\n")
        XCTAssertEqual(server.config.timeout, 5)
    }

    func testConfigGetSpellingAndAliases() {
        let server = makeServer()
        XCTAssertEqual(run(server, ["CONFIG", "GET", "MAXMEMORY", "maxmemory"], ConfigCommand.get),
                       "*2\r\n$9\r\nMAXMEMORY\r\n$1\r\n0\r\n")
        XCTAssertEqual(run(server, ["CONFIG", "GET", "slaveof"], ConfigCommand.get), "*2\r\n$7\r\nslaveof\r\n$0\r\n\r\n")
        let both = run(server, ["CONFIG", "GET", "*-read-only"], ConfigCommand.get)
        XCTAssertTrue(both.hasPrefix("*4\r\n") && both.contains("slave-read-only") && both.contains("replica-read-only"))
        XCTAssertEqual(run(server, ["CONFIG", "GET", "maxmemory"], resp: 3, ConfigCommand.get), "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
    }

    func testKeyspaceEventFlags() {
        XCTAssertEqual(KeyspaceEventFlags.format(KeyspaceEventFlags.parse("KEA")!), "AKE")
        XCTAssertEqual(KeyspaceEventFlags.format(KeyspaceEventFlags.parse("g$lshzxetdKEmn")!), "AKEm")
        XCTAssertEqual(KeyspaceEventFlags.format(KeyspaceEventFlags.parse("Ex")!), "xE")
        XCTAssertNil(KeyspaceEventFlags.parse("q"))
        XCTAssertEqual(KeyspaceEventFlags.parse(""), 0)
    }

    /// What redis-server 7.0.15 wrote for the same file and settings (checked by hand):
    /// the first `maxmemory` line updated, the second blanked, blank runs merged, the
    /// alias line rewritten under its name, new options after the signature.
    func testRewriteKeepsLayoutAndAppendsChanges() {
        var config = ServerConfig()
        config.port = 7514
        config.maxmemory = 3 << 20
        config.save = []
        config.dir = "/tmp"
        config.hz = 20
        config.notifyKeyspaceEvents = KeyspaceEventFlags.parse("KEx")!
        let old = "# my config\nport 7514\nmaxmemory 2mb\nmaxmemory 1mb\n\n\nslave-read-only yes\nlogfile \"\"\n"
        let new = ConfigCommand.rewriteConfig(old: old, config: config)
        let lines = new.components(separatedBy: "\n")
        XCTAssertEqual(Array(lines.prefix(7)), ["# my config", "port 7514", "maxmemory 3mb", "", "replica-read-only yes",
                                               "logfile \"\"", ""])
        XCTAssertEqual(lines[7], "# Generated by CONFIG REWRITE")
        XCTAssertTrue(lines.contains("hz 20"))
        XCTAssertTrue(lines.contains("save \"\""))
        XCTAssertTrue(lines.contains("notify-keyspace-events \"xKE\""))
        XCTAssertTrue(lines.contains("latency-tracking-info-percentiles 50 99 99.9"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("timeout") }, "defaults are not added")
        XCTAssertTrue(new.hasSuffix("\n"))
        // A second rewrite finds the signature and changes nothing but the last line:
        // the file's final newline reads as one more (empty) line, as in Redis 7.0.15,
        // where options appended later come after a blank line.
        XCTAssertEqual(ConfigCommand.rewriteConfig(old: new, config: config), new + "\n")
        config.timeout = 7
        XCTAssertTrue(ConfigCommand.rewriteConfig(old: new, config: config).hasSuffix("\n\ntimeout 7\n"))
    }

    func testQuoteForConfig() {
        XCTAssertEqual(quoteForConfig("a b\"c"), "\"a b\\\"c\"")
        XCTAssertEqual(quoteForConfig(""), "\"\"")
        XCTAssertEqual(quoteForConfig("\u{1}\n"), "\"\\x01\\n\"")
    }

    // MARK: DEBUG / MEMORY

    /// serializedlength values DEBUG OBJECT printed on redis-server 7.0.15.
    func testSerializedLengthMatchesRedis() {
        func length(_ s: String) -> Int {
            let bytes = Array(s.utf8)
            return bytes.withUnsafeBytes {
                DebugCommand.serializedStringLength($0, encoding: stringEncoding(for: $0), compression: true)
            }
        }
        XCTAssertEqual(length("bar"), 4)
        XCTAssertEqual(length(""), 1)
        XCTAssertEqual(length("12345"), 3)
        XCTAssertEqual(length("123"), 2)
        XCTAssertEqual(length("-5"), 2)
        XCTAssertEqual(length("12345678901234"), 15)
        XCTAssertEqual(length(String(repeating: "a", count: 90)), 13)
        XCTAssertEqual(length("hello world this is a longer string with some repetition repetition repetition"), 69)
        XCTAssertEqual(length("abcdefghijklmnopqrstuvwxyz0123456789"), 37)
        XCTAssertEqual(length("abcabcabcabcabcabcabcabcabcabcxyzxyzxyzxyz1234567890"), 29)
    }

    func testMemoryUsageCountsTheAllocation() {
        let server = makeServer()
        let key = Array("key".utf8), value = Array(repeating: UInt8(ascii: "v"), count: 100)
        let entry = key.withUnsafeBytes { k in value.withUnsafeBytes { v in KeyEntry.make(key: k, value: v, lru: 0) } }
        server.db(0).add(entry)
        let usage = ServerCommands.entryMemoryUsage(entry, table: server.db(0).table)
        XCTAssertGreaterThanOrEqual(usage, 103 + MemoryLayout<KeyEntryHeader>.size)
        XCTAssertLessThan(usage, 512)
        XCTAssertEqual(run(server, ["MEMORY", "USAGE", "nokey"], ServerCommands.memoryUsage), "$-1\r\n")
        XCTAssertEqual(run(server, ["MEMORY", "USAGE", "key"], ServerCommands.memoryUsage), ":\(usage)\r\n")
    }

    func testShutdownRefusals() {
        let server = makeServer()
        XCTAssertEqual(run(server, ["SHUTDOWN", "save", "nosave"], ServerCommands.shutdown), "-ERR syntax error\r\n")
        XCTAssertEqual(run(server, ["SHUTDOWN", "abort"], ServerCommands.shutdown), "-ERR No shutdown in progress.\r\n")
        XCTAssertEqual(run(server, ["SHUTDOWN", "save"], ServerCommands.shutdown), "-ERR Errors trying to SHUTDOWN. Check logs.\r\n")
        XCTAssertFalse(server.shutdownRequested)
        XCTAssertEqual(run(server, ["SHUTDOWN", "nosave"], ServerCommands.shutdown), "")
        XCTAssertTrue(server.shutdownRequested)
    }
}
