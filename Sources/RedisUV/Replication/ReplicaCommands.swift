/// REPLICAOF / SLAVEOF and ROLE (Redis 7.0's replicaofCommand and roleCommand), and the
/// gates a replica puts in front of every command.
enum ReplicaCommands {
    static let table: [CommandImpl] = [
        CommandImpl("replicaof", replicaof),
        CommandImpl("slaveof", replicaof),
        CommandImpl("role", role),
    ]

    /// REPLICAOF host port | NO ONE.
    static func replicaof(_ c: Client, _ argv: Argv) {
        let s = c.server
        if argv.equals(1, "no") && argv.equals(2, "one") {
            if s.repl.master != nil {
                s.replicationUnsetMaster()
                s.log.notice("MASTER MODE enabled (user request from '\(c.infoLine(executing: argv))')")
            }
            c.addReplyOK()
            return
        }
        if c.flags.contains(.replica) {
            c.addReplyError("Command is not valid when client is a replica.")
            return
        }
        guard let port = parseStrictInt(argv[2]), (0...65535).contains(port) else {
            c.addReplyError("Invalid master port")
            return
        }
        let host = argv.string(1)
        if let m = s.repl.master, m.host.lowercased() == host.lowercased(), m.port == port {
            s.log.notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.")
            c.addReplyStatus("OK Already connected to specified master")
            return
        }
        s.replicationSetMaster(host: host, port: port)
        s.log.notice("REPLICAOF \(host):\(port) enabled (user request from '\(c.infoLine(executing: argv))')")
        c.addReplyOK()
    }

    /// ROLE: ["master", offset, [[ip, port, offset], ...]] (online replicas only, port and
    /// offset as bulk strings) or ["slave", host, port, state, offset].
    static func role(_ c: Client, _ argv: Argv) {
        let s = c.server
        if let m = s.repl.master {
            c.addReplyArrayLen(5)
            c.addReplyBulk("slave")
            c.addReplyBulk(m.host)
            c.addReplyInt(m.port)
            c.addReplyBulk(m.link?.roleState ?? "connect")
            c.addReplyInt(m.masterClient != nil ? Int(m.appliedReplOffset) : -1)
            return
        }
        c.addReplyArrayLen(3)
        c.addReplyBulk("master")
        c.addReplyInt(Int(s.repl.masterReplOffset))
        let online = s.repl.replicas.filter { $0.replicaState?.phase == .online }
        c.addReplyArrayLen(online.count)
        for r in online {
            let st = r.replicaState!
            c.addReplyArrayLen(3)
            c.addReplyBulk(st.announcedIP ?? peerIP(r.peerAddress))
            c.addReplyBulk(String(st.listeningPort))
            c.addReplyBulk(String(st.ackOffset))
        }
    }

    /// The IP of an "ip:port" / "[ip6]:port" address (Redis's connPeerToString without port).
    static func peerIP(_ address: String) -> String {
        if address.hasPrefix("["), let close = address.firstIndex(of: "]") {
            return String(address[address.index(after: address.startIndex)..<close])
        }
        if let colon = address.lastIndex(of: ":") { return String(address[..<colon]) }
        return address
    }
}

extension Server {
    /// processCommand's read-only replica gate: `replica-read-only yes` refuses write
    /// commands from everyone but the master (Redis's obey_client).
    func rejectWriteOnReplica(_ c: Client, _ cmd: RedisCommand, flags: CommandFlags) -> Bool {
        guard config.replicaReadOnly && flags.contains(.write) && !c.flags.contains(.master) else { return false }
        rejectCommand(c, cmd, "-READONLY You can't write against a read only replica.")
        return true
    }

    /// `replica-serve-stale-data no`: while the link is not synced only commands flagged
    /// `stale` (INFO, REPLICAOF, PING...) run.
    func rejectStaleOnReplica(_ c: Client, _ cmd: RedisCommand, flags: CommandFlags) -> Bool {
        guard !config.replicaServeStaleData && !flags.contains(.stale) && !masterLinkIsUp else { return false }
        rejectCommand(c, cmd, "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
        return true
    }
}
