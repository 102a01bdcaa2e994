#if canImport(Glibc)
import Glibc
#endif

/// Geo commands (Redis's geo.c): positions stored as sorted set members whose score is
/// the 52-bit geohash (Support/Geohash.swift). Searches scan the score ranges of the
/// nine geohash boxes around the centre, keep the points inside the circle or box, then
/// sort by distance.
enum GeoCommands {
    static let table: [CommandImpl] = [
        CommandImpl("geoadd", geoadd),
        CommandImpl("geopos", geopos),
        CommandImpl("geodist", geodist),
        CommandImpl("geohash", geohash),
        CommandImpl("georadius", { georadiusGeneric($0, $1, sourceIndex: 1, flags: .coords) }),
        CommandImpl("georadius_ro", { georadiusGeneric($0, $1, sourceIndex: 1, flags: [.coords, .noStore]) }),
        CommandImpl("georadiusbymember", { georadiusGeneric($0, $1, sourceIndex: 1, flags: .member) }),
        CommandImpl("georadiusbymember_ro", { georadiusGeneric($0, $1, sourceIndex: 1, flags: [.member, .noStore]) }),
        CommandImpl("geosearch", { georadiusGeneric($0, $1, sourceIndex: 1, flags: .search) }),
        CommandImpl("geosearchstore", { georadiusGeneric($0, $1, sourceIndex: 2, flags: [.search, .searchStore]) }),
    ]

    @inline(__always) static func opt(_ argv: Argv, _ i: Int, _ word: StaticString) -> Bool {
        StringCommands.optionIs(argv, i, word)
    }

    // MARK: argument helpers

    /// printf with one double into a buffer large enough for any "%f" of a double.
    static func format(_ fmt: String, _ d: Double) -> String {
        var buf = [CChar](repeating: 0, count: 512)
        _ = withVaList([d]) { vsnprintf(&buf, 512, fmt, $0) }
        return stringFromCBuffer(buf)
    }

    /// extractLongLatOrReply: longitude then latitude, within the geohash limits.
    static func longLatOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> (Double, Double)? {
        guard let lon = parseDouble(argv[i]), let lat = parseDouble(argv[i + 1]) else {
            c.addReplyErrorNotFloat()
            return nil
        }
        if lon < Geohash.longMin || lon > Geohash.longMax || lat < Geohash.latMin || lat > Geohash.latMax {
            c.addReplyError("invalid longitude,latitude pair " + format("%f", lon) + "," + format("%f", lat))
            return nil
        }
        return (lon, lat)
    }

    /// extractUnitOrReply: meters per unit.
    static func unitOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> Double? {
        if opt(argv, i, "m") { return 1 }
        if opt(argv, i, "km") { return 1000 }
        if opt(argv, i, "ft") { return 0.3048 }
        if opt(argv, i, "mi") { return 1609.34 }
        c.addReplyError("unsupported unit provided. please use M, KM, FT, MI")
        return nil
    }

    /// extractDistanceOrReply: `<radius> <unit>`.
    static func radiusOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> (radius: Double, conversion: Double)? {
        guard let d = parseDouble(argv[i]) else {
            c.addReplyError("need numeric radius")
            return nil
        }
        if d < 0 {
            c.addReplyError("radius cannot be negative")
            return nil
        }
        guard let unit = unitOrReply(c, argv, i + 1) else { return nil }
        return (d, unit)
    }

    /// extractBoxOrReply: `<width> <height> <unit>`.
    static func boxOrReply(_ c: Client, _ argv: Argv, _ i: Int) -> (width: Double, height: Double, conversion: Double)? {
        guard let w = parseDouble(argv[i]) else {
            c.addReplyError("need numeric width")
            return nil
        }
        guard let h = parseDouble(argv[i + 1]) else {
            c.addReplyError("need numeric height")
            return nil
        }
        if h < 0 || w < 0 {
            c.addReplyError("height or width cannot be negative")
            return nil
        }
        guard let unit = unitOrReply(c, argv, i + 2) else { return nil }
        return (w, h, unit)
    }

    /// addReplyDoubleDistance: four decimals ("%.4f"), always a bulk string.
    static func addReplyDistance(_ c: Client, _ d: Double) {
        c.addReplyBulk(format("%.4f", d))
    }

    /// addReplyHumanLongDouble: ld2string's human form, a bulk in RESP2, a double in RESP3.
    static func addReplyHumanDouble(_ c: Client, _ d: Double) {
        let text = formatLongDouble(Float80(d), .human)
        if c.resp == 2 {
            c.addReplyBulk(text)
        } else {
            c.out.append(byte: UInt8(ascii: ","))
            text.withUnsafeBytes { c.out.append($0) }
            c.out.append("\r\n")
        }
    }

    // MARK: GEOADD

    /// GEOADD key [NX|XX] [CH] longitude latitude member [...]: rewritten as ZADD with each
    /// position's 52-bit geohash as the score, as Redis's geoaddCommand does.
    static func geoadd(_ c: Client, _ argv: Argv) {
        var longIdx = 2
        var nx = false, xx = false
        while longIdx < argv.count {
            if opt(argv, longIdx, "nx") { nx = true }
            else if opt(argv, longIdx, "xx") { xx = true }
            else if opt(argv, longIdx, "ch") {}
            else { break }
            longIdx += 1
        }
        if (argv.count - longIdx) % 3 != 0 || (xx && nx) {
            c.addReplyErrorSyntax()
            return
        }
        var args: [[UInt8]] = [Array("zadd".utf8)]
        for i in 1..<longIdx { args.append(argv.bytes(i)) }
        var i = longIdx
        while i < argv.count {
            guard let (lon, lat) = longLatOrReply(c, argv, i) else { return }
            let hash = Geohash.encodeWGS84(longitude: lon, latitude: lat) ?? Geohash.Bits()
            args.append(Array(String(Geohash.align52Bits(hash)).utf8))
            args.append(argv.bytes(i + 2))
            i += 3
        }
        let zadd = OwnedArgv(args)
        SortedSetCommands.zaddGeneric(c, zadd.argv, flags: [])
        withExtendedLifetime(zadd) {}
        // Redis replaces the client's vector with this ZADD, so that is what propagates.
        if c.server.isPropagating { c.server.propagateInstead(args) }
    }

    // MARK: GEOPOS, GEODIST, GEOHASH

    /// The sorted set at `key` for reading, nil when missing; false after WRONGTYPE.
    static func readSet(_ c: Client, _ key: UnsafeRawBufferPointer) -> (ok: Bool, zset: SortedSetValue?) {
        switch c.lookupValue(key, .zset, as: SortedSetValue.self, write: false) {
        case .wrongType: return (false, nil)
        case .missing: return (true, nil)
        case .found(_, let z): return (true, z)
        }
    }

    static func geopos(_ c: Client, _ argv: Argv) {
        let (ok, z) = readSet(c, argv[1])
        guard ok else { return }
        c.addReplyArrayLen(argv.count - 2)
        for j in 2..<argv.count {
            guard let score = z?.score(of: argv[j]), let (lon, lat) = Geohash.decodeScore(score) else {
                c.addReplyNullArray()
                continue
            }
            c.addReplyArrayLen(2)
            addReplyHumanDouble(c, lon)
            addReplyHumanDouble(c, lat)
        }
    }

    static func geodist(_ c: Client, _ argv: Argv) {
        var toMeter = 1.0
        if argv.count == 5 {
            guard let u = unitOrReply(c, argv, 4) else { return }
            toMeter = u
        } else if argv.count > 5 {
            c.addReplyErrorSyntax()
            return
        }
        let (ok, found) = readSet(c, argv[1])
        guard ok else { return }
        guard let z = found else {
            c.addReplyNull()
            return
        }
        guard let s1 = z.score(of: argv[2]), let s2 = z.score(of: argv[3]),
              let a = Geohash.decodeScore(s1), let b = Geohash.decodeScore(s2) else {
            c.addReplyNull()
            return
        }
        addReplyDistance(c, Geohash.distance(a.longitude, a.latitude, b.longitude, b.latitude) / toMeter)
    }

    static func geohash(_ c: Client, _ argv: Argv) {
        let (ok, z) = readSet(c, argv[1])
        guard ok else { return }
        c.addReplyArrayLen(argv.count - 2)
        for j in 2..<argv.count {
            guard let score = z?.score(of: argv[j]), let (lon, lat) = Geohash.decodeScore(score) else {
                c.addReplyNull()
                continue
            }
            c.addReplyBulk(Geohash.standardText(longitude: lon, latitude: lat))
        }
    }

    // MARK: GEORADIUS, GEORADIUSBYMEMBER, GEOSEARCH, GEOSEARCHSTORE

    /// No result for STORE: the destination goes (Redis's dbDelete, which ignores TTLs),
    /// with signalModifiedKey and `del`.
    static func deleteStoreKey(_ c: Client, _ storeKey: UnsafeRawBufferPointer) {
        if c.db.delete(storeKey) {
            c.server.signalModifiedKey(c.db, storeKey)
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.generic, "del", storeKey, c.db.id)
            c.noteWrite()
        }
    }

    struct Flags: OptionSet {
        let rawValue: UInt8
        /// Search around coordinates (GEORADIUS).
        static let coords = Flags(rawValue: 1)
        /// Search around a member (GEORADIUSBYMEMBER).
        static let member = Flags(rawValue: 2)
        /// No STORE / STOREDIST (the _RO forms).
        static let noStore = Flags(rawValue: 4)
        /// GEOSEARCH arguments.
        static let search = Flags(rawValue: 8)
        /// GEOSEARCHSTORE: a destination first, STOREDIST without argument.
        static let searchStore = Flags(rawValue: 16)
    }

    /// A point found by a search (Redis's geoPoint).
    struct Point {
        var longitude: Double
        var latitude: Double
        var dist: Double
        var score: Double
        var member: [UInt8]
    }

    enum Sort { case none, asc, desc }

    /// Redis's georadiusGeneric.
    static func georadiusGeneric(_ c: Client, _ argv: Argv, sourceIndex: Int, flags: Flags) {
        var storeKey: UnsafeRawBufferPointer? = nil
        var storeDist = false
        let (ok, zset) = readSet(c, argv[sourceIndex])
        guard ok else { return }

        var shape = Geohash.Shape()
        let baseArgs: Int
        if flags.contains(.coords) {
            baseArgs = 6
            shape.kind = .circle
            guard let (lon, lat) = longLatOrReply(c, argv, 2) else { return }
            shape.longitude = lon
            shape.latitude = lat
            guard let r = radiusOrReply(c, argv, baseArgs - 2) else { return }
            (shape.radius, shape.conversion) = r
        } else if flags.contains(.member) && zset == nil {
            // No source key: parse on, to know which empty reply (STORE or not) to give.
            baseArgs = 5
        } else if flags.contains(.member) {
            baseArgs = 5
            shape.kind = .circle
            guard let score = zset!.score(of: argv[2]), let (lon, lat) = Geohash.decodeScore(score) else {
                c.addReplyError("could not decode requested zset member")
                return
            }
            shape.longitude = lon
            shape.latitude = lat
            guard let r = radiusOrReply(c, argv, baseArgs - 2) else { return }
            (shape.radius, shape.conversion) = r
        } else {
            baseArgs = flags.contains(.searchStore) ? 3 : 2
            if flags.contains(.searchStore) { storeKey = argv[1] }
        }

        var withDist = false, withHash = false, withCoords = false
        var fromMember = false, fromLoc = false, byRadius = false, byBox = false
        var sort = Sort.none
        var any = false
        var count = 0
        let search = flags.contains(.search)
        let remaining = argv.count - baseArgs
        var i = 0
        while i < remaining {
            let a = baseArgs + i
            if opt(argv, a, "withdist") {
                withDist = true
            } else if opt(argv, a, "withhash") {
                withHash = true
            } else if opt(argv, a, "withcoord") {
                withCoords = true
            } else if opt(argv, a, "any") {
                any = true
            } else if opt(argv, a, "asc") {
                sort = .asc
            } else if opt(argv, a, "desc") {
                sort = .desc
            } else if opt(argv, a, "count") && i + 1 < remaining {
                guard let n = c.intArgOrReply(argv, a + 1) else { return }
                if n <= 0 {
                    c.addReplyError("COUNT must be > 0")
                    return
                }
                count = n
                i += 1
            } else if opt(argv, a, "store") && i + 1 < remaining && !flags.contains(.noStore) && !search {
                storeKey = argv[a + 1]
                storeDist = false
                i += 1
            } else if opt(argv, a, "storedist") && i + 1 < remaining && !flags.contains(.noStore) && !search {
                storeKey = argv[a + 1]
                storeDist = true
                i += 1
            } else if opt(argv, a, "storedist") && search && flags.contains(.searchStore) {
                storeDist = true
            } else if opt(argv, a, "frommember") && i + 1 < remaining && search && !fromLoc {
                // No source key: parse on, the reply is the empty one.
                if let z = zset {
                    guard let score = z.score(of: argv[a + 1]), let (lon, lat) = Geohash.decodeScore(score) else {
                        c.addReplyError("could not decode requested zset member")
                        return
                    }
                    shape.longitude = lon
                    shape.latitude = lat
                }
                fromMember = true
                i += 1
            } else if opt(argv, a, "fromlonlat") && i + 2 < remaining && search && !fromMember {
                guard let (lon, lat) = longLatOrReply(c, argv, a + 1) else { return }
                shape.longitude = lon
                shape.latitude = lat
                fromLoc = true
                i += 2
            } else if opt(argv, a, "byradius") && i + 2 < remaining && search && !byBox {
                guard let r = radiusOrReply(c, argv, a + 1) else { return }
                (shape.radius, shape.conversion) = r
                shape.kind = .circle
                byRadius = true
                i += 2
            } else if opt(argv, a, "bybox") && i + 3 < remaining && search && !byRadius {
                guard let b = boxOrReply(c, argv, a + 1) else { return }
                (shape.width, shape.height, shape.conversion) = b
                shape.kind = .box
                byBox = true
                i += 3
            } else {
                c.addReplyErrorSyntax()
                return
            }
            i += 1
        }

        if storeKey != nil && (withDist || withHash || withCoords) {
            let what = flags.contains(.searchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS"
            c.addReplyError("\(what) is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
            return
        }
        if search && !(fromMember || fromLoc) {
            c.addReplyError("exactly one of FROMMEMBER or FROMLONLAT can be specified for \(cName(argv, 0))")
            return
        }
        if search && !(byRadius || byBox) {
            c.addReplyError("exactly one of BYRADIUS and BYBOX can be specified for \(cName(argv, 0))")
            return
        }
        if any && count == 0 {
            c.addReplyError("the ANY argument requires COUNT argument")
            return
        }

        guard let z = zset else {
            if let storeKey {
                deleteStoreKey(c, storeKey)
                c.addReplyInt(0)
            } else {
                c.addReplyArrayLen(0)
            }
            return
        }
        // COUNT without an order means the closest ones (not with ANY).
        if count != 0 && sort == .none && !any { sort = .asc }

        let areas = Geohash.searchAreas(&shape)
        var points: [Point] = []
        let limit = any ? count : 0
        if z.isPacked {
            z.withPackedView { membersOfAllNeighbors($0, areas, shape, &points, limit: limit) }
        } else {
            membersOfAllNeighbors(SkiplistView(sl: z.skiplist), areas, shape, &points, limit: limit)
        }

        if points.isEmpty && storeKey == nil {
            c.addReplyArrayLen(0)
            return
        }
        let resultLength = points.count
        let returned = (count == 0 || resultLength < count) ? resultLength : count
        if sort != .none {
            let less: (Point, Point) -> Bool = sort == .asc ? { $0.dist < $1.dist } : { $0.dist > $1.dist }
            if returned == resultLength {
                points = stableSorted(points, by: less)
            } else {
                partialQuickSort(&points, count: resultLength, lastWanted: returned - 1, sort == .asc)
            }
        }

        if let storeKey {
            var seen = Set<[UInt8]>()
            var elements: [(member: [UInt8], score: Double)] = []
            for p in points.prefix(returned) where seen.insert(p.member).inserted {
                elements.append((p.member, storeDist ? p.dist / shape.conversion : p.score))
            }
            if elements.isEmpty {
                deleteStoreKey(c, storeKey)
                c.addReplyInt(0)
                return
            }
            let word = SortedSetValue.buildWord(elements, limits: c.server.config.zsetLimits)
            let entry = KeyEntry.make(key: storeKey, word: word, type: .zset, lru: c.server.lruClock)
            if let old = c.lookupWrite(storeKey) {
                c.db.replace(old, with: entry, keepTTL: false)
            } else {
                c.db.add(entry)
                c.server.signalKeyAsReady(c.db, storeKey)
            }
            c.server.signalModifiedKey(c.db, storeKey)  // setKey's
            c.server.notifyKeyspaceEvent(KeyspaceEventFlags.zset, search ? "geosearchstore" : "georadiusstore",
                                         storeKey, c.db.id)
            c.noteWrite(returned)
            c.addReplyInt(returned)
            return
        }

        let options = (withDist ? 1 : 0) + (withCoords ? 1 : 0) + (withHash ? 1 : 0)
        c.addReplyArrayLen(returned)
        for p in points.prefix(returned) {
            if options > 0 { c.addReplyArrayLen(options + 1) }
            c.addReplyBulk(p.member)
            if withDist { addReplyDistance(c, p.dist / shape.conversion) }
            if withHash { c.addReplyInt(Int(Geohash.cInt64(p.score))) }
            if withCoords {
                c.addReplyArrayLen(2)
                addReplyHumanDouble(c, p.longitude)
                addReplyHumanDouble(c, p.latitude)
            }
        }
    }

    /// The command name as the client typed it (Redis prints c->argv[0]), up to a NUL.
    static func cName(_ argv: Argv, _ i: Int) -> String {
        let a = argv[i]
        let n = a.firstIndex(of: 0) ?? a.count
        return String(decoding: UnsafeRawBufferPointer(rebasing: a[0..<n]), as: UTF8.self)
    }

    /// membersOfAllNeighbors: the centre box and its neighbours, skipping excluded ones and
    /// one equal to the box processed just before (huge radii make neighbours repeat).
    static func membersOfAllNeighbors<V: ZsetReadView>(_ v: V, _ areas: Geohash.SearchAreas, _ shape: Geohash.Shape,
                                                       _ points: inout [Point], limit: Int) {
        let n = areas.neighbors
        let boxes = [areas.hash, n.north, n.south, n.east, n.west, n.northEast, n.northWest, n.southEast, n.southWest]
        var lastProcessed = 0
        for i in 0..<boxes.count {
            if boxes[i].isZero { continue }
            if lastProcessed != 0 && boxes[i] == boxes[lastProcessed] { continue }
            if !points.isEmpty && limit != 0 && points.count >= limit { break }
            // scoresOfGeoHashBox: every score with this box's bits as prefix.
            var next = boxes[i]
            next.bits &+= 1
            let range = ZScoreRange(min: Double(Geohash.align52Bits(boxes[i])), max: Double(Geohash.align52Bits(next)),
                                    minExclusive: false, maxExclusive: true)
            pointsInRange(v, range, shape, &points, limit: limit)
            lastProcessed = i
        }
    }

    /// geoGetPointsInRange: members with min <= score < max inside the shape.
    static func pointsInRange<V: ZsetReadView>(_ v: V, _ range: ZScoreRange, _ shape: Geohash.Shape,
                                               _ points: inout [Point], limit: Int) {
        var p = v.firstInRange(range)
        while let q = p {
            let score = v.score(q)
            if !range.lteMax(score) { break }
            if let (lon, lat) = Geohash.decodeScore(score), let dist = withinShape(shape, lon, lat) {
                points.append(Point(longitude: lon, latitude: lat, dist: dist, score: score, member: Array(v.member(q))))
            }
            if !points.isEmpty && limit != 0 && points.count >= limit { break }
            p = v.next(q)
        }
    }

    /// geoWithinShape: the distance from the centre when the point is inside.
    static func withinShape(_ shape: Geohash.Shape, _ lon: Double, _ lat: Double) -> Double? {
        switch shape.kind {
        case .circle:
            return Geohash.distanceIfInRadius(shape.longitude, shape.latitude, lon, lat,
                                              radius: shape.radius * shape.conversion)
        case .box:
            return Geohash.distanceIfInRectangle(width: shape.width * shape.conversion, height: shape.height * shape.conversion,
                                                 shape.longitude, shape.latitude, lon, lat)
        }
    }

    /// glibc's qsort as Redis meets it here: a merge sort, so equal distances keep the
    /// order in which the boxes were scanned.
    static func stableSorted(_ points: [Point], by less: (Point, Point) -> Bool) -> [Point] {
        points.enumerated().sorted { a, b in
            if less(a.element, b.element) { return true }
            if less(b.element, a.element) { return false }
            return a.offset < b.offset
        }.map { $0.element }
    }

    /// Redis's pqsort (NetBSD's qsort, Bentley-McIlroy, skipping partitions outside
    /// 0...lastWanted), on element indexes, so ties end up where Redis puts them. Redis
    /// 7.0.15's copy has no switch to insertion sort after a partition without swaps
    /// (checked against the server: equal distances come out in its order only so).
    static func partialQuickSort(_ points: inout [Point], count total: Int, lastWanted: Int, _ ascending: Bool) {
        func cmp(_ i: Int, _ j: Int) -> Int {
            let a = points[i].dist, b = points[j].dist
            let r = a > b ? 1 : (a == b ? 0 : -1)
            return ascending ? r : -r
        }
        func vecswap(_ a: Int, _ b: Int, _ n: Int) {
            var i = 0
            while i < n { points.swapAt(a + i, b + i); i += 1 }
        }
        func med3(_ a: Int, _ b: Int, _ c: Int) -> Int {
            cmp(a, b) < 0 ? (cmp(b, c) < 0 ? b : (cmp(a, c) < 0 ? c : a))
                : (cmp(b, c) > 0 ? b : (cmp(a, c) < 0 ? a : c))
        }
        func insertionSort(_ a: Int, _ n: Int) {
            var pm = a + 1
            while pm < a + n {
                var pl = pm
                while pl > a && cmp(pl - 1, pl) > 0 {
                    points.swapAt(pl, pl - 1)
                    pl -= 1
                }
                pm += 1
            }
        }
        /// Whether the subarray [s, s+n) holds any of the wanted positions.
        func overlaps(_ s: Int, _ n: Int) -> Bool {
            !((0 < s && lastWanted < s) || (0 >= s + n && lastWanted >= s + n))
        }
        func sort(_ start: Int, _ count: Int) {
            var a = start, n = count
            while true {
                if n < 7 {
                    insertionSort(a, n)
                    return
                }
                var pm = a + n / 2
                if n > 7 {
                    var pl = a
                    var pn = a + n - 1
                    if n > 40 {
                        let d = n / 8
                        pl = med3(pl, pl + d, pl + 2 * d)
                        pm = med3(pm - d, pm, pm + d)
                        pn = med3(pn - 2 * d, pn - d, pn)
                    }
                    pm = med3(pl, pm, pn)
                }
                points.swapAt(a, pm)
                var pa = a + 1, pb = a + 1
                var pc = a + n - 1, pd = a + n - 1
                while true {
                    while pb <= pc {
                        let r = cmp(pb, a)
                        if r > 0 { break }
                        if r == 0 {
                            points.swapAt(pa, pb)
                            pa += 1
                        }
                        pb += 1
                    }
                    while pb <= pc {
                        let r = cmp(pc, a)
                        if r < 0 { break }
                        if r == 0 {
                            points.swapAt(pc, pd)
                            pd -= 1
                        }
                        pc -= 1
                    }
                    if pb > pc { break }
                    points.swapAt(pb, pc)
                    pb += 1
                    pc -= 1
                }
                let pn = a + n
                var r = min(pa - a, pb - pa)
                vecswap(a, pb - r, r)
                r = min(pd - pc, pn - pd - 1)
                vecswap(pb, pn - r, r)
                r = pb - pa
                if r > 1 && overlaps(a, r) { sort(a, r) }
                r = pd - pc
                if r > 1 {
                    a = pn - r
                    n = r
                    if overlaps(a, n) { continue }
                }
                return
            }
        }
        sort(0, total)
    }
}
