#if canImport(Glibc)
import Glibc
#endif

/// The whole server (Redis's `struct redisServer`): configuration, keyspaces, clients,
/// the command table and the periodic work. It lives on the event-loop thread and hangs
/// off `loop->data`; nothing here is touched from another thread.
final class Server {
    var config: ServerConfig
    private(set) var dbs: [Database] = []
    let stats = ServerStats()
    /// Clients parked on keys and keys ready to serve them (Engine/Blocking.swift).
    let blocking = BlockingState()
    /// CLIENT PAUSE / FAILOVER pauses and the clients they postponed (Engine/ClientPause.swift).
    let clientPause = ClientPauseState()
    /// Coordinated failover (FAILOVER, Replication/Failover.swift).
    var failover = FailoverState()
    /// WATCH bookkeeping (Engine/Multi.swift).
    let watches = WatchState()
    /// Channels, patterns and their subscribers (Engine/PubSub.swift).
    let pubsub: PubSubState
    let commands: CommandTable
    /// Users, permissions and the ACL log (ACL/).
    let acl = ACLState()
    /// Connected clients by id, in connection order for CLIENT LIST.
    private(set) var clients: [Int: Client] = [:]
    private var nextClientID = 1
    /// Clients with replies waiting for `beforeSleep` (Redis's clients_pending_write).
    var pendingWrites: [Client] = []
    /// The transport: set once the libuv loop is up (nil in unit tests).
    var loop: EventLoop?
    let log: Logger

    /// Wall-clock time cached per event-loop iteration (Redis's server.mstime).
    private(set) var cachedTimeMs: Int64 = 0
    var unixTime: Int64 { cachedTimeMs / 1000 }
    /// Seconds clock for per-key LRU (24 bits, as Redis's LRU_CLOCK resolution of 1 s).
    var lruClock: UInt32 { UInt32(truncatingIfNeeded: cachedTimeMs / 1000) & KeyEntry.lruMask }

    let startTimeMs: Int64
    let runID: String
    /// Changes since the last save (INFO rdb_changes_since_last_save).
    var dirty = 0
    var lastSaveTime: Int64
    var shutdownRequested = false
    /// A shutdown waiting for lagging replicas (Server/Shutdown.swift).
    var pendingShutdown: PendingShutdown?
    /// True while an RDB file loads (Redis's server.loading): commands without the
    /// `loading` flag are refused with -LOADING, and the cron stays idle.
    var loading = false
    var exitCode: Int32 = 0
    let hashSeed: UInt64
    /// Progress and statistics of the active expiry cycles.
    let activeExpire = ActiveExpireState()
    /// BGSAVE child, save statistics (Persistence/ServerPersistence.swift).
    let persistence = PersistenceState()
    /// The append-only file (Persistence/AOF.swift).
    let aof = AOFState()
    /// Replication ids, offsets, backlog, replicas and the link to our master (Replication/).
    let repl = ReplicationState()
    /// What the running command propagates (Replication/Propagation.swift).
    let propagation = PropagationState()
    /// EVAL/SCRIPT's Lua interpreter and script cache (Scripting/).
    let scripting = ScriptingState()
    /// maxmemory: the eviction pool, the memory estimate, evicted_keys (Server/Evict.swift).
    let eviction = EvictionState()
    /// Process title and oom_score_adj bookkeeping (Server/ProcessSettings.swift).
    let process = ProcessState()
    /// Nesting of call() (EXEC's queued commands run inside EXEC's call): what a command
    /// propagates goes out when the outermost call ends. On Server itself, not in
    /// `propagation`, so call() touches no other object on its fast path.
    var callDepth = 0
    /// The running command asked for something of the propagation (propagateInstead,
    /// preventPropagation, forcePropagation, alsoPropagate): call() takes its slow path.
    var propagationRequested = false
    /// MONITOR clients, the slow log, latency events (Engine/Introspection.swift).
    let introspection = IntrospectionState()
    /// cycleCount() ticks to microseconds, for call()'s timings.
    let microsecondsPerCycle = 1.0 / cyclesPerMicrosecond

    init(config: ServerConfig, log: Logger) {
        self.config = config
        self.log = log
        self.commands = CommandTable(implementations: CommandRegistry.implementations)
        acl.configure(from: config)
        self.hashSeed = UInt64.random(in: 0...UInt64.max)
        self.pubsub = PubSubState(seed: hashSeed)
        let now = wallClockMs()
        self.cachedTimeMs = now
        self.startTimeMs = now
        self.lastSaveTime = now / 1000
        var rid = ""
        for _ in 0..<40 { rid.append(String(Int.random(in: 0..<16), radix: 16)) }
        self.runID = rid
        for i in 0..<config.databases {
            dbs.append(Database(id: i, seed: hashSeed, stats: stats.keyspace))
        }
        for db in dbs { db.server = self }
        // Both Lua interpreters exist from the start, as Redis's scriptingInit and
        // functionsInit make them (INFO used_memory_lua / used_memory_vm_functions).
        _ = scripting.state(self)
        _ = scripting.functions.state(self)
        // INFO used_memory_startup / used_memory_peak start from here.
        stats.usedMemoryStartup = MemoryStats.usedMemory()
        stats.usedMemoryPeak = stats.usedMemoryStartup
        applyAccessPolicy()
    }

    @inline(__always) func updateCachedTime() { cachedTimeMs = wallClockMs() }

    func db(_ index: Int) -> Database { dbs[index] }

    // MARK: clients

    /// A new client; `listed: false` makes one outside the client list and the connection
    /// count (the replica's link to its master until it is synced: listClient then).
    func createClient(now: Int64, listed: Bool = true) -> Client {
        let c = Client(id: nextClientID, server: self, db: dbs[0], user: acl.defaultUser,
                       authenticated: acl.defaultUserNeedsNoAuth, now: now)
        nextClientID += 1
        if listed {
            clients[c.id] = c
            stats.totalConnections += 1
        }
        return c
    }

    func listClient(_ c: Client) { clients[c.id] = c }

    /// Called by the transport once the client is gone for good.
    func forgetClient(_ c: Client) {
        if c.blocked != nil { unblockClient(c) }
        freeClientMultiState(c)
        if c.pubsub != nil { pubsubUnsubscribeEverything(c) }
        if c.flags.contains(.monitor) { stopMonitoring(c) }
        if c.flags.contains(.replica) { replicationReplicaGone(c) }
        clients.removeValue(forKey: c.id)
        c.flags.insert(.closed)
        if repl.master != nil { replicaLinkClientGone(c) }
    }

    var clientsInOrder: [Client] { clients.values.sorted { $0.id < $1.id } }

    /// Puts a client with fresh replies on the flush list (Redis's putClientInPendingWriteQueue).
    @inline(__always)
    func scheduleWrite(_ c: Client) {
        if !c.flags.contains(.pendingWrite) {
            c.flags.insert(.pendingWrite)
            pendingWrites.append(c)
        }
    }

    // MARK: the loop's hooks

    /// Runs right before the loop blocks for I/O: the one place replies are written.
    func beforeSleep() {
        // While a busy script serves the loop from its hook nothing else runs (Redis's
        // processEventsWhileBlocked): only replies go out.
        if scripting.busy { flushPendingWrites(); return }
        if !blocking.readyKeys.isEmpty { handleClientsBlockedOnKeys() }
        if !blocking.unblocked.isEmpty { processUnblockedClients() }
        if repl.needsBeforeSleep { masterSideBeforeSleep() }  // WAIT and its GETACKs
        // While a file loads (clients served from the loader) only replies go out, as in
        // Redis's beforeSleep under processEventsWhileBlocked: no expiry mid-load.
        // A replica expires nothing itself: its master sends the DELs (Redis runs the
        // expiry cycles only when iAmMaster()).
        if config.activeExpireEnabled && !loading && repl.master == nil && !checkClientPauseTimeout() { activeExpireCycle(.fast) }
        if failover.phase == .waitForSync { updateFailoverStatus() }
        flushPendingWrites()
    }

    private func flushPendingWrites() {
        // The AOF is written (and with appendfsync always, fsynced) before any reply.
        if aof.fd >= 0 { flushAppendOnlyFile() }
        if pendingWrites.isEmpty { return }
        let list = pendingWrites
        pendingWrites.removeAll(keepingCapacity: true)
        for c in list {
            c.flags.remove(.pendingWrite)
            c.connection?.flush()
        }
    }

    /// Periodic work at `hz` (Redis's serverCron + databasesCron).
    func cron() {
        updateCachedTime()
        // Redis runs only whileBlockedCron while loading: no expiry, saves or shrinking
        // on a half-loaded keyspace; nor in the middle of a busy script.
        if loading || scripting.busy { return }
        if config.activeExpireEnabled && repl.master == nil && !checkClientPauseTimeout() {
            let start = monotonicUs()
            activeExpireCycle()
            let elapsed = monotonicUs() - start
            stats.expireCycleTimeUsedUs += elapsed
            latencyAddSampleIfNeeded("expire-cycle", Int(elapsed / 1000))
        }
        stats.sampleMetrics(nowMs: cachedTimeMs)
        if config.maxmemory != 0 { measureMemoryForEviction() }
        for db in dbs where db.needsShrinkCheck {
            db.table.shrinkIfSparse()
            db.needsShrinkCheck = false
        }
        if config.timeout > 0 { closeIdleClients() }
        pubsubCron()
        persistenceCron()
        if !scripting.debugger.children.isEmpty { reapDebuggerChildren() }
        if aof.status != .off || aof.childPid > 0 { aofCron() }
        if repl.master != nil { replicaCron() }
        masterSideCron()
        if pendingShutdown != nil { shutdownCron() }
        if shutdownRequested { loop?.stop() }
    }

    private func closeIdleClients() {
        let limit = Int64(config.timeout) * 1000
        for c in clients.values where cachedTimeMs - c.lastInteraction > limit && c.pubsub == nil  // subscribers are exempt, as in Redis
            && c.flags.isDisjoint(with: [.master, .replica]) {  // and the replication links
            log.verbose("Closing idle client")
            c.connection?.close()
        }
    }

    /// Asks the loop to stop after this iteration (SHUTDOWN, SIGTERM).
    func requestShutdown(reason: String) {
        log.warning("\(reason): shutting down")
        shutdownRequested = true
        loop?.stop()
    }
}

func wallClockMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

func wallClockUs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Microseconds of a monotonic clock (Redis's ustime for durations: command times in
/// INFO commandstats, the expiry cycle's time).
@inline(__always) func monotonicUs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}
