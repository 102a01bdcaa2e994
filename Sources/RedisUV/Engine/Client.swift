/// Per-connection state (Redis's `client` struct): who it is, where its input stands,
/// what it has been sent. The transport (Connection, in LibUV/) is separate: a Client with
/// no connection is what unit tests drive.
final class Client {
    struct Flags: OptionSet {
        let rawValue: UInt32
        /// Close once everything queued is written (QUIT, protocol errors).
        static let closeAfterReply = Flags(rawValue: 1 << 0)
        /// Close at the next opportunity, dropping unwritten replies (CLIENT KILL, limits).
        static let closeASAP = Flags(rawValue: 1 << 1)
        /// Already on the server's list of clients with replies to flush.
        static let pendingWrite = Flags(rawValue: 1 << 2)
        /// Input processing paused until the reply backlog drains (slow reader).
        static let inputPaused = Flags(rawValue: 1 << 3)
        static let noEvict = Flags(rawValue: 1 << 4)
        static let closed = Flags(rawValue: 1 << 5)
        /// The client may not block (Redis's CLIENT_DENY_BLOCKING): set while EXEC runs
        /// its queued commands, so BLPOP, XREAD BLOCK... answer as if they timed out.
        static let denyBlocking = Flags(rawValue: 1 << 6)
        /// The link to our master (Redis's CLIENT_MASTER): its commands run with replies
        /// suppressed, are not propagated, and advance the replication offset.
        static let master = Flags(rawValue: 1 << 7)
        /// A replica attached to us (Redis's CLIENT_SLAVE): it is fed the replication stream.
        static let replica = Flags(rawValue: 1 << 8)
        /// Connected over the Unix-domain socket (Redis's CLIENT_UNIX_SOCKET): CLIENT
        /// LIST's 'U' flag, always "local" for protected mode and protected configs.
        static let unixSocket = Flags(rawValue: 1 << 9)
        /// In MONITOR mode (Redis's CLIENT_MONITOR): fed every command, kept off the keyspace.
        static let monitor = Flags(rawValue: 1 << 10)
        /// The scripting engine's client (Redis's CLIENT_SCRIPT): "lua" in MONITOR lines.
        static let script = Flags(rawValue: 1 << 11)
    }

    let id: Int
    unowned(unsafe) let server: Server
    /// The transport, nil for clients that only exist in tests.
    unowned(unsafe) var connection: Connection?

    var db: Database
    /// 2 or 3 (HELLO).
    var resp: Int = 2
    var name: [UInt8]? = nil
    var authenticated: Bool
    /// The ACL user this connection runs as (ACL/ACLUser.swift).
    var user: ACLUser
    var flags: Flags = []
    /// CLIENT REPLY state.
    var replyOff = false
    var replySkip = false
    var replySkipNext = false
    /// SCRIPT DEBUG YES|SYNC: the next EVAL runs in the Lua debugger (Scripting/LuaDebugger.swift).
    var luaDebugMode: LuaDebugMode = .off
    /// Bytes of the input batch being executed (CLIENT LIST qbuf while it runs).
    var inputBatchBytes = 0

    // Input
    var query = ByteBuffer()
    var parser = RequestParser()
    /// The current command's argument views (reused; grown as needed).
    var argvBuffer = UnsafeMutablePointer<UnsafeRawBufferPointer>.allocate(capacity: 16)
    var argvCapacity = 16

    /// Set while parked by a blocking command (Engine/Blocking.swift).
    var blocked: BlockState?
    /// A command postponed by a client pause, to run (through every gate) before the
    /// client's next input once the pause ended (Redis's CLIENT_PENDING_COMMAND).
    var postponedCommand: OwnedArgv?
    /// While a parked command is re-executed: its original deadline, kept if it blocks again.
    var reprocessingDeadline: Int64?

    // Output
    var out = ByteBuffer()
    /// When the output first reached the soft limit (Unix seconds, as Redis), or 0.
    var softLimitReachedAt: Int64 = 0

    // Bookkeeping for CLIENT LIST / INFO
    let createdAt: Int64          // ms
    var lastInteraction: Int64    // ms
    /// The last command looked up (CLIENT LIST cmd=, error texts); commands live as long
    /// as the server, so no reference counting on the hot path.
    unowned(unsafe) var lastCommand: RedisCommand? = nil
    var lastCommandName: String { lastCommand?.fullName ?? "NULL" }
    var peerAddress: String = ""
    var localAddress: String = ""
    var fd: Int32 = -1
    var totalNetInput = 0
    var totalNetOutput = 0

    init(id: Int, server: Server, db: Database, user: ACLUser, authenticated: Bool, now: Int64) {
        self.id = id
        self.user = user
        self.server = server
        self.db = db
        self.authenticated = authenticated
        self.createdAt = now
        self.lastInteraction = now
    }

    deinit {
        query.release()
        argvBuffer.deallocate()
        out.release()
    }

    // MARK: MULTI/EXEC/WATCH (Engine/Multi.swift)
    /// The transaction being queued; non-nil between MULTI and EXEC/DISCARD (Redis's
    /// CLIENT_MULTI).
    var mstate: MultiState? = nil
    /// A watched key was touched: the next EXEC fails (Redis's CLIENT_DIRTY_CAS).
    var dirtyCAS = false
    /// The keys this client watches (Redis's c->watched_keys).
    var watchedKeys: [WatchedKey] = []
    // Pub/Sub (Engine/PubSub.swift)
    /// This client's subscriptions; non-nil exactly while Redis would set CLIENT_PUBSUB.
    var pubsub: ClientPubSub? = nil
    // Replication (Replication/)
    /// Set while this client is a replica of ours (flag `.replica`).
    var replicaState: ReplicaClientState? = nil
    /// The replication offset right after this client's last propagated write: what WAIT
    /// waits for (Redis's c->woff).
    var woff: Int64 = 0

    /// Bytes waiting to be written: buffered here plus handed to the transport.
    @inline(__always) var pendingOutputBytes: Int { out.count &+ outputInFlight }
    /// Bytes the transport is still writing (kept up to date by Connection).
    var outputInFlight = 0
}
