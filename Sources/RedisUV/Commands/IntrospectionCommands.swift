#if canImport(Glibc)
import Glibc
#endif

/// MONITOR, SLOWLOG, LATENCY, LOLWUT and MODULE (Redis's replication.c monitorCommand,
/// slowlog.c, latency.c, lolwut.c, module.c). The data they show is gathered by call()
/// (Engine/Introspection.swift).
enum IntrospectionCommands {
    static let table: [CommandImpl] = [
        CommandImpl("monitor", monitor),
        CommandImpl("slowlog|get", slowlogGet),
        CommandImpl("slowlog|len", slowlogLen),
        CommandImpl("slowlog|reset", slowlogReset),
        CommandImpl("slowlog|help", slowlogHelp),
        CommandImpl("latency|latest", latencyLatest),
        CommandImpl("latency|history", latencyHistory),
        CommandImpl("latency|reset", latencyReset),
        CommandImpl("latency|graph", latencyGraph),
        CommandImpl("latency|doctor", latencyDoctor),
        CommandImpl("latency|histogram", latencyHistogram),
        CommandImpl("latency|help", latencyHelp),
        CommandImpl("lolwut", lolwut),
        CommandImpl("module|list", moduleList),
        CommandImpl("module|load", moduleLoad),
        CommandImpl("module|loadex", moduleLoad),
        CommandImpl("module|unload", moduleUnload),
        CommandImpl("module|help", moduleHelp),
    ]

    // MARK: MONITOR

    /// Redis's monitorCommand: from now on the client is fed every command; asking again
    /// gets no reply at all.
    static func monitor(_ c: Client, _ argv: Argv) {
        if c.flags.contains(.denyBlocking) {
            c.addReplyError("MONITOR isn't allowed for DENY BLOCKING client")
            return
        }
        if c.flags.contains(.replica) || c.flags.contains(.monitor) { return }
        c.flags.insert(.monitor)
        c.server.introspection.monitors.append(c)
        c.addReplyOK()
    }

    // MARK: SLOWLOG

    static func slowlogGet(_ c: Client, _ argv: Argv) {
        let log = c.server.introspection.slowlog
        var count = 10
        if argv.count > 3 {
            ACLCommand.subcommandSyntaxError(c, argv)
            return
        }
        if argv.count == 3 {
            guard let n = parseStrictInt(argv[2]), n >= -1 else {
                c.addReplyError("count should be greater than or equal to -1")
                return
            }
            count = n == -1 ? log.count : n
        }
        let n = Swift.min(count, log.count)
        c.addReplyArrayLen(n)
        for e in log.prefix(n) {
            c.addReplyArrayLen(6)
            c.addReplyInt(e.id)
            c.addReplyInt(Int(e.time))
            c.addReplyInt(e.durationUs)
            c.addReplyArrayLen(e.argv.count)
            for a in e.argv { c.addReplyBulk(a) }
            c.addReplyBulk(e.peer)
            c.addReplyBulk(e.name)
        }
    }

    static func slowlogLen(_ c: Client, _ argv: Argv) {
        c.addReplyInt(c.server.introspection.slowlog.count)
    }

    static func slowlogReset(_ c: Client, _ argv: Argv) {
        c.server.introspection.slowlog.removeAll()
        c.addReplyOK()
    }

    static func slowlogHelp(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "slowlog", lines: [
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ])
    }

    // MARK: LATENCY

    static func latencyLatest(_ c: Client, _ argv: Argv) {
        let st = c.server.introspection
        c.addReplyArrayLen(st.latencyEventOrder.count)
        for name in st.latencyEventOrder {
            guard let ts = st.latencyEvents[name] else { continue }
            let last = (ts.idx + LatencySeries.length - 1) % LatencySeries.length
            c.addReplyArrayLen(4)
            c.addReplyBulk(name)
            c.addReplyInt(Int(ts.times[last]))
            c.addReplyInt(ts.latencies[last])
            c.addReplyInt(ts.max)
        }
    }

    static func latencyHistory(_ c: Client, _ argv: Argv) {
        guard argv.count == 3 else { ACLCommand.subcommandSyntaxError(c, argv); return }
        guard let ts = c.server.introspection.latencyEvents[argv.string(2)] else {
            c.addReplyArrayLen(0)
            return
        }
        let samples = ts.samples
        c.addReplyArrayLen(samples.count)
        for s in samples {
            c.addReplyArrayLen(2)
            c.addReplyInt(Int(s.time))
            c.addReplyInt(s.latency)
        }
    }

    static func latencyReset(_ c: Client, _ argv: Argv) {
        let s = c.server
        if argv.count == 2 {
            c.addReplyInt(s.latencyResetEvent(nil))
            return
        }
        var resets = 0
        for j in 2..<argv.count { resets += s.latencyResetEvent(argv.string(j)) }
        c.addReplyInt(resets)
    }

    static func latencyGraph(_ c: Client, _ argv: Argv) {
        guard argv.count == 3 else { ACLCommand.subcommandSyntaxError(c, argv); return }
        let event = argv.string(2)
        guard let ts = c.server.introspection.latencyEvents[event] else {
            c.addReplyError("No samples available for event '\(event)'")
            return
        }
        c.addReplyVerbatim(latencyGraphText(event: event, series: ts, now: wallClockMs() / 1000))
    }

    /// Redis's latencyCommandGenSparkeline: a title, 80 dashes, then the sparkline of the
    /// samples (4 rows, filled) with "how long ago" labels written downwards.
    static func latencyGraphText(event: String, series ts: LatencySeries, now: Int64) -> String {
        var values: [Double] = []
        var labels: [String] = []
        var lo = 0, hi = 0
        for (i, s) in ts.samples.enumerated() {
            if i == 0 { lo = s.latency; hi = s.latency } else {
                hi = Swift.max(hi, s.latency)
                lo = Swift.min(lo, s.latency)
            }
            let elapsed = Int(now - s.time)
            let label: String
            if elapsed < 60 { label = "\(elapsed)s" }
            else if elapsed < 3600 { label = "\(elapsed / 60)m" }
            else if elapsed < 3600 * 24 { label = "\(elapsed / 3600)h" }
            else { label = "\(elapsed / (3600 * 24))d" }
            values.append(Double(s.latency))
            labels.append(label)
        }
        var out = "\(event) - high \(hi) ms, low \(lo) ms (all time high \(ts.max) ms)\n"
        out += String(repeating: "-", count: 80) + "\n"
        out += sparkline(values: values, labels: labels, columns: 80, rows: 4)
        return out
    }

    /// Redis's sparklineRender with SPARKLINE_FILL (sparkline.c).
    static func sparkline(values: [Double], labels: [String], columns: Int, rows: Int) -> String {
        guard !values.isEmpty else { return "" }
        let charset: [Character] = ["_", "o", "#"]
        let mn = values.min()!, mx = values.max()!
        var out = ""
        var j = 0
        while j < values.count {
            let len = Swift.min(columns, values.count - j)
            if j != 0 { out += "\n" }
            var relmax = mx - mn
            if relmax == 0 { relmax = 1 }
            let steps = charset.count * rows
            var row = 0
            var loop = true
            let hasLabels = labels.contains { !$0.isEmpty }
            while loop {
                loop = false
                var chars = [Character](repeating: " ", count: len)
                for k in 0..<len {
                    let value = values[j + k]
                    let relval = value - mn
                    var step = Int(Double(Int(relval * Double(steps))) / relmax)
                    if step < 0 { step = 0 }
                    if step >= steps { step = steps - 1 }
                    if row < rows {
                        let charidx = step - ((rows - row - 1) * charset.count)
                        loop = true
                        if charidx >= 0 && charidx < charset.count { chars[k] = charset[charidx] }
                        else if charidx >= charset.count { chars[k] = "|" }
                    } else {
                        if hasLabels && row - rows < 1 { loop = true; break }
                        let label = Array(labels[j + k])
                        let labelChar = row - rows - 1
                        if label.count > labelChar { loop = true; chars[k] = label[labelChar] }
                    }
                }
                if loop {
                    row += 1
                    out += String(chars) + "\n"
                }
            }
            j += columns
        }
        return out
    }

    static func latencyDoctor(_ c: Client, _ argv: Argv) {
        c.addReplyVerbatim(latencyReport(c.server))
    }

    /// Redis's createLatencyReport, for the events this server records.
    static func latencyReport(_ s: Server) -> String {
        let st = s.introspection
        if st.latencyEventOrder.isEmpty && s.config.latencyMonitorThreshold == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
        }
        var report = ""
        var advices = 0
        var advise: Set<String> = []
        func add(_ names: String...) { for n in names { advise.insert(n) }; advices += names.count }
        var eventnum = 0
        let now = wallClockMs() / 1000
        for event in st.latencyEventOrder {
            guard let ts = st.latencyEvents[event] else { continue }
            eventnum += 1
            if eventnum == 1 {
                report += "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n"
            }
            // analyzeLatencyForEvent: average, mean absolute deviation, period.
            let samples = ts.samples
            let sum = samples.reduce(0) { $0 + $1.latency }
            let avg = samples.isEmpty ? 0 : sum / samples.count
            var period = samples.isEmpty ? 0 : Int(now - (samples.map { $0.time }.min() ?? now))
            if !samples.isEmpty && period == 0 { period = 1 }
            let mad = samples.isEmpty ? 0 : samples.reduce(0) { $0 + abs(avg - $1.latency) } / samples.count
            report += "\(eventnum). \(event): \(samples.count) latency spikes (average \(avg)ms, mean deviation \(mad)ms, period \(formatC("%.2f", Double(period) / Double(samples.count))) sec). Worst all time event \(ts.max)ms."
            switch event {
            case "fork":
                let rate = st.forkRate
                let quality: String
                if rate < 10 { quality = "terrible"; add("better_vm") }
                else if rate < 25 { quality = "poor"; add("better_vm") }
                else if rate < 100 { quality = "good" }
                else { quality = "excellent" }
                report += " Fork rate is \(formatC("%.2f", rate)) GB/sec (\(quality))."
            case "command":
                if s.config.slowlogLogSlowerThan < 0 { add("slowlog_enabled") }
                else if s.config.slowlogLogSlowerThan / 1000 > s.config.latencyMonitorThreshold { add("slowlog_tuning") }
                add("slowlog_inspect", "large_objects")
            case "fast-command": add("scheduler")
            case "aof-write-pending-fsync": add("local_disk", "disk_contention", "ssd", "data_writeback")
            case "aof-write-active-child": add("no_appendfsync", "data_writeback", "ssd")
            case "aof-write-alone": add("local_disk", "data_writeback", "ssd")
            case "aof-fsync-always": add("relax_fsync_policy")
            case "aof-fstat", "rdb-unlink-temp-file": add("disk_contention", "local_disk")
            case "aof-rewrite-diff-write", "aof-rename": add("write_load_info", "data_writeback", "ssd", "local_disk")
            case "expire-cycle": add("hz", "large_objects")
            case "eviction-del": add("large_objects")
            case "eviction-cycle": add("mass_eviction")
            default: break
            }
            report += "\n"
        }
        if eventnum == 0 && advices == 0 {
            report += "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n"
            return report
        }
        if eventnum > 0 && advices == 0 {
            report += "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n"
            return report
        }
        report += "\nI have a few advices for you:\n\n"
        let threshold = s.config.latencyMonitorThreshold * 1000
        if advise.contains("better_vm") {
            report += "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n"
        }
        if advise.contains("slowlog_enabled") {
            report += "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than \(threshold)'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"
        }
        if advise.contains("slowlog_tuning") {
            report += "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than \(threshold)'.\n"
        }
        if advise.contains("slowlog_inspect") {
            report += "- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n"
        }
        if advise.contains("scheduler") {
            report += "- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                + "  1) Lower the system load.\n"
                + "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                + "  3) Check if you have a \"noisy neighbour\" problem.\n"
                + "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                + "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n"
        }
        if advise.contains("local_disk") {
            report += "- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n"
        }
        if advise.contains("ssd") {
            report += "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n"
        }
        if advise.contains("data_writeback") {
            report += "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n"
        }
        if advise.contains("disk_contention") {
            report += "- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n"
        }
        if advise.contains("no_appendfsync") {
            report += "- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n"
        }
        if advise.contains("relax_fsync_policy") && s.config.appendfsync == "always" {
            report += "- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n"
        }
        if advise.contains("write_load_info") {
            report += "- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n"
        }
        if advise.contains("hz") && s.config.hz < 100 {
            report += "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n"
        }
        if advise.contains("large_objects") {
            report += "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n"
        }
        if advise.contains("mass_eviction") {
            report += "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n"
        }
        return report
    }

    /// LATENCY HISTOGRAM [command ...] (latencyAllCommandsFillCDF / latencySpecificCommandsFillCDF).
    static func latencyHistogram(_ c: Client, _ argv: Argv) {
        let s = c.server
        var list: [RedisCommand] = []
        if argv.count == 2 {
            for top in s.commands.all {
                if top.latencyHistogram != nil { list.append(top) }
                for sub in top.sortedSubcommands where sub.latencyHistogram != nil { list.append(sub) }
            }
        } else {
            for j in 2..<argv.count {
                let parts = argv.bytes(j).split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
                guard parts.count <= 2, let top = Array(parts[0]).withUnsafeBytes({ s.commands.lookup($0) }) else { continue }
                if parts.count == 2 {
                    guard let sub = Array(parts[1]).withUnsafeBytes({ top.subcommand($0) }) else { continue }
                    if sub.latencyHistogram != nil { list.append(sub) }
                    continue
                }
                if top.latencyHistogram != nil { list.append(top) }
                for sub in top.sortedSubcommands where sub.latencyHistogram != nil { list.append(sub) }
            }
        }
        c.addReplyMapLen(list.count)
        for cmd in list {
            guard let h = cmd.latencyHistogram else { continue }
            c.addReplyBulk(cmd.fullName)
            c.addReplyMapLen(2)
            c.addReplyBulk("calls")
            c.addReplyInt(Int(h.totalCount))
            c.addReplyBulk("histogram_usec")
            let cdf = h.cumulativeDistribution()
            c.addReplyMapLen(cdf.count)
            for (us, n) in cdf {
                c.addReplyInt(Int(us))
                c.addReplyInt(Int(n))
            }
        }
    }

    static func latencyHelp(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "latency", lines: [
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ])
    }

    // MARK: LOLWUT

    /// LOLWUT [VERSION v] (lolwut.c's lolwutUnstableCommand): the version line. Redis's
    /// versions 5 and 6 draw random computer art, which is not reproduced here.
    static func lolwut(_ c: Client, _ argv: Argv) {
        var args = Array((1..<argv.count).map { argv.bytes($0) })
        var version = 7
        if argv.count >= 3 && argv.equals(1, "version") {
            guard let v = parseStrictInt(argv[2]) else {
                c.addReplyErrorNotInteger()
                return
            }
            version = Int(UInt32(truncatingIfNeeded: v))
            args.removeFirst(2)
        }
        _ = (version, args)  // versions 5 and 6 (random art) are not drawn: the version line
        c.addReplyVerbatim("Redis ver. \(redisCompatVersion)\n")
    }

    // MARK: MODULE

    static func moduleList(_ c: Client, _ argv: Argv) { c.addReplyArrayLen(0) }

    /// Redis C modules cannot be loaded into this server: the load always fails, with
    /// Redis's own answer to a failed load.
    static func moduleLoad(_ c: Client, _ argv: Argv) {
        c.server.log.warning("Module \(argv.string(2)) failed to load: this server cannot load Redis modules")
        c.addReplyError("Error loading the extension. Please check the server logs.")
    }

    static func moduleUnload(_ c: Client, _ argv: Argv) {
        c.addReplyError("Error unloading module: no such module with that name")
    }

    static func moduleHelp(_ c: Client, _ argv: Argv) {
        c.addReplyHelp(command: "module", lines: [
            "LIST",
            "    Return a list of loaded modules.",
            "LOAD <path> [<arg> ...]",
            "    Load a module library from <path>, passing to it any optional arguments.",
            "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
            "    Load a module library from <path>, while passing it module configurations and optional arguments.",
            "UNLOAD <name>",
            "    Unload a module.",
        ])
    }
}
