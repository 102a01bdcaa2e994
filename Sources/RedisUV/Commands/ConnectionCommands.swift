/// PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET — the connection family (Redis's
/// server.c pingCommand/echoCommand, db.c selectCommand, acl.c authCommand and
/// networking.c helloCommand/resetCommand). CLIENT lives in ClientCommand.swift.
enum ConnectionCommands {
    static let table: [CommandImpl] = [
        CommandImpl("ping", ping),
        CommandImpl("echo", echo),
        CommandImpl("quit", quit),
        CommandImpl("select", select),
        CommandImpl("auth", auth),
        CommandImpl("hello", hello),
        CommandImpl("reset", reset),
    ]

    /// Redis's pingCommand. Arity is -1, so the "at most one argument" rule is checked here.
    /// A RESP2 client in Pub/Sub mode gets ["pong", msg] instead (msg "" by default).
    static func ping(_ c: Client, _ argv: Argv) {
        if argv.count > 2 {
            c.addReplyError("wrong number of arguments for 'ping' command")
            return
        }
        if c.pubsub != nil && c.resp == 2 {
            c.addReplyRaw("*2\r\n$4\r\npong\r\n")
            if argv.count == 1 { c.addReplyRaw("$0\r\n\r\n") } else { c.addReplyBulk(argv[1]) }
        } else if argv.count == 1 {
            c.addReplyRaw("+PONG\r\n")
        } else {
            c.addReplyBulk(argv[1])
        }
    }

    static func echo(_ c: Client, _ argv: Argv) {
        c.addReplyBulk(argv[1])
    }

    /// Any arguments are ignored, as in Redis.
    static func quit(_ c: Client, _ argv: Argv) {
        c.addReplyOK()
        c.flags.insert(.closeAfterReply)
    }

    /// Redis's selectCommand: the index goes through getIntFromObjectOrReply, so a
    /// non-integer and an integer outside C int range get different errors from an index
    /// that is merely past `databases`.
    static func select(_ c: Client, _ argv: Argv) {
        guard let index = c.int32ArgOrReply(argv, 1) else { return }
        guard index >= 0 && index < c.server.config.databases else {
            c.addReplyError("DB index is out of range")
            return
        }
        c.db = c.server.db(index)
        c.addReplyOK()
    }

    // MARK: AUTH

    static let wrongPass = "-WRONGPASS invalid username-password pair or user is disabled."

    /// Redis's authCommand: AUTH <password> (the default user) or AUTH <user> <password>.
    static func auth(_ c: Client, _ argv: Argv) {
        if argv.count > 3 {
            c.addReplyErrorSyntax()
            return
        }
        let ok: Bool
        if argv.count == 2 {
            // The old one-argument form still errors when the default user has no password.
            if c.server.acl.defaultUser.flags.contains(.nopass) {
                c.addReplyError("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
                return
            }
            ok = c.authenticate(user: nil, password: argv[1], commandName: argv.bytes(0))
        } else {
            ok = c.authenticate(user: argv[1], password: argv[2], commandName: argv.bytes(0))
        }
        if ok { c.addReplyOK() } else { c.addReplyError(wrongPass) }
    }

    // MARK: HELLO

    /// Redis 7.0's helloCommand. Options are applied in the order given, as they are parsed:
    /// an AUTH that succeeds stays in effect even if a later option fails, a bad SETNAME
    /// before an AUTH stops before authenticating, and SETNAME works before the NOAUTH
    /// check. The protocol switches only once everything passed.
    static func hello(_ c: Client, _ argv: Argv) {
        var version = 0
        var next = 1
        if argv.count >= 2 {
            guard let v = parseStrictInt(argv[1]) else {
                c.addReplyError("Protocol version is not an integer or out of range")
                return
            }
            guard v == 2 || v == 3 else {
                c.addReplyError("-NOPROTO unsupported protocol version")
                return
            }
            version = v
            next = 2
        }
        var j = next
        while j < argv.count {
            let moreArgs = argv.count - 1 - j
            if argv.equals(j, "auth") && moreArgs >= 2 {
                if !c.authenticate(user: argv[j + 1], password: argv[j + 2], commandName: argv.bytes(0)) {
                    c.addReplyError(wrongPass)
                    return
                }
                j += 3
            } else if argv.equals(j, "setname") && moreArgs >= 1 {
                if !c.setNameOrReply(argv[j + 1]) { return }
                j += 2
            } else {
                c.addReplyError("Syntax error in HELLO option '\(argv.string(j))'")
                return
            }
        }
        if !c.authenticated {
            c.addReplyError("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
            return
        }
        if version != 0 { c.resp = version }
        c.addReplyHelloMap()
    }

    // MARK: RESET

    /// Redis's resetCommand / clearClientConnectionState: back to how a new connection
    /// starts — db 0, RESP2, no name, replies on, the default user (authenticated only if it
    /// needs no password). CLIENT NO-EVICT is deliberately kept, as Redis 7.0 keeps it.
    /// The transaction and watched keys are dropped (discardTransaction). (Subscriptions
    /// and tracking, once implemented, are also cleared here.)
    static func reset(_ c: Client, _ argv: Argv) {
        c.server.discardTransaction(c)
        c.db = c.server.db(0)
        c.resp = 2
        c.setDefaultAuth()
        c.name = nil
        c.replyOff = false
        c.replySkipNext = false
        c.server.pubsubUnsubscribeEverything(c)
        c.server.stopMonitoring(c)
        c.addReplyStatus("RESET")
    }
}

extension Client {
    /// HELLO's reply: a map of seven server facts (Redis's helloCommand tail).
    func addReplyHelloMap() {
        addReplyMapLen(7)
        addReplyBulk("server")
        addReplyBulk("redis")
        addReplyBulk("version")
        addReplyBulk(redisCompatVersion)
        addReplyBulk("proto")
        addReplyInt(resp)
        addReplyBulk("id")
        addReplyInt(id)
        addReplyBulk("mode")
        addReplyBulk("standalone")
        addReplyBulk("role")
        addReplyBulk(server.config.replicaof.isEmpty ? "master" : "replica")
        addReplyBulk("modules")
        addReplyArrayLen(0)
    }

    /// Redis's ACLAuthenticateUser (ACL/ACLState.swift); `user == nil` means "default"
    /// (one-argument AUTH). On failure the client's state is left as it was.
    func authenticate(user: UnsafeRawBufferPointer?, password: UnsafeRawBufferPointer, commandName: [UInt8]) -> Bool {
        if let user { return server.aclAuthenticate(self, user: user, password: password, commandName: commandName) }
        return Array("default".utf8).withUnsafeBytes {
            server.aclAuthenticate(self, user: $0, password: password, commandName: commandName)
        }
    }

    /// Redis's clientSetDefaultAuth: the default user, authenticated only if it needs no password.
    func setDefaultAuth() {
        user = server.acl.defaultUser
        authenticated = server.acl.defaultUserNeedsNoAuth
    }

    /// Redis's getIntFromObjectOrReply with its default messages: a 64-bit parse first,
    /// then the C int range.
    func int32ArgOrReply(_ argv: Argv, _ i: Int) -> Int? {
        guard let v = intArgOrReply(argv, i) else { return nil }
        guard v >= Int(Int32.min) && v <= Int(Int32.max) else {
            addReplyError("value is out of range, value must between \(Int32.min) and \(Int32.max)")
            return nil
        }
        return v
    }
}

/// Exact (case-sensitive) comparison with an ASCII word.
func bytesEqual(_ a: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
    let n = word.utf8CodeUnitCount
    if a.count != n { return false }
    let w = word.utf8Start
    for i in 0..<n where a[i] != w[i] { return false }
    return true
}

/// Password comparison whose time does not depend on where the inputs first differ
/// (Redis compares SHA-256 digests with time_independent_strcmp for the same reason).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
    var diff: UInt8 = a.count == b.count ? 0 : 1
    let n = Swift.max(a.count, b.count)
    for i in 0..<n {
        let x = i < a.count ? a[i] : 0
        let y = i < b.count ? b[i] : 0
        diff |= x ^ y
    }
    return diff == 0
}
