#if canImport(Glibc)
import Glibc
#endif

/// INFO [section ...] (Redis 7.0.15's infoCommand / genRedisInfoString): "# Section"
/// headers, "field:value" lines ending in "\r\n", a blank line between sections, field
/// names and order as Redis's. Fields for features redis-uv does not have yet (Lua,
/// replication, AOF, forks, defrag, pub/sub, tracking, eviction) carry the values an idle
/// Redis shows for them, which is what they are here: nothing of the kind has happened.
enum InfoCommand {
    static let table: [CommandImpl] = [
        CommandImpl("info", info),
    ]

    static let defaultSections: Set<String> = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu",
        "module_list", "errorstats", "cluster", "keyspace",
    ]

    static func info(_ c: Client, _ argv: Argv) {
        let text = generate(c.server, sections: (1..<argv.count).map { argv.lowercased($0) })
        c.addReplyVerbatim(text)
    }

    /// Redis's genInfoSectionDict + genRedisInfoString. No names: the default sections.
    static func generate(_ server: Server, sections names: [String]) -> String {
        var wanted = Set<String>()
        var all = false
        if names.isEmpty { wanted = defaultSections }
        for n in names {
            switch n {
            case "all", "everything": all = true
            case "default": wanted.formUnion(defaultSections)
            default: wanted.insert(n)
            }
        }
        func want(_ names: String...) -> Bool { all || names.contains { wanted.contains($0) } }

        var out = ""
        var count = 0
        func section(_ title: String, _ fields: [(String, String)]) {
            if count > 0 { out += "\r\n" }
            count += 1
            out += "# \(title)\r\n"
            for (k, v) in fields { out += "\(k):\(v)\r\n" }
        }
        if want("server") { section("Server", serverFields(server)) }
        if want("clients") { section("Clients", clientFields(server)) }
        if want("memory") { section("Memory", memoryFields(server)) }
        if want("persistence") { section("Persistence", persistenceFields(server)) }
        if want("stats") { section("Stats", statsFields(server)) }
        if want("replication") { section("Replication", replicationFields(server)) }
        if want("cpu") { section("CPU", cpuFields()) }
        if want("module_list", "modules") { section("Modules", []) }
        if want("commandstats") { section("Commandstats", commandStatsFields(server)) }
        if want("errorstats") {
            section("Errorstats", server.stats.errorCodes.sorted { $0.key < $1.key }.map {
                ("errorstat_\($0.key)", "count=\($0.value)")
            })
        }
        if want("latencystats") { section("Latencystats", server.config.latencyTracking ? latencyStatsFields(server) : []) }
        if want("cluster") { section("Cluster", [("cluster_enabled", "0")]) }
        if want("keyspace") { section("Keyspace", keyspaceFields(server)) }
        return out
    }

    // MARK: sections

    static func serverFields(_ s: Server) -> [(String, String)] {
        let uptime = max(0, (s.cachedTimeMs - s.startTimeMs) / 1000)
        var name = utsname()
        uname(&name)
        let os = [name.sysname, name.release, name.machine].map(utsField).joined(separator: " ")
        return [
            ("redis_version", redisCompatVersion),
            ("redis_git_sha1", "00000000"),
            ("redis_git_dirty", "0"),
            ("redis_build_id", buildID),
            ("redis_mode", "standalone"),
            ("os", os),
            ("arch_bits", String(MemoryLayout<Int>.size * 8)),
            ("monotonic_clock", "POSIX clock_gettime"),
            ("multiplexing_api", "epoll"),
            ("atomicvar_api", "c11-builtin"),
            // Redis prints the GCC version that built it, 0.0.0 for other compilers.
            ("gcc_version", "0.0.0"),
            ("process_id", String(getpid())),
            ("process_supervised", "no"),
            ("run_id", s.runID),
            ("tcp_port", String(s.config.port)),
            ("server_time_usec", String(wallClockUs())),
            ("uptime_in_seconds", String(uptime)),
            ("uptime_in_days", String(uptime / 86400)),
            ("hz", String(s.config.hz)),
            ("configured_hz", String(s.config.hz)),
            ("lru_clock", String(s.lruClock)),
            ("executable", executablePath()),
            ("config_file", s.config.configFile),
            ("io_threads_active", "0"),
        ]
    }

    static func clientFields(_ s: Server) -> [(String, String)] {
        // Redis keeps the peak of the last few seconds; this is the current largest buffer.
        var maxIn = 0
        var maxOut = 0
        for c in s.clients.values {
            maxIn = max(maxIn, c.query.count)
            maxOut = max(maxOut, c.pendingOutputBytes)
        }
        return [
            ("connected_clients", String(s.clients.count)),
            ("cluster_connections", "0"),
            ("maxclients", String(s.config.maxclients)),
            ("client_recent_max_input_buffer", String(maxIn)),
            ("client_recent_max_output_buffer", String(maxOut)),
            // (Clients postponed by a pause count too, as in Redis 7.0.)
            ("blocked_clients", String(s.blocking.blockedClients + s.clientPause.postponed.count)),
            ("tracking_clients", "0"),
            ("clients_in_timeout_table", "0"),
        ]
    }

    static func memoryFields(_ s: Server) -> [(String, String)] {
        let used = MemoryStats.usedMemory()
        s.stats.notePeak(used)
        let peak = s.stats.usedMemoryPeak
        let rss = MemoryStats.rss()
        let startup = s.stats.usedMemoryStartup
        // Overhead as Redis counts it: the startup heap, client buffers and the hash
        // tables' bucket arrays (the rest of a key is its data).
        var clientsNormal = 0
        for c in s.clients.values { clientsNormal += c.query.capacity + c.out.capacity }
        var tables = 0
        for db in s.dbs { tables += db.table.bucketCount * MemoryLayout<Int>.size + db.volatileCount * MemoryLayout<Int>.size }
        let overhead = startup + clientsNormal + tables
        let dataset = max(0, used - overhead)
        let netUsed = used - startup
        let allocated = used
        let active = MemoryStats.allocatorActive()
        let totalSystem = MemoryStats.totalSystemMemory()
        // Scripting (Scripting/): the two interpreters' heaps and what the caches hold.
        let luaEval = s.scripting.luaMemory
        let fnState = s.scripting.functions
        let luaFunctions = fnState.luaMemory
        let functionsMemory = fnState.current.libraries.reduce(0) { $0 + $1.code.count + 64 * ($1.functions.count + 1) }
        return [
            ("used_memory", String(used)),
            ("used_memory_human", bytesToHuman(used)),
            ("used_memory_rss", String(rss)),
            ("used_memory_rss_human", bytesToHuman(rss)),
            ("used_memory_peak", String(peak)),
            ("used_memory_peak_human", bytesToHuman(peak)),
            ("used_memory_peak_perc", percent(used, peak)),
            ("used_memory_overhead", String(overhead)),
            ("used_memory_startup", String(startup)),
            ("used_memory_dataset", String(dataset)),
            ("used_memory_dataset_perc", percent(dataset, netUsed)),
            ("allocator_allocated", String(allocated)),
            ("allocator_active", String(active)),
            ("allocator_resident", String(rss)),
            ("total_system_memory", String(totalSystem)),
            ("total_system_memory_human", bytesToHuman(totalSystem)),
            ("used_memory_lua", String(luaEval)),
            ("used_memory_vm_eval", String(luaEval)),
            ("used_memory_lua_human", bytesToHuman(luaEval)),
            ("used_memory_scripts_eval", String(s.scripting.scriptsMemory)),
            ("number_of_cached_scripts", String(s.scripting.scripts.count)),
            ("number_of_functions", String(fnState.current.functionCount)),
            ("number_of_libraries", String(fnState.current.libraries.count)),
            ("used_memory_vm_functions", String(luaFunctions)),
            ("used_memory_vm_total", String(luaEval + luaFunctions)),
            ("used_memory_vm_total_human", bytesToHuman(luaEval + luaFunctions)),
            ("used_memory_functions", String(functionsMemory)),
            ("used_memory_scripts", String(s.scripting.scriptsMemory + functionsMemory)),
            ("used_memory_scripts_human", bytesToHuman(s.scripting.scriptsMemory + functionsMemory)),
            ("maxmemory", String(s.config.maxmemory)),
            ("maxmemory_human", bytesToHuman(s.config.maxmemory)),
            ("maxmemory_policy", s.config.maxmemoryPolicy),
            ("allocator_frag_ratio", ratio(active, allocated)),
            ("allocator_frag_bytes", String(active - allocated)),
            ("allocator_rss_ratio", ratio(rss, active)),
            ("allocator_rss_bytes", String(rss - active)),
            ("rss_overhead_ratio", ratio(rss, rss)),
            ("rss_overhead_bytes", "0"),
            ("mem_fragmentation_ratio", ratio(rss, used)),
            ("mem_fragmentation_bytes", String(rss - used)),
            ("mem_not_counted_for_evict", String(s.memoryNotCountedForEvict)),
            ("mem_replication_backlog", "0"),
            ("mem_total_replication_buffers", "0"),
            ("mem_clients_slaves", "0"),
            ("mem_clients_normal", String(clientsNormal)),
            ("mem_cluster_links", "0"),
            ("mem_aof_buffer", String(s.aof.buffer.count)),
            ("mem_allocator", "libc"),
            ("active_defrag_running", "0"),
            ("lazyfree_pending_objects", "0"),
            ("lazyfreed_objects", "0"),
        ]
    }

    static func persistenceFields(_ s: Server) -> [(String, String)] {
        // RDB as Persistence/ServerPersistence.swift keeps it; no AOF yet.
        let p = s.persistence
        let current = p.childPid > 0 ? String((wallClockMs() - p.childStartTime) / 1000) : "-1"
        var fields = [
            ("loading", s.loading ? "1" : "0"),
            ("async_loading", "0"),
            ("current_cow_peak", "0"),
            ("current_cow_size", "0"),
            ("current_cow_size_age", "0"),
            ("current_fork_perc", "0.00"),
            ("current_save_keys_processed", "0"),
            ("current_save_keys_total", "0"),
            ("rdb_changes_since_last_save", String(s.dirty)),
            ("rdb_bgsave_in_progress", p.childPid > 0 && s.aof.childPid == 0 ? "1" : "0"),
            ("rdb_last_save_time", String(s.lastSaveTime)),
            ("rdb_last_bgsave_status", p.lastBgsaveOK ? "ok" : "err"),
            ("rdb_last_bgsave_time_sec", String(p.lastBgsaveTimeSec)),
            ("rdb_current_bgsave_time_sec", current),
            ("rdb_saves", String(p.saves)),
            ("rdb_last_cow_size", String(p.lastCowSize)),
            ("rdb_last_load_keys_expired", String(p.lastLoadKeysExpired)),
            ("rdb_last_load_keys_loaded", String(p.lastLoadKeysLoaded)),
        ] + s.aofInfoFields() + [
            ("module_fork_in_progress", "0"),
            ("module_fork_last_cow_size", "0"),
        ]
        if s.loading { fields += loadingFields(p) }
        return fields
    }

    /// The loading_* lines Redis adds while it loads (genRedisInfoString).
    private static func loadingFields(_ p: PersistenceState) -> [(String, String)] {
        var perc = 0.0
        var remaining = 1
        if p.loadingTotalBytes > 0 {
            perc = Double(p.loadingLoadedBytes) / Double(p.loadingTotalBytes) * 100
            remaining = p.loadingTotalBytes - p.loadingLoadedBytes
        }
        let elapsed = Int(wallClockMs() / 1000) - p.loadingStartTime
        let eta = elapsed == 0 ? 1 : elapsed * remaining / (p.loadingLoadedBytes + 1)
        return [
            ("loading_start_time", String(p.loadingStartTime)),
            ("loading_total_bytes", String(p.loadingTotalBytes)),
            ("loading_rdb_used_mem", String(p.loadingRdbUsedMem)),
            ("loading_loaded_bytes", String(p.loadingLoadedBytes)),
            ("loading_loaded_perc", formatC("%.2f", perc)),
            ("loading_eta_seconds", String(eta)),
        ]
    }

    static func statsFields(_ s: Server) -> [(String, String)] {
        let st = s.stats
        return [
            ("total_connections_received", String(st.totalConnections)),
            ("total_commands_processed", String(st.totalCommands)),
            ("instantaneous_ops_per_sec", String(st.opsMetric.value)),
            ("total_net_input_bytes", String(st.netInputBytes)),
            ("total_net_output_bytes", String(st.netOutputBytes)),
            ("total_net_repl_input_bytes", String(st.netReplInputBytes)),
            ("total_net_repl_output_bytes", String(st.netReplOutputBytes)),
            ("instantaneous_input_kbps", formatC("%.2f", Double(st.inputMetric.value) / 1024)),
            ("instantaneous_output_kbps", formatC("%.2f", Double(st.outputMetric.value) / 1024)),
            ("instantaneous_input_repl_kbps", formatC("%.2f", Double(st.replInputMetric.value) / 1024)),
            ("instantaneous_output_repl_kbps", formatC("%.2f", Double(st.replOutputMetric.value) / 1024)),
            ("rejected_connections", String(st.rejectedConnections)),
            ("sync_full", String(s.repl.syncFull)),
            ("sync_partial_ok", String(s.repl.syncPartialOK)),
            ("sync_partial_err", String(s.repl.syncPartialErr)),
            ("expired_keys", String(st.keyspace.expiredKeys)),
            ("expired_stale_perc", "0.00"),
            ("expired_time_cap_reached_count", String(st.expiredTimeCapReached)),
            ("expire_cycle_cpu_milliseconds", String(st.expireCycleTimeUsedUs / 1000)),
            ("evicted_keys", String(s.eviction.evictedKeys)),
            ("evicted_clients", "0"),
            ("total_eviction_exceeded_time", String(s.evictionExceededTimeMs.total)),
            ("current_eviction_exceeded_time", String(s.evictionExceededTimeMs.current)),
            ("keyspace_hits", String(st.keyspace.hits)),
            ("keyspace_misses", String(st.keyspace.misses)),
            ("pubsub_channels", String(s.pubsub.channels.count)),
            ("pubsub_patterns", String(s.pubsub.patterns.count)),
            ("pubsubshard_channels", String(s.pubsub.shardChannels.count)),
            ("latest_fork_usec", "0"),
            ("total_forks", "0"),
            ("migrate_cached_sockets", "0"),
            ("slave_expires_tracked_keys", "0"),
            ("active_defrag_hits", "0"),
            ("active_defrag_misses", "0"),
            ("active_defrag_key_hits", "0"),
            ("active_defrag_key_misses", "0"),
            ("total_active_defrag_time", "0"),
            ("current_active_defrag_time", "0"),
            ("tracking_total_keys", "0"),
            ("tracking_total_items", "0"),
            ("tracking_total_prefixes", "0"),
            ("unexpected_error_replies", "0"),
            ("total_error_replies", String(st.errorReplies)),
            ("dump_payload_sanitizations", "0"),
            ("total_reads_processed", String(st.readsProcessed)),
            ("total_writes_processed", String(st.writesProcessed)),
            ("io_threaded_reads_processed", "0"),
            ("io_threaded_writes_processed", "0"),
            ("reply_buffer_shrinks", "0"),
            ("reply_buffer_expands", "0"),
        ]
    }

    /// Redis 7.0's replication section, for both roles, field for field.
    static func replicationFields(_ s: Server) -> [(String, String)] {
        let r = s.repl
        let now = s.unixTime
        var f: [(String, String)] = [("role", r.master == nil ? "master" : "slave")]
        if let m = r.master {
            let synced = m.masterClient != nil
            // With neither a master nor a cached one Redis shows 1 for both offsets.
            let known = synced || m.masterReplid != nil
            let step = m.link?.machine.step
            f += [
                ("master_host", m.host),
                ("master_port", String(m.port)),
                ("master_link_status", synced ? "up" : "down"),
                ("master_last_io_seconds_ago", synced ? String(now - m.lastIOTime) : "-1"),
                ("master_sync_in_progress", step == .transfer ? "1" : "0"),
                ("slave_read_repl_offset", String(known ? m.readReplOffset : 1)),
                ("slave_repl_offset", String(known ? m.appliedReplOffset : 1)),
            ]
            if step == .transfer {
                let total = m.syncTotalBytes
                let read = m.syncReadBytes
                let perc = total != 0 ? Double(read) / Double(total) * 100 : 0
                f += [
                    ("master_sync_total_bytes", String(total)),
                    ("master_sync_read_bytes", String(read)),
                    ("master_sync_left_bytes", String(total - read)),
                    ("master_sync_perc", formatC("%.2f", perc)),
                    ("master_sync_last_io_seconds_ago", String(now - m.syncLastIOTime)),
                ]
            }
            if !synced {
                f.append(("master_link_down_since_seconds", m.linkDownSince != 0 ? String(now - m.linkDownSince) : "-1"))
            }
            f += [
                ("slave_priority", String(s.config.replicaPriority)),
                ("slave_read_only", s.config.replicaReadOnly ? "1" : "0"),
                ("replica_announced", s.config.replicaAnnounced ? "1" : "0"),
            ]
        }
        f.append(("connected_slaves", String(r.replicas.count)))
        func lag(_ st: ReplicaClientState) -> Int64 { st.phase == .online ? now - st.ackTimeMs / 1000 : 0 }
        if s.config.minReplicasToWrite != 0 && s.config.minReplicasMaxLag != 0 {
            let good = r.replicas.filter { c in
                guard let st = c.replicaState, st.phase == .online else { return false }
                return lag(st) <= Int64(s.config.minReplicasMaxLag)
            }.count
            f.append(("min_slaves_good_slaves", String(good)))
        }
        f += s.replicaInfoLines()
        let backlog = r.backlog
        f += [
            ("master_failover_state", s.failover.stateName),
            ("master_replid", String(decoding: r.replid, as: UTF8.self)),
            ("master_replid2", String(decoding: r.replid2, as: UTF8.self)),
            ("master_repl_offset", String(r.masterReplOffset)),
            ("second_repl_offset", String(r.secondReplOffset)),
            ("repl_backlog_active", backlog != nil ? "1" : "0"),
            ("repl_backlog_size", String(s.config.replBacklogSize)),
            ("repl_backlog_first_byte_offset", String(backlog?.firstByteOffset ?? 0)),
            ("repl_backlog_histlen", String(backlog?.histlen ?? 0)),
        ]
        return f
    }

    static func cpuFields() -> [(String, String)] {
        var me = rusage()
        var children = rusage()
        var thread = rusage()
        getrusage(RUSAGE_SELF.rawValue, &me)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        getrusage(1, &thread)  // RUSAGE_THREAD (Linux): the event-loop thread
        func t(_ tv: timeval) -> String { "\(tv.tv_sec)." + leftPad(String(tv.tv_usec), 6) }
        return [
            ("used_cpu_sys", t(me.ru_stime)),
            ("used_cpu_user", t(me.ru_utime)),
            ("used_cpu_sys_children", t(children.ru_stime)),
            ("used_cpu_user_children", t(children.ru_utime)),
            ("used_cpu_sys_main_thread", t(thread.ru_stime)),
            ("used_cpu_user_main_thread", t(thread.ru_utime)),
        ]
    }

    /// Per-command latency percentiles from the histograms (Redis's
    /// fillPercentileDistributionLatencies): `p<percentile>=<usec, 3 decimals>`.
    static func latencyStatsFields(_ s: Server) -> [(String, String)] {
        var out: [(String, String)] = []
        let percentiles = s.config.latencyTrackingInfoPercentiles
        for top in s.commands.all {
            for cmd in [top] + top.sortedSubcommands {
                guard let h = cmd.latencyHistogram else { continue }
                let values = percentiles.map {
                    "p\(formatTrimmedDouble($0))=" + formatC("%.3f", Double(h.valueAtPercentile($0)) / 1000)
                }
                out.append(("latency_percentiles_usec_\(cmd.fullName)", values.joined(separator: ",")))
            }
        }
        return out
    }

    /// Commands (and subcommands) that were called, rejected or failed at least once.
    static func commandStatsFields(_ s: Server) -> [(String, String)] {
        var out: [(String, String)] = []
        for top in s.commands.all {
            for cmd in [top] + top.sortedSubcommands where cmd.calls > 0 || cmd.rejectedCalls > 0 || cmd.failedCalls > 0 {
                let perCall = cmd.calls == 0 ? 0 : Double(cmd.microseconds) / Double(cmd.calls)
                out.append(("cmdstat_\(cmd.fullName)",
                            "calls=\(cmd.calls),usec=\(cmd.microseconds),usec_per_call=\(formatC("%.2f", perCall)),"
                            + "rejected_calls=\(cmd.rejectedCalls),failed_calls=\(cmd.failedCalls)"))
            }
        }
        return out
    }

    static func keyspaceFields(_ s: Server) -> [(String, String)] {
        s.dbs.filter { $0.count > 0 }.map {
            ("db\($0.id)", "keys=\($0.count),expires=\($0.volatileCount),avg_ttl=\($0.avgTTL)")
        }
    }

    // MARK: formatting

    /// Redis's bytesToHuman.
    static func bytesToHuman(_ n: Int) -> String {
        let d = Double(n)
        let k = 1024.0
        if n < 1024 { return "\(n)B" }
        if d < k * k { return formatC("%.2fK", d / k) }
        if d < k * k * k { return formatC("%.2fM", d / (k * k)) }
        if d < k * k * k * k { return formatC("%.2fG", d / (k * k * k)) }
        if d < k * k * k * k * k { return formatC("%.2fT", d / (k * k * k * k)) }
        if d < k * k * k * k * k * k { return formatC("%.2fP", d / (k * k * k * k * k)) }
        return "\(n)B"
    }

    static func percent(_ part: Int, _ whole: Int) -> String {
        formatC("%.2f%%", whole > 0 ? Double(part) * 100 / Double(whole) : 0)
    }

    static func ratio(_ a: Int, _ b: Int) -> String {
        formatC("%.2f", b > 0 ? Double(a) / Double(b) : 0)
    }

    static func leftPad(_ s: String, _ width: Int) -> String {
        String(repeating: "0", count: max(0, width - s.count)) + s
    }

    static func utsField<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Our binary's absolute path (Redis prints the absolute path it was started as).
    static func executablePath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? stringFromCBuffer(Array(buf[0..<n]) + [0]) : ""
    }

    /// A stable id for this build: Redis's redis_build_id is a hash of its build
    /// environment; ours is a hash of the version strings.
    static let buildID: String = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (redisUVVersion + "/" + redisCompatVersion).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }()
}
