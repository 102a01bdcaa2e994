import XCTest
import Foundation

/// Seeded random sorted-set commands sent in lockstep to redis-server and redis-uv; the
/// raw replies must be identical. Random members come from a small alphabet (binary bytes,
/// integers, a member too long for a listpack), the listpack limit changes now and then so
/// sets cross encodings, and some keys hold strings. Replies Redis leaves random or
/// unordered (ZRANDMEMBER, ZSCAN of a skiplist) are compared by shape or sorted.
/// Lexicographic commands only go to keys whose members all score 0: over mixed scores a
/// skiplist's answer depends on its random levels, in Redis too.
///
/// `ZSET_FUZZ_OPS=N` changes the number of operations (default 20000), `ZSET_FUZZ_SEED=S`
/// the seed.
final class SortedSetFuzzDifferentialTests: XCTestCase {

    var rng = SeededRandom(state: 1)

    func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    let keys = ["z0", "z1", "z2", "z3", "nokey", "str"]
    let lexKeys = ["lex0", "lex1"]
    let members: [String] = ["a", "b", "c", "d", "aa", "ab", "b\u{0}", "\u{0}", "10", "-1", "", "zz",
                             "m1", "m2", "m3", "m4", "m5", "m6", String(repeating: "L", count: 70)]
    let scores = ["0", "1", "-1", "2", "3.5", "-2.25", "0.1", "1e3", "100", "inf", "-inf", "+inf",
                  "1.7976931348623157e308", "5e-324", "-0", "42", "7"]

    func member() -> [UInt8] {
        if chance(0.05) { return [0xff, 0x00, UInt8(int(0...255))] }
        return Array(pick(members).utf8)
    }
    func score() -> String { chance(0.1) ? String(Double(int(-1000...1000)) / 8) : pick(scores) }
    func scoreBound() -> String {
        let s = pick(["0", "1", "2", "3.5", "-1", "-inf", "+inf", "100", "7", "0.1"])
        return chance(0.3) ? "(" + s : s
    }
    func lexBound() -> [UInt8] {
        if chance(0.15) { return Array(pick(["-", "+"]).utf8) }
        return Array(pick(["[", "("]).utf8) + member()
    }
    func key() -> String { pick(keys) }
    func zkey() -> String { pick(["z0", "z1", "z2", "z3"]) }

    /// One random command: its arguments and how to compare its replies.
    enum Compare { case exact, shape, sortedScan }

    func command() -> ([[UInt8]], Compare) {
        func b(_ s: String) -> [UInt8] { Array(s.utf8) }
        let k = key()
        switch int(0...41) {
        case 0...5:
            var args = [b("ZADD"), b(k)]
            for o in ["NX", "XX", "GT", "LT", "CH", "INCR"] where chance(0.12) { args.append(b(o)) }
            for _ in 0..<(chance(0.7) ? 1 : int(2...5)) { args += [b(score()), member()] }
            return (args, .exact)
        case 6:
            return ([b("ZINCRBY"), b(k), b(score()), member()], .exact)
        case 7:
            return ([b("ZREM"), b(k)] + (0..<int(1...3)).map { _ in member() }, .exact)
        case 8: return ([b("ZCARD"), b(k)], .exact)
        case 9: return ([b("ZSCORE"), b(k), member()], .exact)
        case 10: return ([b("ZMSCORE"), b(k), member(), member()], .exact)
        case 11: return ([b(pick(["ZRANK", "ZREVRANK"])), b(k), member()], .exact)
        case 12...14:
            var args = [b("ZRANGE"), b(k), b(String(int(-8...8))), b(String(int(-8...8)))]
            if chance(0.3) { args.append(b("REV")) }
            if chance(0.5) { args.append(b("WITHSCORES")) }
            return (args, .exact)
        case 15...16:
            var args = [b("ZRANGE"), b(k), b(scoreBound()), b(scoreBound()), b("BYSCORE")]
            if chance(0.3) { args.append(b("REV")) }
            if chance(0.5) { args.append(b("WITHSCORES")) }
            if chance(0.3) { args += [b("LIMIT"), b(String(int(-1...4))), b(String(int(-1...4)))] }
            return (args, .exact)
        case 17:
            let cmd = pick(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
            var args = [b(cmd), b(k), b(scoreBound()), b(scoreBound())]
            if chance(0.5) { args.append(b("WITHSCORES")) }
            if chance(0.3) { args += [b("LIMIT"), b(String(int(0...3))), b(String(int(-1...3)))] }
            return (args, .exact)
        case 18: return ([b("ZCOUNT"), b(k), b(scoreBound()), b(scoreBound())], .exact)
        case 19...20:
            let lk = pick(lexKeys)
            switch int(0...4) {
            case 0:
                return ([b("ZADD"), b(lk)] + (0..<int(1...4)).flatMap { _ in [b("0"), member()] }, .exact)
            case 1: return ([b("ZLEXCOUNT"), b(lk), lexBound(), lexBound()], .exact)
            case 2: return ([b("ZREMRANGEBYLEX"), b(lk), lexBound(), lexBound()], .exact)
            case 3:
                var args = [b(pick(["ZRANGEBYLEX", "ZREVRANGEBYLEX"])), b(lk), lexBound(), lexBound()]
                if chance(0.3) { args += [b("LIMIT"), b(String(int(-1...3))), b(String(int(-1...3)))] }
                return (args, .exact)
            default:
                var args = [b("ZRANGE"), b(lk), lexBound(), lexBound(), b("BYLEX")]
                if chance(0.4) { args.append(b("REV")) }
                return (args, .exact)
            }
        case 21: return ([b("ZREMRANGEBYRANK"), b(k), b(String(int(-5...5))), b(String(int(-5...5)))], .exact)
        case 22: return ([b("ZREMRANGEBYSCORE"), b(k), b(scoreBound()), b(scoreBound())], .exact)
        case 23...24:
            var args = [b(pick(["ZPOPMIN", "ZPOPMAX"])), b(k)]
            if chance(0.5) { args.append(b(String(int(-1...4)))) }
            return (args, .exact)
        case 25:
            var args = [b("ZMPOP"), b("2"), b(key()), b(key()), b(pick(["MIN", "MAX"]))]
            if chance(0.5) { args += [b("COUNT"), b(String(int(0...4)))] }
            return (args, .exact)
        case 26:
            return ([b(pick(["BZPOPMIN", "BZPOPMAX"])), b(key()), b(key()), b("0.001")], .exact)
        case 27...30:
            let op = pick(["ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD"])
            let n = int(1...3)
            var args = [b(op)]
            if op.hasSuffix("STORE") { args.append(b(zkey())) }
            args.append(b(String(n)))
            for _ in 0..<n { args.append(b(key())) }
            if !op.hasPrefix("ZDIFF") && op != "ZINTERCARD" {
                if chance(0.3) { args.append(b("WEIGHTS")); for _ in 0..<n { args.append(b(pick(["1", "2", "0.5", "-1", "0", "inf"]))) } }
                if chance(0.3) { args += [b("AGGREGATE"), b(pick(["SUM", "MIN", "MAX"]))] }
            }
            if op == "ZINTERCARD" && chance(0.5) { args += [b("LIMIT"), b(String(int(0...3)))] }
            if !op.hasSuffix("STORE") && op != "ZINTERCARD" && chance(0.5) { args.append(b("WITHSCORES")) }
            return (args, .exact)
        case 31:
            var args = [b("ZRANGESTORE"), b(zkey()), b(k), b(String(int(-4...4))), b(String(int(-4...4))) ]
            if chance(0.3) { args = [b("ZRANGESTORE"), b(zkey()), b(k), b(scoreBound()), b(scoreBound()), b("BYSCORE")] }
            if chance(0.3) { args.append(b("REV")) }
            return (args, .exact)
        case 32:
            var args = [b("ZRANDMEMBER"), b(k)]
            if chance(0.7) { args.append(b(String(int(-6...6)))) }
            if args.count == 3 && chance(0.5) { args.append(b("WITHSCORES")) }
            return (args, .shape)
        case 33: return ([b("ZSCAN"), b(k), b("0"), b("COUNT"), b("1000")], .sortedScan)
        case 34: return ([b("OBJECT"), b("ENCODING"), b(k)], .exact)
        case 35: return ([b("TYPE"), b(k)], .exact)
        case 36:
            let n = pick(["2", "3", "4", "6", "128"])
            return ([b("CONFIG"), b("SET"), b("zset-max-listpack-entries"), b(n)], .exact)
        case 37: return ([b("CONFIG"), b("SET"), b("zset-max-listpack-value"), b(pick(["1", "2", "64"]))], .exact)
        case 38: return ([b("ZRANGE"), b(k), b("0"), b("-1"), b("WITHSCORES")], .exact)
        case 39: return ([b("DEL"), b(zkey())], .exact)
        case 40: return ([b("SET"), b("str"), b("v")], .exact)
        default: return ([b("COPY"), b(zkey()), b(zkey()), b("REPLACE")], .exact)
        }
    }

    /// ZSCAN's reply with its member/score pairs sorted.
    func normalizedScan(_ raw: [UInt8]) -> String {
        guard let v = try? RespValue.parse(raw), v.children.count == 2 else { return RespEscape.escape(raw) }
        let items = v.children[1].children.map { $0.payload ?? [] }
        var pairs: [String] = []
        var i = 0
        while i + 1 < items.count {
            pairs.append(RespEscape.escape(items[i]) + "=" + RespEscape.escape(items[i + 1]))
            i += 2
        }
        return RespEscape.escape(v.children[0].raw) + pairs.sorted().joined(separator: ",")
    }

    /// ZRANDMEMBER: the reply type and element count.
    func shape(_ raw: [UInt8]) -> String {
        guard let v = try? RespValue.parse(raw) else { return RespEscape.escape(raw) }
        if v.type == UInt8(ascii: "-") { return RespEscape.escape(raw) }
        return "\(v.type) \(v.children.count) " + v.children.map { "\($0.type)/\($0.children.count)" }.joined(separator: ",")
    }

    func testRandomSortedSetCommands() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("ZSET", seed: 20260524, ops: 20000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "sorted set fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let refs = servers.refs, subs = servers.subs

        var mismatches = 0
        var history: [String] = []
        for step in 0..<ops {
            let (args, compare) = command()
            let conn = chance(0.2) ? 1 : 0
            try refs[conn].send(command: args)
            try subs[conn].send(command: args)
            let a = try refs[conn].readReply()
            let b = try subs[conn].readReply()
            let line = args.map { RespEscape.escape($0) }.joined(separator: " ")
            history.append(line)
            if history.count > 20 { history.removeFirst() }
            let same: Bool
            switch compare {
            case .exact: same = a == b
            case .shape: same = shape(a) == shape(b)
            case .sortedScan: same = normalizedScan(a) == normalizedScan(b)
            }
            if !same {
                mismatches += 1
                XCTFail("""
                    step \(step) (RESP\(conn == 1 ? 3 : 2)): \(line)
                      redis-server: \(RespEscape.escape(a))
                      redis-uv:     \(RespEscape.escape(b))
                    recent commands:
                    \(history.joined(separator: "\n"))
                    """)
                if mismatches >= 5 { break }
            }
            XCTAssertTrue(subject.isRunning, "redis-uv died at step \(step): \(line)")
            if !subject.isRunning { break }
        }
        harnessLog("sorted set fuzz: \(ops) operations, \(mismatches) mismatches")
    }
}
