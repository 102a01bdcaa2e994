// The command table facts: what Redis 7.0.15 knows about each command
// (arity, flags, ACL categories, key specs, docs), loaded once at startup from
// the JSON in CommandSpecs.generated.swift (see scripts/gen-command-specs.py).
//
// The derived facts that Redis computes when it builds its command table are
// computed here the same way, and were checked against a real redis-server
// 7.0.15 (COMMAND INFO / COMMAND DOCS for every command):
//   - implicit ACL categories           (setImplicitACLCategories, server.c)
//   - the movablekeys flag              (populateCommandMovableKeys, server.c)
//   - the legacy first/last/step range  (populateCommandLegacyRangeSpec, server.c)
// Names and orders of everything that COMMAND INFO / COMMAND DOCS print are the
// ones Redis prints (addReplyFlagsForCommand, addReplyFlagsForKeyArgs,
// addReplyCommandCategories, addReplyFlagsForArg, addReplyDocFlagsForCommand).

// MARK: - Command flags

/// Redis's CMD_* command flags. The bits are the ones of Redis's server.h.
struct CommandFlags: OptionSet, Sendable, Hashable {
    let rawValue: UInt64
    init(rawValue: UInt64) { self.rawValue = rawValue }

    static let write = CommandFlags(rawValue: 1 << 0)
    static let readonly = CommandFlags(rawValue: 1 << 1)
    static let denyoom = CommandFlags(rawValue: 1 << 2)
    static let module = CommandFlags(rawValue: 1 << 3)
    static let admin = CommandFlags(rawValue: 1 << 4)
    static let pubsub = CommandFlags(rawValue: 1 << 5)
    static let noscript = CommandFlags(rawValue: 1 << 6)
    static let blocking = CommandFlags(rawValue: 1 << 8)
    static let loading = CommandFlags(rawValue: 1 << 9)
    static let stale = CommandFlags(rawValue: 1 << 10)
    static let skipMonitor = CommandFlags(rawValue: 1 << 11)
    static let skipSlowlog = CommandFlags(rawValue: 1 << 12)
    static let asking = CommandFlags(rawValue: 1 << 13)
    static let fast = CommandFlags(rawValue: 1 << 14)
    static let noAuth = CommandFlags(rawValue: 1 << 15)
    static let mayReplicate = CommandFlags(rawValue: 1 << 16)
    static let sentinel = CommandFlags(rawValue: 1 << 17)
    static let onlySentinel = CommandFlags(rawValue: 1 << 18)
    static let noMandatoryKeys = CommandFlags(rawValue: 1 << 19)
    static let protected = CommandFlags(rawValue: 1 << 20)
    static let moduleGetkeys = CommandFlags(rawValue: 1 << 21)
    static let moduleNoCluster = CommandFlags(rawValue: 1 << 22)
    static let noAsyncLoading = CommandFlags(rawValue: 1 << 23)
    static let noMulti = CommandFlags(rawValue: 1 << 24)
    static let movableKeys = CommandFlags(rawValue: 1 << 25)
    static let allowBusy = CommandFlags(rawValue: 1 << 26)
    static let moduleGetchannels = CommandFlags(rawValue: 1 << 27)
    /// TOUCHES_ARBITRARY_KEYS (RANDOMKEY, SCAN): set in the JSON, never
    /// printed by COMMAND INFO.
    static let touchesArbitraryKeys = CommandFlags(rawValue: 1 << 28)

    /// The flags COMMAND INFO prints, with their names, in the order it
    /// prints them (addReplyFlagsForCommand in Redis 7.0's server.c).
    /// may_replicate, sentinel, only_sentinel, protected, module_getkeys,
    /// module_no_cluster, module_getchannels and touches_arbitrary_keys are
    /// never printed (checked against redis-server 7.0.15: EVAL, PUBLISH,
    /// PFCOUNT have MAY_REPLICATE and COMMAND INFO does not show it).
    static let replyNames: [(flag: CommandFlags, name: String)] = [
        (.write, "write"),
        (.readonly, "readonly"),
        (.denyoom, "denyoom"),
        (.module, "module"),
        (.admin, "admin"),
        (.pubsub, "pubsub"),
        (.noscript, "noscript"),
        (.blocking, "blocking"),
        (.loading, "loading"),
        (.stale, "stale"),
        (.skipMonitor, "skip_monitor"),
        (.skipSlowlog, "skip_slowlog"),
        (.asking, "asking"),
        (.fast, "fast"),
        (.noAuth, "no_auth"),
        (.noMandatoryKeys, "no_mandatory_keys"),
        (.noAsyncLoading, "no_async_loading"),
        (.noMulti, "no_multi"),
        (.movableKeys, "movablekeys"),
        (.allowBusy, "allow_busy"),
    ]

    /// The names COMMAND INFO prints for these flags, in its order
    /// (e.g. ["write", "denyoom", "movablekeys"]).
    var redisNames: [String] {
        Self.replyNames.compactMap { contains($0.flag) ? $0.name : nil }
    }

    /// The flag named as in Redis's command JSON ("WRITE", "NO_AUTH", ...).
    init?(jsonName: String) {
        switch jsonName {
        case "WRITE": self = .write
        case "READONLY": self = .readonly
        case "DENYOOM": self = .denyoom
        case "MODULE": self = .module
        case "ADMIN": self = .admin
        case "PUBSUB": self = .pubsub
        case "NOSCRIPT": self = .noscript
        case "BLOCKING": self = .blocking
        case "LOADING": self = .loading
        case "STALE": self = .stale
        case "SKIP_MONITOR": self = .skipMonitor
        case "SKIP_SLOWLOG": self = .skipSlowlog
        case "ASKING": self = .asking
        case "FAST": self = .fast
        case "NO_AUTH": self = .noAuth
        case "MAY_REPLICATE": self = .mayReplicate
        case "SENTINEL": self = .sentinel
        case "ONLY_SENTINEL": self = .onlySentinel
        case "NO_MANDATORY_KEYS": self = .noMandatoryKeys
        case "PROTECTED": self = .protected
        case "MODULE_GETKEYS": self = .moduleGetkeys
        case "MODULE_NO_CLUSTER": self = .moduleNoCluster
        case "NO_ASYNC_LOADING": self = .noAsyncLoading
        case "NO_MULTI": self = .noMulti
        case "MOVABLE_KEYS": self = .movableKeys
        case "ALLOW_BUSY": self = .allowBusy
        case "MODULE_GETCHANNELS": self = .moduleGetchannels
        case "TOUCHES_ARBITRARY_KEYS": self = .touchesArbitraryKeys
        default: return nil
        }
    }
}

// MARK: - ACL categories

enum CommandACLCategories {
    /// Redis 7.0's ACL categories in the order of ACLCommandCategories (acl.c),
    /// which is the order COMMAND INFO prints a command's categories in.
    static let ordered: [String] = [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
        "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
        "blocking", "dangerous", "connection", "transaction", "scripting",
    ]

    /// The categories of a command as COMMAND INFO prints them ("@read", ...):
    /// the explicit ones of the JSON plus the implicit ones of Redis 7.0.15's
    /// setImplicitACLCategories, in table order.
    static func effective(explicit: [String], flags: CommandFlags) -> [String] {
        var set = Set(explicit.map { $0.lowercased() })
        if flags.contains(.write) { set.insert("write") }
        // Redis 7.0.15: readonly scripting commands (EVAL_RO, FCALL_RO, ...)
        // are not put in @read.
        if flags.contains(.readonly) && !set.contains("scripting") { set.insert("read") }
        if flags.contains(.admin) { set.insert("admin"); set.insert("dangerous") }
        if flags.contains(.pubsub) { set.insert("pubsub") }
        if flags.contains(.fast) { set.insert("fast") }
        if flags.contains(.blocking) { set.insert("blocking") }
        if !set.contains("fast") { set.insert("slow") }
        for name in set where !ordered.contains(name) {
            fatalError("CommandSpecs: unknown ACL category \(name)")
        }
        return ordered.filter { set.contains($0) }.map { "@" + $0 }
    }
}

// MARK: - Key specs

struct KeySpec: Sendable, Equatable {
    /// Where the search for keys starts.
    enum BeginSearch: Sendable, Equatable {
        /// The first key is argv[pos] (argv[0] is the command name).
        case index(pos: Int)
        /// Search for `keyword` from argv index `startFrom` (negative: from the
        /// end, searching backwards), the first key is right after it.
        case keyword(keyword: String, startFrom: Int)
        case unknown
    }

    /// How to find the keys once the start is known.
    enum FindKeys: Sendable, Equatable {
        /// `lastKey` relative to the first key (-1 = the last argument, -2 = one
        /// before, ...); every `step`th argument; `limit` > 1 when lastKey is
        /// -1: only 1/limit of the remaining arguments.
        case range(lastKey: Int, step: Int, limit: Int)
        /// The number of keys is argv[first + keyNumIndex]; keys start at
        /// first + firstKey, every `step`th.
        case keynum(keyNumIndex: Int, firstKey: Int, step: Int)
        case unknown
    }

    /// The key spec flags as COMMAND INFO prints them, in its order
    /// (addReplyFlagsForKeyArgs).
    static let replyFlagOrder: [String] = [
        "RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
        "not_key", "incomplete", "variable_flags",
    ]

    let notes: String?
    /// As COMMAND INFO prints them, e.g. ["RW", "access", "update", "variable_flags"].
    let flags: [String]
    let beginSearch: BeginSearch
    let findKeys: FindKeys

    /// Whether `flags` holds the flag, named as COMMAND INFO prints it ("RW", "access").
    func hasFlag(_ name: String) -> Bool { flags.contains(name) }

    /// The simple case: begin search by index, find keys by range.
    var isIndexRange: Bool {
        if case .index = beginSearch, case .range = findKeys { return true }
        return false
    }
}

// MARK: - Arguments (COMMAND DOCS)

struct CommandArgumentFlags: OptionSet, Sendable, Hashable {
    let rawValue: UInt8
    init(rawValue: UInt8) { self.rawValue = rawValue }
    static let optional = CommandArgumentFlags(rawValue: 1 << 0)
    static let multiple = CommandArgumentFlags(rawValue: 1 << 1)
    static let multipleToken = CommandArgumentFlags(rawValue: 1 << 2)

    /// As COMMAND DOCS prints them, in its order (addReplyFlagsForArg).
    var redisNames: [String] {
        var names: [String] = []
        if contains(.optional) { names.append("optional") }
        if contains(.multiple) { names.append("multiple") }
        if contains(.multipleToken) { names.append("multiple_token") }
        return names
    }
}

struct CommandArgumentSpec: Sendable {
    let name: String
    /// "string", "integer", "double", "key", "pattern", "unix-time",
    /// "pure-token", "oneof" or "block", as COMMAND DOCS prints it.
    let type: String
    /// Not present in Redis 7.0's JSON (always nil here); kept for later data.
    let displayText: String?
    /// For type "key": the index of its key spec in the command's keySpecs.
    let keySpecIndex: Int?
    let token: String?
    let summary: String?
    let since: String?
    let deprecatedSince: String?
    let flags: CommandArgumentFlags
    /// Not present in Redis 7.0's JSON (always nil here); kept for later data.
    let value: String?
    /// The sub-arguments of a "oneof" or "block" argument.
    let arguments: [CommandArgumentSpec]
}

struct CommandHistoryEntry: Sendable, Equatable {
    let since: String
    let change: String
}

// MARK: - Commands

final class CommandSpec: Sendable {
    /// Lowercase; for a subcommand its own name ("get" for CONFIG GET).
    let name: String
    /// "get", or "config|get" for a subcommand.
    let fullName: String
    /// "config" for config|get; nil for a top-level command.
    let containerName: String?
    /// As Redis: negative means "at least -arity". Counts the command name and,
    /// for a subcommand, the subcommand name too (config|get is -3).
    let arity: Int
    /// The JSON's flags, plus movableKeys where Redis 7.0.15 sets it.
    let flags: CommandFlags
    /// As COMMAND INFO prints them, implicit ones included: ["@read", "@string", "@fast"].
    let aclCategories: [String]
    /// The legacy key range as COMMAND INFO prints it: lastKey is absolute
    /// (negative counts from the end: -1 = the last argument); 0, 0, 0 when
    /// the command has no keys or no range can be made of its key specs.
    let firstKey: Int
    let lastKey: Int
    let keyStep: Int
    let keySpecs: [KeySpec]
    /// command_tips, lowercase as COMMAND INFO prints them ("nondeterministic_output").
    let tips: [String]
    let summary: String
    let since: String
    /// As COMMAND DOCS prints it: "string", "sorted-set", "generic", ...
    let group: String
    /// Empty when Redis's JSON has none (COMMAND DOCS then omits it):
    /// LOLWUT, MONITOR, PSYNC, SYNC.
    let complexity: String
    /// "deprecated", "syscmd" as COMMAND DOCS prints them.
    let docFlags: [String]
    let deprecatedSince: String?
    let replacedBy: String?
    let history: [CommandHistoryEntry]
    let arguments: [CommandArgumentSpec]
    /// Sorted by name. Non-empty only for container commands (CONFIG, CLIENT, ...).
    let subcommands: [CommandSpec]
    private let subcommandsByName: [String: CommandSpec]

    init(name: String, fullName: String, containerName: String?, arity: Int,
         flags: CommandFlags, aclCategories: [String], firstKey: Int, lastKey: Int,
         keyStep: Int, keySpecs: [KeySpec], tips: [String], summary: String,
         since: String, group: String, complexity: String, docFlags: [String],
         deprecatedSince: String?, replacedBy: String?, history: [CommandHistoryEntry],
         arguments: [CommandArgumentSpec], subcommands: [CommandSpec]) {
        self.name = name
        self.fullName = fullName
        self.containerName = containerName
        self.arity = arity
        self.flags = flags
        self.aclCategories = aclCategories
        self.firstKey = firstKey
        self.lastKey = lastKey
        self.keyStep = keyStep
        self.keySpecs = keySpecs
        self.tips = tips
        self.summary = summary
        self.since = since
        self.group = group
        self.complexity = complexity
        self.docFlags = docFlags
        self.deprecatedSince = deprecatedSince
        self.replacedBy = replacedBy
        self.history = history
        self.arguments = arguments
        let sorted = subcommands.sorted { $0.name < $1.name }
        self.subcommands = sorted
        self.subcommandsByName = Dictionary(uniqueKeysWithValues: sorted.map { ($0.name, $0) })
    }

    /// True for container commands (CONFIG, CLIENT, ...), which have subcommands.
    var isContainer: Bool { !subcommands.isEmpty }

    /// The subcommand named `lowercased` ("get" for CONFIG GET), or nil.
    func subcommand(named lowercased: String) -> CommandSpec? {
        subcommandsByName[lowercased]
    }
}

// MARK: - The table

enum CommandSpecs {
    /// Top-level commands (as Redis 7.0.15 registers them when not in sentinel
    /// mode: 240 of them), sorted by name. Parsed once, on first use.
    static let all: [CommandSpec] = CommandSpecLoader.load(json: generatedCommandSpecsJSON)

    private static let byName: [String: CommandSpec] =
        Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The top-level command named `lowercased` ("get", "config"), or, for a
    /// "container|sub" name ("config|get"), that subcommand.
    static func named(_ lowercased: String) -> CommandSpec? {
        if let command = byName[lowercased] { return command }
        guard let bar = lowercased.firstIndex(of: "|") else { return nil }
        let container = String(lowercased[..<bar])
        let sub = String(lowercased[lowercased.index(after: bar)...])
        return byName[container]?.subcommand(named: sub)
    }

    /// Every command and subcommand, containers before their subcommands.
    static var allIncludingSubcommands: [CommandSpec] {
        all.flatMap { [$0] + $0.subcommands }
    }
}

// MARK: - Loading

/// Turns the generated JSON into CommandSpecs, computing what Redis computes
/// at startup. A malformed table is a build defect: it stops the process.
enum CommandSpecLoader {
    typealias Object = [String: Any]

    static func load(json: String) -> [CommandSpec] {
        let parsed: Any
        do {
            parsed = try MiniJSON.parse(json)
        } catch {
            fatalError("CommandSpecs: the generated JSON does not parse: \(error)")
        }
        guard let list = parsed as? [Object] else {
            fatalError("CommandSpecs: the generated JSON is not a list of commands")
        }
        return list.map { command($0, container: nil) }.sorted { $0.name < $1.name }
    }

    static func command(_ o: Object, container: String?) -> CommandSpec {
        let name = string(o, "name")
        let fullName = container.map { "\($0)|\(name)" } ?? name
        var flags = CommandFlags()
        for flagName in strings(o, "command_flags") {
            guard let flag = CommandFlags(jsonName: flagName) else {
                fatalError("CommandSpecs: \(fullName): unknown command flag \(flagName)")
            }
            flags.insert(flag)
        }
        let keySpecs = (o["key_specs"] as? [Object] ?? []).map { keySpec($0, command: fullName) }
        // populateCommandMovableKeys as Redis 7.0.15 behaves: movable when a key
        // spec is not the simple index+range kind. (A get_keys_function alone,
        // as SET and BITFIELD have, does not make a command movable.)
        if keySpecs.contains(where: { !$0.isIndexRange }) {
            flags.insert(.movableKeys)
        }
        let acl = CommandACLCategories.effective(explicit: strings(o, "acl_categories"), flags: flags)
        let range = legacyRange(keySpecs)
        let history: [CommandHistoryEntry] = (o["history"] as? [[String]] ?? []).map {
            guard $0.count == 2 else { fatalError("CommandSpecs: \(fullName): bad history entry") }
            return CommandHistoryEntry(since: $0[0], change: $0[1])
        }
        let subcommands = (o["subcommands"] as? [Object] ?? []).map { command($0, container: name) }
        guard let arity = o["arity"] as? Int else { fatalError("CommandSpecs: \(fullName): no arity") }
        return CommandSpec(
            name: name, fullName: fullName, containerName: container, arity: arity,
            flags: flags, aclCategories: acl,
            firstKey: range.first, lastKey: range.last, keyStep: range.step,
            keySpecs: keySpecs,
            tips: strings(o, "command_tips").map { $0.lowercased() },
            summary: o["summary"] as? String ?? "",
            since: o["since"] as? String ?? "",
            group: o["group"] as? String ?? "",
            complexity: o["complexity"] as? String ?? "",
            docFlags: strings(o, "doc_flags").map { $0.lowercased() },
            deprecatedSince: o["deprecated_since"] as? String,
            replacedBy: o["replaced_by"] as? String,
            history: history,
            arguments: (o["arguments"] as? [Object] ?? []).map { argument($0, command: fullName) },
            subcommands: subcommands)
    }

    static func keySpec(_ o: Object, command: String) -> KeySpec {
        var flagSet = Set<String>()
        for flag in strings(o, "flags") {
            // The JSON says RO/RW/OW/RM in capitals and the rest in capitals
            // too; COMMAND INFO prints the first four in capitals, the rest lowercase.
            let printed = ["RO", "RW", "OW", "RM"].contains(flag) ? flag : flag.lowercased()
            guard KeySpec.replyFlagOrder.contains(printed) else {
                fatalError("CommandSpecs: \(command): unknown key spec flag \(flag)")
            }
            flagSet.insert(printed)
        }
        let begin: KeySpec.BeginSearch
        let bs = o["begin_search"] as? Object ?? [:]
        if let index = bs["index"] as? Object {
            begin = .index(pos: int(index, "pos", command))
        } else if let keyword = bs["keyword"] as? Object {
            begin = .keyword(keyword: string(keyword, "keyword"),
                             startFrom: int(keyword, "startfrom", command))
        } else if bs.keys.contains("unknown") {
            begin = .unknown
        } else {
            fatalError("CommandSpecs: \(command): bad begin_search")
        }
        let find: KeySpec.FindKeys
        let fk = o["find_keys"] as? Object ?? [:]
        if let range = fk["range"] as? Object {
            find = .range(lastKey: int(range, "lastkey", command), step: int(range, "step", command),
                          limit: int(range, "limit", command))
        } else if let keynum = fk["keynum"] as? Object {
            find = .keynum(keyNumIndex: int(keynum, "keynumidx", command),
                           firstKey: int(keynum, "firstkey", command),
                           step: int(keynum, "step", command))
        } else if fk.keys.contains("unknown") {
            find = .unknown
        } else {
            fatalError("CommandSpecs: \(command): bad find_keys")
        }
        return KeySpec(notes: o["notes"] as? String,
                       flags: KeySpec.replyFlagOrder.filter { flagSet.contains($0) },
                       beginSearch: begin, findKeys: find)
    }

    static func argument(_ o: Object, command: String) -> CommandArgumentSpec {
        var flags = CommandArgumentFlags()
        if o["optional"] as? Bool == true { flags.insert(.optional) }
        if o["multiple"] as? Bool == true { flags.insert(.multiple) }
        if o["multiple_token"] as? Bool == true { flags.insert(.multipleToken) }
        return CommandArgumentSpec(
            name: string(o, "name"),
            type: string(o, "type"),
            displayText: (o["display_text"] ?? o["display"]) as? String,
            keySpecIndex: o["key_spec_index"] as? Int,
            token: o["token"] as? String,
            summary: o["summary"] as? String,
            since: o["since"] as? String,
            deprecatedSince: o["deprecated_since"] as? String,
            flags: flags,
            value: o["value"] as? String,
            arguments: (o["arguments"] as? [Object] ?? []).map { argument($0, command: command) })
    }

    /// populateCommandLegacyRangeSpec (Redis 7.0.15, server.c), returning the
    /// values as addReplyCommandInfo prints them (lastKey made absolute when
    /// not negative).
    static func legacyRange(_ specs: [KeySpec]) -> (first: Int, last: Int, step: Int) {
        if specs.isEmpty { return (0, 0, 0) }
        if specs.count == 1, case .index(let pos) = specs[0].beginSearch,
           case .range(let last, let step, _) = specs[0].findKeys {
            return (pos, last >= 0 ? last + pos : last, step)
        }
        var firstKey = Int32.max
        var lastKey: UInt32 = 0  // Redis compares as unsigned so that negative (from the end) wins
        for spec in specs {
            guard case .index(let pos) = spec.beginSearch,
                  case .range(let last, let step, _) = spec.findKeys else { continue }
            if step != 1 { return (0, 0, 0) }
            // (Redis also checks that the ranges are adjacent, against a
            // prev_lastkey that it never updates, so that check never fires.)
            firstKey = min(firstKey, Int32(pos))
            var absolute = Int32(last)
            if absolute >= 0 { absolute += Int32(pos) }
            lastKey = max(lastKey, UInt32(bitPattern: absolute))
        }
        if firstKey == Int32.max { return (0, 0, 0) }
        return (Int(firstKey), Int(Int32(bitPattern: lastKey)), 1)
    }

    private static func string(_ o: Object, _ key: String) -> String {
        guard let value = o[key] as? String else {
            fatalError("CommandSpecs: missing string field \(key) in \(o["name"] ?? "?")")
        }
        return value
    }

    private static func strings(_ o: Object, _ key: String) -> [String] {
        o[key] as? [String] ?? []
    }

    private static func int(_ o: Object, _ key: String, _ command: String) -> Int {
        guard let value = o[key] as? Int else {
            fatalError("CommandSpecs: \(command): missing integer field \(key)")
        }
        return value
    }
}
