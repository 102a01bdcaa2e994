import XCTest
@testable import RedisUV

/// Support/Geohash.swift against values Redis 7.0.15 prints for the same inputs.
final class GeohashTests: XCTestCase {
    func testEncodeMatchesRedisScores() {
        // GEOADD Sicily 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        let palermo = Geohash.encodeWGS84(longitude: 13.361389, latitude: 38.115556)!
        XCTAssertEqual(Geohash.align52Bits(palermo), 3479099956230698)
        let catania = Geohash.encodeWGS84(longitude: 15.087269, latitude: 37.502669)!
        XCTAssertEqual(Geohash.align52Bits(catania), 3479447370796909)
        XCTAssertNil(Geohash.encodeWGS84(longitude: 180.1, latitude: 0))
        XCTAssertNil(Geohash.encodeWGS84(longitude: 0, latitude: 85.06))
        XCTAssertNotNil(Geohash.encodeWGS84(longitude: -180, latitude: -85.05112878))
    }

    func testDecodeAndDistanceDigits() {
        let (lon, lat) = Geohash.decodeScore(3479099956230698)!
        XCTAssertEqual(String(decoding: formatLongDouble(Float80(lon), .human), as: UTF8.self), "13.36138933897018433")
        XCTAssertEqual(String(decoding: formatLongDouble(Float80(lat), .human), as: UTF8.self), "38.11555639549629859")
        let c = Geohash.decodeScore(3479447370796909)!
        XCTAssertEqual(GeoCommands.format("%.4f", Geohash.distance(lon, lat, c.longitude, c.latitude)), "166274.1516")
        XCTAssertEqual(Geohash.standardText(longitude: lon, latitude: lat), Array("sqc8b49rny0".utf8))
        XCTAssertEqual(Geohash.standardText(longitude: c.longitude, latitude: c.latitude), Array("sqdtr74hyu0".utf8))
    }

    func testScoresThatAreNotGeohashesDecodeAsRedisDoes() {
        // (uint64_t) of a double on x86-64: negative scores wrap, huge ones become 0;
        // decoded boxes outside the valid range are clamped.
        XCTAssertEqual(Geohash.cUInt64(-1), UInt64.max)
        XCTAssertEqual(Geohash.cUInt64(1e20), 0)
        XCTAssertEqual(Geohash.cUInt64(.infinity), 0)
        XCTAssertEqual(Geohash.cUInt64(-.infinity), 0x8000_0000_0000_0000)
        let neg = Geohash.decodeScore(-1)!
        XCTAssertEqual(neg.longitude, 180)
        XCTAssertEqual(neg.latitude, Geohash.latMax)
        let zero = Geohash.decodeScore(0)!
        XCTAssertEqual(String(decoding: formatLongDouble(Float80(zero.longitude), .human), as: UTF8.self), "-179.99999731779098511")
    }

    func testInterleaveRoundTripsAndNeighborsWrap() {
        for (x, y) in [(UInt32(0), UInt32(0)), (1, 2), (0x03FF_FFFF, 0x0123_4567), (UInt32.max, 0)] {
            let i = Geohash.interleave64(x, y)
            let d = Geohash.deinterleave64(i)
            XCTAssertEqual(UInt32(truncatingIfNeeded: d), x)
            XCTAssertEqual(UInt32(truncatingIfNeeded: d >> 32), y)
        }
        // Step 1 has two boxes per axis: east and west of a box are the same box.
        let h = Geohash.Bits(bits: 0b10, step: 1)
        let n = Geohash.neighbors(of: h)
        XCTAssertEqual(n.east, n.west)
        XCTAssertEqual(n.north, n.south)
        XCTAssertNotEqual(n.east, h)
    }

    func testStepsAndSearchAreas() {
        XCTAssertEqual(Geohash.estimateSteps(radiusMeters: 0, latitude: 0), 26)
        XCTAssertEqual(Geohash.estimateSteps(radiusMeters: 200_000, latitude: 37), 6)
        XCTAssertEqual(Geohash.estimateSteps(radiusMeters: 200_000, latitude: 70), 5)
        XCTAssertEqual(Geohash.estimateSteps(radiusMeters: 20_000_000, latitude: 0), 1)
        var shape = Geohash.Shape()
        shape.longitude = 15
        shape.latitude = 37
        shape.radius = 200
        shape.conversion = 1000
        let areas = Geohash.searchAreas(&shape)
        XCTAssertFalse(areas.hash.isZero)
        XCTAssertLessThan(shape.bounds.0, 15)
        XCTAssertGreaterThan(shape.bounds.2, 15)
    }

    func testPartialSortOrdersTiesAsRedis() {
        // GEOSEARCH ... COUNT 28 over one far point then 25 equal ones: Redis answers m24 first.
        var points = [13.9385] + Array(repeating: 0.0001, count: 25) + [1.6787, 4.3418, 10.0666]
        var geo = points.enumerated().map {
            GeoCommands.Point(longitude: 0, latitude: 0, dist: $0.element, score: 0, member: Array("\($0.offset)".utf8))
        }
        GeoCommands.partialQuickSort(&geo, count: geo.count, lastWanted: 27, true)
        XCTAssertEqual(String(decoding: geo[0].member, as: UTF8.self), "24")
        XCTAssertEqual(String(decoding: geo[1].member, as: UTF8.self), "1")
        points.sort()
        XCTAssertEqual(geo.prefix(28).map(\.dist), Array(points.prefix(28)))
    }
}
