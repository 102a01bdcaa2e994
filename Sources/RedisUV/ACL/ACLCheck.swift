/// Permission checks (Redis's ACLCheckAllUserCommandPerm and friends): the command bit,
/// then the keys found through the command table's key specs (read and write access
/// checked apart, for %R~ and %W~), then Pub/Sub channels.

/// Why a command was refused; the values order the choice between selectors as Redis's
/// ACL_DENIED_* constants do.
enum ACLDenialReason: Int {
    case command = 1
    case key = 2
    case auth = 3
    case channel = 4

    var logName: String {
        switch self {
        case .command: return "command"
        case .key: return "key"
        case .auth: return "auth"
        case .channel: return "channel"
        }
    }
}

struct ACLDenial: Equatable {
    let reason: ACLDenialReason
    /// The argument (key or channel) that was refused; 0 for a refused command.
    let argIndex: Int

    /// The -NOPERM reply of processCommand (Redis 7.0 texts).
    func noPermMessage(commandName: String) -> String {
        switch reason {
        case .command: return "-NOPERM this user has no permissions to run the '\(commandName)' command"
        case .key: return "-NOPERM this user has no permissions to access one of the keys used as arguments"
        case .channel: return "-NOPERM this user has no permissions to access one of the channels used as arguments"
        case .auth: return "-NOPERM"
        }
    }
}

/// The arguments a check looks at, wherever they come from (a client's Argv, a script's
/// argument list).
protocol ACLArguments {
    var count: Int { get }
    func withArg<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R
}

extension Argv: ACLArguments {
    @inline(__always) func withArg<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R { body(self[i]) }
}

extension Array: ACLArguments where Element == [UInt8] {
    func withArg<R>(_ i: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R { self[i].withUnsafeBytes(body) }
}

/// The one entry point other subsystems (scripting's acl_check_cmd, ACL DRYRUN, the
/// dispatcher, EXEC) call: nil when `user` may run `cmd` with these arguments.
func aclCheckCommand<A: ACLArguments>(user: ACLUser, cmd: RedisCommand, argv: A) -> ACLDenial? {
    aclCheckCommand(user: user, id: cmd.aclID, argv: argv)
}

func aclCheckCommand<A: ACLArguments>(user: ACLUser, id: Int, argv: A) -> ACLDenial? {
    if !user.needsCheck { return nil }
    var relevant = ACLDenialReason.command
    var localIdx = 0, lastIdx = 0
    var keys: [KeyExtraction.KeyRef]? = nil
    let entry = ACLCommandIndex.entries[id]
    let allowed: Bool = user.selectors.withUnsafeBufferPointer { selectors in
        for i in 0..<selectors.count {
            guard let reason = selectors[i].check(entry, argv: argv, keys: &keys, idx: &localIdx) else { return true }
            if reason.rawValue > relevant.rawValue || (reason == relevant && localIdx > lastIdx) {
                relevant = reason
                lastIdx = localIdx
            }
        }
        return false
    }
    return allowed ? nil : ACLDenial(reason: relevant, argIndex: lastIdx)
}

extension ACLSelector {
    /// Redis's ACLSelectorCheckCmd. `keys` caches the key positions between selectors.
    func check<A: ACLArguments>(_ entry: ACLCommandIndex.Entry, argv: A, keys: inout [KeyExtraction.KeyRef]?,
                                idx: inout Int) -> ACLDenialReason? {
        let id = entry.id
        if !allCommands && !entry.spec.flags.contains(.noAuth) && !allowed.contains(id) {
            // Maybe allowed for this first argument only (+select|0).
            guard argv.count >= 2, let args = firstArgs[id] else { return .command }
            let at = entry.parentID != nil ? 2 : 1
            guard at < argv.count else { return .command }
            let ok = argv.withArg(at) { a in args.contains { f in f.withUnsafeBytes { bytesEqualIgnoringCase($0, a) } } }
            if !ok { return .command }
        }
        if !allKeys && entry.hasKeys {
            if id == ACLCommandIndex.setID {
                // SET's one key (setGetKeys): written, and read too with GET.
                var get = false
                var i = 3
                while i < argv.count && !get {
                    get = argv.withArg(i) { bytesEqualIgnoringCase($0, "get") }
                    i += 1
                }
                if !argv.withArg(1, { checkKey($0, read: get, write: true) }) {
                    idx = 1
                    return .key
                }
                return checkChannels(entry, argv, &idx)
            }
            if let simple = entry.simpleKeySpecs {
                // The common case straight off the arguments: no key list is built.
                if let bad = firstDeniedKey(simple, argv) {
                    idx = bad
                    return .key
                }
                return checkChannels(entry, argv, &idx)
            }
            if keys == nil { keys = aclKeys(entry, argv) }
            for k in keys! {
                let ok = argv.withArg(k.position) { checkKey($0, read: k.read, write: k.write) }
                if !ok {
                    idx = k.position
                    return .key
                }
            }
        }
        return checkChannels(entry, argv, &idx)
    }

    /// The simple key specs' keys (getKeysUsingKeySpecs); the first refused, or nil.
    @inline(__always)
    func firstDeniedKey<A: ACLArguments>(_ specs: [ACLCommandIndex.SimpleKeySpec], _ argv: A) -> Int? {
        let argc = argv.count
        // Any spec out of bounds means no keys at all (Redis's getkeys fallback, which
        // these commands lack), so every range is checked before any key is.
        for ks in specs {
            let (first, last) = ks.range(argc)
            if last >= argc || last < first || first >= argc { return nil }
        }
        for ks in specs {
            let (first, last) = ks.range(argc)
            var i = first
            while i <= last {
                if !argv.withArg(i, { checkKey($0, read: ks.read, write: ks.write) }) { return i }
                i += ks.step
            }
        }
        return nil
    }

    func checkChannels<A: ACLArguments>(_ entry: ACLCommandIndex.Entry, _ argv: A, _ idx: inout Int) -> ACLDenialReason? {
        if !allChannels && entry.channelArgs != .none {
            let range: Range<Int>
            switch entry.channelArgs {
            case .first: range = 1..<min(2, argv.count)
            default: range = 1..<argv.count
            }
            let literal = entry.channelArgs == .allLiteral
            for j in range where !argv.withArg(j, { checkChannel($0, literal: literal) }) {
                idx = j
                return .channel
            }
        }
        return nil
    }

    /// Redis's ACLSelectorCheckKey.
    func checkKey(_ key: UnsafeRawBufferPointer, read: Bool, write: Bool) -> Bool {
        if allKeys { return true }
        for p in keyPatterns {
            if (read && !p.read) || (write && !p.write) { continue }
            if p.pattern.withUnsafeBytes({ globMatch(pattern: $0, string: key) }) { return true }
        }
        return false
    }

    /// Redis's ACLCheckChannelAgainstList (PSUBSCRIBE patterns compare literally).
    func checkChannel(_ channel: UnsafeRawBufferPointer, literal: Bool) -> Bool {
        if allChannels { return true }
        for p in channels {
            let ok = p.withUnsafeBytes { pb in
                literal ? pb.elementsEqual(channel) : globMatch(pattern: pb, string: channel)
            }
            if ok { return true }
        }
        return false
    }
}

extension KeyExtraction.KeyRef {
    /// CMD_KEY_ACCESS needs read permission; INSERT, DELETE and UPDATE need write.
    var read: Bool { flags.contains("access") }
    var write: Bool { flags.contains("insert") || flags.contains("delete") || flags.contains("update") }
}

/// The keys of a command (getKeysFromCommandWithSpecs). The common case, key specs that
/// are all index+range with fixed flags, is computed straight off the arguments.
func aclKeys<A: ACLArguments>(_ entry: ACLCommandIndex.Entry, _ argv: A) -> [KeyExtraction.KeyRef] {
    if entry.id == ACLCommandIndex.setID {
        // SET's variable flags (setGetKeys) without copying the arguments: GET also reads.
        var get = false
        var i = 3
        while i < argv.count && !get {
            get = argv.withArg(i) { bytesEqualIgnoringCase($0, "get") }
            i += 1
        }
        return [get ? ACLCommandIndex.setGetKeyRef : ACLCommandIndex.setKeyRef]
    }
    if let simple = entry.simpleKeySpecs {
        let argc = argv.count
        var result: [KeyExtraction.KeyRef] = []
        for ks in simple {
            let (first, last) = ks.range(argc)
            // Out of bounds: Redis falls back to the getkeys function, which these lack.
            if last >= argc || last < first || first >= argc { return [] }
            var i = first
            while i <= last {
                result.append(KeyExtraction.KeyRef(position: i, flags: ks.flags))
                i += ks.step
            }
        }
        return result
    }
    let args = (0..<argv.count).map { i in argv.withArg(i) { Array($0) } }
    return KeyExtraction.keys(entry.spec, args)
}

extension Server {
    /// The dispatcher's ACL gate (processCommand's ACLCheckAllPerm), reached only for users
    /// that are not all-permissive. True when the command was refused (and logged).
    @inline(never)
    func rejectByACL(_ c: Client, _ cmd: RedisCommand, _ argv: Argv) -> Bool {
        // Inside MULTI, "Command not allowed inside a transaction" comes first.
        if c.mstate != nil && cmd.flags.contains(.noMulti) { return false }
        guard let denial = aclCheckCommand(user: c.user, cmd: cmd, argv: argv) else { return false }
        acl.addLogEntry(c, reason: denial.reason, context: c.mstate != nil ? .multi : .toplevel,
                        object: aclLogObject(denial, cmd: cmd, argv: argv), username: c.user.name)
        rejectCommand(c, cmd, denial.noPermMessage(commandName: cmd.fullName))
        return true
    }

    /// EXEC's second look (Redis's execCommand): rules may have changed since queueing.
    func execRecheckACL(_ c: Client, _ cmd: RedisCommand, _ argv: Argv) -> Bool {
        guard let denial = aclCheckCommand(user: c.user, cmd: cmd, argv: argv) else { return false }
        let reason: String
        switch denial.reason {
        case .command: reason = "no permission to execute the command or subcommand"
        case .key: reason = "no permission to touch the specified keys"
        case .channel: reason = "no permission to access one of the channels used as arguments"
        case .auth: reason = "no permission"
        }
        acl.addLogEntry(c, reason: denial.reason, context: .multi,
                        object: aclLogObject(denial, cmd: cmd, argv: argv), username: c.user.name)
        c.addReplyError("-NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: \(reason)")
        return true
    }

    func aclLogObject(_ d: ACLDenial, cmd: RedisCommand, argv: Argv) -> [UInt8] {
        d.reason == .command ? Array(cmd.fullName.utf8) : argv.bytes(d.argIndex)
    }
}
