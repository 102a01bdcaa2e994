import XCTest

/// Seeded random list commands sent in lockstep to redis-server and redis-uv, replies
/// compared byte for byte (a list's order is always defined, so every reply must match).
/// The blocking commands take part with short timeouts: served at once when a key has
/// data, a null array after the timeout otherwise. Now and then the node size changes
/// (CONFIG SET list-max-listpack-size), so node splits and merges get exercised.
///
/// Environment: `LIST_FUZZ_SEED` (default 20261124), `LIST_FUZZ_OPS` (default 8000).
final class ListFuzzDifferentialTests: XCTestCase {

    private var rng = SeededRandom(state: 0)

    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    private func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }

    private let keys: [[UInt8]] = ["l0", "l1", "l2", "l3", "str", "hash", "missing"].map { Array($0.utf8) }

    private func key() -> [UInt8] {
        chance(85) ? pick(Array(keys[0..<4])) : pick(keys)
    }

    /// Elements repeat often (a small alphabet, binary bytes included), with integers of
    /// every listpack width and strings of every length class.
    private func element() -> [UInt8] {
        switch int(0...99) {
        case 0..<55:
            let alphabet: [UInt8] = [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c"), 0, 0xFF, 13, 10]
            return (0..<int(0...2)).map { _ in pick(alphabet) }
        case 55..<75:
            return b(String(pick([0, 1, -1, 7, 127, 128, -4096, 4096, 32767, -32769, 8_388_608, -2_147_483_648,
                                  4_294_967_296, Int.max, Int.min])))
        case 75..<85:
            return pick([b("01"), b("-0"), b("+1"), b(" 1"), b("1.5"), b("9223372036854775808"), b("")])
        case 85..<95:
            return [UInt8](repeating: UInt8(ascii: "m"), count: pick([63, 64, 100, 4095, 4096]))
        default:
            return [UInt8](repeating: UInt8(ascii: "L"), count: pick([9000, 17000]))
        }
    }

    private func index() -> [UInt8] {
        if chance(5) { return pick([b("x"), b("1.0"), b(""), b("9223372036854775808")]) }
        if chance(5) { return b(String(pick([Int.max, Int.min, Int.max - 1]))) }
        return b(String(int(-40...40)))
    }

    private func countArg() -> [UInt8] {
        if chance(8) { return pick([b("-1"), b("x"), b("0")]) }
        return b(String(pick([1, 2, 3, 5, 10, 100])))
    }

    private func end() -> [UInt8] {
        chance(97) ? pick([b("LEFT"), b("RIGHT"), b("left"), b("right")]) : b("up")
    }

    private func timeout() -> [UInt8] {
        chance(95) ? pick([b("0.01"), b("0.005")]) : pick([b("-1"), b("x"), b("1e100")])
    }

    private func command() -> [[UInt8]] {
        let k = key()
        switch int(0...99) {
        case 0..<14:
            let cmd = pick(["LPUSH", "RPUSH", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX"])
            return [b(cmd), k] + (0..<int(1...6)).map { _ in element() }
        case 14..<22:
            var args = [b(pick(["LPOP", "RPOP"])), k]
            if chance(50) { args.append(countArg()) }
            if chance(2) { args.append(b("1")) }
            return args
        case 22..<26: return [b("LLEN"), k]
        case 26..<36: return [b("LRANGE"), k, index(), index()]
        case 36..<40: return [b("LINDEX"), k, index()]
        case 40..<44: return [b("LSET"), k, index(), element()]
        case 44..<49:
            return [b("LINSERT"), k, b(chance(97) ? pick(["BEFORE", "AFTER", "before", "after"]) : "middle"),
                    element(), element()]
        case 49..<54: return [b("LREM"), k, b(String(int(-3...3))), element()]
        case 54..<57: return [b("LTRIM"), k, index(), index()]
        case 57..<63:
            var args = [b("LPOS"), k, element()]
            if chance(40) { args += [b("RANK"), b(String(pick([1, 2, -1, -2, 3, 0, Int.min])))] }
            if chance(40) { args += [b("COUNT"), b(String(pick([0, 1, 2, 5, -1])))] }
            if chance(30) { args += [b("MAXLEN"), b(String(pick([0, 1, 3, 10, -1])))] }
            return args
        case 63..<68:
            if chance(30) { return [b("RPOPLPUSH"), k, key()] }
            return [b("LMOVE"), k, key(), end(), end()]
        case 68..<73:
            let n = int(1...3)
            var args = [b("LMPOP"), b(String(chance(97) ? n : 0))] + (0..<n).map { _ in key() } + [end()]
            if chance(50) { args += [b("COUNT"), countArg()] }
            return args
        case 73..<79:
            switch int(0...4) {
            case 0: return [b("BLPOP")] + (0..<int(1...3)).map { _ in key() } + [timeout()]
            case 1: return [b("BRPOP")] + (0..<int(1...3)).map { _ in key() } + [timeout()]
            case 2: return [b("BLMOVE"), k, key(), end(), end(), timeout()]
            case 3: return [b("BRPOPLPUSH"), k, key(), timeout()]
            default:
                let n = int(1...3)
                var args = [b("BLMPOP"), timeout(), b(String(n))] + (0..<n).map { _ in key() } + [end()]
                if chance(50) { args += [b("COUNT"), countArg()] }
                return args
            }
        case 79..<82: return [b("LRANGE"), k, b("0"), b("-1")]
        case 82..<84: return [b("OBJECT"), b("ENCODING"), k]
        case 84..<86: return [b("TYPE"), k]
        case 86..<88: return [b("DEL"), k]
        case 88..<89: return [b("SET"), b("str"), b("string")]
        case 89..<90: return [b("HSET"), b("hash"), b("f"), b("v")]
        case 90..<92: return [b("COPY"), k, key(), b("REPLACE")]
        case 92..<94: return [b("RENAME"), k, key()]
        case 94..<96:
            return [b("CONFIG"), b("SET"), b("list-max-listpack-size"), b(String(pick([-2, -2, -1, -5, 1, 2, 3, 5, 16, 128])))]
        default:
            return [b("EXISTS")] + keys
        }
    }

    func testRandomListOperations() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("LIST", seed: 20_261_124, ops: 8000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "list fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let ref = servers.refs, sub = servers.subs

        var mismatches = 0
        var counts: [String: Int] = [:]
        for step in 0..<ops {
            let args = command()
            let conn = chance(25) ? 1 : 0
            try ref[conn].send(command: args)
            try sub[conn].send(command: args)
            let expected = try ref[conn].readReply()
            let actual = try sub[conn].readReply()
            counts[String(decoding: args[0], as: UTF8.self), default: 0] += 1
            if expected != actual {
                mismatches += 1
                XCTFail("""
                    list fuzz (seed \(seed)) step \(step) on RESP\(conn == 0 ? 2 : 3): replies differ
                      command: \(args.map { RespEscape.escape($0, limit: 80) }.joined(separator: " "))
                      redis-server: \(RespEscape.escape(expected, limit: 600))
                      redis-uv:     \(RespEscape.escape(actual, limit: 600))
                    """)
                if mismatches >= 5 { break }
            }
        }
        // The end state of every key, in full.
        for k in keys {
            let e = try ref[0].call("LRANGE", String(decoding: k, as: UTF8.self), "0", "-1")
            let a = try sub[0].call("LRANGE", String(decoding: k, as: UTF8.self), "0", "-1")
            XCTAssertEqual(e, a, "final contents of \(String(decoding: k, as: UTF8.self))")
        }
        harnessLog("list fuzz: seed \(seed), \(ops) operations, \(mismatches) mismatches; "
                   + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(subject.isRunning, "redis-uv died:\n\(subject.log)")
    }
}
