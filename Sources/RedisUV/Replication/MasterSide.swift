#if canImport(Glibc)
import Glibc
#endif

/// The master side of replication (Redis's replication.c, master half): deciding between
/// a partial and a full resync, producing the RDB for replicas (a file streamed to them,
/// or diskless through a pipe from the fork child), putting them online, keep-alives,
/// timeouts, the backlog's life, WAIT and min-replicas-to-write. The commands that drive
/// it (REPLCONF, PSYNC, SYNC, WAIT) are in MasterCommands.swift.

// MARK: - the resync decision (pure)

/// What a PSYNC gets (Redis's masterTryPartialResynchronization).
enum PSYNCDecision: Equatable {
    /// +CONTINUE, then the backlog from this offset.
    case partial(from: Int64)
    case full(FullResyncReason)
}

enum FullResyncReason: Equatable {
    /// "PSYNC ? -1": the replica asks for one.
    case requested
    /// Neither of our replication ids.
    case replidMismatch
    /// Our previous id, past the offset up to which it is valid.
    case secondIDOffsetTooHigh
    /// No backlog, or the offset is not in it.
    case notInBacklog
}

enum ResyncDecision {
    /// `backlog` is (first byte offset, histlen) when one exists. Ids compare without case,
    /// as Redis's strcasecmp.
    static func decide(replid asked: [UInt8], offset: Int64, replid: [UInt8], replid2: [UInt8],
                       secondReplOffset: Int64, backlog: (first: Int64, histlen: Int)?) -> PSYNCDecision {
        func same(_ a: [UInt8], _ b: [UInt8]) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { asciiLower($0) == asciiLower($1) }
        }
        let isMain = same(asked, replid)
        let isSecond = same(asked, replid2)
        if !isMain && (!isSecond || offset > secondReplOffset) {
            if asked.first == UInt8(ascii: "?") { return .full(.requested) }
            return .full(isSecond ? .secondIDOffsetTooHigh : .replidMismatch)
        }
        guard let b = backlog, offset >= b.first, offset <= b.first + Int64(b.histlen) else {
            return .full(.notInBacklog)
        }
        return .partial(from: offset)
    }
}

// MARK: - the diskless transfer

/// A diskless full sync in progress (Redis's rdb_pipe_read, rdb_pipe_conns,
/// rdb_child_exit_pipe): the child writes the RDB into a pipe, the parent forwards each
/// read to every target's socket and reads again only once all of them drained.
final class DisklessTransfer {
    var reader: PipeReader?
    /// The replicas fed, in attach order; one that goes away leaves the list.
    var targets: [Client]
    /// Closing it tells the child it may exit (every byte was read).
    var exitPipe: Int32
    /// The pipe reached its end (or failed).
    var finished = false

    init(targets: [Client], exitPipe: Int32) {
        self.targets = targets
        self.exitPipe = exitPipe
    }

    func closeExitPipe() {
        if exitPipe >= 0 { close(exitPipe); exitPipe = -1 }
    }
}

extension Server {
    // MARK: names and small helpers

    /// Redis's replicationGetSlaveName: "ip:listening-port", or the client id.
    func replicaName(_ c: Client) -> String {
        let rs = c.replicaState
        var ip = rs?.announcedIP ?? ""
        if ip.isEmpty, let colon = c.peerAddress.lastIndex(of: ":") {
            ip = String(c.peerAddress[..<colon])
        }
        if !ip.isEmpty && (rs?.listeningPort ?? 0) != 0 { return "\(ip):\(rs!.listeningPort)" }
        if !ip.isEmpty { return "\(ip):<unknown-replica-port>" }
        return "client id #\(c.id)"
    }

    /// INFO replication's replica lines, for whoever writes that section (Redis's
    /// genRedisInfoString): ("slaveN", "ip=...,port=...,state=...,offset=...,lag=..."), in
    /// attach order. connected_slaves is repl.replicas.count.
    func replicaInfoLines() -> [(String, String)] {
        var out: [(String, String)] = []
        for c in repl.replicas {
            guard let rs = c.replicaState else { continue }
            let ip = rs.announcedIP ?? ReplicaCommands.peerIP(c.peerAddress)
            if ip.isEmpty { continue }
            let state = rs.stateName
            let lag = rs.phase == .online ? unixTime - rs.ackTimeMs / 1000 : 0
            out.append(("slave\(out.count)", "ip=\(ip),port=\(rs.listeningPort),state=\(state),offset=\(rs.ackOffset),lag=\(lag)"))
        }
        return out
    }

    /// The replica state of `c`, created on its first REPLCONF.
    func replicaStateCreating(_ c: Client) -> ReplicaClientState {
        if let rs = c.replicaState { return rs }
        let rs = ReplicaClientState()
        c.replicaState = rs
        return rs
    }

    /// Redis's rdbPopulateSaveInfo: the database the stream is in, when this server has a
    /// replication history worth saving (a master with a backlog, or a replica).
    func replicationSaveInfoStreamDb() -> Int? {
        if repl.master == nil {
            guard repl.backlog != nil else { return nil }
            return repl.lastSelectedDb == -1 ? 0 : repl.lastSelectedDb
        }
        return replicaSaveInfoStreamDb()
    }

    /// Redis's createReplicationBacklog: the next byte of the stream is the first held.
    func createReplicationBacklog() {
        repl.backlog = ReplicationBacklog(capacity: config.replBacklogSize, nextOffset: repl.masterReplOffset + 1)
    }

    /// CONFIG SET repl-backlog-size (resizeReplicationBacklog).
    func resizeReplicationBacklog() {
        repl.backlog?.resize(config.replBacklogSize)
    }

    // MARK: SYNC / PSYNC

    /// SYNC and PSYNC (Redis's syncCommand).
    func syncCommand(_ c: Client, _ argv: Argv, psync: Bool) {
        // Already a replica (a second SYNC): ignored.
        if c.flags.contains(.replica) { return }
        // PSYNC ... FAILOVER: our master hands over to us (Replication/Failover.swift).
        if psync && !acceptFailoverRequest(c, argv) { return }
        // No replica syncs with us while we are failing over.
        if failover.phase != .none {
            c.addReplyError("-NOMASTERLINK Can't SYNC while failing over")
            return
        }
        if let m = repl.master, !m.linkUp {
            c.addReplyError("-NOMASTERLINK Can't SYNC while not connected with my master")
            return
        }
        if c.pendingOutputBytes > 0 {
            c.addReplyError("SYNC and PSYNC are invalid with pending output")
            return
        }
        let rs = replicaStateCreating(c)
        if rs.excludeData && !rs.capaEOF {
            c.addReplyError("Filtered replica requires EOF capability")
            return
        }
        log.notice("Replica \(replicaName(c)) asks for synchronization")
        if psync {
            guard let offset = parseStrictInt(argv[2]) else {
                log.warning("Replica \(replicaName(c)) asks for synchronization but with a wrong offset")
                c.addReplyError("value is not an integer or out of range")
                return
            }
            let asked = argv.bytes(1)
            if tryPartialResync(c, replid: asked, offset: Int64(offset)) {
                repl.syncPartialOK += 1
                return
            }
            if asked.first != UInt8(ascii: "?") { repl.syncPartialErr += 1 }
        } else {
            // An old implementation (or redis-cli --slave): no +FULLRESYNC, no ACKs.
            rs.prePSYNC = true
        }

        repl.syncFull += 1
        rs.phase = .waitBgsaveStart
        rs.syncRequestedMs = cachedTimeMs
        rs.pendingStream.count = 0
        if config.replDisableTcpNodelay { c.connection?.setNoDelay(false) }
        c.flags.insert(.replica)
        repl.replicas.append(c)

        // The first replica creates the backlog, with a new history: nothing before it is
        // valid to continue from.
        if repl.replicas.count == 1 && repl.backlog == nil {
            repl.changeReplid()
            repl.clearReplid2()
            createReplicationBacklog()
            log.notice("Replication backlog created, my new replication IDs are '\(String(decoding: repl.replid, as: UTF8.self))' and '\(String(decoding: repl.replid2, as: UTF8.self))'")
        }

        if hasActiveChild && repl.rdbChildType != .socket {
            // CASE 1: a save to disk is running. It serves this replica if another replica
            // already waits for it (its buffer holds every write since the fork).
            let other = repl.replicas.first { o in
                guard o !== c, let ors = o.replicaState else { return false }
                return ors.phase == .waitBgsaveEnd && (!ors.rdbOnly || rs.rdbOnly)
            }
            if let other, let ors = other.replicaState,
               (!ors.capaEOF || rs.capaEOF) && (!ors.capaPSYNC2 || rs.capaPSYNC2) && ors.requirements == rs.requirements {
                if !rs.rdbOnly { rs.pendingStream.append(ors.pendingStream.bytes) }
                setupReplicaForFullResync(c, offset: ors.initialOffset)
                log.notice("Waiting for end of BGSAVE for SYNC")
            } else {
                log.notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
            }
        } else if hasActiveChild {
            // CASE 2: a diskless transfer runs: its RDB goes to sockets chosen at the fork.
            log.notice("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
        } else {
            // CASE 3: no child. Diskless with a delay: the cron starts it, so that more
            // replicas may arrive.
            if config.replDisklessSync && rs.capaEOF && config.replDisklessSyncDelay > 0 {
                log.notice("Delay next BGSAVE for diskless SYNC")
            } else if repl.diskless == nil {
                _ = startBgsaveForReplication(mincapaEOF: rs.capaEOF, requirements: rs.requirements)
            } else {
                log.notice("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed")
            }
        }
    }

    /// Redis's masterTryPartialResynchronization: true when the replica continues from
    /// the backlog (+CONTINUE sent, then the missing bytes).
    func tryPartialResync(_ c: Client, replid asked: [UInt8], offset: Int64) -> Bool {
        let b = repl.backlog.map { (first: $0.firstByteOffset, histlen: $0.histlen) }
        let decision = ResyncDecision.decide(replid: asked, offset: offset, replid: repl.replid, replid2: repl.replid2,
                                             secondReplOffset: repl.secondReplOffset, backlog: b)
        let askedText = String(decoding: asked, as: UTF8.self)
        switch decision {
        case .full(.requested):
            log.notice("Full resync requested by replica \(replicaName(c))")
            return false
        case .full(.replidMismatch):
            log.notice("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '\(askedText)', my replication IDs are '\(String(decoding: repl.replid, as: UTF8.self))' and '\(String(decoding: repl.replid2, as: UTF8.self))')")
            return false
        case .full(.secondIDOffsetTooHigh):
            log.notice("Partial resynchronization not accepted: Requested offset for second ID was \(offset), but I can reply up to \(repl.secondReplOffset)")
            return false
        case .full(.notInBacklog):
            log.notice("Unable to partial resync with replica \(replicaName(c)) for lack of backlog (Replica request was: \(offset)).")
            if offset > repl.masterReplOffset {
                log.warning("Warning: replica \(replicaName(c)) tried to PSYNC with an offset that is greater than the master replication offset.")
            }
            return false
        case .partial(let from):
            let rs = replicaStateCreating(c)
            c.flags.insert(.replica)
            rs.phase = .online
            rs.ackTimeMs = cachedTimeMs
            rs.startStreamOnAck = false
            repl.replicas.append(c)
            if rs.capaPSYNC2 {
                c.out.append("+CONTINUE " + String(decoding: repl.replid, as: UTF8.self) + "\r\n")
            } else {
                c.out.append("+CONTINUE\r\n")
            }
            let data = repl.backlog!.bytes(from: from)
            c.out.append(data)
            scheduleWrite(c)
            log.notice("Partial resynchronization request from \(replicaName(c)) accepted. Sending \(data.count) bytes of backlog starting from offset \(from).")
            refreshGoodReplicasCount()
            return true
        }
    }

    /// Redis's replicationSetupSlaveForFullResync: the replica's data starts at `offset`;
    /// from here it accumulates the stream; the stream restarts with a SELECT.
    func setupReplicaForFullResync(_ c: Client, offset: Int64) {
        guard let rs = c.replicaState else { return }
        rs.initialOffset = offset
        rs.phase = .waitBgsaveEnd
        repl.lastSelectedDb = -1
        if !rs.prePSYNC {
            c.out.append("+FULLRESYNC " + String(decoding: repl.replid, as: UTF8.self) + " " + String(offset) + "\r\n")
            scheduleWrite(c)
        }
    }

    // MARK: starting the RDB

    /// Redis's startBgsaveForReplication: to the replicas' sockets when they all take the
    /// EOF format and diskless sync is on (or the RDB is filtered), else to disk.
    @discardableResult
    func startBgsaveForReplication(mincapaEOF: Bool, requirements: Int) -> Bool {
        let socketTarget = (config.replDisklessSync || requirements != 0) && mincapaEOF
        log.notice("Starting BGSAVE for SYNC with target: \(socketTarget ? "replicas sockets" : "disk")")
        var ok: Bool
        if socketTarget {
            ok = rdbSaveToReplicasSockets(requirements: requirements)
        } else {
            ok = rdbSaveBackground()
        }
        if !ok {
            log.warning("BGSAVE for replication failed")
            for c in repl.replicas where c.replicaState?.phase == .waitBgsaveStart {
                repl.replicas.removeAll { $0 === c }
                c.flags.remove(.replica)
                c.replicaState?.phase = .waitBgsaveStart
                c.addReplyError("BGSAVE failed, replication can't continue")
                c.flags.insert(.closeAfterReply)
                scheduleWrite(c)
            }
            if repl.replicas.isEmpty { repl.noReplicasSince = unixTime }
            return false
        }
        if !socketTarget {
            // The fork happened just now: its snapshot is at the current offset.
            for c in repl.replicas where c.replicaState?.phase == .waitBgsaveStart && c.replicaState?.requirements == requirements {
                setupReplicaForFullResync(c, offset: repl.masterReplOffset)
            }
        }
        return true
    }

    /// Redis's rdbSaveToSlavesSockets: the fork child writes `$EOF:<mark>\r\n`, the RDB and
    /// the mark into a pipe; the parent forwards it to the replicas waiting to start.
    func rdbSaveToReplicasSockets(requirements: Int) -> Bool {
        guard !hasActiveChild, repl.diskless == nil, let loop else { return false }
        var data: [Int32] = [-1, -1]
        var exitp: [Int32] = [-1, -1]
        if pipe(&data) != 0 { return false }
        if pipe(&exitp) != 0 {
            close(data[0]); close(data[1])
            return false
        }
        // A 1 MB pipe (F_SETPIPE_SZ; best effort): the child blocks, and the parent wakes,
        // once per megabyte rather than per 64 KB.
        _ = fcntl(data[1], 1031, Int32(1 << 20))
        var targets: [Client] = []
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .waitBgsaveStart, rs.requirements == requirements else { continue }
            targets.append(c)
            setupReplicaForFullResync(c, offset: repl.masterReplOffset)
        }
        let hex = Array("0123456789abcdef".utf8)
        let mark = (0..<40).map { _ in hex[Int.random(in: 0..<16)] }
        let includeData = requirements & ReplicaClientState.excludeDataReq == 0
        let pid = fork()
        if pid == 0 {
            // The child: writes into the pipe, then waits until the parent read it all.
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_DFL)
            log.role = "C"
            forkedChildProcessSettings(title: "redis-rdb-to-slaves")
            close(data[0])
            close(exitp[1])
            let fd = data[1]
            func writeAll(_ b: [UInt8]) -> Bool {
                var off = 0
                while off < b.count {
                    let n = b.withUnsafeBytes { write(fd, $0.baseAddress! + off, b.count - off) }
                    if n < 0 { if errno == EINTR { continue }; return false }
                    off += n
                }
                return true
            }
            var ok = writeAll(Array("$EOF:".utf8) + mark + [13, 10])
            if ok { ok = rdbWrite(to: fd, includeData: includeData) == nil }
            if ok { ok = writeAll(mark) }
            if ok {
                let cow = privateDirtyBytes()
                log.notice("Fork CoW for RDB: current \(cow >> 20) MB, peak \(cow >> 20) MB, average \(cow >> 20) MB")
            }
            close(fd)
            var b: UInt8 = 0
            while read(exitp[0], &b, 1) < 0 && errno == EINTR {}
            _exit(ok ? 0 : 1)
        }
        close(data[1])
        close(exitp[0])
        if pid < 0 {
            log.warning("Can't save in background: fork: \(String(cString: strerror(errno)))")
            // Undo: the caller drops the replicas still waiting to start.
            for c in targets { c.replicaState?.phase = .waitBgsaveStart }
            close(data[0]); close(exitp[1])
            return false
        }
        log.notice("Background RDB transfer started by pid \(pid)")
        let t = DisklessTransfer(targets: targets, exitPipe: exitp[1])
        repl.diskless = t
        repl.rdbChildType = .socket
        persistence.childPid = pid
        persistence.childStartTime = wallClockMs()
        t.reader = PipeReader(loop: loop, fd: data[0], onData: { [unowned self] bytes in
            self.disklessForward(bytes)
        }, onEnd: { [unowned self] failed in
            self.disklessPipeEnded(failed: failed)
        })
        if t.reader == nil {
            close(data[0])
            t.finished = true
            t.closeExitPipe()
        } else {
            t.reader!.start()
        }
        return true
    }

    /// One read from the child's pipe to every target; reading pauses until the slowest
    /// drained (Redis's rdbPipeReadHandler / rdbPipeWriteHandler).
    private func disklessForward(_ bytes: UnsafeRawBufferPointer) {
        guard let t = repl.diskless else { return }
        for c in t.targets {
            guard !c.flags.contains(.closed), let conn = c.connection else { continue }
            c.out.append(bytes)
            conn.flush()
        }
        var writing = false
        for c in t.targets where !c.flags.contains(.closed) && c.pendingOutputBytes > 0 {
            writing = true
            if c.replicaState?.lastPartialWriteMs == 0 { c.replicaState?.lastPartialWriteMs = cachedTimeMs }
        }
        if writing { t.reader?.stop() }
    }

    /// The pipe ended: every byte went out (reads resume only once all targets drained).
    /// The child may now exit; its exit status decides (replicationSocketChildDone).
    private func disklessPipeEnded(failed: Bool) {
        guard let t = repl.diskless else { return }
        t.finished = true
        t.reader?.close()
        t.reader = nil
        if failed { log.warning("Diskless rdb transfer, read error from the pipe") }
        log.notice("Diskless rdb transfer, done reading from pipe, \(t.targets.count) replicas still up.")
        t.closeExitPipe()
    }

    /// A replica's socket took everything given to it.
    func replicaOutputDrained(_ c: Client) {
        guard c.flags.contains(.replica), let rs = c.replicaState else { return }
        rs.lastPartialWriteMs = 0
        if rs.phase == .sendBulk {
            sendBulkToReplica(c)
        } else if let t = repl.diskless, let reader = t.reader, !reader.reading, !t.finished,
                  t.targets.contains(where: { $0 === c }) {
            if !t.targets.contains(where: { !$0.flags.contains(.closed) && $0.pendingOutputBytes > 0 }) {
                reader.start()
            }
        }
    }

    // MARK: the RDB is ready

    /// The disk save finished (checkChildDone): waiting replicas get the file, or are
    /// dropped when it failed (Redis's updateSlavesWaitingBgsave for a disk target).
    func replicationDiskSaveDone(ok: Bool) {
        repl.rdbChildType = .none
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .waitBgsaveEnd else { continue }
            if !ok {
                log.warning("SYNC failed. BGSAVE child returned an error")
                closeReplicaAsync(c)
                continue
            }
            let fd = open(rdbPath, O_RDONLY)
            var st = stat()
            if fd < 0 || fstat(fd, &st) != 0 {
                log.warning("SYNC failed. Can't open/stat DB after BGSAVE: \(String(cString: strerror(errno)))")
                if fd >= 0 { close(fd) }
                closeReplicaAsync(c)
                continue
            }
            rs.dbfd = fd
            rs.dbOffset = 0
            rs.dbSize = Int(st.st_size)
            rs.phase = .sendBulk
            c.out.append("$" + String(rs.dbSize) + "\r\n")
            sendBulkToReplica(c)
        }
        replicationStartPendingFork()
    }

    /// The diskless child was reaped (checkChildDone): its replicas are online, their
    /// stream starting at their first ACK; or dropped if it failed.
    func replicationSocketChildDone(reaped: Bool, status: Int32) {
        repl.rdbChildType = .none
        let exited = status & 0x7F == 0
        let ok = reaped && exited && (status >> 8) & 0xFF == 0
        if ok {
            log.notice("Background RDB transfer terminated with success")
        } else if reaped && exited {
            log.warning("Background transfer error")
        } else if reaped {
            log.warning("Background transfer terminated by signal \(status & 0x7F)")
        }
        let t = repl.diskless
        repl.diskless = nil
        if let t {
            t.reader?.close()
            t.reader = nil
            t.closeExitPipe()
        }
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .waitBgsaveEnd else { continue }
            if !ok || !(t?.targets.contains { $0 === c } ?? false) {
                log.warning("SYNC failed. BGSAVE child returned an error")
                closeReplicaAsync(c)
                continue
            }
            log.notice("Streamed RDB transfer with replica \(replicaName(c)) succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming")
            if !replicaPutOnline(c) { continue }
            rs.startStreamOnAck = true
        }
        replicationStartPendingFork()
    }

    /// The RDB child was killed (FLUSHALL, SHUTDOWN, the last diskless target gone): the
    /// replicas waiting for it are dropped.
    func replicationRDBChildKilled() {
        if repl.rdbChildType == .socket {
            replicationSocketChildDone(reaped: false, status: 0)
        } else {
            replicationDiskSaveDone(ok: false)
        }
    }

    /// Streams the RDB file to a replica, a chunk at a time as its socket drains (Redis's
    /// sendBulkToSlave); at the end the replica is online and its stream follows.
    func sendBulkToReplica(_ c: Client) {
        guard let rs = c.replicaState, rs.phase == .sendBulk else { return }
        guard let conn = c.connection, !c.flags.contains(.closed) else { return }
        var rounds = 0
        while rs.phase == .sendBulk {
            if c.pendingOutputBytes > 0 {
                conn.flush()
                if c.flags.contains(.closed) { return }
                if c.pendingOutputBytes > 0 { return }  // replicaOutputDrained continues
            }
            if rounds == 16 {
                // Bursts that never block would starve the loop: go on at its next turn
                // (a zero timer: beforeSleep alone would wait for some other event).
                if !rs.bulkResumeScheduled, let loop {
                    rs.bulkResumeScheduled = true
                    _ = OneShotTimer(loop: loop, milliseconds: 0) { [unowned(unsafe) self, weak c] in
                        guard let c, let rs = c.replicaState else { return }
                        rs.bulkResumeScheduled = false
                        self.sendBulkToReplica(c)
                    }
                }
                return
            }
            rounds += 1
            let chunk = Swift.min(64 * 1024, rs.dbSize - rs.dbOffset)
            if chunk > 0 {
                let dst = c.out.reserve(chunk)
                let n = pread(rs.dbfd, dst, chunk, off_t(rs.dbOffset))
                if n <= 0 {
                    log.warning("Read error sending DB to replica: \(n < 0 ? String(cString: strerror(errno)) : "premature EOF")")
                    closeReplicaAsync(c)
                    return
                }
                c.out.count += n
                rs.dbOffset += n
            }
            if rs.dbOffset >= rs.dbSize {
                close(rs.dbfd)
                rs.dbfd = -1
                if !replicaPutOnline(c) { conn.flush(); return }
                replicaStartCommandStream(c)
                log.notice("Synchronization with replica \(replicaName(c)) succeeded")
            }
            conn.flush()
            if c.flags.contains(.closed) { return }
        }
    }

    /// Redis's replicaPutOnline. An rdb-only replica is done instead (closed once written).
    @discardableResult
    func replicaPutOnline(_ c: Client) -> Bool {
        guard let rs = c.replicaState else { return false }
        if rs.rdbOnly {
            log.notice("Close the connection with replica \(replicaName(c)) as RDB transfer is complete")
            rs.phase = .online
            c.flags.insert(.closeAfterReply)
            scheduleWrite(c)
            return false
        }
        rs.phase = .online
        rs.ackTimeMs = cachedTimeMs
        refreshGoodReplicasCount()
        return true
    }

    /// Redis's replicaStartCommandStream: what accumulated since the snapshot goes out.
    func replicaStartCommandStream(_ c: Client) {
        guard let rs = c.replicaState else { return }
        rs.startStreamOnAck = false
        if rs.pendingStream.count > 0 {
            c.out.append(rs.pendingStream.bytes)
            rs.pendingStream.release()
        }
        scheduleWrite(c)
    }

    /// Redis's freeClientAsync for a replica: closed from the next flush.
    func closeReplicaAsync(_ c: Client) {
        c.flags.insert(.closeASAP)
        scheduleWrite(c)
    }

    /// A replica's connection is gone (forgetClient; Redis's freeClient, master side).
    func replicationReplicaGone(_ c: Client) {
        guard c.flags.contains(.replica), let rs = c.replicaState else { return }
        c.flags.remove(.replica)
        repl.replicas.removeAll { $0 === c }
        if rs.dbfd >= 0 { close(rs.dbfd); rs.dbfd = -1 }
        log.notice("Connection with replica \(replicaName(c)) lost.")
        if repl.replicas.isEmpty { repl.noReplicasSince = unixTime }
        refreshGoodReplicasCount()
        if rs.phase == .waitBgsaveEnd {
            if let t = repl.diskless {
                t.targets.removeAll { $0 === c }
                if t.targets.isEmpty && !t.finished {
                    log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                    killRDBChild()
                } else if let reader = t.reader, !reader.reading, !t.finished,
                          !t.targets.contains(where: { !$0.flags.contains(.closed) && $0.pendingOutputBytes > 0 }) {
                    reader.start()
                }
            } else if config.save.isEmpty && hasActiveChild && repl.rdbChildType != .socket
                        && !repl.replicas.contains(where: { $0.replicaState?.phase == .waitBgsaveEnd }) {
                // No one else needs that save and it is not for persistence: stop it, so
                // the next full sync can fork at once.
                killRDBChild()
            }
        }
    }

    // MARK: cron and beforeSleep

    /// Redis's shouldStartChildForReplication + replicationStartPendingFork: replicas
    /// waiting for a save get one once no child runs and, diskless, the delay passed or
    /// enough of them came.
    func replicationStartPendingFork() {
        if hasActiveChild || repl.diskless != nil { return }
        var waiting = 0
        var mincapaEOF = true
        var req = 0
        var first = true
        var maxIdleMs: Int64 = 0
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .waitBgsaveStart else { continue }
            if first {
                req = rs.requirements
            } else if req != rs.requirements {
                continue
            }
            maxIdleMs = Swift.max(maxIdleMs, cachedTimeMs - rs.syncRequestedMs)
            waiting += 1
            mincapaEOF = mincapaEOF && rs.capaEOF
            first = false
        }
        if waiting == 0 { return }
        let maxReplicas = config.replDisklessSyncMaxReplicas
        if !config.replDisklessSync || (maxReplicas > 0 && waiting >= maxReplicas)
            || maxIdleMs / 1000 >= Int64(config.replDisklessSyncDelay) {
            startBgsaveForReplication(mincapaEOF: mincapaEOF, requirements: req)
        }
    }

    /// The master side of Redis's replicationCron, from the server cron: starting saves
    /// every tick; the rest once a second (pings, keep-alives, timeouts, the backlog's TTL).
    func masterSideCron() {
        replicationStartPendingFork()
        let now = cachedTimeMs
        if now - repl.lastCronMs < 1000 { return }
        repl.lastCronMs = now
        defer { repl.cronLoops += 1 }
        let nowSec = now / 1000
        updateFailoverStatus()

        // PING the replicas every repl-ping-replica-period, in the stream (it moves the offset);
        // not during a FAILOVER with a timeout while writes are paused (Redis's
        // manual_failover_in_progress), so the target can catch up with a still offset.
        let failingOver = failover.endMs != 0 && checkClientPauseTimeout()
        if repl.cronLoops % Swift.max(1, config.replPingReplicaPeriod) == 0 && !repl.replicas.isEmpty
            && repl.master == nil && !failingOver {
            replicationFeedReplicas(dbid: repl.lastSelectedDb, [Array("PING".utf8)])
        }
        for c in repl.replicas {
            guard let rs = c.replicaState else { continue }
            // A newline to replicas waiting for their RDB: out of band, it keeps their
            // read timeout from firing.
            if rs.phase == .waitBgsaveStart || (rs.phase == .waitBgsaveEnd && repl.rdbChildType != .socket) {
                c.out.append(byte: 10)
                scheduleWrite(c)
            }
        }
        for c in repl.replicas {
            guard let rs = c.replicaState else { continue }
            if rs.phase == .online && !rs.prePSYNC && nowSec - rs.ackTimeMs / 1000 > Int64(config.replTimeout) {
                log.warning("Disconnecting timedout replica (streaming sync): \(replicaName(c))")
                closeReplicaAsync(c)
            } else if rs.phase == .waitBgsaveEnd && repl.rdbChildType == .socket && rs.lastPartialWriteMs != 0
                        && nowSec - rs.lastPartialWriteMs / 1000 > Int64(config.replTimeout) {
                log.warning("Disconnecting timedout replica (full sync): \(replicaName(c))")
                closeReplicaAsync(c)
            }
        }
        // A master without replicas frees its backlog after repl-backlog-ttl, starting a
        // new history (its offset no longer moves: an old id must not be continued from).
        if repl.replicas.isEmpty && config.replBacklogTTL > 0 && repl.backlog != nil && repl.master == nil
            && nowSec - repl.noReplicasSince > Int64(config.replBacklogTTL) {
            repl.changeReplid()
            repl.clearReplid2()
            repl.backlog = nil
            log.notice("Replication backlog freed after \(config.replBacklogTTL) seconds without connected replicas.")
        }
        refreshGoodReplicasCount()
    }

    /// beforeSleep's part (Redis's beforeSleep: get_ack_from_slaves, then
    /// processClientsWaitingReplicas).
    func masterSideBeforeSleep() {
        // (Not while clients are paused: it would move the offset; it goes after the pause.)
        if repl.getAckRequested && !checkClientPauseTimeout() {
            repl.getAckRequested = false
            sendGetackToReplicas()
        }
        if !repl.waitingAcks.isEmpty { processClientsWaitingReplicas() }
        // Clients just unblocked by WAIT run what they had queued in this same turn.
        if !blocking.unblocked.isEmpty { processUnblockedClients() }
    }

    /// REPLCONF GETACK * into the stream (no SELECT: it runs in any database).
    func sendGetackToReplicas() {
        if repl.replicas.isEmpty || repl.master != nil { return }
        replicationFeedReplicas(dbid: repl.lastSelectedDb, [Array("REPLCONF".utf8), Array("GETACK".utf8), [UInt8(ascii: "*")]])
    }

    // MARK: WAIT

    /// Redis's replicationCountAcksByOffset.
    func replicationCountAcks(byOffset offset: Int64) -> Int {
        var n = 0
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .online else { continue }
            if rs.ackOffset >= offset { n += 1 }
        }
        return n
    }

    /// Parks `c` in WAIT until `numReplicas` acknowledged `offset` or the deadline.
    func blockForReplicaAcks(_ c: Client, _ argv: Argv, offset: Int64, numReplicas: Int, deadlineMs: Int64) {
        blockForKeys(c, argv, keys: [], type: .list, deadlineMs: deadlineMs) { [unowned(unsafe) self] target in
            target.addReplyInt(self.replicationCountAcks(byOffset: offset))
        }
        guard let state = c.blocked else { return }
        repl.waitingAcks.insert(WaitingAck(client: c, state: state, offset: offset, numReplicas: numReplicas), at: 0)
        repl.getAckRequested = true
    }

    /// Redis's processClientsWaitingReplicas.
    func processClientsWaitingReplicas() {
        var lastOffset: Int64 = 0
        var lastNum = 0
        var keep: [WaitingAck] = []
        for w in repl.waitingAcks {
            let c = w.client
            guard c.blocked === w.state, !c.flags.contains(.closed) else { continue }  // gone or unblocked otherwise
            var n = -1
            if lastOffset != 0 && lastOffset >= w.offset && lastNum >= w.numReplicas {
                n = lastNum
            } else {
                let acks = replicationCountAcks(byOffset: w.offset)
                if acks >= w.numReplicas {
                    lastOffset = w.offset
                    lastNum = acks
                    n = acks
                }
            }
            if n < 0 {
                keep.append(w)
                continue
            }
            unblockClient(c)
            c.addReplyInt(n)
            resumeAfterUnblock(c)
        }
        repl.waitingAcks = keep
    }

    // MARK: min-replicas-to-write

    /// Redis's refreshGoodSlavesCount.
    func refreshGoodReplicasCount() {
        if config.minReplicasToWrite == 0 || config.minReplicasMaxLag == 0 { return }
        let nowSec = cachedTimeMs / 1000
        var good = 0
        for c in repl.replicas {
            guard let rs = c.replicaState, rs.phase == .online else { continue }
            if nowSec - rs.ackTimeMs / 1000 <= Int64(config.minReplicasMaxLag) { good += 1 }
        }
        repl.goodReplicasCount = good
    }

    /// processCommand's gate (checkGoodReplicasStatus): a write (or an EXEC of writes) with
    /// too few good replicas gets -NOREPLICAS. True when `c` was refused.
    func rejectWriteForTooFewReplicas(_ c: Client, _ cmd: RedisCommand, flags: CommandFlags) -> Bool {
        guard repl.master == nil, config.minReplicasMaxLag > 0,
              repl.goodReplicasCount < config.minReplicasToWrite else { return false }
        var isWrite = flags.contains(.write)
        if !isWrite && cmd.propagatesItsBody, let ms = c.mstate {
            isWrite = ms.commands.contains { $0.flags.contains(.write) }
        }
        guard isWrite else { return false }
        rejectCommand(c, cmd, "-NOREPLICAS Not enough good replicas to write.")
        return true
    }
}
