import XCTest
@testable import RedisUV

/// The AOF manifest's format and its changes through start-up and rewrites, without files.
final class AOFManifestTests: XCTestCase {
    func testParseAndFormatRoundTripInRedisOrder() throws {
        let text = "file appendonly.aof.2.incr.aof seq 2 type i\n# a comment\n\nfile appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.0.base.rdb seq 0 type h\nfile appendonly.aof.3.incr.aof seq 3 type i extra-key value\n"
        let m = try AOFManifest.parse(text)
        XCTAssertEqual(m.base?.name, "appendonly.aof.1.base.rdb")
        XCTAssertEqual(m.incrs.map(\.seq), [2, 3])
        XCTAssertEqual(m.history.map(\.name), ["appendonly.aof.0.base.rdb"])
        XCTAssertEqual(m.currentIncrSeq, 3)
        XCTAssertEqual(m.format(), "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.0.base.rdb seq 0 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\nfile appendonly.aof.3.incr.aof seq 3 type i\n")
        XCTAssertEqual(try AOFManifest.parse(m.format()), m)
    }

    func testQuotedNames() throws {
        var m = AOFManifest()
        m.base = AOFManifest.FileInfo(name: "my file.aof", seq: 1, type: .base)
        XCTAssertEqual(m.format(), "file \"my file.aof\" seq 1 type b\n")
        XCTAssertEqual(try AOFManifest.parse(m.format()).base?.name, "my file.aof")
    }

    func testErrors() {
        func error(_ t: String) -> String? {
            do { _ = try AOFManifest.parse(t); return nil } catch let e as AOFManifest.ParseError { return e.message } catch { return "?" }
        }
        XCTAssertEqual(error(""), "Found an empty AOF manifest")
        XCTAssertEqual(error("file a seq 1 type b"), "The AOF manifest file is invalid format")
        XCTAssertEqual(error("file a seq 1\n"), "Invalid AOF manifest file format")
        XCTAssertEqual(error("file a seq 1 type b\nfile b seq 2 type b\n"), "Found duplicate base file information")
        XCTAssertEqual(error("file a seq 2 type i\nfile b seq 2 type i\n"), "Found a non-monotonic sequence number")
        XCTAssertEqual(error("file \"a seq 1 type b\n"), "Invalid AOF manifest file format")
    }

    func testStartupThenRewriteNamesAndHistory() {
        var m = AOFManifest()
        XCTAssertEqual(m.newBase(prefix: "appendonly.aof", rdbPreamble: true), "appendonly.aof.1.base.rdb")
        XCTAssertEqual(m.newIncr(prefix: "appendonly.aof"), "appendonly.aof.1.incr.aof")
        // A rewrite: a new incr at the fork, then the new base; the old base and the incr
        // before the fork become history.
        XCTAssertEqual(m.newIncr(prefix: "appendonly.aof"), "appendonly.aof.2.incr.aof")
        XCTAssertEqual(m.newBase(prefix: "appendonly.aof", rdbPreamble: false), "appendonly.aof.2.base.aof")
        m.markRewrittenIncrsAsHistory()
        XCTAssertEqual(m.format(), "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        XCTAssertEqual(m.lastIncr, "appendonly.aof.2.incr.aof")
    }
}
