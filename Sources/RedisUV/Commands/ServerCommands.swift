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

    /// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (Redis's shutdownCommand): saves
    /// when save points exist or SAVE is given (not with NOSAVE); a failed save keeps the
    /// server up unless FORCE. Shutdown is immediate (no replicas to wait for), so there
    /// is never one in progress for ABORT.
    static func shutdown(_ c: Client, _ argv: Argv) {
        var save = false, nosave = false, now = false, force = false, abort = false
        for i in 1..<argv.count {
            if argv.equals(i, "nosave") { nosave = true }
            else if argv.equals(i, "save") { save = true }
            else if argv.equals(i, "now") { now = true }
            else if argv.equals(i, "force") { force = true }
            else if argv.equals(i, "abort") { abort = true }
            else {
                c.addReplyErrorSyntax()
                return
            }
        }
        if (abort && (save || nosave || now || force)) || (save && nosave) {
            c.addReplyErrorSyntax()
            return
        }
        if abort {
            c.addReplyError("No shutdown in progress.")
            return
        }
        // A half-loaded dataset is never saved over the file (Redis forces NOSAVE).
        if c.server.loading {
            save = false
            nosave = true
        }
        let log = c.server.log
        log.warning("User requested shutdown...")
        if !c.server.prepareForShutdownSave(save: save, nosave: nosave) {
            if !force {
                c.server.persistence.shutdownPrepared = false
                log.warning("Errors trying to shut down the server. Check the logs for more information.")
                c.addReplyError("Errors trying to SHUTDOWN. Check logs.")
                return
            }
            log.warning("Error trying to save the DB, exiting anyway (FORCE).")
        }
        c.server.requestShutdown(reason: "SHUTDOWN")
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
