#if canImport(Glibc)
import Glibc
#endif

/// Live configuration values. Each field is reached through one entry of `ConfigTable`,
/// which serves the command line, redis.conf and CONFIG GET/SET alike.
struct ServerConfig {
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
    var save: [(seconds: Int, changes: Int)] = [(3600, 1), (300, 100), (60, 10000)]
    var appendonly = false
    var appendfilename = "appendonly.aof"
    var protoMaxBulkLen = 512 * 1024 * 1024
    var clientQueryBufferLimit = 1024 * 1024 * 1024
    var outputLimits = OutputBufferLimits()
    var maxmemory = 0
    var maxmemoryPolicy = "noeviction"
    var rdbcompression = true
    var rdbchecksum = true
    var stopWritesOnBgsaveError = true
    var activeExpireEffort = 1
    var activeExpireEnabled = true   // DEBUG SET-ACTIVE-EXPIRE
    var lazyfreeLazyUserDel = false
    var lazyfreeLazyUserFlush = false
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

/// One configuration parameter: its name(s), whether CONFIG SET may change it while
/// running, and how to read and write it as text (the one representation all three
/// sources share).
struct ConfigEntry: Sendable {
    let name: String
    var alias: String? = nil
    let mutable: Bool
    /// Parses and stores a value; returns an error message (Redis's wording) on failure.
    let set: @Sendable (inout ServerConfig, String) -> String?
    let get: @Sendable (ServerConfig) -> String
}

enum ConfigTable {
    static func bool(_ name: String, _ kp: WritableKeyPath<ServerConfig, Bool> & Sendable, mutable: Bool = true) -> ConfigEntry {
        ConfigEntry(name: name, mutable: mutable, set: { cfg, v in
            switch v.lowercased() {
            case "yes": cfg[keyPath: kp] = true
            case "no": cfg[keyPath: kp] = false
            default: return "argument must be 'yes' or 'no'"
            }
            return nil
        }, get: { $0[keyPath: kp] ? "yes" : "no" })
    }

    static func int(_ name: String, _ kp: WritableKeyPath<ServerConfig, Int> & Sendable, _ range: ClosedRange<Int>, mutable: Bool = true) -> ConfigEntry {
        ConfigEntry(name: name, mutable: mutable, set: { cfg, v in
            guard let n = Int(v) else { return "argument couldn't be parsed into an integer" }
            guard range.contains(n) else { return "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive" }
            cfg[keyPath: kp] = n
            return nil
        }, get: { String($0[keyPath: kp]) })
    }

    static func memory(_ name: String, _ kp: WritableKeyPath<ServerConfig, Int> & Sendable, _ range: ClosedRange<Int>, mutable: Bool = true) -> ConfigEntry {
        ConfigEntry(name: name, mutable: mutable, set: { cfg, v in
            guard let n = parseMemory(v) else { return "argument must be a memory value" }
            guard range.contains(n) else { return "argument must be between \(range.lowerBound) and \(range.upperBound) inclusive" }
            cfg[keyPath: kp] = n
            return nil
        }, get: { String($0[keyPath: kp]) })
    }

    static func string(_ name: String, _ kp: WritableKeyPath<ServerConfig, String> & Sendable, mutable: Bool = true) -> ConfigEntry {
        ConfigEntry(name: name, mutable: mutable, set: { cfg, v in cfg[keyPath: kp] = v; return nil },
                    get: { $0[keyPath: kp] })
    }

    static func oneOf(_ name: String, _ kp: WritableKeyPath<ServerConfig, String> & Sendable, _ values: [String], mutable: Bool = true) -> ConfigEntry {
        ConfigEntry(name: name, mutable: mutable, set: { cfg, v in
            let l = v.lowercased()
            guard values.contains(l) else { return "argument(s) must be one of the following: " + values.joined(separator: ", ") }
            cfg[keyPath: kp] = l
            return nil
        }, get: { $0[keyPath: kp] })
    }

    /// Every parameter we know, in the order CONFIG GET * lists them.
    static let entries: [ConfigEntry] = [
        int("port", \.port, 0...65535, mutable: false),
        ConfigEntry(name: "bind", mutable: false, set: { cfg, v in
            cfg.bind = v.split(separator: " ").map(String.init)
            return nil
        }, get: { $0.bind.joined(separator: " ") }),
        bool("protected-mode", \.protectedMode),
        string("requirepass", \.requirepass),
        ConfigEntry(name: "dir", mutable: true, set: { cfg, v in
            if chdir(v) != 0 { return String(cString: strerror(errno)) }
            cfg.dir = currentDirectory()
            return nil
        }, get: { $0.dir }),
        string("dbfilename", \.dbfilename),
        int("databases", \.databases, 1...Int(Int32.max), mutable: false),
        int("hz", \.hz, 0...Int(Int32.max)),
        int("maxclients", \.maxclients, 1...Int(Int32.max)),
        int("timeout", \.timeout, 0...Int(Int32.max)),
        int("tcp-keepalive", \.tcpKeepalive, 0...Int(Int32.max)),
        int("tcp-backlog", \.tcpBacklog, 0...Int(Int32.max), mutable: false),
        oneOf("loglevel", \.loglevel, ["debug", "verbose", "notice", "warning"]),
        string("logfile", \.logfile, mutable: false),
        ConfigEntry(name: "daemonize", mutable: false, set: { cfg, v in
            switch v.lowercased() {
            case "no": cfg.daemonize = false; return nil
            case "yes": return "daemonize yes is not supported by redis-uv: run it under a supervisor"
            default: return "argument must be 'yes' or 'no'"
            }
        }, get: { $0.daemonize ? "yes" : "no" }),
        string("pidfile", \.pidfile, mutable: false),
        ConfigEntry(name: "replicaof", alias: "slaveof", mutable: false, set: { cfg, v in
            let parts = v.split(separator: " ")
            if v.isEmpty || v.lowercased() == "no one" { cfg.replicaof = ""; return nil }
            guard parts.count == 2, let p = Int(parts[1]), (0...65535).contains(p) else { return "Invalid master port" }
            cfg.replicaof = v
            return nil
        }, get: { $0.replicaof }),
        ConfigEntry(name: "save", mutable: true, set: { cfg, v in
            let parts = v.split(separator: " ", omittingEmptySubsequences: true)
            if parts.isEmpty { cfg.save = []; return nil }
            guard parts.count % 2 == 0 else { return "Invalid save parameters" }
            var points: [(Int, Int)] = []
            var i = 0
            while i < parts.count {
                guard let s = Int(parts[i]), let c = Int(parts[i + 1]), s >= 0, c >= 0 else { return "Invalid save parameters" }
                points.append((s, c))
                i += 2
            }
            cfg.save = points
            return nil
        }, get: { $0.save.map { "\($0.seconds) \($0.changes)" }.joined(separator: " ") }),
        bool("appendonly", \.appendonly),
        string("appendfilename", \.appendfilename, mutable: false),
        memory("proto-max-bulk-len", \.protoMaxBulkLen, 1024 * 1024...Int(Int64.max)),
        memory("client-query-buffer-limit", \.clientQueryBufferLimit, 1024 * 1024...Int(Int64.max)),
        ConfigEntry(name: "client-output-buffer-limit", mutable: true, set: { cfg, v in
            let parts = v.split(separator: " ").map(String.init)
            guard parts.count % 4 == 0, !parts.isEmpty else { return "Wrong number of arguments in buffer limit configuration." }
            var limits = cfg.outputLimits
            var i = 0
            while i < parts.count {
                guard let hard = parseMemory(parts[i + 1]), let soft = parseMemory(parts[i + 2]),
                      let secs = Int(parts[i + 3]), hard >= 0, soft >= 0, secs >= 0 else {
                    return "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                }
                let l = OutputBufferLimits.Limit(hard: hard, soft: soft, softSeconds: secs)
                switch parts[i].lowercased() {
                case "normal": limits.normal = l
                case "slave", "replica": limits.replica = l
                case "pubsub": limits.pubsub = l
                default: return "Invalid client class specified in buffer limit configuration."
                }
                i += 4
            }
            cfg.outputLimits = limits
            return nil
        }, get: { $0.outputLimits.description }),
        memory("maxmemory", \.maxmemory, 0...Int(Int64.max)),
        oneOf("maxmemory-policy", \.maxmemoryPolicy, ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
                                                       "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"]),
        bool("rdbcompression", \.rdbcompression),
        bool("rdbchecksum", \.rdbchecksum),
        bool("stop-writes-on-bgsave-error", \.stopWritesOnBgsaveError),
        int("active-expire-effort", \.activeExpireEffort, 1...10),
        bool("lazyfree-lazy-user-del", \.lazyfreeLazyUserDel),
        bool("lazyfree-lazy-user-flush", \.lazyfreeLazyUserFlush),
    ]

    static func entry(named name: String) -> ConfigEntry? {
        let l = name.lowercased()
        return entries.first { $0.name == l || $0.alias == l }
    }
}

/// "1gb", "64mb", "100k", "123" → bytes (Redis's memtoull: k/kb/m/mb/g/gb, case-insensitive).
func parseMemory(_ s: String) -> Int? {
    let l = s.lowercased()
    let units: [(String, Int)] = [("gb", 1 << 30), ("g", 1_000_000_000), ("mb", 1 << 20), ("m", 1_000_000),
                                  ("kb", 1024), ("k", 1000), ("b", 1)]
    for (suffix, mul) in units where l.hasSuffix(suffix) {
        guard let n = Int(l.dropLast(suffix.count)), n >= 0 else { return nil }
        let (r, o) = n.multipliedReportingOverflow(by: mul)
        return o ? nil : r
    }
    guard let n = Int(l), n >= 0 else { return nil }
    return n
}

func currentDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buf, buf.count) != nil else { return "" }
    return stringFromCBuffer(buf)
}
