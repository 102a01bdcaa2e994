#if canImport(Glibc)
import Glibc
#endif

/// One attempt at a link to our master, from connect to synced (Redis's repl_transfer_s,
/// the REPL_STATE_* fields and, once synced, server.master). The pure state machine is
/// `machine`; this carries out its actions on the socket and the temp file.
final class ReplicaLink {
    var machine: ReplicaHandshake
    var connector: OutboundConnector?
    var connection: Connection?
    /// The link's client: during the handshake only a carrier for replies we send; once
    /// synced it gets flag `.master` and joins the client list.
    var client: Client?
    /// Reply bytes not yet split into lines during the handshake.
    var lineBuffer: [UInt8] = []
    var sync: ReplicaHandshake.SyncKind?
    var payload: RDBPayloadReceiver?
    var transferFD: Int32 = -1
    var transferPath = ""
    /// The payload kept in memory instead of a file (repl-diskless-load on-empty-db when
    /// we hold no keys, or swapdb).
    var memoryPayload: [UInt8]? = nil
    /// Stream bytes that came right after the payload (fed once the RDB is loaded).
    var leftover: [UInt8] = []
    var closed = false

    init(settings: ReplicaHandshake.Settings, now: Int64) {
        machine = ReplicaHandshake(settings: settings, now: now)
    }

    /// Redis's repl_state as ROLE shows it.
    var roleState: String { machine.roleName }
}

extension Server {
    var isReplica: Bool { repl.master != nil }

    // MARK: start-up

    /// `replicaof` from the config (file or --replicaof): become a replica before the data
    /// loads, so the load keeps expired keys and restores the replication info; the cron
    /// connects (Redis sets REPL_STATE_CONNECT and lets replicationCron connect).
    func replicationInitFromConfig() {
        let parts = config.replicaof.split(separator: " ")
        guard parts.count == 2, let port = Int(parts[1]) else { return }
        repl.master = MasterLinkState(host: String(parts[0]), port: port)
        log.role = "S"
    }

    /// The repl-id / repl-offset / repl-stream-db a replica finds in its own dump.rdb at
    /// start-up (Redis's loadDataFromDisk + replicationCacheMasterUsingMyself): they are our
    /// history, kept as a cached master to PSYNC with.
    func replicationRestoreFromRDBAux(_ aux: [(String, String)]) {
        guard let m = repl.master else { return }
        var id: [UInt8]? = nil
        var offset: Int64? = nil
        var db: Int? = nil
        for (k, v) in aux {
            switch k {
            case "repl-id": if v.utf8.count == 40 { id = Array(v.utf8) }
            case "repl-offset": offset = Int64(v)
            case "repl-stream-db": db = Int(v)
            default: break
            }
        }
        guard let id, let offset, offset != -1, let db, db != -1 else { return }
        repl.replid = id
        repl.masterReplOffset = offset
        cacheMasterUsingMyself(m)
        m.cachedDb = db < dbs.count ? db : 0
    }

    /// Redis's replicationAttachToNewMaster: a whole new dataset arrives, so the cached
    /// history is dropped, our replicas must resync, and the backlog goes (it no longer
    /// continues our stream; a new one is made at the master's offset).
    private func attachToNewMaster(_ m: MasterLinkState) {
        if m.masterReplid != nil { log.notice("Discarding previously cached master state.") }
        m.masterReplid = nil
        disconnectReplicas()
        repl.backlog = nil
    }

    /// Redis's replicationCacheMasterUsingMyself: our own replid and offset become the
    /// history to PSYNC with.
    private func cacheMasterUsingMyself(_ m: MasterLinkState) {
        log.notice("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.")
        m.masterReplid = repl.replid
        m.appliedReplOffset = repl.masterReplOffset
        m.readReplOffset = repl.masterReplOffset
        m.cachedDb = 0
    }

    /// What rdbPopulateSaveInfo puts in an RDB this server saves: the stream's db, our
    /// replid and offset (a master with a backlog, or a replica with a master or cached one).
    func replicationSaveInfoAuxFields() -> [(String, String)] {
        let db: Int
        if repl.master != nil {
            guard let d = replicaSaveInfoStreamDb() else { return [] }
            db = d
        } else if repl.backlog != nil {
            db = repl.lastSelectedDb == -1 ? 0 : repl.lastSelectedDb
        } else {
            return []
        }
        return [("repl-stream-db", String(db)), ("repl-id", String(decoding: repl.replid, as: UTF8.self)),
                ("repl-offset", String(repl.masterReplOffset))]
    }

    /// rdbPopulateSaveInfo on a replica: the database of the master's stream (the master
    /// client's, or the cached master's), nil with neither (nothing worth saving).
    func replicaSaveInfoStreamDb() -> Int? {
        guard let m = repl.master else { return nil }
        if let c = m.masterClient { return c.db.id }
        return m.masterReplid != nil ? m.cachedDb : nil
    }

    // MARK: REPLICAOF

    /// Redis's replicationSetMaster: drop the current link (caching it), unblock blocked
    /// clients, keep our own history as a cached master if we were a master, connect.
    func replicationSetMaster(host: String, port: Int) {
        let wasMaster = repl.master == nil
        let m: MasterLinkState
        if let old = repl.master {
            if let link = old.link { closeLink(link) }
            old.host = host
            old.port = port
            m = old
        } else {
            m = MasterLinkState(host: host, port: port)
            repl.master = m
        }
        disconnectAllBlockedClients()
        log.role = "S"
        if wasMaster { cacheMasterUsingMyself(m) }
        config.replicaof = "\(host) \(port)"
        _ = setOOMScoreAdj()  // the replica's oom-score-adj-values class now
        log.notice("Connecting to MASTER \(host):\(port)")
        connectWithMaster()
    }

    /// Redis's replicationUnsetMaster (REPLICAOF NO ONE): keep the data, start a new history
    /// with the old one as replid2 (so former fellow replicas can PSYNC to us), make sure a
    /// backlog exists, disconnect our replicas so they learn the new id.
    func replicationUnsetMaster() {
        guard let m = repl.master else { return }
        if let link = m.link { closeLink(link, cache: false) }
        m.masterReplid = nil
        repl.master = nil
        log.role = "M"
        config.replicaof = ""
        _ = setOOMScoreAdj()  // back to the master's class
        repl.shiftReplid()
        if repl.backlog == nil {
            repl.backlog = ReplicationBacklog(capacity: config.replBacklogSize, nextOffset: repl.masterReplOffset + 1)
        }
        disconnectReplicas()
        repl.lastSelectedDb = -1
        repl.noReplicasSince = unixTime
    }

    /// Redis's disconnectAllBlockedClients: a blocked client cannot stay blocked across a
    /// role change.
    private func disconnectAllBlockedClients() {
        // A postponed client is not in the middle of its command: it runs it from scratch
        // after the pause (executed or refused then), so it stays.
        for c in clientsInOrder where c.blocked != nil && c.blocked!.type != .postponed {
            c.addReplyError("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)")
            unblockClient(c)
            c.flags.insert(.closeAfterReply)
            scheduleWrite(c)
        }
    }

    /// Redis's disconnectSlaves: our replicas must resync (they learn our new history).
    private func disconnectReplicas() {
        for r in repl.replicas { closeClientNow(r) }
    }

    // MARK: the link

    private func handshakeSettings(_ m: MasterLinkState) -> ReplicaHandshake.Settings {
        var s = ReplicaHandshake.Settings()
        s.masterauth = config.masterauth.isEmpty ? nil : config.masterauth
        s.masteruser = config.masteruser.isEmpty ? nil : config.masteruser
        s.listeningPort = config.replicaAnnouncePort != 0 ? config.replicaAnnouncePort : config.port
        s.announceIP = config.replicaAnnounceIP.isEmpty ? nil : config.replicaAnnounceIP
        s.cachedReplid = m.masterReplid
        s.cachedOffset = m.appliedReplOffset
        s.timeoutSeconds = config.replTimeout
        s.failover = failover.phase == .inProgress
        return s
    }

    /// Redis's connectWithMaster: a non-blocking connect; the handshake starts when it fires.
    func connectWithMaster() {
        guard let m = repl.master, let loop else { return }
        let link = ReplicaLink(settings: handshakeSettings(m), now: cachedTimeMs)
        m.link = link
        let connector = OutboundConnector(loop: loop, host: m.host, port: m.port,
                                          makeClient: { [unowned self] in createClient(now: cachedTimeMs, listed: false) },
                                          completion: { [unowned self] conn, err in linkConnected(link, conn, err) })
        link.connector = connector
        if let err = connector.start() {
            log.warning("Unable to connect to MASTER: \(err)")
            link.connector = nil
            link.closed = true
            m.link = nil
            return
        }
        log.notice("MASTER <-> REPLICA sync started")
    }

    private func linkConnected(_ link: ReplicaLink, _ conn: Connection?, _ err: String?) {
        link.connector = nil
        guard !link.closed, repl.master?.link === link else {
            conn?.close()
            return
        }
        updateCachedTime()
        guard let conn else {
            apply(link, link.machine.connectFailed(err ?? "unknown error", now: cachedTimeMs))
            return
        }
        link.connection = conn
        link.client = conn.client
        conn.rawInput = { [unowned self, unowned link] data in linkRead(link, data) }
        conn.startReading()
        apply(link, link.machine.connected(now: cachedTimeMs))
    }

    /// Carries out the state machine's actions.
    private func apply(_ link: ReplicaLink, _ actions: [ReplicaHandshake.Action]) {
        for a in actions {
            if link.closed { return }
            switch a {
            case .send(let commands):
                guard let c = link.client else { continue }
                for cmd in commands {
                    c.addReplyArrayLen(cmd.count)
                    for arg in cmd { c.addReplyBulk(arg) }
                }
                link.connection?.flush()
            case .sendRaw(let text):
                guard let c = link.client else { continue }
                c.out.append(Array(text.utf8))
                link.connection?.flush()
            case .log(let level, let text):
                if level == .warning { log.warning(text) } else { log.notice(text) }
            case .sync(let kind):
                if case .legacy = kind {} else { failoverPsyncAnswered(accepted: true) }
                if link.closed { return }
                beginSync(link, kind)
            case .failoverRejected:
                failoverPsyncAnswered(accepted: false)
            case .abort:
                closeLink(link)
            }
        }
    }

    /// Reads on the link before it is synced: reply lines of the handshake, then the payload.
    private func linkRead(_ link: ReplicaLink, _ data: UnsafeRawBufferPointer) {
        if link.closed { return }
        if link.machine.inHandshake {
            link.lineBuffer.append(contentsOf: data)
            var consumed = 0
            while link.machine.inHandshake && !link.closed,
                  let nl = link.lineBuffer[consumed...].firstIndex(of: 10) {
                var end = nl
                if end > consumed && link.lineBuffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: link.lineBuffer[consumed..<end], as: UTF8.self)
                consumed = nl + 1
                apply(link, link.machine.receivedLine(line, now: cachedTimeMs))
            }
            if link.closed { return }
            let rest = Array(link.lineBuffer[consumed...])
            link.lineBuffer = []
            if link.machine.inHandshake {
                if rest.count > 64 * 1024 {
                    log.warning("Bad protocol from MASTER: reply line too long")
                    closeLink(link)
                    return
                }
                link.lineBuffer = rest
                return
            }
            if !rest.isEmpty { rest.withUnsafeBytes { linkRead(link, $0) } }
            return
        }
        switch link.machine.step {
        case .transfer:
            receivePayload(link, data)
        case .connected:
            // +CONTINUE came with stream bytes behind it in the same read.
            if let c = link.client {
                c.processInput(data)
                link.connection?.afterInput()
            }
        default:
            break
        }
    }

    // MARK: full and partial sync

    private func beginSync(_ link: ReplicaLink, _ kind: ReplicaHandshake.SyncKind) {
        guard let m = repl.master else { return }
        switch kind {
        case .partial(let newReplid):
            if let newReplid {
                // PSYNC2: the old history stays valid as replid2 up to our offset.
                repl.replid2 = m.masterReplid ?? repl.replid
                repl.secondReplOffset = repl.masterReplOffset + 1
                repl.replid = newReplid
                m.masterReplid = newReplid
                disconnectReplicas()
            }
            attachMasterClient(link, db: m.cachedDb, offset: m.appliedReplOffset)
            if repl.backlog == nil {
                repl.backlog = ReplicationBacklog(capacity: config.replBacklogSize, nextOffset: repl.masterReplOffset + 1)
            }
        case .full, .legacy:
            link.sync = kind
            m.syncInProgress = true
            m.syncTotalBytes = -1
            m.syncReadBytes = 0
            m.syncLastIOTime = unixTime
            // Redis's useDisklessLoad: swapdb always, on-empty-db when we hold no keys. The
            // payload then stays in memory (Redis parses it from the socket) and dump.rdb is
            // left alone.
            if config.replDisklessLoad == "swapdb"
                || (config.replDisklessLoad == "on-empty-db" && dbs.allSatisfy({ $0.count == 0 })) {
                link.memoryPayload = []
                link.payload = RDBPayloadReceiver(destination: "to parser")
                return
            }
            var fd: Int32 = -1
            for _ in 0..<5 {
                link.transferPath = config.dir + "/temp-\(unixTime).\(getpid()).rdb"
                fd = open(link.transferPath, O_CREAT | O_WRONLY | O_EXCL, 0o644)
                if fd >= 0 { break }
                link.transferPath = config.dir + "/temp-\(unixTime).\(getpid()).\(Int.random(in: 0..<1_000_000)).rdb"
            }
            if fd < 0 {
                log.warning("Opening the temp file needed for MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
                link.transferPath = ""
                closeLink(link)
                return
            }
            link.transferFD = fd
            link.payload = RDBPayloadReceiver(destination: "to disk")
        }
    }

    private func receivePayload(_ link: ReplicaLink, _ data: UnsafeRawBufferPointer) {
        guard let m = repl.master, link.payload != nil else { return }
        link.machine.transferProgress(now: cachedTimeMs)
        m.syncLastIOTime = unixTime
        let fd = link.transferFD
        let inMemory = link.memoryPayload != nil
        let events = link.payload!.feed(data) { chunk in
            if inMemory {
                link.memoryPayload!.append(contentsOf: chunk)
                return nil
            }
            var off = 0
            while off < chunk.count {
                let n = write(fd, chunk.baseAddress! + off, chunk.count - off)
                if n <= 0 {
                    return "Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))"
                }
                off += n
            }
            return nil
        }
        m.syncTotalBytes = link.payload!.totalBytes
        m.syncReadBytes = link.payload!.readBytes
        for e in events {
            switch e {
            case .log(let text):
                log.notice(text)
            case .keepalive:
                break
            case .failed(let text):
                log.warning(text)
                closeLink(link)
                return
            case .complete(let rest):
                if rest < data.count { link.leftover = Array(data[rest...]) }
                link.connection?.stopReading()
                if !inMemory {
                    if fsync(fd) != 0 {
                        log.warning("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
                        closeLink(link)
                        return
                    }
                    close(fd)
                    link.transferFD = -1
                }
                if let loop {
                    // Loading serves clients through the loop, which cannot run inside one
                    // of its own callbacks: stop it and load from the outside
                    // (runReplicationWorkOutsideLoop).
                    pendingTransferLoad = link
                    loop.stop()
                } else {
                    loadTransferredRDB(link)
                }
                return
            }
        }
    }

    /// The link whose received RDB waits to be loaded once the loop stops.
    private var pendingTransferLoad: ReplicaLink? {
        get { repl.master?.pendingLoad }
        set { repl.master?.pendingLoad = newValue }
    }

    /// Called by the main loop driver each time uv_run returns: loads a received RDB with
    /// clients served meanwhile. True when there was something to do. (The link may have
    /// been dropped between the stop and here: then nothing is left to do.)
    @discardableResult
    func runReplicationWorkOutsideLoop() -> Bool {
        guard let link = pendingTransferLoad else { return false }
        pendingTransferLoad = nil
        loadTransferredRDB(link)
        return true
    }

    /// The end of readSyncBulkPayload: flush, rename the temp file to dbfilename, load it,
    /// and make the link the master client at the FULLRESYNC offset.
    private func loadTransferredRDB(_ link: ReplicaLink) {
        guard let m = repl.master, m.link === link, !link.closed else {
            if !link.transferPath.isEmpty { unlink(link.transferPath) }
            return
        }
        if hasActiveChild {
            log.notice("Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process \(persistence.childPid) and removing its temp file to avoid any race")
            killRDBChild()
        }
        let image = link.memoryPayload
        link.memoryPayload = nil
        let swap = image != nil && config.replDisklessLoad == "swapdb"
        // The master's RDB brings its function libraries (emptyData drops ours).
        scripting.functions.flush()
        if !swap {
            attachToNewMaster(m)
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
            for db in dbs {
                signalFlushedDb(db)
                db.flush()
            }
        }
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        let outcome: RDBLoadOutcome
        var tempDbs: [Database] = []
        if let image {
            // swapdb: the current data stays (and keeps being read... as -LOADING here:
            // Redis's async loading is not done) until the new one loaded fine.
            let statsSink = KeyspaceStats()
            tempDbs = swap ? dbs.map { Database(id: $0.id, seed: hashSeed, stats: statsSink) } : []
            outcome = image.withUnsafeBytes {
                loadRDBImage($0, into: swap ? tempDbs : dbs, serveClients: loop != nil, keepExpired: true)
            }
        } else {
            if rename(link.transferPath, rdbPath) != 0 {
                log.warning("Failed trying to rename the temp DB into \(config.dbfilename) in MASTER <-> REPLICA synchronization: \(String(cString: strerror(errno)))")
                unlink(link.transferPath)
                link.transferPath = ""
                closeLink(link)
                return
            }
            link.transferPath = ""
            outcome = loadRDBFile(rdbPath, serveClients: loop != nil, keepExpired: true)
        }
        guard repl.master === m, m.link === link, !link.closed, !shutdownRequested else { return }
        if image != nil, case .failed = outcome {
            log.warning("Failed trying to load the MASTER synchronization DB from socket, check server logs.")
            if swap {
                log.notice("MASTER <-> REPLICA sync: Discarding temporary DB in background")
            } else {
                for db in dbs { db.flush() }
            }
            closeLink(link)
            return
        }
        if swap, case .loaded = outcome {
            attachToNewMaster(m)
            log.notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
            for (live, loaded) in zip(dbs, tempDbs) {
                signalFlushedDb(live)
                live.swapContents(with: loaded)
            }
            tempDbs = []
            log.notice("MASTER <-> REPLICA sync: Discarding old DB in background")
        }
        var streamDb = 0
        switch outcome {
        case .loaded(let result, _):
            for (k, v) in result.auxFields where k == "repl-stream-db" {
                if let d = Int(v), d >= 0, d < dbs.count { streamDb = d }
            }
        case .interrupted:
            return
        case .missing, .failed:
            log.warning("Failed trying to load the MASTER synchronization DB from disk, check server logs.")
            // The half-loaded data goes (Redis's emptyData after a failed disk load).
            for db in dbs { db.flush() }
            closeLink(link)
            return
        }
        var replid = repl.replid
        var offset: Int64 = -1
        if case .full(let id, let off)? = link.sync {
            replid = id
            offset = off
        }
        m.syncInProgress = false
        attachMasterClient(link, db: streamDb, offset: offset)
        // After a full sync our history is the master's: its replid and offset, no replid2.
        repl.replid = replid
        repl.masterReplOffset = offset
        repl.clearReplid2()
        if repl.backlog == nil {
            repl.backlog = ReplicationBacklog(capacity: config.replBacklogSize, nextOffset: repl.masterReplOffset + 1)
        }
        log.notice("MASTER <-> REPLICA sync: Finished with success")
        // The AOF described the old dataset: it starts again from the new one
        // (Redis's restartAOFAfterSYNC).
        if aof.status != .off {
            stopAppendOnly()
            if !startAppendOnly() { log.warning("Failed enabling the AOF after successful master synchronization!") }
        }
        // A diskless (EOF-mark) transfer: the master waits for this ACK to start the stream.
        if link.payload?.eofMark != nil { replicationSendAck() }
        link.payload = nil
        let rest = link.leftover
        link.leftover = []
        if let c = link.client, let conn = link.connection {
            if !rest.isEmpty { rest.withUnsafeBytes { c.processInput($0) } }
            conn.afterInput()
        }
    }

    /// Redis's replicationCreateMasterClient / replicationResurrectCachedMaster: the link's
    /// client becomes the master client, fed through the ordinary parser and engine.
    private func attachMasterClient(_ link: ReplicaLink, db: Int, offset: Int64) {
        guard let m = repl.master, let c = link.client else { return }
        c.flags.insert(.master)
        c.authenticated = true
        c.user = acl.superuser
        c.db = dbs[db < dbs.count ? db : 0]
        c.lastInteraction = cachedTimeMs
        link.connection?.rawInput = nil
        listClient(c)
        m.appliedReplOffset = offset
        m.readReplOffset = offset
        m.pendingApplied = []
        m.linkUp = true
        m.linkDownSince = 0
        m.lastIOTime = unixTime
        link.machine.synced(now: cachedTimeMs)
    }

    /// Ends a link attempt or a synced link (cancelReplicationHandshake / freeClient of the
    /// master). A synced link is cached (replicationCacheMaster) so that the next PSYNC
    /// can continue: our replid and the applied offset stay.
    func closeLink(_ link: ReplicaLink, cache: Bool = true) {
        if link.closed { return }
        link.closed = true
        link.connector?.cancel()
        link.connector = nil
        if link.transferFD >= 0 { close(link.transferFD); link.transferFD = -1 }
        if !link.transferPath.isEmpty { unlink(link.transferPath); link.transferPath = "" }
        let wasSynced = link.client?.flags.contains(.master) ?? false
        if let conn = link.connection {
            conn.rawInput = nil
            link.connection = nil
            conn.close()
        }
        guard let m = repl.master, m.link === link else { return }
        m.link = nil
        m.pendingLoad = nil
        m.syncInProgress = false
        if wasSynced {
            m.linkUp = false
            m.linkDownSince = unixTime
            m.executing = false
            m.pendingApplied = []
            if cache {
                log.notice("Connection with master lost.")
                log.notice("Caching the disconnected master state.")
                m.masterReplid = repl.replid
                m.cachedDb = link.client?.db.id ?? 0
                m.readReplOffset = m.appliedReplOffset
            }
        }
        link.client = nil
    }

    /// forgetClient's hook: the link's socket closed (EOF, error, CLIENT KILL).
    func replicaLinkClientGone(_ c: Client) {
        guard let link = repl.master?.link, link.client === c, !link.closed else { return }
        if !c.flags.contains(.master) {
            updateCachedTime()
            apply(link, link.machine.linkLost(now: cachedTimeMs))
        }
        closeLink(link)
    }

    // MARK: the stream

    /// A read from the master client (Redis's read_reploff and lastinteraction).
    func masterLinkRead(_ n: Int) {
        guard let m = repl.master else { return }
        m.readReplOffset += Int64(n)
        m.lastIOTime = unixTime
        m.link?.machine.masterIO(now: cachedTimeMs)
    }

    /// Bytes of the master's stream fully processed (one command, or a skipped empty
    /// line): they advance the applied offset and go to our own backlog and replicas
    /// (Redis's commandProcessed). Inside a MULTI only the EXEC applies them all.
    func masterStreamApplied(_ c: Client, _ bytes: UnsafeRawBufferPointer) {
        guard let m = repl.master, !bytes.isEmpty else { return }
        if c.mstate != nil {
            m.pendingApplied.append(contentsOf: bytes)
            return
        }
        if m.pendingApplied.isEmpty {
            replicationFeedStreamFromMaster(bytes)
            m.appliedReplOffset += Int64(bytes.count)
        } else {
            m.pendingApplied.append(contentsOf: bytes)
            let all = m.pendingApplied
            m.pendingApplied = []
            all.withUnsafeBytes { replicationFeedStreamFromMaster($0) }
            m.appliedReplOffset += Int64(all.count)
        }
    }

    /// Our master's stream, exactly as received, becomes our own stream: the offset grows,
    /// the backlog keeps it, sub-replicas get it (Redis's replicationFeedStreamFromMasterStream).
    /// MERGE: the master side's feed of the replicas' buffers belongs here; until then only
    /// the backlog and the offset.
    func replicationFeedStreamFromMaster(_ bytes: UnsafeRawBufferPointer) {
        // The same sink as propagation: our backlog, the offset, and our own replicas
        // (chained replication gets exactly the master's bytes).
        feedReplicationStream(bytes)
    }

    /// Before a command of the master client runs.
    @inline(__always) func masterCommandStarting() { repl.master?.executing = true }

    /// After a command of the master client ran: its reply is dropped (Redis's
    /// prepareClientToWrite refuses the master), except the ACK GETACK asked for.
    func masterCommandFinished(_ c: Client, outBefore: Int) {
        guard let m = repl.master else {
            c.out.count = outBefore
            return
        }
        m.executing = false
        c.out.count = outBefore
        if m.ackRequested {
            m.ackRequested = false
            appendAck(c, m)
        }
    }

    /// Redis's replicationSendAck: REPLCONF ACK <applied offset> to the master (the master
    /// side's REPLCONF GETACK handler calls this on a replica).
    func replicationSendAck() {
        guard let m = repl.master, let c = m.masterClient else { return }
        if m.executing {
            m.ackRequested = true
            return
        }
        appendAck(c, m)
    }

    private func appendAck(_ c: Client, _ m: MasterLinkState) {
        c.addReplyArrayLen(3)
        c.addReplyBulk("REPLCONF")
        c.addReplyBulk("ACK")
        c.addReplyBulk(String(m.appliedReplOffset))
        scheduleWrite(c)
    }

    // MARK: cron

    /// The replica's part of replicationCron, once a second: timeouts of every phase,
    /// reconnecting while the link is down, REPLCONF ACK.
    func replicaCron() {
        guard let m = repl.master else { return }
        if cachedTimeMs - m.lastCronMs < 1000 { return }
        m.lastCronMs = cachedTimeMs
        if let link = m.link, m.pendingLoad == nil {
            apply(link, link.machine.tick(now: cachedTimeMs))
        }
        guard repl.master === m else { return }
        if m.link == nil {
            log.notice("Connecting to MASTER \(m.host):\(m.port)")
            connectWithMaster()
        }
        // No ACKs to a master that does not know PSYNC (Redis's CLIENT_PRE_PSYNC).
        if m.masterClient != nil && m.link?.sync != .legacy { replicationSendAck() }
    }

    // MARK: what INFO, ROLE and the gates see

    /// Redis's repl_state == REPL_STATE_CONNECTED.
    var masterLinkIsUp: Bool { repl.master?.masterClient != nil }
}
