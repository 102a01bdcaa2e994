import XCTest

/// Seeded random stream commands sent in lockstep to redis-server and redis-uv, replies
/// compared byte for byte: XADD (explicit and `<ms>-*` IDs, MAXLEN/MINID with = and ~,
/// LIMIT), XRANGE, XREVRANGE, XDEL, XTRIM, XLEN, XSETID (ENTRIESADDED, MAXDELETEDID), XREAD over two keys, consumer groups (XGROUP,
/// XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM) and XINFO, with small
/// `stream-node-max-entries` values so that many node boundaries are crossed. Replies
/// that carry idle or delivery times are compared with their integers masked.
///
/// Environment: `STREAM_FUZZ_SEED` (default 20261204), `STREAM_FUZZ_OPS` (default 4000).
final class StreamFuzzDifferentialTests: XCTestCase {

    enum Check { case exact, intsMasked }

    private var rng = SeededRandom(state: 0)
    private var nextMs: [String: Int] = [:]

    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }

    private let keys = ["s0", "s1", "s2", "str", "missing"]
    private let groups = ["g1", "g2", "nogroup"]
    private let consumers = ["alice", "bob", "carol"]

    /// An ID near the ones in use: mostly small ms values so that ranges hit entries.
    private func id() -> String {
        switch int(0...9) {
        case 0: return pick(["-", "+", "0", "0-0", "(5", "(0", "18446744073709551615-18446744073709551615", "x", "3-x"])
        case 1...3: return String(int(0...400))
        default: return "\(int(0...400))-\(int(0...3))"
        }
    }

    private func fields() -> [String] {
        var out: [String] = []
        let set = pick([["f"], ["f", "g"], ["a", "b", "c"], ["f"], ["n1"]])
        for f in set {
            out.append(f)
            out.append(pick(["v", "1", "-7", "12345678", "", String(repeating: "x", count: int(0...90)), "3.14"]))
        }
        if chance(5) { out.removeLast() }
        return out
    }

    private func trimArgs() -> [String] {
        var args: [String] = []
        if chance(50) {
            args.append("MAXLEN")
            let op = pick(["", "=", "~"])
            if !op.isEmpty { args.append(op) }
            args.append(String(pick([0, 1, 3, 5, 10, 20, 50, -1])))
            if op == "~" && chance(40) { args += ["LIMIT", String(pick([0, 1, 5, 10, 100]))] }
        } else {
            args.append("MINID")
            let op = pick(["", "=", "~"])
            if !op.isEmpty { args.append(op) }
            args.append("\(int(0...400))-\(int(0...2))")
            if op == "~" && chance(40) { args += ["LIMIT", String(pick([0, 1, 5, 10, 100]))] }
        }
        return args
    }

    private func command() -> ([String], Check) {
        let key = pick(keys)
        let group = pick(groups)
        let consumer = pick(consumers)
        switch int(0...105) {
        case 0..<28:
            var args = ["XADD", key]
            if chance(5) { args.append("NOMKSTREAM") }
            if chance(20) { args += trimArgs() }
            let ms = nextMs[key, default: 1]
            if chance(85) {
                let step = int(0...3)
                nextMs[key] = ms + step
                args.append(chance(15) ? "\(ms + step)-*" : "\(ms + step)-\(int(0...2))")
            } else {
                args.append(id())
            }
            args += fields()
            return (args, .exact)
        case 28..<36:
            var args = [chance(50) ? "XRANGE" : "XREVRANGE", key, id(), id()]
            if chance(50) { args += ["COUNT", String(pick([0, 1, 2, 5, 50, -1]))] }
            return (args, .exact)
        case 36..<42:
            return (["XDEL", key] + (0..<int(1...3)).map { _ in id() }, .exact)
        case 42..<45:
            return (["XTRIM", key] + trimArgs(), .exact)
        case 45..<48:
            return (["XLEN", key], .exact)
        case 48..<52:
            var args = ["XGROUP", "CREATE", key, group, pick(["$", "0", id()])]
            if chance(30) { args.append("MKSTREAM") }
            if chance(20) { args += ["ENTRIESREAD", String(pick([0, 3, -1, 10]))] }
            return (args, .exact)
        case 52..<54:
            return (["XGROUP", "SETID", key, group, pick(["$", "0", id()])], .exact)
        case 54..<64:
            var args = ["XREADGROUP", "GROUP", group, consumer]
            if chance(60) { args += ["COUNT", String(pick([1, 2, 3, 10]))] }
            if chance(10) { args.append("NOACK") }
            args += ["STREAMS", key, chance(75) ? ">" : pick(["0", id()])]
            return (args, .exact)
        case 64..<70:
            return (["XACK", key, group] + (0..<int(1...3)).map { _ in id() }, .exact)
        case 70..<73:
            return (["XPENDING", key, group], .exact)
        case 73..<77:
            var args = ["XPENDING", key, group]
            if chance(20) { args += ["IDLE", "0"] }
            args += [id(), id(), String(pick([1, 5, 100]))]
            if chance(40) { args.append(pick(consumers)) }
            return (args, .intsMasked)
        case 77..<82:
            var args = ["XCLAIM", key, group, consumer, "0"] + (0..<int(1...3)).map { _ in id() }
            if chance(20) { args.append("JUSTID") }
            if chance(15) { args.append("FORCE") }
            if chance(15) { args += ["RETRYCOUNT", String(int(0...5))] }
            if chance(10) { args += ["LASTID", id()] }
            return (args, .exact)
        case 82..<86:
            var args = ["XAUTOCLAIM", key, group, consumer, "0", id()]
            if chance(50) { args += ["COUNT", String(pick([1, 2, 5, 100]))] }
            if chance(20) { args.append("JUSTID") }
            return (args, .exact)
        case 86..<88:
            return (["XINFO", "STREAM", key], .exact)
        case 88..<90:
            return (["XINFO", "GROUPS", key], .exact)
        case 90..<91:
            return (["XINFO", "CONSUMERS", key, group], .intsMasked)
        case 91..<92:
            return (["XINFO", "STREAM", key, "FULL", "COUNT", String(pick([0, 2, 10]))], .intsMasked)
        case 92..<94:
            return (["XGROUP", pick(["CREATECONSUMER", "DELCONSUMER"]), key, group, consumer], .exact)
        case 94..<95:
            return (["XSETID", key, "\(nextMs[key, default: 1] + int(-2...5))-0"], .exact)
        case 95..<96:
            return (["XGROUP", "DESTROY", key, group], .exact)
        case 96..<97:
            return (["CONFIG", "SET", "stream-node-max-entries", String(pick([0, 1, 2, 3, 5, 10, 100]))], .exact)
        case 97..<98:
            return (["DEL", key], .exact)
        case 98..<99:
            return (["SET", "str", "x"], .exact)
        case 99..<103:
            var args = ["XREAD"]
            if chance(60) { args += ["COUNT", String(pick([0, 1, 2, 5, -1]))] }
            let k2 = pick(keys)
            args += ["STREAMS", key, k2, pick(["$", id()]), pick(["$", "0", id()])]
            return (args, .exact)
        default:
            var args = ["XSETID", key, id()]
            if chance(50) { args += ["ENTRIESADDED", String(pick([0, 5, 50, 500, -1]))] }
            if chance(50) { args += ["MAXDELETEDID", id()] }
            return (args, .exact)
        }
    }

    func testRandomStreamOperations() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("STREAM", seed: 20_261_204, ops: 4000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "stream fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let ref = servers.refs, sub = servers.subs
        for c in ref + sub { _ = try c.call("CONFIG", "SET", "stream-node-max-entries", "4") }

        var mismatches = 0
        var counts: [String: Int] = [:]
        for step in 0..<ops {
            let (strings, check) = command()
            let args = strings.map { Array($0.utf8) }
            let conn = chance(25) ? 1 : 0
            try ref[conn].send(command: args)
            try sub[conn].send(command: args)
            let expected = try ref[conn].readReply()
            let actual = try sub[conn].readReply()
            counts[strings[0], default: 0] += 1
            if expected == actual { continue }
            var why: String? = "replies differ"
            if check == .intsMasked {
                why = ReplyComparator.compare(try RespValue.parse(expected), try RespValue.parse(actual), masks: [.int])
            }
            if let why {
                mismatches += 1
                XCTFail("""
                    stream fuzz (seed \(seed)) step \(step) on RESP\(conn == 0 ? 2 : 3): \(why)
                      command: \(strings.joined(separator: " "))
                      redis-server: \(RespEscape.escape(expected))
                      redis-uv:     \(RespEscape.escape(actual))
                    """)
                if mismatches >= 5 { break }
            }
        }
        // Final state: every stream's full contents and info agree.
        for key in keys {
            for cmd in [["XRANGE", key, "-", "+"], ["XINFO", "STREAM", key], ["XINFO", "GROUPS", key]] {
                try ref[0].send(command: cmd)
                try sub[0].send(command: cmd)
                let e = try ref[0].readReply(), a = try sub[0].readReply()
                XCTAssertEqual(RespEscape.escape(a), RespEscape.escape(e), "final \(cmd.joined(separator: " "))")
            }
        }
        harnessLog("stream fuzz: seed \(seed), \(ops) operations, \(mismatches) mismatches; "
                   + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(subject.isRunning, "redis-uv died:\n\(subject.log)")
    }
}
