/// Redis's processCommand/call: lookup → arity → gates → run → bookkeeping.
/// Every check that is not specific to one command lives here, so handlers never
/// re-check arity or authentication.
extension Server {
    func processCommand(_ c: Client, _ argv: Argv) {
        let outBefore = c.out.count
        if c.flags.contains(.master) {
            // Our master's stream: run, reply to nobody (Replication/ReplicaSide.swift).
            masterCommandStarting()
            dispatch(c, argv)
            masterCommandFinished(c, outBefore: outBefore)
        } else {
            dispatch(c, argv)
        }
        applyReplyMode(c, since: outBefore)
        // Clients blocked on keys this command filled are served right away, so the
        // next command (of any client) already sees the result.
        if !blocking.readyKeys.isEmpty { handleClientsBlockedOnKeys() }
    }

    /// CLIENT REPLY OFF|SKIP (Redis's prepareClientToWrite and resetClient): every reply
    /// made while off or skipping is discarded, rejections included; SKIP applies to the
    /// command after it, whatever that command turns out to be.
    @inline(__always)
    private func applyReplyMode(_ c: Client, since outBefore: Int) {
        if (c.replyOff || c.replySkip) && !takeExecRepliesFiltered() { c.out.count = outBefore }
        // Pub/sub pushes set aside while replies were off go out all the same.
        if pubsub.silenced.count != 0 { keepSilencedPushes(c) }
        if c.replySkip || c.replySkipNext {
            c.replySkip = c.replySkipNext
            c.replySkipNext = false
        }
    }

    @inline(__always)
    private func dispatch(_ c: Client, _ argv: Argv) {
        c.lastInteraction = cachedTimeMs
        guard var cmd = commands.lookup(argv[0]) else {
            c.lastCommand = nil
            rejectUnknownCommand(c, argv)
            flagTransaction(c)
            return
        }
        if cmd.isContainer {
            if argv.count >= 2 {
                guard let sub = cmd.subcommand(argv[1]) else {
                    c.lastCommand = nil
                    let sname = String(decoding: argv[1].prefix(128), as: UTF8.self)
                    rejectCommand(c, nil, "unknown subcommand '\(sname)'. Try \(argv.string(0).uppercased()) HELP.")
                    return
                }
                cmd = sub
            }
        }
        // Redis sets lastcmd as soon as the lookup succeeds, before any rejection.
        c.lastCommand = cmd
        if !cmd.arityAccepts(argv.count) || cmd.proc == nil {
            rejectCommand(c, cmd, "wrong number of arguments for '\(cmd.fullName)' command")
            return
        }
        // DEBUG and MODULE need enable-debug-command / enable-module-command.
        if cmd.flags.contains(.protected) && DebugCommand.rejectProtected(c, cmd) {
            cmd.rejectedCalls &+= 1
            flagTransaction(c)
            return
        }
        if !c.authenticated && !cmd.flags.contains(.noAuth) {
            rejectCommand(c, cmd, "-NOAUTH Authentication required.")
            return
        }
        // ACL: command, keys, channels (ACL/ACLCheck.swift); one flag for all-permissive users.
        if c.user.needsCheck && rejectByACL(c, cmd, argv) { return }
        // The flags the gates go by: a script's declared ones for EVAL/FCALL (Scripting/).
        let flags = cmd.scriptFlagsSource == .none ? cmd.flags : scriptCommandFlags(cmd, argv)
        // maxmemory: evict, or -OOM when nothing is left to evict (Server/Evict.swift).
        if config.maxmemory != 0 && !scripting.busy && rejectIfOutOfMemory(c, cmd, argv, flags: flags) { return }
        // stop-writes-on-bgsave-error: writes (and PING) fail while the last save failed.
        // Our master's commands still apply (Redis's obey_client: with
        // replica-ignore-disk-write-errors it goes on, a diverging replica is worse).
        if (persistence.lastBgsaveOK == false || aof.status != .off) && !c.flags.contains(.master) && rejectWriteOnDiskError(c, cmd, flags: flags) {
            cmd.rejectedCalls &+= 1
            flagTransaction(c)  // inside MULTI, EXEC then aborts (Redis's rejectCommand)
            return
        }
        // A replica refuses writes except from its master (Replication/ReplicaCommands.swift).
        let replica = repl.master != nil
        if replica && rejectWriteOnReplica(c, cmd, flags: flags) { return }
        // min-replicas-to-write: writes need enough replicas with a recent ACK (MasterSide).
        if config.minReplicasToWrite > 0 && rejectWriteForTooFewReplicas(c, cmd, flags: flags) { return }
        // A monitor keeps off the keyspace (Redis: "Replica can't interact with the keyspace").
        if c.flags.contains(.monitor) && !cmd.flags.isDisjoint(with: [.readonly, .write, .mayReplicate]) {
            rejectCommand(c, cmd, "Replica can't interact with the keyspace")
            return
        }
        // Pub/Sub: a RESP2 subscriber may only (un)subscribe, PING, QUIT or RESET.
        if c.pubsub != nil && rejectInSubscribedContext(c, cmd) { return }
        // -MASTERDOWN while the link is down and replica-serve-stale-data is off.
        if replica && rejectStaleOnReplica(c, cmd, flags: flags) { return }
        // While the dataset loads only commands flagged `loading` (INFO, CONFIG, ...) run.
        if loading && !cmd.flags.contains(.loading) {
            rejectCommand(c, cmd, "-LOADING Redis is loading the dataset in memory")
            return
        }
        // A script past busy-reply-threshold: -BUSY but for allow-busy commands (Scripting/).
        if scripting.busy && rejectWhileScriptBusy(c, cmd) { return }
        // CLIENT PAUSE / FAILOVER: the command waits for the pause to end (Engine/ClientPause.swift).
        if clientsArePaused && postponeIfPaused(c, cmd, argv, flags: flags) { return }
        // MULTI: the command is refused or queued instead of run (Engine/Multi.swift).
        if c.mstate != nil && queueIfInMulti(c, cmd, argv, flags: flags) { return }
        call(c, cmd, argv)
    }

    /// Runs a command whose checks passed (Redis's call()).
    @inline(__always)
    func call(_ c: Client, _ cmd: RedisCommand, _ argv: Argv) {
        c.lastCommand = cmd
        let errorsBefore = stats.errorReplies
        let start = cycleCount()
        let dirtyBefore = dirty
        if introspection.monitors.count != 0 { feedMonitorsBeforeScript(c, cmd, argv) }
        callDepth &+= 1
        cmd.proc!(c, argv)  // not .unsafelyUnwrapped: that generic getter re-wraps the closure (an allocation per call)
        callDepth &-= 1
        // Replication: a command that changed data (or asked) propagates its effect.
        // (SAVE lowers `dirty`: only a rise counts, as Redis's call().)
        if dirty > dirtyBefore || propagationRequested { propagateAfterCall(c, cmd, argv, dirtied: dirty > dirtyBefore) }
        // INFO commandstats and total_commands_processed count executed commands only,
        // as Redis's call() does (rejected ones are not processed).
        let elapsed = cycleCount() &- start
        cmd.cycles &+= elapsed
        stats.totalCommands &+= 1
        cmd.calls &+= 1
        if stats.errorReplies > errorsBefore { countFailedCall(cmd, errorsBefore) }  // (CONFIG RESETSTAT may lower it)
        // Latency histogram, slow log, latency monitor, MONITOR (Engine/Introspection.swift).
        afterCallIntrospection(c, cmd, argv, cycles: elapsed)
    }

    private func rejectUnknownCommand(_ c: Client, _ argv: Argv) {
        var args = ""
        var i = 1
        while i < argv.count && args.utf8.count < 128 {
            let room = 128 - args.utf8.count
            args += "'" + String(decoding: argv[i].prefix(room), as: UTF8.self) + "' "
            i += 1
        }
        let name = String(decoding: argv[0].prefix(128), as: UTF8.self)
        c.addReplyError("unknown command '\(name)', with args beginning with: \(args)")
    }
}
