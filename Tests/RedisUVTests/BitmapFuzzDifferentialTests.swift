import XCTest

/// Seeded random bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD,
/// BITFIELD_RO, plus the string writes that shape their values) sent in lockstep to
/// redis-server and redis-uv, replies compared byte for byte. After every command the
/// change counters (INFO's rdb_changes_since_last_save) must have moved by the same
/// amount on both: a bitmap write counts only when it changed something.
///
/// Environment: `BITMAP_FUZZ_SEED` (default 20261207), `BITMAP_FUZZ_OPS` (default 4000).
final class BitmapFuzzDifferentialTests: XCTestCase {
    private var rng = SeededRandom(state: 0)

    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    private func int(_ r: Range<Int>) -> Int { Int.random(in: r, using: &rng) }
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    private func num(_ v: Int) -> [UInt8] { b(String(v)) }

    private let keys: [[UInt8]] = ["bm0", "bm1", "bm2", "num", "list", "missing"].map { Array($0.utf8) }

    /// Values with long runs of 0x00 and 0xFF (BITPOS's word skipping) and mixed bytes.
    private func value() -> [UInt8] {
        if chance(15) { return num(int(-100_000...100_000)) }
        let n = pick([0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100])
        let fill = pick([UInt8(0), 0xFF, 0x80, 0x01])
        var v = [UInt8](repeating: fill, count: n)
        for _ in 0..<int(0...3) where n > 0 { v[int(0...(n - 1))] = UInt8(int(0...255)) }
        return v
    }

    /// A bit offset: mostly within a few hundred bytes, sometimes farther, sometimes invalid.
    private func bitOffset() -> [UInt8] {
        switch int(0..<100) {
        case 0..<80: return num(int(0...900))
        case 80..<94: return num(int(0...20_000))
        case 94..<97: return pick([b("-1"), b("x"), b(""), b("4294967296"), b("+3")])
        default: return num(int(0...70))
        }
    }

    /// A range index: near the ends, negative, beyond the value, now and then huge.
    private func index() -> [UInt8] {
        if chance(3) { return pick([b("9223372036854775807"), b("-9223372036854775808"), b("x"), b("1.5")]) }
        return num(chance(30) ? int(-130...(-1)) : int(0...900))
    }

    private func fieldType() -> [UInt8] {
        if chance(3) { return pick([b("u64"), b("i65"), b("u0"), b("I8"), b("x")]) }
        if chance(50) { return b("i" + String(pick([1, 2, 3, 7, 8, 13, 16, 31, 32, 33, 63, 64]))) }
        return b("u" + String(pick([1, 2, 3, 7, 8, 13, 16, 31, 32, 33, 62, 63])))
    }

    private func fieldOffset() -> [UInt8] {
        if chance(20) { return b("#" + String(int(0...40))) }
        return num(chance(85) ? int(0...400) : int(0...5000))
    }

    private func fieldValue() -> [UInt8] {
        switch int(0..<10) {
        case 0: return pick([b("9223372036854775807"), b("-9223372036854775808"), b("x")])
        case 1..<4: return num(int(-3...3))
        default: return num(Int(Int64.random(in: -(1 << 40)...(1 << 40), using: &rng)) >> int(0...40))
        }
    }

    private func bitfieldArgs(readOnly: Bool) -> [[UInt8]] {
        var args: [[UInt8]] = []
        for _ in 0..<int(0...5) {
            var roll = int(0..<100)
            if readOnly && roll >= 40 && roll < 85 && chance(90) { roll = 0 }  // mostly GETs
            switch roll {
            case 0..<40: args += [b(pick(["GET", "get"])), fieldType(), fieldOffset()]
            case 40..<62: args += [b("SET"), fieldType(), fieldOffset(), fieldValue()]
            case 62..<85: args += [b("INCRBY"), fieldType(), fieldOffset(), fieldValue()]
            case 85..<99: args += [b("OVERFLOW"), b(pick(["WRAP", "SAT", "FAIL", "fail", "sat"]))]
            default: args += [b(pick(["OVERFLOW", "GET", "BOGUS"]))]
            }
        }
        return args
    }

    private func command() -> [[UInt8]] {
        let key = pick(keys)
        switch int(0..<100) {
        case 0..<18:
            return [b("SETBIT"), key, bitOffset(), chance(97) ? num(int(0...1)) : pick([b("2"), b("-1"), b("x")])]
        case 18..<26: return [b("GETBIT"), key, bitOffset()]
        case 26..<40:
            var args = [b("BITCOUNT"), key]
            if chance(75) {
                args += [index(), index()]
                if chance(50) { args.append(b(pick(["BIT", "BYTE", "bit", "byte", "BITS"]))) }
            } else if chance(10) {
                args.append(index())
            }
            return args
        case 40..<54:
            var args = [b("BITPOS"), key, chance(97) ? num(int(0...1)) : b("2")]
            if chance(70) {
                args.append(index())
                if chance(70) {
                    args.append(index())
                    if chance(55) { args.append(b(pick(["BIT", "BYTE", "Bit", "nope"]))) }
                }
            }
            return args
        case 54..<62:
            let op = pick(["AND", "OR", "XOR", "NOT", "and", "xor"])
            var args = [b("BITOP"), b(op), pick(keys)]
            for _ in 0..<(op.lowercased() == "not" && chance(90) ? 1 : int(1...3)) { args.append(pick(keys)) }
            return args
        case 62..<80: return [b("BITFIELD"), key] + bitfieldArgs(readOnly: false)
        case 80..<85: return [b("BITFIELD_RO"), key] + bitfieldArgs(readOnly: true)
        case 85..<90: return [b("SET"), key, value()]
        case 90..<92: return [b("APPEND"), key, value()]
        case 92..<94: return [b("GET"), key]
        case 94..<96: return [b("OBJECT"), b("ENCODING"), key]
        case 96..<98: return [b("DEL"), key]
        default: return [b("RPUSH"), b("list"), b("x")]
        }
    }

    /// rdb_changes_since_last_save from INFO persistence.
    private func changes(_ conn: RespConnection) throws -> Int {
        let info = try RespValue.parse(try conn.call("INFO", "persistence"))
        let text = String(decoding: info.payload ?? [], as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where line.hasPrefix("rdb_changes_since_last_save:") {
            return Int(line.dropFirst("rdb_changes_since_last_save:".count)) ?? -1
        }
        return -1
    }

    func testRandomBitmapOperations() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("BITMAP", seed: 20_261_207, ops: 4000)
        rng = SeededRandom(state: seed)

        let servers = try LockstepServers(for: "bitmap fuzz")
        defer { servers.stop() }
        let subject = servers.subject
        let ref = servers.refs, sub = servers.subs

        var refChanges = try changes(ref[0]), subChanges = try changes(sub[0])
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
            let r = try changes(ref[0]), s = try changes(sub[0])
            var why: String?
            if expected != actual {
                why = "replies differ"
            } else if r - refChanges != s - subChanges {
                why = "changes counted differ: redis-server +\(r - refChanges), redis-uv +\(s - subChanges)"
            }
            refChanges = r
            subChanges = s
            if let why {
                mismatches += 1
                XCTFail("""
                    bitmap fuzz (seed \(seed)) step \(step) on RESP\(conn == 0 ? 2 : 3): \(why)
                      command: \(args.map { RespEscape.escape($0) }.joined(separator: " "))
                      redis-server: \(RespEscape.escape(expected))
                      redis-uv:     \(RespEscape.escape(actual))
                    """)
                if mismatches >= 5 { break }
            }
        }
        // The values themselves, at the end.
        for key in keys {
            let e = try ref[0].call("GET", String(decoding: key, as: UTF8.self))
            let a = try sub[0].call("GET", String(decoding: key, as: UTF8.self))
            XCTAssertEqual(RespEscape.escape(e), RespEscape.escape(a), "final value of \(String(decoding: key, as: UTF8.self))")
        }
        harnessLog("bitmap fuzz: seed \(seed), \(ops) operations, \(mismatches) mismatches; "
                   + counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        XCTAssertTrue(subject.isRunning, "redis-uv died:\n\(subject.log)")
    }
}
