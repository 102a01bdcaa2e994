import XCTest

/// Seeded random hash commands sent in lockstep to redis-server and redis-uv, replies
/// compared byte for byte. Where Redis leaves the order open (a hashtable-encoded hash's
/// HKEYS/HVALS/HGETALL/HSCAN) the replies compare as multisets; HRANDFIELD's picks are
/// random, so only their shape (types, counts, nesting) is compared.
///
/// Environment: `HASH_FUZZ_SEED` (default 20261124), `HASH_FUZZ_OPS` (default 6000).
final class HashFuzzDifferentialTests: XCTestCase {

    enum Check {
        case exact
        /// Unordered when the reference reports the key as "hashtable".
        case unorderedIfTable(key: [UInt8], pairs: Bool)
        /// Random picks: shape only; `distinct` when a positive count promises distinct fields.
        case shape(distinct: Bool)
        /// HSCAN: a full iteration on each side, compared as a set of pairs.
        case scan
    }

    private var rng = SeededRandom(state: 0)

    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    private let keys: [[UInt8]] = ["h0", "h1", "h2", "h3", "str", "missing"].map { Array($0.utf8) }

    private func field() -> [UInt8] {
        if chance(70) {
            // A small alphabet, binary bytes included, so fields repeat often.
            let alphabet: [UInt8] = [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c"), 0, 0xFF, 13, 10]
            return (0..<Int.random(in: 0...2, using: &rng)).map { _ in pick(alphabet) }
        }
        return pick([b("f1"), b("f2"), b("10"), b("-3"), b("x*y"), b("[a]"), [UInt8](repeating: UInt8(ascii: "L"), count: 65),
                     [UInt8](repeating: UInt8(ascii: "M"), count: 64)])
    }

    private func value() -> [UInt8] {
        if chance(30) { return b(String(Int.random(in: -1000...1000, using: &rng))) }
        return pick([b(""), b("0"), b("1"), b("-5"), b("3.5"), b("1e3"), b(" 1"), b("+1"), b("007"), b("abc"),
                     b("9223372036854775807"), b("-9223372036854775808"), b("12345678901234567890"),
                     b("inf"), [0, 1, 0xFF], [UInt8](repeating: UInt8(ascii: "v"), count: 65),
                     [UInt8](repeating: UInt8(ascii: "w"), count: 64)])
    }

    private func count() -> [UInt8] {
        b(String(pick([0, 1, 2, 3, 5, 10, 100, -1, -2, -5, -20])))
    }

    /// One random command and how to compare its replies.
    private func command() -> ([[UInt8]], Check) {
        let key = pick(keys)
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<16:
            var args = [b(chance(85) ? "HSET" : "HMSET"), key]
            for _ in 0..<Int.random(in: 1...4, using: &rng) { args += [field(), value()] }
            if chance(3) { args.removeLast() }  // odd: an arity error
            return (args, .exact)
        case 16..<20: return ([b("HSETNX"), key, field(), value()], .exact)
        case 20..<28: return ([b("HGET"), key, field()], .exact)
        case 28..<31: return ([b("HMGET"), key] + (0..<Int.random(in: 1...4, using: &rng)).map { _ in field() }, .exact)
        case 31..<40: return ([b("HDEL"), key] + (0..<Int.random(in: 1...3, using: &rng)).map { _ in field() }, .exact)
        case 40..<43: return ([b("HLEN"), key], .exact)
        case 43..<46: return ([b("HSTRLEN"), key, field()], .exact)
        case 46..<49: return ([b("HEXISTS"), key, field()], .exact)
        case 49..<52: return ([b("HKEYS"), key], .unorderedIfTable(key: key, pairs: false))
        case 52..<55: return ([b("HVALS"), key], .unorderedIfTable(key: key, pairs: false))
        case 55..<60: return ([b("HGETALL"), key], .unorderedIfTable(key: key, pairs: true))
        case 60..<67:
            let incr = chance(80) ? b(String(Int.random(in: -100...100, using: &rng)))
                : pick([b("x"), b("9223372036854775807"), b("-9223372036854775808"), b("1.5")])
            return ([b("HINCRBY"), key, field(), incr], .exact)
        case 67..<73:
            let incr = chance(80) ? b(pick(["0.5", "-1.25", "3", "1e2", "0.1", "-0"]))
                : pick([b("x"), b("inf"), b("nan"), b("1e400"), b("")])
            return ([b("HINCRBYFLOAT"), key, field(), incr], .exact)
        case 73..<80:
            if chance(25) { return ([b("HRANDFIELD"), key], .shape(distinct: false)) }
            let c = count()
            let n = Int(String(decoding: c, as: UTF8.self))!
            var args = [b("HRANDFIELD"), key, c]
            if chance(50) { args.append(b(chance(90) ? "WITHVALUES" : "WITHVALUE")) }
            return (args, .shape(distinct: n > 0))
        case 80..<86:
            var args = [b("HSCAN"), key, b("0")]
            if chance(40) { args += [b("MATCH"), pick([b("*"), b("a*"), b("?"), b("[ab]*"), b("f*"), b("\\x*")])] }
            if chance(40) { args += [b("COUNT"), b(String(pick([1, 2, 5, 100])))] }
            return (args, .scan)
        case 86..<89: return ([b("OBJECT"), b("ENCODING"), key], .exact)
        case 89..<91: return ([b("TYPE"), key], .exact)
        case 91..<93: return ([b("DEL"), key], .exact)
        case 93..<95: return ([b("SET"), key, b("string")], .exact)
        case 95..<97:
            return ([b("CONFIG"), b("SET"), b("hash-max-listpack-entries"), b(String(pick([0, 1, 2, 4, 8, 16, 128, 512])))], .exact)
        case 97..<99:
            return ([b("CONFIG"), b("SET"), b("hash-max-listpack-value"), b(String(pick([0, 1, 2, 3, 8, 64])))], .exact)
        default:
            return ([b("COPY"), key, pick(keys), b("REPLACE")], .exact)
        }
    }

    func testRandomHashOperations() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("HASH", seed: 20_261_124, ops: 6000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "hash fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let ref = servers.refs, sub = servers.subs

        var mismatches = 0
        var counts: [String: Int] = [:]
        for step in 0..<ops {
            let (args, check) = command()
            let conn = chance(25) ? 1 : 0
            try ref[conn].send(command: args)
            try sub[conn].send(command: args)
            let expected = try ref[conn].readReply()
            let actual = try sub[conn].readReply()
            counts[String(decoding: args[0], as: UTF8.self), default: 0] += 1
            if let why = try compare(expected, actual, check, args: args, ref: ref[conn], sub: sub[conn]) {
                mismatches += 1
                XCTFail("""
                    hash fuzz (seed \(seed)) step \(step) on RESP\(conn == 0 ? 2 : 3): \(why)
                      command: \(args.map { RespEscape.escape($0) }.joined(separator: " "))
                      redis-server: \(RespEscape.escape(expected))
                      redis-uv:     \(RespEscape.escape(actual))
                    """)
                if mismatches >= 5 { break }
            }
        }
        harnessLog("hash fuzz: seed \(seed), \(ops) operations, \(mismatches) mismatches; "
                   + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(subject.isRunning, "redis-uv died:\n\(subject.log)")
    }

    // MARK: comparisons

    private func compare(_ e: [UInt8], _ a: [UInt8], _ check: Check, args: [[UInt8]],
                         ref: RespConnection, sub: RespConnection) throws -> String? {
        if e == a { return nil }
        switch check {
        case .exact:
            return "replies differ"
        case .unorderedIfTable(let key, let pairs):
            let encoding = try RespValue.parse(try ref.call("OBJECT", "ENCODING", String(decoding: key, as: UTF8.self)))
            guard encoding.text == "hashtable" else { return "replies differ (listpack order is fixed)" }
            let x = try RespValue.parse(e), y = try RespValue.parse(a)
            guard x.type == y.type, x.children.count == y.children.count else { return "types or lengths differ" }
            return groups(x, pairs ? 2 : 1) == groups(y, pairs ? 2 : 1) ? nil : "different elements"
        case .shape(let distinct):
            let x = try RespValue.parse(e), y = try RespValue.parse(a)
            if let why = sameShape(x, y) { return why }
            if distinct && y.isAggregate {
                let fields = y.children.map { $0.isAggregate ? $0.children[0].raw : $0.raw }
                let step = args.count == 4 && y.type == UInt8(ascii: "*") && !(y.children.first?.isAggregate ?? true) ? 2 : 1
                let picked = stride(from: 0, to: fields.count, by: step).map { fields[$0] }
                if Set(picked).count != picked.count { return "a positive count returned a field twice" }
            }
            return nil
        case .scan:
            let x = try fullScan(ref, args, first: e), y = try fullScan(sub, args, first: a)
            return x == y ? nil : "full scans differ: \(x.count) vs \(y.count) items"
        }
    }

    /// Sorted groups of `size` children (a field/value pair, or a single element).
    private func groups(_ v: RespValue, _ size: Int) -> [[[UInt8]]] {
        stride(from: 0, to: v.children.count, by: size)
            .map { i in v.children[i..<min(i + size, v.children.count)].map(\.raw) }
            .sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } }
    }

    private func sameShape(_ x: RespValue, _ y: RespValue) -> String? {
        if x.type != y.type { return "reply types differ: \(x.typeName) vs \(y.typeName)" }
        if x.isNull != y.isNull { return "null vs non-null" }
        if x.isAggregate {
            if x.children.count != y.children.count { return "lengths differ: \(x.children.count) vs \(y.children.count)" }
            for (c, d) in zip(x.children, y.children) {
                if let why = sameShape(c, d) { return why }
            }
            return nil
        }
        if x.isBulkLike { return nil }
        return x.raw == y.raw ? nil : "values differ"
    }

    /// Every pair a full HSCAN iteration returns (sorted, deduplicated), or the error.
    private func fullScan(_ conn: RespConnection, _ args: [[UInt8]], first: [UInt8]) throws -> [[[UInt8]]] {
        var reply = try RespValue.parse(first)
        var items = Set<[[UInt8]]>()
        var rounds = 0
        while true {
            guard reply.type == UInt8(ascii: "*"), reply.children.count == 2 else { return [[reply.raw]] }
            let list = reply.children[1].children
            for i in stride(from: 0, to: list.count - 1, by: 2) { items.insert([list[i].raw, list[i + 1].raw]) }
            let cursor = reply.children[0].payload ?? []
            if cursor == Array("0".utf8) { break }
            rounds += 1
            if rounds > 100_000 { return [[Array("scan does not end".utf8)]] }
            var next = args
            next[2] = cursor
            try conn.send(command: next)
            reply = try RespValue.parse(try conn.readReply())
        }
        return items.sorted { $0.lexicographicallyPrecedes($1) { $0.lexicographicallyPrecedes($1) } }
    }
}
