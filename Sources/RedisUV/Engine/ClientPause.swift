/// Pausing clients (Redis 7.0's pauseClients/unpauseClients in networking.c): CLIENT PAUSE
/// and FAILOVER stop clients' commands for a while, either every command (ALL) or only
/// those that may change the dataset or the replication stream (WRITE). A paused command
/// is postponed, not refused: the client is blocked with the command kept, and runs it
/// (through every gate again) once the pause ends. While paused the dataset stays
/// constant: keys found expired read as missing but are not deleted, and the expiry
/// cycles do not run, so the replication offset does not move.

/// How much a pause stops (ordered: a stricter pause wins).
enum ClientPauseType: Int, Comparable {
    case off = 0, write = 1, all = 2
    static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Who paused (Redis's pause_purpose): each has its own type and end, the server is
/// paused by the strictest.
enum ClientPausePurpose: Int, CaseIterable {
    case clientCommand = 0, failover = 1, shutdown = 2
}

final class ClientPauseState {
    struct Event {
        var type: ClientPauseType
        /// Unix ms when the pause ends (Int64.max: until lifted).
        var endMs: Int64
    }

    var events: [Event?] = Array(repeating: nil, count: ClientPausePurpose.allCases.count)
    /// The strictest current pause (Redis's client_pause_type) and when it ends.
    private(set) var type: ClientPauseType = .off
    private(set) var endMs: Int64 = 0
    /// Clients holding a postponed command, in the order they were paused.
    var postponed: [Client] = []
    /// Fires when the current pause ends.
    var timer: OneShotTimer?

    /// Redis's updateClientPauseTypeAndEndTime: the strictest type, and the latest end
    /// among the events of that type. Returns the previous type.
    func recompute() -> ClientPauseType {
        let old = type
        var t = ClientPauseType.off
        var end: Int64 = 0
        for case let e? in events {
            if e.type > t {
                t = e.type
                end = e.endMs
            } else if e.type == t && e.endMs > end {
                end = e.endMs
            }
        }
        type = t
        endMs = end
        return old
    }
}

extension Server {
    /// Whether clients are paused at all (Redis's areClientsPaused): the dataset must not
    /// change on its own (lazy and active expiry hold off).
    @inline(__always) var clientsArePaused: Bool { clientPause.type != .off }

    /// Redis's pauseClients: a purpose's pause becomes the stricter of its old and new type
    /// and ends at the later of the two ends.
    func pauseClients(_ purpose: ClientPausePurpose, endMs: Int64, type: ClientPauseType) {
        if var e = clientPause.events[purpose.rawValue] {
            if type > e.type { e.type = type }
            if endMs > e.endMs { e.endMs = endMs }
            clientPause.events[purpose.rawValue] = e
        } else {
            clientPause.events[purpose.rawValue] = ClientPauseState.Event(type: type, endMs: endMs)
        }
        clientPauseChanged()
    }

    /// Redis's unpauseClients: lifts one purpose's pause.
    func unpauseClients(_ purpose: ClientPausePurpose) {
        guard clientPause.events[purpose.rawValue] != nil else { return }
        clientPause.events[purpose.rawValue] = nil
        clientPauseChanged()
    }

    /// Redis's checkClientPauseTimeoutAndReturnIfPaused: ends the pauses whose time came.
    @discardableResult
    func checkClientPauseTimeout() -> Bool {
        if clientPause.type == .off { return false }
        var changed = false
        for i in clientPause.events.indices {
            if let e = clientPause.events[i], e.endMs <= cachedTimeMs {
                clientPause.events[i] = nil
                changed = true
            }
        }
        if changed { clientPauseChanged() }
        return clientsArePaused
    }

    private func clientPauseChanged() {
        let old = clientPause.recompute()
        // A pause that got looser lets its postponed clients try again (those still
        // stopped by the remaining pause are postponed anew, in the same order).
        if clientPause.type < old { unblockPostponedClients() }
        clientPause.timer?.cancel()
        clientPause.timer = nil
        if clientPause.type != .off && clientPause.endMs != Int64.max, let loop {
            let wait = UInt64(Swift.max(0, clientPause.endMs - wallClockMs()))
            clientPause.timer = OneShotTimer(loop: loop, milliseconds: wait) { [unowned(unsafe) self] in
                updateCachedTime()
                checkClientPauseTimeout()
            }
        }
    }

    /// processCommand's pause gate: a client (not a replica) whose command the current
    /// pause stops is postponed. True when `c` was postponed.
    @inline(never)
    func postponeIfPaused(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, flags: CommandFlags) -> Bool {
        // Replicas are never paused. Nor is our master's stream here (Redis 7.0 postpones
        // it too): its bytes count as applied when parsed, so it must not wait.
        if c.flags.contains(.replica) || c.flags.contains(.master) { return false }
        if clientPause.type == .write {
            // is_may_replicate_command: a write or may-replicate command, or an EXEC of them.
            var stopped = flags.contains(.write) || flags.contains(.mayReplicate)
            if !stopped && cmd.propagatesItsBody, let ms = c.mstate {
                stopped = ms.commands.contains { $0.flags.contains(.write) || $0.flags.contains(.mayReplicate) }
            }
            if !stopped { return false }
        }
        // Blocked with its command kept (Redis's BLOCKED_POSTPONE); it runs again, through
        // every gate, when the pause ends.
        let state = BlockState(command: cmd, argv: OwnedArgv(argv), keys: [], type: .postponed,
                               deadlineMs: 0, timeoutReply: { _ in })
        c.blocked = state
        clientPause.postponed.append(c)
        return true
    }

    /// Redis's unblockPostponedClients: every postponed client is queued to run its
    /// command from beforeSleep, oldest first.
    func unblockPostponedClients() {
        let list = clientPause.postponed
        clientPause.postponed.removeAll()
        for c in list {
            guard let state = c.blocked, state.type == .postponed else { continue }
            c.blocked = nil
            c.postponedCommand = state.argv
            resumeAfterUnblock(c)
        }
    }
}
