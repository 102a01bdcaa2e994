import XCTest
import Foundation
@testable import RedisUV

/// The RDB building blocks (CRC64, LZF, length/string encodings, packed blobs) and the
/// loader against redis-server's own files: every key read back, saved, reread; corrupt
/// and truncated files rejected with an error, never a crash.
final class RDBFormatTests: XCTestCase {
    static func fixture(_ name: String) throws -> [UInt8] {
        let url = TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/rdb/\(name)")
        return Array(try Data(contentsOf: url))
    }

    // MARK: CRC64, LZF

    func testCRC64MatchesRedisTestVector() {
        XCTAssertEqual(CRC64.checksum(Array("123456789".utf8)), 0xe9c6_d914_c4b8_d9ca)
        XCTAssertEqual(CRC64.checksum([]), 0)
        // Slicing by 8 and the byte loop agree on every length.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        for n in 0..<data.count {
            var bytewise: UInt64 = 0
            for b in data[0..<n] { bytewise = CRC64.update(bytewise, UnsafeRawBufferPointer(start: [b], count: 1)) }
            XCTAssertEqual(CRC64.checksum(Array(data[0..<n])), bytewise, "length \(n)")
        }
    }

    func testLZFRoundTripsAndRejectsGarbage() {
        var rng = SystemRandomNumberGenerator()
        let inputs: [[UInt8]] = [
            Array(String(repeating: "abcdefghij", count: 100).utf8),
            Array(repeating: 0, count: 5000),
            (0..<3000).map { _ in UInt8.random(in: 0...3, using: &rng) },
            Array("hello hello hello hello hello hello".utf8),
        ]
        for input in inputs {
            let c = input.withUnsafeBytes { LZF.compress($0, limit: input.count - 4) }
            XCTAssertNotNil(c)
            guard let c else { continue }
            XCTAssertLessThan(c.count, input.count)
            var out = [UInt8](repeating: 0, count: input.count)
            let ok = c.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZF.decompress(src, into: $0) } }
            XCTAssertTrue(ok)
            XCTAssertEqual(out, input)
            // A wrong expected length is an error.
            var short = [UInt8](repeating: 0, count: input.count - 1)
            XCTAssertFalse(c.withUnsafeBytes { src in short.withUnsafeMutableBytes { LZF.decompress(src, into: $0) } })
        }
        // Random bytes: incompressible, and as compressed data never read out of bounds.
        let noise = (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }
        XCTAssertNil(noise.withUnsafeBytes { LZF.compress($0, limit: noise.count - 4) })
        for _ in 0..<2000 {
            let junk = (0..<Int.random(in: 1...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var out = [UInt8](repeating: 0, count: Int.random(in: 0...200, using: &rng))
            _ = junk.withUnsafeBytes { src in out.withUnsafeMutableBytes { LZF.decompress(src, into: $0) } }
        }
    }

    func testLZFReusedStateGivesTheSameOutputAsAFreshOne() {
        let state = LZFState()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<300 {
            let n = Int.random(in: 21...2000, using: &rng)
            let alphabet = UInt8(i % 7 + 2)
            let input = (0..<n).map { _ in UInt8.random(in: 0..<alphabet, using: &rng) + 97 }
            let fresh = input.withUnsafeBytes { LZF.compress($0, limit: n - 4) }
            let reused = input.withUnsafeBytes { LZF.compress($0, limit: n - 4, state: state) }
            XCTAssertEqual(fresh, reused, "input \(i)")
        }
    }

    func testLZFOutputMatchesRedisForACompressibleString() throws {
        // redis-server stored str:long (100 × "abcdefghij") LZF-compressed in the fixture.
        let file = try Self.fixture("all-types.rdb")
        let input = Array(String(repeating: "abcdefghij", count: 100).utf8)
        let c = input.withUnsafeBytes { LZF.compress($0, limit: input.count - 4) }!
        var expected: [UInt8] = [0xC3]
        let w = RDBWriter(compress: false)
        w.length(c.count); w.length(input.count)
        expected += w.bytes + c
        XCTAssertNotNil(file.firstRange(of: expected), "redis-server's LZF bytes for str:long differ from ours")
    }

    // MARK: encodings

    func testLengthAndStringEncodingsRoundTrip() throws {
        let w = RDBWriter(compress: true)
        let lengths = [0, 1, 63, 64, 16383, 16384, Int(UInt32.max), Int(UInt32.max) + 1]
        for n in lengths { w.length(n) }
        let strings = ["", "0", "-1", "127", "-128", "128", "32767", "-32769", "2147483647", "2147483648",
                       "012", "1 ", "hello", String(repeating: "z", count: 300), "-0"]
        for s in strings { w.string(s) }
        let bytes = w.bytes
        try bytes.withUnsafeBytes { buf in
            let r = RDBReader(buf)
            for n in lengths { XCTAssertEqual(try r.length(), n) }
            for s in strings { XCTAssertEqual(String(decoding: try r.stringArray(), as: UTF8.self), s) }
            XCTAssertTrue(r.atEnd)
        }
        // Integer forms as rdbTryIntegerEncoding picks them: 2, 3 and 5 bytes.
        for (s, size) in [("5", 2), ("-200", 3), ("100000", 5), ("4294967296", 11), ("012", 4)] {
            let w = RDBWriter(compress: true)
            w.string(s)
            XCTAssertEqual(w.bytes.count, size, s)
        }
    }

    func testReaderRejectsLyingLengths() {
        // A string claiming 2^32 bytes, and an LZF header claiming a huge output.
        for bytes: [UInt8] in [[0x80, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2], [0xC3, 0x02, 0x80, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2],
                               [0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0xC7]] {
            let r = bytes.withUnsafeBytes { RDBReader($0) }
            XCTAssertThrowsError(try bytes.withUnsafeBytes { buf in try RDBReader(buf).stringArray() }) { e in
                XCTAssertTrue(e is RDBError, "\(e)")
            }
            _ = r
        }
    }

    // MARK: whole files

    static func loadFixture(_ bytes: [UInt8], config: ServerConfig = ServerConfig(), nowMs: Int64 = wallClockMs(),
                            verify: Bool = true) throws -> ([Database], RDBLoadResult) {
        let stats = KeyspaceStats()
        let dbs = (0..<16).map { Database(id: $0, seed: 42, stats: stats) }
        let result = try bytes.withUnsafeBytes {
            try RDBFile.load($0, into: dbs, limits: RDBLoadLimits(config), verifyChecksum: verify, nowMs: nowMs,
                             lruClock: 0, lfu: false, log: { _ in })
        }
        return (dbs, result)
    }

    /// A canonical text of every key: type, TTL, encoding and sorted contents.
    static func describe(_ dbs: [Database]) -> [String] {
        var out: [String] = []
        for db in dbs {
            db.table.forEach { e in
                var line = "\(db.id) \(String(decoding: e.key, as: UTF8.self)) \(e.type.name) \(e.encodingName) ttl=\(db.expireAt(of: e))"
                switch e.type {
                case .string: line += " " + String(decoding: e.stringValue, as: UTF8.self)
                case .list:
                    let l = ListValue(entry: e)
                    var items: [String] = []
                    l.iterate(fromTail: false) { el in
                        items.append(el.isInteger ? String(el.integer)
                                     : String(decoding: UnsafeRawBufferPointer(start: el.bytes, count: el.length), as: UTF8.self))
                        return true
                    }
                    line += " " + items.joined(separator: ",")
                case .set:
                    line += " " + SetValue(entry: e).members.map { String(decoding: $0.array, as: UTF8.self) }.sorted().joined(separator: ",")
                case .zset:
                    var items: [String] = []
                    SortedSetValue(entry: e).forEach { m, s in items.append("\(String(decoding: m, as: UTF8.self))=\(s)") }
                    line += " " + items.joined(separator: ",")
                case .hash:
                    var items: [String] = []
                    HashValue(entry: e).forEach { f, v in
                        items.append("\(String(decoding: f, as: UTF8.self))=\(String(decoding: v, as: UTF8.self))"); return true
                    }
                    line += " " + items.sorted().joined(separator: ",")
                case .stream: line += " " + describeStream(e.object as! StreamValue)
                }
                out.append(line)
            }
        }
        return out.sorted()
    }

    /// Everything a stream holds: counters, entries with their fields, node boundaries,
    /// groups with their PELs (owner, delivery time and count) and consumers.
    static func describeStream(_ s: StreamValue) -> String {
        func id(_ i: StreamID) -> String { "\(i.ms)-\(i.seq)" }
        func text(_ b: UnsafeRawBufferPointer) -> String { RespEscape.escape(Array(b)) }
        var out = "len=\(s.length) last=\(id(s.lastID)) first=\(id(s.firstID)) maxdel=\(id(s.maxDeletedID))"
            + " added=\(s.entriesAdded) nodes=\(s.nodes.map { "\(id($0.master)):\($0.count)/\($0.deleted)" }) ["
        s.forEachEntry(from: .zero, to: .max, reverse: false) { i, f in
            out += id(i) + "{"
            f.forEachPair { k, v in out += text(k) + "=" + text(v) + ";" }
            out += "}"
            return true
        }
        out += "]"
        for g in s.groups {
            out += " group \(String(decoding: g.name, as: UTF8.self)) last=\(id(g.lastID)) read=\(g.entriesRead) pel=["
            g.pel.forEach { i, n in
                out += "\(id(i)):\(String(decoding: n.consumer?.name ?? [], as: UTF8.self)):\(n.deliveryTime):\(n.deliveryCount) "
                return true
            }
            out += "]"
            for c in g.consumers {
                out += " consumer \(String(decoding: c.name, as: UTF8.self)) seen=\(c.seenTime) pel=["
                c.pel.forEach { i, _ in out += id(i) + " "; return true }
                out += "]"
            }
        }
        return out
    }

    func testLoadsRedisFixtureWithEveryType() throws {
        let (dbs, result) = try Self.loadFixture(try Self.fixture("all-types.rdb"))
        XCTAssertEqual(result.version, 10)
        XCTAssertEqual(result.keysExpired, 1)
        XCTAssertEqual(result.keysLoaded, 36)
        XCTAssertEqual(dbs[0].count, 32)
        XCTAssertEqual(dbs[1].count, 2)
        XCTAssertEqual(dbs[3].count, 1)
        XCTAssertEqual(dbs[15].count, 1)
        XCTAssertTrue(result.auxFields.contains { $0.0 == "redis-ver" && $0.1.hasPrefix("7.0") })
        let text = Self.describe(dbs)
        func line(_ key: String) -> String? { text.first { $0.hasPrefix("0 \(key) ") } }
        XCTAssertEqual(line("str:int32"), "0 str:int32 string int ttl=-1 123456789")
        XCTAssertEqual(line("str:long"), "0 str:long string raw ttl=-1 " + String(repeating: "abcdefghij", count: 100))
        XCTAssertEqual(line("set:int16"), "0 set:int16 set intset ttl=-1 -100,1,2,3,300")
        XCTAssertEqual(line("zset:small"), "0 zset:small zset listpack ttl=-1 d=-1.0,e=0.0,a=1.0,b=2.0,c=3.5")
        XCTAssertEqual(line("hash:small"), "0 hash:small hash listpack ttl=-1 f1=v1,f2=2,f3=-3,num=1234567890123")
        XCTAssertEqual(line("list:small"), "0 list:small list quicklist ttl=-1 a,b,1,2,-3,1000000,hello")
        XCTAssertEqual(line("exp:future"), "0 exp:future string embstr ttl=4102444800000 v")
        XCTAssertNil(line("exp:gone"))
        XCTAssertTrue(line("zset:big")?.contains("skiplist") ?? false)
        XCTAssertTrue(line("hash:big")?.contains("hashtable") ?? false)
        XCTAssertTrue(line("set:bigint")?.contains("hashtable") ?? false)
        // Packed on disk with a long value: stays packed (only the count converts).
        XCTAssertTrue(line("hash:lp-longval")?.contains(" listpack ") ?? false)
        XCTAssertTrue(line("zset:lp-longmember")?.contains(" listpack ") ?? false)
        XCTAssertEqual(line("exp:later"), "0 exp:later string embstr ttl=4133980800000 v")
        XCTAssertEqual(line("exp:list"), "0 exp:list list quicklist ttl=4165516800123 a,b,c")
        // The same data without compression, and with a zero checksum, load the same.
        // (The nochecksum file comes from another run: its random string differs.)
        func stable(_ lines: [String]) -> [String] {
            lines.filter { !$0.hasPrefix("0 str:random ") }
        }
        let plain = Self.describe(try Self.loadFixture(try Self.fixture("all-types-nocompress.rdb")).0)
        let nosum = Self.describe(try Self.loadFixture(try Self.fixture("all-types-nochecksum.rdb")).0)
        XCTAssertEqual(plain, text)
        XCTAssertEqual(stable(nosum), stable(text))
        XCTAssertEqual(nosum.count, text.count)
        XCTAssertEqual(try Self.loadFixture(try Self.fixture("empty.rdb")).1.keysLoaded, 0)
    }

    /// Every committed fixture loads the same whatever the date: no key expires between the
    /// moment its file was saved (the `ctime` aux field) and 2100-01-01. Keys meant to be alive
    /// expire in 2100 or later; the one meant to be expired had expired when the file was saved.
    /// (The all-types files once carried a key set to expire one day after they were made, and
    /// every test counting their keys failed from the next day on.)
    func testFixturesDoNotDependOnTheDate() throws {
        let year2100Ms: Int64 = 4_102_444_800_000
        let dir = TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/rdb").path
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".rdb") }.sorted()
        XCTAssertTrue(names.contains("all-types.rdb") && names.contains("streams.rdb"), "\(names)")
        var keysWithExpiry = 0
        for name in names {
            let bytes = try Self.fixture(name)
            // At time 0 nothing has expired yet: every key is loaded with its expiry.
            let (dbs, first) = try Self.loadFixture(bytes, nowMs: 0)
            XCTAssertEqual(first.keysExpired, 0, name)
            // ctime is the save time in whole seconds; a file without one (the hand-made
            // stream file) may only hold keys that expire in 2100 or later.
            let ctime = first.auxFields.first(where: { $0.0 == "ctime" }).flatMap { Int64($0.1) }
            let savedMs = ctime.map { ($0 + 1) * 1000 } ?? 0
            for db in dbs {
                db.table.forEach { e in
                    let at = db.expireAt(of: e)
                    guard at >= 0 else { return }
                    keysWithExpiry += 1
                    XCTAssertTrue(at < savedMs || at >= year2100Ms,
                                  "\(name): \(String(decoding: e.key, as: UTF8.self)) expires at \(at) ms, after the file was saved and before 2100")
                }
            }
            // The same keys are loaded (and the same ones dropped) just after the save, today,
            // and on the last day of 2099.
            let counts = try [savedMs, wallClockMs(), year2100Ms - 1].map { now in
                let r = try Self.loadFixture(bytes, nowMs: now).1
                return [r.keysLoaded, r.keysExpired]
            }
            XCTAssertEqual(counts[1], counts[0], "\(name) today")
            XCTAssertEqual(counts[2], counts[0], "\(name) in 2099")
        }
        // The all-types files carry four keys with an expiry each (three alive, one expired).
        XCTAssertGreaterThanOrEqual(keysWithExpiry, 12)
    }

    func testSaveThenLoadKeepsEveryKey() throws {
        let (dbs, _) = try Self.loadFixture(try Self.fixture("all-types.rdb"))
        for version in [10, 9] {
            for compress in [true, false] {
                let w = RDBWriter(compress: compress)
                try RDBFile.save(dbs, to: w, options: .init(version: version, compress: compress, checksum: true,
                                                            aux: [("redis-ver", "7.0.15")]))
                let bytes = w.bytes
                let (again, result) = try Self.loadFixture(bytes)
                XCTAssertEqual(result.version, version)
                XCTAssertEqual(Self.describe(again), Self.describe(dbs), "version \(version) compress \(compress)")
                // Lists keep their nodes as saved (quicklistAppendListpack), in both forms.
                for name in ["list:big", "list:large-elem", "list:small"] {
                    let a = Array(name.utf8).withUnsafeBytes { ListValue(entry: dbs[0].table.find($0)!) }
                    let b = Array(name.utf8).withUnsafeBytes { ListValue(entry: again[0].table.find($0)!) }
                    XCTAssertEqual(b.nodeCounts, a.nodeCounts, name)
                    XCTAssertNil(b.checkConsistency(), name)
                }
            }
        }
    }

    /// A file's nodes are kept even when the current fill would cut them differently.
    func testListNodesAreKeptAsSaved() throws {
        var small = ServerConfig()
        small.listMaxListpackSize = 3
        let (dbs, _) = try Self.loadFixture(try Self.fixture("all-types.rdb"))
        let l = Array("list:big".utf8).withUnsafeBytes { ListValue(entry: dbs[0].table.find($0)!) }
        let (other, _) = try Self.loadFixture(try Self.fixture("all-types.rdb"), config: small)
        let m = Array("list:big".utf8).withUnsafeBytes { ListValue(entry: other[0].table.find($0)!) }
        XCTAssertGreaterThan(l.nodeCount, 1)
        XCTAssertEqual(m.nodeCounts, l.nodeCounts)
        XCTAssertNil(m.checkConsistency())
        // New elements follow the current fill from the last node on.
        for i in 0..<10 { Array("x\(i)".utf8).withUnsafeBytes { m.push($0, atHead: false) } }
        XCTAssertNil(m.checkConsistency())
        XCTAssertEqual(m.count, l.count + 10)
    }

    func testChecksumMismatchIsAnErrorUnlessDisabled() throws {
        var bytes = try Self.fixture("all-types.rdb")
        bytes[bytes.count - 1] ^= 0x01
        XCTAssertThrowsError(try Self.loadFixture(bytes)) { e in
            XCTAssertTrue("\(e)".contains("Wrong RDB checksum"), "\(e)")
        }
        XCTAssertNoThrow(try Self.loadFixture(bytes, verify: false))
    }

    func testVersionsAndSignatures() throws {
        var bytes = try Self.fixture("empty.rdb")
        for v in ["0001", "0009", "0011", "0012"] {
            bytes.replaceSubrange(5..<9, with: Array(v.utf8))
            XCTAssertNoThrow(try Self.loadFixture(bytes, verify: false), v)
        }
        for v in ["0013", "0000", "00x1"] {
            bytes.replaceSubrange(5..<9, with: Array(v.utf8))
            XCTAssertThrowsError(try Self.loadFixture(bytes, verify: false), v)
        }
        bytes.replaceSubrange(0..<5, with: Array("RADIS".utf8))
        XCTAssertThrowsError(try Self.loadFixture(bytes))
    }

    /// Every truncation, and random byte flips, of a real file: an RDBError or (for a
    /// flip the format cannot notice, with the checksum off) a successful load; never a
    /// crash, a hang or a huge allocation.
    func testTruncatedAndCorruptedFilesFailCleanly() throws {
        let bytes = try Self.fixture("all-types.rdb")
        // RDB_FUZZ_ITERATIONS=N: every truncation and N flips (a long run; default is quick).
        let long = Int(ProcessInfo.processInfo.environment["RDB_FUZZ_ITERATIONS"] ?? "") ?? 0
        let cuts = long > 0 ? Array(0..<bytes.count)
            : Array(stride(from: 0, to: bytes.count, by: 211)) + Array(0..<120) + Array(bytes.count - 40..<bytes.count)
        for n in cuts {
            XCTAssertThrowsError(try Self.loadFixture(Array(bytes[0..<n]))) { e in
                XCTAssertTrue(e is RDBError, "\(e)")
            }
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<(long > 0 ? long : 300) {
            var b = bytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let i = Int.random(in: 9..<b.count, using: &rng)
                b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            }
            do {
                _ = try Self.loadFixture(b, verify: false)
            } catch {
                XCTAssertTrue(error is RDBError, "\(error)")
            }
        }
    }
}
