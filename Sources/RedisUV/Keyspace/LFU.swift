/// Redis's LFU access counter (evict.c), used instead of the LRU clock when maxmemory-policy
/// is volatile-lfu or allkeys-lfu. It lives in the same 24 bits as the LRU clock
/// (`KeyEntry.lru`): the high 16 bits are the time of the last decrement in minutes
/// ("ldt"), the low 8 bits a logarithmic access counter. OBJECT FREQ reports the counter.
struct LFUPolicy {
    /// LFU_INIT_VAL: new values start here so they are not evicted before they had a chance.
    static let initialCounter: UInt32 = 5
    /// lfu-log-factor (Redis's default): how hard it gets to increment a high counter.
    var logFactor = 10
    /// lfu-decay-time (Redis's default): minutes of idleness per counter decrement.
    var decayTime = 1
    /// State of the generator behind LFULogIncr's coin flip (Redis uses rand()); a
    /// xorshift keeps the access path free of system calls.
    private var random: UInt64

    /// The policy for `maxmemoryPolicy`, or nil when it is not an LFU one.
    init?(maxmemoryPolicy: String, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) {
        guard maxmemoryPolicy == "volatile-lfu" || maxmemoryPolicy == "allkeys-lfu" else { return nil }
        random = seed | 1
    }

    /// LFUGetTimeInMinutes: Unix minutes, 16 bits.
    static func minutes(nowMs: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: (nowMs / 1000 / 60) & 65535)
    }

    /// The `lru` field of a value created now (Redis's createObject under LFU).
    static func initialStamp(nowMs: Int64) -> UInt32 {
        (minutes(nowMs: nowMs) << 8) | initialCounter
    }

    /// LFUTimeElapsed: minutes since `ldt`, modulo the 16-bit wrap.
    static func minutesElapsed(since ldt: UInt32, nowMs: Int64) -> UInt32 {
        let now = minutes(nowMs: nowMs)
        return now >= ldt ? now - ldt : 65535 - ldt + now
    }

    /// LFUDecrAndReturn: the counter after the decay owed for the idle time (the field
    /// itself is only rewritten on access).
    func counter(of lru: UInt32, nowMs: Int64) -> UInt32 {
        let ldt = lru >> 8
        var counter = lru & 255
        let periods = decayTime > 0 ? LFUPolicy.minutesElapsed(since: ldt, nowMs: nowMs) / UInt32(decayTime) : 0
        if periods > 0 { counter = periods > counter ? 0 : counter - periods }
        return counter
    }

    /// LFULogIncr: increments with probability 1 / ((counter - LFU_INIT_VAL) * logFactor + 1).
    mutating func incremented(_ counter: UInt32) -> UInt32 {
        if counter == 255 { return 255 }
        let r = nextUnitRandom()
        let base = Swift.max(0, Double(Int(counter) - Int(LFUPolicy.initialCounter)))
        let p = 1.0 / (base * Double(logFactor) + 1)
        return r < p ? counter + 1 : counter
    }

    /// updateLFU: the new `lru` field after one access.
    mutating func accessed(_ lru: UInt32, nowMs: Int64) -> UInt32 {
        let c = incremented(counter(of: lru, nowMs: nowMs))
        return (LFUPolicy.minutes(nowMs: nowMs) << 8) | c
    }

    /// Uniform in [0, 1), like Redis's (double)rand()/RAND_MAX.
    private mutating func nextUnitRandom() -> Double {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return Double(random >> 11) / Double(UInt64(1) << 53)
    }
}

extension Server {
    /// Pushes maxmemory-policy into every database, which record accesses accordingly.
    /// Called at startup and whenever the policy changes (CONFIG SET).
    func applyAccessPolicy() {
        let policy = LFUPolicy(maxmemoryPolicy: config.maxmemoryPolicy, seed: hashSeed)
        for db in dbs { db.lfu = policy }
    }

    /// Redis's MAXMEMORY_FLAG_LFU.
    var lfuPolicySelected: Bool {
        config.maxmemoryPolicy == "volatile-lfu" || config.maxmemoryPolicy == "allkeys-lfu"
    }

    /// Whether string values 0...9999 are Redis's shared integer objects: not when
    /// maxmemory is set with an LRU or LFU policy (MAXMEMORY_FLAG_NO_SHARED_INTEGERS),
    /// since a shared object cannot carry a per-key access clock.
    var sharedIntegersAllowed: Bool {
        if config.maxmemory == 0 { return true }
        return !config.maxmemoryPolicy.hasSuffix("-lru") && !config.maxmemoryPolicy.hasSuffix("-lfu")
    }
}
