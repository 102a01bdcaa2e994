/// Blocking on keys (Redis's blocked.c): BLPOP and friends park the client per key when
/// there is nothing to pop; a write that gives a key data marks it ready; the parked
/// commands are then re-executed in FIFO order of arrival, so each family keeps exactly
/// one implementation of its pop. Timeouts run on one-shot uv timers.

/// Which kind of value a blocked client waits for (a key of another type does not wake it).
enum BlockedType {
    case list, zset, stream
    /// Not waiting for a key: the command was postponed by a client pause
    /// (Engine/ClientPause.swift).
    case postponed
    /// In SHUTDOWN, waiting for lagging replicas (Server/Shutdown.swift).
    case shutdown

    func accepts(_ t: ValueType) -> Bool {
        switch self {
        case .postponed, .shutdown: return false
        case .list: return t == .list
        case .zset: return t == .zset
        case .stream: return t == .stream
        }
    }
}

/// What a parked client is waiting for and how to finish it.
final class BlockState {
    let command: RedisCommand
    /// The command as it arrived, re-executed when a key gets ready.
    let argv: OwnedArgv
    let keys: [BlockingKey]
    let type: BlockedType
    /// Absolute deadline in Unix ms, 0 = forever.
    let deadlineMs: Int64
    /// What the client gets when the timeout passes (Redis's replyToBlockedClientTimedOut).
    let timeoutReply: (Client) -> Void
    var timer: OneShotTimer?
    /// Microseconds the command took when it blocked: added to the serving run's for the
    /// slow log and the latency histogram (Redis's c->duration).
    var firstCallUs = 0

    init(command: RedisCommand, argv: OwnedArgv, keys: [BlockingKey], type: BlockedType,
         deadlineMs: Int64, timeoutReply: @escaping (Client) -> Void) {
        self.command = command
        self.argv = argv
        self.keys = keys
        self.type = type
        self.deadlineMs = deadlineMs
        self.timeoutReply = timeoutReply
    }
}

/// A key in one database, as clients block on it.
struct BlockingKey: Hashable {
    let db: Int
    let key: [UInt8]
}

/// The server's side of blocking: who waits on which key, and which keys got data.
final class BlockingState {
    /// Parked clients per key, oldest first.
    var clientsByKey: [BlockingKey: [Client]] = [:]
    /// Keys that received data since they were last served, in signalling order.
    var readyKeys: [BlockingKey] = []
    var readySet: Set<BlockingKey> = []
    /// Clients unblocked since the last beforeSleep, whose queued input must now run.
    var unblocked: [Client] = []
    var blockedClients = 0
    /// Set while ready keys are being served (no nested serving).
    var serving = false
    /// The key whose readiness is re-executing a parked command, while it runs: Redis
    /// serves a blocked XREAD from that one stream only (serveClientsBlockedOnStreamKey).
    var servingKey: BlockingKey?
}

extension Server {
    /// Parks `c` on `keys` until one of them can serve `argv` (re-executed then) or the
    /// deadline passes. A command re-executed for a ready key that still cannot be served
    /// keeps its original deadline.
    func blockForKeys(_ c: Client, _ argv: Argv, keys: [UnsafeRawBufferPointer], type: BlockedType,
                      deadlineMs: Int64, timeoutReply: @escaping (Client) -> Void = { $0.addReplyNullArray() }) {
        guard let cmd = c.lastCommand else { return }
        let deadline = c.reprocessingDeadline ?? deadlineMs
        let dbIndex = c.db.id
        var unique: [BlockingKey] = []
        for k in keys {
            let bk = BlockingKey(db: dbIndex, key: Array(k))
            if !unique.contains(bk) { unique.append(bk) }
        }
        let state = BlockState(command: cmd, argv: OwnedArgv(argv), keys: unique, type: type,
                               deadlineMs: deadline, timeoutReply: timeoutReply)
        c.blocked = state
        blocking.blockedClients += 1
        for bk in unique { blocking.clientsByKey[bk, default: []].append(c) }
        if deadline > 0, let loop {
            let wait = UInt64(Swift.max(0, deadline - wallClockMs()))
            state.timer = OneShotTimer(loop: loop, milliseconds: wait) { [unowned(unsafe) self, weak c] in
                guard let c, c.blocked === state else { return }
                self.unblockClient(c)
                let start = cycleCount()
                state.timeoutReply(c)
                self.introspectUnblocked(c, state.command, state.argv.argv, firstCallUs: state.firstCallUs, cycles: cycleCount() &- start)
                self.resumeAfterUnblock(c)
            }
        }
    }

    /// Takes `c` off every key it waits on and stops its timer; no reply is sent.
    func unblockClient(_ c: Client) {
        guard let state = c.blocked else { return }
        c.blocked = nil
        if state.type == .postponed {
            clientPause.postponed.removeAll { $0 === c }
            return
        }
        blocking.blockedClients -= 1
        state.timer?.cancel()
        state.timer = nil
        for bk in state.keys {
            guard var list = blocking.clientsByKey[bk] else { continue }
            list.removeAll { $0 === c }
            blocking.clientsByKey[bk] = list.isEmpty ? nil : list
        }
    }

    /// An unblocked client's reply goes out and its queued commands run, from beforeSleep
    /// (never nested inside another client's command).
    func resumeAfterUnblock(_ c: Client) {
        if c.flags.contains(.closed) { return }
        scheduleWrite(c)
        blocking.unblocked.append(c)
    }

    /// Writers call this when `key` may now serve blocked clients (a push, a ZADD, a
    /// key renamed or moved onto it...). Free when nobody is blocked.
    @inline(__always)
    func signalKeyAsReady(_ db: Database, _ key: UnsafeRawBufferPointer) {
        if blocking.clientsByKey.isEmpty { return }
        let bk = BlockingKey(db: db.id, key: Array(key))
        guard blocking.clientsByKey[bk] != nil, !blocking.readySet.contains(bk) else { return }
        blocking.readySet.insert(bk)
        blocking.readyKeys.append(bk)
    }

    /// Serves clients blocked on keys that got data (Redis's handleClientsBlockedOnKeys):
    /// for each ready key, its clients in arrival order re-execute their command while the
    /// key still holds a value of the awaited type. Runs after every command and before
    /// sleeping, so a pipeline's next command already sees the pops.
    func handleClientsBlockedOnKeys() {
        if blocking.serving { return }
        blocking.serving = true
        defer { blocking.serving = false }
        while !blocking.readyKeys.isEmpty {
            let ready = blocking.readyKeys
            blocking.readyKeys.removeAll()
            blocking.readySet.removeAll()
            for bk in ready {
                guard let waiting = blocking.clientsByKey[bk] else { continue }
                let db = dbs[bk.db]
                for c in waiting {
                    guard let state = c.blocked else { continue }
                    let alive = bk.key.withUnsafeBytes { db.lookup($0, now: cachedTimeMs) }
                    guard let entry = alive, state.type.accepts(entry.type) else { break }
                    unblockClient(c)
                    let savedDB = c.db
                    c.db = db
                    c.reprocessingDeadline = state.deadlineMs
                    blocking.servingKey = bk
                    reexecute(c, state.command, state.argv.argv, firstCallUs: state.firstCallUs)
                    blocking.servingKey = nil
                    c.reprocessingDeadline = nil
                    if c.blocked == nil && c.db === db { c.db = savedDB }
                    if c.blocked == nil { resumeAfterUnblock(c) }
                }
            }
        }
    }

    /// Runs a parked command again. Redis counted the call (INFO commandstats calls,
    /// total_commands_processed) when it blocked; serving it adds its time, and a failed
    /// call if it ends in an error (a BLMOVE whose destination changed type), but it is
    /// not another call (Redis's updateStatsOnUnblock).
    private func reexecute(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, firstCallUs: Int) {
        c.lastCommand = cmd
        let errorsBefore = stats.errorReplies
        let start = cycleCount()
        // Propagated as call() would: the command rewrites itself to its non-blocking
        // form (BLPOP → LPOP...), as it does when served at once (Redis's
        // serveClientBlockedOnList and friends propagate the same vectors).
        let dirtyBefore = dirty
        callDepth &+= 1
        cmd.proc!(c, argv)
        callDepth &-= 1
        if dirty > dirtyBefore || propagationRequested { propagateAfterCall(c, cmd, argv, dirtied: dirty > dirtyBefore) }
        let elapsed = cycleCount() &- start
        cmd.cycles &+= elapsed
        if stats.errorReplies > errorsBefore { cmd.failedCalls &+= 1 }
        // Still not served (it blocked again): logged when it finally is.
        if c.blocked == nil { introspectUnblocked(c, cmd, argv, firstCallUs: firstCallUs, cycles: elapsed) }
        else { c.blocked?.firstCallUs = firstCallUs + Int(Double(elapsed) * microsecondsPerCycle) }
    }

    /// beforeSleep's part: clients unblocked since the last iteration run what they had
    /// queued while blocked.
    func processUnblockedClients() {
        while !blocking.unblocked.isEmpty {
            let list = blocking.unblocked
            blocking.unblocked.removeAll()
            for c in list where c.blocked == nil && !c.flags.contains(.closed) {
                if let argv = c.postponedCommand {
                    // The command a pause postponed runs first, as if it just arrived.
                    c.postponedCommand = nil
                    processCommand(c, argv.argv)
                    checkOutputLimits(c)
                    scheduleWrite(c)
                    if c.blocked != nil { continue }
                }
                c.processPendingInput()
                c.connection?.afterInput()
            }
        }
    }
}

extension Client {
    /// A blocking command's timeout argument as an absolute deadline (ms, 0 = forever),
    /// or nil after replying Redis's error (getTimeoutFromObjectOrReply: seconds as a
    /// long double, times 1000 rounded up, converted to a long long).
    ///
    /// Redis 7.0.15 has no "out of range" answer here: a value beyond a long long
    /// converts (x86) to LLONG_MIN and is "timeout is negative", and a huge but valid
    /// timeout makes `now + timeout` wrap, a deadline that never comes: forever.
    func blockingTimeoutOrReply(_ argv: Argv, _ i: Int) -> Int64? {
        guard let seconds = parseLongDouble(argv[i]) else {
            addReplyError("timeout is not a float or out of range")
            return nil
        }
        let ms = (seconds * 1000).rounded(.up)
        // -0.0 (from a tiny negative timeout) is 0: forever, as in Redis.
        if ms < 0 || ms >= 9_223_372_036_854_775_808.0 {
            addReplyError("timeout is negative")
            return nil
        }
        let t = Int64(ms)
        if t == 0 { return 0 }
        let (deadline, overflow) = t.addingReportingOverflow(server.cachedTimeMs)
        return overflow ? 0 : deadline
    }
}
