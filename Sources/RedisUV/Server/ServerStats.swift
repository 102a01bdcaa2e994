#if canImport(Glibc)
import Glibc
#endif

/// INFO stats counters (Redis's server.stat_*).
final class ServerStats {
    var totalCommands = 0
    var totalConnections = 0
    var rejectedConnections = 0
    var errorReplies = 0
    /// Error replies by their code ("ERR", "WRONGTYPE", ...), for INFO errorstats.
    var errorCodes: [String: Int] = [:]
    var netInputBytes = 0
    var netOutputBytes = 0
    /// Bytes written to replicas (the stream and their RDBs), which Redis counts apart.
    var netReplOutputBytes = 0
    /// Bytes read from our master (its RDB and its stream), counted apart as well.
    var netReplInputBytes = 0
    var expiredTimeCapReached = 0
    var keyspace = KeyspaceStats()
    /// Read and write events handled by the transport (INFO total_reads/writes_processed).
    var readsProcessed = 0
    var writesProcessed = 0
    /// Microseconds spent in the active expiry cycle (INFO expire_cycle_cpu_milliseconds).
    var expireCycleTimeUsedUs: Int64 = 0

    /// Redis's replication ID: 40 random hex digits, made once per process (no
    /// replication yet, so it never changes).
    let replicationID: String = (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()

    /// Instantaneous metrics (Redis's trackInstantaneousMetric): commands, bytes in, bytes out.
    var opsMetric = InstantaneousMetric()
    /// The same for replication traffic (instantaneous_input/output_repl_kbps).
    var replInputMetric = InstantaneousMetric()
    var replOutputMetric = InstantaneousMetric()
    var inputMetric = InstantaneousMetric()
    var outputMetric = InstantaneousMetric()
    private var lastMetricSampleMs: Int64 = 0

    /// Memory: heap in use at startup (INFO used_memory_startup) and the peak seen.
    var usedMemoryStartup = 0
    var usedMemoryPeak = 0

    func noteErrorReply(_ text: String) {
        errorReplies &+= 1
        // "-WRONGTYPE Operation..." → "WRONGTYPE"
        let body = text.utf8.dropFirst()
        let code = body.prefix { $0 != 32 }
        errorCodes[String(decoding: code, as: UTF8.self), default: 0] += 1
    }

    /// Called from the cron: one sample of each instantaneous metric every 100 ms, as
    /// Redis's serverCron does (run_with_period(100)), and the memory peak.
    func sampleMetrics(nowMs: Int64) {
        if nowMs - lastMetricSampleMs < 100 { return }
        lastMetricSampleMs = nowMs
        opsMetric.track(totalCommands, nowMs: nowMs)
        inputMetric.track(netInputBytes, nowMs: nowMs)
        outputMetric.track(netOutputBytes, nowMs: nowMs)
        replInputMetric.track(netReplInputBytes, nowMs: nowMs)
        replOutputMetric.track(netReplOutputBytes, nowMs: nowMs)
        // mallinfo2 walks the allocator's free lists: sample the peak once a second.
        if nowMs - lastPeakSampleMs >= 1000 {
            lastPeakSampleMs = nowMs
            notePeak(MemoryStats.usedMemory())
        }
    }

    private var lastPeakSampleMs: Int64 = 0

    func notePeak(_ used: Int) {
        if used > usedMemoryPeak { usedMemoryPeak = used }
    }

    /// CONFIG RESETSTAT (Redis's resetServerStats).
    func reset() {
        totalCommands = 0
        totalConnections = 0
        rejectedConnections = 0
        errorReplies = 0
        errorCodes = [:]
        netInputBytes = 0
        netOutputBytes = 0
        netReplOutputBytes = 0
        netReplInputBytes = 0
        expiredTimeCapReached = 0
        keyspace.hits = 0
        keyspace.misses = 0
        keyspace.expiredKeys = 0
        keyspace.expiredStaleSamples = 0
        readsProcessed = 0
        writesProcessed = 0
        expireCycleTimeUsedUs = 0
        opsMetric = InstantaneousMetric()
        inputMetric = InstantaneousMetric()
        outputMetric = InstantaneousMetric()
        usedMemoryPeak = MemoryStats.usedMemory()
    }
}

/// Redis's inst_metric: the rate between consecutive samples, averaged over the last 16.
struct InstantaneousMetric {
    static let samples = 16
    private var values = [Int](repeating: 0, count: InstantaneousMetric.samples)
    private var index = 0
    private var lastSampleMs: Int64 = 0
    private var lastReading = 0

    mutating func track(_ reading: Int, nowMs: Int64) {
        let elapsed = nowMs - lastSampleMs
        let delta = reading - lastReading
        values[index] = elapsed > 0 && lastSampleMs > 0 ? Int(Int64(delta) * 1000 / elapsed) : 0
        index = (index + 1) % InstantaneousMetric.samples
        lastSampleMs = nowMs
        lastReading = reading
    }

    /// Redis's getInstantaneousMetric.
    var value: Int { values.reduce(0, +) / InstantaneousMetric.samples }
}

/// What the C library's allocator and the kernel say about our memory.
enum MemoryStats {
    /// Bytes handed out by malloc and still in use (Redis's zmalloc_used_memory):
    /// glibc's in-use heap chunks plus mmapped blocks (mallinfo2).
    static func usedMemory() -> Int { Allocator.totals().used }

    /// Heap obtained from the system (in use or free in malloc's lists) plus mmapped blocks.
    static func allocatorActive() -> Int { Allocator.totals().active }

    /// Resident set size from /proc/self/statm (Redis's zmalloc_get_rss).
    static func rss() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 256)
        guard fgets(&buf, 256, f) != nil else { return 0 }
        let fields = stringFromCBuffer(buf).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func totalSystemMemory() -> Int {
        Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// glibc's malloc introspection. <malloc.h> is not part of Swift's Glibc module, so the
/// two functions are looked up by name; both take and return plain C scalars.
