#if canImport(Glibc)
import Glibc
#endif

/// Live configuration values. Each field is reached through one entry of `ConfigTable`,
/// which serves the command line, redis.conf, CONFIG GET/SET and CONFIG REWRITE alike.
struct ServerConfig {
    /// The config file we were started with, as an absolute path ("" when none): INFO's
    /// config_file and the file CONFIG REWRITE rewrites (Redis's server.configfile).
    var configFile = ""

    var port = 6379
    var bind: [String] = ["*", "-::*"]
    var protectedMode = true
    var requirepass = ""
    var dir = ""
    var dbfilename = "dump.rdb"
    var databases = 16
    var hz = 10
    var maxclients = 10000
    var timeout = 0
    var tcpKeepalive = 300
    var tcpBacklog = 511
    var loglevel = "notice"
    var logfile = ""
    var daemonize = false
    var pidfile = ""
    var replicaof = ""
    /// Effective (Persistence/ServerPersistence.swift): save points checked by the cron,
    /// SHUTDOWN and FLUSHALL saving; with dir, dbfilename, rdbcompression, rdbchecksum,
    /// stop-writes-on-bgsave-error and rdb-version below.
    var save: [(seconds: Int, changes: Int)] = [(3600, 1), (300, 100), (60, 10000)]
    var appendonly = false
    var appendfilename = "appendonly.aof"
    var protoMaxBulkLen = 512 * 1024 * 1024
    var clientQueryBufferLimit = 1024 * 1024 * 1024
    var outputLimits = OutputBufferLimits()
    /// Bytes (Redis keeps an unsigned 64-bit value; values above Int.max are clamped).
    var maxmemory = 0
    var maxmemoryPolicy = "noeviction"
    var rdbcompression = true
    var rdbchecksum = true
    /// redis-uv's own: the RDB version SAVE/BGSAVE write, 10 (Redis 7.0+) or 9 (Redis 6.x
    /// can read it: ziplist encodings instead of listpacks).
    var rdbVersion = 10
    /// Redis's hidden key-load-delay: microseconds slept per key loaded (tests use it).
    var keyLoadDelay = 0
    /// Redis's hidden rdb-key-save-delay: microseconds slept per key saved (replication
    /// tests use it to keep a save running).
    var rdbKeySaveDelay = 0
    /// Redis's hidden loading-process-events-interval-bytes: clients are served (with
    /// -LOADING) every this many bytes of the file while it loads at start-up.
    var loadingProcessEventsIntervalBytes = 2 << 20
    var stopWritesOnBgsaveError = true
    var activeExpireEffort = 1
    var activeExpireEnabled = true   // DEBUG SET-ACTIVE-EXPIRE
    var lazyfreeLazyUserDel = false
    var lazyfreeLazyUserFlush = false
    /// enable-debug-command / enable-protected-configs / enable-module-command:
    /// "no", "yes" or "local" (Redis's allowProtectedAction).
    var enableDebugCommand = "no"
    var enableProtectedConfigs = "no"
    var enableModuleCommand = "no"

    /// Effective: a hash stays in the packed "listpack" encoding while it has at most
    /// this many pairs and no field or value longer than hash-max-listpack-value bytes
    /// (Types/HashValue.swift). The compiled-in defaults, as Redis's config.c.
    var hashMaxListpackEntries = 512
    var hashMaxListpackValue = 64
    /// Effective: a set of integers only stays an "intset" up to this many members
    /// (Types/SetValue.swift; Redis caps it at 1G entries).
    var setMaxIntsetEntries = 512
    /// Effective: a sorted set stays a "listpack" up to this many members of at most
    /// zset-max-listpack-value bytes (Types/SortedSetValue.swift, read per command).
    var zsetMaxListpackEntries = 128
    var zsetMaxListpackValue = 64
    // list-max-listpack-size (listMaxListpackSize, below) is effective too: a new list's
    // node size (Types/ListValue.swift reads it when the list is created, as Redis's
    // quicklistSetOptions). list-compress-depth is accepted only: nodes are never LZF'd.

    // Accepted and reported, NOT YET EFFECTIVE: Redis 7.0 parameters that clients read
    // or set (redis-benchmark, redis-py, test suites, later issues). CONFIG GET/SET/
    // REWRITE handle them exactly as Redis does, but nothing in redis-uv acts on them
    // yet: each is wired up by the issue that implements its feature (encodings,
    // keyspace notifications, slowlog, latency monitor, LFU eviction, replication, AOF,
    // I/O threads, cluster).
    var listMaxListpackSize = -2
    var listCompressDepth = 0
    var streamNodeMaxBytes = 4096
    var streamNodeMaxEntries = 100
    var hllSparseMaxBytes = 3000
    /// Redis's NOTIFY_* bit set (see KeyspaceEventFlags).
    var notifyKeyspaceEvents = 0
    var slowlogLogSlowerThan = 10000
    var slowlogMaxLen = 128
    var latencyMonitorThreshold = 0
    var latencyTracking = true
    var latencyTrackingInfoPercentiles: [Double] = [50, 99, 99.9]
    var lfuLogFactor = 10
    var lfuDecayTime = 1
    var maxmemorySamples = 5
    var maxmemoryEvictionTenacity = 10
    /// Bytes, or a percentage stored negated (Redis's PERCENT_CONFIG): -5 is "5%".
    var maxmemoryClients = 0
    // In effect (Replication/MasterSide.swift): repl-backlog-size/-ttl, repl-timeout,
    // repl-ping-replica-period, repl-diskless-sync/-delay/-max-replicas,
    // repl-disable-tcp-nodelay, min-replicas-to-write/-max-lag.
    var replBacklogSize = 1024 * 1024
    var replBacklogTTL = 3600
    var replTimeout = 60
    var replPingReplicaPeriod = 10
    var replDisklessSync = true
    var replDisklessSyncDelay = 5
    var replDisklessSyncMaxReplicas = 0
    var replDisklessLoad = "disabled"
    var replDisableTcpNodelay = false
    var masterauth = ""
    var masteruser = ""
    var replicaReadOnly = true
    var replicaServeStaleData = true
    var replicaPriority = 100
    var replicaLazyFlush = false
    var replicaIgnoreMaxmemory = true
    var replicaAnnounced = true
    var replicaAnnounceIP = ""
    var replicaAnnouncePort = 0
    var minReplicasToWrite = 0
    var minReplicasMaxLag = 10
    var appendfsync = "everysec"
    var appenddirname = "appendonlydir"
    var noAppendfsyncOnRewrite = false
    var autoAofRewritePercentage = 100
    var autoAofRewriteMinSize = 64 * 1024 * 1024
    var aofLoadTruncated = true
    var aofUseRdbPreamble = true
    var aofRewriteIncrementalFsync = true
    var aofTimestampEnabled = false
    var aofDisableAutoGC = false
    var rdbDelSyncFiles = false
    var rdbSaveIncrementalFsync = true
    var ioThreads = 1
    var ioThreadsDoReads = false
    var clusterEnabled = false
    var lazyfreeLazyEviction = false
    var lazyfreeLazyExpire = false
    var lazyfreeLazyServerDel = false
    var activerehashing = true
    var dynamicHz = true
    var busyReplyThreshold = 5000
    var trackingTableMaxKeys = 1_000_000
    var acllogMaxLen = 128
    var aclfile = ""
    var aclPubsubDefault = "resetchannels"
    /// `user <name> <rules...>` lines of redis.conf, checked as read, loaded at start-up.
    var userLines: [[String]] = []
    var supervised = "no"
    var unixsocket = ""
    var unixsocketperm = 0
    var shutdownTimeout = 10
    var shutdownOnSigint = "default"
    var shutdownOnSigterm = "default"
    var sanitizeDumpPayload = "no"
    var propagationErrorBehavior = "ignore"
    var replicaIgnoreDiskWriteErrors = false

    // Process settings, effective (Server/ProcessSettings.swift): the ASCII logo at
    // start-up, the process title, /proc/self/oom_score_adj, PR_SET_THP_DISABLE, and the
    // crash report written on a fatal signal.
    var alwaysShowLogo = false
    var setProcTitle = true
    var procTitleTemplate = "{title} {listen-addr} {server-mode}"
    /// "no", "yes" (relative; "relative" is stored as "yes", as Redis prints it) or "absolute".
    var oomScoreAdj = "no"
    /// master, replica, background child (Redis's CONFIG_OOM_*).
    var oomScoreAdjValues = [0, 200, 800]
    var disableTHP = true
    var crashLogEnabled = true
    /// Parameters of Redis 7.0.15 that are accepted, validated and reported but have no
    /// mechanism here (cluster, TLS, syslog, active defrag, jemalloc, CPU affinity...):
    /// their canonical text by name, absent while at the default. See
    /// ConfigTable.noEffect for why each cannot apply.
    var inert: [String: String] = [:]

    subscript(inertBool name: String, default d: Bool) -> Bool {
        get { inert[name].map { $0 == "yes" } ?? d }
        set { inert[name] = newValue ? "yes" : "no" }
    }
    subscript(inertInt name: String, default d: Int) -> Int {
        get { inert[name].flatMap { Int($0) } ?? d }
        set { inert[name] = String(newValue) }
    }
    subscript(inertString name: String, default d: String) -> String {
        get { inert[name] ?? d }
        set { inert[name] = newValue }
    }
}

/// client-output-buffer-limit: per class hard bytes, soft bytes, soft seconds (0 = none).
struct OutputBufferLimits {
    struct Limit: Equatable { var hard = 0; var soft = 0; var softSeconds = 0 }
    var normal = Limit()
    var replica = Limit(hard: 256 << 20, soft: 64 << 20, softSeconds: 60)
    var pubsub = Limit(hard: 32 << 20, soft: 8 << 20, softSeconds: 60)

    var description: String {
        "normal \(normal.hard) \(normal.soft) \(normal.softSeconds) slave \(replica.hard) \(replica.soft) \(replica.softSeconds) pubsub \(pubsub.hard) \(pubsub.soft) \(pubsub.softSeconds)"
    }
}

/// Redis's NOTIFY_* classes for notify-keyspace-events (keyspaceEventsStringToFlags).
enum KeyspaceEventFlags {
    static let keyspace = 1 << 0, keyevent = 1 << 1, generic = 1 << 2, string = 1 << 3
    static let list = 1 << 4, set = 1 << 5, hash = 1 << 6, zset = 1 << 7, expired = 1 << 8
    static let evicted = 1 << 9, stream = 1 << 10, keyMiss = 1 << 11, loaded = 1 << 12
    static let module = 1 << 13, new = 1 << 14
    /// 'A': every class but key-miss and new.
    static let all = generic | string | list | set | hash | zset | expired | evicted | stream | module

    static func parse(_ classes: String) -> Int? {
        var flags = 0
        for c in classes.utf8 {
            switch c {
            case UInt8(ascii: "A"): flags |= all
            case UInt8(ascii: "g"): flags |= generic
            case UInt8(ascii: "$"): flags |= string
            case UInt8(ascii: "l"): flags |= list
            case UInt8(ascii: "s"): flags |= set
            case UInt8(ascii: "h"): flags |= hash
            case UInt8(ascii: "z"): flags |= zset
            case UInt8(ascii: "x"): flags |= expired
            case UInt8(ascii: "e"): flags |= evicted
            case UInt8(ascii: "K"): flags |= keyspace
            case UInt8(ascii: "E"): flags |= keyevent
            case UInt8(ascii: "t"): flags |= stream
            case UInt8(ascii: "m"): flags |= keyMiss
            case UInt8(ascii: "d"): flags |= module
            case UInt8(ascii: "n"): flags |= new
            default: return nil
            }
        }
        return flags
    }

    /// keyspaceEventsFlagsToString (with 'A', 'n' is not printed, as in Redis 7.0.15).
    static func format(_ flags: Int) -> String {
        var s = ""
        if flags & all == all {
            s += "A"
        } else {
            let classes: [(Int, String)] = [(generic, "g"), (string, "$"), (list, "l"), (set, "s"), (hash, "h"),
                                            (zset, "z"), (expired, "x"), (evicted, "e"), (stream, "t"),
                                            (module, "d"), (new, "n")]
            for (f, ch) in classes where flags & f != 0 { s += ch }
        }
        if flags & keyspace != 0 { s += "K" }
        if flags & keyevent != 0 { s += "E" }
        if flags & keyMiss != 0 { s += "m" }
        return s
    }
}

/// One configuration parameter: its name(s), whether CONFIG SET may change it while
/// running, and how to read and write it as text (the one representation all sources
/// share), plus how CONFIG REWRITE writes it.
struct ConfigEntry: Sendable {
    let name: String
    var alias: String? = nil
    /// False for Redis's IMMUTABLE_CONFIG: only the command line and the file set it.
    let mutable: Bool
    /// Redis's PROTECTED_CONFIG (dir, dbfilename): CONFIG SET needs enable-protected-configs.
    var protected: Bool = false
    /// Redis's HIDDEN_CONFIG: CONFIG GET answers it only when asked by its exact name.
    var hidden: Bool = false
    /// Parses and stores a value; returns an error message (Redis's wording) on failure.
    /// Multi-word parameters (save, bind, ...) split the text themselves.
    let set: @Sendable (inout ServerConfig, String) -> String?
    let get: @Sendable (ServerConfig) -> String
    /// The lines CONFIG REWRITE writes for the current value (`name` already in them),
    /// and whether they must be written even when the file does not mention the option
    /// (Redis's `force`: the value differs from the default). No lines: the option must
    /// be absent from the file (Redis's NULL strings).
    var rewrite: @Sendable (ServerConfig) -> (lines: [String], force: Bool)
}

enum ConfigTable {
    /// The defaults, for CONFIG REWRITE's "differs from the default" test.
    static let defaults = ServerConfig()

    /// A rewrite of one "name value" line, forced when the text differs from the default's.
    static func plainRewrite(_ name: String, _ get: @escaping @Sendable (ServerConfig) -> String) -> @Sendable (ServerConfig) -> (lines: [String], force: Bool) {
        { cfg in
            let v = get(cfg)
            return (["\(name) \(v)"], v != get(defaults))
        }
    }

    static func hidden(_ e: ConfigEntry) -> ConfigEntry {
        var e = e
        e.hidden = true
        return e
    }

    static func bool(_ name: String, alias: String? = nil, _ kp: WritableKeyPath<ServerConfig, Bool> & Sendable, mutable: Bool = true) -> ConfigEntry {
        let get: @Sendable (ServerConfig) -> String = { $0[keyPath: kp] ? "yes" : "no" }
        return ConfigEntry(name: name, alias: alias, mutable: mutable, set: { cfg, v in
            switch v.lowercased() {
            case "yes": cfg[keyPath: kp] = true
            case "no": cfg[keyPath: kp] = false
            default: return "argument must be 'yes' or 'no'"
            }
            return nil
        }, get: get, rewrite: plainRewrite(name, get))
    }

    /// Redis's numeric configs with INTEGER_CONFIG: string2ll, then the bounds check.
    static func int(_ name: String, alias: String? = nil, _ kp: WritableKeyPath<ServerConfig, Int> & Sendable, _ range: ClosedRange<Int>, mutable: Bool = true) -> ConfigEntry {
        let get: @Sendable (ServerConfig) -> String = { String($0[keyPath: kp]) }
        return ConfigEntry(name: name, alias: alias, mutable: mutable, set: { cfg, v in
            guard let n = strictInt(v) else { return "argument couldn't be parsed into an integer" }
            guard range.contains(n) else { return boundsError(range) }
            cfg[keyPath: kp] = n
            return nil
        }, get: get, rewrite: plainRewrite(name, get))
    }

    /// Redis's MEMORY_CONFIG numerics (optionally PERCENT_CONFIG too): "1gb", "100k",
    /// "5%"; CONFIG GET prints bytes, CONFIG REWRITE the largest exact unit.
    static func memory(_ name: String, alias: String? = nil, _ kp: WritableKeyPath<ServerConfig, Int> & Sendable, _ range: ClosedRange<Int>, percent: Bool = false, unsigned64: Bool = false, mutable: Bool = true) -> ConfigEntry {
        let get: @Sendable (ServerConfig) -> String = { cfg in
            let v = cfg[keyPath: kp]
            return percent && v < 0 ? "\(-v)%" : String(v)
        }
        return ConfigEntry(name: name, alias: alias, mutable: mutable, set: { cfg, v in
            var value: Int
            if let bytes = memtoull(v) {
                // Redis converts the unsigned result to the config's type: values past
                // Int.max wrap negative for signed configs (and fail their bounds check).
                value = unsigned64 ? Int(clamping: bytes) : Int(truncatingIfNeeded: bytes)
            } else if percent, v.utf8.count > 1, v.hasSuffix("%"), let p = strictInt(String(v.dropLast())), p >= 0 {
                value = -p
            } else {
                return percent ? "argument must be a memory or percent value" : "argument must be a memory value"
            }
            if percent && value < 0 {
                if value < range.lowerBound { return "percentage argument must be less or equal to \(-range.lowerBound)" }
            } else if !range.contains(value) {
                return boundsError(range)
            }
            cfg[keyPath: kp] = value
            return nil
        }, get: get, rewrite: { cfg in
            let v = cfg[keyPath: kp]
            let text = percent && v < 0 ? "\(-v)%" : formatMemoryForRewrite(v)
            return (["\(name) \(text)"], v != defaults[keyPath: kp])
        })
    }

    /// A string parameter. `emptyIsNull`: Redis's EMPTY_STRING_IS_NULL, where "" means
    /// unset and CONFIG REWRITE leaves the option out of the file.
    static func string(_ name: String, alias: String? = nil, _ kp: WritableKeyPath<ServerConfig, String> & Sendable, mutable: Bool = true,
                       emptyIsNull: Bool = false, protected: Bool = false,
                       validate: (@Sendable (String) -> String?)? = nil) -> ConfigEntry {
        ConfigEntry(name: name, alias: alias, mutable: mutable, protected: protected, set: { cfg, v in
            if let validate, let err = validate(v) { return err }
            cfg[keyPath: kp] = v
            return nil
        }, get: { $0[keyPath: kp] }, rewrite: { cfg in
            let v = cfg[keyPath: kp]
            if emptyIsNull && v.isEmpty { return ([], false) }
            return (["\(name) \(quoteForConfig(v))"], emptyIsNull || v != defaults[keyPath: kp])
        })
    }

    /// An enum parameter; `values` in Redis's order (its error message lists them so).
    /// Names that share a meaning are given as "name=canonical": the value is stored,
    /// and printed, as the first name of that meaning (oom-score-adj "relative" prints "yes").
    static func oneOf(_ name: String, alias: String? = nil, _ kp: WritableKeyPath<ServerConfig, String> & Sendable, _ values: [String], mutable: Bool = true) -> ConfigEntry {
        let get: @Sendable (ServerConfig) -> String = { $0[keyPath: kp] }
        let names = values.map { $0.split(separator: "=").first.map(String.init) ?? $0 }
        return ConfigEntry(name: name, alias: alias, mutable: mutable, set: { cfg, v in
            let l = v.lowercased()
            guard let i = names.firstIndex(of: l) else {
                return "argument(s) must be one of the following: " + names.joined(separator: ", ")
            }
            let parts = values[i].split(separator: "=")
            cfg[keyPath: kp] = parts.count == 2 ? String(parts[1]) : l
            return nil
        }, get: get, rewrite: plainRewrite(name, get))
    }

    /// Redis's MULTI_ARG_CONFIG bit-flag enums (shutdown-on-sigint): several names at once.
    static func flagsOf(_ name: String, _ kp: WritableKeyPath<ServerConfig, String> & Sendable, _ values: [String],
                        check: @escaping @Sendable ([String]) -> String?) -> ConfigEntry {
        let get: @Sendable (ServerConfig) -> String = { $0[keyPath: kp] }
        return ConfigEntry(name: name, mutable: true, set: { cfg, v in
            let words = sdsSplitSpaces(v).map { $0.lowercased() }
            guard !words.isEmpty, words.allSatisfy({ values.contains($0) }) else {
                return "argument(s) must be one of the following: " + values.joined(separator: ", ")
            }
            if let err = check(words) { return err }
            // configEnumGetName for bit flags: the names whose bits are set, in table order.
            let set = Set(words)
            let chosen = values.filter { set.contains($0) }
            cfg[keyPath: kp] = chosen == ["default"] || chosen.isEmpty ? "default" : chosen.filter { $0 != "default" }.joined(separator: " ")
            return nil
        }, get: get, rewrite: plainRewrite(name, get))
    }

    static func boundsError(_ range: ClosedRange<Int>) -> String {
        "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive"
    }

    static let intMax = Int(Int32.max)
    static let intMin = Int(Int32.min)
    static let uintMax = Int(UInt32.max)
    static let longMax = Int.max
    static let protectedActions = ["no", "yes", "local"]

    /// Every parameter we know, in the order CONFIG GET * lists them.
    static let entries: [ConfigEntry] = [
        // Networking. port and bind are immutable here: Redis rebinds its listeners on
        // CONFIG SET port/bind, which redis-uv's transport cannot do yet.
        int("port", \.port, 0...65535, mutable: false),
        ConfigEntry(name: "bind", mutable: false, set: { cfg, v in
            let words = sdsSplitSpaces(v)
            cfg.bind = words.count == 1 && words[0].isEmpty ? [] : words
            return nil
        }, get: { $0.bind.joined(separator: " ") }, rewrite: { cfg in
            if cfg.bind == defaults.bind { return ([], false) }
            return (["bind " + (cfg.bind.isEmpty ? "\"\"" : cfg.bind.joined(separator: " "))], true)
        }),
        bool("protected-mode", \.protectedMode),
        ConfigEntry(name: "requirepass", mutable: true, set: { cfg, v in cfg.requirepass = v; return nil },
                    get: { $0.requirepass }, rewrite: { cfg in
                        cfg.requirepass.isEmpty ? ([], false) : (["requirepass \(quoteForConfig(cfg.requirepass))"], true)
                    }),
        ConfigEntry(name: "dir", mutable: true, protected: true, set: { cfg, v in
            if chdir(v) != 0 { return String(cString: strerror(errno)) }
            cfg.dir = currentDirectory()
            return nil
        }, get: { $0.dir }, rewrite: { cfg in
            (["dir \(quoteForConfig(currentDirectory()))"], true)
        }),
        string("dbfilename", \.dbfilename, protected: true, validate: { v in
            isBaseName(v) ? nil : "dbfilename can't be a path, just a filename"
        }),
        int("databases", \.databases, 1...intMax, mutable: false),
        int("hz", \.hz, 0...intMax),
        int("maxclients", \.maxclients, 1...uintMax),
        int("timeout", \.timeout, 0...intMax),
        int("tcp-keepalive", \.tcpKeepalive, 0...intMax),
        int("tcp-backlog", \.tcpBacklog, 0...intMax, mutable: false),
        oneOf("loglevel", \.loglevel, ["debug", "verbose", "notice", "warning"]),
        string("logfile", \.logfile, mutable: false),
        ConfigEntry(name: "daemonize", mutable: false, set: { cfg, v in
            switch v.lowercased() {
            case "no": cfg.daemonize = false; return nil
            case "yes": return "daemonize yes is not supported by redis-uv: run it under a supervisor"
            default: return "argument must be 'yes' or 'no'"
            }
        }, get: { $0.daemonize ? "yes" : "no" }, rewrite: { cfg in (["daemonize \(cfg.daemonize ? "yes" : "no")"], cfg.daemonize) }),
        string("pidfile", \.pidfile, mutable: false, emptyIsNull: true),
        ConfigEntry(name: "replicaof", alias: "slaveof", mutable: false, set: { cfg, v in
            let parts = sdsSplitSpaces(v)
            if parts.count != 2 { return "wrong number of arguments" }
            if parts[0].lowercased() == "no" && parts[1].lowercased() == "one" { cfg.replicaof = ""; return nil }
            guard let p = strictInt(parts[1]), (0...65535).contains(p) else { return "Invalid master port" }
            cfg.replicaof = "\(parts[0]) \(p)"
            return nil
        }, get: { $0.replicaof }, rewrite: { cfg in
            cfg.replicaof.isEmpty ? ([], false) : (["replicaof \(cfg.replicaof)"], true)
        }),
        ConfigEntry(name: "save", mutable: true, set: { cfg, v in
            // setConfigSaveOption: pairs of <seconds >= 1> <changes >= 0>; "" is none.
            let words = sdsSplitSpaces(v)
            if words.count % 2 != 0 { return "Invalid save parameters" }
            var points: [(Int, Int)] = []
            var i = 0
            while i < words.count {
                guard let s = strtollWhole(words[i]), let c = strtollWhole(words[i + 1]), s >= 1, c >= 0 else {
                    return "Invalid save parameters"
                }
                points.append((s, c))
                i += 2
            }
            cfg.save = points
            return nil
        }, get: { $0.save.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ") }, rewrite: { cfg in
            cfg.save.isEmpty ? (["save \"\""], true) : (cfg.save.map { "save \($0.seconds) \($0.changes)" }, true)
        }),
        bool("appendonly", \.appendonly),
        string("appendfilename", \.appendfilename, mutable: false, validate: { v in
            if v.isEmpty { return "appendfilename can't be empty" }
            return isBaseName(v) ? nil : "appendfilename can't be a path, just a filename"
        }),
        string("appenddirname", \.appenddirname, mutable: false, validate: { v in
            if v.isEmpty { return "appenddirname can't be empty" }
            return isBaseName(v) ? nil : "appenddirname can't be a path, just a dirname"
        }),
        memory("proto-max-bulk-len", \.protoMaxBulkLen, 1024 * 1024...longMax),
        memory("client-query-buffer-limit", \.clientQueryBufferLimit, 1024 * 1024...longMax),
        ConfigEntry(name: "client-output-buffer-limit", mutable: true, set: { cfg, v in
            let parts = sdsSplitSpaces(v)
            guard parts.count % 4 == 0 else { return "Wrong number of arguments in buffer limit configuration." }
            var i = 0
            while i < parts.count {
                guard ["normal", "slave", "replica", "pubsub"].contains(parts[i].lowercased()) else {
                    return "Invalid client class specified in buffer limit configuration."
                }
                i += 4
            }
            var limits = cfg.outputLimits
            i = 0
            while i < parts.count {
                guard let hard = memtoull(parts[i + 1]), let soft = memtoull(parts[i + 2]),
                      let secs = strtollWhole(parts[i + 3]), secs >= 0 else {
                    return "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                }
                let l = OutputBufferLimits.Limit(hard: Int(truncatingIfNeeded: hard), soft: Int(truncatingIfNeeded: soft), softSeconds: secs)
                switch parts[i].lowercased() {
                case "normal": limits.normal = l
                case "pubsub": limits.pubsub = l
                default: limits.replica = l
                }
                i += 4
            }
            cfg.outputLimits = limits
            return nil
        }, get: { $0.outputLimits.description }, rewrite: { cfg in
            let classes: [(String, OutputBufferLimits.Limit, OutputBufferLimits.Limit)] = [
                ("normal", cfg.outputLimits.normal, defaults.outputLimits.normal),
                ("replica", cfg.outputLimits.replica, defaults.outputLimits.replica),
                ("pubsub", cfg.outputLimits.pubsub, defaults.outputLimits.pubsub),
            ]
            let lines = classes.map { "client-output-buffer-limit \($0.0) \(formatMemoryForRewrite($0.1.hard)) \(formatMemoryForRewrite($0.1.soft)) \($0.1.softSeconds)" }
            return (lines, classes.contains { $0.1 != $0.2 })
        }),
        memory("maxmemory", \.maxmemory, 0...longMax, unsigned64: true),
        oneOf("maxmemory-policy", \.maxmemoryPolicy, ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                                       "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]),
        bool("rdbcompression", \.rdbcompression),
        bool("rdbchecksum", \.rdbchecksum, mutable: false),
        int("rdb-version", \.rdbVersion, 9...10),
        hidden(int("key-load-delay", \.keyLoadDelay, Int(Int32.min)...Int(Int32.max))),
        hidden(int("rdb-key-save-delay", \.rdbKeySaveDelay, Int(Int32.min)...Int(Int32.max))),
        hidden(int("loading-process-events-interval-bytes", \.loadingProcessEventsIntervalBytes, 1024...Int(Int32.max))),
        bool("stop-writes-on-bgsave-error", \.stopWritesOnBgsaveError),
        int("active-expire-effort", \.activeExpireEffort, 1...10),
        bool("lazyfree-lazy-user-del", \.lazyfreeLazyUserDel),
        bool("lazyfree-lazy-user-flush", \.lazyfreeLazyUserFlush),
        oneOf("enable-debug-command", \.enableDebugCommand, protectedActions, mutable: false),
        oneOf("enable-protected-configs", \.enableProtectedConfigs, protectedActions, mutable: false),
        oneOf("enable-module-command", \.enableModuleCommand, protectedActions, mutable: false),

        // Accepted, not yet effective (see the note in ServerConfig).
        // list-max-listpack-size: effective (Types/ListValue.swift).
        int("list-max-listpack-size", alias: "list-max-ziplist-size", \.listMaxListpackSize, intMin...intMax),
        int("list-compress-depth", \.listCompressDepth, 0...intMax),
        // hash-max-*: effective (Types/HashValue.swift).
        int("hash-max-listpack-entries", alias: "hash-max-ziplist-entries", \.hashMaxListpackEntries, 0...longMax),
        memory("hash-max-listpack-value", alias: "hash-max-ziplist-value", \.hashMaxListpackValue, 0...longMax),
        // set-max-intset-entries: effective (Types/SetValue.swift).
        int("set-max-intset-entries", \.setMaxIntsetEntries, 0...longMax),
        int("zset-max-listpack-entries", alias: "zset-max-ziplist-entries", \.zsetMaxListpackEntries, 0...longMax),
        memory("zset-max-listpack-value", alias: "zset-max-ziplist-value", \.zsetMaxListpackValue, 0...longMax),
        // stream-node-max-*: effective (Types/StreamValue.swift).
        memory("stream-node-max-bytes", \.streamNodeMaxBytes, 0...longMax),
        int("stream-node-max-entries", \.streamNodeMaxEntries, 0...longMax),
        memory("hll-sparse-max-bytes", \.hllSparseMaxBytes, 0...longMax),
        ConfigEntry(name: "notify-keyspace-events", mutable: true, set: { cfg, v in
            guard let flags = KeyspaceEventFlags.parse(v) else {
                return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
            }
            cfg.notifyKeyspaceEvents = flags
            return nil
        }, get: { KeyspaceEventFlags.format($0.notifyKeyspaceEvents) }, rewrite: { cfg in
            (["notify-keyspace-events \(quoteForConfig(KeyspaceEventFlags.format(cfg.notifyKeyspaceEvents)))"], cfg.notifyKeyspaceEvents != 0)
        }),
        int("slowlog-log-slower-than", \.slowlogLogSlowerThan, -1...longMax),
        int("slowlog-max-len", \.slowlogMaxLen, 0...longMax),
        int("latency-monitor-threshold", \.latencyMonitorThreshold, 0...longMax),
        bool("latency-tracking", \.latencyTracking),
        ConfigEntry(name: "latency-tracking-info-percentiles", mutable: true, set: { cfg, v in
            let words = sdsSplitSpaces(v)
            var values: [Double] = []
            for w in words where !(words.count == 1 && w.isEmpty) {
                guard let d = strictDouble(w) else { return "Invalid latency-tracking-info-percentiles parameters" }
                guard d >= 0 && d <= 100 else {
                    return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                }
                values.append(d)
            }
            cfg.latencyTrackingInfoPercentiles = values
            return nil
        }, get: { $0.latencyTrackingInfoPercentiles.map(formatTrimmedDouble).joined(separator: " ") }, rewrite: { cfg in
            let p = cfg.latencyTrackingInfoPercentiles
            return (["latency-tracking-info-percentiles " + (p.isEmpty ? "\"\"" : p.map(formatTrimmedDouble).joined(separator: " "))], true)
        }),
        int("lfu-log-factor", \.lfuLogFactor, 0...intMax),
        int("lfu-decay-time", \.lfuDecayTime, 0...intMax),
        int("maxmemory-samples", \.maxmemorySamples, 1...intMax),
        int("maxmemory-eviction-tenacity", \.maxmemoryEvictionTenacity, 0...100),
        memory("maxmemory-clients", \.maxmemoryClients, -100...Int.max, percent: true),
        memory("repl-backlog-size", \.replBacklogSize, 1...Int.max),
        int("repl-backlog-ttl", \.replBacklogTTL, 0...longMax),
        int("repl-timeout", \.replTimeout, 1...intMax),
        int("repl-ping-replica-period", alias: "repl-ping-slave-period", \.replPingReplicaPeriod, 1...intMax),
        bool("repl-diskless-sync", \.replDisklessSync),
        int("repl-diskless-sync-delay", \.replDisklessSyncDelay, 0...intMax),
        int("repl-diskless-sync-max-replicas", \.replDisklessSyncMaxReplicas, 0...intMax),
        oneOf("repl-diskless-load", \.replDisklessLoad, ["disabled", "on-empty-db", "swapdb"]),
        bool("repl-disable-tcp-nodelay", \.replDisableTcpNodelay),
        string("masterauth", \.masterauth, emptyIsNull: true),
        string("masteruser", \.masteruser, emptyIsNull: true),
        bool("replica-read-only", alias: "slave-read-only", \.replicaReadOnly),
        bool("replica-serve-stale-data", alias: "slave-serve-stale-data", \.replicaServeStaleData),
        int("replica-priority", alias: "slave-priority", \.replicaPriority, 0...intMax),
        bool("replica-lazy-flush", alias: "slave-lazy-flush", \.replicaLazyFlush),
        bool("replica-ignore-maxmemory", alias: "slave-ignore-maxmemory", \.replicaIgnoreMaxmemory),
        bool("replica-announced", \.replicaAnnounced),
        string("replica-announce-ip", alias: "slave-announce-ip", \.replicaAnnounceIP, emptyIsNull: true),
        int("replica-announce-port", alias: "slave-announce-port", \.replicaAnnouncePort, 0...65535),
        int("min-replicas-to-write", alias: "min-slaves-to-write", \.minReplicasToWrite, 0...intMax),
        int("min-replicas-max-lag", alias: "min-slaves-max-lag", \.minReplicasMaxLag, 0...intMax),
        bool("replica-ignore-disk-write-errors", \.replicaIgnoreDiskWriteErrors),
        oneOf("propagation-error-behavior", \.propagationErrorBehavior, ["ignore", "panic", "panic-on-replicas"]),
        oneOf("appendfsync", \.appendfsync, ["everysec", "always", "no"]),
        bool("no-appendfsync-on-rewrite", \.noAppendfsyncOnRewrite),
        int("auto-aof-rewrite-percentage", \.autoAofRewritePercentage, 0...intMax),
        memory("auto-aof-rewrite-min-size", \.autoAofRewriteMinSize, 0...Int.max),
        bool("aof-load-truncated", \.aofLoadTruncated),
        bool("aof-use-rdb-preamble", \.aofUseRdbPreamble),
        bool("aof-rewrite-incremental-fsync", \.aofRewriteIncrementalFsync),
        bool("aof-timestamp-enabled", \.aofTimestampEnabled),
        bool("aof-disable-auto-gc", \.aofDisableAutoGC),
        bool("rdb-del-sync-files", \.rdbDelSyncFiles),
        bool("rdb-save-incremental-fsync", \.rdbSaveIncrementalFsync),
        int("io-threads", \.ioThreads, 1...128, mutable: false),
        bool("io-threads-do-reads", \.ioThreadsDoReads, mutable: false),
        bool("cluster-enabled", \.clusterEnabled, mutable: false),
        bool("lazyfree-lazy-eviction", \.lazyfreeLazyEviction),
        bool("lazyfree-lazy-expire", \.lazyfreeLazyExpire),
        bool("lazyfree-lazy-server-del", \.lazyfreeLazyServerDel),
        bool("activerehashing", \.activerehashing),
        bool("dynamic-hz", \.dynamicHz),
        int("busy-reply-threshold", alias: "lua-time-limit", \.busyReplyThreshold, 0...longMax),
        int("tracking-table-max-keys", \.trackingTableMaxKeys, 0...longMax),
        int("acllog-max-len", \.acllogMaxLen, 0...longMax),
        string("aclfile", \.aclfile, mutable: false),
        oneOf("acl-pubsub-default", \.aclPubsubDefault, ["allchannels", "resetchannels"]),
        oneOf("supervised", \.supervised, ["upstart", "systemd", "auto", "no"], mutable: false),
        string("unixsocket", \.unixsocket, mutable: false, emptyIsNull: true),
        ConfigEntry(name: "unixsocketperm", mutable: false, set: { cfg, v in
            // An OCTAL_CONFIG UINT, 0...0777: strtoll(v, &end, 8) with nothing left over.
            var t = Substring(v)
            while let f = t.first, f == " " || f == "\t" { t = t.dropFirst() }
            let negative = t.first == "-"
            if t.first == "-" || t.first == "+" { t = t.dropFirst() }
            guard !t.isEmpty, let m = Int(t, radix: 8) else { return "argument couldn't be parsed as an octal number" }
            let n = negative ? -m : m
            guard (0...0o777).contains(n) else { return "argument must be between 0 and 777 inclusive" }
            cfg.unixsocketperm = n
            return nil
        }, get: { String($0.unixsocketperm, radix: 8) }, rewrite: { cfg in
            (["unixsocketperm \(String(cfg.unixsocketperm, radix: 8))"], cfg.unixsocketperm != 0)
        }),
        int("shutdown-timeout", \.shutdownTimeout, 0...intMax),
        flagsOf("shutdown-on-sigint", \.shutdownOnSigint, shutdownFlagNames, check: shutdownFlagsCheck),
        flagsOf("shutdown-on-sigterm", \.shutdownOnSigterm, shutdownFlagNames, check: shutdownFlagsCheck),
        oneOf("sanitize-dump-payload", \.sanitizeDumpPayload, ["no", "yes", "clients"]),

        // Process settings (Server/ProcessSettings.swift).
        bool("always-show-logo", \.alwaysShowLogo, mutable: false),
        bool("set-proc-title", \.setProcTitle, mutable: false),
        string("proc-title-template", \.procTitleTemplate, validate: { v in
            ProcTitle.isValid(v) ? nil : "template format is invalid or contains unknown variables"
        }),
        oneOf("oom-score-adj", \.oomScoreAdj, ["no", "yes", "relative=yes", "absolute"]),
        ConfigEntry(name: "oom-score-adj-values", mutable: true, set: { cfg, v in
            // setConfigOOMScoreAdjValuesOption: three strtol values in -2000...2000.
            let words = sdsSplitSpaces(v)
            if words.count != 3 { return "wrong number of arguments" }
            var values: [Int] = []
            for w in words {
                guard let n = strtollWhole(w), (-2000...2000).contains(n) else {
                    return "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                }
                values.append(n)
            }
            cfg.oomScoreAdjValues = values
            return nil
        }, get: { $0.oomScoreAdjValues.map(String.init).joined(separator: " ") }, rewrite: { cfg in
            (["oom-score-adj-values " + cfg.oomScoreAdjValues.map(String.init).joined(separator: " ")],
             cfg.oomScoreAdjValues != defaults.oomScoreAdjValues)
        }),
        bool("disable-thp", \.disableTHP, mutable: false),
        bool("crash-log-enabled", \.crashLogEnabled),
    ] + inertEntries

    /// Redis 7.0.15's parameters without a mechanism here: each is accepted with Redis's
    /// type, bounds, default and mutability, and CONFIG GET/SET/REWRITE treat it as Redis
    /// does; a value other than the default is logged once as having no effect.
    static let inertEntries: [ConfigEntry] = {
        func b(_ name: String, alias: String? = nil, _ d: Bool, mutable: Bool = true) -> ConfigEntry {
            bool(name, alias: alias, \ServerConfig.[inertBool: name, default: d], mutable: mutable)
        }
        func i(_ name: String, alias: String? = nil, _ d: Int, _ range: ClosedRange<Int>, mutable: Bool = true) -> ConfigEntry {
            int(name, alias: alias, \ServerConfig.[inertInt: name, default: d], range, mutable: mutable)
        }
        func m(_ name: String, _ d: Int, _ range: ClosedRange<Int>, unsigned64: Bool = false) -> ConfigEntry {
            memory(name, \ServerConfig.[inertInt: name, default: d], range, unsigned64: unsigned64)
        }
        func s(_ name: String, _ d: String = "", mutable: Bool = true, emptyIsNull: Bool = true,
               validate: (@Sendable (String) -> String?)? = nil) -> ConfigEntry {
            string(name, \ServerConfig.[inertString: name, default: d], mutable: mutable, emptyIsNull: emptyIsNull, validate: validate)
        }
        func e(_ name: String, _ d: String, _ values: [String], mutable: Bool = true) -> ConfigEntry {
            oneOf(name, \ServerConfig.[inertString: name, default: d], values, mutable: mutable)
        }
        return [
            b("jemalloc-bg-thread", true),
            ConfigEntry(name: "activedefrag", mutable: true, set: { cfg, v in
                switch v.lowercased() {
                // isValidActiveDefrag of a build without Redis's patched jemalloc (Debian's too).
                case "yes": return "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution"
                case "no": cfg[inertBool: "activedefrag", default: false] = false; return nil
                default: return "argument must be 'yes' or 'no'"
                }
            }, get: { $0[inertBool: "activedefrag", default: false] ? "yes" : "no" }, rewrite: plainRewrite("activedefrag") { _ in "no" }),
            i("active-defrag-cycle-min", 1, 1...99),
            i("active-defrag-cycle-max", 25, 1...99),
            i("active-defrag-threshold-lower", 10, 0...1000),
            i("active-defrag-threshold-upper", 100, 0...1000),
            i("active-defrag-max-scan-fields", 1000, 1...longMax),
            m("active-defrag-ignore-bytes", 100 << 20, 1...longMax),
            b("crash-memcheck-enabled", true),
            hidden(b("use-exit-on-panic", false)),
            hidden(i("watchdog-period", 0, 0...intMax)),
            b("syslog-enabled", false, mutable: false),
            s("syslog-ident", "redis", mutable: false, emptyIsNull: false),
            e("syslog-facility", "local0", ["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"], mutable: false),
            s("server_cpulist", mutable: false),
            s("bio_cpulist", mutable: false),
            s("aof_rewrite_cpulist", mutable: false),
            s("bgsave_cpulist", mutable: false),
            s("ignore-warnings", emptyIsNull: false),
            s("bind-source-addr"),
            i("socket-mark-id", 0, 0...uintMax, mutable: false),
            // Cluster (cluster-enabled itself is above: cluster mode does not exist yet).
            b("cluster-require-full-coverage", true),
            b("cluster-replica-no-failover", alias: "cluster-slave-no-failover", false),
            b("cluster-allow-reads-when-down", false),
            b("cluster-allow-pubsubshard-when-down", true),
            b("cluster-allow-replica-migration", true),
            s("cluster-announce-ip"),
            s("cluster-config-file", "nodes.conf", mutable: false, emptyIsNull: false),
            s("cluster-announce-hostname", validate: { v in
                // isValidAnnouncedHostname
                if v.utf8.count >= 256 { return "Hostnames must be less than 256 characters" }
                for c in v.utf8 where !(c >= 0x30 && c <= 0x39 || c >= 0x41 && c <= 0x5A || c >= 0x61 && c <= 0x7A || c == 0x2D || c == 0x2E) {
                    return "Hostnames may only contain alphanumeric characters, hyphens or dots"
                }
                return nil
            }),
            e("cluster-preferred-endpoint-type", "ip", ["ip", "hostname", "unknown-endpoint"]),
            i("cluster-replica-validity-factor", alias: "cluster-slave-validity-factor", 10, 0...intMax),
            i("cluster-migration-barrier", 1, 0...intMax),
            i("cluster-port", 0, 0...65535, mutable: false),
            i("cluster-announce-bus-port", 0, 0...65535),
            i("cluster-announce-port", 0, 0...65535),
            i("cluster-announce-tls-port", 0, 0...65535),
            i("cluster-node-timeout", 15000, 0...longMax),
            m("cluster-link-sendbuf-limit", 0, 0...longMax, unsigned64: true),
            // TLS (Debian's redis-server is built with it; redis-uv has no TLS yet).
            i("tls-port", 0, 0...65535),
            i("tls-session-cache-size", 20480, 0...intMax),
            i("tls-session-cache-timeout", 300, 0...intMax),
            b("tls-cluster", false),
            b("tls-replication", false),
            e("tls-auth-clients", "yes", ["no", "yes", "optional"]),
            b("tls-prefer-server-ciphers", false),
            b("tls-session-caching", true),
            s("tls-cert-file"), s("tls-key-file"), s("tls-key-file-pass"),
            s("tls-client-cert-file"), s("tls-client-key-file"), s("tls-client-key-file-pass"),
            s("tls-dh-params-file"), s("tls-ca-cert-file"), s("tls-ca-cert-dir"),
            s("tls-protocols"), s("tls-ciphers"), s("tls-ciphersuites"),
        ]
    }()

    /// Why each accepted parameter has no effect in redis-uv (logged when it is set to
    /// something other than its default).
    static func noEffectReason(_ name: String) -> String? {
        if name.hasPrefix("tls-") { return "redis-uv has no TLS support yet" }
        if name.hasPrefix("cluster-") { return "redis-uv has no cluster mode yet" }
        if name.hasPrefix("active-defrag") || name == "activedefrag" { return "no active defragmentation (glibc malloc)" }
        if name.hasPrefix("syslog-") { return "redis-uv logs to its logfile or stdout only" }
        if name.hasSuffix("_cpulist") { return "no CPU affinity setting in redis-uv" }
        switch name {
        case "jemalloc-bg-thread": return "redis-uv uses glibc malloc, not jemalloc"
        case "crash-memcheck-enabled": return "no memory test in redis-uv's crash report"
        case "use-exit-on-panic", "watchdog-period": return "no software watchdog or panic hook in redis-uv"
        case "ignore-warnings": return "redis-uv runs no start-up kernel checks to silence"
        case "bind-source-addr": return "outgoing connections are not bound to a source address"
        case "socket-mark-id": return "sockets are not marked (SO_MARK) by redis-uv"
        default: return nil
        }
    }

    static let shutdownFlagNames = ["default", "save", "nosave", "now", "force"]

    @Sendable static func shutdownFlagsCheck(_ words: [String]) -> String? {
        words.contains("save") && words.contains("nosave")
            ? "shutdown options SAVE and NOSAVE can't be used simultaneously" : nil
    }

    /// The entry for a name or alias (case-insensitive), Redis's lookupConfig.
    static func entry(named name: String) -> ConfigEntry? {
        let l = name.lowercased()
        return entries.first { $0.name == l || $0.alias == l }
    }
}

/// Splits a CONFIG SET value of a multi-argument parameter as Redis's sdssplitlen(" "):
/// on every single space, empty words kept; "" gives no words.
func sdsSplitSpaces(_ s: String) -> [String] {
    if s.isEmpty { return [] }
    return s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
}

/// Redis's string2ll on a String.
func strictInt(_ s: String) -> Int? {
    Array(s.utf8).withUnsafeBytes { parseStrictInt($0) }
}

/// strtoll(s, &end, 10) with *end == '\0' required, as Redis's save and
/// client-output-buffer-limit parsers use it (leading blanks and a sign allowed).
func strtollWhole(_ s: String) -> Int? {
    var t = Substring(s)
    while let f = t.first, f == " " || f == "\t" || f == "\n" || f == "\r" || f == "\u{0B}" || f == "\u{0C}" { t = t.dropFirst() }
    if t.first == "+" { t = t.dropFirst() }
    if t.isEmpty { return s.isEmpty ? 0 : nil }
    return Int(t)
}

/// Redis's string2d: the whole string is a double (no spaces, no NaN).
func strictDouble(_ s: String) -> Double? {
    guard !s.isEmpty, let first = s.utf8.first, first != 32, first != 9,
          let d = Double(s), !d.isNaN else { return nil }
    return d
}

/// "%f" then Redis's trimDoubleString (trailing zeros and a trailing '.' removed).
func formatTrimmedDouble(_ d: Double) -> String {
    var s = formatC("%f", d)
    if s.contains(".") {
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
    }
    return s
}

/// Redis's memtoull: digits then an optional unit (b, k, kb, m, mb, g, gb; any case),
/// no sign. Returns nil on a parse error; an overflowing number clamps to UInt64.max
/// (strtoull's ERANGE is not checked), a product that overflows is an error.
func memtoull(_ s: String) -> UInt64? {
    let bytes = Array(s.utf8)
    if bytes.first == UInt8(ascii: "-") { return nil }
    var digitsEnd = 0
    while digitsEnd < bytes.count, bytes[digitsEnd] >= 48, bytes[digitsEnd] <= 57 { digitsEnd += 1 }
    let unit = String(decoding: bytes[digitsEnd...], as: UTF8.self).lowercased()
    let mul: UInt64
    switch unit {
    case "", "b": mul = 1
    case "k": mul = 1000
    case "kb": mul = 1024
    case "m": mul = 1_000_000
    case "mb": mul = 1 << 20
    case "g": mul = 1_000_000_000
    case "gb": mul = 1 << 30
    default: return nil
    }
    if digitsEnd >= 128 { return nil }
    var value: UInt64 = 0
    for c in bytes[..<digitsEnd] {
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
        if o1 || o2 { value = UInt64.max; break }
        value = a
    }
    if value > UInt64.max / mul { return nil }
    return value * mul
}

/// The old API: a memory value as a non-negative Int.
func parseMemory(_ s: String) -> Int? {
    guard let v = memtoull(s), v <= UInt64(Int.max) else { return nil }
    return Int(v)
}

/// Redis's rewriteConfigFormatMemory: the largest unit that divides exactly.
func formatMemoryForRewrite(_ bytes: Int) -> String {
    let gb = 1 << 30, mb = 1 << 20, kb = 1 << 10
    if bytes != 0 && bytes % gb == 0 { return "\(bytes / gb)gb" }
    if bytes != 0 && bytes % mb == 0 { return "\(bytes / mb)mb" }
    if bytes != 0 && bytes % kb == 0 { return "\(bytes / kb)kb" }
    return String(bytes)
}

/// Redis's sdscatrepr of a String (Support/Repr.swift).
func quoteForConfig(_ s: String) -> String {
    var out: [UInt8] = []
    appendRepr(&out, Array(s.utf8))
    return String(decoding: out, as: UTF8.self)
}

/// Redis's pathIsBaseName: no '/' and not "." or "..".
func isBaseName(_ s: String) -> Bool {
    !s.contains("/") && s != "." && s != ".."
}

func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return "" }
    return stringFromCBuffer(buf)
}
