import XCTest
@testable import RedisUV

/// Facts checked against a real redis-server 7.0.15 (COMMAND INFO / COMMAND DOCS).
final class CommandSpecTests: XCTestCase {
    private func spec(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> CommandSpec {
        try XCTUnwrap(CommandSpecs.named(name), "no command \(name)", file: file, line: line)
    }

    func testCountsMatchRedis() {
        // COMMAND COUNT on Redis 7.0.15 (not in sentinel mode) says 240.
        XCTAssertEqual(CommandSpecs.all.count, 240)
        XCTAssertEqual(CommandSpecs.allIncludingSubcommands.count, 366)
        XCTAssertEqual(CommandSpecs.all.map(\.name), CommandSpecs.all.map(\.name).sorted())
        XCTAssertNil(CommandSpecs.named("sentinel"), "sentinel-only commands are not registered")
        XCTAssertNil(CommandSpecs.named("nosuchcommand"))
        XCTAssertNil(CommandSpecs.named("config|nosuchsub"))
    }

    func testGet() throws {
        let get = try spec("get")
        XCTAssertEqual(get.name, "get")
        XCTAssertEqual(get.fullName, "get")
        XCTAssertNil(get.containerName)
        XCTAssertEqual(get.arity, 2)
        XCTAssertEqual(get.flags, [.readonly, .fast])
        XCTAssertEqual(get.flags.redisNames, ["readonly", "fast"])
        XCTAssertEqual(get.aclCategories, ["@read", "@string", "@fast"])
        XCTAssertEqual([get.firstKey, get.lastKey, get.keyStep], [1, 1, 1])
        XCTAssertEqual(get.keySpecs, [KeySpec(notes: nil, flags: ["RO", "access"],
                                              beginSearch: .index(pos: 1),
                                              findKeys: .range(lastKey: 0, step: 1, limit: 0))])
        XCTAssertEqual(get.group, "string")
        XCTAssertEqual(get.since, "1.0.0")
        XCTAssertEqual(get.complexity, "O(1)")
        XCTAssertEqual(get.summary, "Get the value of a key")
        XCTAssertTrue(get.subcommands.isEmpty)
        XCTAssertFalse(get.isContainer)
    }

    func testSet() throws {
        let set = try spec("set")
        XCTAssertEqual(set.arity, -3)
        XCTAssertEqual(set.flags.redisNames, ["write", "denyoom"], "a getkeys function alone is not movablekeys in 7.0.15")
        XCTAssertEqual(set.aclCategories, ["@write", "@string", "@slow"])
        XCTAssertEqual(set.keySpecs.count, 1)
        let keySpec = set.keySpecs[0]
        XCTAssertEqual(keySpec.notes, "RW and ACCESS due to the optional `GET` argument")
        XCTAssertEqual(keySpec.flags, ["RW", "access", "update", "variable_flags"])
        XCTAssertEqual(keySpec.beginSearch, .index(pos: 1))
        XCTAssertEqual(keySpec.findKeys, .range(lastKey: 0, step: 1, limit: 0))
        XCTAssertEqual(set.history.first, CommandHistoryEntry(since: "2.6.12", change: "Added the `EX`, `PX`, `NX` and `XX` options."))
        XCTAssertEqual(set.history.count, 4)
        XCTAssertEqual(set.arguments.map(\.name), ["key", "value", "condition", "get", "expiration"])
        XCTAssertEqual(set.arguments[0].type, "key")
        XCTAssertEqual(set.arguments[0].keySpecIndex, 0)
        let condition = set.arguments[2]
        XCTAssertEqual(condition.type, "oneof")
        XCTAssertEqual(condition.flags.redisNames, ["optional"])
        XCTAssertEqual(condition.since, "2.6.12")
        XCTAssertEqual(condition.arguments.map { $0.token ?? "" }, ["NX", "XX"])
    }

    func testConfigContainer() throws {
        let config = try spec("config")
        XCTAssertTrue(config.isContainer)
        XCTAssertEqual(config.arity, -2)
        XCTAssertEqual(config.flags, [])
        XCTAssertEqual(config.aclCategories, ["@slow"])
        XCTAssertEqual(config.subcommands.map(\.name), ["get", "help", "resetstat", "rewrite", "set"])

        let get = try XCTUnwrap(config.subcommand(named: "get"))
        XCTAssertIdentical(get, CommandSpecs.named("config|get"))
        XCTAssertEqual(get.name, "get")
        XCTAssertEqual(get.fullName, "config|get")
        XCTAssertEqual(get.containerName, "config")
        XCTAssertEqual(get.arity, -3, "subcommand arity counts the container name too")
        XCTAssertEqual(get.flags.redisNames, ["admin", "noscript", "loading", "stale"])
        XCTAssertEqual(get.aclCategories, ["@admin", "@slow", "@dangerous"])
        XCTAssertEqual([get.firstKey, get.lastKey, get.keyStep], [0, 0, 0])

        let configSet = try XCTUnwrap(config.subcommand(named: "set"))
        XCTAssertEqual(configSet.tips, ["request_policy:all_nodes", "response_policy:all_succeeded"])
    }

    func testLegacyRangeAndMovableKeys() throws {
        let mset = try spec("mset")
        XCTAssertEqual([mset.firstKey, mset.lastKey, mset.keyStep], [1, -1, 2])
        let lcs = try spec("lcs")  // two range specs glued together
        XCTAssertEqual([lcs.firstKey, lcs.lastKey, lcs.keyStep], [1, 2, 1])
        let zinterstore = try spec("zinterstore")
        XCTAssertEqual([zinterstore.firstKey, zinterstore.lastKey, zinterstore.keyStep], [1, 1, 1])
        XCTAssertTrue(zinterstore.flags.contains(.movableKeys))
        XCTAssertEqual(zinterstore.keySpecs[1].findKeys, .keynum(keyNumIndex: 0, firstKey: 1, step: 1))
        let migrate = try spec("migrate")
        XCTAssertEqual([migrate.firstKey, migrate.lastKey, migrate.keyStep], [3, 3, 1])
        XCTAssertEqual(migrate.keySpecs[1].beginSearch, .keyword(keyword: "KEYS", startFrom: -2))
        XCTAssertEqual(migrate.keySpecs[1].flags, ["RW", "access", "delete", "incomplete"])
        let sortRO = try spec("sort_ro")
        XCTAssertEqual(sortRO.keySpecs[1].beginSearch, .unknown)
        XCTAssertEqual(sortRO.keySpecs[1].findKeys, .unknown)
        XCTAssertEqual(sortRO.flags.redisNames, ["readonly", "movablekeys"])
        let xread = try spec("xread")
        XCTAssertEqual([xread.firstKey, xread.lastKey, xread.keyStep], [0, 0, 0])
        XCTAssertEqual(xread.aclCategories, ["@read", "@stream", "@slow", "@blocking"])
    }

    func testImplicitACLAndHiddenFlags() throws {
        // Readonly scripting commands are not put in @read.
        XCTAssertEqual(try spec("eval_ro").aclCategories, ["@slow", "@scripting"])
        let ping = try spec("ping")
        XCTAssertTrue(ping.flags.contains(.sentinel))
        XCTAssertEqual(ping.flags.redisNames, ["fast"], "sentinel is never printed")
        XCTAssertEqual(ping.aclCategories, ["@fast", "@connection"])
        let randomkey = try spec("randomkey")
        XCTAssertTrue(randomkey.flags.contains(.touchesArbitraryKeys))
        XCTAssertEqual(randomkey.flags.redisNames, ["readonly"])
        XCTAssertEqual(randomkey.tips, ["request_policy:all_shards", "nondeterministic_output"])
        let eval = try spec("eval")
        XCTAssertTrue(eval.flags.contains(.mayReplicate))
        XCTAssertEqual(eval.flags.redisNames, ["noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys"],
                       "may_replicate is never printed")
        XCTAssertEqual(try spec("flushall").aclCategories, ["@keyspace", "@write", "@slow", "@dangerous"])
    }

    func testDocs() throws {
        let brpoplpush = try spec("brpoplpush")
        XCTAssertEqual(brpoplpush.docFlags, ["deprecated"])
        XCTAssertEqual(brpoplpush.deprecatedSince, "6.2.0")
        XCTAssertEqual(brpoplpush.replacedBy, "`BLMOVE` with the `RIGHT` and `LEFT` arguments")
        XCTAssertEqual(try spec("monitor").complexity, "", "no complexity in Redis's JSON")
        XCTAssertEqual(try spec("zadd").group, "sorted-set")
        XCTAssertEqual(try spec("pfdebug").docFlags, ["syscmd"])
        // As Redis's build compiles them: names lowercased, tokens uppercased,
        // MIGRATE's '""' token read as a C literal (empty).
        XCTAssertEqual(try spec("xdel").arguments.map(\.name), ["key", "id"])
        XCTAssertEqual(try spec("geodist").arguments[3].arguments.map { $0.token ?? "-" }, ["M", "KM", "FT", "MI"])
        let migrate = try spec("migrate")
        XCTAssertEqual(migrate.arguments[2].arguments[1].token, "")
        let clientKill = try spec("client|kill")
        XCTAssertEqual(clientKill.arguments[0].arguments[0].deprecatedSince, "2.8.12")
        let tracking = try spec("client|tracking")
        XCTAssertEqual(tracking.arguments[2].flags.redisNames, ["optional", "multiple", "multiple_token"])
    }
}
