/// Coordinated failover (Redis 6.2+'s FAILOVER, replication.c): a master pauses writes,
/// waits until a replica has acknowledged its whole stream, then becomes a replica of it
/// and asks it, with `PSYNC <replid> <offset> FAILOVER`, to take over as master. The
/// target turns master (REPLICAOF NO ONE, keeping our history as its replid2) and answers
/// +CONTINUE; writes resume, now refused as on any replica.
///
/// The decision of each step is `FailoverState.update`, free of side effects (tests drive
/// it with a fake clock); `Server.updateFailoverStatus` carries it out.
struct FailoverState: Equatable {
    enum Phase: Equatable {
        case none
        /// Writes are paused; waiting for the target to acknowledge our offset.
        case waitForSync
        /// We are a replica of the target, whose answer to PSYNC FAILOVER we wait for.
        case inProgress
    }

    /// A replica as the decision sees it: its address and what it acknowledged.
    struct Replica: Equatable {
        var host: String
        var port: Int
        var ackOffset: Int64
    }

    /// What to do now.
    enum Action: Equatable {
        case wait
        /// Give up (writes resume; we stay master).
        case abort(String)
        /// Become a replica of host:port with PSYNC FAILOVER; the string is the log line.
        case failOver(host: String, port: Int, log: String)
    }

    var phase: Phase = .none
    /// The chosen replica (given with TO, or the first found in sync).
    var targetHost: String? = nil
    var targetPort = 0
    /// Unix ms when the wait gives up (or forces with FORCE); 0 = no timeout.
    var endMs: Int64 = 0
    var force = false

    /// INFO's master_failover_state (getFailoverStateString).
    var stateName: String {
        switch phase {
        case .none: return "no-failover"
        case .inProgress: return "failover-in-progress"
        case .waitForSync: return "waiting-for-sync"
        }
    }

    /// Redis's updateFailoverStatus, as a decision: while waiting for sync, fail over to
    /// the target once it acknowledged `masterOffset`; when the timeout passes, fail over
    /// anyway with FORCE, else abort. Without a target, the first replica (in order) that
    /// is in sync becomes it.
    mutating func update(now: Int64, masterOffset: Int64, replicas: [Replica]) -> Action {
        guard phase == .waitForSync else { return .wait }
        if endMs != 0 && endMs <= now {
            if force, let host = targetHost {
                phase = .inProgress
                return .failOver(host: host, port: targetPort,
                                 log: "FAILOVER to \(host):\(targetPort) time out exceeded, failing over.")
            }
            return .abort("Replica never caught up before timeout")
        }
        var target: Replica?
        if let host = targetHost {
            target = replicas.first { Self.matches($0, host: host, port: targetPort) }
        } else if let synced = replicas.first(where: { $0.ackOffset == masterOffset }) {
            targetHost = synced.host
            targetPort = synced.port
            target = synced
        }
        if let t = target, t.ackOffset == masterOffset, let host = targetHost {
            phase = .inProgress
            return .failOver(host: host, port: targetPort, log: "Failover target \(host):\(targetPort) is synced, failing over.")
        }
        return .wait
    }

    /// Redis's findReplica: the host compared without case, the listening port exactly.
    static func matches(_ r: Replica, host: String, port: Int) -> Bool {
        r.port == port && r.host.lowercased() == host.lowercased()
    }
}

enum FailoverCommand {
    static let table: [CommandImpl] = [CommandImpl("failover", failover)]

    /// FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | FAILOVER ABORT, with Redis's checks
    /// in Redis's order.
    static func failover(_ c: Client, _ argv: Argv) {
        let server = c.server
        if argv.count == 2 && argv.equals(1, "abort") {
            if server.failover.phase == .none {
                c.addReplyError("No failover in progress.")
                return
            }
            server.abortFailover("Failover manually aborted")
            c.addReplyOK()
            return
        }
        var timeoutMs = 0
        var force = false
        var host: String? = nil
        var port = 0
        var j = 1
        while j < argv.count {
            if argv.equals(j, "timeout") && j + 1 < argv.count && timeoutMs == 0 {
                guard let t = c.intArgOrReply(argv, j + 1) else { return }
                if t <= 0 {
                    c.addReplyError("FAILOVER timeout must be greater than 0")
                    return
                }
                timeoutMs = t
                j += 2
            } else if argv.equals(j, "to") && j + 2 < argv.count && host == nil {
                guard let p = c.intArgOrReply(argv, j + 2) else { return }
                host = argv.string(j + 1)
                port = p
                j += 3
            } else if argv.equals(j, "force") && !force {
                force = true
                j += 1
            } else {
                c.addReplyErrorSyntax()
                return
            }
        }
        if server.failover.phase != .none {
            c.addReplyError("FAILOVER already in progress.")
            return
        }
        if server.repl.master != nil {
            c.addReplyError("FAILOVER is not valid when server is a replica.")
            return
        }
        if server.repl.replicas.isEmpty {
            c.addReplyError("FAILOVER requires connected replicas.")
            return
        }
        if force && (timeoutMs == 0 || host == nil) {
            c.addReplyError("FAILOVER with force option requires both a timeout and target HOST and IP.")
            return
        }
        if let host {
            guard let r = server.repl.replicas.first(where: { server.failoverView(of: $0).map { FailoverState.matches($0, host: host, port: port) } ?? false }) else {
                c.addReplyError("FAILOVER target HOST and PORT is not a replica.")
                return
            }
            if r.replicaState?.phase != .online {
                c.addReplyError("FAILOVER target replica is not online.")
                return
            }
            server.log.notice("FAILOVER requested to \(host):\(port).")
        } else {
            server.log.notice("FAILOVER requested to any replica.")
        }
        var st = FailoverState()
        st.phase = .waitForSync
        st.targetHost = host
        st.targetPort = port
        st.force = force
        if timeoutMs > 0 { st.endMs = server.cachedTimeMs + Int64(timeoutMs) }
        server.failover = st
        server.pauseClients(.failover, endMs: Int64.max, type: .write)
        c.addReplyOK()
    }
}

extension Server {
    /// A replica client as the failover decision sees it (Redis's findReplica: the address
    /// it announced, else its peer IP; its listening port).
    func failoverView(of r: Client) -> FailoverState.Replica? {
        guard let rs = r.replicaState else { return nil }
        return FailoverState.Replica(host: rs.announcedIP ?? ReplicaCommands.peerIP(r.peerAddress),
                                     port: rs.listeningPort, ackOffset: rs.ackOffset)
    }

    /// Redis's updateFailoverStatus (beforeSleep and the replication cron).
    func updateFailoverStatus() {
        guard failover.phase == .waitForSync else { return }
        let replicas = repl.replicas.compactMap { failoverView(of: $0) }
        switch failover.update(now: cachedTimeMs, masterOffset: repl.masterReplOffset, replicas: replicas) {
        case .wait:
            break
        case .abort(let reason):
            abortFailover(reason)
        case .failOver(let host, let port, let line):
            log.notice(line)
            replicationSetMaster(host: host, port: port)
        }
    }

    /// Redis's abortFailover: back to an ordinary master, writes resume.
    func abortFailover(_ reason: String) {
        guard failover.phase != .none else { return }
        if let host = failover.targetHost {
            log.notice("FAILOVER to \(host):\(failover.targetPort) aborted: \(reason)")
        } else {
            log.notice("FAILOVER to any replica aborted: \(reason)")
        }
        if failover.phase == .inProgress { replicationUnsetMaster() }
        clearFailoverState()
    }

    /// Redis's clearFailoverState.
    func clearFailoverState() {
        failover = FailoverState()
        unpauseClients(.failover)
    }

    /// The handshake's PSYNC got its answer while a failover is in progress: done when the
    /// target accepted (partial or full), else the failover is aborted.
    func failoverPsyncAnswered(accepted: Bool) {
        guard failover.phase == .inProgress else { return }
        if accepted { clearFailoverState() } else { abortFailover("Failover target rejected psync request") }
    }

    /// The target's side (syncCommand): `PSYNC <replid> <offset> FAILOVER` from our master
    /// makes us master if it names our history. False after replying an error.
    func acceptFailoverRequest(_ c: Client, _ argv: Argv) -> Bool {
        guard argv.count > 3, argv.equals(3, "failover") else { return true }
        guard argv.bytes(1) == repl.replid else {
            c.addReplyError("PSYNC FAILOVER replid must match my replid.")
            return false
        }
        replicationUnsetMaster()
        log.notice("MASTER MODE enabled (failover request from '\(c.infoLine(executing: nil))')")
        return true
    }
}
