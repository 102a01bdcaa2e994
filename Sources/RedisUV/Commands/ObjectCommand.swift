/// OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ|HELP (Redis's objectCommand, object.c).
/// Lookups neither refresh the access time nor trigger keyspace-miss events, so
/// inspecting a key does not change what is reported next time.
enum ObjectCommand {
    static let table: [CommandImpl] = [
        CommandImpl("object|help", help),
        CommandImpl("object|encoding", encoding),
        CommandImpl("object|refcount", refcount),
        CommandImpl("object|idletime", idletime),
        CommandImpl("object|freq", freq),
    ]

    static let lfuNotSelected = "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
    static let lfuSelected = "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: argv.string(0), lines: [
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ])
    }

    /// Redis's objectCommandLookupOrReply: the entry, or nil after a null reply.
    static func lookupOrReply(_ c: Client, _ key: UnsafeRawBufferPointer) -> KeyEntry? {
        if let e = c.db.lookupReadNoTouch(key, now: c.server.cachedTimeMs) { return e }
        c.addReplyNull()
        return nil
    }

    static func encoding(_ c: Client, _ argv: Argv) {
        guard let e = lookupOrReply(c, argv[2]) else { return }
        c.addReplyBulk(e.encodingName)
    }

    static func refcount(_ c: Client, _ argv: Argv) {
        guard let e = lookupOrReply(c, argv[2]) else { return }
        c.addReplyInt(e.refcount(sharedIntegersAllowed: c.server.sharedIntegersAllowed))
    }

    /// Redis's estimateObjectIdleTime in seconds: LRU clock distance, minding its 24-bit wrap.
    static func idletime(_ c: Client, _ argv: Argv) {
        guard let e = lookupOrReply(c, argv[2]) else { return }
        if c.server.lfuPolicySelected {
            c.addReplyError(lfuSelected)
            return
        }
        let clock = Int(c.server.lruClock)
        let stamp = Int(e.lru)
        let idle = clock >= stamp ? clock - stamp : clock + (Int(KeyEntry.lruMask) - stamp)
        c.addReplyInt(idle)
    }

    /// Redis's LFUDecrAndReturn: the counter after the decay owed for idle minutes.
    static func freq(_ c: Client, _ argv: Argv) {
        guard let e = lookupOrReply(c, argv[2]) else { return }
        guard c.server.lfuPolicySelected, let lfu = c.db.lfu else {
            c.addReplyError(lfuNotSelected)
            return
        }
        c.addReplyInt(Int(lfu.counter(of: e.lru, nowMs: c.server.cachedTimeMs)))
    }
}
