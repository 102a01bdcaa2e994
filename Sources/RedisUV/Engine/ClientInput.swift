/// Turning bytes read from a client into executed commands (Redis's processInputBuffer).
extension Client {
    /// Handles one read. When nothing is pending, the loop's shared read buffer is parsed in
    /// place (no copy); only a trailing partial frame is copied into `query`.
    func processInput(_ data: UnsafeRawBufferPointer) {
        if flags.contains(.closeAfterReply) || flags.contains(.closeASAP) { return }
        if flags.contains(.master) { server.masterLinkRead(data.count) }
        if query.isEmpty && !flags.contains(.inputPaused) && blocked == nil {
            parser.position = 0
            parser.frameStart = 0
            processBuffer(data)
            let keep = data.count - parser.frameStart
            if keep > 0 && !flags.contains(.closeAfterReply) {
                _ = query.reserve(Swift.max(keep, parser.pendingBulkEnd - parser.frameStart))
                query.append(data.baseAddress! + parser.frameStart, count: keep)
                parser.rebase(by: parser.frameStart)
            } else if keep == 0 {
                // Everything was consumed: the parser's positions must point into `query`
                // (empty now) for bytes that arrive while this client is blocked or paused.
                parser.rebase(by: parser.frameStart)
            }
        } else {
            query.append(data)
            // Paused or blocked: keep the bytes (and keep reading, so a disconnect is
            // noticed), run them later.
            if flags.contains(.inputPaused) || blocked != nil {
                checkQueryLimit()
                return
            }
            processPendingInput()
        }
    }

    /// Runs whatever complete commands sit in `query` (after a pause, or with a partial frame).
    func processPendingInput() {
        if query.isEmpty || blocked != nil { return }
        processBuffer(query.bytes)
        query.removeFirst(parser.frameStart)
        parser.rebase(by: parser.frameStart)
        if parser.bulkLength > 0 {
            // Pre-size for a big argument so it is not copied again on every read.
            let need = parser.pendingBulkEnd
            if need > query.count { _ = query.reserve(need - query.count) }
        }
        checkQueryLimit()
    }

    private func checkQueryLimit() {
        if query.count > server.config.clientQueryBufferLimit {
            server.log.warning("Closing client that reached max query buffer length (qbuf initial bytes: \(query.count))")
            flags.insert(.closeASAP)
        }
    }

    /// Parses and executes complete commands from `buf` until it runs dry, the client is
    /// closing, or its output backlog asks for a pause.
    private func processBuffer(_ buf: UnsafeRawBufferPointer) {
        // CLIENT LIST's qbuf for the client itself: Redis trims its query buffer only after
        // the batch, so the commands being run still count.
        inputBatchBytes = buf.count
        defer { inputBatchBytes = 0 }
        var limits = RequestParser.Limits()
        limits.maxBulkLength = server.config.protoMaxBulkLen
        limits.unauthenticated = !authenticated
        // The master's stream: each processed frame's exact bytes advance the replication
        // offset (Replication/ReplicaSide.swift).
        let fromMaster = flags.contains(.master)
        var applied = parser.frameStart
        while true {
            switch parser.parse(buf, limits: limits) {
            case .command:
                execute(buf)
                if fromMaster {
                    server.masterStreamApplied(self, UnsafeRawBufferPointer(rebasing: buf[applied..<parser.position]))
                    applied = parser.position
                }
                parser.resetCommand()
                if flags.contains(.closeAfterReply) || flags.contains(.closeASAP) || blocked != nil { return }
                // (Not a replica: its output is the stream, bounded by its own limit, and
                // its ACKs must keep being read.)
                if pendingOutputBytes >= Connection.backpressureBytes && !flags.contains(.replica) {
                    flags.insert(.inputPaused)
                    return
                }
                limits.unauthenticated = !authenticated
            case .empty:
                if fromMaster {
                    server.masterStreamApplied(self, UnsafeRawBufferPointer(rebasing: buf[applied..<parser.position]))
                    applied = parser.position
                }
                continue
            case .incomplete:
                return
            case .protocolError(let message):
                addReplyError(message)
                server.log.verbose("Protocol error (\(message)) from client: id=\(id) addr=\(peerAddress)")
                flags.insert(.closeAfterReply)
                return
            }
        }
    }

    @inline(__always)
    private func execute(_ buf: UnsafeRawBufferPointer) {
        let argc = parser.argc
        if argc > argvCapacity {
            argvBuffer.deallocate()
            argvCapacity = Swift.max(argc, argvCapacity * 2)
            argvBuffer = .allocate(capacity: argvCapacity)
        }
        let views = argvBuffer
        if parser.argsAreInline {
            parser.inlineStorage.withUnsafeBytes { store in
                for i in 0..<argc {
                    views[i] = UnsafeRawBufferPointer(rebasing: store[parser.argOffsets[i]..<(parser.argOffsets[i] + parser.argLengths[i])])
                }
                run(argc)
            }
        } else {
            let base = buf.baseAddress!
            parser.argOffsets.withUnsafeBufferPointer { offsets in
                parser.argLengths.withUnsafeBufferPointer { lengths in
                    for i in 0..<argc {
                        views[i] = UnsafeRawBufferPointer(start: base + offsets[i], count: lengths[i])
                    }
                }
            }
            run(argc)
        }
    }

    @inline(__always)
    private func run(_ argc: Int) {
        server.processCommand(self, Argv(base: UnsafePointer(argvBuffer), count: argc))
        server.checkOutputLimits(self)
    }
}

extension Server {
    /// client-output-buffer-limit: past the hard limit, or past the soft limit for more
    /// than its seconds, the client is closed (Redis's checkClientOutputBufferLimits and
    /// closeClientOnOutputBufferLimitReached). The class is Redis's getClientType: pubsub
    /// while subscribed to anything, else normal. What counts is everything not yet
    /// written: the reply buffer plus what the transport still holds.
    @inline(__always)
    func checkOutputLimits(_ c: Client, async: Bool = true) {
        let replica = c.flags.contains(.replica) ? c.replicaState : nil
        let limit = replica != nil ? config.outputLimits.replica
            : c.pubsub == nil ? config.outputLimits.normal : config.outputLimits.pubsub
        if limit.hard == 0 && limit.soft == 0 { return }
        // A replica's stream waiting for its RDB counts (Redis's shared replication buffer).
        let used = c.pendingOutputBytes &+ (replica?.pendingStream.count ?? 0)
        var over = limit.hard > 0 && used >= limit.hard
        if limit.soft > 0 && used >= limit.soft {
            // As Redis: the first time only records when (in seconds); the limit counts
            // once it has held for more than soft-seconds.
            let now = unixTime
            if c.softLimitReachedAt == 0 {
                c.softLimitReachedAt = now
            } else if now - c.softLimitReachedAt > Int64(limit.softSeconds) {
                over = true
            }
        } else {
            c.softLimitReachedAt = 0
        }
        if over && !c.flags.contains(.closeASAP) {
            let info = c.infoLine(executing: nil)
            if async {
                log.warning("Client \(info) scheduled to be closed ASAP for overcoming of output buffer limits.")
            } else {
                log.warning("Client \(info) closed for overcoming of output buffer limits.")
            }
            c.flags.insert(.closeASAP)
            // Not necessarily the client running a command (a replica fed by another's
            // write): the next flush closes it.
            scheduleWrite(c)
        }
    }
}
