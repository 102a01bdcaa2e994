#if canImport(Glibc)
import Glibc
#endif

/// What call() feeds after each command, besides INFO commandstats (Redis's call() tail):
/// the clients in MONITOR mode (replication.c replicationFeedMonitors), the slow log
/// (slowlog.c), the latency monitor's events (latency.c) and the per-command latency
/// histograms of LATENCY HISTOGRAM / INFO latencystats (hdr_histogram, 1 ns..1 s, 2
/// significant figures). With no monitor, the slow log and the latency monitor below
/// their thresholds, a call costs one conversion to microseconds and one histogram
/// increment.
final class IntrospectionState {
    /// Clients in MONITOR mode, in the order they asked (Redis's server.monitors).
    var monitors: [Client] = []
    /// The slow log, newest first (Redis's server.slowlog), and the next entry's id.
    var slowlog: [SlowlogEntry] = []
    var slowlogNextID = 0
    /// Latency monitor events by name, in the order they first happened.
    var latencyEvents: [String: LatencySeries] = [:]
    var latencyEventOrder: [String] = []
    /// The last fork's speed, GB of used memory per second (Redis's stat_fork_rate).
    var forkRate: Double = 0
}

/// One slow log entry (slowlog.h slowlogEntry).
struct SlowlogEntry {
    let id: Int
    let time: Int64
    let durationUs: Int
    let argv: [[UInt8]]
    let peer: String
    let name: [UInt8]
}

/// Redis's latencyTimeSeries: one sample per second at most (the worst of that second),
/// the last LATENCY_TS_LEN of them, and the all-time maximum.
final class LatencySeries {
    static let length = 160
    var times = [Int64](repeating: 0, count: LatencySeries.length)
    var latencies = [Int](repeating: 0, count: LatencySeries.length)
    var idx = 0
    var max = 0

    func add(_ latency: Int, now: Int64) {
        if latency > max { max = latency }
        let prev = (idx + Self.length - 1) % Self.length
        if times[prev] == now {
            if latency > latencies[prev] { latencies[prev] = latency }
            return
        }
        times[idx] = now
        latencies[idx] = latency
        idx = (idx + 1) % Self.length
    }

    /// The samples oldest first, skipping empty slots.
    var samples: [(time: Int64, latency: Int)] {
        var out: [(Int64, Int)] = []
        for j in 0..<Self.length {
            let i = (idx + j) % Self.length
            if times[i] != 0 { out.append((times[i], latencies[i])) }
        }
        return out
    }
}

/// hdr_histogram's bucket scheme for lowest 1, highest 1e9, 2 significant figures (what
/// Redis creates per command): 256 sub-buckets, 23 buckets, 3072 counts. Values are
/// nanoseconds.
final class LatencyHistogram {
    static let subBucketHalfCountMagnitude = 7
    static let subBucketHalfCount = 128
    static let subBucketMask: UInt64 = 255
    static let countsLen = 3072
    static let lowest: Int64 = 1
    static let highest: Int64 = 1_000_000_000

    let counts = UnsafeMutablePointer<Int64>.allocate(capacity: LatencyHistogram.countsLen)
    var totalCount: Int64 = 0

    init() { counts.initialize(repeating: 0, count: Self.countsLen) }
    deinit { counts.deallocate() }

    @inline(__always) static func bucketIndex(_ v: Int64) -> Int {
        let pow2ceiling = 64 - (UInt64(v) | subBucketMask).leadingZeroBitCount
        return pow2ceiling - (subBucketHalfCountMagnitude + 1)
    }

    @inline(__always) static func countsIndex(_ v: Int64) -> Int {
        let b = bucketIndex(v)
        let sub = Int(v >> Int64(b))
        return ((b + 1) << subBucketHalfCountMagnitude) + (sub - subBucketHalfCount)
    }

    /// Records a duration (Redis's updateCommandLatencyHistogram: clamped to 1 ns..1 s).
    @inline(__always) func record(ns: Int64) {
        let v = ns < Self.lowest ? Self.lowest : (ns > Self.highest ? Self.highest : ns)
        counts[Self.countsIndex(v)] &+= 1
        totalCount &+= 1
    }

    static func valueAtIndex(_ idx: Int) -> Int64 {
        var b = (idx >> subBucketHalfCountMagnitude) - 1
        var sub = (idx & (subBucketHalfCount - 1)) + subBucketHalfCount
        if b < 0 { sub -= subBucketHalfCount; b = 0 }
        return Int64(sub) << Int64(b)
    }

    static func lowestEquivalent(_ v: Int64) -> Int64 {
        let b = bucketIndex(v)
        let sub = v >> Int64(b)
        return sub << Int64(b)
    }

    static func sizeOfRange(_ v: Int64) -> Int64 {
        let b = bucketIndex(v)
        let sub = v >> Int64(b)
        let adjusted = sub >= 256 ? b + 1 : b
        return 1 << Int64(adjusted)
    }

    static func highestEquivalent(_ v: Int64) -> Int64 { lowestEquivalent(v) + sizeOfRange(v) - 1 }

    /// hdr_value_at_percentile.
    func valueAtPercentile(_ percentile: Double) -> Int64 {
        let requested = percentile < 100 ? percentile : 100
        var countAt = Int64((requested / 100) * Double(totalCount) + 0.5)
        if countAt < 1 { countAt = 1 }
        var sum: Int64 = 0
        var value: Int64 = 0
        for i in 0..<Self.countsLen {
            sum += counts[i]
            if sum >= countAt { value = Self.valueAtIndex(i); break }
        }
        return percentile == 0 ? Self.lowestEquivalent(value) : Self.highestEquivalent(value)
    }

    /// Redis's fillCommandCDF: hdr's logarithmic iterator from 1024 ns, base 2, as
    /// (microseconds, cumulative count) for each step where the count grew.
    func cumulativeDistribution() -> [(Int64, Int64)] {
        var out: [(Int64, Int64)] = []
        var level: Int64 = 1024
        var cumulative: Int64 = 0
        var previous: Int64 = 0
        var index = 0
        while cumulative < totalCount {
            let upto = Self.countsIndex(Swift.min(level, Self.highest * 2))
            while index <= upto && index < Self.countsLen { cumulative += counts[index]; index += 1 }
            if cumulative > previous { out.append((Self.highestEquivalent(level) / 1000, cumulative)) }
            previous = cumulative
            level *= 2
        }
        return out
    }
}

// MARK: - call()'s hook

extension Server {
    /// After every executed command (call()): histogram, slow log, latency events,
    /// monitors. The common case stays inline and cheap.
    @inline(__always)
    func afterCallIntrospection(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, cycles: UInt64) {
        let us = Int(Double(cycles) * microsecondsPerCycle)
        let blocked = c.blocked != nil
        if config.latencyTracking && !blocked { cmd.recordLatency(us: us) }
        let sl = config.slowlogLogSlowerThan
        let lt = config.latencyMonitorThreshold
        if (sl >= 0 && us >= sl) || (lt > 0 && us >= lt &* 1000) || blocked || introspection.monitors.count != 0 {
            afterCallSlowPath(c, cmd, argv, us: us, blocked: blocked)
        }
    }

    @inline(never)
    private func afterCallSlowPath(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, us: Int, blocked: Bool) {
        latencyAddSampleIfNeeded(cmd.flags.contains(.fast) ? "fast-command" : "command", us / 1000)
        if blocked {
            // Logged once it is served or times out, with the time of both runs.
            c.blocked?.firstCallUs = us
        } else {
            slowlogPushCurrentCommand(c, cmd, argv, us: us)
        }
        if introspection.monitors.count != 0 && !loading && !cmd.flags.contains(.skipMonitor) && !cmd.flags.contains(.admin) {
            feedMonitors(c, argv)
        }
    }

    /// A blocked command served or timed out (Redis's updateStatsOnUnblock): histogram and
    /// slow log with the time of its first run plus this one.
    func introspectUnblocked(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, firstCallUs: Int, cycles: UInt64) {
        let total = firstCallUs + Int(Double(cycles) * microsecondsPerCycle)
        if config.latencyTracking { cmd.recordLatency(us: total) }
        slowlogPushCurrentCommand(c, cmd, argv, us: total)
    }

    // MARK: MONITOR

    /// EVAL, EVALSHA and FCALL (skip_monitor) show before the commands their script runs,
    /// as Redis's evalCommand feeds them itself.
    @inline(never)
    func feedMonitorsBeforeScript(_ c: Client, _ cmd: RedisCommand, _ argv: Argv) {
        if cmd.flags.contains(.skipMonitor) && !loading { feedMonitors(c, argv) }
    }

    /// Redis's replicationFeedMonitors: `+<sec>.<usec> [<db> <peer>] "arg" ...`.
    func feedMonitors(_ c: Client, _ argv: Argv) {
        var line: [UInt8] = []
        line.reserveCapacity(64)
        let now = wallClockUs()
        line.append(UInt8(ascii: "+"))
        let usec = String(now % 1_000_000)
        line += Array("\(now / 1_000_000).".utf8) + Array(repeating: UInt8(ascii: "0"), count: 6 - usec.utf8.count) + Array(usec.utf8)
        let peer = c.flags.contains(.script) ? "lua" : (c.peerAddress.isEmpty ? "?:0" : c.peerAddress)
        line += Array(" [\(c.db.id) \(peer)] ".utf8)
        let args = redactedArguments(argv)
        for (i, a) in args.enumerated() {
            appendRepr(&line, a)
            if i != args.count - 1 { line.append(32) }
        }
        line += [13, 10]
        for m in introspection.monitors where m.flags.isDisjoint(with: [.closed, .closeAfterReply, .closeASAP]) {
            m.out.append(line)
            scheduleWrite(m)
        }
    }

    /// The arguments as Redis shows them once the command redacted its secrets
    /// (redactClientCommandArgument in AUTH, HELLO ... AUTH, MIGRATE ... AUTH/AUTH2).
    func redactedArguments(_ argv: Argv) -> [[UInt8]] {
        var args = (0..<argv.count).map { argv.bytes($0) }
        let redacted = Array("(redacted)".utf8)
        if argv.equals(0, "auth") {
            if argv.count <= 3 { for i in 1..<argv.count { args[i] = redacted } }
        } else if argv.equals(0, "hello") {
            var j = 2
            while j < argv.count {
                let more = argv.count - 1 - j
                if argv.equals(j, "auth") && more >= 2 {
                    args[j + 1] = redacted; args[j + 2] = redacted; j += 3
                } else if argv.equals(j, "setname") && more >= 1 {
                    j += 2
                } else { break }
            }
        } else if argv.equals(0, "migrate") {
            var j = 6
            while j < argv.count {
                let more = argv.count - 1 - j
                if argv.equals(j, "auth") && more >= 1 { args[j + 1] = redacted; j += 2 }
                else if argv.equals(j, "auth2") && more >= 2 { args[j + 1] = redacted; args[j + 2] = redacted; j += 3 }
                else if argv.equals(j, "keys") { break }
                else { j += 1 }
            }
        }
        return args
    }

    func stopMonitoring(_ c: Client) {
        guard c.flags.contains(.monitor) else { return }
        c.flags.remove(.monitor)
        introspection.monitors.removeAll { $0 === c }
    }

    // MARK: SLOWLOG

    /// Redis's slowlogPushCurrentCommand + slowlogPushEntryIfNeeded.
    func slowlogPushCurrentCommand(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, us: Int) {
        if cmd.flags.contains(.skipSlowlog) { return }
        let threshold = config.slowlogLogSlowerThan
        if threshold < 0 || us < threshold { return }
        let maxArgc = 32, maxString = 128
        let all = redactedArguments(argv)
        let argc = Swift.min(all.count, maxArgc)
        var kept: [[UInt8]] = []
        kept.reserveCapacity(argc)
        for j in 0..<argc {
            if argc != all.count && j == argc - 1 {
                kept.append(Array("... (\(all.count - argc + 1) more arguments)".utf8))
            } else if all[j].count > maxString {
                kept.append(Array(all[j].prefix(maxString)) + Array("... (\(all[j].count - maxString) more bytes)".utf8))
            } else {
                kept.append(all[j])
            }
        }
        let peer = c.peerAddress.isEmpty ? "?:0" : c.peerAddress
        let entry = SlowlogEntry(id: introspection.slowlogNextID, time: wallClockMs() / 1000, durationUs: us,
                                 argv: kept, peer: peer, name: c.name ?? [])
        introspection.slowlogNextID += 1
        introspection.slowlog.insert(entry, at: 0)
        trimSlowlog()
    }

    func trimSlowlog() {
        let maxLen = Swift.max(0, config.slowlogMaxLen)
        if introspection.slowlog.count > maxLen { introspection.slowlog.removeLast(introspection.slowlog.count - maxLen) }
    }

    // MARK: latency monitor

    /// Redis's latencyAddSampleIfNeeded (milliseconds).
    @inline(__always)
    func latencyAddSampleIfNeeded(_ event: String, _ ms: Int) {
        let t = config.latencyMonitorThreshold
        if t > 0 && ms >= t { latencyAddSample(event, ms) }
    }

    func latencyAddSample(_ event: String, _ ms: Int) {
        let series: LatencySeries
        if let s = introspection.latencyEvents[event] { series = s } else {
            series = LatencySeries()
            introspection.latencyEvents[event] = series
            introspection.latencyEventOrder.append(event)
        }
        series.add(ms, now: wallClockMs() / 1000)
    }

    /// After a fork in the parent (Redis's redisFork): the "fork" event and the fork rate.
    func noteFork(startUs: Int64) {
        let us = Swift.max(1, monotonicUs() - startUs)
        introspection.forkRate = Double(MemoryStats.usedMemory()) * 1_000_000 / Double(us) / Double(1 << 30)
        latencyAddSampleIfNeeded("fork", Int(us / 1000))
    }

    /// flushAppendOnlyFile's write events.
    func noteAOFWriteLatency(since start: Int64, syncInProgress: Bool) {
        let ms = Int((monotonicUs() - start) / 1000)
        if syncInProgress { latencyAddSampleIfNeeded("aof-write-pending-fsync", ms) }
        else if hasActiveChild { latencyAddSampleIfNeeded("aof-write-active-child", ms) }
        else { latencyAddSampleIfNeeded("aof-write-alone", ms) }
        latencyAddSampleIfNeeded("aof-write", ms)
    }

    /// Redis's latencyResetEvent: nil resets every event. Returns how many were reset.
    func latencyResetEvent(_ event: String?) -> Int {
        var resets = 0
        for name in introspection.latencyEventOrder where event == nil || name.lowercased() == event!.lowercased() {
            introspection.latencyEvents[name] = nil
            resets += 1
        }
        introspection.latencyEventOrder.removeAll { introspection.latencyEvents[$0] == nil }
        return resets
    }
}

extension RedisCommand {
    @inline(__always) func recordLatency(us: Int) {
        let h: LatencyHistogram
        if let existing = latencyHistogram { h = existing } else {
            h = LatencyHistogram()
            latencyHistogram = h
        }
        h.record(ns: Int64(us) &* 1000)
    }
}
