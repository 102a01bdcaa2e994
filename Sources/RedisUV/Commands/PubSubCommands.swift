/// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH,
/// SPUBLISH and PUBSUB (Redis 7.0's pubsub.c commands). The machinery is in
/// Engine/PubSub.swift.
enum PubSubCommands {
    static let table: [CommandImpl] = [
        CommandImpl("subscribe", subscribe),
        CommandImpl("unsubscribe", unsubscribe),
        CommandImpl("psubscribe", psubscribe),
        CommandImpl("punsubscribe", punsubscribe),
        CommandImpl("ssubscribe", ssubscribe),
        CommandImpl("sunsubscribe", sunsubscribe),
        CommandImpl("publish", publish),
        CommandImpl("spublish", spublish),
        CommandImpl("pubsub|channels", channels),
        CommandImpl("pubsub|numsub", numsub),
        CommandImpl("pubsub|numpat", numpat),
        CommandImpl("pubsub|shardchannels", shardchannels),
        CommandImpl("pubsub|shardnumsub", shardnumsub),
        CommandImpl("pubsub|help", help),
    ]

    /// The commands a RESP2 client may run while subscribed (Redis's processCommand gate).
    static func allowedWhileSubscribed(_ cmd: RedisCommand) -> Bool {
        switch cmd.fullName {
        case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
             "psubscribe", "punsubscribe", "quit", "reset":
            return true
        default:
            return false
        }
    }

    // SUBSCRIBE / PSUBSCRIBE are allowed inside EXEC (Redis keeps that for backward
    // compatibility: its CLIENT_DENY_BLOCKING check exempts CLIENT_MULTI, and here
    // denyBlocking is only ever set by EXEC), SSUBSCRIBE is not.

    static func subscribe(_ c: Client, _ argv: Argv) {
        for j in 1..<argv.count { c.server.pubsubSubscribe(c, argv[j], .channel) }
    }

    static func psubscribe(_ c: Client, _ argv: Argv) {
        for j in 1..<argv.count { c.server.pubsubSubscribe(c, argv[j], .pattern) }
    }

    static func ssubscribe(_ c: Client, _ argv: Argv) {
        if c.flags.contains(.denyBlocking) {
            c.addReplyError("SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
            return
        }
        for j in 1..<argv.count { c.server.pubsubSubscribe(c, argv[j], .shard) }
    }

    static func unsubscribe(_ c: Client, _ argv: Argv) { unsubscribeGeneric(c, argv, .channel) }
    static func punsubscribe(_ c: Client, _ argv: Argv) { unsubscribeGeneric(c, argv, .pattern) }
    static func sunsubscribe(_ c: Client, _ argv: Argv) { unsubscribeGeneric(c, argv, .shard) }

    private static func unsubscribeGeneric(_ c: Client, _ argv: Argv, _ kind: PubSubKind) {
        let server = c.server
        if argv.count == 1 {
            server.pubsubUnsubscribeAll(c, kind, notify: true)
        } else {
            for j in 1..<argv.count { server.pubsubUnsubscribe(c, argv[j], kind, notify: true) }
        }
        server.pubsubLeaveIfIdle(c)
    }

    static func publish(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.server.publishPropagated(argv[1], argv[2], shard: false, publisher: c))
    }

    static func spublish(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.server.publishPropagated(argv[1], argv[2], shard: true, publisher: c))
    }

    // MARK: PUBSUB

    static func channels(_ c: Client, _ argv: Argv) {
        channelList(c, argv, c.server.pubsub.channels)
    }

    static func shardchannels(_ c: Client, _ argv: Argv) {
        channelList(c, argv, c.server.pubsub.shardChannels)
    }

    /// PUBSUB CHANNELS|SHARDCHANNELS [pattern] (Redis's channelList).
    private static func channelList(_ c: Client, _ argv: Argv, _ map: PubSubChannelMap) {
        if argv.count > 3 {
            syntaxError(c, argv)
            return
        }
        let mark = c.addReplyDeferredLen()
        var n = 0
        for ch in map.ordered {
            let ok = argv.count == 2 || ch.name.withUnsafeBytes { globMatch(pattern: argv[2], string: $0) }
            if ok {
                ch.name.withUnsafeBytes { c.addReplyBulk($0) }
                n += 1
            }
        }
        c.setDeferredArrayLen(mark, n)
    }

    static func numsub(_ c: Client, _ argv: Argv) { numsubGeneric(c, argv, c.server.pubsub.channels) }
    static func shardnumsub(_ c: Client, _ argv: Argv) { numsubGeneric(c, argv, c.server.pubsub.shardChannels) }

    /// PUBSUB NUMSUB|SHARDNUMSUB [channel ...]: a flat array (not a map) in both protocols.
    private static func numsubGeneric(_ c: Client, _ argv: Argv, _ map: PubSubChannelMap) {
        c.addReplyArrayLen((argv.count - 2) * 2)
        var j = 2
        while j < argv.count {
            c.addReplyBulk(argv[j])
            c.addReplyInt(map.find(argv[j])?.subscribers.count ?? 0)
            j += 1
        }
    }

    static func numpat(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.server.pubsub.patterns.count)
    }

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "pubsub", lines: [
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ])
    }

    /// Redis's addReplySubcommandSyntaxError.
    private static func syntaxError(_ c: Client, _ argv: Argv) {
        let sub = String(decoding: argv[1].prefix(128), as: UTF8.self)
        c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try PUBSUB HELP.")
    }
}

extension Server {
    /// Redis's processCommand gate for RESP2 clients in Pub/Sub mode: only the
    /// (un)subscribe family, PING, QUIT and RESET. Returns true when it rejected.
    @inline(__always)
    func rejectInSubscribedContext(_ c: Client, _ cmd: RedisCommand) -> Bool {
        if c.pubsub == nil || c.resp != 2 { return false }
        if PubSubCommands.allowedWhileSubscribed(cmd) { return false }
        cmd.rejectedCalls &+= 1
        c.addReplyError("Can't execute '\(cmd.fullName)': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        return true
    }
}

extension Server {
    /// PUBLISH/SPUBLISH: delivered here, and forced to replicas so that their subscribers
    /// get it too (Redis: forceCommandPropagation(c, PROPAGATE_REPL); not to the AOF).
    @inline(never)
    func publishPropagated(_ channel: UnsafeRawBufferPointer, _ message: UnsafeRawBufferPointer,
                           shard: Bool, publisher: Client) -> Int {
        if isPropagating { forcePropagation(replicasOnly: true) }
        return publishMessage(channel, message, shard: shard, publisher: publisher)
    }
}
