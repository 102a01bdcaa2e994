/// MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis's multi.c). The state and the queueing
/// gate live in Engine/Multi.swift; these are the commands' own replies.
enum TransactionCommands {
    static let table: [CommandImpl] = [
        CommandImpl("multi", multi),
        CommandImpl("exec", exec),
        CommandImpl("discard", discard),
        CommandImpl("watch", watch),
        CommandImpl("unwatch", unwatch),
    ]

    static func multi(_ c: Client, _ argv: Argv) {
        if c.mstate != nil {
            c.addReplyError("MULTI calls can not be nested")
            return
        }
        c.mstate = MultiState()
        c.addReplyOK()
    }

    static func exec(_ c: Client, _ argv: Argv) {
        guard c.mstate != nil, let cmd = c.lastCommand else {
            c.addReplyError("EXEC without MULTI")
            return
        }
        c.server.execTransaction(c, cmd)
    }

    static func discard(_ c: Client, _ argv: Argv) {
        if c.mstate == nil {
            c.addReplyError("DISCARD without MULTI")
            return
        }
        c.server.discardTransaction(c)
        c.addReplyOK()
    }

    static func watch(_ c: Client, _ argv: Argv) {
        if c.mstate != nil {
            c.addReplyError("WATCH inside MULTI is not allowed")
            return
        }
        // No point in watching once a watched key was touched: EXEC fails anyway.
        if !c.dirtyCAS {
            for i in 1..<argv.count { c.server.watchForKey(c, argv[i]) }
        }
        c.addReplyOK()
    }

    static func unwatch(_ c: Client, _ argv: Argv) {
        c.server.unwatchAllKeys(c)
        c.dirtyCAS = false
        c.addReplyOK()
    }
}
