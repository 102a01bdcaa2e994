import XCTest
import Foundation

/// Seeded random GEOSEARCH / GEOSEARCHSTORE / GEODIST queries against redis-server and
/// redis-uv in lockstep over the same few hundred points (clustered, scattered, and some
/// sharing one position so distance ties hit both sorts); raw replies must be identical:
/// members, order, distances, hashes and coordinates to the last digit.
///
/// `GEO_FUZZ_OPS=N` (default 3000) and `GEO_FUZZ_SEED=S` change the run.
final class GeoFuzzDifferentialTests: XCTestCase {
    var rng = SeededRandom(state: 1)

    func uniform(_ a: Double, _ b: Double) -> Double { Double.random(in: a..<b, using: &rng) }
    func chance(_ p: Double) -> Bool { uniform(0, 1) < p }
    func fixed(_ d: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", d) }

    func testRandomGeoQueries() throws {
        let (seed, ops) = LockstepServers.fuzzSettings("GEO", seed: 55, ops: 3000)
        rng = .init(state: seed)

        let servers = try LockstepServers(for: "geo fuzz")
        defer { servers.stop() }
        let refs = servers.refs, subs = servers.subs

        var mismatches = 0
        func both(_ args: [String], conn: Int = 0) throws {
            try refs[conn].send(command: args)
            try subs[conn].send(command: args)
            let a = try refs[conn].readReply(), b = try subs[conn].readReply()
            if a != b {
                mismatches += 1
                XCTFail("""
                    \(args.joined(separator: " "))
                      redis-server: \(RespEscape.escape(a))
                      redis-uv:     \(RespEscape.escape(b))
                    """)
            }
        }

        for i in 0..<400 {
            var lon = chance(0.3) ? uniform(-180, 180) : uniform(10, 12)
            var lat = chance(0.3) ? uniform(-85, 85) : uniform(40, 42)
            if chance(0.05) { (lon, lat) = (11, 41) }
            try both(["GEOADD", "g", fixed(lon, 6), fixed(lat, 6), "m\(i)"])
        }
        for _ in 0..<40 { try both(["GEOADD", "small", fixed(uniform(10, 12), 5), fixed(uniform(40, 42), 5), "s\(Int(uniform(0, 60)))"]) }

        for _ in 0..<ops {
            if mismatches >= 5 { break }
            let key = chance(0.8) ? "g" : "small"
            var from: [String]
            if chance(0.5) {
                let lon = chance(0.2) ? uniform(-180, 180) : uniform(9, 13)
                let lat = chance(0.2) ? uniform(-85, 85) : uniform(39, 43)
                from = ["FROMLONLAT", fixed(lon, 5), fixed(lat, 5)]
            } else {
                from = ["FROMMEMBER", key == "g" ? "m\(Int(uniform(0, 400)))" : "s\(Int(uniform(0, 60)))"]
            }
            let unit = ["m", "km", "mi", "ft"][Int(uniform(0, 4))]
            let scale = ["m": 1000.0, "km": 1, "mi": 0.6, "ft": 3280][unit]!
            let sizes = [1.0, 10, 50, 100, 300, 1000, 5000, 20000]
            let by: [String] = chance(0.5)
                ? ["BYRADIUS", fixed(sizes[Int(uniform(0, 8))] * uniform(0, 1) * scale, 3), unit]
                : ["BYBOX", fixed(sizes[Int(uniform(0, 6))] * uniform(0, 1) * scale, 3),
                   fixed(sizes[Int(uniform(0, 6))] * uniform(0, 1) * scale, 3), unit]
            var opts: [String] = []
            for o in ["WITHDIST", "WITHCOORD", "WITHHASH"] where chance(0.4) { opts.append(o) }
            if chance(0.5) { opts.append(chance(0.5) ? "ASC" : "DESC") }
            if chance(0.5) {
                opts += ["COUNT", String(Int(uniform(1, 21)))]
                if chance(0.2) { opts.append("ANY") }
            }
            if chance(0.15) {
                let store = opts.filter { !$0.hasPrefix("WITH") } + (chance(0.5) ? ["STOREDIST"] : [])
                try both(["GEOSEARCHSTORE", "dst", key] + from + by + store)
                try both(["ZRANGE", "dst", "0", "-1", "WITHSCORES"])
            } else {
                try both(["GEOSEARCH", key] + from + by + opts, conn: chance(0.2) ? 1 : 0)
            }
            if chance(0.05) {
                try both(["GEODIST", "g", "m\(Int(uniform(0, 400)))", "m\(Int(uniform(0, 400)))", unit])
                try both(["GEOPOS", "g", "m\(Int(uniform(0, 400)))"], conn: chance(0.5) ? 1 : 0)
                try both(["GEOHASH", "g", "m\(Int(uniform(0, 400)))"])
            }
            if chance(0.02) {
                try both(["CONFIG", "SET", "zset-max-listpack-entries", chance(0.5) ? "0" : "128"])
            }
        }
        harnessLog("geo fuzz: \(ops) queries, \(mismatches) mismatches")
    }
}
