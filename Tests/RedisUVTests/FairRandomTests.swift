import XCTest
@testable import RedisUV

/// Random picks on hashtable encodings are about uniform (Redis's dictGetFairRandomKey):
/// the chi-square of 1000 draws over ~100 elements (about 100 expected for a fair pick;
/// redis-server gives about 130, a random bucket then a random chain element about 300)
/// stays well under 200, as the median of 9 samples.
final class FairRandomTests: InProcessTestCase {
    /// Median chi-square of `samples` draws of 1000, the reply split into lines and the
    /// elements counted among `names`.
    private func medianChiSquare(names: [String], samples: Int = 9, draw: () -> String) -> Double {
        let known = Set(names)
        var stats: [Double] = []
        for _ in 0..<samples {
            var counts: [String: Int] = [:]
            var total = 0
            for line in draw().split(separator: "\r\n") where known.contains(String(line)) {
                counts[String(line), default: 0] += 1
                total += 1
            }
            XCTAssertEqual(total, 1000)
            let expected = Double(total) / Double(names.count)
            stats.append(names.reduce(0.0) { acc, n in
                let d = Double(counts[n] ?? 0) - expected
                return acc + d * d / expected
            })
        }
        return stats.sorted()[samples / 2]
    }

    /// Long names force the hashtable encodings (past the listpack value limits).
    private func longName(_ prefix: String, _ i: Int) -> String { prefix + String(repeating: "x", count: 70) + String(i) }

    func testHrandfieldIsFair() {
        let names = (0..<101).map { longName("f", $0) }
        for n in names { run("HSET", "h", n, "v") }
        XCTAssertEqual(run("OBJECT", "ENCODING", "h"), "$9\r\nhashtable\r\n")
        let chi = medianChiSquare(names: names) { run("HRANDFIELD", "h", "-1000") }
        XCTAssertLessThan(chi, 200)
    }

    func testSrandmemberIsFair() {
        let names = (0..<101).map { longName("m", $0) }
        for n in names { run("SADD", "s", n) }
        XCTAssertEqual(run("OBJECT", "ENCODING", "s"), "$9\r\nhashtable\r\n")
        let chi = medianChiSquare(names: names) { run("SRANDMEMBER", "s", "-1000") }
        XCTAssertLessThan(chi, 200)
    }

    func testZrandmemberIsFair() {
        let names = (0..<200).map { longName("z", $0) }
        for (i, n) in names.enumerated() { run("ZADD", "z", String(i), n) }
        XCTAssertEqual(run("OBJECT", "ENCODING", "z"), "$8\r\nskiplist\r\n")
        let chi = medianChiSquare(names: names) { run("ZRANDMEMBER", "z", "-1000") }
        XCTAssertLessThan(chi, 380)  // 199 degrees of freedom: about 200 expected
    }

    func testRandomkeyIsFair() {
        let names = (0..<103).map { "key:\($0)" }
        for n in names { run("SET", n, "v") }
        let chi = medianChiSquare(names: names) {
            var all = ""
            for _ in 0..<1000 { all += run("RANDOMKEY") }
            return all
        }
        XCTAssertLessThan(chi, 200)
    }
}
