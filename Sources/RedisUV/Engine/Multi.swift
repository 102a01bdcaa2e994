/// MULTI/EXEC/WATCH (Redis 7.0's multi.c): a client's queue of commands between MULTI
/// and EXEC, the MULTI gate of processCommand, and optimistic locking with WATCH.
///
/// Watch bookkeeping is two-sided, as in Redis: each database index maps a key to the
/// watchers of that key (db->watched_keys), and each client lists what it watches
/// (c->watched_keys), so a write finds its watchers in one lookup and UNWATCH, EXEC or a
/// disconnect can drop a client's entries without scanning everything.

/// A command queued after MULTI: its table entry and an owned copy of its arguments
/// (the input buffer the arguments arrived in is reused by the next read).
struct QueuedCommand {
    unowned(unsafe) let command: RedisCommand
    let argv: OwnedArgv
    /// The flags the gates saw (a script's declared ones for EVAL/FCALL).
    let flags: CommandFlags
}

/// A client's transaction (Redis's multiState, plus the CLIENT_DIRTY_EXEC flag). It
/// exists from MULTI until EXEC, DISCARD, RESET or the disconnect: `Client.mstate != nil`
/// is Redis's CLIENT_MULTI.
final class MultiState {
    var commands: [QueuedCommand] = []
    /// A command was rejected while queueing (unknown, wrong arity, not allowed...):
    /// EXEC answers EXECABORT (CLIENT_DIRTY_EXEC).
    var dirtyExec = false
    /// Redis's mstate.argv_len_sums: argument bytes plus one pointer per argument, what
    /// CLIENT LIST shows as multi-mem.
    var argvBytes = 0
    /// The EXEC being run, while it runs (CLIENT LIST shows cmd=exec meanwhile).
    unowned(unsafe) var execCommand: RedisCommand? = nil
}

/// A key name in the watch maps, hashed in one pass over its bytes.
struct WatchKey: Hashable {
    let bytes: [UInt8]

    init(_ key: UnsafeRawBufferPointer) { bytes = Array(key) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}

/// One key one client watches (Redis's watchedKey), shared by both sides of the
/// bookkeeping.
final class WatchedKey {
    let dbIndex: Int
    let key: WatchKey
    unowned(unsafe) let client: Client
    /// The key was already logically expired (still stored, past its TTL) when WATCH ran:
    /// its deletion is then no change, and only a write that makes it exist again counts.
    var expired: Bool

    init(dbIndex: Int, key: WatchKey, client: Client, expired: Bool) {
        self.dbIndex = dbIndex
        self.key = key
        self.client = client
        self.expired = expired
    }
}

/// The server's side of WATCH: who watches which key of which database.
final class WatchState {
    /// Per database index: key → its watchers, oldest first (Redis's db->watched_keys).
    var byDb: [Int: [WatchKey: [WatchedKey]]] = [:]
    /// Distinct (database, key) pairs watched by anyone. Zero almost always: the one
    /// check touchWatchedKey makes on every write.
    var keyCount = 0
    /// Error replies made by the commands the last EXEC ran, taken by `countFailedCall`
    /// for that EXEC: they are those commands' failures, not EXEC's (the effect of
    /// Redis's static prev_err_count in incrCommandStatsOnError).
    var execBodyErrors = 0
    /// EXEC ended with replies off, having already dropped the replies made while they
    /// were off: processCommand keeps the rest (taken by `takeExecRepliesFiltered`).
    var execRepliesFiltered = false
}

// MARK: - processCommand's MULTI gate, rejections

extension Server {
    /// Called by dispatch for a client in MULTI whose command passed the lookup, arity and
    /// auth checks. Returns true when the command was handled here: refused (no-multi
    /// commands), or queued with +QUEUED. EXEC, DISCARD, MULTI, WATCH, QUIT and RESET run
    /// right away (Redis's processCommand).
    func queueIfInMulti(_ c: Client, _ cmd: RedisCommand, _ argv: Argv, flags: CommandFlags? = nil) -> Bool {
        guard let ms = c.mstate else { return false }
        if cmd.flags.contains(.noMulti) {
            rejectCommand(c, cmd, "Command not allowed inside a transaction")
            return true
        }
        if cmd.runsInsideMulti { return false }
        // Redis does not keep commands of a transaction already bound to fail (an error
        // while queueing, or a watched key touched).
        if !ms.dirtyExec && !c.dirtyCAS {
            var bytes = 0
            for i in 0..<argv.count { bytes &+= argv[i].count &+ 8 }
            ms.argvBytes &+= bytes
            ms.commands.append(QueuedCommand(command: cmd, argv: OwnedArgv(argv), flags: flags ?? cmd.flags))
        }
        c.addReplyStatus("QUEUED")
        return true
    }

    /// A command refused before it ran (Redis's rejectCommand): the transaction, if any,
    /// is flagged so EXEC aborts, and a refused EXEC answers EXECABORT (in or out of
    /// MULTI, as Redis does).
    func rejectCommand(_ c: Client, _ cmd: RedisCommand?, _ message: String) {
        flagTransaction(c)
        if let cmd {
            cmd.rejectedCalls &+= 1
            if cmd.spec.name == "exec" {
                execCommandAbort(c, message)
                return
            }
        }
        c.addReplyError(message)
    }

    /// Redis's flagTransaction: an error while queueing makes EXEC fail.
    @inline(__always)
    func flagTransaction(_ c: Client) {
        c.mstate?.dirtyExec = true
    }

    /// Redis's execCommandAbort: an EXEC refused by the gates discards the transaction and
    /// says why.
    func execCommandAbort(_ c: Client, _ message: String) {
        discardTransaction(c)
        let reason = message.hasPrefix("-") ? String(message.dropFirst()) : message
        c.addReplyError("-EXECABORT Transaction discarded because of: " + reason)
    }

    /// Redis's discardTransaction: out of MULTI, CAS state cleared, nothing watched.
    func discardTransaction(_ c: Client) {
        c.mstate = nil
        c.dirtyCAS = false
        unwatchAllKeys(c)
    }

    // MARK: EXEC

    /// Redis's execCommand once it is known that the client is in MULTI.
    func execTransaction(_ c: Client, _ exec: RedisCommand) {
        guard let ms = c.mstate else { return }
        if isWatchedKeyExpired(c) { c.dirtyCAS = true }
        if ms.dirtyExec || c.dirtyCAS {
            if ms.dirtyExec {
                c.addReplyError("-EXECABORT Transaction discarded because of previous errors.")
            } else {
                c.addReplyNullArray()
            }
            discardTransaction(c)
            return
        }
        let hadDenyBlocking = c.flags.contains(.denyBlocking)
        c.flags.insert(.denyBlocking)
        unwatchAllKeys(c)
        ms.execCommand = exec
        // CLIENT REPLY OFF/ON among the queued commands: Redis drops each reply made while
        // replies are off, so what was sent before OFF (EXEC's array header included) or
        // after ON stays (prepareClientToWrite).
        let headerAt = c.out.count
        c.addReplyArrayLen(ms.commands.count)
        if c.replyOff || c.replySkip { c.out.count = headerAt }
        let errorsBefore = stats.errorReplies
        for q in ms.commands {
            let at = c.out.count
            let off = c.replyOff || c.replySkip
            if c.user.needsCheck && execRecheckACL(c, q.command, q.argv.argv) {
                if off && (c.replyOff || c.replySkip) { c.out.count = at }
                continue
            }
            call(c, q.command, q.argv.argv)
            if off && (c.replyOff || c.replySkip) { c.out.count = at }
        }
        watches.execBodyErrors = Swift.max(0, stats.errorReplies - errorsBefore)  // (CONFIG RESETSTAT inside)
        // What is left was filtered reply by reply: processCommand must not drop it all.
        if c.replyOff || c.replySkip { watches.execRepliesFiltered = true }
        if !hadDenyBlocking { c.flags.remove(.denyBlocking) }
        c.lastCommand = exec
        discardTransaction(c)
    }
}

extension Server {
    /// `call`'s slow path, when the command replied errors: it failed, unless they all
    /// came from the commands an EXEC ran (counted for each of them already).
    @inline(never)
    func countFailedCall(_ cmd: RedisCommand, _ errorsBefore: Int) {
        let fromBody = watches.execBodyErrors
        watches.execBodyErrors = 0
        if stats.errorReplies - errorsBefore > fromBody { cmd.failedCalls &+= 1 }
    }
}

extension Server {
    /// processCommand's CLIENT REPLY OFF|SKIP handling asks whether EXEC already
    /// filtered its replies (and clears the answer).
    func takeExecRepliesFiltered() -> Bool {
        if !watches.execRepliesFiltered { return false }
        watches.execRepliesFiltered = false
        return true
    }
}

// MARK: - WATCH

extension Server {
    /// Redis's keyIsExpired: the key is stored with a TTL that has passed (it was not
    /// deleted yet). Does not delete it.
    func keyIsExpired(_ db: Database, _ key: UnsafeRawBufferPointer) -> Bool {
        guard let e = db.table.find(key) else { return false }
        return db.isExpired(e, now: cachedTimeMs)
    }

    /// Redis's watchForKey.
    func watchForKey(_ c: Client, _ key: UnsafeRawBufferPointer) {
        let dbIndex = c.db.id
        for wk in c.watchedKeys where wk.dbIndex == dbIndex {
            if wk.key.bytes.withUnsafeBytes({ $0.elementsEqual(key) }) { return }
        }
        let wkey = WatchKey(key)
        let wk = WatchedKey(dbIndex: dbIndex, key: wkey, client: c, expired: keyIsExpired(c.db, key))
        var map = watches.byDb[dbIndex] ?? [:]
        watches.byDb[dbIndex] = nil  // keep the dictionary uniquely referenced while editing
        if map[wkey] == nil { watches.keyCount += 1 }
        map[wkey, default: []].append(wk)
        watches.byDb[dbIndex] = map
        c.watchedKeys.append(wk)
    }

    /// Redis's unwatchAllKeys: the client watches nothing anymore (the CAS flag is the
    /// caller's business).
    func unwatchAllKeys(_ c: Client) {
        if c.watchedKeys.isEmpty { return }
        for wk in c.watchedKeys {
            guard var map = watches.byDb[wk.dbIndex] else { continue }
            watches.byDb[wk.dbIndex] = nil
            if var list = map[wk.key] {
                list.removeAll { $0 === wk }
                if list.isEmpty {
                    map[wk.key] = nil
                    watches.keyCount -= 1
                } else {
                    map[wk.key] = list
                }
            }
            if !map.isEmpty { watches.byDb[wk.dbIndex] = map }
        }
        c.watchedKeys.removeAll()
    }

    /// Redis's isWatchedKeyExpired: a watched key (alive when it was watched) has expired
    /// since, even though nothing deleted it yet. EXEC then fails.
    func isWatchedKeyExpired(_ c: Client) -> Bool {
        for wk in c.watchedKeys where !wk.expired {
            if wk.key.bytes.withUnsafeBytes({ keyIsExpired(db(wk.dbIndex), $0) }) { return true }
        }
        return false
    }

    /// Marks every client watching `key` in `db` as dirty (Redis's touchWatchedKey). On
    /// every write's path: free unless someone watches something.
    @inline(__always)
    func touchWatchedKey(_ db: Database, _ key: UnsafeRawBufferPointer) {
        if watches.keyCount == 0 { return }
        touchWatchedKeySlow(db, key)
    }

    @inline(never)
    private func touchWatchedKeySlow(_ db: Database, _ key: UnsafeRawBufferPointer) {
        guard let map = watches.byDb[db.id], let list = map[WatchKey(key)] else { return }
        for wk in list {
            if wk.expired {
                // Watched while already expired: the key's deletion changes nothing
                // logically; it is now simply missing.
                if db.table.find(key) == nil {
                    wk.expired = false
                    continue
                }
            }
            let c = wk.client
            c.dirtyCAS = true
            // A dirty client's EXEC fails whatever else happens: stop watching.
            unwatchAllKeys(c)
        }
    }

    /// Marks as dirty the clients watching keys of `emptied` that it holds, before it is
    /// emptied (FLUSHDB, FLUSHALL) or swapped with `replacedWith` (SWAPDB: a key counts
    /// when it exists in either database). Redis's touchAllWatchedKeysInDb; call it while
    /// the keys are still there.
    func touchAllWatchedKeysInDb(_ emptied: Database, replacedWith: Database? = nil) {
        if watches.keyCount == 0 { return }
        guard let map = watches.byDb[emptied.id] else { return }
        var dirty: [Client] = []
        for (key, list) in map {
            key.bytes.withUnsafeBytes { k in
                let existsInEmptied = emptied.table.find(k) != nil
                let existsInReplacement = replacedWith.map { $0.table.find(k) != nil } ?? false
                guard existsInEmptied || existsInReplacement else { return }
                for wk in list {
                    if wk.expired {
                        if !existsInReplacement {
                            // An expired key is deleted: no logical change.
                            wk.expired = false
                            continue
                        } else if keyIsExpired(replacedWith!, k) {
                            continue  // still expired
                        }
                    } else if !existsInEmptied, let r = replacedWith, keyIsExpired(r, k) {
                        // A missing key replaced by an expired one: still missing.
                        wk.expired = true
                        continue
                    }
                    dirty.append(wk.client)
                }
            }
        }
        for c in dirty {
            c.dirtyCAS = true
            unwatchAllKeys(c)
        }
    }

    /// A client goes away or RESETs: its transaction and watches go with it.
    func freeClientMultiState(_ c: Client) {
        if c.mstate != nil || !c.watchedKeys.isEmpty || c.dirtyCAS { discardTransaction(c) }
    }
}

// MARK: - CLIENT LIST / INFO

extension Client {
    /// CLIENT LIST's multi=: queued commands in MULTI, -1 outside.
    var multiCountForInfo: Int { mstate?.commands.count ?? -1 }
    /// CLIENT LIST's multi-mem (Redis's multiStateMemOverhead as 7.0.15 reports it).
    var multiMemForInfo: Int { mstate?.argvBytes ?? 0 }
}
