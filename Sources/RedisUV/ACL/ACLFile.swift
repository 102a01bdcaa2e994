#if canImport(Glibc)
import Glibc
#endif

/// The ACL file (ACL LOAD / ACL SAVE, aclfile) and `user` lines of redis.conf
/// (Redis's ACLLoadFromFile, ACLSaveToFile, ACLAppendUserForLoading, ACLLoadUsersAtStartup).
extension ACLState {
    /// A `user` line of redis.conf, checked now and loaded at start-up (words[0] is
    /// "user"). The error text is Redis's "Error in user declaration ..." reason.
    func appendUserForLoading(_ words: [[UInt8]]) -> String? {
        guard words.count >= 2 else { return "Error in user declaration '\(String(decoding: words.first ?? [], as: UTF8.self))': Syntax error" }
        func declError(_ j: Int, _ e: ACLRuleError) -> String {
            // (Redis quotes argv[j] of the whole line with j counted from the rules.)
            "Error in user declaration '\(String(decoding: words[min(j, words.count - 1)], as: UTF8.self))': \(e.message)"
        }
        if usersToLoad.contains(where: { $0[0] == words[1] }) { return declError(1, .duplicateUser) }
        let (mergedOrNil, open) = ACLCommand.mergeSelectorArguments(Array(words[2...]))
        guard let merged = mergedOrNil else { return declError(open, .syntax) }
        let fake = ACLUser(name: [], pubsubDefaultAll: pubsubDefaultAll)
        for (j, op) in merged.enumerated() {
            // Unknown commands are tolerated here, as Redis (modules may add them later).
            if let err = fake.apply(op, pubsubDefaultAll: pubsubDefaultAll), err != .unknownCommand {
                return declError(j, err)
            }
        }
        usersToLoad.append([words[1]] + merged)
        return nil
    }

    /// A `user` line as the config loader checks it (the lines before it given).
    static func checkUserLine(_ words: [String], previous: [[String]], pubsubDefault: String) -> String? {
        let scratch = ACLState()
        scratch.pubsubDefaultAll = pubsubDefault == "allchannels"
        for p in previous { _ = scratch.appendUserForLoading(p.map { Array($0.utf8) }) }
        return scratch.appendUserForLoading(words.map { Array($0.utf8) })
    }

    /// ACLLoadConfiguredUsers: nil, or the line to log before exiting.
    func loadConfiguredUsers() -> String? {
        for def in usersToLoad {
            let name = def[0]
            if aclHasSpaces(name) { return "Spaces not allowed in ACL usernames" }
            let u: ACLUser
            if let existing = user(named: name) {
                u = existing  // only "default" can exist already
                _ = u.apply(Array("reset".utf8), pubsubDefaultAll: pubsubDefaultAll)
            } else {
                u = newUser(name)
            }
            for rule in def.dropFirst() {
                if let err = u.apply(rule, pubsubDefaultAll: pubsubDefaultAll) {
                    return "Error loading ACL rule '\(String(decoding: rule, as: UTF8.self))' for the user named '\(String(decoding: name, as: UTF8.self))': \(err.message)"
                }
            }
        }
        return nil
    }

    /// The ACL file's text: one `user` line per user, in name order.
    var fileText: String {
        sortedUsers.map { $0.configLine + "\n" }.joined()
    }

    /// Parses an ACL file into a fresh set of users; the errors as ACL LOAD reports them.
    func parseFile(_ text: [UInt8], filename: String) -> (users: [[UInt8]: ACLUser], errors: String) {
        var errors = ""
        var newUsers: [[UInt8]: ACLUser] = [:]
        let lines = text.split(separator: 10, omittingEmptySubsequences: false)
        for (i, raw) in lines.enumerated() {
            let linenum = i + 1
            var line = Array(raw)
            while let f = line.first, [32, 9, 13, 10].contains(f) { line.removeFirst() }
            while let l = line.last, [32, 9, 13, 10].contains(l) { line.removeLast() }
            if line.isEmpty { continue }
            // sdssplitlen on single spaces: empty words between double spaces stay.
            let argv = line.split(separator: 32, omittingEmptySubsequences: false).map(Array.init)
            if argv.isEmpty { continue }
            if argv[0] != Array("user".utf8) || argv.count < 2 {
                errors += "\(filename):\(linenum) should start with user keyword followed by the username. "
                continue
            }
            if aclHasSpaces(argv[1]) {
                errors += "'\(filename):\(linenum): username '\(String(decoding: argv[1], as: UTF8.self))' contains invalid characters. "
                continue
            }
            if newUsers[argv[1]] != nil {
                errors += "WARNING: Duplicate user '\(String(decoding: argv[1], as: UTF8.self))' found on line \(linenum). "
                continue
            }
            let u = ACLUser(name: argv[1], pubsubDefaultAll: pubsubDefaultAll)
            newUsers[argv[1]] = u
            let (mergedOrNil, _) = ACLCommand.mergeSelectorArguments(Array(argv[2...]))
            guard let merged = mergedOrNil else {
                errors += "\(filename):\(linenum): Unmatched parenthesis in selector definition."
                continue
            }
            var syntaxError = false
            for var op in merged {
                while let l = op.last, [9, 13, 10].contains(l) { op.removeLast() }
                while let f = op.first, [9, 13, 10].contains(f) { op.removeFirst() }
                guard let err = u.apply(op, pubsubDefaultAll: pubsubDefaultAll) else { continue }
                if err == .unknownCommand {
                    // A missing command is named; other errors could reveal a secret, and
                    // only the first of a line is told.
                    errors += "\(filename):\(linenum): Error in applying operation '\(String(decoding: op, as: UTF8.self))': \(err.message). "
                } else if !syntaxError {
                    errors += "\(filename):\(linenum): \(err.message). "
                    syntaxError = true
                }
            }
        }
        return (newUsers, errors)
    }
}

extension Server {
    /// ACL LOAD and start-up: nil when loaded; else every problem, and nothing changed.
    /// Users that are replaced lose their clients (the default user's are kept).
    func aclLoadFromFile(_ filename: String, current: Client?) -> String? {
        guard let text = readWholeFileBytes(filename) else {
            return "Error loading ACLs, opening file '\(filename)': \(String(cString: strerror(errno)))"
        }
        let (newUsers, errors) = acl.parseFile(text, filename: filename)
        if !errors.isEmpty {
            return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        }
        let old = acl.users
        var installed = newUsers
        if installed[acl.defaultUser.name] == nil { installed[acl.defaultUser.name] = ACLState.makeDefaultUser() }
        acl.replaceUsers(installed)
        for (name, u) in old where name != acl.defaultUser.name { killClients(of: u, current: current) }
        return nil
    }

    /// ACL SAVE: written to a temporary file then renamed over the ACL file, so a reader
    /// never sees half a file.
    func aclSaveToFile(_ filename: String) -> Bool {
        let tmp = "\(filename).tmp-\(getpid())-\(cachedTimeMs)"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd == -1 {
            log.warning("Opening temp ACL file for ACL SAVE: \(String(cString: strerror(errno)))")
            return false
        }
        let bytes = Array(acl.fileText.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if written != bytes.count {
            log.warning("Writing ACL file for ACL SAVE: \(String(cString: strerror(errno)))")
            close(fd)
            unlink(tmp)
            return false
        }
        close(fd)
        if rename(tmp, filename) == -1 {
            log.warning("Renaming ACL file for ACL SAVE: \(String(cString: strerror(errno)))")
            unlink(tmp)
            return false
        }
        return true
    }

    /// ACLLoadUsersAtStartup: false (after logging why) when the server must not start.
    func aclLoadUsersAtStartup() -> Bool {
        if !config.aclfile.isEmpty && !acl.usersToLoad.isEmpty {
            log.warning("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
            return false
        }
        if let err = acl.loadConfiguredUsers() {
            log.warning(err)
            log.warning("Critical error while loading ACLs. Exiting.")
            return false
        }
        if !config.aclfile.isEmpty, let errors = aclLoadFromFile(config.aclfile, current: nil) {
            log.warning("Aborting Redis startup because of ACL errors: \(errors)")
            return false
        }
        return true
    }
}

/// A whole file's bytes, or nil (errno set).
func readWholeFileBytes(_ path: String) -> [UInt8]? {
    guard let f = fopen(path, "r") else { return nil }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n > 0 { out.append(contentsOf: buf[0..<n]) }
        if n < buf.count { break }
    }
    return out
}
