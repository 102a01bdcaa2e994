/// ACL and its subcommands (Redis 7.0's aclCommand).
enum ACLCommand {
    static let table: [CommandImpl] = [
        CommandImpl("acl|setuser", setuser),
        CommandImpl("acl|getuser", getuser),
        CommandImpl("acl|deluser", deluser),
        CommandImpl("acl|users", users),
        CommandImpl("acl|list", list),
        CommandImpl("acl|whoami", whoami),
        CommandImpl("acl|cat", cat),
        CommandImpl("acl|genpass", genpass),
        CommandImpl("acl|dryrun", dryrun),
        CommandImpl("acl|log", log),
        CommandImpl("acl|save", save),
        CommandImpl("acl|load", load),
        CommandImpl("acl|help", help),
    ]

    /// addReplySubcommandSyntaxError.
    static func subcommandSyntaxError(_ c: Client, _ argv: Argv) {
        let sub = String(decoding: argv[1].prefix(128), as: UTF8.self)
        c.addReplyError("unknown subcommand or wrong number of arguments for '\(sub)'. Try \(argv.string(0).uppercased()) HELP.")
    }

    /// Redis's ACLMergeSelectorArguments: a selector split over several arguments
    /// ("(+get", "~key)") is joined with spaces. nil and the index of the opening argument
    /// when a parenthesis is left open.
    static func mergeSelectorArguments(_ args: [[UInt8]]) -> (merged: [[UInt8]]?, openIndex: Int) {
        var merged: [[UInt8]] = []
        var open = -1
        var selector: [UInt8] = []
        for (j, op) in args.enumerated() {
            if op.first == UInt8(ascii: "(") && op.last != UInt8(ascii: ")") {
                selector = op
                open = j
                continue
            }
            if open != -1 {
                selector += [32] + op
                if op.last == UInt8(ascii: ")") {
                    open = -1
                    merged.append(selector)
                }
                continue
            }
            merged.append(op)
        }
        if open != -1 { return (nil, open) }
        return (merged, -1)
    }

    // MARK: SETUSER

    static func setuser(_ c: Client, _ argv: Argv) {
        let s = c.server
        let name = argv.bytes(2)
        if aclHasSpaces(name) {
            c.addReplyError("Usernames can't contain spaces or null characters")
            return
        }
        let (mergedOrNil, open) = mergeSelectorArguments((3..<argv.count).map { argv.bytes($0) })
        guard let merged = mergedOrNil else {
            c.addReplyError("Unmatched parenthesis in acl selector starting at '\(argv.string(open + 3))'.")
            return
        }
        let existing = s.acl.user(named: name)
        let temp = existing?.copy() ?? ACLUser(name: name, pubsubDefaultAll: s.acl.pubsubDefaultAll)
        for op in merged {
            if let err = temp.apply(op, pubsubDefaultAll: s.acl.pubsubDefaultAll) {
                c.addReplyError("Error in ACL SETUSER modifier '\(String(decoding: op, as: UTF8.self))': \(err.message)")
                return
            }
        }
        if let existing { s.killPubsubClientsIfNeeded(new: temp, original: existing) }
        let u = existing ?? s.acl.newUser(name)
        u.copyRules(from: temp)
        c.addReplyOK()
    }

    // MARK: GETUSER

    static func getuser(_ c: Client, _ argv: Argv) {
        guard let u = c.server.acl.user(named: argv[2]) else {
            c.addReplyNull()  // (Redis 7.0.15: a null, not an error)
            return
        }
        c.addReplyMapLen(6)
        c.addReplyBulk("flags")
        let flags = u.flagNames
        c.addReplySetLen(flags.count)
        for f in flags { c.addReplyBulk(f) }
        c.addReplyBulk("passwords")
        c.addReplyArrayLen(u.passwords.count)
        for p in u.passwords { c.addReplyBulk(p) }
        addSelectorFields(c, u.selectors[0])
        c.addReplyBulk("selectors")
        c.addReplyArrayLen(u.selectors.count - 1)
        for sel in u.selectors.dropFirst() {
            c.addReplyMapLen(3)
            addSelectorFields(c, sel)
        }
    }

    /// aclAddReplySelectorDescription: commands, keys, channels.
    static func addSelectorFields(_ c: Client, _ s: ACLSelector) {
        c.addReplyBulk("commands")
        c.addReplyBulk(s.commandRules)
        c.addReplyBulk("keys")
        c.addReplyBulk(s.keysDescription)
        c.addReplyBulk("channels")
        c.addReplyBulk(s.channelsDescription)
    }

    // MARK: DELUSER

    static func deluser(_ c: Client, _ argv: Argv) {
        for j in 2..<argv.count where bytesEqual(argv[j], "default") {
            c.addReplyError("The 'default' user cannot be removed")
            return
        }
        var deleted = 0
        for j in 2..<argv.count {
            if let u = c.server.acl.removeUser(argv.bytes(j)) {
                c.server.killClients(of: u, current: c)
                deleted += 1
            }
        }
        c.addReplyInt(deleted)
    }

    // MARK: USERS, LIST, WHOAMI

    static func users(_ c: Client, _ argv: Argv) {
        let all = c.server.acl.sortedUsers
        c.addReplyArrayLen(all.count)
        for u in all { c.addReplyBulk(u.name) }
    }

    static func list(_ c: Client, _ argv: Argv) {
        let all = c.server.acl.sortedUsers
        c.addReplyArrayLen(all.count)
        for u in all { c.addReplyBulk(u.configLine) }
    }

    static func whoami(_ c: Client, _ argv: Argv) {
        c.addReplyBulk(c.user.name)
    }

    // MARK: CAT

    static func cat(_ c: Client, _ argv: Argv) {
        if argv.count == 2 {
            c.addReplyBulkArray(ACLCommandIndex.categories)
            return
        }
        if argv.count != 3 { return subcommandSyntaxError(c, argv) }
        guard let bit = ACLCommandIndex.categoryBit(named: argv.bytes(2)) else {
            c.addReplyError("Unknown category '\(String(decoding: argv[2].prefix(128), as: UTF8.self))'")
            return
        }
        let names = ACLCommandIndex.entries.filter { $0.categoryBits & bit != 0 }.map(\.spec.fullName)
        c.addReplyBulkArray(names)
    }

    // MARK: GENPASS

    static func genpass(_ c: Client, _ argv: Argv) {
        if argv.count > 3 { return subcommandSyntaxError(c, argv) }
        var bits = 256
        if argv.count == 3 {
            guard let b = c.intArgOrReply(argv, 2) else { return }
            bits = b
        }
        if bits <= 0 || bits > 4096 {
            c.addReplyError("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
            return
        }
        let chars = (bits + 3) / 4
        let hex = Array("0123456789abcdef".utf8)
        var rng = SystemRandomNumberGenerator()
        var out: [UInt8] = []
        out.reserveCapacity(chars)
        for _ in 0..<chars { out.append(hex[Int(rng.next() & 15)]) }
        c.addReplyBulk(out)
    }

    // MARK: DRYRUN

    static func dryrun(_ c: Client, _ argv: Argv) {
        guard let u = c.server.acl.user(named: argv[2]) else {
            c.addReplyError("User '\(argv.string(2))' not found")
            return
        }
        // lookupCommand over the real table (a container's second word is its subcommand).
        var id: Int? = nil
        if let top = ACLCommandIndex.lookup(argv.bytes(3)), ACLCommandIndex.entries[top].parentID == nil,
           !argv.bytes(3).contains(UInt8(ascii: "|")) {
            let e = ACLCommandIndex.entries[top]
            if e.subcommandIDs.isEmpty || argv.count < 5 {
                id = top
            } else {
                id = ACLCommandIndex.lookup(argv.bytes(3) + [UInt8(ascii: "|")] + argv.bytes(4))
            }
        }
        guard let id else {
            c.addReplyError("Command '\(argv.string(3))' not found")
            return
        }
        let sub = Array(3..<argv.count).map { argv.bytes($0) }
        if let d = aclCheckCommand(user: u, id: id, argv: sub) {
            switch d.reason {
            case .command:
                c.addReplyBulk("This user has no permissions to run the '\(ACLCommandIndex.entries[id].spec.fullName)' command")
            case .key:
                c.addReplyBulk("This user has no permissions to access the '\(String(decoding: sub[d.argIndex], as: UTF8.self))' key")
            case .channel:
                c.addReplyBulk("This user has no permissions to access the '\(String(decoding: sub[d.argIndex], as: UTF8.self))' channel")
            case .auth:
                c.addReplyBulk("")
            }
            return
        }
        c.addReplyOK()
    }

    // MARK: LOG

    static func log(_ c: Client, _ argv: Argv) {
        if argv.count > 3 { return subcommandSyntaxError(c, argv) }
        let acl = c.server.acl
        var count = 10
        if argv.count == 3 {
            if argv.equals(2, "reset") {
                acl.log.removeAll()
                c.addReplyOK()
                return
            }
            guard let n = c.intArgOrReply(argv, 2) else { return }
            count = max(0, n)
        }
        count = min(count, acl.log.count)
        c.addReplyArrayLen(count)
        let now = c.server.cachedTimeMs
        for e in acl.log.prefix(count) {
            c.addReplyMapLen(7)
            c.addReplyBulk("count")
            c.addReplyInt(e.count)
            c.addReplyBulk("reason")
            c.addReplyBulk(e.reason.logName)
            c.addReplyBulk("context")
            c.addReplyBulk(e.context.name)
            c.addReplyBulk("object")
            c.addReplyBulk(e.object)
            c.addReplyBulk("username")
            c.addReplyBulk(e.username)
            c.addReplyBulk("age-seconds")
            c.addReplyDouble(Double(now - e.ctime) / 1000)
            c.addReplyBulk("client-info")
            c.addReplyBulk(e.clientInfo)
        }
    }

    // MARK: SAVE, LOAD

    static let noACLFile = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

    static func save(_ c: Client, _ argv: Argv) {
        let s = c.server
        if s.config.aclfile.isEmpty { return c.addReplyError(noACLFile) }
        if s.aclSaveToFile(s.config.aclfile) {
            c.addReplyOK()
        } else {
            c.addReplyError("There was an error trying to save the ACLs. Please check the server logs for more information")
        }
    }

    static func load(_ c: Client, _ argv: Argv) {
        let s = c.server
        if s.config.aclfile.isEmpty { return c.addReplyError(noACLFile) }
        if let errors = s.aclLoadFromFile(s.config.aclfile, current: c) {
            c.addReplyError(errors)
        } else {
            c.addReplyOK()
        }
    }

    // MARK: HELP

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "acl", lines: [
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ])
    }
}

extension Server {
    /// Redis's ACLKillPubsubClientsIfNeeded: when the user's channels shrink, its Pub/Sub
    /// clients subscribed to something no longer allowed are closed.
    func killPubsubClientsIfNeeded(new: ACLUser, original: ACLUser) {
        if new.selectors.contains(where: { $0.allChannels }) { return }
        let upcoming = new.selectors.flatMap(\.channels)
        let allKept = original.selectors.allSatisfy { s in s.channels.allSatisfy { upcoming.contains($0) } }
        if allKept { return }
        var probe = ACLSelector(root: false, pubsubDefaultAll: false)
        probe.channels = upcoming
        for c in clientsInOrder where c.user === original {
            guard let ps = c.pubsub else { continue }
            var kill = false
            for p in ps.patterns where !p.name.withBytes({ probe.checkChannel($0, literal: true) }) { kill = true; break }
            if !kill {
                for ch in ps.channels where !ch.name.withBytes({ probe.checkChannel($0, literal: false) }) { kill = true; break }
            }
            if !kill {
                for ch in ps.shardChannels where !ch.name.withBytes({ probe.checkChannel($0, literal: false) }) { kill = true; break }
            }
            if kill { closeClientNow(c) }
        }
    }
}
