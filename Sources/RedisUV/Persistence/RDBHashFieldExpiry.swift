#if canImport(Glibc)
import Glibc
#endif

/// Redis 7.4's hashes with field TTLs (HEXPIRE), RDB types 22–25 (rdb.c, RDB version 12):
///
/// - 24 HASH_METADATA: the smallest field expiry (ms), the pair count, then per field a
///   length-encoded TTL (0 = none, else `ttl + minExpire - 1`), the field and the value;
/// - 22 HASH_METADATA_PRE_GA (7.4 release candidates): the same without the smallest
///   expiry, the TTL being the absolute time;
/// - 25 HASH_LISTPACK_EX: the smallest expiry, then a listpack of field, value, TTL
///   triplets (TTL 0 = none, else absolute ms);
/// - 23 HASH_LISTPACK_EX_PRE_GA: the listpack alone.
///
/// Redis 7.0, which we implement, has no field expiry. A field whose time has passed is
/// dropped (it would read as absent in 7.4 too); the others are kept without a TTL, and
/// the loader reports how many TTLs were let go, so the log says so.
enum RDBHashFieldExpiry {
    /// Redis's EB_EXPIRE_TIME_MAX: field expiry times are 48-bit.
    static let maxExpireTime: UInt64 = (1 << 48) - 1

    struct Loaded {
        var pairs: [(field: [UInt8], value: [UInt8])] = []
        /// Fields dropped because their time had passed.
        var expired = 0
        /// Fields kept whose TTL was discarded.
        var ttlsDiscarded = 0
    }

    static func load(type: UInt8, from r: RDBReader, nowMs: Int64, at start: Int) throws -> Loaded {
        var out = Loaded()
        var minExpire: UInt64 = 0
        if type == RDB.typeHashMetadata || type == RDB.typeHashListpackEx {
            minExpire = UInt64(bitPattern: try r.millisecondTime())
        }
        func keep(_ field: [UInt8], _ value: [UInt8], expireAt: UInt64) throws {
            guard expireAt <= maxExpireTime else {
                throw r.error("invalid expireAt time: \(expireAt)", at: start)
            }
            if expireAt == 0 {
                out.pairs.append((field, value))
            } else if Int64(expireAt) <= nowMs {
                out.expired += 1
            } else {
                out.ttlsDiscarded += 1
                out.pairs.append((field, value))
            }
        }
        if type == RDB.typeHashMetadata || type == RDB.typeHashMetadataPreGA {
            // Each pair takes at least a TTL byte and two one-byte strings.
            let n = try r.count(minimumItemBytes: 3, "hash")
            for _ in 0..<n {
                let ttl = UInt64(try r.length())
                let expireAt = type == RDB.typeHashMetadata ? (ttl != 0 ? ttl &+ minExpire &- 1 : 0) : ttl
                let field = try r.stringArray()
                let value = try r.stringArray()
                try keep(field, value, expireAt: expireAt)
            }
            return out
        }
        // The listpack forms: triplets of field, value, TTL.
        try r.withString { blob throws in
            var elements: [PackedElement] = []
            try PackedFormats.forEachListpack(blob, at: start) { elements.append($0) }
            if elements.count % 3 != 0 { throw r.error("Hash listpackex integrity check failed.", at: start) }
            for i in stride(from: 0, to: elements.count, by: 3) {
                let expireAt: UInt64
                switch elements[i + 2] {
                case .int(let x) where x >= 0: expireAt = UInt64(x)
                case .bytes(let b) where (parseStrictInt(b) ?? -1) >= 0: expireAt = UInt64(parseStrictInt(b)!)
                default: throw r.error("Hash listpackex integrity check failed.", at: start)
                }
                try keep(try elements[i].withBytes { Array($0) }, try elements[i + 1].withBytes { Array($0) },
                         expireAt: expireAt)
            }
        }
        return out
    }
}
