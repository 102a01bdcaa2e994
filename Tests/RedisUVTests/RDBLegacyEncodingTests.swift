import XCTest
@testable import RedisUV

/// Encodings older (and newer) Redis versions wrote, built by hand with the writer: linked
/// lists, zipmaps, ziplists, text-double sorted sets, second-precision expiries, files
/// without a checksum (before version 5), 7.2's listpack sets in a version 11 file, and
/// the opcodes that must be skipped or refused.
final class RDBLegacyEncodingTests: XCTestCase {
    private func file(version: Int, checksum: Bool = true, _ body: (RDBWriter) -> Void) -> [UInt8] {
        let w = RDBWriter(compress: false)
        w.raw("REDIS" + String(repeating: "0", count: 4 - String(version).count) + String(version))
        body(w)
        w.byte(RDB.opEOF)
        if checksum { w.uint64LE(w.checksum()) }
        return w.bytes
    }

    /// The loader's clock: 2023-11-14, before the 2033 expiry below, whatever the date
    /// (a version 6 file keeps seconds in a signed 32-bit field, so nothing past 2038 fits).
    private static let fixedNowMs: Int64 = 1_700_000_000_000

    private func key(_ w: RDBWriter, _ type: UInt8, _ name: String) {
        w.byte(type)
        w.string(name)
    }

    private func load(_ bytes: [UInt8]) throws -> (lines: [String], result: RDBLoadResult, log: [String]) {
        let stats = KeyspaceStats()
        let dbs = (0..<16).map { Database(id: $0, seed: 1, stats: stats) }
        var log: [String] = []
        let result = try bytes.withUnsafeBytes {
            try RDBFile.load($0, into: dbs, limits: RDBLoadLimits(ServerConfig()), verifyChecksum: true,
                             nowMs: Self.fixedNowMs, lruClock: 0, lfu: false, log: { log.append($0) })
        }
        return (RDBFormatTests.describe(dbs), result, log)
    }

    func testVersion6FileWithEveryLegacyEncoding() throws {
        let bytes = file(version: 6) { w in
            w.byte(RDB.opSelectDB); w.length(0)
            w.byte(RDB.opExpireTime); w.uint32LE(2_000_000_000)  // a signed 32-bit count of seconds
            key(w, RDB.typeString, "sec-expiry"); w.string("v")
            key(w, RDB.typeList, "linked"); w.length(3); w.string("a"); w.string("b"); w.string("100")
            key(w, RDB.typeZset, "textzset"); w.length(3)
            w.string("x"); w.byte(3); w.raw("1.5")
            w.string("y"); w.byte(254)
            w.string("z"); w.byte(255)
            key(w, RDB.typeHashZipmap, "zipmap")
            w.string([2, 1, UInt8(ascii: "f"), 1, 0, UInt8(ascii: "v"),
                      2, UInt8(ascii: "f"), UInt8(ascii: "f"), 3, 1, UInt8(ascii: "v"), UInt8(ascii: "v"), UInt8(ascii: "v"), 0,
                      0xFF])
            key(w, RDB.typeListZiplist, "ziplist")
            RDBObjects.writeZiplist(count: 5, to: w) { emit in
                for s in ["hello", "7", "-200", "70000", "5000000000"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
            key(w, RDB.typeZsetZiplist, "zsetzl")
            RDBObjects.writeZiplist(count: 4, to: w) { emit in
                for s in ["m1", "2.5", "m2", "3"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
            key(w, RDB.typeHashZiplist, "hashzl")
            RDBObjects.writeZiplist(count: 2, to: w) { emit in
                for s in ["field", "12"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
            key(w, RDB.typeSet, "rawset"); w.length(2); w.string("p"); w.string("q")
            key(w, RDB.typeHash, "rawhash"); w.length(1); w.string("k"); w.string("v")
            // IDLE and FREQ before a key are accepted.
            w.byte(RDB.opIdle); w.length(100)
            key(w, RDB.typeString, "idle"); w.string("1")
            w.byte(RDB.opFreq); w.byte(7)
            key(w, RDB.typeString, "freq"); w.string("2")
        }
        let (lines, result, _) = try load(bytes)
        XCTAssertEqual(result.keysLoaded, 11)
        XCTAssertEqual(lines, [
            "0 freq string int ttl=-1 2",
            "0 hashzl hash listpack ttl=-1 field=12",
            "0 idle string int ttl=-1 1",
            "0 linked list quicklist ttl=-1 a,b,100",
            "0 rawhash hash listpack ttl=-1 k=v",
            "0 rawset set hashtable ttl=-1 p,q",
            "0 sec-expiry string embstr ttl=2000000000000 v",
            "0 textzset zset listpack ttl=-1 z=-inf,x=1.5,y=inf",
            "0 ziplist list quicklist ttl=-1 hello,7,-200,70000,5000000000",
            "0 zipmap hash listpack ttl=-1 f=v,ff=vvv",
            "0 zsetzl zset listpack ttl=-1 m1=2.5,m2=3.0",
        ])
    }

    func testOldFilesHaveNoChecksumAndNewerVersionsLoad() throws {
        let v3 = file(version: 3, checksum: false) { w in
            w.byte(RDB.opSelectDB); w.length(2)
            key(w, RDB.typeString, "old"); w.string("value")
        }
        XCTAssertEqual(try load(v3).lines, ["2 old string embstr ttl=-1 value"])
        let v11 = file(version: 11) { w in
            w.aux("redis-ver", "7.2.4")
            w.byte(RDB.opSelectDB); w.length(0)
            key(w, RDB.typeSetListpack, "lpset")
            PackedFormats.writeListpack(count: 3, to: w) { emit in
                for s in ["a", "b", "12"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
        }
        let (lines, _, log) = try load(v11)
        XCTAssertEqual(lines, ["0 lpset set hashtable ttl=-1 12,a,b"])
        XCTAssertTrue(log.contains("Loading RDB produced by version 7.2.4"))
    }

    /// Redis 7.4's hashes with field TTLs (types 22-25, RDB 12): expired fields are dropped,
    /// the others kept without TTL (Redis 7.0 has no field expiry), and the log says so.
    func testVersion12HashesWithFieldTTLs() throws {
        let future: Int64 = 4_102_444_800_000  // 2100-01-01
        let v12 = file(version: 12) { w in
            w.aux("redis-ver", "7.4.1")
            w.byte(RDB.opSelectDB); w.length(0)
            // 24: smallest expiry first; TTLs relative to it (+1), 0 = none.
            key(w, RDB.typeHashMetadata, "meta")
            w.millisecondTime(1000)
            w.length(3)
            w.length(0); w.string("plain"); w.string("1")
            w.length(1); w.string("gone"); w.string("2")                       // expired at 1000
            w.length(Int(future - 1000 + 1)); w.string("later"); w.string("3")  // expires in 2100
            // 22: absolute TTLs.
            key(w, RDB.typeHashMetadataPreGA, "metapre")
            w.length(2)
            w.length(Int(future)); w.string("a"); w.string("x")
            w.length(0); w.string("b"); w.string("y")
            // 25: smallest expiry, then field/value/TTL triplets.
            key(w, RDB.typeHashListpackEx, "lpex")
            w.millisecondTime(1000)
            PackedFormats.writeListpack(count: 6, to: w) { emit in
                for s in ["f1", "v1", "0", "f2", "v2", "1000"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
            // 23: every field expired: the key is skipped.
            key(w, RDB.typeHashListpackExPreGA, "allgone")
            PackedFormats.writeListpack(count: 3, to: w) { emit in
                for s in ["f", "v", "5"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
        }
        let (lines, result, log) = try load(v12)
        XCTAssertEqual(lines, [
            "0 lpex hash listpack ttl=-1 f1=v1",
            "0 meta hash listpack ttl=-1 later=3,plain=1",
            "0 metapre hash listpack ttl=-1 a=x,b=y",
        ])
        XCTAssertEqual(result.keysLoaded, 3)
        XCTAssertEqual(result.emptyKeysSkipped, 1)
        XCTAssertTrue(log.contains("Hash field expiry (Redis 7.4) is not supported: 3 expired fields dropped, 2 fields kept without their TTL"), "\(log)")
        // A listpack whose elements do not come in triplets is refused.
        let bad = file(version: 12) { w in
            key(w, RDB.typeHashListpackExPreGA, "bad")
            PackedFormats.writeListpack(count: 2, to: w) { emit in
                for s in ["f", "v"] { Array(s.utf8).withUnsafeBytes { emit($0) } }
            }
        }
        XCTAssertThrowsError(try load(bad))
    }

    func testSkippedAndRefusedOpcodes() throws {
        let withFunction = file(version: 10) { w in
            w.byte(RDB.opFunction2); w.string("#!lua name=mylib\nredis.register_function('f', function() return 1 end)")
            key(w, RDB.typeString, "k"); w.string("v")
        }
        let (lines, _, log) = try load(withFunction)
        XCTAssertEqual(lines, ["0 k string embstr ttl=-1 v"])
        XCTAssertTrue(log.contains { $0.contains("Skipping a function library") && $0.contains("name=mylib") }, "\(log)")

        let moduleAux = file(version: 10) { w in w.byte(RDB.opModuleAux); w.length(1) }
        XCTAssertThrowsError(try load(moduleAux)) { e in
            XCTAssertTrue("\(e)".contains("AUX module data"), "\(e)")
            XCTAssertEqual((e as? RDBError)?.offset, 9)
        }
        // A stream cut after its node count: the error names where the data ran out.
        let stream = file(version: 10) { w in key(w, RDB.typeStreamListpacks2, "s"); w.length(0) }
        XCTAssertThrowsError(try load(stream)) { e in
            XCTAssertTrue("\(e)".contains("Unknown length encoding 255"), "\(e)")
            XCTAssertEqual((e as? RDBError)?.offset, 13)  // the EOF opcode read as the length
        }
        let unknown = file(version: 10) { w in w.byte(200) }
        XCTAssertThrowsError(try load(unknown))
        // Duplicates inside a value and across keys are corruption.
        let dupSet = file(version: 10) { w in key(w, RDB.typeSet, "s"); w.length(2); w.string("a"); w.string("a") }
        XCTAssertThrowsError(try load(dupSet)) { e in XCTAssertTrue("\(e)".contains("Duplicate set members"), "\(e)") }
        let dupKey = file(version: 10) { w in
            key(w, RDB.typeString, "k"); w.string("1")
            key(w, RDB.typeString, "k"); w.string("2")
        }
        XCTAssertThrowsError(try load(dupKey)) { e in XCTAssertTrue("\(e)".contains("Duplicate key"), "\(e)") }
        // An expired key is dropped; empty values are skipped.
        let expired = file(version: 10) { w in
            w.byte(RDB.opExpireTimeMs); w.millisecondTime(1000)
            key(w, RDB.typeString, "gone"); w.string("v")
            key(w, RDB.typeSet, "empty"); w.length(0)
        }
        let r = try load(expired)
        XCTAssertEqual(r.lines, [])
        XCTAssertEqual(r.result.keysExpired, 1)
        XCTAssertEqual(r.result.emptyKeysSkipped, 1)
    }
}
