import XCTest
import Foundation
@testable import RedisUV

/// Streams in RDB files: the fixtures redis-server 7.0.15 wrote (streams.rdb and its
/// uncompressed twin), round trips through our saver in versions 10 and 9, a
/// hand-made version 11 file with 7.2's type 21, and corrupt input of every kind.
final class RDBStreamTests: XCTestCase {
    private typealias F = RDBFormatTests

    private func streams(_ dbs: [Database]) -> [String: StreamValue] {
        var out: [String: StreamValue] = [:]
        dbs[0].table.forEach { e in
            if e.type == .stream { out[String(decoding: e.key, as: UTF8.self)] = (e.object as! StreamValue) }
        }
        return out
    }

    func testStreamFixturesLoadWithEveryCounter() throws {
        let (dbs, result) = try F.loadFixture(try F.fixture("streams.rdb"))
        XCTAssertEqual(result.keysLoaded, 7)
        let s = streams(dbs)
        XCTAssertEqual(Set(s.keys), ["stream:small", "stream:nodes", "stream:groups", "stream:empty-group",
                                     "stream:emptied", "stream:setid", "stream:bigids"])
        let text = F.describe(dbs)
        let plain = F.describe(try F.loadFixture(try F.fixture("streams-nocompress.rdb")).0)
        XCTAssertEqual(plain, text)

        // What redis-server reported for these keys (XINFO STREAM FULL) before saving.
        let nodes = s["stream:nodes"]!
        XCTAssertEqual(nodes.length, 78)
        XCTAssertEqual(nodes.entriesAdded, 95)
        XCTAssertEqual(nodes.maxDeletedID, StreamID(ms: 1095, seq: 95))
        XCTAssertEqual(nodes.firstID, StreamID(ms: 1005, seq: 5))
        XCTAssertEqual(nodes.lastID, StreamID(ms: 1095, seq: 95))
        XCTAssertEqual(nodes.nodes.count, 9)
        XCTAssertEqual(nodes.edgeID(first: true), StreamID(ms: 1005, seq: 5))

        let small = s["stream:small"]!
        XCTAssertEqual(small.length, 5)
        var fields: [String] = []
        small.forEachEntry(from: .zero, to: .max, reverse: false) { _, f in
            f.forEachPair { k, v in fields.append("\(String(decoding: k, as: UTF8.self))=\(v.count)") }
            return true
        }
        XCTAssertEqual(fields, ["name=5", "age=2", "name=3", "age=2", "other=5", "n=12", "m=5", "k=5", "j=7",
                                "big=100", "huge=5000", "bin=4", "=5"])

        let groups = s["stream:groups"]!
        XCTAssertEqual(groups.length, 29)
        XCTAssertEqual(groups.groups.map { String(decoding: $0.name, as: UTF8.self) }, ["idle", "latest", "readers"])
        let readers = groups.groups[2]
        XCTAssertEqual(readers.consumers.map { String(decoding: $0.name, as: UTF8.self) }, ["alice", "bob", "carol", "dave"])
        XCTAssertEqual(readers.pel.count, 14)  // 15 delivered, one acknowledged
        XCTAssertEqual(readers.consumers.map(\.pel.count), [2, 7, 5, 0])  // carol claimed two of alice's
        XCTAssertEqual(readers.entriesRead, 15)
        XCTAssertEqual(groups.groups[0].entriesRead, StreamGroup.invalidEntriesRead)
        readers.pel.forEach { id, nack in
            XCTAssertTrue(nack.consumer!.pel.contains(id))
            return true
        }

        let setid = s["stream:setid"]!
        XCTAssertEqual(setid.lastID, StreamID(ms: 500, seq: 7))
        XCTAssertEqual(setid.entriesAdded, 40)
        XCTAssertEqual(setid.maxDeletedID, StreamID(ms: 400, seq: 0))
        XCTAssertEqual(s["stream:empty-group"]!.length, 0)
        XCTAssertEqual(s["stream:empty-group"]!.groups.count, 1)
        XCTAssertEqual(s["stream:emptied"]!.length, 0)
        XCTAssertEqual(s["stream:emptied"]!.maxDeletedID, StreamID(ms: 5, seq: 2))
        let big = s["stream:bigids"]!
        XCTAssertEqual(big.lastID, StreamID(ms: UInt64.max, seq: 5))
        XCTAssertEqual(big.groups[0].lastID, StreamID(ms: UInt64.max, seq: 0))
    }

    /// Saved by us and loaded back: the same streams (v10), and as Redis 7.0 reads a 6.x
    /// file (v9): no first ID / max deleted ID / entries added / entries read, so those
    /// are derived the way rdbLoadObject derives them.
    func testStreamsRoundTripInVersions10And9() throws {
        for name in ["streams.rdb", "streams-nocompress.rdb"] {
            let (dbs, _) = try F.loadFixture(try F.fixture(name))
            for compress in [true, false] {
                let w = RDBWriter(compress: compress)
                try RDBFile.save(dbs, to: w, options: .init(version: 10, compress: compress, checksum: true, aux: []))
                let (again, _) = try F.loadFixture(w.bytes)
                XCTAssertEqual(F.describe(again), F.describe(dbs), "\(name) v10 compress \(compress)")
                // Node listpacks are what redis-server wrote: each value's bytes are equal.
                for (k, v) in streams(dbs) {
                    let a = try DumpRestoreCommands.payload(entry(dbs, k), compress: compress)
                    let b = try DumpRestoreCommands.payload(entry(again, k), compress: compress)
                    XCTAssertEqual(a, b, k)
                    XCTAssertEqual(a[0], RDB.typeStreamListpacks2)
                    // The node size model (which decides node splits) is the encoded size.
                    for n in v.nodes { XCTAssertEqual(RDBObjects.streamNodeListpack(n).count, n.listpackBytes, k) }
                }
            }
            let w = RDBWriter(compress: true)
            try RDBFile.save(dbs, to: w, options: .init(version: 9, compress: true, checksum: true, aux: []))
            let (old, result) = try F.loadFixture(w.bytes)
            XCTAssertEqual(result.version, 9)
            let a = streams(dbs), b = streams(old)
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            for (k, x) in a {
                let y = b[k]!
                XCTAssertEqual(y.length, x.length, k)
                XCTAssertEqual(y.lastID, x.lastID, k)
                XCTAssertEqual(y.maxDeletedID, .zero, k)
                XCTAssertEqual(y.entriesAdded, Int64(x.length), k)
                XCTAssertEqual(y.firstID, x.edgeID(first: true) ?? .max, k)  // streamGetEdgeID of an empty stream
                // Entries, nodes and PELs unchanged: compare with the counters masked.
                func masked(_ s: StreamValue) -> String {
                    F.describeStream(s).replacingOccurrences(of: #"first=\S+ maxdel=\S+ added=\S+"#, with: "",
                                                             options: .regularExpression)
                        .replacingOccurrences(of: #"read=-?[0-9]+"#, with: "", options: .regularExpression)
                }
                XCTAssertEqual(masked(y), masked(x), k)
            }
            // A type-15 value has no entries_read: estimated (streamEstimateDistanceFromFirstEverEntry).
            XCTAssertEqual(b["stream:groups"]!.groups[1].entriesRead, 29)  // "latest", at the last ID
        }
    }

    private func entry(_ dbs: [Database], _ key: String) -> KeyEntry {
        Array(key.utf8).withUnsafeBytes { dbs[0].table.find($0)! }
    }

    // MARK: 7.2's RDB_TYPE_STREAM_LISTPACKS_3

    /// A version 11 file as Redis 7.2 writes streams (rdb.c of 7.2: type 21, consumers
    /// carry an active-time after their seen-time), built from the 7.0 fixture's streams.
    static func handMadeV3File() throws -> [UInt8] {
        let (dbs, _) = try F.loadFixture(try F.fixture("streams.rdb"))
        let w = RDBWriter(compress: false)
        w.raw("REDIS0011")
        w.aux("redis-ver", "7.2.4")
        w.aux("redis-bits", "64")
        w.byte(RDB.opSelectDB); w.length(0)
        var keys: [(String, StreamValue)] = []
        dbs[0].table.forEach { e in keys.append((String(decoding: e.key, as: UTF8.self), e.object as! StreamValue)) }
        for (k, s) in keys.sorted(by: { $0.0 < $1.0 }) {
            w.byte(RDB.typeStreamListpacks3)
            w.string(k)
            w.length(s.nodes.count)
            for n in s.nodes {
                w.string((0..<16).map { n.master.bigEndianByte($0) })
                w.string(RDBObjects.streamNodeListpack(n))
            }
            w.length(s.length)
            for v in [s.lastID.ms, s.lastID.seq, s.firstID.ms, s.firstID.seq, s.maxDeletedID.ms, s.maxDeletedID.seq,
                      UInt64(bitPattern: s.entriesAdded)] { w.length64(v) }
            w.length(s.groups.count)
            for g in s.groups {
                w.string(g.name)
                w.length64(g.lastID.ms); w.length64(g.lastID.seq)
                w.length64(UInt64(bitPattern: g.entriesRead))
                w.length(g.pel.count)
                g.pel.forEach { id, nack in
                    w.rawStreamID(id); w.millisecondTime(nack.deliveryTime); w.length64(UInt64(bitPattern: nack.deliveryCount))
                    return true
                }
                w.length(g.consumers.count)
                for c in g.consumers {
                    w.string(c.name)
                    w.millisecondTime(c.seenTime)
                    w.millisecondTime(c.seenTime - 1234)  // active-time
                    w.length(c.pel.count)
                    c.pel.forEach { id, _ in w.rawStreamID(id); return true }
                }
            }
        }
        w.byte(RDB.opEOF)
        w.uint64LE(w.checksum())
        return w.bytes
    }

    /// The committed streams-v3-handmade.rdb is what handMadeV3File() builds
    /// (WRITE_RDB_FIXTURES=1 rewrites it) and loads as the 7.0 streams did.
    func testType21StreamsFromAVersion11File() throws {
        let built = try Self.handMadeV3File()
        let url = TestEnvironment.packageRoot.appendingPathComponent("Tests/fixtures/rdb/streams-v3-handmade.rdb")
        if ProcessInfo.processInfo.environment["WRITE_RDB_FIXTURES"] == "1" { try Data(built).write(to: url) }
        let committed = try F.fixture("streams-v3-handmade.rdb")
        XCTAssertEqual(committed, built)
        let (v3, result) = try F.loadFixture(committed)
        XCTAssertEqual(result.version, 11)
        XCTAssertTrue(committed.contains(RDB.typeStreamListpacks3))
        XCTAssertEqual(F.describe(v3), F.describe(try F.loadFixture(try F.fixture("streams.rdb")).0))
    }

    // MARK: corrupt input

    /// Every truncation and random bit flips of both stream fixtures: an RDBError, never a crash.
    func testTruncatedAndFlippedStreamFilesFailCleanly() throws {
        let long = Int(ProcessInfo.processInfo.environment["RDB_FUZZ_ITERATIONS"] ?? "") ?? 0
        for name in ["streams.rdb", "streams-nocompress.rdb"] {
            let bytes = try F.fixture(name)
            let cuts = long > 0 ? Array(0..<bytes.count) : Array(stride(from: 0, to: bytes.count, by: 7))
            for n in cuts {
                XCTAssertThrowsError(try F.loadFixture(Array(bytes[0..<n]))) { e in XCTAssertTrue(e is RDBError, "\(e)") }
            }
            var rng = SystemRandomNumberGenerator()
            var failures = 0
            for _ in 0..<(long > 0 ? long : 1500) {
                var b = bytes
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let i = Int.random(in: 9..<b.count, using: &rng)
                    b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
                }
                do {
                    let (dbs, _) = try F.loadFixture(b, verify: false)
                    // Whatever loads must be usable: iterate every stream both ways.
                    for s in streams(dbs).values {
                        var n = 0
                        s.forEachEntry(from: .zero, to: .max, reverse: true) { _, f in f.forEachPair { _, _ in }; n += 1; return true }
                        XCTAssertEqual(n, s.length)
                        // (Node sizes follow the loaded bytes, as Redis's lpBytes does, even
                        // where a flip left a valid but non-canonical element.)
                        for node in s.nodes { _ = RDBObjects.streamNodeListpack(node) }
                        for g in s.groups { _ = s.lag(of: g) }  // XINFO's arithmetic on loaded counters
                        _ = s.radixTreeNodes
                        _ = s.trim(.maxlen(s.length / 2), approx: false, limit: 0)
                    }
                } catch {
                    XCTAssertTrue(error is RDBError, "\(error)")
                    failures += 1
                }
            }
            XCTAssertGreaterThan(failures, 0)
        }
    }

    /// A file holding one stream value written by `body` (after type 19 and key "s").
    private func streamFile(_ body: (RDBWriter) -> Void) -> [UInt8] {
        let w = RDBWriter(compress: false)
        w.raw("REDIS0010")
        w.byte(RDB.typeStreamListpacks2)
        w.string("s")
        body(w)
        w.byte(RDB.opEOF)
        w.uint64LE(w.checksum())
        return w.bytes
    }

    /// One node at 5-0 of entries (flags, ms-diff, seq-diff, value) under master field "f".
    private func node(_ w: RDBWriter, count: Int = 1, deleted: Int = 0,
                      entries: [(Int64, Int64, Int64)] = [(2, 0, 0)], lpCount: Int64 = 4) {
        w.length(1)
        w.string((0..<16).map { StreamID(ms: 5, seq: 0).bigEndianByte($0) })
        let lp = ListpackBuilder()
        lp.append(Int64(count)); lp.append(Int64(deleted)); lp.append(1)
        Array("f".utf8).withUnsafeBytes { lp.append($0) }
        lp.append(0)
        for (flags, dms, dseq) in entries {
            lp.append(flags); lp.append(dms); lp.append(dseq)
            Array("v".utf8).withUnsafeBytes { lp.append($0) }
            lp.append(lpCount)
        }
        w.string(lp.finish())
    }

    /// length, last ID 5-0, first 5-0, max deleted 0-0, added 1.
    private func meta(_ w: RDBWriter, length: Int = 1, last: UInt64 = 5) {
        w.length(length); w.length(Int(last)); w.length(0); w.length(5); w.length(0); w.length(0); w.length(0); w.length(1)
    }

    private func group(_ w: RDBWriter, pel: [UInt64], consumers: [(String, [UInt64])]) {
        w.length(1)
        w.string("g"); w.length(5); w.length(0); w.length(1)
        w.length(pel.count)
        for ms in pel { w.rawStreamID(StreamID(ms: ms, seq: 0)); w.millisecondTime(1000); w.length(1) }
        w.length(consumers.count)
        for (name, ids) in consumers {
            w.string(name); w.millisecondTime(2000)
            w.length(ids.count)
            for ms in ids { w.rawStreamID(StreamID(ms: ms, seq: 0)) }
        }
    }

    private func assertLoadError(_ bytes: [UInt8], _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try F.loadFixture(bytes), file: file, line: line) { e in
            guard let r = e as? RDBError else { return XCTFail("\(e)", file: file, line: line) }
            XCTAssertTrue(r.message.contains(text), "\(r)", file: file, line: line)
            XCTAssertTrue("\(r)".contains("(at offset \(r.offset))"), file: file, line: line)
            XCTAssertGreaterThan(r.offset, 11, file: file, line: line)
        }
    }

    func testCorruptStreamsAreRefusedWithTheirReason() throws {
        // The valid baseline loads: one entry 5-0, group g with it pending for alice.
        let good = streamFile { w in node(w); meta(w); group(w, pel: [5], consumers: [("alice", [5])]) }
        let (dbs, _) = try F.loadFixture(good)
        XCTAssertEqual(F.describe(dbs), ["0 s stream stream ttl=-1 len=1 last=5-0 first=5-0 maxdel=0-0 added=1 "
                                         + "nodes=[\"5-0:1/0\"] [5-0{f=v;}] group g last=5-0 read=1 pel=[5-0:alice:1000:1 ]"
                                         + " consumer alice seen=2000 pel=[5-0 ]"])

        assertLoadError(streamFile { w in
            w.length(1); w.string((0..<16).map { _ in UInt8(0) }); w.string([7, 0, 0, 0, 0, 0, 0xFF])
        }, "Empty listpack inside stream")
        assertLoadError(streamFile { w in w.length(1); w.string("short"); w.string([7, 0, 0, 0, 0, 0, 0xFF]) },
                        "not the size of a stream ID")
        assertLoadError(streamFile { w in node(w, lpCount: 5); meta(w); w.length(0) }, "lp-count mismatch")
        assertLoadError(streamFile { w in node(w, count: 2); meta(w); w.length(0) }, "Stream listpack integrity check failed")
        assertLoadError(streamFile { w in node(w, count: 0, deleted: 1); meta(w); w.length(0) }, "disagree with the entry flags")
        // Counters that would overflow when added up are refused before any arithmetic.
        assertLoadError(streamFile { w in node(w, count: Int(Int64.max), deleted: Int(Int64.max)); meta(w); w.length(0) },
                        "oversized master counters")
        assertLoadError(streamFile { w in node(w, count: 2, entries: [(2, 1, 0), (2, 0, 0)]); meta(w, length: 2); w.length(0) },
                        "out of order")
        assertLoadError(streamFile { w in node(w, entries: [(2, -1, 0)]); meta(w); w.length(0) }, "out of order")
        assertLoadError(streamFile { w in node(w, entries: [(9, 0, 0)]); meta(w); w.length(0) }, "unknown entry flags")
        assertLoadError(streamFile { w in node(w); meta(w, length: 2); w.length(0) }, "inconsistent with the 1 entries")
        assertLoadError(streamFile { w in node(w); meta(w, last: 4); w.length(0) }, "last ID is smaller")
        assertLoadError(streamFile { w in node(w); meta(w); group(w, pel: [5], consumers: [("alice", [6])]) },
                        "Consumer entry not found in group global PEL")
        assertLoadError(streamFile { w in node(w); meta(w); group(w, pel: [5], consumers: []) },
                        "Stream CG PEL entry without consumer")
        assertLoadError(streamFile { w in node(w); meta(w); group(w, pel: [5], consumers: [("a", [5]), ("b", [5])]) },
                        "Duplicated consumer PEL entry")
        assertLoadError(streamFile { w in node(w); meta(w); group(w, pel: [5, 5], consumers: [("a", [5])]) },
                        "Duplicated global PEL entry")
        assertLoadError(streamFile { w in node(w); meta(w); group(w, pel: [], consumers: [("a", []), ("a", [])]) },
                        "Duplicate stream consumer")
        // A listpack whose own structure is broken names the listpack's offset.
        var bytes = good
        let lpAt = 9 + 1 + 2 + 1 + 17  // header, type, key, node count, node key
        bytes[lpAt + 1 + 6] = 0xC5     // the first element's encoding byte
        XCTAssertThrowsError(try F.loadFixture(bytes, verify: false)) { e in
            XCTAssertEqual((e as? RDBError)?.offset, lpAt, "\(e)")
        }
    }
}
