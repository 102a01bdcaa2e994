#if canImport(Glibc)
import Glibc
#endif

/// TIME, LASTSAVE, SHUTDOWN and MEMORY (Redis's server.c and object.c).
enum ServerCommands {
    static let table: [CommandImpl] = [
        CommandImpl("time", time),
        CommandImpl("lastsave", lastsave),
        CommandImpl("save", save),
        CommandImpl("bgsave", bgsave),
        CommandImpl("bgrewriteaof", bgrewriteaof),
        CommandImpl("shutdown", shutdown),
        CommandImpl("memory|usage", memoryUsage),
        CommandImpl("memory|malloc-stats", memoryMallocStats),
        CommandImpl("memory|purge", memoryPurge),
        CommandImpl("memory|help", memoryHelp),
        CommandImpl("memory|stats", memoryStats),
        CommandImpl("memory|doctor", memoryDoctor),
    ]

    // MARK: TIME, LASTSAVE

    /// Seconds and microseconds as two bulk strings.
    static func time(_ c: Client, _ argv: Argv) {
        let us = wallClockUs()
        c.addReplyArrayLen(2)
        c.addReplyBulkInt(Int(us / 1_000_000))
        c.addReplyBulkInt(Int(us % 1_000_000))
    }

    static func lastsave(_ c: Client, _ argv: Argv) {
        c.addReplyInt(Int(c.server.lastSaveTime))
    }

    // MARK: SAVE, BGSAVE

    /// Redis's saveCommand: a foreground save, refused while a BGSAVE runs.
    static func save(_ c: Client, _ argv: Argv) {
        if c.server.hasActiveChild {
            c.addReplyError("Background save already in progress")
            return
        }
        // A failure replies shared.err: "-ERR" alone (the reason is in the log).
        if c.server.rdbSave() { c.addReplyOK() } else { c.addReplyError("-ERR") }
    }

    /// BGSAVE [SCHEDULE] (bgsaveCommand).
    static func bgsave(_ c: Client, _ argv: Argv) {
        var schedule = false
        if argv.count > 1 {
            if argv.count == 2 && argv.equals(1, "schedule") {
                schedule = true
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }
        _ = schedule  // with no AOF rewrite child, the only child is an RDB one
        if c.server.hasActiveChild {
            c.addReplyError("Background save already in progress")
        } else if c.server.rdbSaveBackground() {
            c.addReplyStatus("Background saving started")
        } else {
            c.addReplyError("-ERR")
        }
    }

    /// BGREWRITEAOF (Redis's bgrewriteaofCommand): a new AOF base in a forked child, or
    /// scheduled when another child runs (Persistence/AOF.swift).
    static func bgrewriteaof(_ c: Client, _ argv: Argv) {
        let s = c.server
        if s.aof.childPid > 0 {
            c.addReplyError("Background append only file rewriting already in progress")
        } else if s.hasActiveChild || s.callDepth > 1 {
            s.aof.rewriteScheduled = true
            s.aof.consecutiveFailures = 0
            c.addReplyStatus("Background append only file rewriting scheduled")
        } else if s.rewriteAppendOnlyFileBackground() {
            c.addReplyStatus("Background append only file rewriting started")
        } else {
            c.addReplyError("Can't execute an AOF background rewriting. Please check the server logs for more information.")
        }
    }

    // MARK: SHUTDOWN

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (Redis's shutdownCommand): the client
    /// waits (blocked) while lagging replicas catch up, then the server saves (with save
    /// points or SAVE, not with NOSAVE) and exits; a failed save keeps it up unless FORCE
    /// (Server/Shutdown.swift). ABORT cancels a shutdown that waits for replicas.
    static func shutdown(_ c: Client, _ argv: Argv) {
        var flags: ShutdownFlags = []
        var abort = false
        for i in 1..<argv.count {
            if argv.equals(i, "nosave") { flags.insert(.nosave) }
            else if argv.equals(i, "save") { flags.insert(.save) }
            else if argv.equals(i, "now") { flags.insert(.now) }
            else if argv.equals(i, "force") { flags.insert(.force) }
            else if argv.equals(i, "abort") { abort = true }
            else {
                c.addReplyErrorSyntax()
                return
            }
        }
        if (abort && !flags.isEmpty) || flags.isSuperset(of: [.save, .nosave]) {
            c.addReplyErrorSyntax()
            return
        }
        let server = c.server
        if abort {
            if server.abortShutdown() { c.addReplyOK() } else { c.addReplyError("No shutdown in progress.") }
            return
        }
        // Blocked until the server exits (no reply) or the shutdown is cancelled (the error).
        guard let cmd = c.lastCommand ?? server.commands.lookup("shutdown") else { return }
        c.blocked = BlockState(command: cmd, argv: OwnedArgv(argv), keys: [], type: .shutdown,
                               deadlineMs: 0, timeoutReply: { _ in })
        server.blocking.blockedClients += 1
        if server.prepareForShutdown(flags) { return }
        if !server.shutdownInitiated && c.blocked?.type == .shutdown {
            // Refused at once (a shutdown already under way): the error, not a hang.
            server.unblockClient(c)
            c.addReplyError("Errors trying to SHUTDOWN. Check logs.")
        }
    }

    // MARK: MEMORY

    /// MEMORY USAGE key [SAMPLES count] (Redis's memoryCommand): the bytes the key costs.
    /// Here that is the real size of its one allocation (malloc_usable_size of the
    /// KeyEntry: header, key and string value) plus its share of the table's bucket array.
    /// Like Redis it looks at the table directly: no expiry, no LRU update.
    static func memoryUsage(_ c: Client, _ argv: Argv) {
        var j = 3
        var samples = 5  // OBJ_COMPUTE_SIZE_DEF_SAMPLES
        while j < argv.count {
            if argv.equals(j, "samples") && j + 1 < argv.count {
                guard let n = c.intArgOrReply(argv, j + 1) else { return }
                if n < 0 {
                    c.addReplyErrorSyntax()
                    return
                }
                // Samples bound how many elements of a collection are measured (0: all).
                samples = n
                j += 2
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }
        guard let e = c.db.table.find(argv[2]) else {
            c.addReplyNull()
            return
        }
        c.addReplyInt(entryMemoryUsage(e, table: c.db.table, samples: samples))
    }

    static func entryMemoryUsage(_ e: KeyEntry, table: KeyTable, samples: Int = 5) -> Int {
        let object = UnsafeRawPointer(Unmanaged.passUnretained(e).toOpaque())
        let allocation = Allocator.usableSize(object)
        let bucketShare = (table.bucketCount * MemoryLayout<KeyEntry?>.size + max(1, table.count) - 1) / max(1, table.count)
        let value = e.valueMemoryUsage(samples: samples)
        return allocation + bucketShare + value
    }

    /// What MEMORY STATS and MEMORY DOCTOR look at (Redis's getMemoryOverheadData), counted
    /// as INFO memory counts it.
    struct MemoryOverhead {
        var peak = 0, total = 0, startup = 0, backlog = 0, clientsReplicas = 0, clientsNormal = 0
        var aofBuffer = 0, luaCaches = 0, functionsCaches = 0
        var dbs: [(id: Int, main: Int, expires: Int)] = []
        var overheadTotal = 0, keys = 0, rss = 0, active = 0
        var dataset: Int { Swift.max(0, total - overheadTotal) }
    }

    static func memoryOverhead(_ s: Server) -> MemoryOverhead {
        var m = MemoryOverhead()
        m.total = MemoryStats.usedMemory()
        s.stats.notePeak(m.total)
        m.peak = s.stats.usedMemoryPeak
        m.startup = s.stats.usedMemoryStartup
        m.backlog = s.repl.backlog != nil ? s.config.replBacklogSize : 0
        for c in s.clients.values {
            let bytes = c.query.capacity + c.out.capacity
            if c.flags.contains(.replica) { m.clientsReplicas += bytes } else { m.clientsNormal += bytes }
        }
        m.aofBuffer = s.aof.buffer.count
        m.luaCaches = s.scripting.scriptsMemory
        m.functionsCaches = s.scripting.functions.current.libraries.reduce(0) { $0 + $1.code.count + 64 * ($1.functions.count + 1) }
        m.overheadTotal = m.startup + m.backlog + m.clientsReplicas + m.clientsNormal + m.aofBuffer + m.luaCaches + m.functionsCaches
        for i in 0..<s.config.databases {
            let db = s.db(i)
            if db.table.count == 0 { continue }
            let main = db.table.bucketCount * MemoryLayout<Int>.size
            let expires = db.volatileCount * MemoryLayout<Int>.size
            m.dbs.append((i, main, expires))
            m.overheadTotal += main + expires
            m.keys += db.table.count
        }
        m.rss = MemoryStats.rss()
        m.active = MemoryStats.allocatorActive()
        return m
    }

    /// MEMORY STATS (Redis's memoryCommand "stats"): the overhead breakdown as a map.
    /// Ratios are computed in single precision, as Redis's floats.
    static func memoryStats(_ c: Client, _ argv: Argv) {
        let m = memoryOverhead(c.server)
        func f(_ a: Int, _ b: Int, times: Double = 1) -> Double { b == 0 ? 0 : Double(Float(Double(a) * times / Double(b))) }
        let net = m.total - m.startup
        c.addReplyMapLen(27 + m.dbs.count)
        func pair(_ k: String, _ v: Int) { c.addReplyBulk(k); c.addReplyInt(v) }
        func pairD(_ k: String, _ v: Double) { c.addReplyBulk(k); c.addReplyDouble(v) }
        pair("peak.allocated", m.peak)
        pair("total.allocated", m.total)
        pair("startup.allocated", m.startup)
        pair("replication.backlog", m.backlog)
        pair("clients.slaves", m.clientsReplicas)
        pair("clients.normal", m.clientsNormal)
        pair("cluster.links", 0)
        pair("aof.buffer", m.aofBuffer)
        pair("lua.caches", m.luaCaches)
        pair("functions.caches", m.functionsCaches)
        for db in m.dbs {
            c.addReplyBulk("db.\(db.id)")
            c.addReplyMapLen(3)
            pair("overhead.hashtable.main", db.main)
            pair("overhead.hashtable.expires", db.expires)
            pair("overhead.hashtable.slot-to-keys", 0)
        }
        pair("overhead.total", m.overheadTotal)
        pair("keys.count", m.keys)
        pair("keys.bytes-per-key", m.keys == 0 ? 0 : net / m.keys)
        pair("dataset.bytes", m.dataset)
        pairD("dataset.percentage", f(m.dataset, net, times: 100))
        pairD("peak.percentage", f(m.total, m.peak, times: 100))
        pair("allocator.allocated", m.total)
        pair("allocator.active", m.active)
        pair("allocator.resident", m.rss)
        pairD("allocator-fragmentation.ratio", f(m.active, m.total))
        pair("allocator-fragmentation.bytes", m.active - m.total)
        pairD("allocator-rss.ratio", f(m.rss, m.active))
        pair("allocator-rss.bytes", m.rss - m.active)
        pairD("rss-overhead.ratio", f(m.rss, m.rss))
        pair("rss-overhead.bytes", 0)
        pairD("fragmentation", f(m.rss, m.total))
        pair("fragmentation.bytes", m.rss - m.total)
    }

    /// MEMORY DOCTOR (Redis's getMemoryDoctorReport) for what can be told here: under
    /// 5 MB the instance counts as empty; otherwise a peak over 150% of the current use,
    /// fragmentation over 1.4 and 10 MB, big client buffers or many cached scripts.
    static func memoryDoctor(_ c: Client, _ argv: Argv) {
        let s = c.server
        let m = memoryOverhead(s)
        var empty = false, bigPeak = false, highFrag = false, bigClientBuf = false, bigReplicaBuf = false, manyScripts = false
        var reports = 0
        if m.total < 5 << 20 {
            empty = true
            reports += 1
        } else {
            if Float(m.peak) / Float(m.total) > 1.5 { bigPeak = true; reports += 1 }
            if Float(m.rss) / Float(m.total) > 1.4 && m.rss - m.total > 10 << 20 { highFrag = true; reports += 1 }
            let replicas = s.clients.values.filter { $0.flags.contains(.replica) }.count
            let normal = Swift.max(1, s.clients.count - replicas)
            if m.clientsNormal / normal > 200 << 10 { bigClientBuf = true; reports += 1 }
            if replicas > 0 && m.clientsReplicas / replicas > 10 << 20 { bigReplicaBuf = true; reports += 1 }
            if s.scripting.scripts.count > 1000 { manyScripts = true; reports += 1 }
        }
        var text: String
        if reports == 0 {
            text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
        } else if empty {
            text = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
        } else {
            text = "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
            if bigPeak {
                text += " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n"
            }
            if highFrag {
                text += " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n"
            }
            if bigReplicaBuf {
                text += " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n"
            }
            if bigClientBuf {
                text += " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n"
            }
            if manyScripts {
                text += " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n"
            }
            text += "I'm here to keep you safe, Sam. I want to help you.\n"
        }
        c.addReplyVerbatim(text)
    }

    /// With the C library's allocator Redis has no statistics to show either.
    static func memoryMallocStats(_ c: Client, _ argv: Argv) {
        c.addReplyVerbatim("Stats not supported for the current allocator")
    }

    /// Redis purges jemalloc's dirty pages; with the C library's allocator it does nothing.
    static func memoryPurge(_ c: Client, _ argv: Argv) {
        c.addReplyOK()
    }

    static func memoryHelp(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "memory", lines: [
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ])
    }
}
