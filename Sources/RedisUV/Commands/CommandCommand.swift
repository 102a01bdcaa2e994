/// COMMAND and its subcommands (Redis 7.0's commandCommand family in server.c), answered
/// from our own command table: only what we implement is listed, with Redis's facts about
/// it (CommandSpec). Reply shapes are addReplyCommandInfo / addReplyCommandDocs /
/// addReplyFlagsForKeyArgs of Redis 7.0.15, in RESP2 and RESP3 (sets where Redis uses sets).
///
/// Order: Redis lists commands in its dict's hash order, which changes with every process
/// (the hash seed is random), so no client can depend on it; we list them by name.
enum CommandCommand {
    static let table: [CommandImpl] = [
        CommandImpl("command", command),
        CommandImpl("command|count", count),
        CommandImpl("command|list", list),
        CommandImpl("command|info", info),
        CommandImpl("command|docs", docs),
        CommandImpl("command|getkeys", getkeys),
        CommandImpl("command|getkeysandflags", getkeysAndFlags),
        CommandImpl("command|help", help),
    ]

    // MARK: COMMAND, COUNT, LIST

    /// Bare COMMAND: the INFO of every command.
    static func command(_ c: Client, _ argv: Argv) {
        let all = c.server.commands.all
        c.addReplyArrayLen(all.count)
        for cmd in all { addReplyCommandInfo(c, cmd) }
    }

    static func count(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.server.commands.count)
    }

    /// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
    /// (Redis's commandListCommand): full names, subcommands right after their container.
    static func list(_ c: Client, _ argv: Argv) {
        var filter: ((RedisCommand) -> Bool)? = nil
        var i = 2
        while i < argv.count {
            let moreArgs = argv.count - 1 - i
            guard argv.equals(i, "filterby") && moreArgs == 2 else {
                c.addReplyErrorSyntax()
                return
            }
            let arg = argv.bytes(i + 2)
            if argv.equals(i + 1, "module") {
                // No modules can be loaded, so no command belongs to one.
                filter = { _ in false }
            } else if argv.equals(i + 1, "aclcat") {
                // ACLGetCommandCategoryFlagByName: case-insensitive; unknown lists nothing.
                let name = String(decoding: arg, as: UTF8.self).lowercased()
                let known = CommandACLCategories.ordered.contains(name)
                filter = { known && $0.spec.aclCategories.contains("@" + name) }
            } else if argv.equals(i + 1, "pattern") {
                filter = { cmd in
                    arg.withUnsafeBytes { p in
                        Array(cmd.fullName.utf8).withUnsafeBytes { globMatch(pattern: p, string: $0, noCase: true) }
                    }
                }
            } else {
                c.addReplyErrorSyntax()
                return
            }
            i += 3
        }
        var names: [String] = []
        for cmd in c.server.commands.all {
            for each in [cmd] + cmd.sortedSubcommands where filter?(each) ?? true {
                names.append(each.fullName)
            }
        }
        c.addReplyBulkArray(names)
    }

    // MARK: INFO

    /// COMMAND INFO [name ...]: one entry per name, null for names we do not know.
    static func info(_ c: Client, _ argv: Argv) {
        if argv.count == 2 {
            command(c, argv)
            return
        }
        c.addReplyArrayLen(argv.count - 2)
        for i in 2..<argv.count {
            if let cmd = lookupBySds(c.server.commands, argv.string(i)) {
                addReplyCommandInfo(c, cmd)
            } else {
                c.addReplyNull()
            }
        }
    }

    /// Redis's lookupCommandBySds: "get" or "config|get" (one level of subcommands,
    /// case-insensitive; "config|" or "get|x" or "a|b|c" find nothing).
    static func lookupBySds(_ table: CommandTable, _ name: String) -> RedisCommand? {
        let parts = name.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        if name.isEmpty || parts.count > 2 { return nil }
        guard let base = table.lookup(parts[0]) else { return nil }
        if parts.count == 1 { return base }
        guard base.isContainer else { return nil }
        return Array(parts[1].utf8).withUnsafeBytes { base.subcommand($0) }
    }

    /// Redis's addReplyCommandInfo: a 10-element array.
    static func addReplyCommandInfo(_ c: Client, _ cmd: RedisCommand) {
        let spec = cmd.spec
        c.addReplyArrayLen(10)
        c.addReplyBulk(spec.fullName)
        c.addReplyInt(spec.arity)
        addReplyStatusSet(c, spec.flags.redisNames)
        c.addReplyInt(spec.firstKey)
        c.addReplyInt(spec.lastKey)
        c.addReplyInt(spec.keyStep)
        addReplyStatusSet(c, spec.aclCategories)
        // Tips are bulk strings in a set (addReplyCommandTips).
        c.addReplySetLen(spec.tips.count)
        for tip in spec.tips { c.addReplyBulk(tip) }
        addReplyCommandKeySpecs(c, spec)
        // Subcommands: an array of INFO entries, or an empty set when there are none.
        if cmd.isContainer {
            let subs = cmd.sortedSubcommands
            c.addReplyArrayLen(subs.count)
            for sub in subs { addReplyCommandInfo(c, sub) }
        } else {
            c.addReplySetLen(0)
        }
    }

    /// A set of status replies (addReplyCommandFlags and friends).
    static func addReplyStatusSet(_ c: Client, _ names: [String]) {
        c.addReplySetLen(names.count)
        for n in names { c.addReplyStatus(n) }
    }

    /// Redis's addReplyCommandKeySpecs.
    static func addReplyCommandKeySpecs(_ c: Client, _ spec: CommandSpec) {
        c.addReplySetLen(spec.keySpecs.count)
        for ks in spec.keySpecs {
            c.addReplyMapLen(ks.notes == nil ? 3 : 4)
            if let notes = ks.notes {
                c.addReplyBulk("notes")
                c.addReplyBulk(notes)
            }
            c.addReplyBulk("flags")
            addReplyStatusSet(c, ks.flags)
            c.addReplyBulk("begin_search")
            c.addReplyMapLen(2)
            c.addReplyBulk("type")
            switch ks.beginSearch {
            case .unknown:
                c.addReplyBulk("unknown")
                c.addReplyBulk("spec")
                c.addReplyMapLen(0)
            case .index(let pos):
                c.addReplyBulk("index")
                c.addReplyBulk("spec")
                c.addReplyMapLen(1)
                c.addReplyBulk("index")
                c.addReplyInt(pos)
            case .keyword(let keyword, let startFrom):
                c.addReplyBulk("keyword")
                c.addReplyBulk("spec")
                c.addReplyMapLen(2)
                c.addReplyBulk("keyword")
                c.addReplyBulk(keyword)
                c.addReplyBulk("startfrom")
                c.addReplyInt(startFrom)
            }
            c.addReplyBulk("find_keys")
            c.addReplyMapLen(2)
            c.addReplyBulk("type")
            switch ks.findKeys {
            case .unknown:
                c.addReplyBulk("unknown")
                c.addReplyBulk("spec")
                c.addReplyMapLen(0)
            case .range(let lastKey, let step, let limit):
                c.addReplyBulk("range")
                c.addReplyBulk("spec")
                c.addReplyMapLen(3)
                c.addReplyBulk("lastkey")
                c.addReplyInt(lastKey)
                c.addReplyBulk("keystep")
                c.addReplyInt(step)
                c.addReplyBulk("limit")
                c.addReplyInt(limit)
            case .keynum(let keyNumIndex, let firstKey, let step):
                c.addReplyBulk("keynum")
                c.addReplyBulk("spec")
                c.addReplyMapLen(3)
                c.addReplyBulk("keynumidx")
                c.addReplyInt(keyNumIndex)
                c.addReplyBulk("firstkey")
                c.addReplyInt(firstKey)
                c.addReplyBulk("keystep")
                c.addReplyInt(step)
            }
        }
    }

    // MARK: DOCS

    /// COMMAND DOCS [name ...]: a map from full name to docs; unknown names are skipped.
    static func docs(_ c: Client, _ argv: Argv) {
        var found: [RedisCommand] = []
        if argv.count == 2 {
            found = c.server.commands.all
        } else {
            for i in 2..<argv.count {
                if let cmd = lookupBySds(c.server.commands, argv.string(i)) { found.append(cmd) }
            }
        }
        c.addReplyMapLen(found.count)
        for cmd in found {
            c.addReplyBulk(cmd.fullName)
            addReplyCommandDocs(c, cmd)
        }
    }

    /// Redis's addReplyCommandDocs: only the fields the command has, in this order.
    static func addReplyCommandDocs(_ c: Client, _ cmd: RedisCommand) {
        let s = cmd.spec
        var fields = 1  // group is always there
        if !s.summary.isEmpty { fields += 1 }
        if !s.since.isEmpty { fields += 1 }
        if !s.complexity.isEmpty { fields += 1 }
        if !s.docFlags.isEmpty { fields += 1 }
        if s.deprecatedSince != nil { fields += 1 }
        if s.replacedBy != nil { fields += 1 }
        if !s.history.isEmpty { fields += 1 }
        if !s.arguments.isEmpty { fields += 1 }
        if cmd.isContainer { fields += 1 }
        c.addReplyMapLen(fields)
        if !s.summary.isEmpty {
            c.addReplyBulk("summary")
            c.addReplyBulk(s.summary)
        }
        if !s.since.isEmpty {
            c.addReplyBulk("since")
            c.addReplyBulk(s.since)
        }
        c.addReplyBulk("group")
        c.addReplyBulk(s.group)
        if !s.complexity.isEmpty {
            c.addReplyBulk("complexity")
            c.addReplyBulk(s.complexity)
        }
        if !s.docFlags.isEmpty {
            c.addReplyBulk("doc_flags")
            addReplyStatusSet(c, s.docFlags)
        }
        if let v = s.deprecatedSince {
            c.addReplyBulk("deprecated_since")
            c.addReplyBulk(v)
        }
        if let v = s.replacedBy {
            c.addReplyBulk("replaced_by")
            c.addReplyBulk(v)
        }
        if !s.history.isEmpty {
            c.addReplyBulk("history")
            c.addReplySetLen(s.history.count)
            for h in s.history {
                c.addReplyArrayLen(2)
                c.addReplyBulk(h.since)
                c.addReplyBulk(h.change)
            }
        }
        if !s.arguments.isEmpty {
            c.addReplyBulk("arguments")
            addReplyCommandArgList(c, s.arguments)
        }
        if cmd.isContainer {
            c.addReplyBulk("subcommands")
            let subs = cmd.sortedSubcommands
            c.addReplyMapLen(subs.count)
            for sub in subs {
                c.addReplyBulk(sub.fullName)
                addReplyCommandDocs(c, sub)
            }
        }
    }

    /// Redis 7.0's addReplyCommandArgList.
    static func addReplyCommandArgList(_ c: Client, _ args: [CommandArgumentSpec]) {
        c.addReplyArrayLen(args.count)
        for a in args {
            let nested = a.type == "oneof" || a.type == "block"
            var fields = 2
            if a.keySpecIndex != nil { fields += 1 }
            if a.token != nil { fields += 1 }
            if a.summary != nil { fields += 1 }
            if a.since != nil { fields += 1 }
            if a.deprecatedSince != nil { fields += 1 }
            if !a.flags.isEmpty { fields += 1 }
            if nested { fields += 1 }
            c.addReplyMapLen(fields)
            c.addReplyBulk("name")
            c.addReplyBulk(a.name)
            c.addReplyBulk("type")
            c.addReplyBulk(a.type)
            if let v = a.keySpecIndex {
                c.addReplyBulk("key_spec_index")
                c.addReplyInt(v)
            }
            if let v = a.token {
                c.addReplyBulk("token")
                c.addReplyBulk(v)
            }
            if let v = a.summary {
                c.addReplyBulk("summary")
                c.addReplyBulk(v)
            }
            if let v = a.since {
                c.addReplyBulk("since")
                c.addReplyBulk(v)
            }
            if let v = a.deprecatedSince {
                c.addReplyBulk("deprecated_since")
                c.addReplyBulk(v)
            }
            if !a.flags.isEmpty {
                c.addReplyBulk("flags")
                addReplyStatusSet(c, a.flags.redisNames)
            }
            if nested {
                c.addReplyBulk("arguments")
                addReplyCommandArgList(c, a.arguments)
            }
        }
    }

    // MARK: GETKEYS, GETKEYSANDFLAGS

    static func getkeys(_ c: Client, _ argv: Argv) { getKeysSubcommand(c, argv, withFlags: false) }
    static func getkeysAndFlags(_ c: Client, _ argv: Argv) { getKeysSubcommand(c, argv, withFlags: true) }

    /// Redis's getKeysSubcommandImpl: the command is argv[2...].
    static func getKeysSubcommand(_ c: Client, _ argv: Argv, withFlags: Bool) {
        let args = (2..<argv.count).map { argv.bytes($0) }
        // lookupCommand (not strict): a container with a second word looks up the subcommand.
        var cmd = c.server.commands.lookup(argv[2])
        if let base = cmd, base.isContainer, args.count > 1 {
            cmd = base.subcommand(argv[3])
        }
        guard let cmd else {
            c.addReplyError("Invalid command specified")
            return
        }
        let spec = cmd.spec
        guard KeyExtraction.hasKeys(spec) else {
            c.addReplyError("The command has no key arguments")
            return
        }
        if (spec.arity > 0 && spec.arity != args.count) || args.count < -spec.arity {
            c.addReplyError("Invalid number of arguments specified for command")
            return
        }
        let keys = KeyExtraction.keys(spec, args)
        if keys.isEmpty {
            if spec.flags.contains(.noMandatoryKeys) {
                c.addReplyArrayLen(0)
            } else {
                c.addReplyError("Invalid arguments specified for command")
            }
            return
        }
        c.addReplyArrayLen(keys.count)
        for k in keys {
            if withFlags {
                c.addReplyArrayLen(2)
                c.addReplyBulk(args[k.position])
                addReplyStatusSet(c, k.flags)
            } else {
                c.addReplyBulk(args[k.position])
            }
        }
    }

    // MARK: HELP

    static func help(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "command", lines: [
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ])
    }
}

/// Which arguments of a command are keys, as Redis 7.0.15's getKeysFromCommandWithSpecs
/// (db.c) finds them: the key specs when they are complete and their flags fixed, else the
/// command's own getkeys function (Redis's *GetKeys in db.c), kept here by command name.
enum KeyExtraction {
    struct KeyRef: Equatable {
        /// Index into the command's arguments (0 = the command name).
        let position: Int
        /// Key spec flags as COMMAND INFO prints them ("RW", "access", ...).
        let flags: [String]
    }

    /// Redis's doesCommandHaveKeys: a getkeys function, or a key spec that is not NOT_KEY.
    static func hasKeys(_ spec: CommandSpec) -> Bool {
        getKeysFunctions[spec.fullName] != nil || spec.keySpecs.contains { !$0.hasFlag("not_key") }
    }

    /// Redis's getKeysFromCommandWithSpecs with GET_KEYSPEC_DEFAULT. `args[0]` is the
    /// command name. Empty when the arguments hold no key (or are invalid).
    static func keys(_ spec: CommandSpec, _ args: [[UInt8]]) -> [KeyRef] {
        let hasKeySpec = spec.keySpecs.contains { !$0.hasFlag("not_key") }
        let hasVariableFlags = spec.keySpecs.contains { $0.hasFlag("variable_flags") }
        if hasKeySpec && !hasVariableFlags, let found = keysUsingKeySpecs(spec, args) {
            return found
        }
        // The specs were incomplete or invalid for these arguments: the getkeys function.
        return getKeysFunctions[spec.fullName]?(args) ?? []
    }

    /// Redis's getKeysUsingKeySpecs: nil where Redis returns -1 (an unknown or incomplete
    /// spec, or positions out of bounds).
    static func keysUsingKeySpecs(_ spec: CommandSpec, _ args: [[UInt8]]) -> [KeyRef]? {
        let argc = args.count
        var result: [KeyRef] = []
        for ks in spec.keySpecs {
            if ks.hasFlag("not_key") { continue }
            var first = 0
            switch ks.beginSearch {
            case .index(let pos):
                first = pos
            case .keyword(let keyword, let startFrom):
                let start = startFrom > 0 ? startFrom : argc + startFrom
                let end = startFrom > 0 ? argc - 1 : 1
                var i = start
                while i != end {
                    if i >= argc || i < 1 { break }
                    if asciiEqualIgnoringCase(args[i], keyword) {
                        first = i + 1
                        break
                    }
                    i = start <= end ? i + 1 : i - 1
                }
                if first == 0 { continue }  // keyword not found: this spec has no keys
            case .unknown:
                return nil
            }
            let last: Int
            let step: Int
            switch ks.findKeys {
            case .range(let lastKey, let keyStep, let limit):
                step = keyStep
                if lastKey >= 0 {
                    last = first + lastKey
                } else if limit == 0 {
                    last = argc + lastKey
                } else {
                    last = first + ((argc - first) / limit + lastKey)
                }
            case .keynum(let keyNumIndex, let firstKey, let keyStep):
                step = keyStep
                // (Redis checks keynumidx alone against argc; the full index is checked
                // here too so that a short command cannot read past its arguments.)
                guard keyNumIndex < argc, first + keyNumIndex < argc,
                      let n = parseStrictInt(args[first + keyNumIndex]), n >= 0 else { return nil }
                first += firstKey
                last = first + Int(Int32(truncatingIfNeeded: n)) - 1
            case .unknown:
                return nil
            }
            if last >= argc || last < first || first >= argc { return nil }
            var i = first
            while i <= last {
                result.append(KeyRef(position: i, flags: ks.flags))
                i += step
            }
            if ks.hasFlag("incomplete") { return nil }
        }
        return result
    }

    static func parseStrictInt(_ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBytes { RedisUV.parseStrictInt($0) }
    }

    static func asciiEqualIgnoringCase(_ a: [UInt8], _ b: String) -> Bool {
        let bb = Array(b.utf8)
        return a.count == bb.count && zip(a, bb).allSatisfy { asciiLower($0) == asciiLower($1) }
    }

    typealias GetKeysFunction = @Sendable ([[UInt8]]) -> [KeyRef]

    /// The commands that have a getkeys function in Redis 7.0.15 (get_keys_function in its
    /// command JSON), with that function's logic and flags.
    static let getKeysFunctions: [String: GetKeysFunction] = [
        "set": setGetKeys,
        "bitfield": bitfieldGetKeys,
        "sort": sortGetKeys,
        "sort_ro": { _ in [KeyRef(position: 1, flags: ["RO", "access"])] },
        "migrate": migrateGetKeys,
        "georadius": georadiusGetKeys,
        "georadiusbymember": georadiusGetKeys,
        "xread": xreadGetKeys,
        "xreadgroup": xreadGetKeys,
        "eval": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "eval_ro": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "evalsha": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "evalsha_ro": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "fcall": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "fcall_ro": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "sintercard": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zunion": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zinter": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zdiff": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zintercard": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zunionstore": { genericGetKeys(store: 1, count: 2, first: 3, step: 1, $0) },
        "zinterstore": { genericGetKeys(store: 1, count: 2, first: 3, step: 1, $0) },
        "zdiffstore": { genericGetKeys(store: 1, count: 2, first: 3, step: 1, $0) },
        "lmpop": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "zmpop": { genericGetKeys(store: 0, count: 1, first: 2, step: 1, $0) },
        "blmpop": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
        "bzmpop": { genericGetKeys(store: 0, count: 2, first: 3, step: 1, $0) },
    ]

    /// Redis's genericGetKeys: `COMMAND [destkey] <num-keys> <key> ...`; no flags.
    static func genericGetKeys(store: Int, count: Int, first: Int, step: Int, _ args: [[UInt8]]) -> [KeyRef] {
        let num = atoi(args[count])
        if num < 1 || num > (args.count - first) / step { return [] }
        var keys = (0..<num).map { KeyRef(position: first + $0 * step, flags: []) }
        if store != 0 { keys.append(KeyRef(position: store, flags: [])) }
        return keys
    }

    /// C's atoi as Redis calls it: leading blanks, a sign, digits up to the first non-digit.
    static func atoi(_ bytes: [UInt8]) -> Int {
        var i = 0
        while i < bytes.count, [9, 10, 11, 12, 13, 32].contains(bytes[i]) { i += 1 }
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var n: Int32 = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            n = n &* 10 &+ Int32(bytes[i] - 48)
            i += 1
        }
        return Int(negative ? 0 &- n : n)
    }

    /// Redis's setGetKeys: read-write when a GET argument is present.
    static func setGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        for i in 3..<max(3, args.count) where asciiEqualIgnoringCase(args[i], "get") {
            return [KeyRef(position: 1, flags: ["RW", "access", "update"])]
        }
        return [KeyRef(position: 1, flags: ["OW", "update"])]
    }

    /// Redis's bitfieldGetKeys: read-only when only GET (and OVERFLOW) operations appear.
    static func bitfieldGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        var readonly = true
        var i = 2
        while i < args.count {
            let remaining = args.count - i - 1
            if asciiEqualIgnoringCase(args[i], "get") && remaining >= 2 {
                i += 2
            } else if (asciiEqualIgnoringCase(args[i], "set") || asciiEqualIgnoringCase(args[i], "incrby")) && remaining >= 3 {
                readonly = false
                break
            } else if asciiEqualIgnoringCase(args[i], "overflow") && remaining >= 1 {
                i += 1
            } else {
                readonly = false
                break
            }
            i += 1
        }
        return [KeyRef(position: 1, flags: readonly ? ["RO", "access"] : ["RW", "access", "update"])]
    }

    /// Redis's sortGetKeys: the sorted key, plus the last STORE destination.
    static func sortGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        var keys = [KeyRef(position: 1, flags: ["RO", "access"])]
        var store: Int? = nil
        let skips: [(String, Int)] = [("limit", 2), ("get", 1), ("by", 1)]
        var i = 2
        while i < args.count {
            // Redis tests STORE inside its loop over the skip list, so it is only seen when
            // the argument is not "limit" (the first entry): same result.
            for (name, skip) in skips {
                if asciiEqualIgnoringCase(args[i], name) {
                    i += skip
                    break
                } else if asciiEqualIgnoringCase(args[i], "store") && i + 1 < args.count {
                    store = i + 1
                    break
                }
            }
            i += 1
        }
        if let store { keys.append(KeyRef(position: store, flags: ["OW", "update"])) }
        return keys
    }

    /// Redis's migrateGetKeys: argv[3], or the keys after KEYS when argv[3] is empty.
    static func migrateGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        var first = 3
        var num = 1
        if args.count > 6 {
            let skips: [(String, Int)] = [("copy", 0), ("replace", 0), ("auth", 1), ("auth2", 2)]
            var i = 6
            while i < args.count {
                if asciiEqualIgnoringCase(args[i], "keys") {
                    if !args[3].isEmpty {
                        num = 0
                    } else {
                        first = i + 1
                        num = args.count - first
                    }
                    break
                }
                for (name, skip) in skips where asciiEqualIgnoringCase(args[i], name) {
                    i += skip
                    break
                }
                i += 1
            }
        }
        return (0..<num).map { KeyRef(position: first + $0, flags: ["RW", "access", "delete"]) }
    }

    /// Redis's georadiusGetKeys: the key, plus the last STORE/STOREDIST destination.
    static func georadiusGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        var stored = -1
        var i = 5
        while i < args.count {
            if (asciiEqualIgnoringCase(args[i], "store") || asciiEqualIgnoringCase(args[i], "storedist")) && i + 1 < args.count {
                stored = i + 1
                i += 1
            }
            i += 1
        }
        var keys = [KeyRef(position: 1, flags: [])]
        if stored != -1 { keys.append(KeyRef(position: stored, flags: [])) }
        return keys
    }

    /// Redis's xreadGetKeys: the first half of the arguments after STREAMS.
    static func xreadGetKeys(_ args: [[UInt8]]) -> [KeyRef] {
        var streamsPos = -1
        var i = 1
        while i < args.count {
            let a = args[i]
            if asciiEqualIgnoringCase(a, "block") || asciiEqualIgnoringCase(a, "count") {
                i += 1
            } else if asciiEqualIgnoringCase(a, "group") {
                i += 2
            } else if asciiEqualIgnoringCase(a, "noack") {
            } else if asciiEqualIgnoringCase(a, "streams") {
                streamsPos = i
                break
            } else {
                break
            }
            i += 1
        }
        guard streamsPos != -1 else { return [] }
        let num = args.count - streamsPos - 1
        if num == 0 || num % 2 != 0 { return [] }
        return (0..<(num / 2)).map { KeyRef(position: streamsPos + 1 + $0, flags: []) }
    }
}
