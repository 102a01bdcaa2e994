import XCTest
@testable import RedisUV

/// The hdr_histogram bucket scheme behind LATENCY HISTOGRAM and INFO latencystats
/// (1 ns..1 s, 2 significant figures), checked against values redis-server 7.0.15 shows.
final class LatencyHistogramTests: XCTestCase {
    func testCumulativeDistributionBuckets() {
        let h = LatencyHistogram()
        // Durations are whole microseconds times 1000, 0 µs clamped to 1 ns (Redis's
        // updateCommandLatencyHistogram).
        for us in [0, 1, 2, 3, 16, 30, 60, 100, 500, 1000] { h.record(ns: Int64(us) * 1000) }
        let cdf = h.cumulativeDistribution()
        // Redis's iterator reports 1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056 µs.
        XCTAssertEqual(cdf.map { $0.0 }, [1, 2, 4, 16, 33, 66, 132, 528, 1056])
        XCTAssertEqual(cdf.map { $0.1 }, [2, 3, 4, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(h.totalCount, 10)
    }

    func testPercentiles() {
        let h = LatencyHistogram()
        h.record(ns: 1000)
        // INFO latencystats shows p50=1.003 for a 1 µs command, 0.001 for 0 µs.
        XCTAssertEqual(h.valueAtPercentile(50), 1003)
        let z = LatencyHistogram()
        z.record(ns: 0)
        XCTAssertEqual(z.valueAtPercentile(99.9), 1)
        XCTAssertEqual(z.valueAtPercentile(0), 1)
        let big = LatencyHistogram()
        big.record(ns: 5_000_000_000)  // clamped to 1 s
        XCTAssertEqual(big.cumulativeDistribution().count, 1)
        XCTAssertGreaterThanOrEqual(big.valueAtPercentile(100), 1_000_000_000)
    }

    func testSparkline() {
        // One sample: the lowest fill character on the bottom row, its label below.
        let g = IntrospectionCommands.sparkline(values: [32], labels: ["0s"], columns: 80, rows: 4)
        XCTAssertEqual(g, " \n \n \n_\n \n0\ns\n")
    }
}
