#if canImport(Glibc)
import Glibc
#endif

/// What the process-level settings remember between applications: the argv area the
/// title is written into, and the oom_score_adj found before we first changed it.
final class ProcessState {
    /// Claimed on the first title change (nil: set-proc-title no, or no usable area).
    var titleArea: UnsafeMutableRawBufferPointer?
    var titleAreaClaimed = false
    /// argv[0] as executed: the title's {title}.
    var executable = CommandLine.arguments.first ?? "redis-uv"
    /// Set by applyProcessSettings (a real server's start-up): a Server inside another
    /// process (unit tests) never touches that process's title, oom score or signals.
    var owned = false
    /// Redis's oom_score_adjusted_by_redis / oom_score_adj_base.
    var oomAdjusted = false
    var oomBase = 0
}

/// Redis's sdstemplate + expandProcTitleTemplate: "{name}" is replaced by the variable's
/// value, "{{" is a literal '{'; an unknown name or a '{' without its '}' fails (nil).
/// The result is trimmed of spaces at both ends.
enum ProcTitle {
    /// Redis's validateProcTitleTemplate: it expands (with an empty {title}) to something.
    static func isValid(_ template: String) -> Bool {
        let r = expand(template, title: "", variables: { $0 == "server-mode" || $0 == "unixsocket" ? "" : "x" })
        return r.map { !$0.isEmpty } ?? false
    }

    static let variableNames = ["title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file"]

    static func expand(_ template: String, title: String, variables: (String) -> String) -> String? {
        let t = Array(template.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < t.count {
            guard t[i] == UInt8(ascii: "{") else { out.append(t[i]); i += 1; continue }
            i += 1
            if i == t.count { return nil }
            if t[i] == UInt8(ascii: "{") { out.append(t[i]); i += 1; continue }
            guard let close = t[i...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
            let name = String(decoding: t[i..<close], as: UTF8.self)
            guard variableNames.contains(name) else { return nil }
            out += Array((name == "title" ? title : variables(name)).utf8)
            i = close + 1
        }
        while out.first == 32 { out.removeFirst() }
        while out.last == 32 { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Server {
    /// Everything of the process that the configuration sets at start-up, in Redis's
    /// order (main(): logo, THP, oom_score_adj, title).
    func applyProcessSettings() {
        process.owned = true
        showLogo()
        if config.disableTHP {
            // Redis disables THP only where it is set to "always"; prctl is harmless elsewhere.
            if !ProcessControl.disableTransparentHugePages() {
                log.verbose("Unable to disable transparent huge pages: \(String(cString: strerror(errno)))")
            }
        }
        _ = setOOMScoreAdj()
        updateProcessTitle()
        installCrashLogHandlers()
        logInertSettings(old: nil)
    }

    /// Redis's redisAsciiArt: the logo when always-show-logo is set or stdout is a
    /// terminal we log to; otherwise a single line.
    func showLogo() {
        let mode = config.clusterEnabled ? "cluster" : "standalone"
        let port = config.port != 0 ? config.port : config[inertInt: "tls-port", default: 0]
        let show = config.alwaysShowLogo || (log.toStdout && isatty(1) != 0)
        guard show else {
            log.notice("Running mode=\(mode), port=\(port).")
            return
        }
        let bits = MemoryLayout<Int>.size * 8
        log.raw("""

                     _._
              .-``   __   ``-.        redis-uv \(redisUVVersion) (Redis \(redisCompatVersion) compatible) \(bits) bit
            .'  .-``    ``-.  '.
           /   /   (  )   \\   \\      Running in \(mode) mode
          |   |    ~~~~    |   |      Port: \(port)
           \\   \\          /   /       PID: \(getpid())
            '.  `-.____.-'  .'
              `-.        .-'          Swift on libuv
                 `------'


        """)
    }

    /// The value of a proc-title-template variable (Redis's redisProcTitleGetVariable).
    func procTitleVariable(_ name: String) -> String {
        let tlsPort = config[inertInt: "tls-port", default: 0]
        switch name {
        case "listen-addr":
            if config.port != 0 || tlsPort != 0 {
                return "\(config.bind.first ?? "*"):\(config.port != 0 ? config.port : tlsPort)"
            }
            return "unixsocket:\(config.unixsocket)"
        case "server-mode": return config.clusterEnabled ? "[cluster]" : ""
        case "config-file": return config.configFile.isEmpty ? "-" : config.configFile
        case "port": return String(config.port)
        case "tls-port": return String(tlsPort)
        case "unixsocket": return config.unixsocket
        default: return ""
        }
    }

    /// Redis's redisSetProcTitle: the template expanded into the argv area, the rest of
    /// the area zeroed (so /proc/PID/cmdline reads the title and NULs).
    func updateProcessTitle() {
        guard config.setProcTitle, process.owned else { return }
        if !process.titleAreaClaimed {
            process.titleAreaClaimed = true
            process.titleArea = ProcessControl.claimTitleArea()
        }
        guard let area = process.titleArea,
              let title = ProcTitle.expand(config.procTitleTemplate, title: process.executable, variables: procTitleVariable) else { return }
        let bytes = Array(title.utf8.prefix(area.count - 1))
        area.copyBytes(from: bytes)
        for i in bytes.count..<area.count { area[i] = 0 }
    }

    /// Redis's setOOMScoreAdj(-1): the class's value written to /proc/self/oom_score_adj,
    /// relative to the value found at the first change ("yes"/"relative") or as it is
    /// ("absolute"); "no" after a change puts the original value back.
    func setOOMScoreAdj(processClass: Int? = nil) -> Bool {
        guard process.owned else { return true }
        let cls = processClass ?? (config.replicaof.isEmpty ? 0 : 1)
        var value: Int
        if config.oomScoreAdj != "no" {
            if !process.oomAdjusted {
                process.oomAdjusted = true
                guard let text = readWholeFile("/proc/self/oom_score_adj") else {
                    log.warning("Unable to read oom_score_adj: \(String(cString: strerror(errno)))")
                    return false
                }
                process.oomBase = strtollWhole(text.trimmingCharacters(in: " \n")) ?? 0
            }
            value = config.oomScoreAdjValues[cls]
            if config.oomScoreAdj == "yes" { value += process.oomBase }
            value = min(1000, max(-1000, value))
        } else if process.oomAdjusted {
            process.oomAdjusted = false
            value = process.oomBase
        } else {
            return true
        }
        let fd = open("/proc/self/oom_score_adj", O_WRONLY)
        let text = "\(value)\n"
        let ok = fd >= 0 && text.utf8.withContiguousStorageIfAvailable { write(fd, $0.baseAddress, $0.count) >= 0 } == true
        if !ok { log.warning("Unable to write oom_score_adj: \(String(cString: strerror(errno)))") }
        if fd >= 0 { close(fd) }
        return ok
    }

    /// In a forked child (Redis's redisFork and the callers' redisSetProcTitle): the
    /// background-child oom-score-adj class, and the child's title ("redis-rdb-bgsave").
    func forkedChildProcessSettings(title: String) {
        _ = setOOMScoreAdj(processClass: 2)
        process.executable = title
        updateProcessTitle()
    }

    /// Process-level effects of a CONFIG SET (called from applyConfig).
    func applyProcessConfig(old: ServerConfig) {
        guard process.owned else { return }
        if old.procTitleTemplate != config.procTitleTemplate { updateProcessTitle() }
        if old.oomScoreAdj != config.oomScoreAdj || old.oomScoreAdjValues != config.oomScoreAdjValues {
            _ = setOOMScoreAdj()
        }
        if old.crashLogEnabled != config.crashLogEnabled { installCrashLogHandlers() }
        logInertSettings(old: old)
    }

    /// One line for each accepted parameter that has no mechanism here and was given a
    /// value other than its default (at start-up), or was changed (by CONFIG SET).
    func logInertSettings(old: ServerConfig?) {
        let base = old ?? ConfigTable.defaults
        for e in ConfigTable.inertEntries {
            let v = e.get(config)
            guard v != e.get(base), let why = ConfigTable.noEffectReason(e.name) else { continue }
            log.notice("\(e.name) \(v): accepted, no effect here (\(why))")
        }
    }

    /// crash-log-enabled (Redis's setupSigSegvAction): on SIGSEGV, SIGBUS, SIGFPE, SIGILL
    /// and SIGABRT a short crash report goes to stderr before the default action runs
    /// (core dump); with "no" the signals keep their default action and nothing is written.
    func installCrashLogHandlers() {
        var act = sigaction()
        if config.crashLogEnabled {
            act.__sigaction_handler.sa_sigaction = { sig, _, _ in
                // Only write(2) here: no allocation in a signal handler.
                let head: StaticString = "\n\n=== REDIS-UV BUG REPORT START: Cut & paste starting from here ===\nCrashed by signal: "
                let tail: StaticString = "\n=== REDIS-UV BUG REPORT END. Make sure to include from START to END. ===\n"
                _ = write(2, head.utf8Start, head.utf8CodeUnitCount)
                var digits: (UInt8, UInt8, UInt8) = (UInt8(ascii: "0") + UInt8(sig / 100 % 10),
                                                      UInt8(ascii: "0") + UInt8(sig / 10 % 10), UInt8(ascii: "0") + UInt8(sig % 10))
                _ = withUnsafeBytes(of: &digits) { write(2, $0.baseAddress, 3) }
                _ = write(2, tail.utf8Start, tail.utf8CodeUnitCount)
                signal(sig, SIG_DFL)
                raise(sig)
            }
            act.sa_flags = SA_SIGINFO | Int32(bitPattern: UInt32(SA_NODEFER)) | Int32(bitPattern: UInt32(SA_RESETHAND))
        } else {
            act.__sigaction_handler.sa_handler = SIG_DFL
        }
        sigemptyset(&act.sa_mask)
        for sig in [SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT] { sigaction(sig, &act, nil) }
    }
}
