import XCTest

/// HyperLogLogs against redis-server in lockstep: a seeded stream of thousands of elements
/// (PFCOUNT and the HLL's bytes compared as it grows sparse and turns dense), and mutated
/// sparse and dense payloads through PFCOUNT/PFADD/PFMERGE/PFDEBUG (same errors, same bytes,
/// and redis-uv alive).
///
/// Environment: `HLL_FUZZ_SEED` (default 20261207), `HLL_FUZZ_OPS` (default 3000: mutated
/// payloads; the element stream is 10x that many elements).
final class HyperLogLogDifferentialTests: XCTestCase {
    private var rng = SeededRandom(state: 0)
    private func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    private func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
    private func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

    /// Sends `args` to both servers; the replies, or nil after recording a mismatch.
    /// The commands sent since the last SET of the key being fuzzed (shown on a mismatch).
    private var history: [String] = []

    private func both(_ servers: LockstepServers, _ args: [[UInt8]], _ what: String, mismatches: inout Int) throws -> [UInt8]? {
        history.append(args.map { RespEscape.escape($0, limit: 20000) }.joined(separator: " "))
        try servers.refs[0].send(command: args)
        try servers.subs[0].send(command: args)
        let e = try servers.refs[0].readReply()
        let a = try servers.subs[0].readReply()
        if e == a { return e }
        mismatches += 1
        XCTFail("""
            hll \(what): replies differ
              command: \(args.map { RespEscape.escape($0, limit: 200) }.joined(separator: " "))
              redis-server: \(RespEscape.escape(e, limit: 600))
              redis-uv:     \(RespEscape.escape(a, limit: 600))
              after: \(history.dropLast().joined(separator: "\n    "))
            """)
        return nil
    }

    private func element() -> [UInt8] {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        case 1: return b("user:\(Int.random(in: 0..<1000, using: &rng))")  // repeats
        default: return b(String(rng.next()))
        }
    }

    func testSeededElementStreamMatchesRedis() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("HLL", seed: 20_261_207, ops: 3000)
        rng = SeededRandom(state: seed)
        let servers = try LockstepServers(for: "hyperloglog stream")
        defer { servers.stop() }
        var mismatches = 0
        let keys = [b("a"), b("b"), b("c")]
        var added = 0
        var step = 0
        while added < ops * 10 && mismatches < 5 {
            step += 1
            let key = pick(keys)
            let n = chance(10) ? Int.random(in: 50...300, using: &rng) : Int.random(in: 1...20, using: &rng)
            added += n
            _ = try both(servers, [b("PFADD"), key] + (0..<n).map { _ in element() }, "stream step \(step)", mismatches: &mismatches)
            if chance(30) { _ = try both(servers, [b("PFCOUNT"), key], "stream step \(step)", mismatches: &mismatches) }
            if chance(20) { _ = try both(servers, [b("GET"), key], "stream step \(step)", mismatches: &mismatches) }
            if chance(5) { _ = try both(servers, [b("PFCOUNT")] + keys, "stream step \(step)", mismatches: &mismatches) }
            if chance(4) {
                _ = try both(servers, [b("PFMERGE"), b("m"), pick(keys), pick(keys)], "stream step \(step)", mismatches: &mismatches)
                _ = try both(servers, [b("GET"), b("m")], "stream step \(step)", mismatches: &mismatches)
            }
            if chance(3) { _ = try both(servers, [b("PFDEBUG"), b("ENCODING"), key], "stream step \(step)", mismatches: &mismatches) }
            if chance(2) {
                let v = b(String(pick([0, 50, 300, 1000, 3000, 5000, 12000])))
                _ = try both(servers, [b("CONFIG"), b("SET"), b("hll-sparse-max-bytes"), v], "stream step \(step)", mismatches: &mismatches)
            }
        }
        for key in keys + [b("m")] where mismatches == 0 {
            _ = try both(servers, [b("PFCOUNT"), key], "final", mismatches: &mismatches)
            _ = try both(servers, [b("GET"), key], "final", mismatches: &mismatches)
            _ = try both(servers, [b("DUMP"), key], "final", mismatches: &mismatches)
        }
        harnessLog("hll stream: seed \(seed), \(added) elements in \(step) steps, \(mismatches) mismatches")
        XCTAssertTrue(servers.subject.isRunning, "redis-uv died:\n\(servers.subject.log)")
    }

    /// Payload bytes of a few HLLs as redis-server made them (sparse at several sizes, dense).
    private func basePayloads(_ servers: LockstepServers) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var mismatches = 0
        for (i, n) in [0, 3, 40, 400, 3000].enumerated() {
            let key = b("base\(i)")
            _ = try both(servers, [b("PFADD"), key], "base", mismatches: &mismatches)
            var left = n
            while left > 0 {
                let k = Swift.min(left, 100)
                _ = try both(servers, [b("PFADD"), key] + (0..<k).map { _ in element() }, "base", mismatches: &mismatches)
                left -= k
            }
            if i % 2 == 0 { _ = try both(servers, [b("PFCOUNT"), key], "base", mismatches: &mismatches) }
            guard let reply = try both(servers, [b("GET"), key], "base", mismatches: &mismatches),
                  let v = try RespValue.parse(reply).payload else { continue }
            out.append(v)
        }
        return out
    }

    /// A random corruption of an HLL's bytes: flipped or random bytes (mostly past the
    /// header), truncation, inserted or dropped bytes, a duplicated slice, a changed
    /// encoding byte or cache.
    private func mutate(_ base: [UInt8]) -> [UInt8] {
        var v = base
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let body = v.count > 16 ? Int.random(in: 16..<v.count, using: &rng) : 0
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: if v.count > 16 { v[body] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng) }
            case 1: if v.count > 16 { v[body] = UInt8.random(in: 0...255, using: &rng) }
            case 2: v = Array(v.prefix(Int.random(in: 14...Swift.max(14, v.count), using: &rng)))
            case 3: v.insert(UInt8.random(in: 0...255, using: &rng), at: Swift.min(Swift.max(16, body), v.count))
            case 4: if v.count > 17 { v.remove(at: body) }
            case 5:
                if v.count > 20 {
                    let s = Int.random(in: 16..<(v.count - 2), using: &rng)
                    let e = Swift.min(v.count, s + Int.random(in: 1...8, using: &rng))
                    v.insert(contentsOf: v[s..<e], at: e)
                }
            case 6: if v.count > 4 { v[4] = pick([0, 1, 1, 2, 0xFF]) }
            case 7: if v.count > 15 { v[15] ^= 0x80 }
            case 8: if v.count > 16 { v[v.count - 1] = pick([0x40, 0x7F, 0x00, 0x80, 0xFF]) }
            default: if v.count > 16 { v.removeLast() }
            }
        }
        return v
    }

    func testMutatedPayloadsMatchRedis() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("HLL", seed: 20_261_207, ops: 3000)
        rng = SeededRandom(state: seed ^ 0x5EED)
        let servers = try LockstepServers(for: "hyperloglog payload fuzz")
        defer { servers.stop() }
        let bases = try basePayloads(servers)
        XCTAssertEqual(bases.count, 5)
        var mismatches = 0
        var errors = 0
        let good = b("good")
        _ = try both(servers, [b("PFADD"), good, b("x"), b("y")], "setup", mismatches: &mismatches)
        for step in 0..<ops where mismatches < 5 {
            let payload = mutate(pick(bases))
            let key = b("k\(step % 4)")
            let what = "payload step \(step)"
            history = []
            guard try both(servers, [b("SET"), key, payload], what, mismatches: &mismatches) != nil else { continue }
            // Several commands on the same key: a corrupted code edited in place must go on
            // behaving the same.
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let args: [[UInt8]]
                switch Int.random(in: 0..<9, using: &rng) {
                case 0, 1: args = [b("PFCOUNT"), key]
                case 2, 3: args = [b("PFADD"), key] + (0..<Int.random(in: 1...40, using: &rng)).map { _ in element() }
                case 4: args = [b("PFMERGE"), b("dest\(step % 3)"), key] + (chance(50) ? [good] : [])
                case 5: args = [b("PFMERGE"), key, good]
                case 6: args = [b("PFCOUNT"), key, good]
                case 7: args = [b("PFDEBUG"), pick([b("DECODE"), b("TODENSE"), b("ENCODING"), b("GETREG")]), key]
                default: args = [b("PFCOUNT"), key]
                }
                if let r = try both(servers, args, what, mismatches: &mismatches), r.first == UInt8(ascii: "-") { errors += 1 }
                _ = try both(servers, [b("GET"), key], what, mismatches: &mismatches)
                if !servers.reference.isRunning { break }
            }
            if !servers.reference.isRunning {
                harnessLog("hll payload fuzz: redis-server itself died at step \(step); stopping the comparison there")
                break
            }
            XCTAssertTrue(servers.subject.isRunning, "redis-uv died at step \(step):\n\(servers.subject.log)")
            if !servers.subject.isRunning { break }
        }
        for i in 0..<3 where mismatches == 0 {
            _ = try both(servers, [b("GET"), b("dest\(i)")], "final", mismatches: &mismatches)
        }
        harnessLog("hll payload fuzz: seed \(seed), \(ops) payloads, \(errors) error replies, \(mismatches) mismatches")
    }
}
