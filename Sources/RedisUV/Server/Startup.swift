#if canImport(Glibc)
import Glibc
#endif

/// `redis-uv [/path/to/redis.conf] [--name value ...]`, as redis-server takes them.
public enum RedisServerMain {
    public static func run(arguments: [String]) -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        // SORT ... ALPHA collates with the environment's locale, as redis-server does.
        setlocale(LC_COLLATE, "")
        if arguments.first == "-v" || arguments.first == "--version" {
            print("redis-uv v=\(redisUVVersion) (Redis \(redisCompatVersion) compatible)")
            return 0
        }
        if arguments.first == "-h" || arguments.first == "--help" {
            print("Usage: redis-uv [/path/to/redis.conf] [--name value ...]\n       redis-uv --port 7777 --save '' --dir /tmp")
            return 0
        }
        var config = ServerConfig()
        do {
            try ConfigLoader.apply(arguments: arguments, to: &config)
        } catch {
            writeAll(2, "\n*** FATAL CONFIG FILE ERROR (redis-uv \(redisUVVersion)) ***\n\(error.description)\n")
            return 1
        }
        if config.dir.isEmpty { config.dir = currentDirectory() }
        let log = Logger(level: config.loglevel, path: config.logfile)
        let server = Server(config: config, log: log)
        let loop = EventLoop(server: server)
        server.loop = loop
        log.notice("oO0OoO0OoO0Oo redis-uv is starting oO0OoO0OoO0Oo")
        log.notice("redis-uv version=\(redisUVVersion), Redis \(redisCompatVersion) compatible, pid=\(getpid()), just started")
        if config.port == 0 && config.unixsocket.isEmpty {
            log.warning("Configured to not listen anywhere, exiting.")
            return 1
        }
        do {
            // port 0: no TCP listener, as Redis.
            if config.port != 0 {
                try loop.listen(bind: config.bind, port: config.port, backlog: config.tcpBacklog)
            }
            if !config.unixsocket.isEmpty {
                try loop.listenUnix(path: config.unixsocket, perm: config.unixsocketperm, backlog: config.tcpBacklog)
            }
        } catch {
            log.warning(error.description)
            return 1
        }
        server.applyProcessSettings()
        loop.startTimers(hz: config.hz)
        _ = cyclesPerMicrosecond  // calibrate now, not on the first INFO
        if !config.pidfile.isEmpty, let f = fopen(config.pidfile, "w") {
            fputs("\(getpid())\n", f)
            fclose(f)
        }
        adjustOpenFilesLimit(maxclients: config.maxclients, log: log)
        log.notice("Server initialized")
        if !server.aclLoadUsersAtStartup() { return 1 }
        server.replicationInitFromConfig()
        if !server.loadDataFromDisk(serveClients: true, restoreReplicationInfo: true) { return 1 }
        if !server.aofOpenOnServerStart() { return 1 }
        if !server.shutdownRequested {
            if config.port != 0 { log.notice("Ready to accept connections tcp") }
            if !config.unixsocket.isEmpty { log.notice("Ready to accept connections unix") }
            loop.run()
            // Only a shutdown ends the loop for good: it also stops to load an RDB received
            // from our master outside its callbacks (clients are served meanwhile).
            while !server.shutdownRequested {
                server.runReplicationWorkOutsideLoop()
                if server.shutdownRequested { break }
                loop.run()
            }
        }
        server.beforeExit()
        if !config.pidfile.isEmpty { unlink(config.pidfile) }
        if !config.unixsocket.isEmpty {
            log.notice("Removing the unix socket file.")
            if unlink(config.unixsocket) != 0 {
                log.warning("Error removing the unix socket file: \(String(cString: strerror(errno)))")
            }
        }
        log.warning("redis-uv is now ready to exit, bye bye...")
        return server.exitCode
    }
}

let redisUVVersion = "0.1.0"
/// The Redis version we answer as (INFO redis_version, HELLO version): clients gate
/// features on it, and we implement 7.0's behaviour.
let redisCompatVersion = "7.0.15"

struct ConfigError: Error, CustomStringConvertible {
    let description: String
}

/// Reads redis.conf syntax and `--name value` arguments into a ServerConfig through the
/// one ConfigTable.
enum ConfigLoader {
    static func apply(arguments: [String], to config: inout ServerConfig) throws(ConfigError) {
        var args = arguments[...]
        var text = ""
        if let first = args.first, !first.hasPrefix("--") {
            args = args.dropFirst()
            if first == "-" {
                var lines: [String] = []
                while let l = readLine() { lines.append(l) }
                text = lines.joined(separator: "\n")
            } else {
                guard let content = readWholeFile(first) else {
                    throw ConfigError(description: "Fatal error, can't open config file '\(first)': \(String(cString: strerror(errno)))")
                }
                text = content
                // Absolute, as Redis's server.configfile (INFO config_file, CONFIG REWRITE).
                config.configFile = first.hasPrefix("/") ? first : currentDirectory() + "/" + first
            }
        }
        try applyText(text, to: &config, source: "file")
        // Command-line options: each --name starts a directive, following words are its
        // arguments (so both `--replicaof "h p"` and `--replicaof h p` work).
        var directives: [[String]] = []
        for a in args {
            if a.hasPrefix("--") && a.count > 2 {
                directives.append([String(a.dropFirst(2))])
            } else if directives.isEmpty {
                throw ConfigError(description: "Invalid option '\(a)': options are given as --name value")
            } else {
                directives[directives.count - 1].append(a)
            }
        }
        for d in directives {
            try applyDirective(name: d[0], args: Array(d.dropFirst()), to: &config, line: "--" + d.joined(separator: " "), lineNumber: nil, fromFile: false)
        }
    }

    static func applyText(_ text: String, to config: inout ServerConfig, source: String) throws(ConfigError) {
        var sawSave = false
        for (i, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            var storage: [UInt8] = []
            var ranges: [(Int, Int)] = []
            let ok = Array(line.utf8).withUnsafeBytes { splitArgs($0, into: &storage, ranges: &ranges) }
            guard ok, !ranges.isEmpty else {
                throw ConfigError(description: "Reading the configuration file, at line \(i + 1)\n>>> '\(line)'\nUnbalanced quotes in configuration line")
            }
            let words = ranges.map { String(decoding: storage[$0.0..<($0.0 + $0.1)], as: UTF8.self) }
            let name = words[0].lowercased()
            var values = Array(words.dropFirst())
            // Several `save` lines add up, as in redis.conf.
            if name == "save" {
                if sawSave && !(values.count == 1 && values[0].isEmpty) {
                    values = config.save.flatMap { [String($0.seconds), String($0.changes)] } + values
                }
                sawSave = true
            }
            try applyDirective(name: name, args: values, to: &config, line: line, lineNumber: i + 1, fromFile: true)
        }
    }

    static func applyDirective(name: String, args: [String], to config: inout ServerConfig, line: String,
                               lineNumber: Int?, fromFile: Bool) throws(ConfigError) {
        let whereText = lineNumber.map { "Reading the configuration file, at line \($0)\n>>> '\(line)'\n" }
            ?? "Reading the configuration from the command line\n>>> '\(line)'\n"
        if name == "user" && !args.isEmpty {
            // ACLAppendUserForLoading: checked now, loaded once the server is set up.
            let words = [name] + args
            if let err = ACLState.checkUserLine(words, previous: config.userLines, pubsubDefault: config.aclPubsubDefault) {
                throw ConfigError(description: whereText + err)
            }
            config.userLines.append(words)
            return
        }
        // Redis's deprecated_configs: accepted with their one argument, ignored.
        if args.count == 1 && ["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"].contains(name) {
            return
        }
        if name == "include" && args.count == 1 {
            guard let content = readWholeFile(args[0]) else {
                throw ConfigError(description: "Fatal error, can't open config file '\(args[0])': \(String(cString: strerror(errno)))")
            }
            try applyText(content, to: &config, source: args[0])
            return
        }
        guard let entry = ConfigTable.entry(named: name) else {
            throw ConfigError(description: whereText + "Bad directive or wrong number of arguments")
        }
        let value = args.joined(separator: " ")
        if let err = entry.set(&config, value) {
            throw ConfigError(description: whereText + err)
        }
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Server {
    /// Everything that must happen between the loop stopping and the process exiting.
    func beforeExit() {
        // A signal (SIGTERM/SIGINT) skipped SHUTDOWN's save step: save now when save
        // points exist, as Redis's prepareForShutdown does.
        if !persistence.shutdownPrepared && !prepareForShutdownSave(save: false, nosave: false) {
            exitCode = 1
        }
        for c in clientsInOrder { c.connection?.flush() }
    }
}

/// Raises RLIMIT_NOFILE so `maxclients` connections fit (Redis's adjustOpenFilesLimit:
/// maxclients + 32 reserved descriptors, as far as the hard limit allows).
func adjustOpenFilesLimit(maxclients: Int, log: Logger) {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
    let wanted = rlim_t(maxclients + 32)
    if limit.rlim_cur >= wanted { return }
    var raised = limit
    raised.rlim_cur = min(wanted, limit.rlim_max)
    if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 {
        log.notice("Increased maximum number of open files to \(raised.rlim_cur) (it was originally set to \(limit.rlim_cur)).")
    }
}
