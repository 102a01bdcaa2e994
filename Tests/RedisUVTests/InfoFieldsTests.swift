import XCTest
@testable import RedisUV

/// INFO's field names and order against Redis 7.0.15. The list below was captured from
/// `redis-cli info everything` of a real redis-server 7.0.15 (per-command, per-error,
/// per-database and latency-percentile lines left out: they depend on what ran).
final class InfoFieldsTests: XCTestCase {
    static let redis7015Fields = """
# Server
redis_version
redis_git_sha1
redis_git_dirty
redis_build_id
redis_mode
os
arch_bits
monotonic_clock
multiplexing_api
atomicvar_api
gcc_version
process_id
process_supervised
run_id
tcp_port
server_time_usec
uptime_in_seconds
uptime_in_days
hz
configured_hz
lru_clock
executable
config_file
io_threads_active
# Clients
connected_clients
cluster_connections
maxclients
client_recent_max_input_buffer
client_recent_max_output_buffer
blocked_clients
tracking_clients
clients_in_timeout_table
# Memory
used_memory
used_memory_human
used_memory_rss
used_memory_rss_human
used_memory_peak
used_memory_peak_human
used_memory_peak_perc
used_memory_overhead
used_memory_startup
used_memory_dataset
used_memory_dataset_perc
allocator_allocated
allocator_active
allocator_resident
total_system_memory
total_system_memory_human
used_memory_lua
used_memory_vm_eval
used_memory_lua_human
used_memory_scripts_eval
number_of_cached_scripts
number_of_functions
number_of_libraries
used_memory_vm_functions
used_memory_vm_total
used_memory_vm_total_human
used_memory_functions
used_memory_scripts
used_memory_scripts_human
maxmemory
maxmemory_human
maxmemory_policy
allocator_frag_ratio
allocator_frag_bytes
allocator_rss_ratio
allocator_rss_bytes
rss_overhead_ratio
rss_overhead_bytes
mem_fragmentation_ratio
mem_fragmentation_bytes
mem_not_counted_for_evict
mem_replication_backlog
mem_total_replication_buffers
mem_clients_slaves
mem_clients_normal
mem_cluster_links
mem_aof_buffer
mem_allocator
active_defrag_running
lazyfree_pending_objects
lazyfreed_objects
# Persistence
loading
async_loading
current_cow_peak
current_cow_size
current_cow_size_age
current_fork_perc
current_save_keys_processed
current_save_keys_total
rdb_changes_since_last_save
rdb_bgsave_in_progress
rdb_last_save_time
rdb_last_bgsave_status
rdb_last_bgsave_time_sec
rdb_current_bgsave_time_sec
rdb_saves
rdb_last_cow_size
rdb_last_load_keys_expired
rdb_last_load_keys_loaded
aof_enabled
aof_rewrite_in_progress
aof_rewrite_scheduled
aof_last_rewrite_time_sec
aof_current_rewrite_time_sec
aof_last_bgrewrite_status
aof_rewrites
aof_rewrites_consecutive_failures
aof_last_write_status
aof_last_cow_size
module_fork_in_progress
module_fork_last_cow_size
# Stats
total_connections_received
total_commands_processed
instantaneous_ops_per_sec
total_net_input_bytes
total_net_output_bytes
total_net_repl_input_bytes
total_net_repl_output_bytes
instantaneous_input_kbps
instantaneous_output_kbps
instantaneous_input_repl_kbps
instantaneous_output_repl_kbps
rejected_connections
sync_full
sync_partial_ok
sync_partial_err
expired_keys
expired_stale_perc
expired_time_cap_reached_count
expire_cycle_cpu_milliseconds
evicted_keys
evicted_clients
total_eviction_exceeded_time
current_eviction_exceeded_time
keyspace_hits
keyspace_misses
pubsub_channels
pubsub_patterns
pubsubshard_channels
latest_fork_usec
total_forks
migrate_cached_sockets
slave_expires_tracked_keys
active_defrag_hits
active_defrag_misses
active_defrag_key_hits
active_defrag_key_misses
total_active_defrag_time
current_active_defrag_time
tracking_total_keys
tracking_total_items
tracking_total_prefixes
unexpected_error_replies
total_error_replies
dump_payload_sanitizations
total_reads_processed
total_writes_processed
io_threaded_reads_processed
io_threaded_writes_processed
reply_buffer_shrinks
reply_buffer_expands
# Replication
role
connected_slaves
master_failover_state
master_replid
master_replid2
master_repl_offset
second_repl_offset
repl_backlog_active
repl_backlog_size
repl_backlog_first_byte_offset
repl_backlog_histlen
# CPU
used_cpu_sys
used_cpu_user
used_cpu_sys_children
used_cpu_user_children
used_cpu_sys_main_thread
used_cpu_user_main_thread
# Modules
# Commandstats
# Errorstats
# Latencystats
# Cluster
cluster_enabled
# Keyspace
"""

    /// Sections in order, each with its field names in order.
    static func sections(_ lines: [String]) -> [(String, [String])] {
        var out: [(String, [String])] = []
        for line in lines where !line.isEmpty {
            if line.hasPrefix("# ") {
                out.append((String(line.dropFirst(2)), []))
            } else if let colon = line.firstIndex(of: ":") {
                out[out.count - 1].1.append(String(line[..<colon]))
            } else {
                out[out.count - 1].1.append(line)
            }
        }
        return out
    }

    func makeServer() -> Server {
        Server(config: ServerConfig(), log: Logger(level: "warning"))
    }

    func testEveryRedisFieldIsPresentInOrder() {
        let server = makeServer()
        let text = InfoCommand.generate(server, sections: ["everything"])
        XCTAssertTrue(text.hasSuffix("\r\n"))
        XCTAssertFalse(text.contains("\n\n"), "lines end in \\r\\n")
        let ours = Self.sections(text.components(separatedBy: "\r\n"))
        let expected = Self.sections(Self.redis7015Fields.components(separatedBy: "\n"))
        XCTAssertEqual(ours.map(\.0), expected.map(\.0), "sections and their order")
        for (section, names) in expected {
            let mine = ours.first { $0.0 == section }?.1 ?? []
            let perEntity = ["Commandstats", "Errorstats", "Keyspace"]
            if perEntity.contains(section) { continue }
            XCTAssertEqual(mine, names, "fields of # \(section)")
        }
    }

    /// The fields redis-py, redis-benchmark, redis-cli and monitoring tools read.
    func testFieldsToolsReadHaveSensibleValues() {
        let server = makeServer()
        var values: [String: String] = [:]
        for line in InfoCommand.generate(server, sections: ["all"]).components(separatedBy: "\r\n") {
            if let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") {
                values[String(line[..<colon])] = String(line[line.index(after: colon)...])
            }
        }
        XCTAssertEqual(values["redis_version"], "7.0.15")
        XCTAssertEqual(values["redis_mode"], "standalone")
        XCTAssertEqual(values["role"], "master")
        XCTAssertEqual(values["connected_slaves"], "0")
        XCTAssertEqual(values["master_replid"]?.count, 40)
        XCTAssertEqual(values["loading"], "0")
        XCTAssertEqual(values["rdb_bgsave_in_progress"], "0")
        XCTAssertEqual(values["aof_rewrite_in_progress"], "0")
        XCTAssertEqual(values["cluster_enabled"], "0")
        XCTAssertEqual(values["mem_allocator"], "libc")
        for key in ["used_memory", "used_memory_rss", "used_memory_peak", "uptime_in_seconds", "process_id",
                    "connected_clients", "total_commands_processed", "keyspace_hits", "keyspace_misses",
                    "rdb_last_save_time", "rdb_changes_since_last_save", "total_system_memory"] {
            XCTAssertNotNil(Int(values[key] ?? "x"), "\(key) is an integer")
        }
        XCTAssertGreaterThan(Int(values["used_memory"] ?? "0") ?? 0, 0)
        XCTAssertGreaterThan(Int(values["used_memory_rss"] ?? "0") ?? 0, 0)
        XCTAssertNotNil(Double(values["used_cpu_user"] ?? "x"))
        XCTAssertEqual(values["run_id"]?.count, 40)
    }

    func testDefaultAndSelectedSections() {
        let server = makeServer()
        let headers = { (names: [String]) in
            InfoCommand.generate(server, sections: names).components(separatedBy: "\r\n").filter { $0.hasPrefix("# ") }
        }
        XCTAssertEqual(headers([]), ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication",
                                     "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"])
        XCTAssertEqual(headers(["default"]), headers([]))
        XCTAssertEqual(headers(["cluster", "server"]), ["# Server", "# Cluster"])
        XCTAssertEqual(InfoCommand.generate(server, sections: ["nosuch"]), "")
        XCTAssertEqual(InfoCommand.generate(server, sections: ["cluster"]), "# Cluster\r\ncluster_enabled:0\r\n")
    }

    func testKeyspaceLine() {
        let server = makeServer()
        let key = Array("k".utf8), value = Array("v".utf8)
        let entry = key.withUnsafeBytes { k in value.withUnsafeBytes { v in KeyEntry.make(key: k, value: v, lru: 0) } }
        server.db(2).add(entry)
        XCTAssertEqual(InfoCommand.generate(server, sections: ["keyspace"]),
                       "# Keyspace\r\ndb2:keys=1,expires=0,avg_ttl=0\r\n")
    }

    func testBytesToHuman() {
        XCTAssertEqual(InfoCommand.bytesToHuman(0), "0B")
        XCTAssertEqual(InfoCommand.bytesToHuman(1023), "1023B")
        XCTAssertEqual(InfoCommand.bytesToHuman(1014992), "991.20K")
        XCTAssertEqual(InfoCommand.bytesToHuman(7364608), "7.02M")
        XCTAssertEqual(InfoCommand.bytesToHuman(25276502016), "23.54G")
    }

    func testInstantaneousMetric() {
        var m = InstantaneousMetric()
        m.track(0, nowMs: 1000)
        for i in 1...16 { m.track(i * 100, nowMs: 1000 + Int64(i) * 100) }
        XCTAssertEqual(m.value, 1000, "100 ops every 100 ms")
    }
}
