/// REPLCONF, PSYNC, SYNC and WAIT (Redis's replconfCommand, syncCommand, waitCommand);
/// what they set in motion is in MasterSide.swift.
enum MasterCommands {
    static let table: [CommandImpl] = [
        CommandImpl("replconf", replconf),
        CommandImpl("psync", psync),
        CommandImpl("sync", sync),
        CommandImpl("wait", wait),
    ]

    /// REPLCONF <option> <value> [<option> <value> ...]: +OK once all are taken; ACK and
    /// GETACK answer nothing.
    static func replconf(_ c: Client, _ argv: Argv) {
        if argv.count % 2 == 0 {
            c.addReplyErrorSyntax()
            return
        }
        let server = c.server
        var j = 1
        while j < argv.count {
            if argv.equals(j, "listening-port") {
                guard let port = c.intArgOrReply(argv, j + 1) else { return }
                server.replicaStateCreating(c).listeningPort = port
            } else if argv.equals(j, "ip-address") {
                let addr = argv[j + 1]
                if addr.count >= 256 {  // NET_HOST_STR_LEN
                    c.addReplyError("REPLCONF ip-address provided by replica instance is too long: \(addr.count) bytes")
                    return
                }
                server.replicaStateCreating(c).announcedIP = argv.string(j + 1)
            } else if argv.equals(j, "capa") {
                // Capabilities this master does not know are ignored.
                if argv.equals(j + 1, "eof") {
                    server.replicaStateCreating(c).capaEOF = true
                } else if argv.equals(j + 1, "psync2") {
                    server.replicaStateCreating(c).capaPSYNC2 = true
                }
            } else if argv.equals(j, "ack") {
                // How much of the stream the replica processed. Only from a replica; no reply.
                guard c.flags.contains(.replica), let rs = c.replicaState,
                      let offset = parseStrictInt(argv[j + 1]) else { return }
                if Int64(offset) > rs.ackOffset { rs.ackOffset = Int64(offset) }
                rs.ackTimeMs = server.cachedTimeMs
                // The ACK may come before the cron noticed the diskless child is done.
                if server.hasActiveChild && server.repl.rdbChildType == .socket && rs.phase == .waitBgsaveEnd {
                    server.checkChildDone()
                }
                if rs.startStreamOnAck && rs.phase == .online { server.replicaStartCommandStream(c) }
                return
            } else if argv.equals(j, "getack") {
                // Our master asks for an ACK now (the replica side answers it).
                if server.repl.master != nil { server.replicationSendAck() }
                return
            } else if argv.equals(j, "rdb-only") {
                guard let v = parseStrictInt(argv[j + 1]) else {
                    c.addReplyErrorNotInteger()
                    return
                }
                guard v == 0 || v == 1 else {
                    c.addReplyError("value is out of range, value must between 0 and 1")
                    return
                }
                server.replicaStateCreating(c).rdbOnly = v == 1
            } else if argv.equals(j, "rdb-filter-only") {
                var req = ReplicaClientState.excludeDataReq | ReplicaClientState.excludeFunctionsReq
                for word in argv.string(j + 1).split(separator: " ", omittingEmptySubsequences: true) {
                    if word.lowercased() == "functions" {
                        req &= ~ReplicaClientState.excludeFunctionsReq
                    } else {
                        c.addReplyError("Unsupported rdb-filter-only option: \(word)")
                        return
                    }
                }
                server.replicaStateCreating(c).requirements = req
            } else {
                c.addReplyError("Unrecognized REPLCONF option: \(argv.string(j))")
                return
            }
            j += 2
        }
        c.addReplyOK()
    }

    /// PSYNC <replid> <offset>: +CONTINUE and the missing bytes, or +FULLRESYNC and an RDB.
    static func psync(_ c: Client, _ argv: Argv) {
        c.server.syncCommand(c, argv, psync: true)
    }

    /// SYNC: the pre-PSYNC protocol (the RDB, then the stream).
    static func sync(_ c: Client, _ argv: Argv) {
        c.server.syncCommand(c, argv, psync: false)
    }

    /// WAIT numreplicas timeout: how many replicas acknowledged this client's last write,
    /// once enough did or the timeout (ms, 0 = forever) passed.
    static func wait(_ c: Client, _ argv: Argv) {
        let server = c.server
        if server.repl.master != nil {
            c.addReplyError("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
            return
        }
        guard let numReplicas = c.intArgOrReply(argv, 1) else { return }
        guard let timeout = parseStrictInt(argv[2]) else {
            c.addReplyError("timeout is not an integer or out of range")
            return
        }
        if timeout < 0 {
            c.addReplyError("timeout is negative")
            return
        }
        var deadline: Int64 = 0
        if timeout > 0 {
            let (d, overflow) = Int64(timeout).addingReportingOverflow(server.cachedTimeMs)
            deadline = overflow ? 0 : d
        }
        let offset = c.woff
        let acked = server.replicationCountAcks(byOffset: offset)
        if acked >= numReplicas || c.flags.contains(.denyBlocking) {
            c.addReplyInt(acked)
            return
        }
        server.blockForReplicaAcks(c, argv, offset: offset, numReplicas: numReplicas, deadlineMs: deadline)
    }
}
