#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization

/// Redis 7.0's multi-part append-only file (aof.c). Every command that leaves through
/// propagation (Replication/Propagation.swift: the same effects replicas get) is appended,
/// as RESP, to an in-memory buffer; beforeSleep writes the buffer to the current incr
/// file before any reply goes out, and fsyncs it per `appendfsync` (always: right
/// there; everysec: at most once a second on a background queue, as Redis's bio thread;
/// no: never). The files are listed in the manifest (AOFManifest.swift); a rewrite
/// (BGREWRITEAOF) forks a child that writes a new base while the parent appends to a new
/// incr file, then the manifest is swapped atomically and the old files deleted.
/// Loading is AOFLoader.swift.

/// fsync off the event loop (Redis's BIO_AOF_FSYNC), one job at a time in order.
final class AOFFsyncWorker: Sendable {
    private let queue = DispatchQueue(label: "redis-uv.aof-fsync")
    private let pending = Atomic<Int>(0)
    /// errno of the last background fsync that failed, 0 after one that worked.
    let lastErrno = Atomic<Int32>(0)

    var inProgress: Bool { pending.load(ordering: .acquiring) > 0 }

    func fsync(_ fd: Int32) {
        pending.add(1, ordering: .acquiringAndReleasing)
        queue.async { [self] in
            let r = fdatasync(fd)
            lastErrno.store(r == 0 ? 0 : errno, ordering: .releasing)
            pending.subtract(1, ordering: .acquiringAndReleasing)
        }
    }

    /// Closes a file the loop no longer needs, after the fsyncs queued before it.
    func close(_ fd: Int32) {
        queue.async { _ = Glibc.close(fd) }
    }

    /// Waits for every queued job (shutdown, a file switch with appendfsync always).
    func drain() { queue.sync {} }
}

final class AOFState {
    enum Status { case off, on, waitRewrite }
    var status: Status = .off
    var manifest = AOFManifest()
    /// The incr file being appended to.
    var fd: Int32 = -1
    /// Commands not written yet (Redis's aof_buf).
    var buffer = ByteBuffer()
    /// The database the file's last SELECT chose (Redis's aof_selected_db).
    var selectedDb = -1
    /// Last timestamp annotation written (aof-timestamp-enabled), seconds.
    var lastTimestamp: Int64 = 0
    var lastFsyncSec: Int64 = 0
    /// A flush waiting for a slow background fsync since then (Redis's aof_flush_postponed_start).
    var flushPostponedSince: Int64 = 0
    var delayedFsync = 0
    /// Bytes in the base and incr files (aof_current_size), and in the base after the last
    /// rewrite (aof_rewrite_base_size) for auto-aof-rewrite-percentage.
    var currentSize = 0
    var rewriteBaseSize = 0
    var lastIncrSize = 0
    var lastWriteOK = true
    var lastWriteErrno: Int32 = 0
    /// Replaying files at start-up: nothing is fed back.
    var loading = false
    /// The rewrite child and its bookkeeping.
    var childPid: pid_t = 0
    var childStartMs: Int64 = 0
    var rewriteScheduled = false
    var lastRewriteTimeSec = -1
    var lastRewriteOK = true
    var rewrites = 0
    var consecutiveFailures = 0
    var lastCowSize = 0
    /// The base name the running child writes (renamed into place when it succeeds).
    var childBaseName = ""
    let worker = AOFFsyncWorker()
}

extension Server {
    var aofDir: String { (config.dir.isEmpty ? "." : config.dir) + "/" + config.appenddirname }
    private var aofManifestName: String { config.appendfilename + ".manifest" }
    private func aofPath(_ name: String) -> String { aofDir + "/" + name }

    /// Whether commands go to the AOF now (Redis's feedAppendOnlyFile condition).
    @inline(__always) var aofFeeding: Bool {
        aof.status == .on || (aof.status == .waitRewrite && aof.childPid > 0)
    }

    func aofFeedingChanged() { propagation.aofFeeding = aofFeeding && !aof.loading }

    // MARK: feeding (feedAppendOnlyFile)

    /// Appends one command, with a SELECT first when the database changes.
    func feedAppendOnlyFile(dbid: Int, argc: Int, appendArguments: (inout ByteBuffer) -> Void) {
        let a = aof
        var buf = a.buffer
        if config.aofTimestampEnabled && unixTime > a.lastTimestamp {
            a.lastTimestamp = unixTime
            buf.append("#TS:")
            buf.appendDecimal(Int(unixTime))
            buf.append("\r\n")
        }
        // The same RESP encoding as the replication stream (Replication/Propagation.swift).
        if a.selectedDb != dbid {
            Self.encodeSelect(dbid, into: &buf)
            a.selectedDb = dbid
        }
        buf.append(byte: UInt8(ascii: "*"))
        buf.appendDecimal(argc)
        buf.append("\r\n")
        appendArguments(&buf)
        a.buffer = buf
    }

    func feedAppendOnlyFile(dbid: Int, _ argv: [[UInt8]]) {
        feedAppendOnlyFile(dbid: dbid, argc: argv.count) { buf in
            for x in argv { x.withUnsafeBytes { Self.encodeBulk($0, into: &buf) } }
        }
    }

    func feedAppendOnlyFile(dbid: Int, _ argv: Argv) {
        feedAppendOnlyFile(dbid: dbid, argc: argv.count) { buf in
            for i in 0..<argv.count { Self.encodeBulk(argv[i], into: &buf) }
        }
    }

    // MARK: writing (flushAppendOnlyFile)

    /// Writes the buffer to the incr file and fsyncs per policy. From beforeSleep, before
    /// replies are written (so with `always` no client hears of a write not on disk), and
    /// with `force` from the cron, a shutdown and a rewrite's start.
    func flushAppendOnlyFile(force: Bool = false) {
        let a = aof
        guard a.fd >= 0 else { return }
        let everysec = config.appendfsync == "everysec"
        if a.buffer.count == 0 {
            // Nothing new, but a write may still need its fsync (everysec).
            if everysec && a.lastIncrSize != a.currentSize && unixTime > a.lastFsyncSec && !a.worker.inProgress {
                a.worker.fsync(a.fd)
                a.lastFsyncSec = unixTime
                a.lastIncrSize = a.currentSize
            }
            return
        }
        let syncInProgress = everysec && a.worker.inProgress
        if everysec && !force && syncInProgress {
            // Redis waits up to 2 s for a slow fsync before writing anyway.
            if a.flushPostponedSince == 0 {
                a.flushPostponedSince = unixTime
                return
            } else if unixTime - a.flushPostponedSince < 2 {
                return
            }
            a.delayedFsync += 1
            log.notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.")
        }
        a.flushPostponedSince = 0
        var written = 0
        var err: Int32 = 0
        let total = a.buffer.count
        let writeStart = config.latencyMonitorThreshold > 0 ? monotonicUs() : 0
        while written < total {
            let n = write(a.fd, a.buffer.base! + written, total - written)
            if n < 0 {
                if errno == EINTR { continue }
                err = errno
                break
            }
            written += n
        }
        if writeStart != 0 { noteAOFWriteLatency(since: writeStart, syncInProgress: syncInProgress) }
        if written < total {
            // A partial write is undone (Redis truncates back to the last good size).
            if written > 0 && ftruncate(a.fd, off_t(a.currentSize)) == 0 { written = 0 }
            if config.appendfsync == "always" {
                log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
                exit(1)
            }
            if a.lastWriteOK || a.lastWriteErrno != err {
                log.warning("Error writing to the AOF file: \(String(cString: strerror(err == 0 ? ENOSPC : err)))")
            }
            a.lastWriteOK = false
            a.lastWriteErrno = err == 0 ? ENOSPC : err
            if written > 0 {
                a.currentSize += written
                a.buffer.removeFirst(written)
            }
            return
        }
        if !a.lastWriteOK {
            log.warning("AOF write error looks solved, Redis can write again.")
            a.lastWriteOK = true
        }
        a.currentSize += written
        a.buffer.count = 0
        a.buffer.trim(ifCapacityOver: 4 << 20, keep: 16 << 10)
        if config.appendfsync == "always" {
            let fsyncStart = config.latencyMonitorThreshold > 0 ? monotonicUs() : 0
            defer { if fsyncStart != 0 { latencyAddSampleIfNeeded("aof-fsync-always", Int((monotonicUs() - fsyncStart) / 1000)) } }
            if fdatasync(a.fd) != 0 {
                log.warning("Can't persist AOF for fsync error when the AOF fsync policy is 'always': \(String(cString: strerror(errno))). Exiting...")
                exit(1)
            }
            a.lastFsyncSec = unixTime
            a.lastIncrSize = a.currentSize
        } else if everysec && unixTime > a.lastFsyncSec {
            // no-appendfsync-on-rewrite: no fsync while a child writes (it competes for the disk).
            if config.noAppendfsyncOnRewrite && hasActiveChild { return }
            if !syncInProgress {
                a.worker.fsync(a.fd)
                a.lastIncrSize = a.currentSize
            }
            a.lastFsyncSec = unixTime
        }
    }

    /// -MISCONF for writes while the AOF cannot be written (writeCommandsDeniedByDiskError).
    var aofWriteError: String? {
        guard aof.status != .off else { return nil }
        if !aof.lastWriteOK { return String(cString: strerror(aof.lastWriteErrno)) }
        let e = aof.worker.lastErrno.load(ordering: .acquiring)
        return e != 0 ? String(cString: strerror(e)) : nil
    }

    // MARK: files and the manifest

    /// Writes the manifest through a temp file, fsynced and renamed (persistAofManifest).
    @discardableResult
    func persistAOFManifest() -> Bool {
        let tmp = aofPath("temp-" + aofManifestName)
        let text = Array(aof.manifest.format().utf8)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            log.warning("Can't open the AOF manifest file \(tmp) for writing: \(String(cString: strerror(errno)))")
            return false
        }
        let n = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let ok = n == text.count && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, aofPath(aofManifestName)) == 0 else {
            log.warning("Error writing the AOF manifest file: \(String(cString: strerror(errno)))")
            unlink(tmp)
            return false
        }
        fsyncDirectory(aofDir)
        return true
    }

    private func fsyncDirectory(_ path: String) {
        let dfd = open(path, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    private func fileSize(_ path: String) -> Int {
        var st = stat()
        return stat(path, &st) == 0 ? Int(st.st_size) : 0
    }

    /// Deletes history files (aofDelHistoryFiles), unless aof-disable-auto-gc.
    func deleteAOFHistoryFiles() {
        if config.aofDisableAutoGC || aof.manifest.history.isEmpty { return }
        for f in aof.manifest.history {
            log.notice("Removing the history file \(f.name) in the background")
            unlink(aofPath(f.name))
        }
        aof.manifest.history.removeAll()
        persistAOFManifest()
    }

    /// Opens (creating) the last incr file for appending.
    private func openIncrForAppend(_ name: String) -> Bool {
        let fd = open(aofPath(name), O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else {
            log.warning("Can't open the append-only file \(name): \(String(cString: strerror(errno)))")
            return false
        }
        if aof.fd >= 0 { aof.worker.close(aof.fd) }
        aof.fd = fd
        aof.selectedDb = -1
        return true
    }

    /// Start-up with appendonly yes, after the files were loaded
    /// (aofOpenIfNeededOnServerStart): an empty directory gets a base (the dataset as it
    /// is) and an incr file, and the manifest is written.
    func aofOpenOnServerStart() -> Bool {
        guard config.appendonly, !config.dir.isEmpty else { return true }
        mkdir(aofDir, 0o755)
        if aof.manifest.base == nil && aof.manifest.incrs.isEmpty {
            let name = aof.manifest.newBase(prefix: config.appendfilename, rdbPreamble: config.aofUseRdbPreamble)
            guard writeAOFBase(to: aofPath(name)) else {
                log.warning("Failed to create the AOF base file \(name)")
                return false
            }
            log.notice("Creating AOF base file \(name) on server start")
        }
        let created = aof.manifest.incrs.isEmpty
        let incr = aof.manifest.lastIncr ?? aof.manifest.newIncr(prefix: config.appendfilename)
        guard openIncrForAppend(incr), persistAOFManifest() else { return false }
        if created { log.notice("Creating AOF incr file \(incr) on server start") }
        aof.status = .on
        aof.currentSize = aofFilesSize()
        aof.rewriteBaseSize = aof.currentSize
        aof.lastIncrSize = aof.currentSize
        aof.lastFsyncSec = unixTime
        aofFeedingChanged()
        deleteAOFHistoryFiles()
        return true
    }

    private func aofFilesSize() -> Int {
        var total = aof.manifest.base.map { fileSize(aofPath($0.name)) } ?? 0
        for f in aof.manifest.incrs { total += fileSize(aofPath(f.name)) }
        return total
    }

    /// Writes the dataset as an AOF base: an RDB (aof-use-rdb-preamble yes) or commands
    /// (no: a RESTORE of each key's DUMP payload with its absolute TTL, which Redis
    /// replays as well). Through a temp file, fsynced, renamed.
    func writeAOFBase(to path: String) -> Bool {
        let tmp = aofDir + "/temp-rewriteaof-\(getpid()).aof"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            log.warning("Opening the temp file for AOF rewrite in rewriteAppendOnlyFile(): \(String(cString: strerror(errno)))")
            return false
        }
        var failure: String?
        if config.aofUseRdbPreamble {
            failure = rdbWrite(to: fd, incrementalFsync: config.aofRewriteIncrementalFsync)
        } else {
            failure = writeAOFCommandsSnapshot(to: fd)
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            log.warning("Write error writing append only file on disk: \(failure)")
            unlink(tmp)
            return false
        }
        guard rename(tmp, path) == 0 else {
            log.warning("Error moving temp append only file on the final destination: \(String(cString: strerror(errno)))")
            unlink(tmp)
            return false
        }
        fsyncDirectory(aofDir)
        return true
    }

    private func writeAOFCommandsSnapshot(to fd: Int32) -> String? {
        var buf = ByteBuffer(capacity: 1 << 16)
        defer { buf.trim(ifCapacityOver: 0, keep: 0) }
        let now = wallClockMs()
        func flush() -> Bool {
            var off = 0
            while off < buf.count {
                let n = write(fd, buf.base! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; return false }
                off += n
            }
            buf.count = 0
            return true
        }
        for db in dbs where db.count > 0 {
            Self.encodeSelect(db.id, into: &buf)
            var failed: String?
            db.table.forEach { e in
                if failed != nil || db.isExpired(e, now: now) { return }
                guard let payload = try? DumpRestoreCommands.payload(e, compress: config.rdbcompression) else { return }
                let exp = db.expireAt(of: e)
                let ttl = String(exp < 0 ? 0 : exp)
                buf.append("*5\r\n$7\r\nRESTORE\r\n")
                Self.encodeBulk(e.key, into: &buf)
                buf.append("$\(ttl.utf8.count)\r\n\(ttl)\r\n")
                payload.withUnsafeBytes { Self.encodeBulk($0, into: &buf) }
                buf.append("$6\r\nABSTTL\r\n")
                if buf.count > 1 << 16 && !flush() { failed = String(cString: strerror(errno)) }
            }
            if let failed { return failed }
        }
        return flush() ? nil : String(cString: strerror(errno))
    }

    // MARK: turning it on and off (CONFIG SET appendonly)

    /// Redis's startAppendOnly: the current dataset becomes a new base through a rewrite;
    /// commands go to the new incr file from the fork on.
    func startAppendOnly() -> Bool {
        guard !config.dir.isEmpty else { return false }
        mkdir(aofDir, 0o755)
        aof.status = .waitRewrite
        if hasActiveChild && aof.childPid == 0 {
            aof.rewriteScheduled = true
            log.notice("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.")
        } else if aof.childPid > 0 {
            aof.rewriteScheduled = true
            log.notice("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.")
            killAppendOnlyChild()
            aof.rewriteScheduled = false
            if !rewriteAppendOnlyFileBackground() { aof.status = .off; return false }
        } else if !rewriteAppendOnlyFileBackground() {
            aof.status = .off
            log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.")
            return false
        }
        aof.lastFsyncSec = unixTime
        return true
    }

    /// Redis's stopAppendOnly: flush, fsync, close; a rewrite in progress is killed.
    func stopAppendOnly() {
        guard aof.status != .off else { return }
        flushAppendOnlyFile(force: true)
        if aof.fd >= 0 {
            _ = fdatasync(aof.fd)
            aof.worker.close(aof.fd)
            aof.fd = -1
        }
        if aof.childPid > 0 { killAppendOnlyChild() }
        aof.status = .off
        aof.rewriteScheduled = false
        aof.buffer.count = 0
        aofFeedingChanged()
    }

    // MARK: rewriting (BGREWRITEAOF)

    /// Redis's rewriteAppendOnlyFileBackground: flush, open a new incr file (persisted in
    /// the manifest) for what comes after the fork, fork a child that writes the new base.
    func rewriteAppendOnlyFileBackground() -> Bool {
        if hasActiveChild { return false }
        mkdir(aofDir, 0o755)
        flushAppendOnlyFile(force: true)
        // With appendfsync always the old file is synced now: nothing after the switch
        // may be acknowledged before the old file's bytes are safe.
        if aof.fd >= 0 && config.appendfsync == "always" { _ = fdatasync(aof.fd) }
        let incr = aof.manifest.newIncr(prefix: config.appendfilename)
        guard openIncrForAppend(incr), persistAOFManifest() else {
            aof.lastRewriteOK = false
            return false
        }
        var next = aof.manifest
        let base = next.newBase(prefix: config.appendfilename, rdbPreamble: config.aofUseRdbPreamble)
        aof.childBaseName = base
        let forkStart = monotonicUs()
        let pid = fork()
        if pid > 0 { noteFork(startUs: forkStart) }
        if pid == 0 {
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_DFL)
            log.role = "C"
            forkedChildProcessSettings(title: "redis-aof-rewrite")
            let ok = writeAOFBase(to: aofDir + "/temp-rewriteaof-bg-\(getpid()).aof")
            if ok {
                let cow = privateDirtyBytes()
                log.notice("Successfully created the temporary AOF base file temp-rewriteaof-bg-\(getpid()).aof")
                log.notice("Fork CoW for AOF rewrite: current \(cow >> 20) MB, peak \(cow >> 20) MB, average \(cow >> 20) MB")
            }
            _exit(ok ? 0 : 1)
        }
        if pid < 0 {
            log.warning("Can't rewrite append only file in background: fork: \(String(cString: strerror(errno)))")
            aof.lastRewriteOK = false
            return false
        }
        log.notice("Background append only file rewriting started by pid \(pid)")
        aof.childPid = pid
        aof.childStartMs = wallClockMs()
        aof.rewriteScheduled = false
        aofFeedingChanged()
        return true
    }

    /// Redis's backgroundRewriteDoneHandler, from the cron once the child exited.
    func checkAOFRewriteDone() {
        guard aof.childPid > 0 else { return }
        var status: Int32 = 0
        let r = waitpid(aof.childPid, &status, WNOHANG)
        if r == 0 { return }
        let pid = aof.childPid
        aof.childPid = 0
        aof.lastRewriteTimeSec = Int((wallClockMs() - aof.childStartMs) / 1000)
        let tmp = aofDir + "/temp-rewriteaof-bg-\(pid).aof"
        let exited = r > 0 && status & 0x7F == 0
        if exited && (status >> 8) & 0xFF == 0 {
            let base = aof.childBaseName
            if rename(tmp, aofPath(base)) != 0 {
                log.warning("Error trying to rename the temporary AOF base file \(tmp) into \(base): \(String(cString: strerror(errno)))")
                rewriteFailed()
                return
            }
            var next = aof.manifest
            _ = next.newBase(prefix: config.appendfilename, rdbPreamble: config.aofUseRdbPreamble)
            next.base = AOFManifest.FileInfo(name: base, seq: next.currentBaseSeq, type: .base)
            next.markRewrittenIncrsAsHistory()
            let old = aof.manifest
            aof.manifest = next
            guard persistAOFManifest() else {
                aof.manifest = old
                unlink(aofPath(base))
                rewriteFailed()
                return
            }
            log.notice("Background AOF rewrite terminated with success")
            log.notice("Background AOF rewrite finished successfully")
            aof.lastRewriteOK = true
            aof.rewrites += 1
            aof.consecutiveFailures = 0
            aof.currentSize = aofFilesSize()
            aof.rewriteBaseSize = aof.currentSize
            aof.lastIncrSize = aof.currentSize
            if aof.status == .waitRewrite {
                aof.status = .on
                log.notice("AOF rewrite successful")
            }
            deleteAOFHistoryFiles()
        } else {
            unlink(tmp)
            if exited {
                log.warning("Background AOF rewrite terminated with error")
            } else {
                log.warning("Background AOF rewrite terminated by signal \(status & 0x7F)")
            }
            rewriteFailed()
        }
        aofFeedingChanged()
    }

    private func rewriteFailed() {
        aof.lastRewriteOK = false
        aof.consecutiveFailures += 1
        // Enabling at run time failed: back to off (Redis retries from the cron).
        if aof.status == .waitRewrite { aof.rewriteScheduled = true }
        aofFeedingChanged()
    }

    func killAppendOnlyChild() {
        guard aof.childPid > 0 else { return }
        log.notice("Killing running AOF rewrite child: \(aof.childPid)")
        kill(aof.childPid, SIGUSR1)
        var status: Int32 = 0
        _ = waitpid(aof.childPid, &status, 0)
        unlink(aofDir + "/temp-rewriteaof-bg-\(aof.childPid).aof")
        aof.childPid = 0
        aofFeedingChanged()
    }

    /// The cron's part: reap the child, start a scheduled or automatic rewrite, flush
    /// (with everysec the buffer may be waiting for a slow fsync).
    func aofCron() {
        if aof.childPid > 0 { checkAOFRewriteDone() }
        if aof.status == .off { return }
        if !hasActiveChild && aof.rewriteScheduled {
            _ = rewriteAppendOnlyFileBackground()
        }
        if aof.status == .on && !hasActiveChild && config.autoAofRewritePercentage > 0
            && aof.currentSize > config.autoAofRewriteMinSize {
            let base = aof.rewriteBaseSize > 0 ? aof.rewriteBaseSize : 1
            let growth = (aof.currentSize * 100 / base) - 100
            if growth >= config.autoAofRewritePercentage {
                log.notice("Starting automatic rewriting of AOF on \(growth)% growth")
                _ = rewriteAppendOnlyFileBackground()
            }
        }
        if aof.flushPostponedSince != 0 || aof.buffer.count > 0 { flushAppendOnlyFile() }
    }

    /// SHUTDOWN's part: the buffer written and fsynced, a rewrite child killed.
    func aofShutdown() {
        if aof.childPid > 0 {
            log.warning("There is a child rewriting the AOF. Killing it!")
            killAppendOnlyChild()
        }
        guard aof.status != .off, aof.fd >= 0 else { return }
        log.notice("Calling fsync() on the AOF file.")
        flushAppendOnlyFile(force: true)
        aof.worker.drain()
        _ = fsync(aof.fd)
    }

    /// INFO persistence's AOF fields.
    func aofInfoFields() -> [(String, String)] {
        let a = aof
        let current = a.childPid > 0 ? String((wallClockMs() - a.childStartMs) / 1000) : "-1"
        var f: [(String, String)] = [
            ("aof_enabled", a.status != .off ? "1" : "0"),
            ("aof_rewrite_in_progress", a.childPid > 0 ? "1" : "0"),
            ("aof_rewrite_scheduled", a.rewriteScheduled ? "1" : "0"),
            ("aof_last_rewrite_time_sec", String(a.lastRewriteTimeSec)),
            ("aof_current_rewrite_time_sec", current),
            ("aof_last_bgrewrite_status", a.lastRewriteOK ? "ok" : "err"),
            ("aof_rewrites", String(a.rewrites)),
            ("aof_rewrites_consecutive_failures", String(a.consecutiveFailures)),
            ("aof_last_write_status", a.lastWriteOK && a.worker.lastErrno.load(ordering: .acquiring) == 0 ? "ok" : "err"),
            ("aof_last_cow_size", String(a.lastCowSize)),
        ]
        if a.status != .off {
            f += [
                ("aof_current_size", String(a.currentSize)),
                ("aof_base_size", String(a.rewriteBaseSize)),
                ("aof_pending_rewrite", a.rewriteScheduled ? "1" : "0"),
                ("aof_buffer_length", String(a.buffer.count)),
                ("aof_pending_bio_fsync", a.worker.inProgress ? "1" : "0"),
                ("aof_delayed_fsync", String(a.delayedFsync)),
            ]
        }
        return f
    }
}
