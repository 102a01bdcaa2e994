#if canImport(Glibc)
import Glibc
#endif

/// RDB state of the server (Redis's server.child_pid, rdb_* and lastbgsave_* fields).
final class PersistenceState {
    /// The BGSAVE child, or 0.
    var childPid: pid_t = 0
    var childStartTime: Int64 = 0
    /// `dirty` when the child forked: what a successful BGSAVE subtracts.
    var dirtyBeforeBgsave = 0
    var lastBgsaveOK = true
    var lastBgsaveTry: Int64 = 0
    /// Seconds the last BGSAVE took, or -1.
    var lastBgsaveTimeSec = -1
    var bgsaveScheduled = false
    var saves = 0
    /// Read end of the pipe on which the BGSAVE child reports its copy-on-write bytes.
    var childInfoPipe: Int32 = -1
    /// rdb_last_cow_size: what the last successful BGSAVE child reported.
    var lastCowSize = 0
    var lastLoadKeysLoaded = 0
    /// While the file loads (INFO persistence's loading_* fields): start (Unix seconds),
    /// file size, bytes parsed, and the used-mem the file's aux field announced.
    var loadingStartTime = 0
    var loadingTotalBytes = 0
    var loadingLoadedBytes = 0
    var loadingRdbUsedMem = 0
    var lastLoadKeysExpired = 0
    /// Set once SHUTDOWN ran its save step, so the exit path does not save again.
    var shutdownPrepared = false
}

extension Server {
    var rdbPath: String { config.dir.isEmpty ? config.dbfilename : config.dir + "/" + config.dbfilename }

    // MARK: loading (Redis's loadDataFromDisk)

    /// Loads `dir`/`dbfilename` at start-up. A missing file leaves the server empty; any
    /// other failure is logged and returns false (the caller exits non-zero).
    ///
    /// With `serveClients` (start-up, outside the loop) clients are served every
    /// loading-process-events-interval-bytes of the file, as Redis's
    /// processEventsWhileBlocked: commands without the `loading` flag get -LOADING, and a
    /// SHUTDOWN or SIGTERM stops the load (the caller then exits without saving).
    ///
    /// As a replica (Redis's loadDataFromDisk with an rdbSaveInfo), expired keys are kept
    /// and the file's repl-id / repl-offset / repl-stream-db become a cached master, so the
    /// first PSYNC after a restart can continue the history.
    func loadDataFromDisk(serveClients: Bool = false, replaceDuplicates: Bool = false,
                          restoreReplicationInfo: Bool = false, rdbOnly: Bool = false) -> Bool {
        if config.dir.isEmpty { return true }  // in-process server: no files
        // With appendonly yes the AOF is the data, not the RDB (Redis's loadDataFromDisk);
        // DEBUG RELOAD reloads the RDB it just saved all the same.
        if config.appendonly && !rdbOnly { return loadAppendOnlyFiles() }
        switch loadRDBFile(rdbPath, serveClients: serveClients, replaceDuplicates: replaceDuplicates,
                           keepExpired: repl.master != nil) {
        case .loaded(let result, let seconds):
            log.notice("DB loaded from disk: \(formatC("%.3f", seconds)) seconds")
            if restoreReplicationInfo && repl.master != nil { replicationRestoreFromRDBAux(result.auxFields) }
            return true
        case .missing, .interrupted:
            return true
        case .failed:
            return false
        }
    }

    enum RDBLoadOutcome {
        case loaded(RDBLoadResult, seconds: Double)
        /// No such file (the caller decides whether that is an error).
        case missing
        /// A shutdown arrived while loading: exit without saving.
        case interrupted
        /// Logged already.
        case failed
    }

    /// Loads the RDB file at `path` into the (already emptied, unless merging) keyspace:
    /// start-up, DEBUG RELOAD and the file a replica received from its master.
    func loadRDBFile(_ path: String, serveClients: Bool, replaceDuplicates: Bool = false,
                     keepExpired: Bool = false) -> RDBLoadOutcome {
        let start = monotonicUs()
        let fd = open(path, O_RDONLY)
        if fd < 0 {
            if errno == ENOENT { return .missing }
            log.warning("Fatal error loading the DB: \(String(cString: strerror(errno))). Exiting.")
            return .failed
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            log.warning("Fatal error loading the DB: \(String(cString: strerror(errno))). Exiting.")
            return .failed
        }
        let size = Int(st.st_size)
        var base: UnsafeMutableRawPointer? = nil
        if size > 0 {
            let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
            if m == MAP_FAILED {
                log.warning("Fatal error loading the DB: \(String(cString: strerror(errno))). Exiting.")
                return .failed
            }
            base = m
            _ = madvise(m, size, MADV_SEQUENTIAL)
        }
        defer { if let base { munmap(base, size) } }
        return loadRDBImage(UnsafeRawBufferPointer(start: base, count: size), into: dbs, serveClients: serveClients,
                            replaceDuplicates: replaceDuplicates, keepExpired: keepExpired, start: start,
                            mapped: base)
    }

    /// Loads an RDB image held in memory into `target` (the live databases, or the temp
    /// ones of a swapdb diskless load). `mapped`: the file mapping whose parsed pages are
    /// given back as loading goes.
    func loadRDBImage(_ image: UnsafeRawBufferPointer, into target: [Database], serveClients: Bool,
                      replaceDuplicates: Bool = false, keepExpired: Bool = false, start: Int64 = monotonicUs(),
                      mapped base: UnsafeMutableRawPointer? = nil) -> RDBLoadOutcome {
        let size = image.count
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var dropped = 0
        loading = true
        defer { loading = false }
        persistence.loadingStartTime = Int(wallClockMs() / 1000)
        persistence.loadingTotalBytes = size
        persistence.loadingLoadedBytes = 0
        persistence.loadingRdbUsedMem = 0
        let eventsInterval = config.loadingProcessEventsIntervalBytes
        var eventsAt = 0
        do {
            let result = try RDBFile.load(image, into: target,
                                          limits: RDBLoadLimits(config), verifyChecksum: config.rdbchecksum,
                                          nowMs: wallClockMs(), lruClock: lruClock, lfu: lfuPolicySelected,
                                          log: { [log] in log.notice($0) },
                                          keyLoadDelay: config.keyLoadDelay, replaceDuplicates: replaceDuplicates,
                                          keepExpired: keepExpired,
                                          functionLibrary: { [unowned self] code in
                // rdbFunctionLoad: MERGE (ALLOW_DUP) replaces a library already there.
                switch createFunctionLibrary(code, replace: replaceDuplicates, into: scripting.functions.current, timeoutMs: 0) {
                case .success: return nil
                case .failure(let e): return e.message
                }
            },
                                          progress: { [unowned self] r in
                // Pages already parsed (and checksummed) are given back, so a big file
                // does not stay resident next to the data it became.
                r.updateChecksum()
                let upTo = (r.pos / page) * page
                if let base, upTo - dropped >= 2 << 20 {
                    _ = madvise(base + dropped, upTo - dropped, MADV_DONTNEED)
                    dropped = upTo
                }
                persistence.loadingLoadedBytes = r.pos
                persistence.loadingRdbUsedMem = r.announcedUsedMem
                if serveClients && r.pos / eventsInterval > eventsAt / eventsInterval {
                    eventsAt = r.pos
                    loop?.processEventsWhileBlocked()
                    if shutdownRequested { throw LoadInterrupted() }
                }
            })
            persistence.lastLoadKeysLoaded = result.keysLoaded
            persistence.lastLoadKeysExpired = result.keysExpired
            return .loaded(result, seconds: Double(monotonicUs() - start) / 1_000_000)
        } catch is LoadInterrupted {
            // Redis's whileBlockedCron: a SIGTERM while loading exits without saving
            // (SHUTDOWN while loading is NOSAVE as well).
            persistence.shutdownPrepared = true
            log.warning("Loading interrupted by a shutdown request: exiting without saving.")
            return .interrupted
        } catch let e as RDBError {
            log.warning("Internal error in RDB reading offset \(e.offset) -> \(e.message)")
            log.warning("Terminating server after rdb file reading failure.")
            return .failed
        } catch {
            log.warning("Fatal error loading the DB: \(error). Exiting.")
            return .failed
        }
    }

    // MARK: saving

    func rdbAuxFields(nowMs: Int64) -> [(String, String)] {
        var aux = [("redis-ver", redisCompatVersion), ("redis-bits", "64"), ("ctime", String(nowMs / 1000)),
                   ("used-mem", String(MemoryStats.usedMemory()))]
        // rdbSaveInfoAuxFields: where the replication stream stands, so that a restarted
        // replica (or master) can continue it with PSYNC (Replication/ReplicaSide.swift).
        aux += replicationSaveInfoAuxFields()
        aux.append(("aof-base", "0"))
        return aux
    }

    /// Writes an RDB image of the keyspace (none with `includeData` false: a filtered
    /// replica's RDB) to `fd` (Redis's rdbSaveRio). Returns the failure, or nil.
    func rdbWrite(to fd: Int32, includeData: Bool = true, incrementalFsync: Bool = false) -> String? {
        let now = wallClockMs()
        let w = RDBWriter(fd: fd, compress: config.rdbcompression)
        if incrementalFsync { w.autoSyncBytes = 4 << 20 }
        var options = RDBFile.SaveOptions()
        options.version = config.rdbVersion
        options.compress = config.rdbcompression
        options.checksum = config.rdbchecksum
        options.aux = rdbAuxFields(nowMs: now)
        options.policy = config.maxmemoryPolicy
        options.nowMs = now
        options.lruClock = lruClock
        options.keySaveDelay = config.rdbKeySaveDelay
        options.functions = scripting.functions.current.libraries.map { $0.code }
        do {
            try RDBFile.save(includeData ? dbs : [], to: w, options: options)
            if w.writeErrno != 0 { return String(cString: strerror(w.writeErrno)) }
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Writes the whole keyspace to `path` through a temp file: write, fsync, rename
    /// (Redis's rdbSave). Used by SAVE and, in the forked child, by BGSAVE. Logs and
    /// returns false on failure; the previous file is left untouched.
    func rdbSaveToFile(_ path: String, tempName: String) -> Bool {
        // Start-up always sets `dir`; only servers built in-process (unit tests) have
        // none, and they must not write into whatever the current directory is.
        guard !config.dir.isEmpty else {
            log.verbose("Not saving: no dir configured (in-process server)")
            return false
        }
        let dir = config.dir
        let tmp = dir + "/" + tempName
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if fd < 0 {
            log.warning("Failed opening the temp RDB file \(tempName) (in server root dir \(dir)) for saving: \(String(cString: strerror(errno)))")
            return false
        }
        var failure = rdbWrite(to: fd, incrementalFsync: config.rdbSaveIncrementalFsync)
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            log.warning("Write error saving DB on disk: \(failure)")
            unlink(tmp)
            return false
        }
        if rename(tmp, path) != 0 {
            log.warning("Error moving temp DB file \(tempName) on the final destination \(config.dbfilename) (in server root dir \(dir)): \(String(cString: strerror(errno)))")
            unlink(tmp)
            return false
        }
        // fsync the directory so the rename itself is durable (fsyncFileDir).
        let dfd = open(dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        return true
    }

    /// SAVE, SHUTDOWN, FLUSHALL, DEBUG RELOAD: a save in the foreground (rdbSave).
    @discardableResult
    func rdbSave() -> Bool {
        let ok = rdbSaveToFile(rdbPath, tempName: "temp-\(getpid()).rdb")
        if ok {
            log.notice("DB saved on disk")
            dirty = 0
            lastSaveTime = wallClockMs() / 1000
            persistence.lastBgsaveOK = true
            persistence.saves += 1
        }
        return ok
    }

    var hasActiveChild: Bool { persistence.childPid > 0 || aof.childPid > 0 }

    /// BGSAVE: forks; the child writes the snapshot it inherited and exits, the parent
    /// goes on serving and reaps it from the cron (rdbSaveBackground).
    func rdbSaveBackground() -> Bool {
        if hasActiveChild { return false }
        let p = persistence
        p.dirtyBeforeBgsave = dirty
        p.lastBgsaveTry = wallClockMs() / 1000
        // The child reports its copy-on-write size on this pipe (Redis's child info pipe).
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) != 0 { fds = [-1, -1] }
        let forkStart = monotonicUs()
        let pid = fork()
        if pid > 0 { noteFork(startUs: forkStart) }
        if pid == 0 {
            // The child: only this thread exists here. It never returns to the event loop
            // nor touches libuv; it writes the file and leaves with _exit.
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_DFL)
            log.role = "C"
            forkedChildProcessSettings(title: "redis-rdb-bgsave")
            if fds[0] >= 0 { close(fds[0]) }
            let ok = rdbSaveToFile(rdbPath, tempName: "temp-\(getpid()).rdb")
            if ok {
                log.notice("DB saved on disk")
                // sendChildCowInfo: what the parent's writes made this process copy.
                let cow = privateDirtyBytes()
                log.notice("Fork CoW for RDB: current \(cow >> 20) MB, peak \(cow >> 20) MB, average \(cow >> 20) MB")
                if fds[1] >= 0 {
                    var v = UInt64(cow)
                    _ = withUnsafeBytes(of: &v) { write(fds[1], $0.baseAddress, 8) }
                }
            }
            _exit(ok ? 0 : 1)
        }
        if fds[1] >= 0 { close(fds[1]) }
        if pid < 0 {
            if fds[0] >= 0 { close(fds[0]) }
            p.lastBgsaveOK = false
            log.warning("Can't save in background: fork: \(String(cString: strerror(errno)))")
            return false
        }
        log.notice("Background saving started by pid \(pid)")
        if fds[0] >= 0 { _ = fcntl(fds[0], F_SETFL, O_NONBLOCK) }
        p.childInfoPipe = fds[0]
        p.childPid = pid
        p.childStartTime = wallClockMs()
        return true
    }

    /// Reaps a finished BGSAVE child (checkChildrenDone + backgroundSaveDoneHandler).
    func checkChildDone() {
        let p = persistence
        guard p.childPid > 0 else { return }
        var status: Int32 = 0
        let r = waitpid(p.childPid, &status, WNOHANG)
        if r == 0 { return }
        let pid = p.childPid
        p.childPid = 0
        // A diskless transfer's child (MasterSide) touches none of the save statistics.
        if repl.rdbChildType == .socket {
            replicationSocketChildDone(reaped: r > 0, status: status)
            return
        }
        // Replicas waiting for this save get the file, or are dropped (MasterSide).
        var savedOK = false
        defer { replicationDiskSaveDone(ok: savedOK) }
        let cow = takeChildCowReport()
        p.lastBgsaveTimeSec = Int((wallClockMs() - p.childStartTime) / 1000)
        if r < 0 {
            log.warning("waitpid() returned an error: \(String(cString: strerror(errno))). child_type: RDB, child_pid = \(pid)")
            p.lastBgsaveOK = false
            return
        }
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        let bySignal = exited ? 0 : status & 0x7F
        if exited && code == 0 {
            log.notice("Background saving terminated with success")
            if let cow { p.lastCowSize = cow }
            dirty -= p.dirtyBeforeBgsave
            lastSaveTime = wallClockMs() / 1000
            p.lastBgsaveOK = true
            p.saves += 1
            savedOK = true
        } else if exited {
            log.warning("Background saving error")
            p.lastBgsaveOK = false
        } else {
            log.warning("Background saving terminated by signal \(bySignal)")
            unlink((config.dir.isEmpty ? "." : config.dir) + "/temp-\(pid).rdb")
            if bySignal != SIGUSR1 { p.lastBgsaveOK = false }
        }
    }

    /// Stops a running BGSAVE child and removes its temp file (killRDBChild).
    func killRDBChild() {
        let p = persistence
        guard p.childPid > 0 else { return }
        kill(p.childPid, SIGUSR1)
        var status: Int32 = 0
        _ = waitpid(p.childPid, &status, 0)
        unlink((config.dir.isEmpty ? "." : config.dir) + "/temp-\(p.childPid).rdb")
        p.childPid = 0
        _ = takeChildCowReport()
        // Replicas waiting for that save are dropped (MasterSide; Redis does it when it
        // reaps the killed child).
        replicationRDBChildKilled()
    }

    /// Reads (and closes) the child's copy-on-write report, if it sent one.
    private func takeChildCowReport() -> Int? {
        let p = persistence
        guard p.childInfoPipe >= 0 else { return nil }
        defer {
            close(p.childInfoPipe)
            p.childInfoPipe = -1
        }
        var v: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &v) { read(p.childInfoPipe, $0.baseAddress, 8) }
        return n == 8 ? Int(v) : nil
    }

    /// The cron's part (serverCron): reap the child, or start a BGSAVE when a save point
    /// is reached or one was scheduled.
    func persistenceCron() {
        let p = persistence
        if aof.childPid > 0 { return }  // the AOF rewrite child is reaped by aofCron
        if p.childPid > 0 {
            checkChildDone()
            return
        }
        let now = unixTime
        let retryOK = now - p.lastBgsaveTry > 5 || p.lastBgsaveOK
        for sp in config.save where dirty >= sp.changes && now - lastSaveTime > Int64(sp.seconds) && retryOK {
            log.notice("\(sp.changes) changes in \(sp.seconds) seconds. Saving...")
            _ = rdbSaveBackground()
            return
        }
        if p.bgsaveScheduled && retryOK {
            if rdbSaveBackground() { p.bgsaveScheduled = false }
        }
    }

    /// The save step of a shutdown (prepareForShutdown): kills a BGSAVE child, saves when
    /// save points exist (or SAVE was asked) unless NOSAVE. False when the save failed.
    func prepareForShutdownSave(save: Bool, nosave: Bool) -> Bool {
        persistence.shutdownPrepared = true
        if hasActiveChild {
            log.warning("There is a child saving an .rdb. Killing it!")
            killRDBChild()
        }
        if (!config.save.isEmpty && !nosave) || save {
            log.notice("Saving the final RDB snapshot before exiting.")
            if !rdbSave() {
                log.warning("Error trying to save the DB, can't exit.")
                return false
            }
        }
        return true
    }

    /// FLUSHALL's persistence part (flushAllDataAndResetRDB): a running BGSAVE is killed
    /// and, with save points, an empty file is saved; the dirty count stays.
    func flushAllResetRDB() {
        if hasActiveChild { killRDBChild() }
        if !config.save.isEmpty {
            let saved = dirty
            rdbSave()
            dirty = saved
        }
    }

    /// Redis's writeCommandsDeniedByDiskError check in processCommand: with
    /// stop-writes-on-bgsave-error and save points, a failed last save refuses write
    /// commands and PING with -MISCONF. True when `c` got the error.
    func rejectWriteOnDiskError(_ c: Client, _ cmd: RedisCommand, flags: CommandFlags) -> Bool {
        if let aofError = aofWriteError {
            guard flags.contains(.write) || cmd.fullName == "ping" else { return false }
            c.addReplyError("-MISCONF Errors writing to the AOF file: " + aofError)
            return true
        }
        guard config.stopWritesOnBgsaveError && !config.save.isEmpty && !persistence.lastBgsaveOK else { return false }
        guard flags.contains(.write) || cmd.fullName == "ping" else { return false }
        c.addReplyError("-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. "
                        + "Commands that may modify the data set are disabled, because this instance is configured to report "
                        + "errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
                        + "Please check the Redis logs for details about the RDB error.")
        return true
    }

    /// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty, load again. NOFLUSH keeps the
    /// current keys (a key also in the file is then an error, or with MERGE replaced).
    func debugReload(save: Bool, flush: Bool = true, merge: Bool = false) -> String? {
        if save && !rdbSave() { return "Error trying to save the DB" }
        if flush {
            // Redis empties through emptyData, which invalidates WATCHes (signalFlushedDb).
            for db in dbs {
                signalFlushedDb(db)
                db.flush()
            }
            scripting.functions.flush()  // emptyData drops the function libraries too
        }
        if !loadDataFromDisk(replaceDuplicates: merge, rdbOnly: true) { return "Error trying to load the RDB dump" }
        log.warning("DB reloaded by DEBUG RELOAD")
        return nil
    }
}

extension Server {
    /// DEBUG LOADAOF: the AOF written out, the keyspace emptied and loaded back from the
    /// AOF files (Redis exits when they cannot be loaded).
    func debugLoadAOF() {
        if aof.status == .on { flushAppendOnlyFile(force: true) }
        for db in dbs {
            signalFlushedDb(db)
            db.flush()
        }
        scripting.functions.flush()
        deleteAOFHistoryFiles()
        if !loadAppendOnlyFiles() { exit(1) }
        dirty = 0
        log.notice("Append Only File loaded by DEBUG LOADAOF")
    }
}

/// Thrown out of the loader when a shutdown arrives while the file loads.
private struct LoadInterrupted: Error {}

/// Redis's zmalloc_get_private_dirty(-1): the Private_Dirty bytes of this process, from
/// /proc/self/smaps_rollup (or smaps). In a fork child that is what copy-on-write cost.
func privateDirtyBytes() -> Int {
    guard let f = fopen("/proc/self/smaps_rollup", "r") ?? fopen("/proc/self/smaps", "r") else { return 0 }
    defer { fclose(f) }
    var total = 0
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    defer { free(line) }
    let field = "Private_Dirty:"
    while getline(&line, &cap, f) > 0 {
        guard let line else { break }
        if strncmp(line, field, field.utf8.count) == 0 {
            total += Int(atoi(line + field.utf8.count)) * 1024
        }
    }
    return total
}
