/// The one place writes leave for replicas (and, later, the AOF): Redis 7.0's
/// call() → alsoPropagate() → propagatePendingCommands() → propagateNow().
///
/// After a command runs, if it changed the dataset (`dirty` moved) or asked to be
/// propagated, its effect is queued: its own arguments, or the vector it rewrote itself to
/// (`propagateInstead`, Redis's rewriteClientCommandVector: SET EX → SET PXAT, BLPOP →
/// LPOP...), plus whatever it added (`alsoPropagate`: lazily expired keys' DELs, SPOP's
/// SREMs...). When the outermost call ends the queue goes out, wrapped in MULTI/EXEC
/// when it holds more than one command, and each command is fed to the stream
/// (Replication/MasterSide.swift) and to the observers.
struct PropagatedCommand {
    let dbid: Int
    let argv: [[UInt8]]
    /// For replicas only, not the AOF (PUBLISH: Redis's forceCommandPropagation with
    /// PROPAGATE_REPL alone); observers do not see it.
    var replOnly = false
}

final class PropagationState {
    /// Redis's server.also_propagate: what the running (outermost) call will propagate.
    var pending: [PropagatedCommand] = []
    /// The running command asked to propagate this instead of its arguments.
    var instead: [[UInt8]]? = nil
    /// The running command must not propagate its arguments (preventCommandPropagation);
    /// what it added with alsoPropagate still goes.
    var prevent = false
    /// The running command propagates even without changing data (forceCommandPropagation:
    /// PUBLISH, FLUSHDB of an empty database).
    var force = false
    /// The force is for replicas only (PUBLISH).
    var forceReplOnly = false
    /// Called with every command that leaves (after SELECT/MULTI injection is decided):
    /// tests, and the AOF feed. Non-nil makes the server propagate even without replicas.
    var observers: [(Int, [[UInt8]]) -> Void] = [] { didSet { observed = !observers.isEmpty } }
    /// `observers` is not empty (a Bool to load on the hot path instead of an array).
    private(set) var observed = false
    /// Commands go to the AOF too (Persistence/AOF.swift).
    var aofFeeding = false
}

extension Server {
    /// Whether anything consumes the stream: a backlog (replicas now or recently), a
    /// replica, or an observer. Commands check this before building a rewritten vector.
    @inline(__always) var isPropagating: Bool {
        repl.feedsStream || propagation.observed || propagation.aofFeeding
    }

    /// Propagate `argv` instead of the running command's arguments (Redis's
    /// rewriteClientCommandVector). Only has effect if the command changed data (or forced).
    func propagateInstead(_ argv: [[UInt8]]) {
        propagation.instead = argv
        propagationRequested = true
    }

    /// The running command's arguments are not propagated (preventCommandPropagation).
    func preventPropagation() {
        propagation.prevent = true
        propagationRequested = true
    }

    /// Propagate the running command even if it changed nothing (forceCommandPropagation);
    /// `replicasOnly`: to replicas, not the AOF (PUBLISH).
    func forcePropagation(replicasOnly: Bool = false) {
        propagation.force = true
        propagation.forceReplOnly = replicasOnly
        propagationRequested = true
    }

    /// Queues a command to propagate after the running one's effects (Redis's alsoPropagate).
    /// Outside any command (active expiry, the cron) it goes out at once.
    func alsoPropagate(dbid: Int, _ argv: [[UInt8]]) {
        guard isPropagating else { return }
        propagation.pending.append(PropagatedCommand(dbid: dbid, argv: argv))
        if callDepth == 0 {
            propagatePendingCommands()
        } else {
            propagationRequested = true
        }
    }

    /// A key deleted by the server itself (expired, evicted): DEL, or UNLINK when that
    /// kind of deletion is lazy (Redis's propagateDeletion).
    func propagateDeletion(dbid: Int, _ key: UnsafeRawBufferPointer, lazy: Bool) {
        alsoPropagate(dbid: dbid, [lazy ? Array("UNLINK".utf8) : Array("DEL".utf8), Array(key)])
    }

    /// `call`'s tail when the command changed data or asked for something: queue what it
    /// propagates, and at the outermost level send the queue.
    @inline(never)
    func propagateAfterCall(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, dirtied: Bool) {
        // A write with nothing asked and nobody consuming the stream (no replica, no
        // backlog, no AOF): nothing was set aside, nothing to send.
        if !propagationRequested && !isPropagating { return }
        let p = propagation
        let instead = p.instead, prevent = p.prevent, force = p.force, replOnly = p.forceReplOnly && !dirtied
        p.instead = nil
        p.prevent = false
        p.force = false
        p.forceReplOnly = false
        propagationRequested = false
        // EXEC propagates its commands, not itself; the link to our master is not
        // propagated by command (its raw stream is proxied instead, ReplicaSide).
        if (dirtied || force) && !prevent && !cmd.propagatesItsBody && !c.flags.contains(.master) && isPropagating {
            if instead == nil && callDepth == 0 && p.pending.isEmpty && p.observers.isEmpty {
                // The common case, one command as it came: encoded straight from its
                // argument views, nothing allocated.
                replicationFeedReplicas(dbid: c.db.id, argv)
                if p.aofFeeding { feedAppendOnlyFile(dbid: c.db.id, argv) }
                c.woff = repl.masterReplOffset
                return
            }
            let vector = instead ?? (0..<argv.count).map { Array(argv[$0]) }
            p.pending.append(PropagatedCommand(dbid: c.db.id, argv: vector, replOnly: replOnly))
        } else if c.flags.contains(.master) && p.aofFeeding && (dirtied || force) && !prevent && !cmd.propagatesItsBody {
            // A replica's AOF gets what its master's stream applied (Redis propagates the
            // master client's commands to the AOF only).
            if let instead { feedAppendOnlyFile(dbid: c.db.id, instead) } else { feedAppendOnlyFile(dbid: c.db.id, argv) }
        }
        // A command that may touch arbitrary keys (SCAN, RANDOMKEY reclaiming expired keys),
        // run directly, sends its effects without a transaction, as active expiry does.
        if callDepth == 0 && !p.pending.isEmpty {
            propagatePendingCommands(transaction: !cmd.flags.contains(.touchesArbitraryKeys))
            // WAIT waits for the offset right after the client's last write (Redis's c->woff).
            c.woff = repl.masterReplOffset
        }
        // A nested call (inside EXEC) leaves its effects queued: the enclosing call must
        // still take this path to send them, even if it changed nothing itself.
        propagationRequested = !p.pending.isEmpty
    }

    /// Sends the queue (Redis 7.0's propagatePendingCommands): one command as it is,
    /// several inside MULTI/EXEC so a replica applies them atomically.
    func propagatePendingCommands(transaction: Bool = true) {
        let p = propagation
        if p.pending.isEmpty { return }
        let ops = p.pending
        p.pending.removeAll(keepingCapacity: true)
        let wrap = ops.count > 1 && transaction
        if wrap { propagateNow(dbid: ops[0].dbid, [Array("MULTI".utf8)]) }
        for op in ops { propagateNow(dbid: op.dbid, op.argv, replOnly: op.replOnly) }
        if wrap { propagateNow(dbid: ops[ops.count - 1].dbid, [Array("EXEC".utf8)]) }
    }

    /// One command out to every consumer (Redis's propagateNow).
    private func propagateNow(dbid: Int, _ argv: [[UInt8]], replOnly: Bool = false) {
        if !replOnly {
            for o in propagation.observers { o(dbid, argv) }
            if propagation.aofFeeding { feedAppendOnlyFile(dbid: dbid, argv) }
        }
        replicationFeedReplicas(dbid: dbid, argv)
    }

    /// Appends one command, RESP-encoded, to the replication stream: the backlog and every
    /// replica past the snapshot point, with a SELECT first when the database changes
    /// (Redis's replicationFeedSlaves). A replica does not feed from commands: it proxies
    /// its master's stream (replicationFeedStreamFromMaster).
    func replicationFeedReplicas(dbid: Int, _ argv: [[UInt8]]) {
        feedCommand(dbid: dbid, argc: argv.count) { buf in
            for a in argv { a.withUnsafeBytes { Self.encodeBulk($0, into: &buf) } }
        }
    }

    /// The same from a command's argument views (no copies).
    func replicationFeedReplicas(dbid: Int, _ argv: Argv) {
        feedCommand(dbid: dbid, argc: argv.count) { buf in
            for i in 0..<argv.count { Self.encodeBulk(argv[i], into: &buf) }
        }
    }

    /// Encodes one command (SELECT first if the database changed) into the reused buffer
    /// and feeds it; `appendArguments` writes the `argc` bulk strings.
    @inline(__always)
    private func feedCommand(dbid: Int, argc: Int, appendArguments: (inout ByteBuffer) -> Void) {
        let r = repl
        if r.master != nil { return }
        if r.backlog == nil && r.replicas.isEmpty { return }
        var buf = r.encodeBuffer
        buf.count = 0
        if r.lastSelectedDb != dbid { Self.encodeSelect(dbid, into: &buf); r.lastSelectedDb = dbid }
        buf.append(byte: UInt8(ascii: "*"))
        buf.appendDecimal(argc)
        buf.append("\r\n")
        appendArguments(&buf)
        r.encodeBuffer = buf
        feedReplicationStream(buf.bytes)
        r.encodeBuffer.count = 0
        r.encodeBuffer.trim(ifCapacityOver: 1 << 20, keep: 4096)
    }

    @inline(__always)
    static func encodeBulk(_ a: UnsafeRawBufferPointer, into buf: inout ByteBuffer) {
        buf.append(byte: UInt8(ascii: "$"))
        buf.appendDecimal(a.count)
        buf.append("\r\n")
        buf.append(a)
        buf.append("\r\n")
    }

    static func encodeSelect(_ dbid: Int, into buf: inout ByteBuffer) {
        let db = String(dbid)
        buf.append("*2\r\n$6\r\nSELECT\r\n$")
        buf.appendDecimal(db.utf8.count)
        buf.append("\r\n")
        buf.append(db)
        buf.append("\r\n")
    }

    /// Stream bytes (already RESP) into the backlog and the replicas' buffers, advancing
    /// the offset: the one sink both command propagation and a replica's proxying use.
    func feedReplicationStream(_ bytes: UnsafeRawBufferPointer) {
        let r = repl
        r.backlog?.append(bytes)
        r.masterReplOffset += Int64(bytes.count)
        for c in r.replicas {
            guard let rs = c.replicaState, !rs.rdbOnly else { continue }
            switch rs.phase {
            case .waitBgsaveStart:
                continue  // its snapshot is not taken yet: this is in it
            case .waitBgsaveEnd, .sendBulk:
                rs.pendingStream.append(bytes)
                checkOutputLimits(c)
            case .online:
                if rs.startStreamOnAck {
                    rs.pendingStream.append(bytes)
                } else {
                    c.out.append(bytes)
                }
                scheduleWrite(c)
                checkOutputLimits(c)
            }
        }
    }
}

/// Building propagated vectors (only ever when `isPropagating`).
@inline(never) func propWord(_ s: StaticString) -> [UInt8] {
    Array(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
}

@inline(never) func propInt<T: BinaryInteger>(_ v: T) -> [UInt8] { Array(String(v).utf8) }
