#if canImport(Glibc)
import Glibc
#endif

/// Shutting down as Redis 7.0 does (server.c's prepareForShutdown / finishShutdown):
/// SHUTDOWN, SIGTERM and SIGINT first give lagging replicas up to `shutdown-timeout`
/// seconds to acknowledge the whole stream (writes paused, a GETACK sent), then the
/// final save runs and the loop stops. SHUTDOWN ABORT, or a failed save without FORCE,
/// cancels it: the server goes on and writes resume.

struct ShutdownFlags: OptionSet, Equatable {
    let rawValue: Int
    static let save = ShutdownFlags(rawValue: 1)
    static let nosave = ShutdownFlags(rawValue: 2)
    static let now = ShutdownFlags(rawValue: 4)
    static let force = ShutdownFlags(rawValue: 8)

    /// shutdown-on-sigterm / shutdown-on-sigint's words ("default" is none of them).
    init(configWords: String) {
        var f: ShutdownFlags = []
        for w in configWords.lowercased().split(separator: " ") {
            switch w {
            case "save": f.insert(.save)
            case "nosave": f.insert(.nosave)
            case "now": f.insert(.now)
            case "force": f.insert(.force)
            default: break
            }
        }
        self = f
    }

    init(rawValue: Int) { self.rawValue = rawValue }
}

/// A shutdown waiting for replicas (Redis's shutdown_mstime / shutdown_flags).
struct PendingShutdown {
    var flags: ShutdownFlags
    /// Unix ms when it stops waiting.
    var deadlineMs: Int64
}

extension Server {
    var shutdownInitiated: Bool { pendingShutdown != nil }

    /// Redis's isReadyToShutdown: every replica acknowledged everything.
    func replicasReadyForShutdown() -> Bool {
        repl.replicas.allSatisfy { ($0.replicaState?.ackOffset ?? -1) == repl.masterReplOffset }
    }

    /// Redis's prepareForShutdown. True when the server is exiting; false when it waits
    /// for replicas (see shutdownCron) or the shutdown failed (clients blocked in
    /// SHUTDOWN got the error).
    @discardableResult
    func prepareForShutdown(_ flags: ShutdownFlags) -> Bool {
        if shutdownInitiated || shutdownRequested { return false }
        var flags = flags
        // A half-loaded dataset is never saved over the file.
        if loading { flags = flags.subtracting(.save).union(.nosave) }
        log.warning("User requested shutdown...")
        if !flags.contains(.now) && config.shutdownTimeout != 0 && !replicasReadyForShutdown() {
            pendingShutdown = PendingShutdown(flags: flags, deadlineMs: cachedTimeMs + Int64(config.shutdownTimeout) * 1000)
            if !clientsArePaused { sendGetackToReplicas() }
            pauseClients(.shutdown, endMs: Int64.max, type: .write)
            log.notice("Waiting for replicas before shutting down.")
            return false
        }
        return finishShutdown(flags)
    }

    /// The cron's part: a waiting shutdown goes ahead once the replicas caught up or the
    /// timeout passed.
    func shutdownCron() {
        guard let p = pendingShutdown else { return }
        if replicasReadyForShutdown() || cachedTimeMs >= p.deadlineMs {
            finishShutdown(p.flags)
        }
    }

    /// Redis's finishShutdown: report the replicas left behind, save, stop the loop. On
    /// a failed save (without FORCE) the shutdown is cancelled.
    @discardableResult
    func finishShutdown(_ flags: ShutdownFlags) -> Bool {
        var lagging = 0
        for r in repl.replicas {
            guard let rs = r.replicaState, rs.ackOffset != repl.masterReplOffset else { continue }
            lagging += 1
            let lag = rs.phase == .online ? (cachedTimeMs - rs.ackTimeMs) / 1000 : 0
            log.warning("Lagging replica \(replicaName(r)) reported offset \(repl.masterReplOffset - rs.ackOffset) behind master, lag=\(lag), state=\(rs.stateName).")
        }
        if !repl.replicas.isEmpty {
            log.notice("\(repl.replicas.count - lagging) of \(repl.replicas.count) replicas are in sync when shutting down.")
        }
        killDebuggerSessions()
        aofShutdown()
        if !prepareForShutdownSave(save: flags.contains(.save), nosave: flags.contains(.nosave)) {
            if flags.contains(.force) {
                log.warning("Error trying to save the DB. Exit anyway.")
            } else {
                persistence.shutdownPrepared = false
                log.warning("Errors trying to shut down the server. Check the logs for more information.")
                cancelShutdown()
                return false
            }
        }
        pendingShutdown = nil
        requestShutdown(reason: "SHUTDOWN")
        return true
    }

    /// Redis's cancelShutdown: clients waiting in SHUTDOWN get the error, writes resume.
    func cancelShutdown() {
        pendingShutdown = nil
        for c in clientsInOrder where c.blocked?.type == .shutdown {
            unblockClient(c)
            c.addReplyError("Errors trying to SHUTDOWN. Check logs.")
            resumeAfterUnblock(c)
        }
        unpauseClients(.shutdown)
    }

    /// SHUTDOWN ABORT (Redis's abortShutdown). False when none was in progress.
    func abortShutdown() -> Bool {
        guard shutdownInitiated else { return false }
        cancelShutdown()
        log.notice("Shutdown manually aborted.")
        return true
    }

    /// SIGTERM / SIGINT (Redis's sigShutdownHandler, then serverCron's prepareForShutdown
    /// with shutdown-on-sigterm / shutdown-on-sigint's flags). A second SIGINT while a
    /// shutdown waits exits at once, as Redis's "You insist...".
    func shutdownOnSignal(_ sig: Int32) {
        if sig == SIGINT && (shutdownInitiated || shutdownRequested) {
            log.warning("You insist... exiting now.")
            exit(1)
        }
        log.warning(sig == SIGINT ? "Received SIGINT scheduling shutdown..." : "Received SIGTERM scheduling shutdown...")
        if loading {
            // The load stops (Persistence/ServerPersistence.swift) and nothing is saved.
            requestShutdown(reason: "signal while loading")
            return
        }
        prepareForShutdown(ShutdownFlags(configWords: sig == SIGINT ? config.shutdownOnSigint : config.shutdownOnSigterm))
    }
}
