#if canImport(Glibc)
import Glibc
#endif

/// CONFIG GET|SET|RESETSTAT|REWRITE|HELP, over the one ConfigTable (Redis 7.0.15's config.c).
enum ConfigCommand {
    static let table: [CommandImpl] = [
        CommandImpl("config|get", get),
        CommandImpl("config|set", set),
        CommandImpl("config|resetstat", resetstat),
        CommandImpl("config|rewrite", rewrite),
        CommandImpl("config|help", help),
    ]

    // MARK: GET

    /// CONFIG GET pattern [pattern ...]. A name without glob characters is looked up
    /// directly (and answered under the spelling given); a pattern matches every name
    /// and alias, case-insensitively. Each name is answered once.
    static func get(_ c: Client, _ argv: Argv) {
        var matches: [(String, String)] = []
        var seen = Set<String>()  // lowercased names already answered
        for i in 2..<argv.count {
            let pattern = argv.string(i)
            if !pattern.contains(where: { $0 == "[" || $0 == "*" || $0 == "?" }) {
                let l = pattern.lowercased()
                if seen.contains(l) { continue }
                if let e = ConfigTable.entry(named: pattern) {
                    seen.insert(l)
                    matches.append((pattern, e.get(c.server.config)))
                }
                continue
            }
            for e in ConfigTable.entries where !e.hidden {
                for name in [e.name] + (e.alias.map { [$0] } ?? []) where !seen.contains(name) {
                    let matched = Array(name.utf8).withUnsafeBytes { globMatch(pattern: argv[i], string: $0, noCase: true) }
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

    // MARK: SET

    /// CONFIG SET name value [name value ...], all or nothing (Redis's configSetCommand):
    /// names are checked first (unknown, immutable, protected, given twice), then every
    /// value is parsed into a copy of the configuration, which replaces the live one only
    /// when all succeeded.
    static func set(_ c: Client, _ argv: Argv) {
        if argv.count % 2 != 0 {
            c.addReplyErrorSyntax()
            return
        }
        var entries: [ConfigEntry] = []
        var names: [String] = []
        var unknownName: String? = nil
        var error: (name: String, message: String)? = nil
        var j = 2
        while j < argv.count {
            let name = argv.string(j)
            j += 2
            guard let e = ConfigTable.entry(named: name) else {
                if unknownName == nil && error == nil { unknownName = name }
                continue
            }
            if unknownName != nil || error != nil { continue }
            if !e.mutable {
                error = (name, "can't set immutable config")
            } else if e.protected && !allowProtectedAction(c.server.config.enableProtectedConfigs, c) {
                error = (name, "can't set protected config")
            } else if names.contains(name.lowercased()) {
                // (An alias and its name are two parameters to Redis 7.0.15: no error.)
                error = (name, "duplicate parameter")
            }
            entries.append(e)
            names.append(name.lowercased())
        }
        if let unknownName {
            c.addReplyError("Unknown option or number of arguments for CONFIG SET - '\(unknownName)'")
            return
        }
        if let error {
            c.addReplyError("CONFIG SET failed (possibly related to argument '\(error.name)') - \(error.message)")
            return
        }
        let old = c.server.config
        var newConfig = old
        for (i, e) in entries.enumerated() {
            if let err = e.set(&newConfig, argv.string(2 + i * 2 + 1)) {
                // `dir` changes the working directory as it is set: put it back.
                if newConfig.dir != old.dir { _ = chdir(old.dir) }
                c.addReplyError("CONFIG SET failed (possibly related to argument '\(argv.string(2 + i * 2))') - \(err)")
                return
            }
        }
        c.server.applyConfig(newConfig)
        c.addReplyOK()
    }

    /// Redis's allowProtectedAction: "yes", or "local" for loopback connections.
    static func allowProtectedAction(_ setting: String, _ c: Client) -> Bool {
        setting == "yes" || (setting == "local" && isLocalClient(c))
    }

    /// Redis's islocalClient: the peer is 127.0.0.1 or ::1 (peerAddress is "ip:port").
    static func isLocalClient(_ c: Client) -> Bool {
        if c.flags.contains(.unixSocket) { return true }
        guard let colon = c.peerAddress.lastIndex(of: ":") else { return false }
        let ip = c.peerAddress[..<colon]
        return ip == "127.0.0.1" || ip == "::1"
    }

    // MARK: RESETSTAT

    /// Redis's configResetStatCommand: server stats, command stats and error stats.
    static func resetstat(_ c: Client, _ argv: Argv) {
        c.server.resetStats()
        c.addReplyOK()
    }

    // MARK: REWRITE

    static let rewriteSignature = "# Generated by CONFIG REWRITE"

    /// CONFIG REWRITE: rewrites the file we were started with, keeping its comments and
    /// layout (Redis's rewriteConfig).
    static func rewrite(_ c: Client, _ argv: Argv) {
        let path = c.server.config.configFile
        if path.isEmpty {
            c.addReplyError("The server is running without a config file")
            return
        }
        var old = ""
        if let text = readWholeFile(path) {
            old = text
        } else if errno != ENOENT {
            let err = String(cString: strerror(errno))
            c.server.log.warning("CONFIG REWRITE failed: \(err)")
            c.addReplyError("Rewriting config file: \(err)")
            return
        }
        // Users go in as `user` lines unless an ACL file keeps them (rewriteConfigUserOption).
        let users = c.server.config.aclfile.isEmpty ? c.server.acl.sortedUsers.map(\.configLine) : []
        let content = rewriteConfig(old: old, config: c.server.config, userLines: users)
        if let err = overwriteFile(path, content) {
            c.server.log.warning("CONFIG REWRITE failed: \(err)")
            c.addReplyError("Rewriting config file: \(err)")
            return
        }
        c.server.log.warning("CONFIG REWRITE executed with success.")
        c.addReplyOK()
    }

    /// The new file content for `config`, given the old file's (pure: unit-tested).
    ///  - every line is trimmed; comments and blank lines stay where they are;
    ///  - the first line of each option is replaced by the current value, later lines of
    ///    the same option are blanked (several `save` lines are one option);
    ///  - options not in the file are appended (after "# Generated by CONFIG REWRITE")
    ///    only when they differ from the default;
    ///  - runs of blank lines become one.
    /// `userLines`: the `user` lines to write (forced), [] to drop the file's, nil to keep them.
    static func rewriteConfig(old: String, config: ServerConfig, userLines: [String]? = nil) -> String {
        var lines: [String] = []
        var optionLines: [String: [Int]] = [:]
        var needsSignature = true
        // sdssplitlen("\n"): a trailing newline gives a last empty line; "" gives none.
        let rawLines = old.isEmpty ? [] : old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for raw in rawLines {
            let line = raw.trimmingCharacters(in: "\r\n\t ")
            if line.isEmpty || line.hasPrefix("#") {
                if needsSignature && line == rewriteSignature { needsSignature = false }
                lines.append(line)
                continue
            }
            var storage: [UInt8] = []
            var ranges: [(Int, Int)] = []
            let ok = Array(line.utf8).withUnsafeBytes { splitArgs($0, into: &storage, ranges: &ranges) }
            let first = ok && !ranges.isEmpty
                ? String(decoding: storage[ranges[0].0..<(ranges[0].0 + ranges[0].1)], as: UTF8.self).lowercased() : nil
            let knownElsewhere = ["include", "rename-command", "user", "loadmodule", "sentinel"]
            guard let option = first, ConfigTable.entry(named: option) != nil || knownElsewhere.contains(option) else {
                // Unparsable, or an option we do not know: kept as a comment.
                lines.append("# ??? " + line)
                continue
            }
            lines.append(line)
            // An alias is rewritten under its parameter's name.
            let canonical = ConfigTable.entry(named: option)?.name ?? option
            optionLines[canonical, default: []].append(lines.count - 1)
        }

        var rewritten = Set<String>()
        func rewrite(_ name: String, _ newLines: [String], force: Bool) {
            rewritten.insert(name)
            for line in newLines {
                if var slots = optionLines[name], !slots.isEmpty {
                    lines[slots.removeFirst()] = line
                    optionLines[name] = slots
                } else if force {
                    if needsSignature {
                        lines.append(rewriteSignature)
                        needsSignature = false
                    }
                    lines.append(line)
                }
            }
        }
        for e in ConfigTable.entries {
            let (newLines, force) = e.rewrite(config)
            rewrite(e.name, newLines, force: force)
        }
        if let userLines { rewrite("user", userLines, force: true) }
        // Lines of rewritten options that are left over are orphans: blank them.
        for (option, slots) in optionLines where rewritten.contains(option) {
            for i in slots { lines[i] = "" }
        }
        var content = ""
        var wasEmpty = false
        for line in lines {
            if line.isEmpty {
                if wasEmpty { continue }
                wasEmpty = true
            } else {
                wasEmpty = false
            }
            content += line + "\n"
        }
        return content
    }


    /// Redis's rewriteConfigOverwriteFile: a temporary file beside the config, synced,
    /// then renamed over it. Returns the error text on failure.
    static func overwriteFile(_ path: String, _ content: String) -> String? {
        var template = Array((path + ".XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd == -1 { return String(cString: strerror(errno)) }
        let tmpPath = stringFromCBuffer(template)
        var failure: String? = nil
        let bytes = Array(content.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n <= 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            offset += n
        }
        if failure == nil {
            let mask = umask(0)
            umask(mask)
            if fsync(fd) != 0 || fchmod(fd, 0o644 & ~mask) != 0 || Glibc.rename(tmpPath, path) != 0 {
                failure = String(cString: strerror(errno))
            }
        }
        close(fd)
        if failure != nil { unlink(tmpPath) }
        return failure
    }

    // MARK: HELP

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "config", lines: [
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ])
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
        if old.maxmemory != new.maxmemory && new.maxmemory != 0 { maxmemoryChanged() }
        if old.replBacklogSize != new.replBacklogSize { resizeReplicationBacklog() }
        if old.appendonly != new.appendonly {
            if new.appendonly { _ = startAppendOnly() } else { stopAppendOnly() }
        }
        if old.minReplicasToWrite != new.minReplicasToWrite || old.minReplicasMaxLag != new.minReplicasMaxLag {
            refreshGoodReplicasCount()
        }
        // requirepass: Redis keeps existing connections authenticated; new ones must AUTH.
        acl.configChanged(old: old, new: new)
        applyProcessConfig(old: old)
    }

    /// CONFIG RESETSTAT (Redis's resetServerStats, resetCommandTableStats,
    /// resetErrorTableStats).
    func resetStats() {
        stats.reset()
        eviction.resetStats()
        repl.syncFull = 0
        repl.syncPartialOK = 0
        repl.syncPartialErr = 0
        for cmd in commands.all {
            for each in [cmd] + cmd.sortedSubcommands {
                each.calls = 0
                each.microseconds = 0
                each.rejectedCalls = 0
                each.failedCalls = 0
                each.latencyHistogram = nil
            }
        }
    }
}
