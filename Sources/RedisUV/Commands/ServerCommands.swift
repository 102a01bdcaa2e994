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
        CommandImpl("shutdown", shutdown),
        CommandImpl("memory|usage", memoryUsage),
        CommandImpl("memory|malloc-stats", memoryMallocStats),
        CommandImpl("memory|purge", memoryPurge),
        CommandImpl("memory|help", memoryHelp),
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
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ])
    }
}
