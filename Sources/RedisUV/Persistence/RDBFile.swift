#if canImport(Glibc)
import Glibc
#endif

/// What a load found (INFO rdb_last_load_keys_loaded / _expired).
struct RDBLoadResult {
    var keysLoaded = 0
    var keysExpired = 0
    var emptyKeysSkipped = 0
    var version = 0
    var auxFields: [(String, String)] = []
    /// Where the RDB ended in the image (an AOF with an RDB preamble goes on with commands).
    var bytesRead = 0
}

/// Whole RDB files (Redis's rdbLoadRioWithLoadingCtx and rdbSaveRio).
enum RDBFile {
    /// Header "REDIS" + 4 digits.
    static func checkHeader(_ r: RDBReader) throws -> Int {
        let h = try r.bytes(9, "the RDB header")
        guard h.starts(with: Array("REDIS".utf8)) else {
            throw RDBError(offset: 0, message: "Wrong signature trying to load DB from file")
        }
        var v = 0
        for i in 5..<9 {
            let c = h[i]
            guard c >= 48 && c <= 57 else { throw RDBError(offset: i, message: "Wrong signature trying to load DB from file") }
            v = v * 10 + Int(c - 48)
        }
        guard v >= 1 && v <= RDB.maxLoadVersion else {
            throw RDBError(offset: 5, message: "Can't handle RDB format version \(v)")
        }
        return v
    }

    /// Loads every key of an RDB image into `dbs`. Expired keys are dropped when we load as a
    /// master; a replica (`keepExpired`) keeps them until its master deletes them, as Redis's
    /// rdbLoad does when !iAmMaster(). `log` receives Redis's informational lines (aux fields,
    /// skipped functions).
    static func load(_ bytes: UnsafeRawBufferPointer, into dbs: [Database], limits: RDBLoadLimits,
                     verifyChecksum: Bool, nowMs: Int64, lruClock: UInt32, lfu: Bool,
                     log: (String) -> Void, keyLoadDelay: Int = 0, replaceDuplicates: Bool = false,
                     keepExpired: Bool = false,
                     functionLibrary: (([UInt8]) -> String?)? = nil,
                     progress: ((RDBReader) throws -> Void)? = nil) throws -> RDBLoadResult {
        // key-load-delay (a test aid, as Redis's) slows every key and checks progress after each.
        let progressEvery = keyLoadDelay != 0 ? 1 : 1024
        let r = RDBReader(bytes)
        var result = RDBLoadResult()
        let version = try checkHeader(r)
        result.version = version
        var db = dbs.isEmpty ? nil : dbs[0]
        var expireAt: Int64 = -1
        var hasExpire = false
        var lfuFreq = -1
        var lruIdle = -1
        var sinceProgress = 0
        while true {
            let opStart = r.pos
            let type = try r.byte()
            switch type {
            case RDB.opExpireTime:
                expireAt = try r.secondTime() * 1000
                hasExpire = true
                continue
            case RDB.opExpireTimeMs:
                expireAt = try r.millisecondTime()
                hasExpire = true
                continue
            case RDB.opFreq:
                lfuFreq = Int(try r.byte())
                continue
            case RDB.opIdle:
                lruIdle = try r.length()
                continue
            case RDB.opEOF:
                break
            case RDB.opSelectDB:
                let id = try r.length()
                guard id < dbs.count else {
                    throw r.error("FATAL: Data file was created with a Redis server configured to handle more than \(dbs.count) databases. Exiting", at: opStart)
                }
                db = dbs[id]
                continue
            case RDB.opResizeDB:
                // Size the table once instead of doubling it all the way (dictExpand).
                let size = try r.length()
                _ = try r.length()
                if let db, size > db.table.bucketCount, size <= r.remaining / 4 {  // only a hint: ignored when implausible
                    db.table.resize(to: size)
                }
                continue
            case RDB.opAux:
                let k = String(decoding: try r.stringArray(), as: UTF8.self)
                let v = String(decoding: try r.stringArray(), as: UTF8.self)
                result.auxFields.append((k, v))
                if k == "redis-ver" { log("Loading RDB produced by version \(v)") }
                else if k == "ctime" {
                    if let t = Int(v) {
                        let age = max(0, Int(nowMs / 1000) - t)
                        log("RDB age \(age) seconds")
                    }
                } else if k == "used-mem" {
                    if let m = Int(v) {
                        log("RDB memory usage when created \(String(format2: Double(m) / 1024 / 1024)) Mb")
                        r.announcedUsedMem = m
                    }
                }
                continue
            case RDB.opModuleAux:
                throw r.error("The RDB file contains AUX module data I can't load: redis-uv has no modules", at: opStart)
            case RDB.opFunction2:
                let code = try r.stringArray()
                guard let functionLibrary else {
                    let firstLine = code.split(separator: 10).first.map { String(decoding: $0, as: UTF8.self) } ?? ""
                    log("Skipping a function library in the RDB file: \(firstLine)")
                    continue
                }
                if let err = functionLibrary(code) { throw r.error("Failed loading library, \(err)", at: opStart) }
                continue
            case RDB.opFunctionPreGA:
                throw r.error("Pre-release function format not supported", at: opStart)
            default:
                guard RDB.isObjectType(type) else {
                    throw r.error("Unknown RDB type or opcode \(type)", at: opStart)
                }
                let key = try r.stableString()
                // The key's bucket is fetched while the value is parsed.
                let keyHash = db?.table.prefetchBucket(key)
                var lru = lruClock
                if lfu {
                    lru = LFUPolicy.initialStamp(nowMs: nowMs)
                    if lfuFreq >= 0 { lru = (LFUPolicy.minutes(nowMs: nowMs) << 8) | UInt32(lfuFreq) }
                } else if lruIdle >= 0 {
                    // objectSetLRUOrLFU: the clock as it was `idle` seconds ago.
                    let idle = UInt32(truncatingIfNeeded: min(lruIdle, Int(KeyEntry.lruMask)))
                    lru = lruClock >= idle ? lruClock - idle : KeyEntry.lruMask - (idle - lruClock) + 1
                }
                let entry = try RDBObjects.load(type: type, key: key, from: r, limits: limits, lru: lru)
                defer { expireAt = -1; hasExpire = false; lfuFreq = -1; lruIdle = -1 }
                guard let entry else {
                    result.emptyKeysSkipped += 1
                    continue
                }
                // A time before 1970 (negative) is in the past too.
                if hasExpire && expireAt < nowMs && !keepExpired {
                    result.keysExpired += 1
                    continue
                }
                guard let db else { continue }
                if !db.table.insertIfAbsent(entry, hash: keyHash) {
                    guard replaceDuplicates else {
                        throw r.error("Duplicate key '\(String(decoding: key.prefix(64), as: UTF8.self))' found in RDB file", at: opStart)
                    }
                    // DEBUG RELOAD MERGE (Redis's RDBFLAGS_ALLOW_DUP): the file's key wins.
                    _ = db.delete(entry.key)
                    db.table.insert(entry)
                }
                if expireAt >= 0 { db.setExpire(entry, at: expireAt) }
                result.keysLoaded += 1
                sinceProgress += 1
                if keyLoadDelay != 0 { debugDelay(keyLoadDelay) }
                if sinceProgress >= progressEvery, let progress {
                    sinceProgress = 0
                    try progress(r)
                }
                continue
            }
            break
        }
        if r.hashFieldsExpired + r.hashFieldTTLsDiscarded > 0 {
            log("Hash field expiry (Redis 7.4) is not supported: \(r.hashFieldsExpired) expired fields dropped, \(r.hashFieldTTLsDiscarded) fields kept without their TTL")
        }
        // EOF: the checksum follows from version 5 on.
        if version >= 5 {
            let at = r.pos
            r.updateChecksum()
            let expected = r.crc
            let stored = try r.uint64LE()
            if verifyChecksum && stored != 0 && stored != expected {
                throw r.error("Wrong RDB checksum expected: (\(hex16(stored))) got: (\(hex16(expected))). Aborting now.", at: at)
            }
        }
        if result.emptyKeysSkipped > 0 {
            log("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired), empty keys skipped: \(result.emptyKeysSkipped).")
        } else {
            log("Done loading RDB, keys loaded: \(result.keysLoaded), keys expired: \(result.keysExpired).")
        }
        result.bytesRead = r.pos
        return result
    }

    static func hex16(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s
    }

    struct SaveOptions {
        var version = RDB.version
        var compress = true
        var checksum = true
        var aux: [(String, String)] = []
        /// maxmemory-policy: IDLE under an LRU policy, FREQ under an LFU one.
        var policy = "noeviction"
        var nowMs: Int64 = 0
        var lruClock: UInt32 = 0
        /// rdb-key-save-delay: microseconds slept per key (debugDelay).
        var keySaveDelay = 0
        /// Function libraries' code, each saved as a FUNCTION2 record (rdbSaveFunctions).
        var functions: [[UInt8]] = []
    }

    /// Writes an RDB image of `dbs` (rdbSaveRio): header, aux fields, each non-empty
    /// database (SELECTDB, RESIZEDB, its keys), EOF and the checksum (0 when disabled).
    static func save(_ dbs: [Database], to w: RDBWriter, options o: SaveOptions) throws {
        let v = String(o.version)
        w.raw("REDIS" + String(repeating: "0", count: 4 - v.count) + v)
        for (k, val) in o.aux { w.aux(k, val) }
        for code in o.functions {
            w.byte(RDB.opFunction2)
            w.string(code)
        }
        let lruPolicy = o.policy.hasSuffix("-lru")
        let lfuPolicy = o.policy.hasSuffix("-lfu")
        let lfu = LFUPolicy(maxmemoryPolicy: o.policy)
        for db in dbs where db.count > 0 {
            w.byte(RDB.opSelectDB)
            w.length(db.id)
            w.byte(RDB.opResizeDB)
            w.length(db.count)
            w.length(db.volatileCount)
            var failure: Error? = nil
            db.table.forEach { e in
                if failure != nil { return }
                let expireAt = db.expireAt(of: e)
                if expireAt >= 0 {
                    w.byte(RDB.opExpireTimeMs)
                    w.millisecondTime(expireAt)
                }
                if lruPolicy {
                    let idle = o.lruClock >= e.lru ? Int(o.lruClock - e.lru) : Int(o.lruClock) + Int(KeyEntry.lruMask - e.lru)
                    w.byte(RDB.opIdle)
                    w.length(idle)
                } else if lfuPolicy, let lfu {
                    w.byte(RDB.opFreq)
                    w.byte(UInt8(truncatingIfNeeded: lfu.counter(of: e.lru, nowMs: o.nowMs)))
                }
                if o.keySaveDelay != 0 { debugDelay(o.keySaveDelay) }
                // The type byte comes before the key (rdbSaveKeyValuePair).
                do {
                    try saveKeyValue(e, to: w, version: o.version)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
        w.byte(RDB.opEOF)
        let crc = o.checksum ? w.checksum() : 0
        w.uint64LE(crc)
        w.flush()
    }

    /// Type byte, key, value.
    static func saveKeyValue(_ e: KeyEntry, to w: RDBWriter, version: Int) throws {
        try RDBObjects.save(e, to: w, version: version, key: e.key)
    }
}

extension String {
    /// "%.2f".
    init(format2 d: Double) { self = formatC("%.2f", d) }
}

/// Redis's debugDelay: sleeps `usec` microseconds; a negative value sleeps 1 µs once in
/// -usec calls on average (short delays without a system call per key).
func debugDelay(_ usec: Int) {
    var us = usec
    if us < 0 { us = Int.random(in: 0..<(-us)) == 0 ? 1 : 0 }
    if us > 0 { usleep(UInt32(min(us, Int(UInt32.max)))) }
}
