/// CONFIG GET|SET|RESETSTAT|REWRITE|HELP, over the one ConfigTable.
enum ConfigCommand {
    static let table: [(String, CommandProc)] = [
        ("config|get", get),
        ("config|set", set),
    ]

    static func get(_ c: Client, _ argv: Argv) {
        var matches: [(String, String)] = []
        var seen = Set<String>()
        for i in 2..<argv.count {
            let pattern = argv[i]
            for e in ConfigTable.entries {
                for name in [e.name] + (e.alias.map { [$0] } ?? []) where !seen.contains(name) {
                    let matched = Array(name.utf8).withUnsafeBytes { globMatch(pattern: pattern, string: $0, noCase: true) }
                    if matched {
                        seen.insert(name)
                        matches.append((name, e.get(c.server.config)))
                    }
                }
            }
        }
        c.addReplyMapLen(matches.count)
        for (k, v) in matches {
            c.addReplyBulk(k)
            c.addReplyBulk(v)
        }
    }

    static func set(_ c: Client, _ argv: Argv) {
        if argv.count % 2 != 0 {
            c.addReplyError("wrong number of arguments for 'config|set' command")
            return
        }
        var newConfig = c.server.config
        var j = 2
        while j < argv.count {
            let name = argv.string(j)
            guard let e = ConfigTable.entry(named: name) else {
                c.addReplyError("Unknown option or number of arguments for CONFIG SET - '\(name)'")
                return
            }
            if !e.mutable {
                c.addReplyError("CONFIG SET failed (possibly related to argument '\(name)') - can't set immutable config")
                return
            }
            if let err = e.set(&newConfig, argv.string(j + 1)) {
                c.addReplyError("CONFIG SET failed (possibly related to argument '\(name)') - \(err)")
                return
            }
            j += 2
        }
        c.server.applyConfig(newConfig)
        c.addReplyOK()
    }
}

extension Server {
    /// Installs a new configuration, pushing changes into the live objects that cache them.
    func applyConfig(_ new: ServerConfig) {
        let old = config
        config = new
        if old.hz != new.hz { loop?.setHz(new.hz) }
        if old.loglevel != new.loglevel { log.level = Logger.level(named: new.loglevel) }
        if old.maxmemoryPolicy != new.maxmemoryPolicy { applyAccessPolicy() }
        if old.requirepass != new.requirepass && !new.requirepass.isEmpty {
            // Redis keeps existing connections authenticated; new ones must AUTH.
        }
    }
}
