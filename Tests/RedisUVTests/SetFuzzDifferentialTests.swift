import XCTest

/// Seeded random set commands sent in lockstep to redis-server and redis-uv, replies
/// compared byte for byte. Where Redis leaves the order open (a hashtable's SMEMBERS, the
/// algebra commands, SSCAN) replies compare as multisets. SPOP and SRANDMEMBER pick at
/// random: their shape (types, counts) is compared, and redis-uv's picks must be distinct
/// where Redis promises it and members of the set; after a SPOP the key is rebuilt alike on
/// both servers (same members, same encoding) so the runs stay in lockstep.
///
/// Environment: `SET_FUZZ_SEED` (default 20261124), `SET_FUZZ_OPS` (default 6000).
final class SetFuzzDifferentialTests: XCTestCase {

    enum Check {
        case exact
        /// SMEMBERS: exact for an intset (ascending), a multiset for a hashtable.
        case unorderedIfTable(key: [UInt8])
        /// Order may differ (compare as multisets) when the reference reply is not exact.
        case unordered
        /// SPOP / SRANDMEMBER: shape only, picks checked against the set's members.
        case random(key: [UInt8], distinct: Bool, pops: Bool)
        /// SSCAN: a full iteration on each side, compared as sets of members.
        case scan
    }

    private var rng = SeededRandom(state: 0)

    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }

    private let keys: [[UInt8]] = ["s0", "s1", "s2", "s3", "str", "missing"].map { Array($0.utf8) }
    private func setKey() -> [UInt8] { chance(90) ? pick(Array(keys[0..<4])) : pick(keys) }

    /// Mostly small integers (so intsets form and meet), some strings with binary bytes,
    /// near-integers, extremes and long members.
    private func member() -> [UInt8] {
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<55: return b(String(Int.random(in: -5...40, using: &rng)))
        case 55..<80:
            let alphabet: [UInt8] = [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c"), 0, 0xFF, 13, 10]
            return (0..<Int.random(in: 0...2, using: &rng)).map { _ in pick(alphabet) }
        case 80..<90: return b("m\(Int.random(in: 0..<150, using: &rng))")
        default:
            return pick([b("-0"), b("01"), b("+1"), b(" 1"), b("1.0"), b("9223372036854775807"), b("-9223372036854775808"),
                         b("9223372036854775808"), b("70000"), b("-70000"), b("5000000000"),
                         [UInt8](repeating: UInt8(ascii: "L"), count: 65), [UInt8](repeating: UInt8(ascii: "M"), count: 64)])
        }
    }

    private func members(_ range: ClosedRange<Int>) -> [[UInt8]] {
        (0..<Int.random(in: range, using: &rng)).map { _ in member() }
    }

    private func count() -> [UInt8] {
        b(String(pick([0, 1, 2, 3, 5, 10, 100, -1, -2, -5, -20])))
    }

    private func keyList() -> [[UInt8]] { (0..<Int.random(in: 1...4, using: &rng)).map { _ in setKey() } }

    /// One random command and how to compare its replies.
    private func command() -> ([[UInt8]], Check) {
        let key = setKey()
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<14:
            // Now and then a big add, to grow past the compact forms.
            return ([b("SADD"), key] + members(chance(8) ? 40...120 : 1...5), .exact)
        case 14..<22: return ([b("SREM"), key] + members(1...4), .exact)
        case 22..<25: return ([b("SCARD"), key], .exact)
        case 25..<30: return ([b("SISMEMBER"), key, member()], .exact)
        case 30..<34: return ([b("SMISMEMBER"), key] + members(1...4), .exact)
        case 34..<40: return ([b("SMEMBERS"), key], .unorderedIfTable(key: key))
        case 40..<46:
            if chance(30) { return ([b("SPOP"), key], .random(key: key, distinct: true, pops: true)) }
            let c = chance(90) ? b(String(pick([0, 1, 2, 3, 5, 10, 100]))) : pick([b("-1"), b("x")])
            return ([b("SPOP"), key, c], .random(key: key, distinct: true, pops: true))
        case 46..<52:
            if chance(25) { return ([b("SRANDMEMBER"), key], .random(key: key, distinct: false, pops: false)) }
            let c = count()
            let n = Int(String(decoding: c, as: UTF8.self))!
            return ([b("SRANDMEMBER"), key, c], .random(key: key, distinct: n > 0, pops: false))
        case 52..<58: return ([b("SMOVE"), key, setKey(), member()], .exact)
        case 58..<63: return ([b("SINTER")] + keyList(), .unordered)
        case 63..<67:
            let ks = keyList()
            var args = [b("SINTERCARD"), b(String(ks.count))] + ks
            if chance(40) { args += [b("LIMIT"), b(String(pick([0, 1, 2, 5, -1])))] }
            return (args, .exact)
        case 67..<71: return ([b("SINTERSTORE"), setKey()] + keyList(), .exact)
        case 71..<75: return ([b("SUNION")] + keyList(), .unordered)
        case 75..<79: return ([b("SUNIONSTORE"), setKey()] + keyList(), .exact)
        case 79..<83: return ([b("SDIFF")] + keyList(), .unordered)
        case 83..<87: return ([b("SDIFFSTORE"), setKey()] + keyList(), .exact)
        case 87..<91:
            var args = [b("SSCAN"), key, b("0")]
            if chance(40) { args += [b("MATCH"), pick([b("*"), b("1*"), b("?"), b("[ab]*"), b("m1*"), b("*0")])] }
            if chance(40) { args += [b("COUNT"), b(String(pick([1, 2, 5, 100])))] }
            return (args, .scan)
        case 91..<95: return ([b("OBJECT"), b("ENCODING"), key], .exact)
        case 95..<96: return ([b("TYPE"), key], .exact)
        case 96..<97: return ([b("DEL"), key], .exact)
        case 97..<98: return ([b("SET"), key, b("string")], .exact)
        default:
            return ([b("CONFIG"), b("SET"), b("set-max-intset-entries"), b(String(pick([0, 1, 2, 4, 8, 64, 512])))], .exact)
        }
    }

    func testRandomSetOperations() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("SET", seed: 20_261_124, ops: 6000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "set fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let ref = servers.refs, sub = servers.subs

        var mismatches = 0
        var counts: [String: Int] = [:]
        for step in 0..<ops {
            let (args, check) = command()
            let conn = chance(25) ? 1 : 0
            var before: [[UInt8]]? = nil
            if case .random(let key, _, _) = check { before = try membersOf(ref[0], key) }
            try ref[conn].send(command: args)
            try sub[conn].send(command: args)
            let expected = try ref[conn].readReply()
            let actual = try sub[conn].readReply()
            counts[String(decoding: args[0], as: UTF8.self), default: 0] += 1
            var why = try compare(expected, actual, check, args: args, before: before, ref: ref[conn], sub: sub[conn])
            if why == nil, case .random(let key, _, true) = check {
                why = try resync(key, ref: ref[0], sub: sub[0])
            }
            if let why {
                mismatches += 1
                XCTFail("""
                    set fuzz (seed \(seed)) step \(step) on RESP\(conn == 0 ? 2 : 3): \(why)
                      command: \(args.map { RespEscape.escape($0) }.joined(separator: " "))
                      redis-server: \(RespEscape.escape(expected))
                      redis-uv:     \(RespEscape.escape(actual))
                    """)
                if mismatches >= 5 { break }
            }
        }
        // The end state must agree too.
        for key in keys where mismatches == 0 {
            let e = try membersOf(ref[0], key)?.sorted { $0.lexicographicallyPrecedes($1) }
            let a = try membersOf(sub[0], key)?.sorted { $0.lexicographicallyPrecedes($1) }
            XCTAssertEqual(e, a, "final contents of \(String(decoding: key, as: UTF8.self))")
        }
        harnessLog("set fuzz: seed \(seed), \(ops) operations, \(mismatches) mismatches; "
                   + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(subject.isRunning, "redis-uv died:\n\(subject.log)")
    }

    // MARK: helpers

    /// The members of `key` (nil when it holds another type), over a RESP2 connection.
    private func membersOf(_ conn: RespConnection, _ key: [UInt8]) throws -> [[UInt8]]? {
        try conn.send(command: [b("SMEMBERS"), key])
        let v = try RespValue.parse(try conn.readReply())
        guard v.isAggregate else { return nil }
        return v.children.map { $0.payload ?? [] }
    }

    /// After a SPOP the servers hold different members: rebuild the key on both from the
    /// reference's members with the reference's encoding (a marker member forces a
    /// hashtable for integer-only members). Also checks that redis-uv kept as many.
    private func resync(_ key: [UInt8], ref: RespConnection, sub: RespConnection) throws -> String? {
        guard let members = try membersOf(ref, key) else { return nil }
        guard let left = try membersOf(sub, key) else { return "redis-uv's key changed type" }
        if left.count != members.count { return "redis-uv kept \(left.count) members, redis-server \(members.count)" }
        let encoding = try RespValue.parse(try ref.call("OBJECT", "ENCODING", String(decoding: key, as: UTF8.self))).text
        let marker: [UInt8] = [0xFF, 0x00, UInt8(ascii: "~")]
        for conn in [ref, sub] {
            _ = try conn.send(command: [b("DEL"), key])
            _ = try conn.readReply()
            if members.isEmpty { continue }
            if encoding == "intset" {
                try conn.send(command: [b("SADD"), key] + members)
                _ = try conn.readReply()
            } else {
                try conn.send(command: [b("SADD"), key, marker] + members)
                _ = try conn.readReply()
                try conn.send(command: [b("SREM"), key, marker])
                _ = try conn.readReply()
            }
        }
        let e = try ref.call("OBJECT", "ENCODING", String(decoding: key, as: UTF8.self))
        let a = try sub.call("OBJECT", "ENCODING", String(decoding: key, as: UTF8.self))
        return e == a ? nil : "encodings differ after rebuilding the key"
    }

    // MARK: comparisons

    private func compare(_ e: [UInt8], _ a: [UInt8], _ check: Check, args: [[UInt8]], before: [[UInt8]]?,
                         ref: RespConnection, sub: RespConnection) throws -> String? {
        switch check {
        case .exact:
            return e == a ? nil : "replies differ"
        case .unorderedIfTable(let key):
            if e == a { return nil }
            let encoding = try RespValue.parse(try ref.call("OBJECT", "ENCODING", String(decoding: key, as: UTF8.self)))
            guard encoding.text == "hashtable" else { return "replies differ (an intset's order is fixed)" }
            return try compare(e, a, .unordered, args: args, before: before, ref: ref, sub: sub)
        case .unordered:
            if e == a { return nil }
            let x = try RespValue.parse(e), y = try RespValue.parse(a)
            guard x.type == y.type, x.children.count == y.children.count else { return "types or lengths differ" }
            return sorted(x) == sorted(y) ? nil : "different members"
        case .random(_, let distinct, _):
            let x = try RespValue.parse(e), y = try RespValue.parse(a)
            if x.type != y.type || x.isNull != y.isNull { return "reply types differ: \(x.typeName) vs \(y.typeName)" }
            if x.type == UInt8(ascii: "-") || x.type == UInt8(ascii: ":") { return e == a ? nil : "replies differ" }
            let picks = y.isAggregate ? y.children.map { $0.payload ?? [] } : (y.payload.map { [$0] } ?? [])
            if x.isAggregate && x.children.count != y.children.count {
                return "counts differ: \(x.children.count) vs \(y.children.count)"
            }
            if distinct && Set(picks).count != picks.count { return "a member picked twice" }
            if let before {
                let all = Set(before)
                if let stranger = picks.first(where: { !all.contains($0) }) {
                    return "picked \(RespEscape.escape(stranger)), not a member"
                }
            }
            return nil
        case .scan:
            if e == a { return nil }
            let x = try fullScan(ref, args, first: e), y = try fullScan(sub, args, first: a)
            return x == y ? nil : "full scans differ: \(x.count) vs \(y.count) members"
        }
    }

    private func sorted(_ v: RespValue) -> [[UInt8]] {
        v.children.map(\.raw).sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// Every member a full SSCAN iteration returns (sorted, deduplicated), or the error.
    private func fullScan(_ conn: RespConnection, _ args: [[UInt8]], first: [UInt8]) throws -> [[UInt8]] {
        var reply = try RespValue.parse(first)
        var items = Set<[UInt8]>()
        var rounds = 0
        while true {
            guard reply.type == UInt8(ascii: "*"), reply.children.count == 2 else { return [reply.raw] }
            for m in reply.children[1].children { items.insert(m.raw) }
            let cursor = reply.children[0].payload ?? []
            if cursor == Array("0".utf8) { break }
            rounds += 1
            if rounds > 100_000 { return [Array("scan does not end".utf8)] }
            var next = args
            next[2] = cursor
            try conn.send(command: next)
            reply = try RespValue.parse(try conn.readReply())
        }
        return items.sorted { $0.lexicographicallyPrecedes($1) }
    }
}
