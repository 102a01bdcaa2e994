#if canImport(Glibc)
import Glibc
#endif

/// maxmemory and its policies (Redis 7.0's evict.c): before a command runs, memory over
/// the limit is given back by deleting keys chosen by `maxmemory-policy`, for at most the
/// time `maxmemory-eviction-tenacity` allows; what is left over goes on from a timer
/// (evictionTimeProc). Commands that may grow memory get -OOM when nothing could be freed.
///
/// Memory is measured by glibc's mallinfo2, which walks the allocator's free lists (about
/// a millisecond on a churned heap: far too slow to run before every command, where Redis
/// reads one counter). So the figure used here is an estimate: the last measurement, plus
/// the argument bytes of every command that may grow memory since, minus the size
/// (MEMORY USAGE's) of every key evicted since. It is measured again from the cron, when
/// maxmemory changes, and every `remeasureEvery` commands while over the limit.

/// One candidate of the eviction pool (Redis's evictionPoolEntry): a copy of the key's
/// name, since the key may be gone by the time its turn comes.
struct EvictionPoolEntry {
    /// Higher is a better candidate: idle ms (LRU), 255 - counter (LFU), or the inverted
    /// expire time (volatile-ttl).
    var idle: UInt64 = 0
    var key: [UInt8] = []
    var used = false
    var dbid = 0
}

enum EvictResult { case ok, running, fail }

/// maxmemory-policy, parsed once per eviction cycle rather than compared as text per key.
enum EvictionPolicy {
    case noeviction, lru, lfu, ttl, random

    init(_ name: String) {
        if name == "noeviction" { self = .noeviction }
        else if name.hasSuffix("lru") { self = .lru }
        else if name.hasSuffix("lfu") { self = .lfu }
        else if name.hasSuffix("ttl") { self = .ttl }
        else { self = .random }
    }
}

final class EvictionState {
    /// EVPOOL_SIZE.
    static let poolSize = 16
    /// Commands over the limit between two real measurements.
    static let remeasureEvery = 8192

    var pool = [EvictionPoolEntry](repeating: EvictionPoolEntry(), count: EvictionState.poolSize)
    /// Used memory as last measured, plus growth since (see the file's comment).
    var estimate = 0
    var sinceMeasure = 0
    /// The random policies visit databases in turn (Redis's static next_db).
    var nextDb = 0
    /// evictionTimeProc is scheduled (isEvictionProcRunning).
    var procRunning = false
    /// Over the limit when the running command started (server.pre_command_oom_state).
    var preCommandOOM = false
    /// INFO stats.
    var evictedKeys = 0
    var exceededSinceUs: Int64 = 0
    var totalExceededUs: Int64 = 0
    private var random: UInt64 = 0x2545_F491_4F6C_DD1D

    /// CONFIG RESETSTAT.
    func resetStats() {
        evictedKeys = 0
        totalExceededUs = 0
        exceededSinceUs = 0
    }

    @inline(__always) func nextRandom() -> UInt64 {
        random ^= random << 13
        random ^= random >> 7
        random ^= random << 17
        return random
    }
}

extension KeyTable {
    /// Up to `count` entries from consecutive buckets starting at a random one (Redis's
    /// dictGetSomeKeys, with its bound of count * 10 buckets visited).
    func sampleEntries(_ count: Int, random: UInt64, into out: inout [KeyEntry]) {
        out.removeAll(keepingCapacity: true)
        if self.count == 0 { return }
        let wanted = Swift.min(count, self.count)
        var i = Int(truncatingIfNeeded: random) & mask
        var steps = wanted * 10
        var emptyRun = 0
        while out.count < wanted && steps > 0 {
            var e = buckets[i]
            if e == nil {
                emptyRun += 1
                // A long run of empty buckets: jump elsewhere, as Redis does.
                if emptyRun >= 5 && emptyRun > wanted {
                    i = Int(truncatingIfNeeded: random &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(steps)) & mask
                    emptyRun = 0
                }
            } else {
                emptyRun = 0
                while let cur = e, out.count < wanted {
                    out.append(cur)
                    e = cur.header.next
                }
            }
            i = (i + 1) & mask
            steps -= 1
        }
    }
}

extension Server {
    static let oomError = "-OOM command not allowed when used memory > 'maxmemory'."

    // MARK: memory as maxmemory sees it

    /// Memory Redis does not count against maxmemory (freeMemoryGetNotCountedMemory):
    /// what waits in replicas' output buffers and the AOF buffer.
    var memoryNotCountedForEvict: Int {
        var overhead = 0
        for r in repl.replicas { overhead += r.out.count }
        if aof.status != .off { overhead += aof.buffer.count }
        return overhead
    }

    /// Takes a real measurement (mallinfo2) into the estimate.
    func measureMemoryForEviction() {
        eviction.estimate = MemoryStats.usedMemory()
        eviction.sinceMeasure = 0
    }

    /// CONFIG SET maxmemory (updateMaxmemory): a warning when already over it, and
    /// eviction starts from the loop.
    func maxmemoryChanged() {
        measureMemoryForEviction()
        let used = eviction.estimate - memoryNotCountedForEvict
        if config.maxmemory < used {
            log.warning("WARNING: the new maxmemory value set via CONFIG SET (\(config.maxmemory)) is smaller than the current memory usage (\(used)). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.")
        }
        startEvictionTimeProc()
    }

    /// INFO's total_eviction_exceeded_time and current_eviction_exceeded_time, in ms.
    var evictionExceededTimeMs: (total: Int64, current: Int64) {
        let ev = eviction
        let current = ev.exceededSinceUs != 0 ? monotonicUs() - ev.exceededSinceUs : 0
        return ((ev.totalExceededUs + current) / 1000, current / 1000)
    }

    /// getMaxmemoryState: nil when under the limit, else how much to free.
    private func memoryToFree() -> Int? {
        let limit = config.maxmemory
        if limit == 0 || eviction.estimate <= limit { return nil }
        let used = eviction.estimate - memoryNotCountedForEvict
        return used > limit ? used - limit : nil
    }

    // MARK: processCommand's gate

    /// processCommand's maxmemory block: evicts if needed, then refuses (true) a command
    /// that may grow memory when nothing more could be freed. Inside MULTI every command
    /// but EXEC, DISCARD, QUIT and RESET counts as one (queueing takes memory).
    func rejectIfOutOfMemory(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, flags: CommandFlags) -> Bool {
        let ev = eviction
        // maxmemory from the config file: measured before the first command.
        if ev.estimate == 0 { measureMemoryForEviction() }
        if c.mstate != nil || flags.contains(.denyoom) || flags.contains(.mayReplicate) {
            var bytes = 0
            for i in 0..<argv.count { bytes &+= argv[i].count &+ 16 }
            ev.estimate &+= bytes
        }
        // The common case: under the limit, nothing running, nothing to account.
        if ev.estimate <= config.maxmemory && !ev.procRunning && ev.exceededSinceUs == 0 {
            ev.preCommandOOM = false
            return false
        }
        let outOfMemory = performEvictions() == .fail
        ev.preCommandOOM = outOfMemory
        // Our master's stream and the AOF being loaded are never refused (mustObeyClient).
        if !outOfMemory || c.flags.contains(.master) || loading { return false }
        var reject = commandIsDenyOOM(c, cmd, flags)
        if c.mstate != nil {
            let name = cmd.spec.name
            if name != "exec" && name != "discard" && name != "quit" && name != "reset" { reject = true }
        }
        if !reject { return false }
        rejectCommand(c, cmd, Server.oomError)
        return true
    }

    /// Redis's is_denyoom_command: the command's flags (a script's declared ones for
    /// EVAL/FCALL, Scripting/EvalCommands.swift scriptCommandFlags), or EXEC of a
    /// transaction holding such a command.
    private func commandIsDenyOOM(_ c: Client, _ cmd: RedisCommand, _ flags: CommandFlags) -> Bool {
        if flags.contains(.denyoom) { return true }
        if cmd.propagatesItsBody {
            return c.mstate?.commands.contains { $0.flags.contains(.denyoom) } ?? false
        }
        return false
    }

    /// script.c scriptVerifyOOM: a script that did not write yet may not run a denyoom
    /// command when memory was over the limit as it started (unless `allow-oom`).
    func scriptOOMRefusal(_ run: ScriptRun, _ cmd: RedisCommand) -> String? {
        if run.allowOOM || config.maxmemory == 0 || run.caller.flags.contains(.master) || loading { return nil }
        if !run.wroteDirty && eviction.preCommandOOM && cmd.flags.contains(.denyoom) { return Server.oomError }
        return nil
    }

    // MARK: eviction

    /// isPerformEvictions: not during a busy script or a load, not on a replica that
    /// ignores maxmemory, not while clients are paused.
    private var evictionsAllowed: Bool {
        if scripting.busy || loading { return false }
        if repl.master != nil && config.replicaIgnoreMaxmemory { return false }
        if clientsArePaused && checkClientPauseTimeout() { return false }
        return true
    }

    /// evictionTimeLimitUs: tenacity 0...10 is 0...500 µs, then 15 % more per step, 100 unbounded.
    private var evictionTimeLimitUs: Int64 {
        let t = config.maxmemoryEvictionTenacity
        if t <= 10 { return Int64(50 * t) }
        if t < 100 { return Int64(500.0 * pow(1.15, Double(t) - 10.0)) }
        return Int64.max
    }

    /// performEvictions.
    @discardableResult
    func performEvictions() -> EvictResult {
        if !evictionsAllowed { return .ok }
        let ev = eviction
        var result = EvictResult.fail
        defer { updateEvictionMetrics(result) }
        if memoryToFree() != nil && ev.sinceMeasure >= EvictionState.remeasureEvery { measureMemoryForEviction() }
        if memoryToFree() != nil { ev.sinceMeasure &+= 1 }
        guard let toFree = memoryToFree() else {
            result = .ok
            return result
        }
        let policy = EvictionPolicy(config.maxmemoryPolicy)
        if policy == .noeviction { return result }
        let limitUs = evictionTimeLimitUs
        let start = monotonicUs()
        let allKeys = config.maxmemoryPolicy.hasPrefix("allkeys")
        let lazy = config.lazyfreeLazyEviction
        var freed = 0
        var keysFreed = 0
        var samples: [KeyEntry] = []
        samples.reserveCapacity(config.maxmemorySamples)
        while freed < toFree {
            guard let (db, entry) = policy == .random ? randomVictim(allKeys: allKeys)
                    : pooledVictim(policy: policy, allKeys: allKeys, samples: &samples) else {
                return result  // nothing left to evict
            }
            let size = ServerCommands.entryMemoryUsage(entry, table: db.table)
            db.delete(entry: entry)
            freed += size
            ev.estimate -= size
            ev.evictedKeys += 1
            // `entry` (held here) still has the key's bytes after its removal.
            let k = entry.key
            signalModifiedKey(db, k)
            notifyKeyspaceEvent(KeyspaceEventFlags.evicted, "evicted", k, db.id)
            if isPropagating { propagateDeletion(dbid: db.id, k, lazy: lazy) }
            propagatePendingCommands()
            keysFreed += 1
            if keysFreed % 16 == 0 && monotonicUs() - start > limitUs {
                startEvictionTimeProc()
                break
            }
        }
        result = ev.procRunning ? .running : .ok
        return result
    }

    private func updateEvictionMetrics(_ result: EvictResult) {
        let ev = eviction
        if result != .ok {
            if ev.exceededSinceUs == 0 { ev.exceededSinceUs = monotonicUs() }
        } else if ev.exceededSinceUs != 0 {
            ev.totalExceededUs += monotonicUs() - ev.exceededSinceUs
            ev.exceededSinceUs = 0
        }
    }

    /// startEvictionTimeProc: evicting goes on from the loop until done or stuck.
    func startEvictionTimeProc() {
        let ev = eviction
        if ev.procRunning { return }
        guard let loop else { return }
        ev.procRunning = true
        _ = OneShotTimer(loop: loop, milliseconds: 0) { [unowned(unsafe) self] in self.evictionTimeProc() }
    }

    private func evictionTimeProc() {
        let ev = eviction
        ev.procRunning = false
        // performEvictions re-arms the timer (procRunning) when it stops on time again.
        _ = performEvictions()
    }

    /// volatile-random / allkeys-random: a random key of the next database that has one.
    private func randomVictim(allKeys: Bool) -> (Database, KeyEntry)? {
        let ev = eviction
        for _ in 0..<dbs.count {
            ev.nextDb = (ev.nextDb + 1) % dbs.count
            let db = dbs[ev.nextDb]
            if allKeys {
                if let e = db.table.randomEntry() { return (db, e) }
            } else if db.volatileCount > 0 {
                let i = Int(ev.nextRandom() % UInt64(db.volatileCount))
                return (db, db.volatile[i].entry)
            }
        }
        return nil
    }

    /// The LRU, LFU and TTL policies: fill the pool from every database, then take its best
    /// candidate that still exists (ghosts are dropped).
    private func pooledVictim(policy: EvictionPolicy, allKeys: Bool, samples: inout [KeyEntry]) -> (Database, KeyEntry)? {
        let ev = eviction
        while true {
            var total = 0
            for db in dbs {
                let keys = allKeys ? db.count : db.volatileCount
                if keys == 0 { continue }
                populatePool(db, policy: policy, allKeys: allKeys, samples: &samples)
                total += keys
            }
            if total == 0 { return nil }
            var k = EvictionState.poolSize - 1
            while k >= 0 {
                defer { k -= 1 }
                if !ev.pool[k].used { continue }
                let db = dbs[ev.pool[k].dbid]
                let found = ev.pool[k].key.withUnsafeBytes { db.table.find($0) }
                ev.pool[k].used = false
                ev.pool[k].idle = 0
                if let e = found, allKeys || e.header.volatileSlot >= 0 { return (db, e) }
            }
        }
    }

    /// evictionPoolPopulate: samples maxmemory-samples keys and inserts the better ones,
    /// the pool kept in ascending order of `idle`.
    private func populatePool(_ db: Database, policy: EvictionPolicy, allKeys: Bool, samples: inout [KeyEntry]) {
        let ev = eviction
        let n = config.maxmemorySamples
        samples.removeAll(keepingCapacity: true)
        var ttls: [Int64] = []
        if allKeys {
            db.table.sampleEntries(n, random: ev.nextRandom(), into: &samples)
        } else {
            let count = db.volatileCount
            for _ in 0..<Swift.min(n, count) {
                let v = db.volatile[Int(ev.nextRandom() % UInt64(count))]
                samples.append(v.entry)
                ttls.append(v.expireAt)
            }
        }
        let size = EvictionState.poolSize
        let clock = UInt64(lruClock)
        let lruMax = UInt64(KeyEntry.lruMask)
        let lfu = db.lfu
        let now = cachedTimeMs
        for (j, e) in samples.enumerated() {
            let idle: UInt64
            if policy == .lru {
                let stamp = UInt64(e.lru)
                idle = (clock >= stamp ? clock - stamp : clock + (lruMax - stamp)) * 1000
            } else if policy == .lfu {
                let counter = lfu?.counter(of: e.lru, nowMs: now) ?? (e.lru & 255)
                idle = 255 - UInt64(counter)
            } else {
                idle = UInt64.max - UInt64(max(0, ttls.isEmpty ? db.expireAt(of: e) : ttls[j]))
            }
            var k = 0
            while k < size && ev.pool[k].used && ev.pool[k].idle < idle { k += 1 }
            if k == 0 && ev.pool[size - 1].used {
                continue  // worse than everything in a full pool
            } else if k < size && !ev.pool[k].used {
                // an empty slot
            } else if !ev.pool[size - 1].used {
                // room on the right: shift k... right by one; the free last slot (and its
                // key buffer, as Redis's cached sds) comes to k
                var i = size - 1
                while i > k { ev.pool.swapAt(i, i - 1); i -= 1 }
            } else {
                // full: drop the worst on the left (its buffer is reused), insert at k - 1
                k -= 1
                var i = 0
                while i < k { ev.pool.swapAt(i, i + 1); i += 1 }
            }
            ev.pool[k].key.removeAll(keepingCapacity: true)
            ev.pool[k].key.append(contentsOf: e.key)
            ev.pool[k].idle = idle
            ev.pool[k].dbid = db.id
            ev.pool[k].used = true
        }
    }
}
