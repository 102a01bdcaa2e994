/// PING, ECHO, QUIT, SELECT — connection basics.
enum ConnectionCommands {
    static let table: [(String, CommandProc)] = [
        ("ping", ping),
        ("echo", echo),
        ("quit", quit),
        ("select", select),
    ]

    static func ping(_ c: Client, _ argv: Argv) {
        if argv.count > 2 {
            c.addReplyError("wrong number of arguments for 'ping' command")
            return
        }
        if argv.count == 1 {
            c.addReplyRaw("+PONG\r\n")
        } else {
            c.addReplyBulk(argv[1])
        }
    }

    static func echo(_ c: Client, _ argv: Argv) {
        c.addReplyBulk(argv[1])
    }

    static func quit(_ c: Client, _ argv: Argv) {
        c.addReplyOK()
        c.flags.insert(.closeAfterReply)
    }

    static func select(_ c: Client, _ argv: Argv) {
        guard let index = parseStrictInt(argv[1]) else {
            c.addReplyError("invalid DB index")
            return
        }
        guard index >= 0 && index < c.server.config.databases else {
            c.addReplyError("DB index is out of range")
            return
        }
        c.db = c.server.db(index)
        c.addReplyOK()
    }
}
