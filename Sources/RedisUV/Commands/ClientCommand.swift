/// CLIENT ID | SETNAME | GETNAME | LIST | INFO | KILL | NO-EVICT | REPLY | HELP
/// (Redis 7.0's networking.c clientCommand, one proc per subcommand; the dispatcher has
/// already resolved the subcommand and checked its arity).
enum ClientCommand {
    static let table: [CommandImpl] = [
        CommandImpl("client|id", id),
        CommandImpl("client|setname", setname),
        CommandImpl("client|getname", getname),
        CommandImpl("client|list", list),
        CommandImpl("client|info", info),
        CommandImpl("client|kill", kill),
        CommandImpl("client|no-evict", noEvict),
        CommandImpl("client|reply", reply),
        CommandImpl("client|help", help),
        CommandImpl("client|unblock", unblock),
        CommandImpl("client|pause", pause),
        CommandImpl("client|unpause", unpause),
    ]

    /// Redis's addReplySubcommandSyntaxError, for the subcommands whose table arity is "at
    /// least" but which clientCommand only takes up to a fixed count (UNBLOCK, PAUSE).
    static func subcommandSyntaxError(_ c: Client, _ argv: Argv) {
        c.addReplyError("unknown subcommand or wrong number of arguments for '\(argv.string(1))'. Try CLIENT HELP.")
    }

    static func id(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.id)
    }

    static func setname(_ c: Client, _ argv: Argv) {
        if c.setNameOrReply(argv[2]) { c.addReplyOK() }
    }

    static func getname(_ c: Client, _ argv: Argv) {
        if let name = c.name { c.addReplyBulk(name) } else { c.addReplyNull() }
    }

    /// CLIENT INFO: this connection's CLIENT LIST line.
    static func info(_ c: Client, _ argv: Argv) {
        c.addReplyVerbatim(c.infoLine(executing: argv) + "\n")
    }

    /// CLIENT LIST [TYPE type | ID id [id ...]]: one line per client, in connection order
    /// (or in the order the ids were given, unknown ids skipped).
    static func list(_ c: Client, _ argv: Argv) {
        var text = ""
        if argv.count == 4 && argv.equals(2, "type") {
            guard let type = ClientType(name: argv[3]) else {
                c.addReplyError("Unknown client type '\(argv.string(3))'")
                return
            }
            for other in c.server.clientsInOrder where other.type == type {
                text += other.infoLine(executing: other === c ? argv : nil) + "\n"
            }
        } else if argv.count > 3 && argv.equals(2, "id") {
            var ids: [Int] = []
            for j in 3..<argv.count {
                guard let id = parseStrictInt(argv[j]) else {
                    c.addReplyError("Invalid client ID")
                    return
                }
                ids.append(id)
            }
            for id in ids {
                if let other = c.server.clients[id] {
                    text += other.infoLine(executing: other === c ? argv : nil) + "\n"
                }
            }
        } else if argv.count != 2 {
            c.addReplyErrorSyntax()
            return
        } else {
            for other in c.server.clientsInOrder {
                text += other.infoLine(executing: other === c ? argv : nil) + "\n"
            }
        }
        c.addReplyVerbatim(text)
    }

    // MARK: KILL

    /// What CLIENT KILL's filters select; nil fields match every client.
    struct KillFilter {
        var addr: [UInt8]? = nil
        var laddr: [UInt8]? = nil
        var type: ClientType? = nil
        var id: Int? = nil
        var user: ACLUser? = nil
        var skipMe = true

        func matches(_ other: Client, caller: Client) -> Bool {
            if let addr, Array(other.peerAddress.utf8) != addr { return false }
            if let laddr, Array(other.localAddress.utf8) != laddr { return false }
            if let type, other.type != type { return false }
            if let id, other.id != id { return false }
            if let user, other.user !== user { return false }
            if skipMe && other === caller { return false }
            return true
        }
    }

    /// CLIENT KILL addr (old form: "OK" or "No such client", may kill the caller) or
    /// CLIENT KILL <filter> <value> ... (new form: the number killed; SKIPME defaults to
    /// yes). The caller, when it matches, is closed only after its reply is written.
    static func kill(_ c: Client, _ argv: Argv) {
        var filter = KillFilter()
        if argv.count == 3 {
            filter.addr = argv.bytes(2)
            filter.skipMe = false
        } else if argv.count > 3 {
            var i = 2
            while i < argv.count {
                let moreArgs = argv.count > i + 1
                if argv.equals(i, "id") && moreArgs {
                    guard let id = parseStrictInt(argv[i + 1]), id >= 1 else {
                        c.addReplyError("client-id should be greater than 0")
                        return
                    }
                    filter.id = id
                } else if argv.equals(i, "type") && moreArgs {
                    guard let type = ClientType(name: argv[i + 1]) else {
                        c.addReplyError("Unknown client type '\(argv.string(i + 1))'")
                        return
                    }
                    filter.type = type
                } else if argv.equals(i, "addr") && moreArgs {
                    filter.addr = argv.bytes(i + 1)
                } else if argv.equals(i, "laddr") && moreArgs {
                    filter.laddr = argv.bytes(i + 1)
                } else if argv.equals(i, "user") && moreArgs {
                    guard let u = c.server.acl.user(named: argv[i + 1]) else {
                        c.addReplyError("No such user '\(argv.string(i + 1))'")
                        return
                    }
                    filter.user = u
                } else if argv.equals(i, "skipme") && moreArgs {
                    if argv.equals(i + 1, "yes") {
                        filter.skipMe = true
                    } else if argv.equals(i + 1, "no") {
                        filter.skipMe = false
                    } else {
                        c.addReplyErrorSyntax()
                        return
                    }
                } else {
                    c.addReplyErrorSyntax()
                    return
                }
                i += 2
            }
        } else {
            c.addReplyErrorSyntax()
            return
        }

        var killed = 0
        var closeCaller = false
        for other in c.server.clientsInOrder where filter.matches(other, caller: c) {
            if other === c {
                closeCaller = true
            } else {
                c.server.closeClientNow(other)
            }
            killed += 1
        }
        if argv.count == 3 {
            if killed == 0 { c.addReplyError("No such client") } else { c.addReplyOK() }
        } else {
            c.addReplyInt(killed)
        }
        if closeCaller { c.flags.insert(.closeAfterReply) }
    }

    // MARK: modes

    /// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking command early,
    /// with its timeout reply or an UNBLOCKED error. :1 if it was blocked, else :0.
    static func unblock(_ c: Client, _ argv: Argv) {
        // Redis's clientCommand takes UNBLOCK only with 3 or 4 arguments (the table's arity
        // is -3); more fall through to its subcommand syntax error before any id lookup.
        if argv.count > 4 { return subcommandSyntaxError(c, argv) }
        var asError = false
        if argv.count == 4 {
            if argv.equals(3, "timeout") {
                asError = false
            } else if argv.equals(3, "error") {
                asError = true
            } else {
                c.addReplyError("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
                return
            }
        }
        guard let id = c.intArgOrReply(argv, 2) else { return }
        // (A command postponed by a pause, or a SHUTDOWN waiting, cannot time out.)
        guard let target = c.server.clients[id], let state = target.blocked,
              state.type != .postponed && state.type != .shutdown else {
            c.addReplyInt(0)
            return
        }
        c.server.unblockClient(target)
        if asError {
            target.addReplyError("-UNBLOCKED client unblocked via CLIENT UNBLOCK")
        } else {
            state.timeoutReply(target)
        }
        c.server.resumeAfterUnblock(target)
        c.addReplyInt(1)
    }

    /// CLIENT PAUSE timeout [WRITE|ALL]: postpone clients' commands (all, or those that
    /// may write) for `timeout` ms (Engine/ClientPause.swift).
    static func pause(_ c: Client, _ argv: Argv) {
        if argv.count > 4 { return subcommandSyntaxError(c, argv) }
        var type = ClientPauseType.all
        if argv.count == 4 {
            if argv.equals(3, "write") {
                type = .write
            } else if !argv.equals(3, "all") {
                c.addReplyError("CLIENT PAUSE mode must be WRITE or ALL")
                return
            }
        }
        // getTimeoutFromObjectOrReply in milliseconds: 0 (or a past end) pauses nothing.
        guard let ms = parseStrictInt(argv[2]) else {
            c.addReplyError("timeout is not an integer or out of range")
            return
        }
        if ms < 0 {
            c.addReplyError("timeout is negative")
            return
        }
        let now = c.server.cachedTimeMs
        let end = ms > 0 ? (Int64(ms) > Int64.max - now ? Int64.max : now + Int64(ms)) : 0
        c.server.pauseClients(.clientCommand, endMs: end, type: type)
        c.addReplyOK()
    }

    static func unpause(_ c: Client, _ argv: Argv) {
        c.server.unpauseClients(.clientCommand)
        c.addReplyOK()
    }

    static func noEvict(_ c: Client, _ argv: Argv) {
        if argv.equals(2, "on") {
            c.flags.insert(.noEvict)
        } else if argv.equals(2, "off") {
            c.flags.remove(.noEvict)
        } else {
            c.addReplyErrorSyntax()
            return
        }
        c.addReplyOK()
    }

    /// CLIENT REPLY ON|OFF|SKIP. The dispatcher (Server.call) discards replies while
    /// `replyOff`/`replySkip` are set and turns `replySkipNext` into `replySkip` for the
    /// next command. ON clears both, so its own "+OK" goes out even when it was the command
    /// a SKIP applied to; OFF and SKIP reply nothing; SKIP is ignored while OFF.
    static func reply(_ c: Client, _ argv: Argv) {
        if argv.equals(2, "on") {
            c.replyOff = false
            c.replySkip = false
            c.addReplyOK()
        } else if argv.equals(2, "off") {
            c.replyOff = true
        } else if argv.equals(2, "skip") {
            if !c.replyOff { c.replySkipNext = true }
        } else {
            c.addReplyErrorSyntax()
        }
    }

    /// Redis 7.0.15's text, including the subcommands implemented elsewhere or not yet.
    static let helpLines = [
        "CACHING (YES|NO)",
        "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
        "GETREDIR",
        "    Return the client ID we are redirecting to when tracking is enabled.",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port>",
        "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)",
        "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Kill connections by type.",
        "    * USER <username>",
        "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)",
        "      Skip killing current connection (default: yes).",
        "LIST [options ...]",
        "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
        "      Return clients of specified type.",
        "UNPAUSE",
        "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]",
        "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)",
        "    Control the replies sent to the current connection.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection.",
        "UNBLOCK <clientid> [TIMEOUT|ERROR]",
        "    Unblock the specified blocked client.",
        "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
        "         [OPTIN] [OPTOUT] [NOLOOP]",
        "    Control server assisted client side caching.",
        "TRACKINGINFO",
        "    Report tracking status for the current connection.",
        "NO-EVICT (ON|OFF)",
        "    Protect current client connection from eviction.",
    ]

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: argv.string(0), lines: helpLines)
    }
}

/// Redis's client classes (getClientType), as CLIENT LIST TYPE / CLIENT KILL TYPE name them.
enum ClientType: Equatable {
    case normal, replica, pubsub, master

    /// Redis's getClientTypeByName: case-insensitive, "slave" and "replica" are one class.
    init?(name: UnsafeRawBufferPointer) {
        if bytesEqualIgnoringCase(name, "normal") { self = .normal }
        else if bytesEqualIgnoringCase(name, "slave") || bytesEqualIgnoringCase(name, "replica") { self = .replica }
        else if bytesEqualIgnoringCase(name, "pubsub") { self = .pubsub }
        else if bytesEqualIgnoringCase(name, "master") { self = .master }
        else { return nil }
    }
}

extension Client {
    /// Redis's getClientType: our master, a replica of ours, pubsub while subscribed to
    /// anything, else normal.
    var type: ClientType {
        if flags.contains(.master) { return .master }
        if flags.contains(.replica) { return .replica }
        return pubsub != nil ? .pubsub : .normal
    }

    /// Redis's clientSetNameOrReply: an empty name clears it; otherwise only printable
    /// ASCII without spaces ('!'...'~'), so CLIENT LIST lines stay splittable on spaces.
    func setNameOrReply(_ newName: UnsafeRawBufferPointer) -> Bool {
        if newName.isEmpty {
            name = nil
            return true
        }
        for b in newName where b < 0x21 || b > 0x7E {
            addReplyError("Client names cannot contain spaces, newlines or special characters.")
            return false
        }
        name = Array(newName)
        return true
    }

    /// Redis's CLIENT LIST flags letters, in Redis's order; "N" when none applies.
    var flagLetters: String {
        var s = ""
        if flags.contains(.monitor) { s += "O" }
        if flags.contains(.replica) { s += "S" }
        if flags.contains(.master) { s += "M" }
        if pubsub != nil { s += "P" }
        if mstate != nil { s += "x" }
        if blocked != nil { s += "b" }
        if dirtyCAS { s += "d" }
        if flags.contains(.closeAfterReply) { s += "c" }
        if flags.contains(.closeASAP) { s += "A" }
        if flags.contains(.unixSocket) { s += "U" }
        if flags.contains(.noEvict) { s += "e" }
        return s.isEmpty ? "N" : s
    }

    /// One CLIENT LIST line (Redis 7.0.15's catClientInfoString), same fields in the same
    /// order. `executing` is the argv of the command this client is running (the caller of
    /// CLIENT LIST/INFO): Redis counts its bytes as argv-mem, which is 0 between commands.
    ///
    /// How our buffers map onto Redis's fields: the query buffer is `query` (empty when a
    /// read was parsed in place); the reply buffer is `out` (rbs its capacity, obl and rbp
    /// what it holds — we keep no peak); the blocks handed to libuv and not yet written
    /// play the part of Redis's reply list (oll, omem). Pub/Sub counts and tracking do not
    /// exist yet and show their idle values.
    func infoLine(executing: Argv?) -> String {
        var argvMem = 0
        if let executing {
            for i in 0..<executing.count { argvMem += executing[i].count }
        }
        let inFlightWrites = connection?.writesInFlight ?? 0
        let inFlightBytes = outputInFlight
        var events = ""
        if let conn = connection {
            if conn.reading { events += "r" }
            if conn.writesInFlight > 0 { events += "w" }
        }
        // The memory this client's buffers hold (the Client object itself is not counted).
        let totalMem = query.capacity + out.capacity + argvMem + inFlightBytes + multiMemForInfo
        let now = server.unixTime
        let fields: [String] = [
            "id=\(id)",
            "addr=\(peerAddress)",
            "laddr=\(localAddress)",
            "fd=\(fd)",
            "name=" + (name.map { String(decoding: $0, as: UTF8.self) } ?? ""),
            "age=\(now - createdAt / 1000)",
            "idle=\(now - lastInteraction / 1000)",
            "flags=\(flagLetters)",
            "db=\(db.id)",
            "sub=\(pubsub?.channels.count ?? 0)",
            "psub=\(pubsub?.patterns.count ?? 0)",
            "ssub=\(pubsub?.shardChannels.count ?? 0)",
            "multi=\(multiCountForInfo)",
            "qbuf=\(Swift.max(query.count, inputBatchBytes))",
            "qbuf-free=\(query.capacity - query.count)",
            "argv-mem=\(argvMem)",
            "multi-mem=\(multiMemForInfo)",
            "rbs=\(out.capacity)",
            "rbp=\(out.count)",
            "obl=\(out.count)",
            "oll=\(inFlightWrites)",
            "omem=\(inFlightBytes)",
            "tot-mem=\(totalMem)",
            "events=\(events)",
            "cmd=\(mstate?.execCommand?.fullName ?? lastCommandName)",
            "user=\(user.nameString)",
            "redir=-1",
            "resp=\(resp)",
        ]
        return fields.joined(separator: " ")
    }
}

extension Server {
    /// Closes another client right away (Redis's freeClient from CLIENT KILL): it leaves
    /// the client list at once and its unwritten replies are dropped. The transport pointer
    /// is cleared first: the Connection is freed by libuv's close callback, and the client
    /// may still sit on `pendingWrites` for the next `beforeSleep`.
    func closeClientNow(_ c: Client) {
        if let conn = c.connection {
            c.connection = nil
            conn.close()
        } else {
            forgetClient(c)
        }
        c.flags.insert(.closeASAP)
    }
}
