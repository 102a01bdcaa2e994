#if canImport(Glibc)
import Glibc
#endif

/// Redis's geohash.c and geohash_helper.c: 52-bit interleaved geohashes (26 steps of
/// longitude and latitude bits), the neighbouring boxes of a search, and haversine
/// distances. The arithmetic follows Redis's C expression by expression (same operations
/// in the same order), so scores, decoded coordinates and distances come out with the
/// same bits and print the same digits.
enum Geohash {
    static let stepMax: UInt8 = 26  // GEO_STEP_MAX
    static let longMin = -180.0, longMax = 180.0
    /// EPSG:900913 / EPSG:3785 limits: geocoding does not reach the poles.
    static let latMin = -85.05112878, latMax = 85.05112878

    static let earthRadiusInMeters = 6372797.560856
    static let mercatorMax = 20037726.37
    /// D_R (M_PI / 180.0).
    static let degToRad = Double.pi / 180.0

    struct Range {
        var min: Double
        var max: Double
    }

    struct Bits: Equatable {
        var bits: UInt64 = 0
        var step: UInt8 = 0
        /// HASHISZERO: a neighbour box excluded from the search.
        var isZero: Bool { bits == 0 && step == 0 }
    }

    struct Area {
        var hash: Bits
        var longitude: Range
        var latitude: Range
    }

    struct Neighbors {
        var north = Bits(), east = Bits(), west = Bits(), south = Bits()
        var northEast = Bits(), southEast = Bits(), northWest = Bits(), southWest = Bits()
    }

    static let longRange = Range(min: longMin, max: longMax)
    static let latRange = Range(min: latMin, max: latMax)

    // MARK: geohash.c

    /// Interleaves the low 32 bits of x (even positions) and y (odd positions).
    @inline(__always)
    static func interleave64(_ xlo: UInt32, _ ylo: UInt32) -> UInt64 {
        let b: [UInt64] = [0x5555_5555_5555_5555, 0x3333_3333_3333_3333, 0x0F0F_0F0F_0F0F_0F0F,
                           0x00FF_00FF_00FF_00FF, 0x0000_FFFF_0000_FFFF]
        let s: [UInt64] = [1, 2, 4, 8, 16]
        var x = UInt64(xlo), y = UInt64(ylo)
        for i in stride(from: 4, through: 0, by: -1) {
            x = (x | (x << s[i])) & b[i]
            y = (y | (y << s[i])) & b[i]
        }
        return x | (y << 1)
    }

    /// The reverse: even bits to the low word, odd bits to the high word.
    @inline(__always)
    static func deinterleave64(_ interleaved: UInt64) -> UInt64 {
        let b: [UInt64] = [0x5555_5555_5555_5555, 0x3333_3333_3333_3333, 0x0F0F_0F0F_0F0F_0F0F,
                           0x00FF_00FF_00FF_00FF, 0x0000_FFFF_0000_FFFF, 0x0000_0000_FFFF_FFFF]
        let s: [UInt64] = [0, 1, 2, 4, 8, 16]
        var x = interleaved, y = interleaved >> 1
        for i in 0..<6 {
            x = (x | (x >> s[i])) & b[i]
            y = (y | (y >> s[i])) & b[i]
        }
        return x | (y << 32)
    }

    /// C's conversion of a double to uint32_t as x86-64 compilers emit it (through a
    /// 64-bit truncation): what `interleave64(lat_offset, long_offset)` receives.
    @inline(__always)
    static func cUInt32(_ d: Double) -> UInt32 {
        UInt32(truncatingIfNeeded: cInt64(d))
    }

    /// cvttsd2si: truncation toward zero, 0x8000000000000000 when out of range or NaN.
    @inline(__always)
    static func cInt64(_ d: Double) -> Int64 {
        if d.isNaN || d >= 9_223_372_036_854_775_808.0 || d < -9_223_372_036_854_775_808.0 { return Int64.min }
        return Int64(d)
    }

    /// C's `(uint64_t)score` on x86-64: below 2^63 a signed truncation (negative scores
    /// wrap), above it the truncation of score - 2^63 with the top bit flipped (so huge
    /// scores and infinity become 0). decodeGeohash depends on it for arbitrary scores.
    @inline(__always)
    static func cUInt64(_ d: Double) -> UInt64 {
        if d < 9_223_372_036_854_775_808.0 { return UInt64(bitPattern: cInt64(d)) }
        return UInt64(bitPattern: cInt64(d - 9_223_372_036_854_775_808.0)) ^ 0x8000_0000_0000_0000
    }

    /// geohashEncode; nil for coordinates outside the ranges (or a bad step).
    static func encode(_ longRange: Range, _ latRange: Range, longitude: Double, latitude: Double,
                       step: UInt8) -> Bits? {
        if step > 32 || step == 0 || latRange.max - latRange.min == 0 || longRange.max - longRange.min == 0 { return nil }
        if longitude > longMax || longitude < longMin || latitude > latMax || latitude < latMin { return nil }
        if latitude < latRange.min || latitude > latRange.max || longitude < longRange.min || longitude > longRange.max {
            return nil
        }
        var latOffset = (latitude - latRange.min) / (latRange.max - latRange.min)
        var longOffset = (longitude - longRange.min) / (longRange.max - longRange.min)
        latOffset *= Double(UInt64(1) << step)
        longOffset *= Double(UInt64(1) << step)
        return Bits(bits: interleave64(cUInt32(latOffset), cUInt32(longOffset)), step: step)
    }

    /// geohashEncodeWGS84.
    static func encodeWGS84(longitude: Double, latitude: Double, step: UInt8 = stepMax) -> Bits? {
        encode(longRange, latRange, longitude: longitude, latitude: latitude, step: step)
    }

    /// geohashDecode: the box a hash stands for.
    static func decode(_ longRange: Range, _ latRange: Range, _ hash: Bits) -> Area? {
        if hash.isZero || latRange.max - latRange.min == 0 || longRange.max - longRange.min == 0 { return nil }
        let step = hash.step
        let sep = deinterleave64(hash.bits)
        let latScale = latRange.max - latRange.min
        let longScale = longRange.max - longRange.min
        let ilato = UInt32(truncatingIfNeeded: sep)
        let ilono = UInt32(truncatingIfNeeded: sep >> 32)
        let div = Double(UInt64(1) << step)
        let area = Area(
            hash: hash,
            longitude: Range(min: longRange.min + (Double(ilono) * 1.0 / div) * longScale,
                             max: longRange.min + (Double(ilono &+ 1) * 1.0 / div) * longScale),
            latitude: Range(min: latRange.min + (Double(ilato) * 1.0 / div) * latScale,
                            max: latRange.min + (Double(ilato &+ 1) * 1.0 / div) * latScale))
        return area
    }

    /// geohashDecodeAreaToLongLat: the centre of the box, kept inside the valid ranges.
    static func center(of area: Area) -> (longitude: Double, latitude: Double) {
        var x = (area.longitude.min + area.longitude.max) / 2
        if x > longMax { x = longMax }
        if x < longMin { x = longMin }
        var y = (area.latitude.min + area.latitude.max) / 2
        if y > latMax { y = latMax }
        if y < latMin { y = latMin }
        return (x, y)
    }

    /// geo.c's decodeGeohash: a sorted set score (52-bit hash) to longitude, latitude.
    static func decodeScore(_ score: Double) -> (longitude: Double, latitude: Double)? {
        guard let area = decode(longRange, latRange, Bits(bits: cUInt64(score), step: stepMax)) else { return nil }
        return center(of: area)
    }

    /// geohash_move_x.
    static func moveX(_ hash: inout Bits, _ d: Int) {
        if d == 0 { return }
        var x = hash.bits & 0xAAAA_AAAA_AAAA_AAAA
        let y = hash.bits & 0x5555_5555_5555_5555
        let zz: UInt64 = 0x5555_5555_5555_5555 >> (64 - UInt64(hash.step) * 2)
        if d > 0 {
            x = x &+ (zz &+ 1)
        } else {
            x = x | zz
            x = x &- (zz &+ 1)
        }
        x &= (0xAAAA_AAAA_AAAA_AAAA >> (64 - UInt64(hash.step) * 2))
        hash.bits = x | y
    }

    /// geohash_move_y.
    static func moveY(_ hash: inout Bits, _ d: Int) {
        if d == 0 { return }
        let x = hash.bits & 0xAAAA_AAAA_AAAA_AAAA
        var y = hash.bits & 0x5555_5555_5555_5555
        let zz: UInt64 = 0xAAAA_AAAA_AAAA_AAAA >> (64 - UInt64(hash.step) * 2)
        if d > 0 {
            y = y &+ (zz &+ 1)
        } else {
            y = y | zz
            y = y &- (zz &+ 1)
        }
        y &= (0x5555_5555_5555_5555 >> (64 - UInt64(hash.step) * 2))
        hash.bits = x | y
    }

    /// geohashNeighbors.
    static func neighbors(of hash: Bits) -> Neighbors {
        func moved(_ dx: Int, _ dy: Int) -> Bits {
            var h = hash
            moveX(&h, dx)
            moveY(&h, dy)
            return h
        }
        var n = Neighbors()
        n.east = moved(1, 0)
        n.west = moved(-1, 0)
        n.south = moved(0, -1)
        n.north = moved(0, 1)
        n.northWest = moved(-1, 1)
        n.northEast = moved(1, 1)
        n.southEast = moved(1, -1)
        n.southWest = moved(-1, -1)
        return n
    }

    // MARK: geohash_helper.c

    /// A search area (Redis's GeoShape): around `longitude`,`latitude`, a circle of
    /// `radius` or a box of `width` × `height`, in the unit whose size in meters is
    /// `conversion`.
    struct Shape {
        enum Kind { case circle, box }
        var kind: Kind = .circle
        var longitude = 0.0
        var latitude = 0.0
        var conversion = 1.0
        var radius = 0.0
        var width = 0.0
        var height = 0.0
        /// min longitude, min latitude, max longitude, max latitude (geohashBoundingBox).
        var bounds = (0.0, 0.0, 0.0, 0.0)
    }

    @inline(__always) static func degRad(_ ang: Double) -> Double { ang * degToRad }
    @inline(__always) static func radDeg(_ ang: Double) -> Double { ang / degToRad }

    /// geohashEstimateStepsByRadius.
    static func estimateSteps(radiusMeters: Double, latitude lat: Double) -> UInt8 {
        if radiusMeters == 0 { return 26 }
        var range = radiusMeters
        var step = 1
        while range < mercatorMax {
            range *= 2
            step += 1
        }
        step -= 2  // make sure range is included in most of the base cases
        // Wider range towards the poles.
        if lat > 66 || lat < -66 {
            step -= 1
            if lat > 80 || lat < -80 { step -= 1 }
        }
        if step < 1 { step = 1 }
        if step > 26 { step = 26 }
        return UInt8(step)
    }

    /// geohashBoundingBox: the min/max longitude and latitude around the shape; the
    /// longitude span is taken at the edge nearer the pole.
    static func boundingBox(_ shape: Shape) -> (Double, Double, Double, Double) {
        let longitude = shape.longitude
        let latitude = shape.latitude
        let height = shape.conversion * (shape.kind == .circle ? shape.radius : shape.height / 2)
        let width = shape.conversion * (shape.kind == .circle ? shape.radius : shape.width / 2)
        let latDelta = radDeg(height / earthRadiusInMeters)
        let longDeltaTop = radDeg(width / earthRadiusInMeters / cos(degRad(latitude + latDelta)))
        let longDeltaBottom = radDeg(width / earthRadiusInMeters / cos(degRad(latitude - latDelta)))
        let southern = latitude < 0
        return (southern ? longitude - longDeltaBottom : longitude - longDeltaTop,
                latitude - latDelta,
                southern ? longitude + longDeltaBottom : longitude + longDeltaTop,
                latitude + latDelta)
    }

    /// The centre box and its eight neighbours covering a search (Redis's GeoHashRadius).
    struct SearchAreas {
        var hash: Bits
        var neighbors: Neighbors
        var area: Area
    }

    /// geohashCalculateAreasByShapeWGS84: boxes at a step coarse enough for the shape,
    /// minus the neighbours the bounding box does not reach. Fills `shape.bounds`.
    static func searchAreas(_ shape: inout Shape) -> SearchAreas {
        shape.bounds = boundingBox(shape)
        let (minLon, minLat, maxLon, maxLat) = shape.bounds
        let longitude = shape.longitude
        let latitude = shape.latitude
        var radiusMeters = shape.kind == .circle ? shape.radius
            : sqrt((shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2))
        radiusMeters *= shape.conversion

        var steps = estimateSteps(radiusMeters: radiusMeters, latitude: latitude)
        var hash = encode(longRange, latRange, longitude: longitude, latitude: latitude, step: steps) ?? Bits()
        var neighbors = neighbors(of: hash)
        var area = decode(longRange, latRange, hash) ?? Area(hash: hash, longitude: Range(min: 0, max: 0),
                                                             latitude: Range(min: 0, max: 0))
        // Near the edge of the covered area the estimated step may not be small enough:
        // one of the north / south / east / west boxes would not cover everything.
        var decreaseStep = false
        if let north = decode(longRange, latRange, neighbors.north), north.latitude.max < maxLat { decreaseStep = true }
        if let south = decode(longRange, latRange, neighbors.south), south.latitude.min > minLat { decreaseStep = true }
        if let east = decode(longRange, latRange, neighbors.east), east.longitude.max < maxLon { decreaseStep = true }
        if let west = decode(longRange, latRange, neighbors.west), west.longitude.min > minLon { decreaseStep = true }
        if steps > 1 && decreaseStep {
            steps -= 1
            hash = encode(longRange, latRange, longitude: longitude, latitude: latitude, step: steps) ?? Bits()
            neighbors = Geohash.neighbors(of: hash)
            area = decode(longRange, latRange, hash) ?? area
        }
        // Exclude the boxes that are useless.
        if steps >= 2 {
            if area.latitude.min < minLat {
                neighbors.south = Bits(); neighbors.southWest = Bits(); neighbors.southEast = Bits()
            }
            if area.latitude.max > maxLat {
                neighbors.north = Bits(); neighbors.northEast = Bits(); neighbors.northWest = Bits()
            }
            if area.longitude.min < minLon {
                neighbors.west = Bits(); neighbors.southWest = Bits(); neighbors.northWest = Bits()
            }
            if area.longitude.max > maxLon {
                neighbors.east = Bits(); neighbors.southEast = Bits(); neighbors.northEast = Bits()
            }
        }
        return SearchAreas(hash: hash, neighbors: neighbors, area: area)
    }

    /// geohashAlign52Bits: a hash of any step as a 52-bit score prefix.
    static func align52Bits(_ hash: Bits) -> UInt64 {
        hash.bits << (52 - UInt64(hash.step) * 2)
    }

    /// geohashGetDistance: the haversine great circle distance in meters.
    static func distance(_ lon1d: Double, _ lat1d: Double, _ lon2d: Double, _ lat2d: Double) -> Double {
        let lat1r = degRad(lat1d)
        let lon1r = degRad(lon1d)
        let lat2r = degRad(lat2d)
        let lon2r = degRad(lon2d)
        let u = sin((lat2r - lat1r) / 2)
        let v = sin((lon2r - lon1r) / 2)
        return 2.0 * earthRadiusInMeters * asin(sqrt(u * u + cos(lat1r) * cos(lat2r) * v * v))
    }

    /// geohashGetDistanceIfInRadiusWGS84.
    static func distanceIfInRadius(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, radius: Double) -> Double? {
        let d = distance(x1, y1, x2, y2)
        return d > radius ? nil : d
    }

    /// geohashGetDistanceIfInRectangle: within half the width along the point's parallel
    /// and half the height along its meridian, then the distance to the centre.
    static func distanceIfInRectangle(width: Double, height: Double, _ x1: Double, _ y1: Double,
                                      _ x2: Double, _ y2: Double) -> Double? {
        let lonDistance = distance(x2, y2, x1, y2)
        let latDistance = distance(x2, y2, x2, y1)
        if lonDistance > width / 2 || latDistance > height / 2 { return nil }
        return distance(x1, y1, x2, y2)
    }

    /// GEOHASH's text: the position re-encoded over the standard -90...90 latitude range,
    /// eleven base-32 characters (the last one always "0": the hash has 52 bits).
    static func standardText(longitude: Double, latitude: Double) -> [UInt8] {
        let alphabet = Array("0123456789bcdefghjkmnpqrstuvwxyz".utf8)
        let hash = encode(Range(min: -180, max: 180), Range(min: -90, max: 90),
                          longitude: longitude, latitude: latitude, step: 26) ?? Bits()
        var out = [UInt8](repeating: 0, count: 11)
        for i in 0..<11 {
            let idx = i == 10 ? 0 : Int((hash.bits >> UInt64(52 - (i + 1) * 5)) & 0x1F)
            out[i] = alphabet[idx]
        }
        return out
    }
}
