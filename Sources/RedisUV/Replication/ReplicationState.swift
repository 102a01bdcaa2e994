/// The replication data model shared by both sides (Redis's server.replid, replid2,
/// master_repl_offset, second_replid_offset, repl_backlog, slaves, master, masterhost...).
/// Behaviour lives beside it:
/// - Propagation.swift: what a command propagates (Redis's call/alsoPropagate/propagatePendingCommands).
/// - MasterSide.swift: the feed into the backlog and replica buffers, REPLCONF, PSYNC/SYNC,
///   full and partial resync, WAIT, INFO replication, ROLE.
/// - ReplicaSide.swift: REPLICAOF, the link to the master, the handshake, loading the
///   transferred RDB, applying the stream through the ordinary engine, ACKs.
final class ReplicationState {
    /// This server's replication history id (40 hex chars) and the previous one, with the
    /// offset up to which the previous one is valid (PSYNC2).
    var replid: [UInt8]
    var replid2: [UInt8] = Array(repeating: UInt8(ascii: "0"), count: 40)
    var secondReplOffset: Int64 = -1
    /// Bytes of replication stream produced (or, on a replica, received and applied).
    var masterReplOffset: Int64 = 0
    /// The ring of the last repl-backlog-size bytes of the stream; nil until a replica
    /// first connects (and again after repl-backlog-ttl without replicas).
    var backlog: ReplicationBacklog? { didSet { feedsStream = backlog != nil || !replicas.isEmpty } }
    /// A backlog or a replica exists (kept by the two properties' observers): the one
    /// load commands check before building what they propagate (Server.isPropagating).
    private(set) var feedsStream = false
    /// The database the last propagated command ran in; -1 forces a SELECT first.
    var lastSelectedDb = -1
    /// Replica clients attached to this server, in attach order (Redis's server.slaves).
    var replicas: [Client] = [] { didSet { feedsStream = backlog != nil || !replicas.isEmpty } }
    /// When the last replica went away (Unix seconds), for repl-backlog-ttl.
    var noReplicasSince: Int64 = 0

    /// Non-nil while this server is a replica (Redis's server.masterhost != NULL).
    var master: MasterLinkState?

    // INFO stats
    var syncFull = 0
    var syncPartialOK = 0
    var syncPartialErr = 0

    // Master side (MasterSide.swift)
    /// Online replicas whose last ACK is at most min-replicas-max-lag old, as last counted
    /// (Redis's repl_good_slaves_count, refreshed by the cron and when replicas come and go).
    var goodReplicasCount = 0
    /// A WAIT blocked: send REPLCONF GETACK to the replicas before sleeping
    /// (Redis's get_ack_from_slaves).
    var getAckRequested = false
    /// Clients blocked in WAIT, newest first as Redis's clients_waiting_acks.
    var waitingAcks: [WaitingAck] = []
    /// What the running RDB child (if any) writes to: a file, or replica sockets through
    /// a pipe (Redis's rdb_child_type).
    var rdbChildType: RDBChildType = .none
    /// The diskless transfer in progress (rdbSaveToSlavesSockets's pipe and connections).
    var diskless: DisklessTransfer? = nil
    /// replicationCron runs once a second (Redis: run_with_period(1000)); counts its runs.
    var cronLoops = 0
    var lastCronMs: Int64 = 0
    /// On a replica: the database its master's stream is in, for the RDB's repl-stream-db
    /// (rdbPopulateSaveInfo: server.master->db->id); maintained by ReplicaSide.
    var replicaStreamDb: Int? = nil

    /// Scratch for encoding one propagated command (reused: no allocation per write).
    var encodeBuffer = ByteBuffer(capacity: 4096)

    /// Something for beforeSleep to do (one check on the hot path).
    @inline(__always) var needsBeforeSleep: Bool {
        getAckRequested || !waitingAcks.isEmpty
    }

    init() {
        replid = ReplicationState.randomReplid()
        // Redis's repl_no_slaves_since starts at start-up: a backlog kept by a former
        // replica is not freed at once.
        noReplicasSince = wallClockMs() / 1000
    }

    deinit { encodeBuffer.release() }

    static func randomReplid() -> [UInt8] {
        let hex = Array("0123456789abcdef".utf8)
        return (0..<40).map { _ in hex[Int.random(in: 0..<16)] }
    }

    /// Starts a new history (Redis's changeReplicationId), keeping nothing of the old one.
    func changeReplid() { replid = ReplicationState.randomReplid() }

    /// Keeps the current history as the secondary one, valid up to the current offset
    /// (Redis's shiftReplicationId, on promotion): replicas of the old master can still
    /// continue from it.
    func shiftReplid() {
        replid2 = replid
        secondReplOffset = masterReplOffset + 1
        changeReplid()
    }

    func clearReplid2() {
        replid2 = Array(repeating: UInt8(ascii: "0"), count: 40)
        secondReplOffset = -1
    }
}

/// The link to our master while we are a replica (Redis's masterhost/masterport,
/// repl_state, server.master / cached_master). The state machine of the handshake is
/// ReplicaHandshake (pure); this holds what the server shows and resumes from.
final class MasterLinkState {
    var host: String
    var port: Int
    /// Redis's repl_state, as INFO and ROLE name it: "connect", "connecting", "sync",
    /// "connected" (and the handshake steps while it runs).
    var linkUp = false
    /// Unix seconds of the last byte from the master (master_last_io_seconds_ago).
    var lastIOTime: Int64 = 0
    /// Unix seconds since the link went down (master_link_down_since_seconds).
    var linkDownSince: Int64 = 0
    var syncInProgress = false
    /// Full sync transfer progress (master_sync_total_bytes / read_bytes / last_io).
    var syncTotalBytes: Int64 = -1
    var syncReadBytes: Int64 = 0
    var syncLastIOTime: Int64 = 0
    /// Bytes of the master's stream read and applied (slave_read_repl_offset / slave_repl_offset).
    var readReplOffset: Int64 = 0
    var appliedReplOffset: Int64 = 0
    /// The master's replid as last known, and whether a cached history exists to PSYNC with.
    var masterReplid: [UInt8]? = nil

    // Replica side (ReplicaSide.swift).
    /// The connection attempt, handshake or synced link; nil while waiting for the cron to
    /// (re)connect (Redis's REPL_STATE_CONNECT).
    var link: ReplicaLink?
    /// The synced link's client (flag `.master`), Redis's server.master.
    var masterClient: Client? { link?.client.flatMap { $0.flags.contains(.master) ? $0 : nil } }
    /// The database the cached master's stream was in (Redis's cached_master->db).
    var cachedDb = 0
    /// Set while a command from the master runs: it sees logically expired keys.
    var executing = false
    /// REPLCONF GETACK arrived while its command ran: the ACK goes out after the command's
    /// (suppressed) reply.
    var ackRequested = false
    /// Bytes of the master's stream applied inside a MULTI not yet EXECuted: the offset
    /// advances, and they are forwarded, only with the EXEC (Redis's commandProcessed).
    var pendingApplied: [UInt8] = []
    /// A received RDB waiting to be loaded outside the loop's callbacks.
    var pendingLoad: ReplicaLink?
    /// When replicaCron last ran (once a second, as Redis's replicationCron).
    var lastCronMs: Int64 = 0

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// A ring of the last `capacity` bytes of the replication stream (Redis's repl_backlog).
/// `offset` is the stream offset of the first byte held (repl_backlog_first_byte_offset).
final class ReplicationBacklog {
    private(set) var capacity: Int
    private var storage: UnsafeMutablePointer<UInt8>
    /// Next write position in the ring.
    private var writeIndex = 0
    /// Bytes held (repl_backlog_histlen), at most capacity.
    private(set) var histlen = 0
    /// Stream offset of the first byte held.
    private(set) var firstByteOffset: Int64

    /// A new backlog for a stream whose next byte has offset `nextOffset`
    /// (Redis: repl_backlog->offset = master_repl_offset + 1).
    init(capacity: Int, nextOffset: Int64) {
        self.capacity = Swift.max(capacity, 16 * 1024)
        storage = .allocate(capacity: self.capacity)
        firstByteOffset = nextOffset
    }

    deinit { storage.deallocate() }

    func append(_ bytes: UnsafeRawBufferPointer) {
        var src = bytes.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) }
        var n = bytes.count
        guard src != nil else { return }
        if n > capacity {
            // Only the last `capacity` bytes can be held.
            let skip = n - capacity
            src = src! + skip
            firstByteOffset += Int64(histlen + skip)
            histlen = 0
            n = capacity
        }
        while n > 0 {
            let chunk = Swift.min(n, capacity - writeIndex)
            (storage + writeIndex).update(from: src!, count: chunk)
            writeIndex = (writeIndex + chunk) % capacity
            src = src! + chunk
            n -= chunk
            histlen += chunk
        }
        if histlen > capacity {
            firstByteOffset += Int64(histlen - capacity)
            histlen = capacity
        }
    }

    func append(_ bytes: [UInt8]) { bytes.withUnsafeBytes { append($0) } }

    /// Whether a replica that has everything up to `offset - 1` can continue from here
    /// (Redis's masterTryPartialResynchronization range check).
    func holds(from offset: Int64) -> Bool {
        offset >= firstByteOffset && offset <= firstByteOffset + Int64(histlen)
    }

    /// The bytes from stream offset `offset` to the end (what a partial resync sends).
    func bytes(from offset: Int64) -> [UInt8] {
        precondition(holds(from: offset))
        let skip = Int(offset - firstByteOffset)
        let count = histlen - skip
        var out = [UInt8](repeating: 0, count: count)
        let start = (writeIndex - histlen + skip + 2 * capacity) % capacity
        let first = Swift.min(count, capacity - start)
        out.withUnsafeMutableBufferPointer { o in
            o.baseAddress!.update(from: storage + start, count: first)
            if count > first { (o.baseAddress! + first).update(from: storage, count: count - first) }
        }
        return out
    }

    /// CONFIG SET repl-backlog-size (Redis's resizeReplicationBacklog): the newest
    /// min(histlen, new capacity) bytes are kept, so replicas can still continue.
    func resize(_ newCapacity: Int) {
        let newCap = Swift.max(newCapacity, 16 * 1024)
        if newCap == capacity { return }
        let keep = Swift.min(histlen, newCap)
        let from = firstByteOffset + Int64(histlen - keep)
        let kept = bytes(from: from)
        storage.deallocate()
        capacity = newCap
        storage = .allocate(capacity: capacity)
        writeIndex = 0
        histlen = 0
        firstByteOffset = from
        append(kept)
    }
}

/// What the master keeps about one attached replica (the slave fields of Redis's client).
final class ReplicaClientState {
    /// Redis's replstate: waiting for a save to start or end, sending the RDB, online.
    enum Phase { case waitBgsaveStart, waitBgsaveEnd, sendBulk, online }
    var phase: Phase = .waitBgsaveStart
    /// The phase as INFO's state= and the shutdown log name it (Redis's replstateToString).
    var stateName: String {
        switch phase {
        case .waitBgsaveStart, .waitBgsaveEnd: return "wait_bgsave"
        case .sendBulk: return "send_bulk"
        case .online: return rdbOnly ? "rdb_transmitted" : "online"
        }
    }
    /// REPLCONF listening-port / ip-address (shown in INFO as port= and ip=).
    var listeningPort = 0
    var announcedIP: String? = nil
    /// REPLCONF capa eof / capa psync2.
    var capaEOF = false
    var capaPSYNC2 = false
    /// Last REPLCONF ACK offset and when it came (Unix ms), for WAIT, lag= and repl-timeout.
    var ackOffset: Int64 = 0
    var ackTimeMs: Int64 = 0
    /// The stream offset at which this replica's data starts (psync_initial_offset).
    var initialOffset: Int64 = 0
    /// Stream bytes produced while the replica waits for its RDB: sent once the RDB is.
    var pendingStream = ByteBuffer()
    /// Diskless: the RDB went out; the stream starts at the replica's first ACK
    /// (Redis's repl_start_cmd_stream_on_ack). Stream bytes wait in pendingStream until then.
    var startStreamOnAck = false
    /// Legacy SYNC (Redis's CLIENT_PRE_PSYNC): no +FULLRESYNC line, no ACKs expected.
    var prePSYNC = false
    /// REPLCONF rdb-only 1: the replica wants the RDB only, no stream (CLIENT_REPL_RDBONLY).
    var rdbOnly = false
    /// REPLCONF rdb-filter-only (Redis's slave_req): what its RDB leaves out. Replicas
    /// share an RDB only with equal requirements.
    var requirements = 0
    static let excludeDataReq = 1
    static let excludeFunctionsReq = 2
    var excludeData: Bool { requirements & ReplicaClientState.excludeDataReq != 0 }
    /// When the replica asked for a sync (Unix ms): repl-diskless-sync-delay counts from it.
    var syncRequestedMs: Int64 = 0
    /// Disk-based transfer: the RDB file, the bytes of it sent, its size, the "$<len>" line.
    var dbfd: Int32 = -1
    var dbOffset = 0
    var dbSize = 0
    /// A burst of the file went out without the socket pushing back: the rest follows at
    /// the loop's next turn.
    var bulkResumeScheduled = false
    /// Diskless: when a write to this replica last left bytes unsent (Unix ms), or 0
    /// (Redis's repl_last_partial_write, for repl-timeout during the transfer).
    var lastPartialWriteMs: Int64 = 0

    deinit { pendingStream.release() }
}

/// A client blocked in WAIT (Redis's bpop.reploffset / numreplicas).
struct WaitingAck {
    let client: Client
    let state: BlockState
    let offset: Int64
    let numReplicas: Int
}

/// Redis's rdb_child_type.
enum RDBChildType { case none, disk, socket }
